// slicerbridge: the batch command line. Lists and describes a server's processors and runs one
// on files, keeping their geometry.

#include "batch.hpp"
#include "connection.hpp"
#include "exit_status.hpp"
#include "file_io.hpp"
#include "interrupt.hpp"
#include "parameters.hpp"

#include <slicerbridge/json.hpp>
#include <slicerbridge/message/invoke.hpp>
#include <slicerbridge/message/progress.hpp>
#include <slicerbridge/sync_client.hpp>
#include <slicerbridge/version.hpp>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iomanip>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

namespace {

using namespace slicerbridge;
using namespace slicerbridge::cli;

constexpr const char* program = "slicerbridge";

constexpr const char* usage_text =
    R"(Usage: slicerbridge [--server ADDR | --launch "CMD ARGS"] [options] COMMAND ...

Runs SlicerBridge processors from the command line.

Commands:
  list                           The server's processors.
  describe PROCESSOR [--json]    A processor's inputs, outputs and parameters.
  run PROCESSOR [run options]    Runs a processor on files.
  ping                           Round trip of an empty request.
%BATCH%
Run options:
  --input NAME=FILE              An input read from FILE (repeatable).
  --param NAME=VALUE             A parameter (repeatable). Vectors: comma-separated values;
                                 bools: true/false.
  --output NAME=FILE             Where to write an output (repeatable); a table may go to "-"
                                 (standard output, CSV). Values a processor returns (numbers,
                                 strings) are printed as "NAME = VALUE" lines on standard output.
  --deadline SECONDS             Ask the server to give up after this long.
  --timings                      Print where the time went (server: receiving, queued,
                                 computing, sending; client: round trip) on standard output.
  --progress MODE                auto (a bar when standard error is a terminal), bar, lines
                                 ("progress: 45% message" lines on standard error) or none.
  --quiet                        No progress and no summary of the outputs.

Connection:
  --server ADDR                  HOST:PORT, tls://HOST:PORT or unix:PATH
                                 (default: $SLICERBRIDGE_SERVER).
  --launch "CMD ARGS"            Start CMD ARGS and talk to it over its standard input and output
                                 (for example --launch "slicerbridge-server --stdio").
  --token-file FILE              Read the token the server requires from FILE's first line.
  --token TOKEN                  The token itself, visible to every user of `ps`; prefer
                                 --token-file (default: $SLICERBRIDGE_TOKEN).
  --tls-ca FILE                  CA certificates to verify a tls:// server with (default: the
                                 system's).
  --help, --version

Files (the format follows the extension; files without a space of their own are LPS):
  %FORMATS%

Progress goes to standard error. Ctrl-C during run asks the server to
cancel the call and waits for its answer; a second Ctrl-C exits at once.

Exit status:
  0    success (batch: every item done, or already done)
  1    the call failed (the server's error is printed; batch: an item failed)
  2    usage error
  3    connection or protocol failure
  4    a file could not be read or written
  130  the call was cancelled
)";

struct options : server_options {
    std::string command;
    std::vector<std::string> arguments;
};

options parse_global(int argc, char** argv) {
    options o;
    int i = 1;
    for (; i < argc; ++i) {
        const std::string arg = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) {
                fail(exit_usage, arg + " needs a value");
            }
            return argv[++i];
        };
        if (arg == "--help" || arg == "-h") {
            std::string text = usage_text;
            text.replace(text.find("%FORMATS%"), 9, files::supported_formats());
            text.replace(text.find("%BATCH%"), 7, batch_usage);
            std::cout << text;
            std::exit(exit_ok);
        } else if (arg == "--version") {
            std::cout << program << " " << SLICERBRIDGE_VERSION_STRING << " (protocol "
                      << protocol_max.major << "." << protocol_max.minor << ")\n";
            std::exit(exit_ok);
        } else if (arg == "--server") {
            o.server = value();
        } else if (arg == "--launch") {
            o.launch = value();
        } else if (arg == "--token") {
            o.token = value();
        } else if (arg == "--token-file") {
            o.token = read_token_file(value());
        } else if (arg == "--tls-ca") {
            o.tls_ca = value();
        } else if (!arg.empty() && arg[0] == '-') {
            fail(exit_usage, "unknown option \"" + arg + "\"");
        } else {
            break;
        }
    }
    if (i >= argc) {
        fail(exit_usage, "no command given");
    }
    o.command = argv[i++];
    o.arguments.assign(argv + i, argv + argc);
    if (o.server && o.launch) {
        fail(exit_usage, "give either --server or --launch");
    }
    if (!o.server && !o.launch) {
        if (const char* from_environment = std::getenv("SLICERBRIDGE_SERVER")) {
            o.server = from_environment;
        } else {
            fail(exit_usage, "no server: give --server ADDR, --launch \"CMD\" or set "
                             "SLICERBRIDGE_SERVER");
        }
    }
    if (!o.token) {
        if (const char* from_environment = std::getenv("SLICERBRIDGE_TOKEN")) {
            if (*from_environment != '\0') {
                o.token = from_environment;
            }
        }
    }
    return o;
}

