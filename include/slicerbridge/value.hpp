#ifndef SLICERBRIDGE_VALUE_HPP
#define SLICERBRIDGE_VALUE_HPP

// A dynamic tree of MessagePack-like values: what a head decodes to and encodes from.

#include <slicerbridge/buffer.hpp>
#include <slicerbridge/compression.hpp>
#include <slicerbridge/detail/config.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace slicerbridge {

namespace detail {
class head_decoder;

/// As `a == b`, but for the short keys of a head: lengths, then first bytes, decide most
/// comparisons without a call to memcmp.
inline bool same_key(const std::string& a, std::string_view b) noexcept {
    return a.size() == b.size() &&
           (b.empty() || (a[0] == b[0] && std::memcmp(a.data(), b.data(), b.size()) == 0));
}
} // namespace detail

/// Bytes carried in the frame's bulk section and referenced from the head (section 3.2).
struct bulk {
    /// The raw (decompressed) bytes.
    buffer data;
    /// The codec the bytes travelled with when decoded. Informational: compression never changes
    /// meaning ([BULK-5]), so it takes no part in equality and the encoder ignores it.
    codec compression = codec::none;

    friend bool operator==(const bulk& a, const bulk& b) noexcept { return a.data == b.data; }
    friend bool operator!=(const bulk& a, const bulk& b) noexcept { return !(a == b); }
};

/// What a `value` holds.
enum class value_kind : std::uint8_t {
    nil,
    boolean,
    int64,   ///< any integer that fits int64_t
    uint64,  ///< an integer above INT64_MAX
    float64, ///< a float (MessagePack float 32 or float 64)
    string,
    binary,
    array,
    map,
    bulk,
};

/// A node of a head. Maps keep their entries in order, so decoding and re-encoding a canonical
/// frame reproduces it byte for byte. Integers are normalised: a non-negative integer that fits
/// int64_t is always held as int64, so `value(5u) == value(5)`.
class value {
public:
    using array = std::vector<value>;
    using map = std::vector<std::pair<std::string, value>>;
    using binary = std::vector<std::byte>;

    value() noexcept = default;
    value(std::nullptr_t) noexcept {}
    value(bool b) noexcept : data_(b) {}
    template <class T, std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>, int> = 0>
    value(T number) noexcept {
        if constexpr (std::is_signed_v<T>) {
            data_ = static_cast<std::int64_t>(number);
        } else if (static_cast<std::uint64_t>(number) <= std::uint64_t{INT64_MAX}) {
            data_ = static_cast<std::int64_t>(number);
        } else {
            data_ = static_cast<std::uint64_t>(number);
        }
    }
    value(double number) noexcept : data_(number) {}
    value(float number) noexcept : data_(static_cast<double>(number)) {}
    value(const char* text) : data_(std::string(text)) {}
    value(std::string text) noexcept : data_(std::move(text)) {}
    value(std::string_view text) : data_(std::string(text)) {}
    value(binary bytes) noexcept : data_(std::move(bytes)) {}
    value(array elements) noexcept : data_(std::move(elements)) {}
    value(map entries) noexcept : data_(std::move(entries)) {}
    value(bulk segment) noexcept : data_(std::move(segment)) {}
    /// A bulk value holding `bytes`.
    value(buffer bytes) noexcept : data_(bulk{std::move(bytes), codec::none}) {}

    value_kind kind() const noexcept { return static_cast<value_kind>(data_.index()); }

    bool is_nil() const noexcept { return kind() == value_kind::nil; }
    bool is_bool() const noexcept { return kind() == value_kind::boolean; }
    /// An integer of either representation.
    bool is_integer() const noexcept {
        return kind() == value_kind::int64 || kind() == value_kind::uint64;
    }
    bool is_float() const noexcept { return kind() == value_kind::float64; }
    /// An integer or a float.
    bool is_number() const noexcept { return is_integer() || is_float(); }
    bool is_string() const noexcept { return kind() == value_kind::string; }
    bool is_binary() const noexcept { return kind() == value_kind::binary; }
    bool is_array() const noexcept { return kind() == value_kind::array; }
    bool is_map() const noexcept { return kind() == value_kind::map; }
    bool is_bulk() const noexcept { return kind() == value_kind::bulk; }

    /// A pointer to the held T (one of bool, std::int64_t, std::uint64_t, double, std::string,
    /// binary, array, map, bulk), or nullptr if the value holds something else.
    template <class T>
    const T* get_if() const noexcept {
        return std::get_if<T>(&data_);
    }
    template <class T>
    T* get_if() noexcept {
        return std::get_if<T>(&data_);
    }

    SLICERBRIDGE_DECL std::optional<bool> as_bool() const noexcept;
    /// The integer, if the value is one in the range of int64_t.
    SLICERBRIDGE_DECL std::optional<std::int64_t> as_int64() const noexcept;
    /// The integer, if the value is a non-negative one.
    SLICERBRIDGE_DECL std::optional<std::uint64_t> as_uint64() const noexcept;
    /// The number as a double; integers are converted ([HEAD-3]).
    SLICERBRIDGE_DECL std::optional<double> as_double() const noexcept;

    /// The held alternative; std::bad_variant_access if the value holds something else.
    const std::string& as_string() const { return std::get<std::string>(data_); }
    const binary& as_binary() const { return std::get<binary>(data_); }
    const array& as_array() const { return std::get<array>(data_); }
    array& as_array() { return std::get<array>(data_); }
    const map& as_map() const { return std::get<map>(data_); }
    map& as_map() { return std::get<map>(data_); }
    const bulk& as_bulk() const { return std::get<bulk>(data_); }

    /// The value under `key` in a map (the first, should the key repeat), or nullptr if this is
    /// not a map or has no such key.
    SLICERBRIDGE_DECL const value* find(std::string_view key) const noexcept;
    SLICERBRIDGE_DECL value* find(std::string_view key) noexcept;

    /// The value under `key`, appended as nil if absent; a nil value becomes an empty map
    /// first. Throws std::logic_error on anything but a map or nil.
    SLICERBRIDGE_DECL value& operator[](std::string_view key);

    /// Sets `key` to `v`, replacing an existing entry in place or appending one.
    SLICERBRIDGE_DECL value& insert_or_assign(std::string_view key, value v);

    /// Number of elements of an array or entries of a map; 0 for anything else.
    SLICERBRIDGE_DECL std::size_t size() const noexcept;

    friend bool operator==(const value& a, const value& b) { return a.data_ == b.data_; }
    friend bool operator!=(const value& a, const value& b) { return !(a == b); }

private:
    // The decoder builds each node in place (see head_decoder::emplace).
    friend class detail::head_decoder;

    std::variant<std::monostate, bool, std::int64_t, std::uint64_t, double, std::string, binary,
                 array, map, bulk>
        data_;
};

} // namespace slicerbridge

#if defined(SLICERBRIDGE_HEADER_ONLY)
#include <slicerbridge/impl/value.ipp>
#endif

#endif
