#ifndef SLICERBRIDGE_CLI_MODULE_THIS_PROCESS_HPP
#define SLICERBRIDGE_CLI_MODULE_THIS_PROCESS_HPP

// What the proxy asks of the system about itself, one seam per platform: this_process_posix.cpp
// and this_process_windows.cpp, the build compiles one.

#include <string>

namespace slicerbridge {
namespace cli_module {

/// The file name suffix Slicer requires of a CLI module's program: "" on Linux and macOS (a
/// name without a dot), ".exe" on Windows (qSlicerUtils::isCLIExecutable, Base/QTCore/
/// qSlicerUtils.cxx: `filePath.endsWith(".exe")` under _WIN32, `!fileName().contains('.')`
/// elsewhere; ".bat" and "#!" .py scripts are also accepted by newer Slicers, .exe by all).
extern const char* const entry_suffix;

/// This program's path as it was started: an exported entry is a link to (or copy of) it under
/// another name, and that name says which module it is.
std::string own_path(const char* argv0);

/// Removes PYTHONHOME and PYTHONPATH from the environment (Slicer sets them for its Python; a
/// processor launched from here must not import Slicer's packages instead of its own).
void forget_python_environment();

/// Whether new files can be made in `folder`.
bool can_write_into(const std::string& folder);

/// Standard output as the Execution Model needs it: a write to a closed pipe fails with an
/// error instead of ending the process (POSIX: SIGPIPE ignored), and the bytes written are the
/// bytes sent (Windows: binary mode, so that `--xml` prints the exported file byte for byte and
/// no line end becomes CR LF).
void prepare_standard_output();

} // namespace cli_module
} // namespace slicerbridge

#endif
