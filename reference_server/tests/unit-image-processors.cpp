// The image processors on volumes with oblique geometry: results land at the right place.

#include "support.hpp"

#include <algorithm>
#include <map>

using namespace test_support;

namespace {

/// The physical centre of the volume's grid, in RAS.
std::array<double, 3> grid_centre(const matrix4& m) {
    return apply(m, (phantom_dims[0] - 1) / 2.0, (phantom_dims[1] - 1) / 2.0, (phantom_dims[2] - 1) / 2.0);
}

std::array<double, 3> offset(std::array<double, 3> p, double dx, double dy, double dz) {
    return {p[0] + dx, p[1] + dy, p[2] + dz};
}

template <class T>
std::map<T, std::size_t> histogram(const image& img) {
    std::map<T, std::size_t> counts;
    const T* voxels = img.voxels<T>();
    for (std::uint64_t i = 0; i < *img.voxel_count(); ++i) {
        ++counts[voxels[i]];
    }
    return counts;
}

const table& statistics_of(const invoke_result& result) {
    const auto* t = result.output_as<table>("statistics");
    REQUIRE(t != nullptr);
    return *t;
}

double cell(const table& t, const std::string& column_name, std::size_t row) {
    const column* c = t.find(column_name);
    REQUIRE(c != nullptr);
    return scalar_at(std::get<typed_array>(c->values), row);
}

} // namespace

TEST_CASE("gaussian_smoothing: sigma is in millimetres, isotropic in space on an oblique, "
          "anisotropic grid [IMG-2] [PROG-1]") {
    const matrix4 m = oblique_matrix();
    std::vector<float> impulse(phantom_dims[0] * phantom_dims[1] * phantom_dims[2], 0.0f);
    const std::array<std::uint64_t, 3> at{20, 18, 16};
    impulse[at[0] + phantom_dims[0] * (at[1] + phantom_dims[1] * at[2])] = 1000.0f;
    invoke_params params;
    params.inputs.emplace_back("volume", image::adopt(std::move(impulse), phantom_dims, m));
    params.parameters.emplace_back("sigma", 2.0);
    test_context ctx;
    const auto result = run("gaussian_smoothing", params, ctx);
    const auto* smoothed = result.output_as<image>("smoothed");
    REQUIRE(smoothed != nullptr);
    CHECK(smoothed->dtype == dtype::float32);
    CHECK(smoothed->ijk_to_space == m);
    CHECK(smoothed->dims == phantom_dims);

    // The weighted covariance of physical positions is sigma^2 in every direction.
    const float* values = smoothed->voxels<float>();
    double total = 0;
    std::array<double, 3> mean{};
    std::array<double, 9> second{};
    std::size_t index = 0;
    for (std::uint64_t k = 0; k < phantom_dims[2]; ++k) {
        for (std::uint64_t j = 0; j < phantom_dims[1]; ++j) {
            for (std::uint64_t i = 0; i < phantom_dims[0]; ++i, ++index) {
                const double w = values[index];
                const auto p = apply(m, static_cast<double>(i), static_cast<double>(j),
                                     static_cast<double>(k));
                total += w;
                for (std::size_t a = 0; a < 3; ++a) {
                    mean[a] += w * p[a];
                    for (std::size_t b = 0; b < 3; ++b) {
                        second[a * 3 + b] += w * p[a] * p[b];
                    }
                }
            }
        }
    }
    CHECK(total == doctest::Approx(1000.0).epsilon(0.02));
    for (auto& x : mean) {
        x /= total;
    }
    const auto expected_centre = apply(m, 20, 18, 16);
    for (std::size_t a = 0; a < 3; ++a) {
        CHECK(mean[a] == doctest::Approx(expected_centre[a]).epsilon(0.001));
        for (std::size_t b = 0; b < 3; ++b) {
            const double covariance = second[a * 3 + b] / total - mean[a] * mean[b];
            CHECK(covariance == doctest::Approx(a == b ? 4.0 : 0.0).epsilon(0.05).scale(4.0));
        }
    }
    const auto fractions = ctx.fractions();
    REQUIRE_FALSE(fractions.empty());
    CHECK(non_decreasing(fractions));
    CHECK(fractions.back() == 1.0);
}

