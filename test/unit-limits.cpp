#include <slicerbridge/limits.hpp>

#include <doctest/doctest.h>

TEST_CASE("limits default to the values of section 7 [LIMIT-1] [HEAD-5] [HELLO-4]") {
    const slicerbridge::limits l;
    CHECK(l.max_frame == 4294967296ull);
    CHECK(l.max_head == 16ull * 1024 * 1024);
    CHECK(l.max_in_flight == 64);
    CHECK(l.max_depth == 32);
    CHECK(l.cancel_grace == 5.0);
    CHECK(l.max_elements == 1048576);
    CHECK(slicerbridge::handshake_max_frame == 65536);
    slicerbridge::limits other = l;
    CHECK(other == l);
    other.max_depth = 8;
    CHECK(other != l);
}
