#include <slicerbridge/data/image_series.hpp>

#include "support/printers.hpp"
#include "support/round_trip.hpp"

#include <slicerbridge/data/data_value.hpp>
#include <slicerbridge/message/catalog.hpp>
#include <slicerbridge/message/invoke.hpp>

#include <doctest/doctest.h>

#include <cstring>
#include <limits>
#include <numeric>

namespace sb = slicerbridge;
using sb::error;
using sb::image_series;
using sb::series_axis;
using sb::value;

namespace {

const sb::matrix4 series_oblique = {0.0, -0.8, 0.1, -120.5, //
                                    0.9, 0.0,  0.0, 80.25,  //
                                    0.0, 0.05, 2.5, -33.0,  //
                                    0.0, 0.0,  0.0, 1.0};

sb::matrix4 shifted(double dx) {
    sb::matrix4 m = series_oblique;
    m[3] += dx;
    return m;
}

/// A 3x2x2 int16 time series of `n` volumes; volume v's voxels are 100 v + 1, 100 v + 2, ...
image_series sample(std::size_t n = 3) {
    std::vector<sb::image> volumes;
    std::vector<double> times;
    for (std::size_t v = 0; v < n; ++v) {
        std::vector<std::int16_t> voxels(12);
        std::iota(voxels.begin(), voxels.end(), static_cast<std::int16_t>(100 * v + 1));
        volumes.push_back(
            sb::image::adopt(std::move(voxels), {3, 2, 2}, shifted(0.5 * v), sb::space::lps));
        times.push_back(2.5 * static_cast<double>(v));
    }
    return image_series::from_volumes(volumes, series_axis::time, times);
}

image_series diffusion() {
    image_series s = sample(3);
    s.axis = series_axis::b_value;
    s.volumes[0].value = 0;
    s.volumes[0].gradient = std::array<double, 3>{0, 0, 0};
    s.volumes[1].value = 1000;
    s.volumes[1].gradient = std::array<double, 3>{0, 0.6, 0.8};
    s.volumes[2].value = 1000;
    s.volumes[2].gradient = std::array<double, 3>{-1, 0, 0};
    return s;
}

image_series series_from(const value& v) {
    std::error_code ec;
    std::string what;
    image_series result = image_series::from_value(v, ec, what);
    INFO(what);
    REQUIRE_FALSE(ec);
    return result;
}

/// The error and message of reading `v` after `edit` changed the value of a valid series.
template <class Edit>
std::pair<std::error_code, std::string> rejected(const image_series& valid, Edit edit) {
    value v = sb::to_value(valid);
    edit(v);
    std::error_code ec;
    std::string what;
    image_series::from_value(v, ec, what);
    return {ec, what};
}

/// The error of validating `s` after `edit` changed it.
template <class Edit>
std::string invalid(image_series s, Edit edit) {
    edit(s);
    std::string what;
    const auto ec = s.validate(what);
    CHECK(ec == error::invalid_argument);
    return what;
}

sb::slot series_slot(std::string name, sb::slot_type type, bool optional = false) {
    sb::slot s;
    s.name = std::move(name);
    s.type = type;
    s.optional = optional;
    return s;
}

value::array& volumes_of(value& v) {
    return v.find("volumes")->get_if<value::array>()[0];
}

} // namespace

TEST_CASE("series round-trip through a frame, volume after volume [SER-1] [SER-3]") {
    const image_series original = sample();
    REQUIRE_FALSE(original.validate());
    const image_series back = series_from(test_support::through_frame(sb::to_value(original)));
    CHECK(back == original);
    REQUIRE(back.volumes.size() == 3);
    // [SER-1]: voxel (i, j, k) of volume v at element i + 3 (j + 2 (k + 2 v))
    const auto* voxels = back.to_native_byte_order().data.data();
    std::int16_t voxel = 0;
    std::memcpy(&voxel, voxels + 2 * (2 + 3 * (1 + 2 * (1 + 2 * 2))), sizeof voxel);
    CHECK(voxel == 200 + 1 + 2 + 3 * (1 + 2 * 1));
    CHECK(back.volumes[1].value == 2.5);
    CHECK(back.volumes[2].ijk_to_space == shifted(1.0));
}

