#ifndef SLICERBRIDGE_DETAIL_MSGPACK_WRITER_HPP
#define SLICERBRIDGE_DETAIL_MSGPACK_WRITER_HPP

// Writes MessagePack in the canonical form of spec section 12 ([CANON-2] to [CANON-4],
// [CANON-7]). Lengths are checked by the caller: every length passed here fits 32 bits.
// It counts the array and map headers it writes: no object it writes nests deeper than that
// count, which spares a sender the scan of its head against the peer's max_depth ([LIMIT-11])
// whenever the count is within it.

#include <slicerbridge/detail/endian.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

namespace slicerbridge {
namespace detail {

class msgpack_writer {
public:
    explicit msgpack_writer(std::vector<std::byte>& out) noexcept : out_(out) {}

    void write_nil() { put(0xc0); }
    void write_bool(bool b) { put(b ? 0xc3 : 0xc2); }

    void write_int(std::int64_t number) {
        if (number >= 0) {
            write_uint(static_cast<std::uint64_t>(number));
        } else if (number >= -32) {
            put(static_cast<std::uint8_t>(number));
        } else if (number >= INT8_MIN) {
            put(0xd0);
            put(static_cast<std::uint8_t>(number));
        } else if (number >= INT16_MIN) {
            put(0xd1);
            put_big_endian(static_cast<std::uint16_t>(number));
        } else if (number >= INT32_MIN) {
            put(0xd2);
            put_big_endian(static_cast<std::uint32_t>(number));
        } else {
            put(0xd3);
            put_big_endian(static_cast<std::uint64_t>(number));
        }
    }

    void write_uint(std::uint64_t number) {
        if (number <= 0x7f) {
            put(static_cast<std::uint8_t>(number));
        } else if (number <= UINT8_MAX) {
            put(0xcc);
            put(static_cast<std::uint8_t>(number));
        } else if (number <= UINT16_MAX) {
            put(0xcd);
            put_big_endian(static_cast<std::uint16_t>(number));
        } else if (number <= UINT32_MAX) {
            put(0xce);
            put_big_endian(static_cast<std::uint32_t>(number));
        } else {
            put(0xcf);
            put_big_endian(number);
        }
    }

    /// Always float 64; NaN as 0x7ff8000000000000 ([CANON-3]).
    void write_double(double number) {
        std::uint64_t bits = 0x7ff8000000000000ull;
        if (!std::isnan(number)) {
            std::memcpy(&bits, &number, sizeof bits);
        }
        put(0xcb);
        put_big_endian(bits);
    }

    void write_string(std::string_view text) {
        const auto n = static_cast<std::uint32_t>(text.size());
        if (n <= 31) {
            put(static_cast<std::uint8_t>(0xa0 | n));
        } else {
            write_sized_header(n, 0xd9, 0xda, 0xdb);
        }
        put_bytes(reinterpret_cast<const std::byte*>(text.data()), text.size());
    }

    void write_binary(const std::byte* data, std::size_t size) {
        write_sized_header(static_cast<std::uint32_t>(size), 0xc4, 0xc5, 0xc6);
        put_bytes(data, size);
    }

    void write_array_header(std::size_t count) {
        ++containers_;
        write_container_header(static_cast<std::uint32_t>(count), 0x90, 0xdc, 0xdd);
    }

    void write_map_header(std::size_t count) {
        ++containers_;
        write_container_header(static_cast<std::uint32_t>(count), 0x80, 0xde, 0xdf);
    }

    /// The array and map headers written so far: a bound on the nesting depth of what was
    /// written ([HEAD-5] counts one level per container).
    std::uint64_t containers_written() const noexcept { return containers_; }

    /// fixext 16 for 16 bytes; otherwise the smallest of ext 8, 16 and 32 ([CANON-7]).
    void write_ext(std::int8_t type, const std::byte* data, std::size_t size) {
        if (size == 16) {
            put(0xd8);
        } else {
            write_sized_header(static_cast<std::uint32_t>(size), 0xc7, 0xc8, 0xc9);
        }
        put(static_cast<std::uint8_t>(type));
        put_bytes(data, size);
    }

    /// Bytes the caller has already written in canonical form (keys and other parts of a head
    /// known at compile time), appended as they are; `containers` is the number of array and
    /// map headers among them, counted as their write_*_header would count them.
    void write_raw(const std::byte* data, std::size_t size, std::uint64_t containers) {
        containers_ += containers;
        put_bytes(data, size);
    }

private:
    void put(std::uint8_t byte) { out_.push_back(static_cast<std::byte>(byte)); }

    template <class UInt>
    void put_big_endian(UInt number) {
        std::byte bytes[sizeof(UInt)];
        store_big_endian(number, bytes);
        put_bytes(bytes, sizeof bytes);
    }

    void put_bytes(const std::byte* data, std::size_t size) {
        if (size == 0) {
            return; // `data` may be null
        }
        out_.insert(out_.end(), data, data + size); // one copy, no zero fill first
    }

    void write_sized_header(std::uint32_t n, std::uint8_t tag8, std::uint8_t tag16,
                            std::uint8_t tag32) {
        if (n <= UINT8_MAX) {
            put(tag8);
            put(static_cast<std::uint8_t>(n));
        } else if (n <= UINT16_MAX) {
            put(tag16);
            put_big_endian(static_cast<std::uint16_t>(n));
        } else {
            put(tag32);
            put_big_endian(n);
        }
    }

    void write_container_header(std::uint32_t n, std::uint8_t fix, std::uint8_t tag16,
                                std::uint8_t tag32) {
        if (n <= 15) {
            put(static_cast<std::uint8_t>(fix | n));
        } else if (n <= UINT16_MAX) {
            put(tag16);
            put_big_endian(static_cast<std::uint16_t>(n));
        } else {
            put(tag32);
            put_big_endian(n);
        }
    }

    std::vector<std::byte>& out_;
    std::uint64_t containers_ = 0;
};

} // namespace detail
} // namespace slicerbridge

#endif