// ---- describe ----------------------------------------------------------------------------------

std::string slot_type_text(const slot& s) {
    std::string text(slot_type_name(s.type));
    if (s.image_kind) {
        text += " (" + std::string(image_kind_name(*s.image_kind)) + ")";
    }
    return text;
}

std::string value_text(const parameter_value& p) {
    return std::visit(
        [](const auto& held) -> std::string {
            using T = std::decay_t<decltype(held)>;
            std::ostringstream out;
            if constexpr (std::is_same_v<T, bool>) {
                out << (held ? "true" : "false");
            } else if constexpr (std::is_same_v<T, std::string>) {
                out << held;
            } else if constexpr (std::is_arithmetic_v<T>) {
                out << held;
            } else {
                for (std::size_t i = 0; i < held.size(); ++i) {
                    out << (i == 0 ? "" : ",") << held[i];
                }
            }
            return out.str();
        },
        p.get());
}

void print_slots(std::ostream& out, const char* heading, const std::vector<slot>& slots) {
    out << heading << ":";
    if (slots.empty()) {
        out << " none\n";
        return;
    }
    out << "\n";
    std::string group;
    for (const auto& s : slots) {
        if (s.group != group && !s.group.empty()) {
            out << "  [" << s.group << "]\n";
        }
        group = s.group;
        std::ostringstream line;
        line << "  " << std::left << std::setw(22) << s.name << ' ' << std::setw(16)
             << slot_type_text(s);
        if (s.optional) {
            line << " optional";
        }
        if (s.default_value) {
            line << " = " << value_text(*s.default_value);
        }
        if (s.minimum || s.maximum) {
            line << " in [";
            if (s.minimum) {
                line << *s.minimum;
            }
            line << ", ";
            if (s.maximum) {
                line << *s.maximum;
            }
            line << "]";
        }
        if (!s.choices.empty()) {
            line << " one of";
            for (const auto& choice : s.choices) {
                line << ' ' << choice;
            }
        }
        std::string text = line.str();
        text.erase(text.find_last_not_of(' ') + 1);
        out << text << "\n";
        if (!s.label.empty() || !s.description.empty()) {
            out << "      " << s.label << (s.label.empty() || s.description.empty() ? "" : ": ")
                << s.description << "\n";
        }
    }
}

void print_description(std::ostream& out, const processor_description& d) {
    out << d.name << " " << d.version << ": " << d.title << "\n";
    if (!d.category.empty()) {
        out << "Category: " << d.category << "\n";
    }
    if (!d.contributor.empty()) {
        out << "Contributor: " << d.contributor << "\n";
    }
    if (!d.description.empty()) {
        out << "\n" << d.description << "\n";
    }
    out << "\n";
    print_slots(out, "Inputs", d.inputs);
    print_slots(out, "Outputs", d.outputs);
    print_slots(out, "Parameters", d.parameters);
}

