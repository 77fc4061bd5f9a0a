#include <slicerbridge/data/parameter.hpp>

#include "support/printers.hpp"

#include <doctest/doctest.h>

namespace sb = slicerbridge;
using sb::error;
using sb::parameter_value;
using sb::value;

namespace {

parameter_value parse(const value& v) {
    std::error_code ec;
    parameter_value p = parameter_value::from_value(v, ec);
    REQUIRE_FALSE(ec);
    return p;
}

} // namespace

TEST_CASE("parameter values are read by their MessagePack type") {
    CHECK(parse(true) == parameter_value(true));
    CHECK(parse(-3) == parameter_value(std::int64_t{-3}));
    CHECK(parse(2.5) == parameter_value(2.5));
    CHECK(parse("median") == parameter_value("median"));
    CHECK(parse(value::array{1, 2}) == parameter_value(std::vector<std::int64_t>{1, 2}));
    CHECK(parse(value::array{1, 2.5}) == parameter_value(std::vector<double>{1.0, 2.5}));
    CHECK(parse(value::array{"a", "b"}) == parameter_value(std::vector<std::string>{"a", "b"}));
    CHECK(parse(value::array{}) == parameter_value(std::vector<std::int64_t>{}));
}

TEST_CASE("values outside the parameter types are invalid_argument [HEAD-4]") {
    for (const value& v : {value(), value(value::map{}), value(std::uint64_t{1} << 63),
                           value(value::array{1, "a"}), value(value::array{"a", 1}),
                           value(value::array{value(value::array{})}), value(value::binary{})}) {
        std::error_code ec;
        parameter_value::from_value(v, ec);
        CHECK(ec == error::invalid_argument);
    }
}

TEST_CASE("parameter values write back the same value") {
    for (const value& v : {value(false), value(7), value(-0.5), value("x"),
                           value(value::array{1, 2}), value(value::array{0.5}),
                           value(value::array{"a"})}) {
        CHECK(sb::to_value(parse(v)) == v);
    }
}
