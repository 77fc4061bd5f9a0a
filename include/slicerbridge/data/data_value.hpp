#ifndef SLICERBRIDGE_DATA_DATA_VALUE_HPP
#define SLICERBRIDGE_DATA_DATA_VALUE_HPP

// Any data value (spec section 11), dispatched on its `type` key.

#include <slicerbridge/data/image.hpp>
#include <slicerbridge/data/image_series.hpp>
#include <slicerbridge/data/mesh.hpp>
#include <slicerbridge/data/point_list.hpp>
#include <slicerbridge/data/table.hpp>
#include <slicerbridge/data/transform.hpp>
#include <slicerbridge/detail/field_reader.hpp>

#include <string>
#include <string_view>
#include <system_error>
#include <variant>

namespace slicerbridge {

/// image_series is a type of version 1.1 ([SER-6]).
using data_value = std::variant<image, mesh, transform, point_list, table, image_series>;

/// The wire name of the held type: "image", "mesh", "transform", "points", "table" or
/// "image_series".
inline std::string_view data_type_name(const data_value& d) noexcept {
    constexpr std::string_view names[] = {"image",  "mesh",  "transform",
                                          "points", "table", "image_series"};
    return names[d.index()];
}

inline value to_value(const data_value& d) {
    return std::visit([](const auto& held) { return to_value(held); }, d);
}

/// Reads a data value by its `type` ([DATA-1]: unknown types are `invalid_argument`) and
/// validates it. Errors are `invalid_argument`; `what` names the field.
inline data_value data_from_value(const value& v, std::error_code& ec, std::string& what) {
    ec.clear();
    detail::field_reader reader(ec, what, error::invalid_argument, "data");
    std::string type;
    if (!reader.expect_map(v) || !reader.read_string(v, "type", type)) {
        return data_value();
    }
    if (type == "image") {
        return image::from_value(v, ec, what);
    }
    if (type == "mesh") {
        return mesh::from_value(v, ec, what);
    }
    if (type == "transform") {
        return transform::from_value(v, ec, what);
    }
    if (type == "points") {
        return point_list::from_value(v, ec, what);
    }
    if (type == "table") {
        return table::from_value(v, ec, what);
    }
    if (type == "image_series") {
        return image_series::from_value(v, ec, what);
    }
    reader.fail("type", "unknown data type");
    return data_value();
}

inline data_value data_from_value(const value& v, std::error_code& ec) {
    std::string what;
    return data_from_value(v, ec, what);
}

/// As above; throws std::system_error with the message naming the field.
inline data_value data_from_value(const value& v) {
    std::error_code ec;
    std::string what;
    data_value result = data_from_value(v, ec, what);
    if (ec) {
        throw std::system_error(ec, what);
    }
    return result;
}

} // namespace slicerbridge

#endif
