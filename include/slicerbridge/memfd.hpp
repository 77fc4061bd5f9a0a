#ifndef SLICERBRIDGE_MEMFD_HPP
#define SLICERBRIDGE_MEMFD_HPP

// Buffers in sealed memory files (spec section 3.5): on a Unix socket with transfer.memfd in
// force they travel as descriptors, mapped by the peer instead of copied. Linux only; elsewhere
// `memfd_supported()` is false and `memfd_buffer` fails with function_not_supported.

#include <slicerbridge/buffer.hpp>
#include <slicerbridge/detail/platform/memfd.hpp>

#include <cstddef>
#include <system_error>
#include <utility>

namespace slicerbridge {

/// Whether this build can pass buffers as memory files.
constexpr bool memfd_supported() noexcept {
    return detail::platform::has_memfd;
}

/// A buffer of `size` bytes in a new memory file, written by `fill(std::byte* data)` and then
/// sealed read-only: sending it by descriptor costs no copy at all.
template <class Fill>
buffer memfd_buffer(std::size_t size, Fill&& fill, std::error_code& ec) {
    return detail::platform::sealed_memfd_buffer(size, std::forward<Fill>(fill), ec);
}

/// Whether `b` lies in a memory file, and so would travel without a copy.
inline bool in_memfd(const buffer& b) noexcept {
    return detail::platform::memfd_location_of(b).has_value();
}

} // namespace slicerbridge

#endif
