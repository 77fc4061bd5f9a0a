#include <slicerbridge/data/transform.hpp>

#include "support/printers.hpp"
#include "support/round_trip.hpp"

#include <doctest/doctest.h>

namespace sb = slicerbridge;
using sb::error;
using sb::transform;
using sb::value;

namespace {

sb::matrix4 multiply(const sb::matrix4& a, const sb::matrix4& b) {
    sb::matrix4 out{};
    for (int r = 0; r < 4; ++r) {
        for (int c = 0; c < 4; ++c) {
            for (int k = 0; k < 4; ++k) {
                out[r * 4 + c] += a[r * 4 + k] * b[k * 4 + c];
            }
        }
    }
    return out;
}

const sb::matrix4 rotation_translation = {0.6, -0.8, 0, 10, 0.8, 0.6, 0, -5, 0, 0, 1, 2.5,
                                          0,   0,    0, 1};

} // namespace

TEST_CASE("transforms round-trip with direction to_parent [XFM-1]") {
    transform t;
    t.matrix = rotation_translation;
    t.space = sb::space::lps;
    const value v = sb::to_value(t);
    CHECK(*v.find("direction") == value("to_parent"));
    CHECK(*v.find("space") == value("LPS"));
    std::error_code ec;
    CHECK(transform::from_value(test_support::through_frame(v), ec) == t);
    CHECK_FALSE(ec);
}

TEST_CASE("RAS <-> LPS is T_lps = F T_ras F with F = diag(-1, -1, 1, 1) [XFM-1]") {
    transform ras;
    ras.matrix = rotation_translation;
    const transform lps = ras.in_space(sb::space::lps);
    const sb::matrix4 f = {-1, 0, 0, 0, 0, -1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1};
    CHECK(lps.matrix == multiply(multiply(f, ras.matrix), f));
    CHECK(lps.space == sb::space::lps);
    CHECK(lps.in_space(sb::space::ras) == ras);
}

TEST_CASE("the last row must be [0, 0, 0, 1], direction must be to_parent [XFM-1]") {
    std::error_code ec;
    std::string what;
    value v = sb::to_value(transform{});
    v["matrix"].as_array()[12] = 0.1;
    transform::from_value(v, ec, what);
    CHECK(ec == error::invalid_argument);
    CHECK(what == "transform.matrix: last row must be [0, 0, 0, 1] and entries finite");
    v = sb::to_value(transform{});
    v["direction"] = "from_parent";
    transform::from_value(v, ec, what);
    CHECK(what == "transform.direction: expected \"to_parent\"");
    v = sb::to_value(transform{});
    v.as_map().pop_back();
    transform::from_value(v, ec, what);
    CHECK(what == "transform.direction: missing");
    v = sb::to_value(transform{});
    v["space"] = "XYZ";
    transform::from_value(v, ec, what);
    CHECK(what == "transform.space: expected \"RAS\" or \"LPS\"");
}

TEST_CASE("inverse_affine undoes an oblique affine matrix") {
    const slicerbridge::matrix4 m{0.0, -0.7, 0.1, -12.5, 0.9, 0.0, 0.2, 40.25,
                                  0.1, 0.3,  1.5, -7.0,  0,   0,   0,   1};
    const auto inverse = slicerbridge::inverse_affine(m);
    for (std::size_t row = 0; row < 4; ++row) {
        for (std::size_t column = 0; column < 4; ++column) {
            double sum = 0;
            for (std::size_t k = 0; k < 4; ++k) {
                sum += m[row * 4 + k] * inverse[k * 4 + column];
            }
            CHECK(sum == doctest::Approx(row == column ? 1.0 : 0.0).epsilon(1e-12));
        }
    }
}
