#ifndef SLICERBRIDGE_DETAIL_CAPABILITIES_HPP
#define SLICERBRIDGE_DETAIL_CAPABILITIES_HPP

#include <algorithm>
#include <cstdio>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace slicerbridge::detail {

inline bool has_capability(const std::vector<std::string>& capabilities, std::string_view name) {
    return std::find(capabilities.begin(), capabilities.end(), name) != capabilities.end();
}

/// A reserved capability with a random suffix, sent so that peers keep ignoring the ones they do
/// not know ([CAP-1]).
inline std::string grease_capability() {
    static thread_local std::minstd_rand generator{std::random_device{}()};
    char suffix[9];
    std::snprintf(suffix, sizeof suffix, "%08x", static_cast<unsigned>(generator()));
    return std::string("x-grease-") + suffix;
}

} // namespace slicerbridge::detail

#endif
