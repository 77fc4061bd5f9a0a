// Surfaces: extracted where the phantom is, in the image's space, consistently oriented;
// smoothing and decimation keep them in place.

#include "support.hpp"

#include <set>

using namespace test_support;

namespace {

std::array<double, 3> point(const mesh& m, std::uint64_t i) {
    std::array<double, 3> p{};
    for (std::size_t a = 0; a < 3; ++a) {
        p[a] = scalar_at(m.points, static_cast<std::size_t>(3 * i + a));
    }
    return p;
}

std::array<double, 3> mean_point(const mesh& m) {
    std::array<double, 3> sum{};
    for (std::uint64_t i = 0; i < m.point_count(); ++i) {
        const auto p = point(m, i);
        for (std::size_t a = 0; a < 3; ++a) {
            sum[a] += p[a];
        }
    }
    const double n = static_cast<double>(m.point_count());
    return {sum[0] / n, sum[1] / n, sum[2] / n};
}

/// Volume enclosed by the triangles (divergence theorem): positive when they face outwards.
double signed_volume(const mesh& m) {
    REQUIRE(m.polys);
    const auto& offsets = m.polys->offsets;
    const auto& connectivity = m.polys->connectivity;
    double volume = 0;
    for (std::uint64_t c = 0; c + 1 < offsets.count(); ++c) {
        const auto begin = offsets.scalar<std::int64_t>(c);
        const auto end = offsets.scalar<std::int64_t>(c + 1);
        const auto p0 = point(m, static_cast<std::uint64_t>(connectivity.scalar<std::int64_t>(begin)));
        for (auto k = begin + 1; k + 1 < end; ++k) {
            const auto p1 = point(m, static_cast<std::uint64_t>(connectivity.scalar<std::int64_t>(k)));
            const auto p2 =
                point(m, static_cast<std::uint64_t>(connectivity.scalar<std::int64_t>(k + 1)));
            volume += (p0[0] * (p1[1] * p2[2] - p1[2] * p2[1]) -
                       p0[1] * (p1[0] * p2[2] - p1[2] * p2[0]) +
                       p0[2] * (p1[0] * p2[1] - p1[1] * p2[0])) /
                      6.0;
        }
    }
    return volume;
}

/// Centroid of the enclosed solid (sum of the tetrahedra from the origin to each triangle).
std::array<double, 3> solid_centroid(const mesh& m) {
    const auto& offsets = m.polys->offsets;
    const auto& connectivity = m.polys->connectivity;
    std::array<double, 3> sum{};
    double volume = 0;
    for (std::uint64_t c = 0; c + 1 < offsets.count(); ++c) {
        const auto begin = offsets.scalar<std::int64_t>(c);
        const auto end = offsets.scalar<std::int64_t>(c + 1);
        const auto p0 = point(m, static_cast<std::uint64_t>(connectivity.scalar<std::int64_t>(begin)));
        for (auto k = begin + 1; k + 1 < end; ++k) {
            const auto p1 = point(m, static_cast<std::uint64_t>(connectivity.scalar<std::int64_t>(k)));
            const auto p2 =
                point(m, static_cast<std::uint64_t>(connectivity.scalar<std::int64_t>(k + 1)));
            const double v = (p0[0] * (p1[1] * p2[2] - p1[2] * p2[1]) -
                              p0[1] * (p1[0] * p2[2] - p1[2] * p2[0]) +
                              p0[2] * (p1[0] * p2[1] - p1[1] * p2[0])) /
                             6.0;
            volume += v;
            for (std::size_t a = 0; a < 3; ++a) {
                sum[a] += v * (p0[a] + p1[a] + p2[a]) / 4.0;
            }
        }
    }
    return {sum[0] / volume, sum[1] / volume, sum[2] / volume};
}

double radius_spread(const mesh& m, const std::array<double, 3>& centre) {
    double sum = 0;
    double sum_squares = 0;
    for (std::uint64_t i = 0; i < m.point_count(); ++i) {
        const double r = distance(point(m, i), centre);
        sum += r;
        sum_squares += r * r;
    }
    const double n = static_cast<double>(m.point_count());
    return std::sqrt(sum_squares / n - (sum / n) * (sum / n));
}

mesh sphere_surface(const matrix4& m, const std::array<double, 3>& centre, space s = space::ras) {
    invoke_params params;
    params.inputs.emplace_back("volume", sphere_phantom(phantom_dims, m, {{centre, 8.0, 100}}, s));
    params.parameters.emplace_back("level", 50.0);
    return *run("iso_surface", params).output_as<mesh>("surface");
}

matrix4 left_handed(matrix4 m) {
    // Reverse the k axis: the same grid points, listed the other way along k.
    for (std::size_t row = 0; row < 3; ++row) {
        m[row * 4 + 3] += m[row * 4 + 2] * static_cast<double>(phantom_dims[2] - 1);
        m[row * 4 + 2] = -m[row * 4 + 2];
    }
    return m;
}

} // namespace

