#ifndef SLICERBRIDGE_DATA_IMPL_IMAGE_HPP
#define SLICERBRIDGE_DATA_IMPL_IMAGE_HPP

#include <slicerbridge/data/typed_array.hpp>
#include <slicerbridge/detail/data_fields.hpp>
#include <slicerbridge/detail/field_reader.hpp>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <unordered_set>

namespace slicerbridge {

template <class T>
const T* image::voxels() const noexcept {
    return typed_array{dtype, components, byte_order, data}.values<T>();
}

template <class T>
T* image::mutable_voxels() noexcept {
    if (dtype != dtype_of<T> || byte_order != native_byte_order) {
        return nullptr;
    }
    return reinterpret_cast<T*>(data.mutable_data());
}

template <class T>
image image::adopt(std::vector<T>&& voxels, std::array<std::uint64_t, 3> dims,
                   const matrix4& ijk_to_space, slicerbridge::space space, image_kind kind,
                   std::uint32_t components) {
    image result;
    result.dims = dims;
    result.dtype = dtype_of<T>;
    result.components = components;
    result.ijk_to_space = ijk_to_space;
    result.space = space;
    result.kind = kind;
    const auto count = result.voxel_count();
    if (!count || detail::checked_multiply(*count, components) != voxels.size()) {
        throw std::invalid_argument("slicerbridge::image::adopt: voxel count does not match dims");
    }
    result.data = buffer::adopt(std::move(voxels));
    return result;
}

template <class T>
image image::copy_of(const T* voxels, std::array<std::uint64_t, 3> dims,
                     const matrix4& ijk_to_space, slicerbridge::space space, image_kind kind,
                     std::uint32_t components) {
    image result;
    result.dims = dims;
    result.dtype = dtype_of<T>;
    result.components = components;
    result.ijk_to_space = ijk_to_space;
    result.space = space;
    result.kind = kind;
    const auto bytes = result.byte_count();
    if (!bytes || *bytes > std::numeric_limits<std::size_t>::max()) {
        throw std::length_error("slicerbridge::image::copy_of: image too large");
    }
    result.data = buffer::copy_of(voxels, static_cast<std::size_t>(*bytes));
    return result;
}

} // namespace slicerbridge

#endif
