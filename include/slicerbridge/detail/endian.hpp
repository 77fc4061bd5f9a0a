#ifndef SLICERBRIDGE_DETAIL_ENDIAN_HPP
#define SLICERBRIDGE_DETAIL_ENDIAN_HPP

#include <cstddef>
#include <cstdint>

namespace slicerbridge {
namespace detail {

template <class UInt>
UInt load_big_endian(const std::byte* in) noexcept {
    UInt result = 0;
    for (std::size_t i = 0; i < sizeof(UInt); ++i) {
        result = static_cast<UInt>((result << 8) | std::to_integer<UInt>(in[i]));
    }
    return result;
}

template <class UInt>
void store_big_endian(UInt number, std::byte* out) noexcept {
    for (std::size_t i = sizeof(UInt); i-- > 0;) {
        out[i] = static_cast<std::byte>(number & 0xffu);
        number = static_cast<UInt>(number >> 8);
    }
}

} // namespace detail
} // namespace slicerbridge

#endif
