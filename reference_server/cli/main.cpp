// slicerbridge: the batch command line. Lists and describes a server's processors and runs one
// on files, keeping their geometry.

#include "commands.hpp"
#include "exit_status.hpp"
#include "file_io.hpp"

#include <csignal>
#include <iostream>
#include <vector>

namespace {

using namespace slicerbridge::cli;

std::string footer() {
    return "Files (the format follows the extension; files without a space of their own are "
           "LPS):\n  " +
           slicerbridge::files::supported_formats() +
           R"(

Exit status:
  0    success (batch: every item done, or already done)
  1    the call failed (the server's error is printed; batch: an item failed)
  2    usage error
  3    connection or protocol failure
  4    a file could not be read or written
  130  the call was cancelled)";
}

int execute(int argc, char** argv) {
    CLI::App app("Runs SlicerBridge processors from the command line.", program);
    app.set_version_flag("--version", version_text(program));
    app.footer(footer());
    connection_flags flags;
    flags.add_to(app);
    const std::vector<command> commands{add_list_command(app), add_describe_command(app),
                                        add_ping_command(app), add_run_command(app),
                                        add_batch_command(app)};
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& error) {
        return report_parse_error(app, error);
    }
    for (const auto& c : commands) {
        if (c.app->parsed()) {
            return c.execute(flags.resolve());
        }
    }
    fail(exit_usage, "no command given");
}

} // namespace

int main(int argc, char** argv) {
    std::signal(SIGPIPE, SIG_IGN);
    try {
        return execute(argc, argv);
    } catch (const exit_failure& failure) {
        std::cerr << program << ": " << failure.message << "\n";
        if (failure.status == exit_usage) {
            std::cerr << "(see " << program << " --help)\n";
        }
        return failure.status;
    } catch (const std::exception& e) {
        std::cerr << program << ": " << e.what() << "\n";
        return exit_connection;
    }
}
