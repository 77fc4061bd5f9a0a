#ifndef SLICERBRIDGE_REFERENCE_CLI_COMMANDS_HPP
#define SLICERBRIDGE_REFERENCE_CLI_COMMANDS_HPP

// The subcommands of `slicerbridge`, each added to the program's CLI11 app with its options.

#include "options.hpp"

namespace slicerbridge {
namespace cli {

command add_list_command(CLI::App& app);     // catalog.cpp
command add_describe_command(CLI::App& app); // catalog.cpp
command add_ping_command(CLI::App& app);     // catalog.cpp
command add_run_command(CLI::App& app);      // run.cpp
command add_batch_command(CLI::App& app);    // batch.cpp

/// Connects, runs `f` on the connection, says goodbye; returns what `f` returned.
template <class F>
int with_connection(const server_options& where, F&& f) {
    connection connected(where, program);
    const int status = f(connected);
    checked("goodbye", [&] {
        connected.client().goodbye();
        return 0;
    });
    return status;
}

} // namespace cli
} // namespace slicerbridge

#endif
