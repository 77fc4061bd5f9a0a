#include "options.hpp"

#include "exit_status.hpp"
#include "parameters.hpp"

#include <slicerbridge/version.hpp>

#include <cmath>
#include <cstdlib>
#include <iostream>

namespace slicerbridge {
namespace cli {

std::string version_text(const std::string& name) {
    return name + " " + SLICERBRIDGE_VERSION_STRING + " (protocol " +
           std::to_string(protocol_max.major) + "." + std::to_string(protocol_max.minor) + ")";
}

void connection_flags::add_to(CLI::App& app) {
    auto* server = app.add_option("--server", where.server,
                                  "HOST:PORT, tls://HOST:PORT or unix:PATH (default: "
                                  "$SLICERBRIDGE_SERVER)");
    server->type_name("ADDR");
    auto* launch = app.add_option("--launch", where.launch,
                                  "Start CMD ARGS and talk to it over its standard input and "
                                  "output (for example --launch \"slicerbridge-server --stdio\")");
    launch->type_name("\"CMD ARGS\"");
    server->excludes(launch);
    auto* token_file = app.add_option("--token-file", this->token_file,
                                      "Read the token the server requires from FILE's first line");
    token_file->type_name("FILE");
    auto* token = app.add_option("--token", where.token,
                                 "The token itself, visible to every user of `ps`; prefer "
                                 "--token-file (default: $SLICERBRIDGE_TOKEN)");
    token->type_name("TOKEN");
    token->excludes(token_file);
    app.add_option("--tls-ca", where.tls_ca,
                   "CA certificates to verify a tls:// server with (default: the system's)")
        ->type_name("FILE");
}

server_options connection_flags::resolve() const {
    server_options resolved = where;
    if (token_file) {
        resolved.token = read_token_file(*token_file);
    }
    if (!resolved.server && !resolved.launch) {
        if (const char* from_environment = std::getenv("SLICERBRIDGE_SERVER")) {
            resolved.server = from_environment;
        } else {
            fail(exit_usage, "no server: give --server ADDR, --launch \"CMD\" or set "
                             "SLICERBRIDGE_SERVER");
        }
    }
    if (!resolved.token) {
        if (const char* from_environment = std::getenv("SLICERBRIDGE_TOKEN")) {
            if (*from_environment != '\0') {
                resolved.token = from_environment;
            }
        }
    }
    return resolved;
}

std::vector<std::pair<std::string, std::string>>
split_assignments(const std::string& flag, const std::vector<std::string>& texts) {
    std::vector<std::pair<std::string, std::string>> split;
    for (const auto& text : texts) {
        const auto equals = text.find('=');
        if (equals == std::string::npos || equals == 0) {
            fail(exit_usage, flag + " expects NAME=VALUE, not \"" + text + "\"");
        }
        split.emplace_back(text.substr(0, equals), text.substr(equals + 1));
    }
    return split;
}

double parse_seconds(const std::string& flag, const std::string& text) {
    const double seconds = parse_float(flag, text);
    if (!std::isfinite(seconds) || seconds < 0) {
        fail(exit_usage, flag + " expects a number of seconds >= 0");
    }
    return seconds;
}

void add_progress_option(CLI::App& app, std::string& mode, const std::string& lines_text) {
    app.add_option("--progress", mode,
                   "auto (a bar when standard error is a terminal), bar, lines (" + lines_text +
                       ") or none")
        ->type_name("MODE")
        ->check(CLI::IsMember({"auto", "bar", "lines", "none"}))
        ->capture_default_str();
}

int report_parse_error(const CLI::App& app, const CLI::ParseError& error) {
    if (error.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) {
        return app.exit(error); // --help or --version: printed on standard output
    }
    std::cerr << app.get_name() << ": " << error.what() << "\n(see " << app.get_name()
              << " --help)\n";
    return exit_usage;
}

} // namespace cli
} // namespace slicerbridge
