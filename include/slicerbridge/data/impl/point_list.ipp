#ifndef SLICERBRIDGE_DATA_IMPL_POINT_LIST_IPP
#define SLICERBRIDGE_DATA_IMPL_POINT_LIST_IPP

#include <slicerbridge/data/impl/typed_array.ipp> // its detail helpers
#include <slicerbridge/data/point_list.hpp>

namespace slicerbridge {

SLICERBRIDGE_DECL std::error_code point_list::validate(std::string& what) const {
    std::error_code ec;
    detail::field_reader reader(ec, what, error::invalid_argument, "points");
    if (points.dtype != slicerbridge::dtype::float64 || points.components != 3) {
        reader.fail("points", "expected float64 with 3 components");
    } else if (labels && labels->size() != point_count()) {
        reader.fail("labels", "expected one label per point");
    }
    return ec;
}

SLICERBRIDGE_DECL std::error_code point_list::validate() const {
    std::string what;
    return validate(what);
}

SLICERBRIDGE_DECL point_list point_list::in_space(slicerbridge::space target) const {
    point_list result = *this;
    if (target != space) {
        result.points = detail::points_in_other_space(points);
        result.space = target;
    }
    return result;
}

SLICERBRIDGE_DECL point_list point_list::copy_of(const double* xyz, std::size_t count,
                                                 slicerbridge::space space) {
    point_list result;
    result.space = space;
    result.points = typed_array::copy_of(xyz, count, 3);
    return result;
}

SLICERBRIDGE_DECL point_list point_list::from_value(const value& v, std::error_code& ec,
                                                    std::string& what) {
    ec.clear();
    detail::field_reader reader(ec, what, error::invalid_argument, "points");
    point_list result;
    if (!detail::expect_type(reader, v, "points") || !detail::read_space(reader, v, result.space)) {
        return point_list();
    }
    const value* points = reader.read_map(v, "points", true);
    if (points == nullptr) {
        return point_list();
    }
    auto points_reader = reader.nested("points");
    if (!detail::read_typed_array(points_reader, *points, result.points)) {
        return point_list();
    }
    if (v.find("labels") != nullptr) {
        std::vector<std::string> labels;
        if (!reader.read_strings(v, "labels", labels)) {
            return point_list();
        }
        result.labels = std::move(labels);
    }
    if (auto invalid = result.validate(what)) {
        ec = invalid;
        return point_list();
    }
    return result;
}

SLICERBRIDGE_DECL point_list point_list::from_value(const value& v, std::error_code& ec) {
    std::string what;
    return from_value(v, ec, what);
}

SLICERBRIDGE_DECL value to_value(const point_list& p) {
    value::map entries;
    entries.emplace_back("type", "points");
    entries.emplace_back("space", std::string(space_name(p.space)));
    entries.emplace_back("points", to_value(p.points));
    if (p.labels) {
        entries.emplace_back("labels", value::array(p.labels->begin(), p.labels->end()));
    }
    return entries;
}

} // namespace slicerbridge

#endif
