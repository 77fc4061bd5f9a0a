#ifndef SLICERBRIDGE_TEST_SUPPORT_CHILD_MODES_HPP
#define SLICERBRIDGE_TEST_SUPPORT_CHILD_MODES_HPP

// The test program started again as a child by the tests of launch_process: with one of these
// flags as its only argument, main() runs the mode instead of the tests. The same program on
// every platform, so no other program (cat, python) needs to exist where the tests run.

#include <string>
#include <string_view>

namespace test_support {

/// Serve the test processors on standard input and output until the client leaves; exit 0.
inline constexpr std::string_view serve_stdio_flag = "--child-serve-stdio";
/// Ignore standard input and sleep for a minute; exit 0 (a child that will not stop by itself).
inline constexpr std::string_view sleep_flag = "--child-sleep";
/// Start this program with `sleep_flag`, sharing this process's standard streams (and its
/// process group on POSIX, its job on Windows), write "started\n", then sleep for a minute.
inline constexpr std::string_view start_sleeper_flag = "--child-start-sleeper";

/// argv[0] of the test program, as main() received it (in a child mode too).
inline std::string& program_path() {
    static std::string path;
    return path;
}

/// Runs the mode `flag` names and returns the exit status, or -1 if it names none.
int run_child_mode(std::string_view flag); // unit-transport-pipe-stream.cpp

} // namespace test_support

#endif
