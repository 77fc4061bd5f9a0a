#ifndef SLICERBRIDGE_VERSION_HPP
#define SLICERBRIDGE_VERSION_HPP

// The library's version (macros) and the protocol versions it speaks (section 4.2).

#include <cstdint>
#include <optional>

/// The library version as major * 100000 + minor * 100 + patch.
#define SLICERBRIDGE_VERSION 100000
#define SLICERBRIDGE_VERSION_MAJOR 1
#define SLICERBRIDGE_VERSION_MINOR 0
#define SLICERBRIDGE_VERSION_PATCH 0
#define SLICERBRIDGE_VERSION_STRING "1.0.0"

namespace slicerbridge {

/// A protocol version `major.minor`; versions compare by major, then minor ([HELLO-3]).
struct protocol_version {
    std::uint16_t major = 0;
    std::uint16_t minor = 0;

    friend constexpr bool operator==(protocol_version a, protocol_version b) noexcept {
        return a.major == b.major && a.minor == b.minor;
    }
    friend constexpr bool operator!=(protocol_version a, protocol_version b) noexcept {
        return !(a == b);
    }
    friend constexpr bool operator<(protocol_version a, protocol_version b) noexcept {
        return a.major != b.major ? a.major < b.major : a.minor < b.minor;
    }
    friend constexpr bool operator>(protocol_version a, protocol_version b) noexcept {
        return b < a;
    }
    friend constexpr bool operator<=(protocol_version a, protocol_version b) noexcept {
        return !(b < a);
    }
    friend constexpr bool operator>=(protocol_version a, protocol_version b) noexcept {
        return !(a < b);
    }
};

/// The oldest and newest protocol versions this library speaks; a hello offers every version
/// between them ([VER-1]).
inline constexpr protocol_version protocol_min{1, 0};
inline constexpr protocol_version protocol_max{1, 1};

/// The highest version inside both ranges [a_min, a_max] and [b_min, b_max], if any ([HELLO-3]).
constexpr std::optional<protocol_version> choose_version(protocol_version a_min,
                                                         protocol_version a_max,
                                                         protocol_version b_min,
                                                         protocol_version b_max) noexcept {
    const protocol_version low = a_min < b_min ? b_min : a_min;
    const protocol_version high = a_max < b_max ? a_max : b_max;
    if (high < low) {
        return std::nullopt;
    }
    return high;
}

} // namespace slicerbridge

#endif