TEST_CASE("threshold: a label image on the same grid with the segment [IMG-4]") {
    const matrix4 m = oblique_matrix();
    const auto centre = grid_centre(m);
    const image volume = sphere_phantom(phantom_dims, m, {{centre, 8.0, 100}});
    invoke_params params;
    params.inputs.emplace_back("volume", volume);
    params.parameters.emplace_back("lower", 50.0);
    params.parameters.emplace_back("upper", 150.0);
    params.parameters.emplace_back("inside_value", std::int64_t{7});
    const auto result = run("threshold", params);
    const auto* labels = result.output_as<image>("labels");
    REQUIRE(labels != nullptr);
    CHECK(labels->kind == image_kind::label);
    CHECK(labels->dtype == dtype::uint8);
    CHECK(labels->ijk_to_space == m);
    REQUIRE(labels->segments.size() == 1);
    CHECK(labels->segments[0].value == 7);
    const auto in = histogram<std::int16_t>(volume);
    const auto out = histogram<std::uint8_t>(*labels);
    CHECK(out.at(7) == in.at(100));
    CHECK(out.at(0) == in.at(0));

    SUBCASE("a label type wide enough for the values") {
        params.parameters.emplace_back("outside_value", std::int64_t{-1});
        CHECK(run("threshold", params).output_as<image>("labels")->dtype == dtype::int16);
    }
    SUBCASE("lower above upper is invalid_argument naming lower [INV-2]") {
        params.parameters[0].second = 200.0;
        try {
            run("threshold", params);
            FAIL("no error");
        } catch (const processor_error& e) {
            CHECK(e.code() == static_cast<int>(error::invalid_argument));
            CHECK(e.details().find("name")->as_string() == "lower");
        }
    }
}

TEST_CASE("connected_components: components ranked by size, small and extra ones dropped") {
    const matrix4 m = oblique_matrix();
    const auto centre = grid_centre(m);
    const image labels = sphere_phantom(
        phantom_dims, m, {{offset(centre, -8, 0, 0), 6.0, 1}, {offset(centre, 8, 2, 0), 3.5, 1}}, space::ras,
        image_kind::label);
    invoke_params params;
    params.inputs.emplace_back("labels", labels);
    const auto result = run("connected_components", params);
    const auto* components = result.output_as<image>("components");
    REQUIRE(components != nullptr);
    CHECK(components->dtype == dtype::int32);
    CHECK(components->ijk_to_space == m);
    const auto counts = histogram<std::int32_t>(*components);
    REQUIRE(counts.size() == 3);
    CHECK(counts.at(1) > counts.at(2));
    CHECK(counts.at(1) + counts.at(2) == histogram<std::int16_t>(labels).at(1));
    REQUIRE(components->segments.size() == 2);
    CHECK(components->segments[1].name == "component 2");
    // The largest component is the sphere of radius 6 around centre - (8, 0, 0).
    const auto stats = run("label_statistics", [&] {
        invoke_params p;
        p.inputs.emplace_back("labels", *components);
        return p;
    }());
    const table& t = statistics_of(stats);
    CHECK(cell(t, "centroid_r", 0) == doctest::Approx(centre[0] - 8).epsilon(0.02));

    SUBCASE("max_components keeps the largest") {
        params.parameters.emplace_back("max_components", std::int64_t{1});
        const auto kept = histogram<std::int32_t>(
            *run("connected_components", params).output_as<image>("components"));
        CHECK(kept.size() == 2);
        CHECK(kept.at(1) == counts.at(1));
    }
    SUBCASE("minimum_size drops the small one") {
        params.parameters.emplace_back("minimum_size",
                                       static_cast<std::int64_t>(counts.at(2) + 1));
        const auto kept = histogram<std::int32_t>(
            *run("connected_components", params).output_as<image>("components"));
        CHECK(kept.size() == 2);
    }
}

