#ifndef SLICERBRIDGE_DETAIL_PLATFORM_OWNER_ONLY_WINDOWS_HPP
#define SLICERBRIDGE_DETAIL_PLATFORM_OWNER_ONLY_WINDOWS_HPP

#include <string>
#include <system_error>

#include <windows.h>

#include <sddl.h>

namespace slicerbridge::detail::platform {

inline void restrict_to_owner(const std::string& path, std::error_code& ec) {
    ec.clear();
    // P: inherit nothing from the directory; one entry: full access (FA) for the owner (OW).
    PSECURITY_DESCRIPTOR descriptor = nullptr;
    if (!::ConvertStringSecurityDescriptorToSecurityDescriptorW(L"D:P(A;;FA;;;OW)", SDDL_REVISION_1,
                                                                &descriptor, nullptr)) {
        ec.assign(static_cast<int>(::GetLastError()), std::system_category());
        return;
    }
    if (!::SetFileSecurityA(path.c_str(), DACL_SECURITY_INFORMATION, descriptor)) {
        ec.assign(static_cast<int>(::GetLastError()), std::system_category());
    }
    ::LocalFree(descriptor);
}

} // namespace slicerbridge::detail::platform

#endif
