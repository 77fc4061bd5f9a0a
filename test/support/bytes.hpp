#ifndef SLICERBRIDGE_TEST_SUPPORT_BYTES_HPP
#define SLICERBRIDGE_TEST_SUPPORT_BYTES_HPP

// Byte helpers for tests: hex conversion and hand-built heads and frames.

#include <slicerbridge/buffer.hpp>

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace test_support {

using bytes = std::vector<std::byte>;

inline bytes from_hex(std::string_view hex) {
    auto nibble = [](char c) -> unsigned {
        if (c >= '0' && c <= '9') {
            return static_cast<unsigned>(c - '0');
        }
        if (c >= 'a' && c <= 'f') {
            return static_cast<unsigned>(c - 'a' + 10);
        }
        if (c >= 'A' && c <= 'F') {
            return static_cast<unsigned>(c - 'A' + 10);
        }
        throw std::invalid_argument("not a hex digit");
    };
    bytes out;
    std::size_t i = 0;
    while (i < hex.size()) {
        if (hex[i] == ' ') {
            ++i;
            continue;
        }
        if (i + 1 >= hex.size()) {
            throw std::invalid_argument("odd number of hex digits");
        }
        out.push_back(static_cast<std::byte>(nibble(hex[i]) << 4 | nibble(hex[i + 1])));
        i += 2;
    }
    return out;
}

inline std::string to_hex(const std::byte* data, std::size_t size) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(size * 2);
    for (std::size_t i = 0; i < size; ++i) {
        const auto b = std::to_integer<unsigned>(data[i]);
        out.push_back(digits[b >> 4]);
        out.push_back(digits[b & 15]);
    }
    return out;
}

inline std::string to_hex(const bytes& b) { return to_hex(b.data(), b.size()); }
inline std::string to_hex(const slicerbridge::buffer& b) { return to_hex(b.data(), b.size()); }

inline slicerbridge::buffer to_buffer(const bytes& b) {
    return slicerbridge::buffer::copy_of(b.data(), b.size());
}

inline slicerbridge::buffer to_buffer(std::string_view text) {
    return slicerbridge::buffer::copy_of(text.data(), text.size());
}

inline bytes concat(std::initializer_list<bytes> parts) {
    bytes out;
    for (const auto& part : parts) {
        out.insert(out.end(), part.begin(), part.end());
    }
    return out;
}

inline void append_big_endian(bytes& out, std::uint64_t number, std::size_t width) {
    for (std::size_t i = width; i-- > 0;) {
        out.push_back(static_cast<std::byte>((number >> (8 * i)) & 0xff));
    }
}

/// A frame header with the given sizes (and optionally other magic/format/flags bytes).
inline bytes frame_header_bytes(std::uint64_t head_length, std::uint64_t bulk_length,
                                std::uint8_t flags = 0, std::uint8_t format = 1,
                                std::uint16_t magic = 0x5342) {
    bytes out;
    append_big_endian(out, magic, 2);
    out.push_back(static_cast<std::byte>(format));
    out.push_back(static_cast<std::byte>(flags));
    append_big_endian(out, head_length, 4);
    append_big_endian(out, bulk_length, 8);
    return out;
}

/// A whole frame around a head and bulk.
inline bytes make_frame(const bytes& head, const bytes& bulk = {}) {
    return concat({frame_header_bytes(head.size(), bulk.size()), head, bulk});
}

/// A 16- or 25-byte bulk reference as MessagePack ext (fixext 16 or ext 8).
inline bytes bulk_reference(std::uint64_t offset, std::uint64_t length) {
    bytes out{std::byte{0xd8}, std::byte{0x01}};
    append_big_endian(out, offset, 8);
    append_big_endian(out, length, 8);
    return out;
}

inline bytes compressed_bulk_reference(std::uint64_t offset, std::uint64_t length,
                                       std::uint8_t codec, std::uint64_t raw_length) {
    bytes out{std::byte{0xc7}, std::byte{25}, std::byte{0x01}};
    append_big_endian(out, offset, 8);
    append_big_endian(out, length, 8);
    out.push_back(static_cast<std::byte>(codec));
    append_big_endian(out, raw_length, 8);
    return out;
}

} // namespace test_support

#endif
