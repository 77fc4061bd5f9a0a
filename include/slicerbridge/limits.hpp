#ifndef SLICERBRIDGE_LIMITS_HPP
#define SLICERBRIDGE_LIMITS_HPP

// The limits a peer enforces on what it receives (section 7), in one place.

#include <cstddef>
#include <cstdint>

namespace slicerbridge {

struct limits {
    /// Largest frame accepted: 16 + head_length + bulk_length ([FRAME-3]).
    std::uint64_t max_frame = std::uint64_t{1} << 32;
    /// Largest head accepted.
    std::uint64_t max_head = std::uint64_t{16} << 20;
    /// Most calls (invokes) open at once on a connection; other requests are not counted
    /// (servers only, [LIMIT-2]).
    std::uint32_t max_in_flight = 64;
    /// Deepest head nesting accepted; a map of scalars has depth 1 ([HEAD-5]).
    std::uint32_t max_depth = 32;
    /// Seconds a server waits for a cancelled computation before answering ([CANCEL-3]).
    double cancel_grace = 5.0;
    /// Most elements in one array or map of a head. Local only: not announced in the hello.
    std::uint32_t max_elements = std::uint32_t{1} << 20;

    friend bool operator==(const limits& a, const limits& b) noexcept {
        return a.max_frame == b.max_frame && a.max_head == b.max_head &&
               a.max_in_flight == b.max_in_flight && a.max_depth == b.max_depth &&
               a.cancel_grace == b.cancel_grace && a.max_elements == b.max_elements;
    }
    friend bool operator!=(const limits& a, const limits& b) noexcept { return !(a == b); }
};

/// Until both hellos have been exchanged, frames up to this size must be accepted ([HELLO-4]).
inline constexpr std::uint64_t handshake_max_frame = 65536;

} // namespace slicerbridge

#endif
