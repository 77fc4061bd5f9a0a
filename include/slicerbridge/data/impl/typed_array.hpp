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

} // namespace slicerbridge

#endif
