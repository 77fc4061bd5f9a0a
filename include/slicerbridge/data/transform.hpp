#ifndef SLICERBRIDGE_DATA_TRANSFORM_HPP
#define SLICERBRIDGE_DATA_TRANSFORM_HPP

// Linear transforms (spec section 11.3).

#include <slicerbridge/data/space.hpp>
#include <slicerbridge/detail/data_fields.hpp>
#include <slicerbridge/error.hpp>
#include <slicerbridge/value.hpp>

#include <string>
#include <system_error>

namespace slicerbridge {

/// A linear transform from the child to the parent coordinate system ("to_parent").
struct transform {
    /// Row-major 4x4; the last row is [0, 0, 0, 1] ([XFM-1]).
    matrix4 matrix = identity_matrix;
    slicerbridge::space space = slicerbridge::space::ras;

    /// Checks [XFM-1] and finite entries. Errors are `invalid_argument`.
    std::error_code validate() const;
    std::error_code validate(std::string& what) const;

    /// The transform in `target`: T_lps = F T_ras F, F = diag(-1, -1, 1, 1) ([XFM-1]).
    transform in_space(slicerbridge::space target) const {
        transform result = *this;
        if (target != space) {
            result.matrix = detail::flip_columns_xy(detail::flip_rows_xy(matrix));
            result.space = target;
        }
        return result;
    }

    static transform from_value(const value& v, std::error_code& ec);
    static transform from_value(const value& v, std::error_code& ec, std::string& what);

    friend bool operator==(const transform& a, const transform& b) noexcept {
        return a.matrix == b.matrix && a.space == b.space;
    }
    friend bool operator!=(const transform& a, const transform& b) noexcept { return !(a == b); }
};

/// `{type: "transform", matrix, space, direction: "to_parent"}`.
inline value to_value(const transform& t) {
    return value::map{
        {"type", "transform"},
        {"matrix", detail::matrix_to_value(t.matrix)},
        {"space", std::string(space_name(t.space))},
        {"direction", "to_parent"},
    };
}

inline std::error_code transform::validate(std::string& what) const {
    std::error_code ec;
    if (!is_affine(matrix)) {
        detail::field_reader(ec, what, error::invalid_argument, "transform")
            .fail("matrix", "last row must be [0, 0, 0, 1] and entries finite");
    }
    return ec;
}

inline std::error_code transform::validate() const {
    std::string what;
    return validate(what);
}

inline transform transform::from_value(const value& v, std::error_code& ec, std::string& what) {
    ec.clear();
    detail::field_reader reader(ec, what, error::invalid_argument, "transform");
    transform result;
    std::string direction;
    if (!detail::expect_type(reader, v, "transform") ||
        !reader.read_doubles(v, "matrix", result.matrix) ||
        !detail::read_space(reader, v, result.space) ||
        !reader.read_string(v, "direction", direction)) {
        return transform();
    }
    if (direction != "to_parent") {
        reader.fail("direction", "expected \"to_parent\"");
        return transform();
    }
    if (auto invalid = result.validate(what)) {
        ec = invalid;
        return transform();
    }
    return result;
}

inline transform transform::from_value(const value& v, std::error_code& ec) {
    std::string what;
    return from_value(v, ec, what);
}

} // namespace slicerbridge

#endif