TEST_CASE("each volume keeps its own geometry, a shared one is recognised [SER-2]") {
    image_series s = sample();
    CHECK_FALSE(s.shares_geometry());
    const sb::image second = s.volume(1);
    CHECK(second.ijk_to_space == shifted(0.5));
    CHECK(second.dims == s.dims);
    CHECK(second.data.size() == 24);
    CHECK(second.data.data() == s.data.data() + 24); // a view, no copy
    CHECK_FALSE(second.validate());
    CHECK_THROWS_AS(s.volume(3), std::out_of_range);
    for (auto& v : s.volumes) {
        v.ijk_to_space = series_oblique;
    }
    CHECK(s.shares_geometry());
}

TEST_CASE("every volume's matrix satisfies [IMG-2] [SER-2]") {
    const image_series valid = sample();
    auto [ec, what] = rejected(valid, [](value& v) {
        volumes_of(v)[2].find("ijk_to_space")->get_if<value::array>()[0][14] = value(1.0);
    });
    CHECK(ec == error::invalid_argument);
    CHECK(what.find("volumes.ijk_to_space") != std::string::npos);
    what = invalid(valid, [](image_series& s) {
        s.volumes[1].ijk_to_space = {1, 2, 0, 0, 2, 4, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1};
    });
    CHECK(what.find("invertible") != std::string::npos);
}

TEST_CASE("the data length covers every volume, overflow checked [SER-1] [ARRAY-1]") {
    const image_series valid = sample();
    std::string what = invalid(valid, [](image_series& s) { s.data = s.volume(0).data; });
    CHECK(what.find("expected 72 bytes") != std::string::npos);
    what = invalid(valid, [](image_series& s) {
        s.dims = {std::uint64_t{1} << 32, std::uint64_t{1} << 32, 1};
        s.data = sb::buffer();
    });
    CHECK(what.find("overflows") != std::string::npos);
    what = invalid(valid, [](image_series& s) { s.volumes.clear(); });
    CHECK(what.find("at least one volume") != std::string::npos);
    auto [ec, message] = rejected(valid, [](value& v) { volumes_of(v).clear(); });
    CHECK(ec == error::invalid_argument);
}

TEST_CASE("axis values are finite and ordered as their axis requires [SER-3]") {
    const image_series valid = sample();
    CHECK(invalid(valid, [](image_series& s) {
              s.volumes[2].value = 2.5;
          }).find("strictly increasing") != std::string::npos);
    CHECK(invalid(valid, [](image_series& s) {
              s.volumes[1].value = std::numeric_limits<double>::quiet_NaN();
          }).find("finite") != std::string::npos);
    CHECK(invalid(valid, [](image_series& s) {
              s.axis = series_axis::echo_time;
              s.volumes[0].value = 0;
          }).find("> 0") != std::string::npos);
    image_series echoes = valid;
    echoes.axis = series_axis::echo_time;
    echoes.volumes[0].value = 0.01;
    CHECK_FALSE(echoes.validate());
    auto [ec, what] = rejected(valid, [](value& v) {
        for (auto& [key, item] : v.get_if<value::map>()[0]) {
            if (key == "axis") {
                item = value("frequency");
            }
        }
    });
    CHECK(ec == error::invalid_argument);
    CHECK(what.find("image_series.axis") != std::string::npos);
}

TEST_CASE("b-values repeat in any order, with a unit gradient or zero at b = 0 [SER-3] [SER-4]") {
    const image_series valid = diffusion();
    REQUIRE_FALSE(valid.validate());
    CHECK(series_from(test_support::through_frame(sb::to_value(valid))) == valid);
    CHECK(invalid(valid, [](image_series& s) { s.volumes[2].value = -1; }).find(">= 0") !=
          std::string::npos);
    CHECK(invalid(valid, [](image_series& s) {
              s.volumes[1].gradient = {{0, 2, 0}};
          }).find("unit length") != std::string::npos);
    CHECK(invalid(valid, [](image_series& s) {
              s.volumes[1].gradient = {{0, 0, 0}};
          }).find("unit length") != std::string::npos);
    CHECK(invalid(valid, [](image_series& s) { s.volumes[1].gradient.reset(); }).find("gradient") !=
          std::string::npos);
    CHECK(invalid(sample(), [](image_series& s) {
              s.volumes[0].gradient = {{1, 0, 0}};
          }).find("gradient") != std::string::npos);
    auto [ec, what] = rejected(valid, [](value& v) {
        volumes_of(v)[1].find("gradient")->get_if<value::array>()[0].pop_back();
    });
    CHECK(ec == error::invalid_argument);
    CHECK(what.find("volumes.gradient") != std::string::npos);
}