TEST_CASE("label_statistics: counts, volumes, intensities and RAS centroids on an oblique "
          "grid, also from an LPS image [IMG-5]") {
    const matrix4 m = oblique_matrix();
    const auto centre = grid_centre(m);
    const auto a = offset(centre, -7, 1, -2);
    const auto b = offset(centre, 7, -1, 2);
    const image labels = sphere_phantom(phantom_dims, m, {{a, 5.0, 3}, {b, 4.0, 9}}, space::ras,
                                        image_kind::label);
    const image intensities = sphere_phantom(phantom_dims, m, {{a, 5.0, 40}, {b, 4.0, 90}});
    invoke_params params;
    params.inputs.emplace_back("labels", labels);
    params.inputs.emplace_back("volume", intensities);
    const table t = statistics_of(run("label_statistics", params));
    CHECK(t.row_count() == 2);
    const auto counts = histogram<std::int16_t>(labels);
    const double voxel_mm3 = std::abs(linear_determinant(m));
    CHECK(cell(t, "label", 0) == 3);
    CHECK(cell(t, "label", 1) == 9);
    CHECK(cell(t, "voxel_count", 0) == counts.at(3));
    CHECK(cell(t, "volume_mm3", 1) == doctest::Approx(counts.at(9) * voxel_mm3));
    // A sampled sphere's volume is close to the real one.
    CHECK(cell(t, "volume_mm3", 0) == doctest::Approx(4.0 / 3.0 * M_PI * 125).epsilon(0.05));
    CHECK(cell(t, "mean", 0) == 40);
    CHECK(cell(t, "min", 1) == 90);
    CHECK(cell(t, "max", 1) == 90);
    for (std::size_t axis = 0; axis < 3; ++axis) {
        const char* names[] = {"centroid_r", "centroid_a", "centroid_s"};
        CHECK(cell(t, names[axis], 0) == doctest::Approx(a[axis]).epsilon(0.01));
        CHECK(cell(t, names[axis], 1) == doctest::Approx(b[axis]).epsilon(0.01));
    }

    SUBCASE("an LPS label image reports the same RAS centroids") {
        invoke_params lps;
        lps.inputs.emplace_back("labels", labels.in_space(space::lps));
        const table from_lps = statistics_of(run("label_statistics", lps));
        CHECK(cell(from_lps, "centroid_r", 0) == doctest::Approx(cell(t, "centroid_r", 0)));
        CHECK(cell(from_lps, "centroid_a", 1) == doctest::Approx(cell(t, "centroid_a", 1)));
        CHECK(from_lps.find("mean") == nullptr);
    }
    SUBCASE("a volume on another grid is invalid_argument naming volume [INV-2]") {
        invoke_params shifted = params;
        std::get<image>(shifted.inputs[1].second).ijk_to_space[3] += 1.0;
        try {
            run("label_statistics", shifted);
            FAIL("no error");
        } catch (const processor_error& e) {
            CHECK(e.code() == static_cast<int>(error::invalid_argument));
            CHECK(e.details().find("name")->as_string() == "volume");
        }
    }
    SUBCASE("a scalar image is refused for the label input [INV-2]") {
        invoke_params wrong;
        wrong.inputs.emplace_back("labels", intensities);
        CHECK_THROWS_AS(run("label_statistics", wrong), processor_error);
    }
}

TEST_CASE("resample: a translation of whole voxels moves the content by exactly it") {
    const matrix4 m = oblique_matrix();
    const auto centre = grid_centre(m);
    const image volume = sphere_phantom(phantom_dims, m, {{centre, 6.0, 100}, {offset(centre, 5, 5, 0), 3, 50}});
    // Two voxels along i, three along j, minus one along k, in RAS millimetres.
    const std::array<double, 3> shift{2, 3, -1};
    transform move;
    for (std::size_t row = 0; row < 3; ++row) {
        move.matrix[row * 4 + 3] = m[row * 4] * shift[0] + m[row * 4 + 1] * shift[1] +
                                   m[row * 4 + 2] * shift[2];
    }
    invoke_params params;
    params.inputs.emplace_back("volume", volume);
    params.inputs.emplace_back("transform", move);
    params.parameters.emplace_back("interpolation", std::string("nearest"));
    const auto check_moved = [&](const image& out) {
        CHECK(out.dims == phantom_dims);
        CHECK(out.ijk_to_space == m);
        const auto* before = volume.voxels<std::int16_t>();
        const auto* after = out.voxels<std::int16_t>();
        REQUIRE(after != nullptr);
        std::size_t compared = 0;
        for (std::uint64_t k = 0; k < phantom_dims[2]; ++k) {
            for (std::uint64_t j = 0; j < phantom_dims[1]; ++j) {
                for (std::uint64_t i = 0; i < phantom_dims[0]; ++i) {
                    const auto from_i = static_cast<std::int64_t>(i) - 2;
                    const auto from_j = static_cast<std::int64_t>(j) - 3;
                    const auto from_k = static_cast<std::int64_t>(k) + 1;
                    const auto out_value = after[i + phantom_dims[0] * (j + phantom_dims[1] * k)];
                    if (from_i < 0 || from_j < 0 || from_k >= static_cast<std::int64_t>(phantom_dims[2])) {
                        CHECK(out_value == 0);
                        continue;
                    }
                    const auto in_value =
                        before[static_cast<std::size_t>(from_i) +
                               phantom_dims[0] * (static_cast<std::size_t>(from_j) +
                                          phantom_dims[1] * static_cast<std::size_t>(from_k))];
                    if (out_value != in_value) {
                        FAIL_CHECK("voxel " << i << "," << j << "," << k << " not moved");
                        return;
                    }
                    ++compared;
                }
            }
        }
        CHECK(compared > 30000);
    };
    check_moved(*run("resample", params).output_as<image>("resampled"));

    SUBCASE("the same transform given in LPS moves it the same way [XFM-1]") {
        params.inputs[1].second = move.in_space(space::lps);
        check_moved(*run("resample", params).output_as<image>("resampled"));
    }
    SUBCASE("an LPS volume with the same geometry moves the same way [IMG-5]") {
        params.inputs[0].second = volume.in_space(space::lps);
        const auto out = *run("resample", params).output_as<image>("resampled");
        CHECK(out.space == space::lps);
        image as_ras = out.in_space(space::ras);
        check_moved(as_ras);
    }
}

