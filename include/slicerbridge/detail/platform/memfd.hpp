#ifndef SLICERBRIDGE_DETAIL_PLATFORM_MEMFD_HPP
#define SLICERBRIDGE_DETAIL_PLATFORM_MEMFD_HPP
// Sealed memory files (spec section 3.5): Linux only. Elsewhere `has_memfd` is false, no buffer
// ever lives in a memory file and every received descriptor is refused. Each defines, in
// slicerbridge::detail::platform:
//   bool has_memfd
//   void close_descriptor(int fd)
//   buffer sealed_memfd_buffer(std::size_t size, Fill&& fill, std::error_code& ec)
//   std::optional<memfd_location> memfd_location_of(const buffer& b)
//   std::optional<buffer> map_sealed_memfd(int fd, error& why)

#include <slicerbridge/buffer.hpp>

#include <cstdint>

namespace slicerbridge::detail::platform {

/// Where a buffer's bytes lie in a memory file: its descriptor (owned by the buffer's owner)
/// and the offset of the first byte.
struct memfd_location {
    int fd = -1;
    std::uint64_t offset = 0;
};

} // namespace slicerbridge::detail::platform

#if defined(__linux__)
#include <slicerbridge/detail/platform/memfd_linux.hpp>
#else
#include <slicerbridge/detail/platform/memfd_none.hpp>
#endif

#endif
