#ifndef SLICERBRIDGE_REFERENCE_CLI_OPTIONS_HPP
#define SLICERBRIDGE_REFERENCE_CLI_OPTIONS_HPP

// The command line's options on CLI11: where the server is, the options the subcommands share,
// and CLI11's own parse errors turned into the usage exit status.

#include "connection.hpp"

#include <CLI/CLI.hpp>

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace slicerbridge {
namespace cli {

/// The program's name in messages and in the hello.
constexpr const char* program = "slicerbridge";

/// "slicerbridge 1.1.0 (protocol 1.1)".
std::string version_text(const std::string& name);

/// Where the server is: --server, --launch, --token, --token-file and --tls-ca on `app`.
struct connection_flags {
    server_options where;
    std::optional<std::string> token_file;

    void add_to(CLI::App& app);
    /// After the parse: the token file read, SLICERBRIDGE_SERVER and SLICERBRIDGE_TOKEN for
    /// what the command line left out. Fails with exit_usage when no server is given.
    server_options resolve() const;
};

/// A subcommand, its options filled by the parse, and what it does with them.
struct command {
    CLI::App* app;
    std::function<int(const server_options&)> execute;
};

/// Each "NAME=VALUE" of `texts` split at its first '='; fails with exit_usage naming `flag`.
std::vector<std::pair<std::string, std::string>>
split_assignments(const std::string& flag, const std::vector<std::string>& texts);

/// A number of seconds >= 0 given to `flag`; fails with exit_usage.
double parse_seconds(const std::string& flag, const std::string& text);

/// --progress MODE (auto, bar, lines or none) on `app`, stored in `mode`.
void add_progress_option(CLI::App& app, std::string& mode, const std::string& lines_text);

/// Prints a parse error (or the help and the version, which CLI11 reports as errors too) and
/// returns the exit status: exit_ok for --help and --version, exit_usage for the rest.
int report_parse_error(const CLI::App& app, const CLI::ParseError& error);

} // namespace cli
} // namespace slicerbridge

#endif
