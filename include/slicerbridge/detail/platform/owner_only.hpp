#ifndef SLICERBRIDGE_DETAIL_PLATFORM_OWNER_ONLY_HPP
#define SLICERBRIDGE_DETAIL_PLATFORM_OWNER_ONLY_HPP
// Making a file (a Unix domain socket) usable by its owner only ([SEC-10]): mode 0600 on POSIX;
// on Windows (AF_UNIX since Windows 10 1803) a protected access list that grants its owner
// alone full access. Each defines, in slicerbridge::detail::platform:
//   void restrict_to_owner(const std::string& path, std::error_code& ec)

#if defined(_WIN32)
#include <slicerbridge/detail/platform/owner_only_windows.hpp>
#else
#include <slicerbridge/detail/platform/owner_only_posix.hpp>
#endif

#endif
