#ifndef SLICERBRIDGE_DETAIL_PLATFORM_OWNER_ONLY_POSIX_HPP
#define SLICERBRIDGE_DETAIL_PLATFORM_OWNER_ONLY_POSIX_HPP

#include <cerrno>
#include <string>
#include <system_error>

#include <sys/stat.h>

namespace slicerbridge::detail::platform {

inline void restrict_to_owner(const std::string& path, std::error_code& ec) {
    ec.clear();
    if (::chmod(path.c_str(), S_IRUSR | S_IWUSR) != 0) {
        ec.assign(errno, std::system_category());
    }
}

} // namespace slicerbridge::detail::platform

#endif