TEST_CASE("kind, components and segments follow the image rules [SER-5] [IMG-4] [IMG-6]") {
    const image_series valid = sample();
    CHECK(invalid(valid, [](image_series& s) {
              s.kind = sb::image_kind::label;
              s.dtype = sb::dtype::float32;
          }).find("integer dtype") != std::string::npos);
    image_series labels = sample();
    labels.kind = sb::image_kind::label;
    labels.segments = {{1, "a", {1, 0, 0}}, {2, "b", {0, 1, 0}}};
    REQUIRE_FALSE(labels.validate());
    CHECK(series_from(sb::to_value(labels)) == labels);
    CHECK(invalid(labels, [](image_series& s) { s.segments[1].value = 1; }).find("unique") !=
          std::string::npos);
    CHECK(invalid(valid, [](image_series& s) { s.components = 2; }).find("one component") !=
          std::string::npos);
}

TEST_CASE("RAS <-> LPS flips every matrix and gradient, never voxels or values [SER-5]") {
    const image_series lps = diffusion();
    const image_series ras = lps.in_space(sb::space::ras);
    CHECK(ras.space == sb::space::ras);
    CHECK(ras.data.data() == lps.data.data());
    for (std::size_t v = 0; v < lps.volumes.size(); ++v) {
        CHECK(ras.volumes[v].ijk_to_space == sb::detail::flip_rows_xy(lps.volumes[v].ijk_to_space));
        CHECK(ras.volumes[v].value == lps.volumes[v].value);
    }
    CHECK(ras.volumes[1].gradient == std::array<double, 3>{0, -0.6, 0.8});
    CHECK(ras.volumes[2].gradient == std::array<double, 3>{1, 0, 0});
    CHECK(ras.in_space(sb::space::lps) == lps);
}

TEST_CASE("from_volumes refuses volumes that differ in layout") {
    std::vector<sb::image> volumes{sample().volume(0),
                                   sb::image::allocate({2, 2, 2}, sb::dtype::int16)};
    CHECK_THROWS_AS(image_series::from_volumes(volumes, series_axis::index, {0, 1}),
                    std::invalid_argument);
    CHECK_THROWS_AS(image_series::from_volumes({sample().volume(0)}, series_axis::index, {}),
                    std::invalid_argument);
}

TEST_CASE("image_series is a data value and a data slot type of 1.1 [SER-6] [DATA-1]") {
    const sb::data_value d = sample();
    CHECK(sb::data_type_name(d) == "image_series");
    std::error_code ec;
    std::string what;
    const sb::data_value back = sb::data_from_value(sb::to_value(d), ec, what);
    REQUIRE_FALSE(ec);
    CHECK(back == d);
    CHECK(sb::slot_type_from_name("image_series") == sb::slot_type::image_series);
    CHECK(sb::is_data_slot_type(sb::slot_type::image_series));
    CHECK_FALSE(sb::is_scalar_output(series_slot("s", sb::slot_type::image_series)));
}

TEST_CASE("a 1.0 peer sees no image_series slot, processor or output [SER-6] [VER-4]") {
    sb::processor_description d;
    d.name = "p";
    d.inputs = {series_slot("volume", sb::slot_type::image),
                series_slot("series", sb::slot_type::image_series, true)};
    d.outputs = {series_slot("series_out", sb::slot_type::image_series),
                 series_slot("mask", sb::slot_type::image)};
    const auto older = sb::description_for_version(d, {1, 0});
    REQUIRE(older.inputs.size() == 1);
    CHECK(older.inputs[0].name == "volume");
    REQUIRE(older.outputs.size() == 1);
    CHECK(older.outputs[0].name == "mask");
    CHECK(sb::description_for_version(d, {1, 1}).inputs.size() == 2);
    CHECK(sb::offered_at_version(d, {1, 0}));
    d.inputs[1].optional = false;
    CHECK_FALSE(sb::offered_at_version(d, {1, 0}));
    CHECK(sb::offered_at_version(d, {1, 1}));

    sb::invoke_result r;
    r.outputs = {{"series_out", sample()}, {"mask", sample().volume(0)}};
    const auto old_result = sb::result_for_version(r, {1, 0});
    REQUIRE(old_result.outputs.size() == 1);
    CHECK(old_result.outputs[0].first == "mask");
    CHECK(sb::result_for_version(r, {1, 1}).outputs.size() == 2);
}
