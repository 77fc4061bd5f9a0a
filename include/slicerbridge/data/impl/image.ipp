#ifndef SLICERBRIDGE_DATA_IMPL_IMAGE_IPP
#define SLICERBRIDGE_DATA_IMPL_IMAGE_IPP

#include <slicerbridge/data/image.hpp>
#include <slicerbridge/data/impl/typed_array.ipp> // its detail helpers

namespace slicerbridge {

SLICERBRIDGE_DECL std::optional<std::uint64_t> image::voxel_count() const noexcept {
    auto count = detail::checked_multiply(dims[0], dims[1]);
    return count ? detail::checked_multiply(*count, dims[2]) : std::nullopt;
}

SLICERBRIDGE_DECL std::optional<std::uint64_t> image::byte_count() const noexcept {
    auto count = voxel_count();
    if (count) {
        count = detail::checked_multiply(*count, components);
    }
    return count ? detail::checked_multiply(*count, dtype_size(dtype)) : std::nullopt;
}

namespace detail {

/// [IMG-2]: finite, last row [0, 0, 0, 1], and |det| of the upper 3x3 above 1e-12 times the
/// product of its column lengths.
SLICERBRIDGE_DECL bool check_ijk_to_space(field_reader& reader, std::string_view field,
                                          const matrix4& m) {
    if (!is_affine(m)) {
        return reader.fail(field, "last row must be [0, 0, 0, 1] and entries finite");
    }
    const double determinant = linear_determinant(m);
    double column_lengths = 1.0;
    for (int column = 0; column < 3; ++column) {
        column_lengths *= std::hypot(m[column], m[4 + column], m[8 + column]);
    }
    if (!std::isfinite(determinant) || !(std::fabs(determinant) > 1e-12 * column_lengths)) {
        return reader.fail(field, "upper 3x3 is not invertible");
    }
    return true;
}

/// [IMG-4] and [IMG-6]: components per kind, integer labels, segments of label data only with
/// unique values and colours in [0, 1]. `noun` is "images" or "series".
SLICERBRIDGE_DECL bool check_voxel_kind(field_reader& reader, std::string_view noun,
                                        image_kind kind, std::uint32_t components,
                                        slicerbridge::dtype dtype,
                                        const std::vector<segment>& segments) {
    if (components < 1) {
        return reader.fail("components", "must be >= 1");
    }
    if (kind != image_kind::vector && components != 1) {
        return reader.fail("components",
                           "scalar and label " + std::string(noun) + " have one component");
    }
    if (kind == image_kind::label && !is_integer_dtype(dtype)) {
        return reader.fail("dtype", "label " + std::string(noun) + " have an integer dtype");
    }
    if (!segments.empty() && kind != image_kind::label) {
        return reader.fail("segments", "only label " + std::string(noun) + " have segments");
    }
    std::unordered_set<std::int64_t> values;
    for (const auto& s : segments) {
        if (!values.insert(s.value).second) {
            return reader.fail("segments", "segment values must be unique");
        }
        for (double c : s.color) {
            if (!(c >= 0 && c <= 1)) {
                return reader.fail("segments", "color components must lie in [0, 1]");
            }
        }
    }
    return true;
}

/// `dims`: exactly three integers.
SLICERBRIDGE_DECL bool read_dims(field_reader& reader, const value& v,
                                 std::array<std::uint64_t, 3>& out) {
    const auto* dims = reader.read_array(v, "dims", true);
    if (dims == nullptr) {
        return false;
    }
    if (dims->size() != 3) {
        return reader.fail("dims", "expected 3 integers");
    }
    for (std::size_t i = 0; i < 3; ++i) {
        if (!reader.to_uint((*dims)[i], "dims", out[i])) {
            return false;
        }
    }
    return true;
}

SLICERBRIDGE_DECL bool read_image_kind(field_reader& reader, const value& v, image_kind& out) {
    std::string kind_text;
    if (!reader.read_string(v, "kind", kind_text)) {
        return false;
    }
    const auto kind = image_kind_from_name(kind_text);
    if (!kind) {
        return reader.fail("kind", "expected \"scalar\", \"label\" or \"vector\"");
    }
    out = *kind;
    return true;
}

/// The optional `segments` array.
SLICERBRIDGE_DECL bool read_segments(field_reader& reader, const value& v,
                                     std::vector<segment>& out) {
    const auto* segments = reader.read_array(v, "segments", false);
    if (segments == nullptr) {
        return reader.ok();
    }
    auto segment_reader = reader.nested("segments");
    for (const auto& entry : *segments) {
        segment s;
        if (!segment_reader.expect_map(entry)) {
            return false;
        }
        const value* label_value = segment_reader.get(entry, "value", true);
        if (label_value == nullptr || !segment_reader.to_int(*label_value, "value", s.value) ||
            !segment_reader.read_string(entry, "name", s.name) ||
            !segment_reader.read_doubles(entry, "color", s.color)) {
            return false;
        }
        out.push_back(std::move(s));
    }
    return true;
}

SLICERBRIDGE_DECL void write_segments(value::map& entries, const std::vector<segment>& segments) {
    if (segments.empty()) {
        return;
    }
    value::array written;
    for (const auto& s : segments) {
        written.push_back(value::map{
            {"value", s.value},
            {"name", s.name},
            {"color", value::array{s.color[0], s.color[1], s.color[2]}},
        });
    }
    entries.emplace_back("segments", std::move(written));
}

} // namespace detail

SLICERBRIDGE_DECL std::error_code image::validate(std::string& what) const {
    std::error_code ec;
    detail::field_reader reader(ec, what, error::invalid_argument, "image");
    if (!detail::check_ijk_to_space(reader, "ijk_to_space", ijk_to_space) ||
        !detail::check_voxel_kind(reader, "images", kind, components, dtype, segments)) {
        return ec;
    }
    const auto expected = byte_count();
    if (!expected) {
        reader.fail("dims", "voxel byte count overflows");
        return ec;
    }
    if (*expected != data.size()) {
        reader.fail("data", "length " + std::to_string(data.size()) + " does not match dims " +
                                "(expected " + std::to_string(*expected) + " bytes)");
    }
    return ec;
}

SLICERBRIDGE_DECL std::error_code image::validate() const {
    std::string what;
    return validate(what);
}

SLICERBRIDGE_DECL image image::in_space(slicerbridge::space target) const {
    image result = *this;
    if (target != space) {
        result.ijk_to_space = detail::flip_rows_xy(ijk_to_space);
        result.space = target;
    }
    return result;
}

SLICERBRIDGE_DECL image image::to_native_byte_order() const {
    if (byte_order == native_byte_order) {
        return *this;
    }
    image result = *this;
    typed_array array{dtype, components, byte_order, data};
    result.data = array.to_native_byte_order().data;
    result.byte_order = native_byte_order;
    return result;
}

SLICERBRIDGE_DECL image image::allocate(std::array<std::uint64_t, 3> dims, slicerbridge::dtype type,
                                        std::uint32_t components) {
    image result;
    result.dims = dims;
    result.dtype = type;
    result.components = components;
    result.kind = components == 1 ? image_kind::scalar : image_kind::vector;
    const auto bytes = result.byte_count();
    if (!bytes || *bytes > std::numeric_limits<std::size_t>::max()) {
        throw std::length_error("slicerbridge::image::allocate: image too large");
    }
    result.data = buffer::allocate(static_cast<std::size_t>(*bytes));
    return result;
}

SLICERBRIDGE_DECL image image::from_value(const value& v, std::error_code& ec, std::string& what) {
    ec.clear();
    detail::field_reader reader(ec, what, error::invalid_argument, "image");
    image result;
    if (!detail::expect_type(reader, v, "image")) {
        return image();
    }
    if (!detail::read_dims(reader, v, result.dims)) {
        return image();
    }
    typed_array voxels;
    if (!detail::read_typed_array(reader, v, voxels) ||
        !reader.read_doubles(v, "ijk_to_space", result.ijk_to_space) ||
        !detail::read_space(reader, v, result.space)) {
        return image();
    }
    result.dtype = voxels.dtype;
    result.components = voxels.components;
    result.byte_order = voxels.byte_order;
    result.data = voxels.data;
    if (!detail::read_image_kind(reader, v, result.kind) ||
        !detail::read_segments(reader, v, result.segments)) {
        return image();
    }
    if (!reader.ok()) {
        return image();
    }
    if (auto invalid = result.validate(what)) {
        ec = invalid;
        return image();
    }
    return result;
}

SLICERBRIDGE_DECL image image::from_value(const value& v, std::error_code& ec) {
    std::string what;
    return from_value(v, ec, what);
}

SLICERBRIDGE_DECL value to_value(const image& img) {
    value::map entries;
    entries.reserve(16); // all fields at once (GCC 12 at -O3 also warns, falsely, on regrowth)
    entries.emplace_back("type", "image");
    entries.emplace_back("dims", value::array{img.dims[0], img.dims[1], img.dims[2]});
    detail::write_typed_array(entries,
                              typed_array{img.dtype, img.components, img.byte_order, img.data});
    entries.emplace_back("ijk_to_space", detail::matrix_to_value(img.ijk_to_space));
    entries.emplace_back("space", std::string(space_name(img.space)));
    entries.emplace_back("kind", std::string(image_kind_name(img.kind)));
    detail::write_segments(entries, img.segments);
    return entries;
}

} // namespace slicerbridge

#endif