// ---- run ---------------------------------------------------------------------------------------

std::pair<std::string, std::string> split_assignment(const std::string& flag,
                                                     const std::string& text) {
    const auto equals = text.find('=');
    if (equals == std::string::npos || equals == 0) {
        fail(exit_usage, flag + " expects NAME=VALUE, not \"" + text + "\"");
    }
    return {text.substr(0, equals), text.substr(equals + 1)};
}

const slot* find_slot(const std::vector<slot>& slots, const std::string& name) {
    for (const auto& s : slots) {
        if (s.name == name) {
            return &s;
        }
    }
    return nullptr;
}

[[noreturn]] void unknown_slot(const std::string& kind, const std::string& name,
                               const processor_description& d, const std::vector<slot>& slots) {
    fail(exit_usage, d.name + " has no " + kind + " named \"" + name + "\" (its " + kind +
                         "s: " + slot_names(slots) + ")");
}

std::string data_summary(const data_value& data) {
    std::ostringstream out;
    if (const auto* img = std::get_if<image>(&data)) {
        out << "image " << img->dims[0] << "x" << img->dims[1] << "x" << img->dims[2] << " "
            << dtype_name(img->dtype) << " " << image_kind_name(img->kind);
        if (img->components > 1) {
            out << " (" << img->components << " components)";
        }
    } else if (const auto* m = std::get_if<mesh>(&data)) {
        out << "mesh of " << m->point_count() << " points and " << m->cell_count() << " cells";
    } else if (const auto* t = std::get_if<table>(&data)) {
        out << "table of " << t->row_count() << " rows and " << t->columns.size() << " columns";
    } else if (std::holds_alternative<transform>(data)) {
        out << "linear transform";
    } else {
        out << "list of " << std::get<point_list>(data).point_count() << " points";
    }
    return out.str();
}

/// Progress on standard error: a bar redrawn in place, or one line per notification.
class progress_display {
public:
    enum class mode { none, bar, lines };

    explicit progress_display(mode m) : mode_(m) {}

    void show(double fraction, const std::string& message) {
        std::lock_guard<std::mutex> lock(mutex_);
        const int percent = static_cast<int>(fraction * 100);
        if (mode_ == mode::lines) {
            std::cerr << "progress: " << percent << "%" << (message.empty() ? "" : " ") << message
                      << std::endl;
        } else if (mode_ == mode::bar) {
            constexpr int width = 30;
            const auto filled = static_cast<std::size_t>(std::lround(fraction * width));
            char text[8];
            std::snprintf(text, sizeof text, "%3d%%", percent);
            std::cerr << "\r[" << std::string(filled, '#')
                      << std::string(static_cast<std::size_t>(width) - filled, ' ') << "] " << text
                      << (message.empty() ? "" : " ") << message.substr(0, 40) << "\x1b[K"
                      << std::flush;
            drawn_ = true;
        }
    }

    void clear() {
        std::lock_guard<std::mutex> lock(mutex_);
        if (drawn_) {
            std::cerr << "\r\x1b[K" << std::flush;
            drawn_ = false;
        }
    }

private:
    mode mode_;
    bool drawn_ = false;
    std::mutex mutex_;
};

