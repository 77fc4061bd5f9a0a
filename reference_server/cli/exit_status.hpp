#ifndef SLICERBRIDGE_REFERENCE_CLI_EXIT_STATUS_HPP
#define SLICERBRIDGE_REFERENCE_CLI_EXIT_STATUS_HPP

// The exit statuses shared by the command-line programs, and the failure that carries one.

#include <string>

namespace slicerbridge {
namespace cli {

constexpr int exit_ok = 0;
constexpr int exit_call_failed = 1;
constexpr int exit_usage = 2;
constexpr int exit_connection = 3;
constexpr int exit_file = 4;
constexpr int exit_cancelled = 130;

/// A failure that ends the program with `status` after printing `message`.
struct exit_failure {
    int status;
    std::string message;
};

[[noreturn]] inline void fail(int status, std::string message) {
    throw exit_failure{status, std::move(message)};
}

} // namespace cli
} // namespace slicerbridge

#endif
