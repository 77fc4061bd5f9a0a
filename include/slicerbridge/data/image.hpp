#ifndef SLICERBRIDGE_DATA_IMAGE_HPP
#define SLICERBRIDGE_DATA_IMAGE_HPP

// Images (spec section 11.1): voxels with exact geometry.

#include <slicerbridge/buffer.hpp>
#include <slicerbridge/data/dtype.hpp>
#include <slicerbridge/data/space.hpp>
#include <slicerbridge/detail/config.hpp>
#include <slicerbridge/error.hpp>
#include <slicerbridge/value.hpp>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace slicerbridge {

/// How voxels are to be read.
enum class image_kind : std::uint8_t { scalar, label, vector };

constexpr std::string_view image_kind_name(image_kind k) noexcept {
    switch (k) {
    case image_kind::label:
        return "label";
    case image_kind::vector:
        return "vector";
    case image_kind::scalar:
        break;
    }
    return "scalar";
}

constexpr std::optional<image_kind> image_kind_from_name(std::string_view name) noexcept {
    if (name == "scalar") {
        return image_kind::scalar;
    }
    if (name == "label") {
        return image_kind::label;
    }
    if (name == "vector") {
        return image_kind::vector;
    }
    return std::nullopt;
}

/// A named label value of a label image.
struct segment {
    std::int64_t value = 0;
    std::string name;
    /// Red, green, blue in [0, 1].
    std::array<double, 3> color{};

    friend bool operator==(const segment& a, const segment& b) noexcept {
        return a.value == b.value && a.name == b.name && a.color == b.color;
    }
    friend bool operator!=(const segment& a, const segment& b) noexcept { return !(a == b); }
};

/// A 3-D image. Voxel (i, j, k) starts at element i + dims[0] * (j + dims[1] * k) ([IMG-1]) and
/// its centre lies at ijk_to_space * [i, j, k, 1] in `space` ([IMG-2]).
struct image {
    std::array<std::uint64_t, 3> dims{};
    slicerbridge::dtype dtype = slicerbridge::dtype::uint8;
    std::uint32_t components = 1;
    slicerbridge::byte_order byte_order = slicerbridge::native_byte_order;
    matrix4 ijk_to_space = identity_matrix;
    slicerbridge::space space = slicerbridge::space::ras;
    image_kind kind = image_kind::scalar;
    /// Label images only.
    std::vector<segment> segments;
    buffer data;

    /// dims[0] * dims[1] * dims[2], or nothing if that overflows 64 bits.
    SLICERBRIDGE_DECL std::optional<std::uint64_t> voxel_count() const noexcept;

    /// voxel_count() * components * dtype size, or nothing if that overflows ([IMG-3]).
    SLICERBRIDGE_DECL std::optional<std::uint64_t> byte_count() const noexcept;

    /// Checks [IMG-2] (last row [0, 0, 0, 1], finite, invertible 3x3), [IMG-3] (data length,
    /// overflow-checked), [IMG-4] (components per kind, integer labels), [IMG-6] (segments).
    /// Errors are `invalid_argument`; `what` names the field.
    SLICERBRIDGE_DECL std::error_code validate() const;
    SLICERBRIDGE_DECL std::error_code validate(std::string& what) const;

    /// The same image with its matrix expressed in `target`: M_lps = diag(-1, -1, 1, 1) M_ras.
    /// Voxels are shared, never altered ([IMG-5]).
    SLICERBRIDGE_DECL image in_space(slicerbridge::space target) const;

    /// The same voxels in native byte order (a swapped copy if needed).
    SLICERBRIDGE_DECL image to_native_byte_order() const;

    /// Typed voxels, or nullptr unless T is the dtype and the byte order native.
    template <class T>
    const T* voxels() const noexcept;

    /// An image of `dims` with uninitialised voxels, to be filled through `mutable_voxels`.
    SLICERBRIDGE_DECL static image allocate(std::array<std::uint64_t, 3> dims,
                                            slicerbridge::dtype type, std::uint32_t components = 1);

    /// Writable voxels of an image made by `allocate`, or nullptr if T is not the dtype.
    template <class T>
    T* mutable_voxels() noexcept;

    /// An image taking over `voxels` (no copy). Throws std::invalid_argument if their number
    /// does not match dims and components.
    template <class T>
    static image adopt(std::vector<T>&& voxels, std::array<std::uint64_t, 3> dims,
                       const matrix4& ijk_to_space = identity_matrix,
                       slicerbridge::space space = slicerbridge::space::ras,
                       image_kind kind = image_kind::scalar, std::uint32_t components = 1);

    /// An image holding a copy of the voxels at `voxels`.
    template <class T>
    static image copy_of(const T* voxels, std::array<std::uint64_t, 3> dims,
                         const matrix4& ijk_to_space = identity_matrix,
                         slicerbridge::space space = slicerbridge::space::ras,
                         image_kind kind = image_kind::scalar, std::uint32_t components = 1);

    /// Reads and validates an image data value. Errors are `invalid_argument`.
    SLICERBRIDGE_DECL static image from_value(const value& v, std::error_code& ec);
    SLICERBRIDGE_DECL static image from_value(const value& v, std::error_code& ec,
                                              std::string& what);

    friend bool operator==(const image& a, const image& b) noexcept {
        return a.dims == b.dims && a.dtype == b.dtype && a.components == b.components &&
               a.byte_order == b.byte_order && a.ijk_to_space == b.ijk_to_space &&
               a.space == b.space && a.kind == b.kind && a.segments == b.segments &&
               a.data == b.data;
    }
    friend bool operator!=(const image& a, const image& b) noexcept { return !(a == b); }
};

/// The image as a data value, `{type: "image", ...}`.
SLICERBRIDGE_DECL value to_value(const image& img);

} // namespace slicerbridge

#include <slicerbridge/data/impl/image.hpp>
#if defined(SLICERBRIDGE_HEADER_ONLY)
#include <slicerbridge/data/impl/image.ipp>
#endif

#endif