TEST_CASE("resample: linear interpolation moves the centroid by the translation, and a reference "
          "grid and a new spacing define the output grid") {
    const matrix4 m = oblique_matrix();
    const auto centre = grid_centre(m);
    const image volume = sphere_phantom(phantom_dims, m, {{centre, 7.0, 100}});
    transform move;
    move.matrix[3] = 1.7;
    move.matrix[7] = -2.3;
    move.matrix[11] = 0.9;
    invoke_params params;
    params.inputs.emplace_back("volume", volume);
    params.inputs.emplace_back("transform", move);
    params.parameters.emplace_back("spacing", std::vector<double>{1.0, 1.0, 1.0});
    const image out = *run("resample", params).output_as<image>("resampled");
    // The box (outer faces of the voxels) is kept: 40 x 0.8 mm = 32 voxels of 1 mm, and so on.
    CHECK(out.dims == std::array<std::uint64_t, 3>{32, 40, 48});
    const auto corner_before = apply(m, -0.5, -0.5, -0.5);
    const auto corner_after = apply(out.ijk_to_space, -0.5, -0.5, -0.5);
    for (std::size_t axis = 0; axis < 3; ++axis) {
        CHECK(corner_after[axis] == doctest::Approx(corner_before[axis]));
    }
    // Centroid of the intensities, weighted, in RAS.
    const auto centroid = [](const image& img) {
        std::array<double, 3> sum{};
        double total = 0;
        const auto* v = img.voxels<std::int16_t>();
        std::size_t index = 0;
        for (std::uint64_t k = 0; k < img.dims[2]; ++k) {
            for (std::uint64_t j = 0; j < img.dims[1]; ++j) {
                for (std::uint64_t i = 0; i < img.dims[0]; ++i, ++index) {
                    const auto p = apply(img.ijk_to_space, static_cast<double>(i),
                                         static_cast<double>(j), static_cast<double>(k));
                    for (std::size_t a = 0; a < 3; ++a) {
                        sum[a] += v[index] * p[a];
                    }
                    total += v[index];
                }
            }
        }
        return std::array<double, 3>{sum[0] / total, sum[1] / total, sum[2] / total};
    };
    const auto before = centroid(volume);
    const auto after = centroid(out);
    CHECK(after[0] - before[0] == doctest::Approx(1.7).epsilon(0.05).scale(2.0));
    CHECK(after[1] - before[1] == doctest::Approx(-2.3).epsilon(0.05).scale(2.0));
    CHECK(after[2] - before[2] == doctest::Approx(0.9).epsilon(0.05).scale(2.0));

    SUBCASE("a reference grid, given in LPS, is taken as it is") {
        invoke_params with_reference;
        with_reference.inputs.emplace_back("volume", volume);
        const image reference = sphere_phantom({10, 12, 14}, oblique_matrix({0, 0, 0}), {}, space::lps);
        with_reference.inputs.emplace_back("reference", reference);
        const image onto = *run("resample", with_reference).output_as<image>("resampled");
        CHECK(onto.dims == reference.dims);
        CHECK(onto.space == space::ras);
        CHECK(onto.in_space(space::lps).ijk_to_space == reference.ijk_to_space);
    }
    SUBCASE("a spacing together with a reference is invalid_argument [INV-2]") {
        params.inputs.emplace_back("reference", volume);
        CHECK_THROWS_AS(run("resample", params), processor_error);
    }
}
