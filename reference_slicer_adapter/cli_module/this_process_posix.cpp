#include "this_process.hpp"

#include <csignal>
#include <filesystem>
#include <system_error>

#include <stdlib.h>
#include <unistd.h>

namespace slicerbridge {
namespace cli_module {

const char* const entry_suffix = "";

std::string own_path(const char* argv0) {
    namespace fs = std::filesystem;
    const std::string given = argv0 != nullptr ? argv0 : "";
    if (given.find('/') != std::string::npos) {
        return fs::absolute(given).string();
    }
    std::error_code ec;
    const auto resolved = fs::read_symlink("/proc/self/exe", ec);
    return ec ? given : resolved.string();
}

void forget_python_environment() {
    ::unsetenv("PYTHONHOME");
    ::unsetenv("PYTHONPATH");
}

bool can_write_into(const std::string& folder) {
    return ::access(folder.c_str(), W_OK) == 0;
}

void prepare_standard_output() {
    std::signal(SIGPIPE, SIG_IGN);
}

} // namespace cli_module
} // namespace slicerbridge
