#ifndef SLICERBRIDGE_DETAIL_UTF8_HPP
#define SLICERBRIDGE_DETAIL_UTF8_HPP

#include <cstddef>
#include <cstdint>

namespace slicerbridge {
namespace detail {

/// True if the bytes are well-formed UTF-8 (RFC 3629: shortest form, no surrogates, at most
/// U+10FFFF), as [HEAD-9] requires of every str.
inline bool is_valid_utf8(const std::byte* data, std::size_t size) noexcept {
    std::size_t i = 0;
    while (i < size) {
        const auto lead = std::to_integer<std::uint8_t>(data[i]);
        if (lead < 0x80) {
            ++i;
            continue;
        }
        std::size_t length = 0;
        std::uint32_t code_point = 0;
        std::uint32_t minimum = 0;
        if ((lead & 0xe0) == 0xc0) {
            length = 2;
            code_point = lead & 0x1fu;
            minimum = 0x80;
        } else if ((lead & 0xf0) == 0xe0) {
            length = 3;
            code_point = lead & 0x0fu;
            minimum = 0x800;
        } else if ((lead & 0xf8) == 0xf0) {
            length = 4;
            code_point = lead & 0x07u;
            minimum = 0x10000;
        } else {
            return false;
        }
        if (size - i < length) {
            return false;
        }
        for (std::size_t k = 1; k < length; ++k) {
            const auto next = std::to_integer<std::uint8_t>(data[i + k]);
            if ((next & 0xc0) != 0x80) {
                return false;
            }
            code_point = (code_point << 6) | (next & 0x3fu);
        }
        if (code_point < minimum || code_point > 0x10ffff ||
            (code_point >= 0xd800 && code_point <= 0xdfff)) {
            return false;
        }
        i += length;
    }
    return true;
}

} // namespace detail
} // namespace slicerbridge

#endif