int run(connection& connected, const std::vector<std::string>& arguments) {
    sync_client& client = connected.client();
    if (arguments.empty()) {
        fail(exit_usage, "run needs a processor name");
    }
    const std::string& name = arguments[0];
    std::vector<std::pair<std::string, std::string>> inputs;
    std::vector<std::pair<std::string, std::string>> parameters;
    std::vector<std::pair<std::string, std::string>> outputs;
    std::optional<double> deadline;
    bool timings = false;
    bool quiet = false;
    std::string progress = "auto";
    for (std::size_t i = 1; i < arguments.size(); ++i) {
        const std::string& arg = arguments[i];
        auto value = [&]() -> const std::string& {
            if (i + 1 >= arguments.size()) {
                fail(exit_usage, arg + " needs a value");
            }
            return arguments[++i];
        };
        if (arg == "--input") {
            inputs.push_back(split_assignment(arg, value()));
        } else if (arg == "--param") {
            parameters.push_back(split_assignment(arg, value()));
        } else if (arg == "--output") {
            outputs.push_back(split_assignment(arg, value()));
        } else if (arg == "--deadline") {
            const std::string& text = value();
            deadline = parse_float("--deadline", text);
            if (!std::isfinite(*deadline) || *deadline < 0) {
                fail(exit_usage, "--deadline expects a number of seconds >= 0");
            }
        } else if (arg == "--timings") {
            timings = true;
        } else if (arg == "--quiet") {
            quiet = true;
        } else if (arg == "--progress") {
            progress = value();
            if (progress != "auto" && progress != "bar" && progress != "lines" &&
                progress != "none") {
                fail(exit_usage, "--progress expects auto, bar, lines or none");
            }
        } else {
            fail(exit_usage, "run: unknown argument \"" + arg + "\"");
        }
    }

    const processor_description description =
        connected.describe(name);
    invoke_params params;
    params.processor = name;
    for (const auto& [input_name, path] : inputs) {
        const slot* s = find_slot(description.inputs, input_name);
        if (s == nullptr) {
            unknown_slot("input", input_name, description, description.inputs);
        }
        try {
            params.inputs.emplace_back(input_name, files::read_data(path, s->type, s->image_kind));
        } catch (const files::file_error& e) {
            fail(exit_file, e.what());
        }
    }
    for (const auto& [parameter_name, text] : parameters) {
        const slot* s = find_slot(description.parameters, parameter_name);
        if (s == nullptr) {
            unknown_slot("parameter", parameter_name, description, description.parameters);
        }
        params.parameters.emplace_back(parameter_name, parse_parameter(*s, text));
    }
    for (const auto& [output_name, path] : outputs) {
        const slot* s = find_slot(description.outputs, output_name);
        if (s != nullptr && is_scalar_output(*s)) {
            fail(exit_usage, output_name + " is a value, printed as \"" + output_name +
                                 " = VALUE\" on standard output, not a file");
        }
        if (s == nullptr) {
            unknown_slot("output", output_name, description, description.outputs);
        }
        try {
            files::check_writable(path, s->type); // before the computation, not after it
        } catch (const files::file_error& e) {
            fail(exit_file, e.what());
        }
    }

    auto display_mode = progress_display::mode::none;
    if (!quiet && (progress == "bar" || (progress == "auto" && ::isatty(STDERR_FILENO) == 1))) {
        display_mode = progress_display::mode::bar;
    } else if (!quiet && progress == "lines") {
        display_mode = progress_display::mode::lines;
    }
    progress_display bar(display_mode);
    cancel_on_interrupt interrupt(client, program, client.reserve_call_id());
    invoke_options invoke_opts;
    invoke_opts.deadline = deadline;
    invoke_opts.id = interrupt.id();
    invoke_opts.on_progress = [&bar](const progress_params& p) {
        bar.show(p.fraction, p.message.value_or(""));
    };
    std::error_code ec;
    invoke_reply reply = client.invoke(std::move(params), std::move(invoke_opts), ec);
    bar.clear();
    if (ec == error::cancelled) {
        fail(exit_cancelled, name + " was cancelled");
    }
    if (ec) {
        std::string message = reply.error ? reply.error->message : ec.message();
        std::string code_text = " (" + std::to_string(ec.value()) + " " +
                                std::error_code(ec.value(), category()).message() + ")";
        if (reply.error) {
            if (const auto* offending = reply.error->details.find("name")) {
                if (offending->is_string()) {
                    message += " [" + offending->as_string() + "]";
                }
            }
        }
        if (ec.category() == category() && ec.value() >= 100) {
            fail(exit_call_failed, name + " failed: " + message + code_text);
        }
        fail(exit_connection, name + ": " + message);
    }

    int status = exit_ok;
    for (const auto& [output_name, path] : outputs) {
        const data_value* data = reply.result.output(output_name);
        if (data == nullptr) {
            std::cerr << program << ": " << name << " produced no output " << output_name << "\n";
            status = exit_call_failed;
            continue;
        }
        try {
            files::write_data(*data, path);
        } catch (const files::file_error& e) {
            fail(exit_file, e.what());
        }
        if (!quiet) {
            std::cerr << "wrote " << output_name << " (" << data_summary(*data) << ") to " << path
                      << "\n";
        }
    }
    if (!quiet) {
        for (const auto& [output_name, data] : reply.result.outputs) {
            const bool saved = std::any_of(outputs.begin(), outputs.end(),
                                           [&](const auto& o) { return o.first == output_name; });
            if (!saved) {
                std::cerr << "not saved: " << output_name << " (" << data_summary(data)
                          << "); add --output " << output_name << "=FILE\n";
            }
        }
    }
    // Scalar outputs on standard output, one `name = value` line each ([CAT-7]).
    for (const auto& [output_name, scalar] : reply.result.scalars) {
        std::cout << output_name << " = " << value_text(scalar) << "\n";
    }
    if (timings) {
        std::cout << std::fixed << std::setprecision(4) << "timings " << name << ":";
        if (reply.server_timings) {
            const auto& t = *reply.server_timings;
            std::cout << " receiving " << t.receiving << " s, queued " << t.queued
                      << " s, computing " << t.computing << " s, sending " << t.sending << " s,";
        } else {
            std::cout << " (the server sent no timings)";
        }
        std::cout << " round trip " << reply.round_trip << " s\n" << std::flush;
    }
    if (interrupt.requested() && status == exit_ok && !quiet) {
        std::cerr << program << ": the call finished before the cancel reached it\n";
    }
    return status;
}

