#ifndef SLICERBRIDGE_DATA_DTYPE_HPP
#define SLICERBRIDGE_DATA_DTYPE_HPP

// Scalar types and byte orders of typed arrays (spec section 3.3).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <type_traits>

namespace slicerbridge {

enum class dtype : std::uint8_t {
    int8,
    uint8,
    int16,
    uint16,
    int32,
    uint32,
    int64,
    uint64,
    float32,
    float64,
};

/// Bytes per scalar.
constexpr std::size_t dtype_size(dtype t) noexcept {
    switch (t) {
    case dtype::int8:
    case dtype::uint8:
        return 1;
    case dtype::int16:
    case dtype::uint16:
        return 2;
    case dtype::int32:
    case dtype::uint32:
    case dtype::float32:
        return 4;
    case dtype::int64:
    case dtype::uint64:
    case dtype::float64:
        return 8;
    }
    return 0;
}

/// The spec's name, e.g. "float32".
constexpr std::string_view dtype_name(dtype t) noexcept {
    switch (t) {
    case dtype::int8:
        return "int8";
    case dtype::uint8:
        return "uint8";
    case dtype::int16:
        return "int16";
    case dtype::uint16:
        return "uint16";
    case dtype::int32:
        return "int32";
    case dtype::uint32:
        return "uint32";
    case dtype::int64:
        return "int64";
    case dtype::uint64:
        return "uint64";
    case dtype::float32:
        return "float32";
    case dtype::float64:
        return "float64";
    }
    return {};
}

/// The dtype of that name; unknown names are never guessed ([ARRAY-3]).
constexpr std::optional<dtype> dtype_from_name(std::string_view name) noexcept {
    for (auto t : {dtype::int8, dtype::uint8, dtype::int16, dtype::uint16, dtype::int32,
                   dtype::uint32, dtype::int64, dtype::uint64, dtype::float32, dtype::float64}) {
        if (dtype_name(t) == name) {
            return t;
        }
    }
    return std::nullopt;
}

constexpr bool is_integer_dtype(dtype t) noexcept {
    return t != dtype::float32 && t != dtype::float64;
}

/// The dtype of a C++ arithmetic type, e.g. `dtype_of<float> == dtype::float32`.
template <class T>
struct dtype_traits;
template <>
struct dtype_traits<std::int8_t> : std::integral_constant<dtype, dtype::int8> {};
template <>
struct dtype_traits<std::uint8_t> : std::integral_constant<dtype, dtype::uint8> {};
template <>
struct dtype_traits<std::int16_t> : std::integral_constant<dtype, dtype::int16> {};
template <>
struct dtype_traits<std::uint16_t> : std::integral_constant<dtype, dtype::uint16> {};
template <>
struct dtype_traits<std::int32_t> : std::integral_constant<dtype, dtype::int32> {};
template <>
struct dtype_traits<std::uint32_t> : std::integral_constant<dtype, dtype::uint32> {};
template <>
struct dtype_traits<std::int64_t> : std::integral_constant<dtype, dtype::int64> {};
template <>
struct dtype_traits<std::uint64_t> : std::integral_constant<dtype, dtype::uint64> {};
template <>
struct dtype_traits<float> : std::integral_constant<dtype, dtype::float32> {};
template <>
struct dtype_traits<double> : std::integral_constant<dtype, dtype::float64> {};

template <class T>
inline constexpr dtype dtype_of = dtype_traits<std::remove_cv_t<T>>::value;

/// Byte order of multi-byte scalars ([ARRAY-2]).
enum class byte_order : std::uint8_t { little, big };

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
inline constexpr byte_order native_byte_order = byte_order::big;
#else
inline constexpr byte_order native_byte_order = byte_order::little;
#endif

constexpr std::string_view byte_order_name(byte_order order) noexcept {
    return order == byte_order::big ? "big" : "little";
}

constexpr std::optional<byte_order> byte_order_from_name(std::string_view name) noexcept {
    if (name == "little") {
        return byte_order::little;
    }
    if (name == "big") {
        return byte_order::big;
    }
    return std::nullopt;
}

} // namespace slicerbridge

#endif
