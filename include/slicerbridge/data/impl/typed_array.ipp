#ifndef SLICERBRIDGE_DATA_IMPL_TYPED_ARRAY_IPP
#define SLICERBRIDGE_DATA_IMPL_TYPED_ARRAY_IPP

#include <slicerbridge/data/typed_array.hpp>

namespace slicerbridge {
namespace detail {

/// Reverses the bytes of every `size`-byte scalar in `bytes`.
SLICERBRIDGE_DECL void swap_scalars(std::byte* bytes, std::size_t total,
                                    std::size_t size) noexcept {
    if (size < 2) {
        return;
    }
    for (std::size_t offset = 0; offset + size <= total; offset += size) {
        std::reverse(bytes + offset, bytes + offset + size);
    }
}

/// Reads the typed-array keys of `map` (which may carry more keys, such as `name`) and checks
/// that the data holds whole elements.
SLICERBRIDGE_DECL bool read_typed_array(field_reader& reader, const value& map, typed_array& out) {
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

SLICERBRIDGE_DECL void write_typed_array(value::map& entries, const typed_array& array) {
    entries.emplace_back("dtype", std::string(dtype_name(array.dtype)));
    entries.emplace_back("components", array.components);
    entries.emplace_back("byte_order", std::string(byte_order_name(array.byte_order)));
    entries.emplace_back("data", array.data);
}

/// Checks that an array holds exactly `expected` elements ([ARRAY-1]).
SLICERBRIDGE_DECL bool expect_count(field_reader& reader, std::string_view field,
                                    const typed_array& array, std::uint64_t expected) {
    if (array.count() != expected) {
        return reader.fail(field, "expected " + std::to_string(expected) + " elements, found " +
                                      std::to_string(array.count()));
    }
    return true;
}

SLICERBRIDGE_DECL typed_array points_in_other_space(const typed_array& points) {
    typed_array result = points;
    result.data =
        points.dtype == dtype::float32 ? negate_xy<float>(points) : negate_xy<double>(points);
    return result;
}

} // namespace detail

SLICERBRIDGE_DECL typed_array typed_array::to_native_byte_order() const {
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

SLICERBRIDGE_DECL typed_array typed_array::from_value(const value& v, std::error_code& ec,
                                                      std::string& what) {
    ec.clear();
    detail::field_reader reader(ec, what, error::invalid_argument, "typed_array");
    typed_array result;
    if (!reader.expect_map(v) || !detail::read_typed_array(reader, v, result)) {
        return typed_array();
    }
    return result;
}

SLICERBRIDGE_DECL typed_array typed_array::from_value(const value& v, std::error_code& ec) {
    std::string what;
    return from_value(v, ec, what);
}

SLICERBRIDGE_DECL value to_value(const typed_array& array) {
    value::map entries;
    detail::write_typed_array(entries, array);
    return entries;
}

} // namespace slicerbridge

#endif
