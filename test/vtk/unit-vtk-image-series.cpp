#include <slicerbridge/vtk/image_series.hpp>

#include "geometry.hpp"

#include <doctest/doctest.h>

#include <vtkImageData.h>

#include <numeric>
#include <vector>

using namespace slicerbridge;
using test_support::oblique_matrix;

namespace {

/// Three 4x3x2 int16 volumes at 0, 2 and 4 s, the last one shifted by 1.5 mm.
image_series moving_series(space s) {
    std::vector<image> volumes;
    for (int v = 0; v < 3; ++v) {
        std::vector<std::int16_t> voxels(24);
        std::iota(voxels.begin(), voxels.end(), static_cast<std::int16_t>(100 * v));
        matrix4 m = oblique_matrix();
        if (v == 2) {
            m[3] += 1.5;
        }
        volumes.push_back(image::adopt(std::move(voxels), {4, 3, 2}, m, s));
    }
    return image_series::from_volumes(volumes, series_axis::time, {0.0, 2.0, 4.0});
}

} // namespace

TEST_CASE("vtk: a series is one vtkImageData and matrix per volume, each its own [SER-2]") {
    const image_series series = moving_series(space::lps);
    const auto converted = to_vtk_images(series, space::ras);
    REQUIRE(converted.size() == 3);
    for (std::size_t v = 0; v < 3; ++v) {
        CHECK(to_matrix4(converted[v].ijk_to_space) ==
              detail::flip_rows_xy(series.volumes[v].ijk_to_space));
        CHECK(converted[v].data->GetScalarPointer() ==
              static_cast<const void*>(series.data.data() + 48 * v)); // viewed, not copied
    }
    const image_series back = from_vtk_images(converted, series_axis::time, {0.0, 2.0, 4.0});
    CHECK(back.space == space::ras);
    CHECK(back == series.in_space(space::ras));
    CHECK(back.in_space(space::lps) == series);
}

TEST_CASE("vtk: volumes of different sizes or values that break [SER-3] are refused") {
    auto converted = to_vtk_images(moving_series(space::ras), space::ras);
    CHECK_THROWS_AS(from_vtk_images(converted, series_axis::time, {0.0, 2.0, 2.0}),
                    std::invalid_argument);
    CHECK_THROWS_AS(from_vtk_images(converted, series_axis::time, {0.0, 2.0}),
                    std::invalid_argument);
    converted[1].data->SetExtent(0, 1, 0, 2, 0, 1);
    CHECK_THROWS_AS(from_vtk_images(converted, series_axis::time, {0.0, 2.0, 4.0}),
                    std::invalid_argument);
}
