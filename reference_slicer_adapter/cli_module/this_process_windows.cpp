#include "this_process.hpp"

#include <filesystem>
#include <vector>

#include <cstdio>

#include <fcntl.h>
#include <io.h>
#include <stdlib.h>
#include <windows.h>

namespace slicerbridge {
namespace cli_module {

const char* const entry_suffix = ".exe";

std::string own_path(const char*) {
    // The path the process was started by (a hard link keeps its own name), however it was
    // started: argv[0] may lack the folder and the ".exe".
    std::vector<wchar_t> name(MAX_PATH);
    for (int attempt = 0; attempt < 8; ++attempt) { // 260 to 32 Ki characters
        const DWORD n = ::GetModuleFileNameW(nullptr, name.data(), static_cast<DWORD>(name.size()));
        if (n == 0) {
            return {};
        }
        if (n < name.size()) {
            return std::filesystem::path(std::wstring(name.data(), n)).string();
        }
        name.resize(name.size() * 2);
    }
    return {};
}

void forget_python_environment() {
    ::_putenv_s("PYTHONHOME", ""); // an empty value removes the variable
    ::_putenv_s("PYTHONPATH", "");
}

bool can_write_into(const std::string& folder) {
    return ::_waccess(std::filesystem::path(folder).wstring().c_str(), 2) == 0;
}

void prepare_standard_output() {
    ::_setmode(::_fileno(stdout), _O_BINARY);
}

} // namespace cli_module
} // namespace slicerbridge
