#ifndef SLICERBRIDGE_DATA_POINT_LIST_HPP
#define SLICERBRIDGE_DATA_POINT_LIST_HPP

// Point lists (spec section 11.4), the wire type "points".

#include <slicerbridge/data/space.hpp>
#include <slicerbridge/data/typed_array.hpp>
#include <slicerbridge/detail/config.hpp>
#include <slicerbridge/detail/data_fields.hpp>
#include <slicerbridge/error.hpp>
#include <slicerbridge/value.hpp>

#include <optional>
#include <string>
#include <system_error>
#include <vector>

namespace slicerbridge {

struct point_list {
    slicerbridge::space space = slicerbridge::space::ras;
    /// float64, 3 components.
    typed_array points;
    /// One label per point when present ([PTS-1]).
    std::optional<std::vector<std::string>> labels;

    std::uint64_t point_count() const noexcept { return points.count(); }

    /// Checks the points' type and [PTS-1]. Errors are `invalid_argument`.
    SLICERBRIDGE_DECL std::error_code validate() const;
    SLICERBRIDGE_DECL std::error_code validate(std::string& what) const;

    /// The points in `target`: x and y negated.
    SLICERBRIDGE_DECL point_list in_space(slicerbridge::space target) const;

    /// Native float64 points from x, y, z triples (a copy).
    SLICERBRIDGE_DECL static point_list
    copy_of(const double* xyz, std::size_t count,
            slicerbridge::space space = slicerbridge::space::ras);

    SLICERBRIDGE_DECL static point_list from_value(const value& v, std::error_code& ec);
    SLICERBRIDGE_DECL static point_list from_value(const value& v, std::error_code& ec,
                                                   std::string& what);

    friend bool operator==(const point_list& a, const point_list& b) noexcept {
        return a.space == b.space && a.points == b.points && a.labels == b.labels;
    }
    friend bool operator!=(const point_list& a, const point_list& b) noexcept { return !(a == b); }
};

/// `{type: "points", space, points, labels?}`.
SLICERBRIDGE_DECL value to_value(const point_list& p);

} // namespace slicerbridge

#if defined(SLICERBRIDGE_HEADER_ONLY)
#include <slicerbridge/data/impl/point_list.ipp>
#endif

#endif
