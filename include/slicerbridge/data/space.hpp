#ifndef SLICERBRIDGE_DATA_SPACE_HPP
#define SLICERBRIDGE_DATA_SPACE_HPP

// Physical coordinate systems ([DATA-2]) and the 4x4 matrices placed in them.

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace slicerbridge {

/// RAS (right, anterior, superior: Slicer) or LPS (left, posterior, superior: DICOM, ITK).
enum class space : std::uint8_t { ras, lps };

/// "RAS" or "LPS".
constexpr std::string_view space_name(space s) noexcept {
    return s == space::lps ? "LPS" : "RAS";
}

constexpr std::optional<space> space_from_name(std::string_view name) noexcept {
    if (name == "RAS") {
        return space::ras;
    }
    if (name == "LPS") {
        return space::lps;
    }
    return std::nullopt;
}

/// A 4x4 matrix, row-major.
using matrix4 = std::array<double, 16>;

inline constexpr matrix4 identity_matrix = {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1};

/// True if the last row is exactly [0, 0, 0, 1] and every entry is finite.
inline bool is_affine(const matrix4& m) noexcept {
    for (double entry : m) {
        if (!std::isfinite(entry)) {
            return false;
        }
    }
    return m[12] == 0 && m[13] == 0 && m[14] == 0 && m[15] == 1;
}

/// Determinant of the upper-left 3x3 block.
inline double linear_determinant(const matrix4& m) noexcept {
    return m[0] * (m[5] * m[10] - m[6] * m[9]) - m[1] * (m[4] * m[10] - m[6] * m[8]) +
           m[2] * (m[4] * m[9] - m[5] * m[8]);
}

/// The inverse of an affine matrix. Precondition: `is_affine(m)` and `linear_determinant(m) != 0`.
inline matrix4 inverse_affine(const matrix4& m) noexcept {
    const double det = linear_determinant(m);
    matrix4 r = identity_matrix;
    r[0] = (m[5] * m[10] - m[6] * m[9]) / det;
    r[1] = (m[2] * m[9] - m[1] * m[10]) / det;
    r[2] = (m[1] * m[6] - m[2] * m[5]) / det;
    r[4] = (m[6] * m[8] - m[4] * m[10]) / det;
    r[5] = (m[0] * m[10] - m[2] * m[8]) / det;
    r[6] = (m[2] * m[4] - m[0] * m[6]) / det;
    r[8] = (m[4] * m[9] - m[5] * m[8]) / det;
    r[9] = (m[1] * m[8] - m[0] * m[9]) / det;
    r[10] = (m[0] * m[5] - m[1] * m[4]) / det;
    for (std::size_t row = 0; row < 3; ++row) {
        r[row * 4 + 3] = -(r[row * 4] * m[3] + r[row * 4 + 1] * m[7] + r[row * 4 + 2] * m[11]);
    }
    return r;
}

namespace detail {

/// -x, keeping zeros positive so that converted matrices hold no -0.0.
inline double negate(double x) noexcept {
    return x == 0 ? 0.0 : -x;
}

/// diag(-1, -1, 1, 1) * m: negates the first two rows ([IMG-5]).
inline matrix4 flip_rows_xy(matrix4 m) noexcept {
    for (std::size_t i = 0; i < 8; ++i) {
        m[i] = negate(m[i]);
    }
    return m;
}

/// m * diag(-1, -1, 1, 1): negates the first two columns.
inline matrix4 flip_columns_xy(matrix4 m) noexcept {
    for (std::size_t row = 0; row < 4; ++row) {
        m[row * 4] = negate(m[row * 4]);
        m[row * 4 + 1] = negate(m[row * 4 + 1]);
    }
    return m;
}

} // namespace detail
} // namespace slicerbridge

#endif