TEST_CASE("iso_surface: the surface of a sphere is centred at the sphere's RAS centre on an "
          "oblique grid [IMG-2]") {
    const matrix4 m = oblique_matrix();
    const auto centre = apply(m, 19.5, 17.5, 15.5);
    const mesh surface = sphere_surface(m, centre);
    CHECK(surface.space == space::ras);
    CHECK(surface.point_count() > 500);
    REQUIRE(surface.polys);
    CHECK(distance(mean_point(surface), centre) < 0.15);
    double radius = 0;
    for (std::uint64_t i = 0; i < surface.point_count(); ++i) {
        radius += distance(point(surface, i), centre);
    }
    CHECK(radius / static_cast<double>(surface.point_count()) == doctest::Approx(8.0).epsilon(0.06));
    CHECK(std::abs(signed_volume(surface)) == doctest::Approx(4.0 / 3.0 * M_PI * 512).epsilon(0.1));
}

TEST_CASE("iso_surface: an LPS image gives a surface in LPS at the same physical place "
          "[MESH-3]") {
    const matrix4 m = oblique_matrix();
    const auto ras_centre = apply(m, 19.5, 17.5, 15.5);
    const image ras_volume = sphere_phantom(phantom_dims, m, {{ras_centre, 8.0, 100}});
    invoke_params params;
    params.inputs.emplace_back("volume", ras_volume.in_space(space::lps));
    const mesh lps_surface = *run("iso_surface", params).output_as<mesh>("surface");
    CHECK(lps_surface.space == space::lps);
    CHECK(distance(mean_point(lps_surface.in_space(space::ras)), ras_centre) < 0.15);
    CHECK(distance(mean_point(lps_surface), ras_centre) > 1.0);
}

TEST_CASE("iso_surface: triangles keep their orientation in space whatever the matrix's "
          "handedness") {
    const matrix4 right = oblique_matrix();
    const auto centre = apply(right, 19.5, 17.5, 15.5);
    const double volume_right = signed_volume(sphere_surface(right, centre));
    const double volume_left = signed_volume(sphere_surface(left_handed(right), centre));
    CHECK(linear_determinant(left_handed(right)) < 0);
    CHECK(volume_right == doctest::Approx(volume_left).epsilon(0.001));
}

TEST_CASE("iso_surface: labels mode gives one surface per label with the label values") {
    const matrix4 m = oblique_matrix();
    const auto a = apply(m, 12, 18, 16);
    const auto b = apply(m, 28, 18, 16);
    const image labels = sphere_phantom(phantom_dims, m, {{a, 5.0, 2}, {b, 4.0, 5}}, space::ras,
                                        image_kind::label);
    invoke_params params;
    params.inputs.emplace_back("volume", labels);
    const mesh surface = *run("iso_surface", params).output_as<mesh>("surface");
    REQUIRE(surface.point_data.size() == 1);
    CHECK(surface.point_data[0].name == "label");
    std::set<double> values;
    const typed_array& label_values = surface.point_data[0].array;
    for (std::uint64_t i = 0; i < label_values.count(); ++i) {
        const double label = scalar_at(label_values, static_cast<std::size_t>(i));
        values.insert(label);
        // Every point labelled 2 lies on sphere a, every point labelled 5 on sphere b.
        const auto p = point(surface, i);
        if (label == 2) {
            CHECK(distance(p, a) == doctest::Approx(5.0).epsilon(0.25));
        }
    }
    CHECK(values == std::set<double>{2, 5});

    SUBCASE("only the labels asked for") {
        params.parameters.emplace_back("labels", std::vector<std::int64_t>{5});
        const mesh only_b = *run("iso_surface", params).output_as<mesh>("surface");
        const auto mean = mean_point(only_b);
        CHECK(distance(mean, b) < 0.2);
    }
}

TEST_CASE("mesh_smoothing and mesh_decimation keep the surface in place") {
    const matrix4 m = oblique_matrix();
    const auto centre = apply(m, 19.5, 17.5, 15.5);
    const mesh surface = sphere_surface(m, centre);

    invoke_params smoothing;
    smoothing.inputs.emplace_back("mesh", surface);
    test_context ctx;
    const mesh smoothed = *run("mesh_smoothing", smoothing, ctx).output_as<mesh>("smoothed");
    CHECK(smoothed.space == space::ras);
    CHECK(smoothed.point_count() == surface.point_count());
    CHECK(smoothed.polys == surface.polys);
    CHECK(radius_spread(smoothed, centre) < radius_spread(surface, centre));
    CHECK(distance(solid_centroid(smoothed), centre) < 0.1);
    CHECK(non_decreasing(ctx.fractions()));

    invoke_params decimation;
    decimation.inputs.emplace_back("mesh", surface);
    decimation.parameters.emplace_back("target_reduction", 0.6);
    const mesh decimated = *run("mesh_decimation", decimation).output_as<mesh>("decimated");
    REQUIRE(decimated.polys);
    CHECK(decimated.polys->cell_count() < surface.polys->cell_count() / 2);
    CHECK(decimated.polys->cell_count() > surface.polys->cell_count() / 4);
    CHECK(distance(solid_centroid(decimated), centre) < 0.1);
    CHECK(std::abs(signed_volume(decimated)) ==
          doctest::Approx(std::abs(signed_volume(surface))).epsilon(0.05));
}
