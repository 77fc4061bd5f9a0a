#ifndef SLICERBRIDGE_DATA_IMPL_TYPED_ARRAY_HPP
#define SLICERBRIDGE_DATA_IMPL_TYPED_ARRAY_HPP

#include <slicerbridge/data/space.hpp>
#include <slicerbridge/detail/field_reader.hpp>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>

namespace slicerbridge {
namespace detail {

/// Reverses the bytes of every `size`-byte scalar in `bytes`.
inline void swap_scalars(std::byte* bytes, std::size_t total, std::size_t size) noexcept {
    if (size < 2) {
        return;
    }
    for (std::size_t offset = 0; offset + size <= total; offset += size) {
        std::reverse(bytes + offset, bytes + offset + size);
    }
}

/// Reads the typed-array keys of `map` (which may carry more keys, such as `name`) and checks
/// that the data holds whole elements.
inline bool read_typed_array(field_reader& reader, const value& map, typed_array& out) {
    std::string dtype_text;
    if (!reader.read_string(map, "dtype", dtype_text)) {
        return false;
    }
    const auto type = dtype_from_name(dtype_text);
    if (!type) {
        return reader.fail("dtype", "unknown dtype");
    }
    std::uint64_t components = 1;
    if (!reader.read_uint(map, "components", components, 1,
                          std::numeric_limits<std::uint32_t>::max(), false)) {
        return false;
    }
    std::string order_text = "little";
    if (!reader.read_string(map, "byte_order", order_text, false)) {
        return false;
    }
    const auto order = byte_order_from_name(order_text);
    if (!order) {
        return reader.fail("byte_order", "expected \"little\" or \"big\"");
    }
    const value* data = reader.get(map, "data", true);
    if (data == nullptr) {
        return false;
    }
    const auto* segment = data->get_if<bulk>();
    if (segment == nullptr) {
        return reader.fail("data", "expected a bulk reference");
    }
    out.dtype = *type;
    out.components = static_cast<std::uint32_t>(components);
    out.byte_order = *order;
    out.data = segment->data;
    if (out.data.size() % out.element_size() != 0) {
        return reader.fail("data", "length is not a whole number of elements");
    }
    // A segment need not be aligned ([BULK-2] is a SHOULD); values<T>() and voxels<T>() hand out
    // T pointers, so a misaligned one is copied into aligned storage.
    if (reinterpret_cast<std::uintptr_t>(out.data.data()) % dtype_size(out.dtype) != 0) {
        out.data = buffer::copy_of(out.data.data(), out.data.size());
    }
    return true;
}

inline void write_typed_array(value::map& entries, const typed_array& array) {
    entries.emplace_back("dtype", std::string(dtype_name(array.dtype)));
    entries.emplace_back("components", array.components);
    entries.emplace_back("byte_order", std::string(byte_order_name(array.byte_order)));
    entries.emplace_back("data", array.data);
}

/// Checks that an array holds exactly `expected` elements ([ARRAY-1]).
inline bool expect_count(field_reader& reader, std::string_view field, const typed_array& array,
                         std::uint64_t expected) {
    if (array.count() != expected) {
        return reader.fail(field, "expected " + std::to_string(expected) + " elements, found " +
                                      std::to_string(array.count()));
    }
    return true;
}

/// Negates x and y of every 3-component point, in the array's own dtype and byte order.
template <class Float>
buffer negate_xy(const typed_array& points) {
    buffer out = buffer::copy_of(points.data.data(), points.data.size());
    const std::size_t count = static_cast<std::size_t>(points.count());
    std::byte* bytes = out.mutable_data();
    for (std::size_t i = 0; i < count; ++i) {
        for (std::size_t axis = 0; axis < 2; ++axis) {
            const std::size_t index = i * 3 + axis;
            Float coordinate = points.scalar<Float>(index);
            coordinate = static_cast<Float>(negate(static_cast<double>(coordinate)));
            std::byte scalar[sizeof(Float)];
            std::memcpy(scalar, &coordinate, sizeof(Float));
            if (points.byte_order != native_byte_order) {
                std::reverse(scalar, scalar + sizeof(Float));
            }
            std::memcpy(bytes + index * sizeof(Float), scalar, sizeof(Float));
        }
    }
    return out;
}

inline typed_array points_in_other_space(const typed_array& points) {
    typed_array result = points;
    result.data =
        points.dtype == dtype::float32 ? negate_xy<float>(points) : negate_xy<double>(points);
    return result;
}

} // namespace detail

template <class T>
T typed_array::scalar(std::size_t index) const noexcept {
    static_assert(std::is_arithmetic_v<T>, "typed_array::scalar needs an arithmetic type");
    T result{};
    std::byte bytes[sizeof(T)];
    std::memcpy(bytes, data.data() + index * sizeof(T), sizeof(T));
    if (byte_order != native_byte_order) {
        std::reverse(bytes, bytes + sizeof(T));
    }
    std::memcpy(&result, bytes, sizeof(T));
    return result;
}

template <class T>
const T* typed_array::values() const noexcept {
    if (dtype != dtype_of<T> || (sizeof(T) > 1 && byte_order != native_byte_order)) {
        return nullptr;
    }
    return reinterpret_cast<const T*>(data.data());
}

inline typed_array typed_array::to_native_byte_order() const {
    if (byte_order == native_byte_order) {
        return *this;
    }
    typed_array result = *this;
    result.byte_order = native_byte_order;
    if (dtype_size(dtype) > 1) {
        result.data = buffer::copy_of(data.data(), data.size());
        detail::swap_scalars(result.data.mutable_data(), result.data.size(), dtype_size(dtype));
    }
    return result;
}

template <class T>
typed_array typed_array::adopt(std::vector<T>&& values, std::uint32_t components) {
    typed_array result;
    result.dtype = dtype_of<T>;
    result.components = components;
    result.byte_order = native_byte_order;
    result.data = buffer::adopt(std::move(values));
    return result;
}

template <class T>
typed_array typed_array::copy_of(const T* values, std::size_t count, std::uint32_t components) {
    typed_array result;
    result.dtype = dtype_of<T>;
    result.components = components;
    result.byte_order = native_byte_order;
    result.data = buffer::copy_of(values, count * components * sizeof(T));
    return result;
}

inline typed_array typed_array::from_value(const value& v, std::error_code& ec, std::string& what) {
    ec.clear();
    detail::field_reader reader(ec, what, error::invalid_argument, "typed_array");
    typed_array result;
    if (!reader.expect_map(v) || !detail::read_typed_array(reader, v, result)) {
        return typed_array();
    }
    return result;
}

inline typed_array typed_array::from_value(const value& v, std::error_code& ec) {
    std::string what;
    return from_value(v, ec, what);
}

inline value to_value(const typed_array& array) {
    value::map entries;
    detail::write_typed_array(entries, array);
    return entries;
}

} // namespace slicerbridge

#endif
