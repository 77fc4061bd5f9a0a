#ifndef SLICERBRIDGE_DATA_MESH_HPP
#define SLICERBRIDGE_DATA_MESH_HPP

// Meshes (spec section 11.2): points and VTK 9 style cell arrays, with point and cell data.

#include <slicerbridge/data/space.hpp>
#include <slicerbridge/data/typed_array.hpp>
#include <slicerbridge/detail/config.hpp>
#include <slicerbridge/error.hpp>
#include <slicerbridge/value.hpp>

#include <optional>
#include <string>
#include <system_error>
#include <vector>

namespace slicerbridge {

/// Cells as in VTK 9: `offsets` (cells + 1 int64 values, from 0, non-decreasing, ending at the
/// connectivity length) and `connectivity` (int64 point indices).
struct cell_array {
    typed_array offsets;
    typed_array connectivity;

    /// offsets.count() - 1 (0 for an empty offsets array).
    std::uint64_t cell_count() const noexcept {
        return offsets.count() == 0 ? 0 : offsets.count() - 1;
    }

    /// A cell array from native int64 offsets and connectivity (no copy).
    SLICERBRIDGE_DECL static cell_array adopt(std::vector<std::int64_t>&& offsets,
                                              std::vector<std::int64_t>&& connectivity);

    friend bool operator==(const cell_array& a, const cell_array& b) noexcept {
        return a.offsets == b.offsets && a.connectivity == b.connectivity;
    }
    friend bool operator!=(const cell_array& a, const cell_array& b) noexcept { return !(a == b); }
};

/// A typed array with a name: point or cell data, or a table column.
struct named_array {
    std::string name;
    typed_array array;

    friend bool operator==(const named_array& a, const named_array& b) noexcept {
        return a.name == b.name && a.array == b.array;
    }
    friend bool operator!=(const named_array& a, const named_array& b) noexcept {
        return !(a == b);
    }
};

struct mesh {
    slicerbridge::space space = slicerbridge::space::ras;
    /// float32 or float64, 3 components.
    typed_array points;
    std::optional<cell_array> verts;
    std::optional<cell_array> lines;
    std::optional<cell_array> polys;
    std::optional<cell_array> strips;
    /// One tuple per point ([MESH-2]).
    std::vector<named_array> point_data;
    /// One tuple per cell, cells counted verts, lines, polys, then strips ([MESH-2]).
    std::vector<named_array> cell_data;

    std::uint64_t point_count() const noexcept { return points.count(); }
    /// Cells of all four kinds.
    SLICERBRIDGE_DECL std::uint64_t cell_count() const noexcept;

    /// Checks the points' type, [MESH-1] and [MESH-2], and unique data names. Errors are
    /// `invalid_argument`.
    SLICERBRIDGE_DECL std::error_code validate() const;
    SLICERBRIDGE_DECL std::error_code validate(std::string& what) const;

    /// The mesh in `target`: x and y of every point negated, cells and winding kept ([MESH-3]).
    SLICERBRIDGE_DECL mesh in_space(slicerbridge::space target) const;

    SLICERBRIDGE_DECL static mesh from_value(const value& v, std::error_code& ec);
    SLICERBRIDGE_DECL static mesh from_value(const value& v, std::error_code& ec,
                                             std::string& what);

    friend bool operator==(const mesh& a, const mesh& b) noexcept {
        return a.space == b.space && a.points == b.points && a.verts == b.verts &&
               a.lines == b.lines && a.polys == b.polys && a.strips == b.strips &&
               a.point_data == b.point_data && a.cell_data == b.cell_data;
    }
    friend bool operator!=(const mesh& a, const mesh& b) noexcept { return !(a == b); }
};

/// The mesh as a data value, `{type: "mesh", ...}`.
SLICERBRIDGE_DECL value to_value(const mesh& m);

} // namespace slicerbridge

#if defined(SLICERBRIDGE_HEADER_ONLY)
#include <slicerbridge/data/impl/mesh.ipp>
#endif

#endif
