#include <slicerbridge/version.hpp>

#include <doctest/doctest.h>

using slicerbridge::choose_version;
using slicerbridge::protocol_version;

TEST_CASE("protocol versions compare by major, then minor [HELLO-3]") {
    static_assert(protocol_version{1, 0} < protocol_version{1, 1});
    static_assert(protocol_version{1, 9} < protocol_version{2, 0});
    static_assert(protocol_version{2, 0} > protocol_version{1, 65535});
    static_assert(protocol_version{1, 2} == protocol_version{1, 2});
    static_assert(protocol_version{1, 2} != protocol_version{1, 3});
    static_assert(protocol_version{1, 2} <= protocol_version{1, 2});
    static_assert(protocol_version{1, 3} >= protocol_version{1, 2});
    CHECK(slicerbridge::protocol_min == protocol_version{1, 0});
    CHECK(slicerbridge::protocol_max == protocol_version{1, 1});
    CHECK(SLICERBRIDGE_VERSION == SLICERBRIDGE_VERSION_MAJOR * 100000 +
                                      SLICERBRIDGE_VERSION_MINOR * 100 + SLICERBRIDGE_VERSION_PATCH);
}

TEST_CASE("choose_version picks the highest version in both ranges [HELLO-3]") {
    CHECK(choose_version({1, 0}, {1, 0}, {1, 0}, {1, 0}) == protocol_version{1, 0});
    CHECK(choose_version({1, 0}, {1, 3}, {1, 1}, {2, 0}) == protocol_version{1, 3});
    CHECK(choose_version({1, 2}, {2, 5}, {1, 0}, {1, 4}) == protocol_version{1, 4});
    CHECK_FALSE(choose_version({2, 0}, {2, 1}, {1, 0}, {1, 9}).has_value());
    CHECK_FALSE(choose_version({1, 0}, {1, 0}, {1, 1}, {1, 2}).has_value());
}
