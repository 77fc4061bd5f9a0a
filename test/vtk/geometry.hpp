#ifndef SLICERBRIDGE_TEST_VTK_GEOMETRY_HPP
#define SLICERBRIDGE_TEST_VTK_GEOMETRY_HPP

// Oblique geometry shared by the VTK conversion tests.

#include <slicerbridge/data/space.hpp>

#include <array>
#include <cmath>

namespace test_support {

/// Rotated 30 degrees about z and 20 about x, spacing 0.8 x 1.1 x 2.5 mm, origin away from 0.
inline slicerbridge::matrix4 oblique_matrix() {
    const double a = 30.0 * M_PI / 180.0;
    const double b = 20.0 * M_PI / 180.0;
    const double rz[9] = {std::cos(a), -std::sin(a), 0, std::sin(a), std::cos(a), 0, 0, 0, 1};
    const double rx[9] = {1, 0, 0, 0, std::cos(b), -std::sin(b), 0, std::sin(b), std::cos(b)};
    const double spacing[3] = {0.8, 1.1, 2.5};
    const double origin[3] = {-12.5, 40.25, 7.0};
    slicerbridge::matrix4 m = slicerbridge::identity_matrix;
    for (int row = 0; row < 3; ++row) {
        for (int column = 0; column < 3; ++column) {
            double rotation = 0;
            for (int k = 0; k < 3; ++k) {
                rotation += rx[row * 3 + k] * rz[k * 3 + column];
            }
            m[row * 4 + column] = rotation * spacing[column];
        }
        m[row * 4 + 3] = origin[row];
    }
    return m;
}

/// m * [i, j, k, 1].
inline std::array<double, 3> apply(const slicerbridge::matrix4& m, double i, double j, double k) {
    std::array<double, 3> out{};
    for (int row = 0; row < 3; ++row) {
        out[row] = m[row * 4] * i + m[row * 4 + 1] * j + m[row * 4 + 2] * k + m[row * 4 + 3];
    }
    return out;
}

} // namespace test_support

#endif
