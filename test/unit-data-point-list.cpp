#include <slicerbridge/data/point_list.hpp>

#include "support/printers.hpp"
#include "support/round_trip.hpp"

#include <doctest/doctest.h>

namespace sb = slicerbridge;
using sb::error;
using sb::point_list;
using sb::value;

TEST_CASE("point lists round-trip, with and without labels [PTS-1]") {
    const double xyz[] = {1, 2, 3, -4.5, 5, 6.25};
    point_list p = point_list::copy_of(xyz, 2, sb::space::lps);
    std::error_code ec;
    CHECK(point_list::from_value(test_support::through_frame(sb::to_value(p)), ec) == p);
    CHECK(sb::to_value(p).find("labels") == nullptr);
    p.labels = std::vector<std::string>{"nasion", "inion"};
    CHECK(point_list::from_value(test_support::through_frame(sb::to_value(p)), ec) == p);
    CHECK_FALSE(ec);
}

TEST_CASE("labels, if present, have one string per point [PTS-1]") {
    const double xyz[] = {1, 2, 3, 4, 5, 6};
    point_list p = point_list::copy_of(xyz, 2);
    p.labels = std::vector<std::string>{"only one"};
    std::string what;
    CHECK(p.validate(what) == error::invalid_argument);
    CHECK(what == "points.labels: expected one label per point");
    value v = sb::to_value(point_list::copy_of(xyz, 2));
    v["labels"] = value::array{"a", 2};
    std::error_code ec;
    point_list::from_value(v, ec, what);
    CHECK(what == "points.labels: expected an array of strings");
}

TEST_CASE("points are float64 with 3 components") {
    point_list p;
    p.points = sb::typed_array::adopt(std::vector<float>{1, 2, 3}, 3);
    std::string what;
    CHECK(p.validate(what) == error::invalid_argument);
    CHECK(what == "points.points: expected float64 with 3 components");
}

TEST_CASE("RAS <-> LPS negates x and y") {
    const double xyz[] = {1, 2, 3};
    const point_list ras = point_list::copy_of(xyz, 1);
    const point_list lps = ras.in_space(sb::space::lps);
    CHECK(lps.points.scalar<double>(0) == -1);
    CHECK(lps.points.scalar<double>(1) == -2);
    CHECK(lps.points.scalar<double>(2) == 3);
    CHECK(lps.in_space(sb::space::ras) == ras);
}