int execute(const options& o) {
    const auto& args = o.arguments;
    if (o.command == "batch") {
        return batch(o, program, args);
    }
    if (o.command != "list" && o.command != "describe" && o.command != "run" &&
        o.command != "ping") {
        fail(exit_usage, "unknown command \"" + o.command + "\"");
    }
    if (o.command == "list" && !args.empty()) {
        fail(exit_usage, "list takes no arguments");
    }
    if (o.command == "describe" &&
        (args.empty() || args.size() > 2 || (args.size() == 2 && args[1] != "--json"))) {
        fail(exit_usage, "usage: describe PROCESSOR [--json]");
    }
    connection connected(o, program);
    sync_client* client = &connected.client();
    int status = exit_ok;
    if (o.command == "list") {
        const auto processors = checked("catalog", [&] { return client->catalog(); });
        std::size_t width = 4;
        for (const auto& d : processors) {
            width = std::max(width, d.name.size());
        }
        for (const auto& d : processors) {
            std::cout << std::left << std::setw(static_cast<int>(width) + 2) << d.name << d.title;
            if (!d.category.empty()) {
                std::cout << " (" << d.category << ")";
            }
            std::cout << "\n";
        }
    } else if (o.command == "describe") {
        const auto d = connected.describe(args[0]);
        if (args.size() == 2) {
            std::cout << to_json<nlohmann::ordered_json>(to_value(d)).dump(2) << "\n";
        } else {
            print_description(std::cout, d);
        }
    } else if (o.command == "ping") {
        const double seconds = checked("ping", [&] { return client->ping(); });
        std::cout << "pong in " << std::fixed << std::setprecision(3) << seconds * 1000 << " ms\n";
    } else {
        status = run(connected, args);
    }
    checked("goodbye", [&] {
        client->goodbye();
        return 0;
    });
    return status;
}

} // namespace

int main(int argc, char** argv) {
    std::signal(SIGPIPE, SIG_IGN);
    try {
        return execute(parse_global(argc, argv));
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
