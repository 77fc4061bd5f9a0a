#ifndef SLICERBRIDGE_DATA_IMPL_IMAGE_SERIES_IPP
#define SLICERBRIDGE_DATA_IMPL_IMAGE_SERIES_IPP

#include <slicerbridge/data/image_series.hpp>
#include <slicerbridge/data/impl/typed_array.ipp> // its detail helpers

#include <slicerbridge/data/typed_array.hpp>
#include <slicerbridge/detail/data_fields.hpp>
#include <slicerbridge/detail/field_reader.hpp>

#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>

namespace slicerbridge {

SLICERBRIDGE_DECL std::optional<std::uint64_t> image_series::volume_byte_count() const noexcept {
    std::optional<std::uint64_t> count = dims[0];
    for (std::uint64_t factor :
         {dims[1], dims[2], std::uint64_t{components}, std::uint64_t{dtype_size(dtype)}}) {
        count = count ? detail::checked_multiply(*count, factor) : std::nullopt;
    }
    return count;
}

SLICERBRIDGE_DECL std::optional<std::uint64_t> image_series::byte_count() const noexcept {
    const auto count = volume_byte_count();
    return count ? detail::checked_multiply(*count, volumes.size()) : std::nullopt;
}

SLICERBRIDGE_DECL bool image_series::shares_geometry() const noexcept {
    for (const auto& v : volumes) {
        if (v.ijk_to_space != volumes.front().ijk_to_space) {
            return false;
        }
    }
    return true;
}

namespace detail {

/// [SER-3]: finite values in the order their axis requires.
SLICERBRIDGE_DECL bool check_axis_values(field_reader& reader, series_axis axis,
                                         const std::vector<series_volume>& volumes) {
    const bool increasing = axis != series_axis::b_value;
    for (std::size_t v = 0; v < volumes.size(); ++v) {
        const double value = volumes[v].value;
        if (!std::isfinite(value)) {
            return reader.fail("volumes", "axis values must be finite");
        }
        if (increasing && v > 0 && !(value > volumes[v - 1].value)) {
            return reader.fail("volumes", std::string(series_axis_name(axis)) +
                                              " values must be strictly increasing");
        }
        if (axis == series_axis::echo_time && !(value > 0)) {
            return reader.fail("volumes", "echo times must be > 0");
        }
        if (axis == series_axis::b_value && !(value >= 0)) {
            return reader.fail("volumes", "b-values must be >= 0");
        }
    }
    return true;
}

/// [SER-4]: a unit gradient (or zero at b = 0) on every volume of a b_value series, none
/// elsewhere.
SLICERBRIDGE_DECL bool check_gradients(field_reader& reader, series_axis axis,
                                       const std::vector<series_volume>& volumes) {
    for (const auto& v : volumes) {
        if (v.gradient.has_value() != (axis == series_axis::b_value)) {
            return reader.fail("volumes", "a gradient belongs to every volume of a b_value "
                                          "series and to no other volume");
        }
        if (!v.gradient) {
            continue;
        }
        const auto& g = *v.gradient;
        const double length = std::sqrt(g[0] * g[0] + g[1] * g[1] + g[2] * g[2]);
        const bool zero_at_b0 = length == 0 && v.value == 0;
        if (!zero_at_b0 && !(std::fabs(length - 1) <= 1e-6)) {
            return reader.fail("volumes", "a gradient must have unit length (or be zero at b = 0)");
        }
    }
    return true;
}

} // namespace detail

SLICERBRIDGE_DECL std::error_code image_series::validate(std::string& what) const {
    std::error_code ec;
    detail::field_reader reader(ec, what, error::invalid_argument, "image_series");
    if (volumes.empty()) {
        reader.fail("volumes", "a series holds at least one volume");
        return ec;
    }
    auto volume_reader = reader.nested("volumes");
    for (const auto& v : volumes) {
        if (!detail::check_ijk_to_space(volume_reader, "ijk_to_space", v.ijk_to_space)) {
            return ec;
        }
    }
    if (!detail::check_axis_values(reader, axis, volumes) ||
        !detail::check_gradients(reader, axis, volumes) ||
        !detail::check_voxel_kind(reader, "series", kind, components, dtype, segments)) {
        return ec;
    }
    const auto expected = byte_count();
    if (!expected) {
        reader.fail("dims", "voxel byte count overflows");
        return ec;
    }
    if (*expected != data.size()) {
        reader.fail("data", "length " + std::to_string(data.size()) + " does not match dims " +
                                "and volumes (expected " + std::to_string(*expected) + " bytes)");
    }
    return ec;
}

SLICERBRIDGE_DECL std::error_code image_series::validate() const {
    std::string what;
    return validate(what);
}

SLICERBRIDGE_DECL image_series image_series::in_space(slicerbridge::space target) const {
    image_series result = *this;
    if (target == space) {
        return result;
    }
    result.space = target;
    for (auto& v : result.volumes) {
        v.ijk_to_space = detail::flip_rows_xy(v.ijk_to_space);
        if (v.gradient) {
            (*v.gradient)[0] = detail::negate((*v.gradient)[0]);
            (*v.gradient)[1] = detail::negate((*v.gradient)[1]);
        }
    }
    return result;
}

SLICERBRIDGE_DECL image_series image_series::to_native_byte_order() const {
    if (byte_order == native_byte_order) {
        return *this;
    }
    image_series result = *this;
    typed_array array{dtype, components, byte_order, data};
    result.data = array.to_native_byte_order().data;
    result.byte_order = native_byte_order;
    return result;
}

SLICERBRIDGE_DECL image image_series::volume(std::size_t v) const {
    const auto bytes = volume_byte_count();
    if (v >= volumes.size() || !bytes || byte_count() != data.size()) {
        throw std::out_of_range("slicerbridge::image_series::volume: no such volume");
    }
    const auto size = static_cast<std::size_t>(*bytes);
    image result;
    result.dims = dims;
    result.dtype = dtype;
    result.components = components;
    result.byte_order = byte_order;
    result.ijk_to_space = volumes[v].ijk_to_space;
    result.space = space;
    result.kind = kind;
    result.segments = segments;
    result.data = data.slice(v * size, size);
    return result;
}

SLICERBRIDGE_DECL image_series image_series::from_volumes(const std::vector<image>& images,
                                                          series_axis axis,
                                                          const std::vector<double>& values) {
    if (images.empty() || values.size() != images.size()) {
        throw std::invalid_argument(
            "slicerbridge::image_series::from_volumes: one value per volume, at least one");
    }
    const image& first = images.front();
    image_series result;
    result.dims = first.dims;
    result.dtype = first.dtype;
    result.components = first.components;
    result.byte_order = first.byte_order;
    result.space = first.space;
    result.kind = first.kind;
    result.segments = first.segments;
    result.axis = axis;
    for (const auto& img : images) {
        if (img.dims != first.dims || img.dtype != first.dtype ||
            img.components != first.components || img.byte_order != first.byte_order ||
            img.space != first.space || img.kind != first.kind ||
            img.data.size() != first.data.size()) {
            throw std::invalid_argument("slicerbridge::image_series::from_volumes: volumes "
                                        "differ in dims, dtype, components, order, space or kind");
        }
    }
    const std::size_t size = first.data.size();
    if (size != 0 && images.size() > std::numeric_limits<std::size_t>::max() / size) {
        throw std::length_error("slicerbridge::image_series::from_volumes: series too large");
    }
    result.data = buffer::allocate(size * images.size());
    for (std::size_t v = 0; v < images.size(); ++v) {
        if (size != 0) {
            std::memcpy(result.data.mutable_data() + v * size, images[v].data.data(), size);
        }
        result.volumes.push_back(series_volume{images[v].ijk_to_space, values[v], std::nullopt});
    }
    return result;
}

SLICERBRIDGE_DECL image_series image_series::from_value(const value& v, std::error_code& ec,
                                                        std::string& what) {
    ec.clear();
    detail::field_reader reader(ec, what, error::invalid_argument, "image_series");
    image_series result;
    typed_array voxels;
    std::string axis_text;
    if (!detail::expect_type(reader, v, "image_series") ||
        !detail::read_dims(reader, v, result.dims) ||
        !detail::read_typed_array(reader, v, voxels) ||
        !detail::read_space(reader, v, result.space) ||
        !detail::read_image_kind(reader, v, result.kind) ||
        !detail::read_segments(reader, v, result.segments) ||
        !reader.read_string(v, "axis", axis_text)) {
        return image_series();
    }
    result.dtype = voxels.dtype;
    result.components = voxels.components;
    result.byte_order = voxels.byte_order;
    result.data = voxels.data;
    const auto axis = series_axis_from_name(axis_text);
    if (!axis) {
        reader.fail("axis", "expected \"time\", \"echo_time\", \"b_value\" or \"index\"");
        return image_series();
    }
    result.axis = *axis;
    const auto* volumes = reader.read_array(v, "volumes", true);
    if (volumes == nullptr) {
        return image_series();
    }
    auto volume_reader = reader.nested("volumes");
    result.volumes.reserve(volumes->size());
    for (const auto& entry : *volumes) {
        series_volume volume;
        std::array<double, 3> gradient{};
        const bool has_gradient = entry.is_map() && entry.find("gradient") != nullptr;
        if (!volume_reader.expect_map(entry) ||
            !volume_reader.read_doubles(entry, "ijk_to_space", volume.ijk_to_space) ||
            !volume_reader.read_double(entry, "value", volume.value) ||
            !volume_reader.read_doubles(entry, "gradient", gradient, false)) {
            return image_series();
        }
        if (has_gradient) {
            volume.gradient = gradient;
        }
        result.volumes.push_back(volume);
    }
    if (auto invalid = result.validate(what)) {
        ec = invalid;
        return image_series();
    }
    return result;
}

SLICERBRIDGE_DECL image_series image_series::from_value(const value& v, std::error_code& ec) {
    std::string what;
    return from_value(v, ec, what);
}

SLICERBRIDGE_DECL value to_value(const image_series& series) {
    value::map entries;
    entries.reserve(16); // all fields at once (GCC 12 at -O3 also warns, falsely, on regrowth)
    entries.emplace_back("type", "image_series");
    entries.emplace_back("dims", value::array{series.dims[0], series.dims[1], series.dims[2]});
    detail::write_typed_array(
        entries, typed_array{series.dtype, series.components, series.byte_order, series.data});
    entries.emplace_back("space", std::string(space_name(series.space)));
    entries.emplace_back("kind", std::string(image_kind_name(series.kind)));
    detail::write_segments(entries, series.segments);
    entries.emplace_back("axis", std::string(series_axis_name(series.axis)));
    value::array volumes;
    volumes.reserve(series.volumes.size());
    for (const auto& v : series.volumes) {
        value::map volume{{"ijk_to_space", detail::matrix_to_value(v.ijk_to_space)},
                          {"value", v.value}};
        if (v.gradient) {
            const auto& g = *v.gradient;
            volume.emplace_back("gradient", value::array{g[0], g[1], g[2]});
        }
        volumes.push_back(std::move(volume));
    }
    entries.emplace_back("volumes", std::move(volumes));
    return entries;
}

} // namespace slicerbridge

#endif
