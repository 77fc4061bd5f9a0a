#include <slicerbridge/data/data_value.hpp>

#include "support/printers.hpp"

#include <doctest/doctest.h>

namespace sb = slicerbridge;
using sb::error;
using sb::value;

TEST_CASE("data values dispatch on their type [DATA-1]") {
    const double xyz[] = {1, 2, 3};
    const sb::data_value values[] = {
        sb::image::adopt(std::vector<std::uint8_t>{1, 2}, {2, 1, 1}),
        sb::mesh{},
        sb::transform{},
        sb::point_list::copy_of(xyz, 1),
        sb::table{},
    };
    const char* names[] = {"image", "mesh", "transform", "points", "table"};
    for (std::size_t i = 0; i < 5; ++i) {
        CHECK(sb::data_type_name(values[i]) == names[i]);
        const value v = sb::to_value(values[i]);
        CHECK(*v.find("type") == value(names[i]));
        if (i == 1) {
            continue; // an empty mesh has no points array: not valid on the wire
        }
        std::error_code ec;
        CHECK(sb::data_from_value(v, ec) == values[i]);
        CHECK_FALSE(ec);
    }
}

TEST_CASE("an unknown or missing type is invalid_argument [DATA-1] [DATA-3]") {
    std::error_code ec;
    std::string what;
    sb::data_from_value(value::map{{"type", "segmentation"}}, ec, what);
    CHECK(ec == error::invalid_argument);
    CHECK(what == "data.type: unknown data type");
    sb::data_from_value(value::map{{"dims", value::array{}}}, ec, what);
    CHECK(what == "data.type: missing");
    sb::data_from_value(value("image"), ec, what);
    CHECK(what == "data: expected a map");
    try {
        sb::data_from_value(value::map{{"type", 3}});
        FAIL("no exception");
    } catch (const std::system_error& e) {
        CHECK(e.code() == error::invalid_argument);
        CHECK(std::string(e.what()).find("data.type: expected a string") != std::string::npos);
    }
}
