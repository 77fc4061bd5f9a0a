#include <slicerbridge/data/space.hpp>

#include <doctest/doctest.h>

namespace sb = slicerbridge;

TEST_CASE("spaces are RAS or LPS, exactly [DATA-2]") {
    CHECK(sb::space_name(sb::space::ras) == "RAS");
    CHECK(sb::space_name(sb::space::lps) == "LPS");
    CHECK(sb::space_from_name("LPS") == sb::space::lps);
    CHECK_FALSE(sb::space_from_name("lps").has_value());
    CHECK_FALSE(sb::space_from_name("RAI").has_value());
}

TEST_CASE("matrices are affine when the last row is [0, 0, 0, 1] and entries are finite") {
    CHECK(sb::is_affine(sb::identity_matrix));
    auto m = sb::identity_matrix;
    m[15] = 2;
    CHECK_FALSE(sb::is_affine(m));
    m = sb::identity_matrix;
    m[3] = std::numeric_limits<double>::quiet_NaN();
    CHECK_FALSE(sb::is_affine(m));
    const sb::matrix4 scaled = {2, 0, 0, 0, 0, 3, 0, 0, 0, 0, 4, 0, 0, 0, 0, 1};
    CHECK(sb::linear_determinant(scaled) == 24);
}
