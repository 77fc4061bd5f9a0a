#ifndef SLICERBRIDGE_REFERENCE_CLI_BATCH_HPP
#define SLICERBRIDGE_REFERENCE_CLI_BATCH_HPP

// `slicerbridge batch`: one processor over many files, with N calls in flight over a pool of
// connections (N servers, or a load balancer in front of them), idempotent calls sent again when
// a server is lost, one progress display, a summary, and resume.

#include "connection.hpp"

#include <string>
#include <vector>

namespace slicerbridge {
namespace cli {

/// The batch subcommand's options, for the command line's --help.
extern const char* const batch_usage;

/// Runs `batch PROCESSOR ...` (arguments after "batch"); returns the exit status: exit_ok when
/// every item succeeded or was already done, exit_call_failed when any failed, exit_connection
/// when no server could be reached, exit_cancelled after Ctrl-C.
int batch(const server_options& where, const std::string& program,
          const std::vector<std::string>& arguments);

} // namespace cli
} // namespace slicerbridge

#endif
