#ifndef SLICERBRIDGE_DATA_IMAGE_SERIES_HPP
#define SLICERBRIDGE_DATA_IMAGE_SERIES_HPP

// Image series (spec section 11.7, version 1.1): 3-D volumes along a fourth axis (time,
// echo time, b-value or an index), each with its own geometry.

#include <slicerbridge/buffer.hpp>
#include <slicerbridge/data/dtype.hpp>
#include <slicerbridge/data/image.hpp>
#include <slicerbridge/data/space.hpp>
#include <slicerbridge/detail/config.hpp>
#include <slicerbridge/error.hpp>
#include <slicerbridge/value.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace slicerbridge {

/// What the fourth axis measures, and so the unit of its values ([SER-3]).
enum class series_axis : std::uint8_t {
    time,      ///< seconds, strictly increasing
    echo_time, ///< seconds, > 0, strictly increasing
    b_value,   ///< s/mm^2, >= 0, any order; every volume has a gradient ([SER-4])
    index,     ///< no unit, strictly increasing
};

constexpr std::string_view series_axis_name(series_axis a) noexcept {
    switch (a) {
    case series_axis::echo_time:
        return "echo_time";
    case series_axis::b_value:
        return "b_value";
    case series_axis::index:
        return "index";
    case series_axis::time:
        break;
    }
    return "time";
}

constexpr std::optional<series_axis> series_axis_from_name(std::string_view name) noexcept {
    if (name == "time") {
        return series_axis::time;
    }
    if (name == "echo_time") {
        return series_axis::echo_time;
    }
    if (name == "b_value") {
        return series_axis::b_value;
    }
    if (name == "index") {
        return series_axis::index;
    }
    return std::nullopt;
}

/// One volume of a series: its geometry, its position on the axis and, in b_value series
/// only, its gradient direction in the series' space.
struct series_volume {
    matrix4 ijk_to_space = identity_matrix;
    double value = 0;
    std::optional<std::array<double, 3>> gradient;

    friend bool operator==(const series_volume& a, const series_volume& b) noexcept {
        return a.ijk_to_space == b.ijk_to_space && a.value == b.value && a.gradient == b.gradient;
    }
    friend bool operator!=(const series_volume& a, const series_volume& b) noexcept {
        return !(a == b);
    }
};

/// A series of volumes of one dims, dtype and kind. Voxel (i, j, k) of volume v starts at
/// element i + dims[0] * (j + dims[1] * (k + dims[2] * v)) ([SER-1]).
struct image_series {
    std::array<std::uint64_t, 3> dims{};
    slicerbridge::dtype dtype = slicerbridge::dtype::uint8;
    std::uint32_t components = 1;
    slicerbridge::byte_order byte_order = slicerbridge::native_byte_order;
    slicerbridge::space space = slicerbridge::space::ras;
    image_kind kind = image_kind::scalar;
    /// Label series only.
    std::vector<segment> segments;
    series_axis axis = series_axis::time;
    /// At least one; in the order of the volumes in `data`.
    std::vector<series_volume> volumes;
    buffer data;

    /// Bytes of one volume, or nothing if that overflows 64 bits.
    SLICERBRIDGE_DECL std::optional<std::uint64_t> volume_byte_count() const noexcept;

    /// volume_byte_count() * number of volumes, or nothing if that overflows ([SER-1]).
    SLICERBRIDGE_DECL std::optional<std::uint64_t> byte_count() const noexcept;

    /// True when every volume has the same matrix, element for element: only then may the
    /// series be held with one geometry (a 4-D NIfTI, a MultiVolume node, [SER-2]).
    SLICERBRIDGE_DECL bool shares_geometry() const noexcept;

    /// Checks [SER-1] (volumes, data length), [SER-2] (each matrix as [IMG-2]), [SER-3] (axis
    /// values), [SER-4] (gradients) and [SER-5] (kind, components, segments). Errors are
    /// `invalid_argument`; `what` names the field.
    SLICERBRIDGE_DECL std::error_code validate() const;
    SLICERBRIDGE_DECL std::error_code validate(std::string& what) const;

    /// The same series with every matrix and gradient expressed in `target` ([SER-5]). Voxels
    /// are shared, never altered.
    SLICERBRIDGE_DECL image_series in_space(slicerbridge::space target) const;

    /// The same voxels in native byte order (a swapped copy if needed).
    SLICERBRIDGE_DECL image_series to_native_byte_order() const;

    /// Volume `v` as an image, sharing the voxels. Precondition: the series is valid and
    /// v < volumes.size(); throws std::out_of_range otherwise.
    SLICERBRIDGE_DECL image volume(std::size_t v) const;

    /// A series of `volumes`, which must all have the dims, dtype, components, byte order,
    /// space and kind of the first one; their voxels are copied into one buffer. Throws
    /// std::invalid_argument if they differ or if `values` does not hold one per volume.
    SLICERBRIDGE_DECL static image_series from_volumes(const std::vector<image>& volumes,
                                                       series_axis axis,
                                                       const std::vector<double>& values);

    /// Reads and validates an image_series data value. Errors are `invalid_argument`.
    SLICERBRIDGE_DECL static image_series from_value(const value& v, std::error_code& ec);
    SLICERBRIDGE_DECL static image_series from_value(const value& v, std::error_code& ec,
                                                     std::string& what);

    friend bool operator==(const image_series& a, const image_series& b) noexcept {
        return a.dims == b.dims && a.dtype == b.dtype && a.components == b.components &&
               a.byte_order == b.byte_order && a.space == b.space && a.kind == b.kind &&
               a.segments == b.segments && a.axis == b.axis && a.volumes == b.volumes &&
               a.data == b.data;
    }
    friend bool operator!=(const image_series& a, const image_series& b) noexcept {
        return !(a == b);
    }
};

/// The series as a data value, `{type: "image_series", ...}`.
SLICERBRIDGE_DECL value to_value(const image_series& series);

} // namespace slicerbridge

#if defined(SLICERBRIDGE_HEADER_ONLY)
#include <slicerbridge/data/impl/image_series.ipp>
#endif

#endif
