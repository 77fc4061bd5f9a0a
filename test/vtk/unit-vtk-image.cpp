#include <slicerbridge/vtk/image.hpp>

#include "geometry.hpp"

#include <doctest/doctest.h>

#include <vtkImageData.h>
#include <vtkNew.h>
#include <vtkPointData.h>

#include <cstring>
#include <numeric>
#include <vector>

using namespace slicerbridge;
using test_support::apply;
using test_support::oblique_matrix;

namespace {

image numbered_image(std::array<std::uint64_t, 3> dims, space s = space::ras) {
    std::vector<std::int16_t> voxels(dims[0] * dims[1] * dims[2]);
    std::iota(voxels.begin(), voxels.end(), std::int16_t{-50});
    return image::adopt(std::move(voxels), dims, oblique_matrix(), s);
}

template <class T>
void check_dtype_round_trip(dtype expected_dtype, int expected_vtk_type) {
    CAPTURE(dtype_name(expected_dtype));
    std::vector<T> voxels(2 * 3 * 4);
    for (std::size_t i = 0; i < voxels.size(); ++i) {
        voxels[i] = static_cast<T>(i * 3 + 1);
    }
    const image original = image::adopt(std::move(voxels), {2, 3, 4}, oblique_matrix());
    const auto converted = to_vtk_image(original, space::ras);
    CHECK(converted.data->GetScalarType() == expected_vtk_type);
    CHECK(converted.data->GetScalarPointer() == static_cast<const void*>(original.data.data()));
    const image back = from_vtk_image(converted.data, converted.ijk_to_space, space::ras);
    CHECK(back.dtype == expected_dtype);
    CHECK(back == original);
}

} // namespace

TEST_CASE("vtk: every dtype maps to its VTK type and back, int64 is VTK_LONG_LONG [ARRAY-3]") {
    check_dtype_round_trip<std::int8_t>(dtype::int8, VTK_SIGNED_CHAR);
    check_dtype_round_trip<std::uint8_t>(dtype::uint8, VTK_UNSIGNED_CHAR);
    check_dtype_round_trip<std::int16_t>(dtype::int16, VTK_SHORT);
    check_dtype_round_trip<std::uint16_t>(dtype::uint16, VTK_UNSIGNED_SHORT);
    check_dtype_round_trip<std::int32_t>(dtype::int32, VTK_INT);
    check_dtype_round_trip<std::uint32_t>(dtype::uint32, VTK_UNSIGNED_INT);
    check_dtype_round_trip<std::int64_t>(dtype::int64, VTK_LONG_LONG);
    check_dtype_round_trip<std::uint64_t>(dtype::uint64, VTK_UNSIGNED_LONG_LONG);
    check_dtype_round_trip<float>(dtype::float32, VTK_FLOAT);
    check_dtype_round_trip<double>(dtype::float64, VTK_DOUBLE);
    CHECK(dtype_from_vtk_type(VTK_ID_TYPE) == dtype::int64);
    CHECK(dtype_from_vtk_type(VTK_BIT) == std::nullopt);
    CHECK(dtype_from_vtk_type(VTK_STRING) == std::nullopt);
}

TEST_CASE("vtk: an oblique RAS image keeps voxel order and geometry in RAS [IMG-1] [IMG-2]") {
    const image original = numbered_image({5, 4, 3});
    const auto converted = to_vtk_image(original, space::ras);
    int extent[6];
    converted.data->GetExtent(extent);
    CHECK(extent[0] == 0);
    CHECK(extent[1] == 4);
    CHECK(extent[3] == 3);
    CHECK(extent[5] == 2);
    // Slicer's convention: the vtkImageData carries no geometry of its own.
    CHECK(converted.data->GetOrigin()[0] == 0.0);
    CHECK(converted.data->GetSpacing()[2] == 1.0);
    CHECK(converted.data->GetDirectionMatrix()->IsIdentity());
    CHECK(to_matrix4(converted.ijk_to_space) == original.ijk_to_space);
    // Voxel (i, j, k) is element i + 5 * (j + 4 * k).
    CHECK(converted.data->GetScalarComponentAsDouble(3, 2, 1, 0) == -50 + 3 + 5 * (2 + 4 * 1));
    CHECK(converted.data->GetScalarPointer() == static_cast<const void*>(original.data.data()));
}

TEST_CASE("vtk: converting to LPS flips the matrix's first two rows and shares the voxels "
          "[IMG-5]") {
    const image original = numbered_image({5, 4, 3});
    const auto lps = to_vtk_image(original, space::lps);
    CHECK(lps.space == space::lps);
    const matrix4 m = to_matrix4(lps.ijk_to_space);
    const auto ras_point = apply(original.ijk_to_space, 2, 3, 1);
    const auto lps_point = apply(m, 2, 3, 1);
    CHECK(lps_point[0] == doctest::Approx(-ras_point[0]));
    CHECK(lps_point[1] == doctest::Approx(-ras_point[1]));
    CHECK(lps_point[2] == doctest::Approx(ras_point[2]));
    CHECK(lps.data->GetScalarPointer() == static_cast<const void*>(original.data.data()));

    const image back = from_vtk_image(lps.data, lps.ijk_to_space, space::lps);
    CHECK(back.space == space::lps);
    CHECK(back.in_space(space::ras).ijk_to_space == original.ijk_to_space);
    CHECK(back.data == original.data);
}

TEST_CASE("vtk: an LPS image converted to RAS lands at the same physical place [IMG-5]") {
    const image lps_image = numbered_image({3, 3, 3}, space::lps);
    const auto ras = to_vtk_image(lps_image, space::ras);
    const matrix4 m = to_matrix4(ras.ijk_to_space);
    const auto in_lps = apply(lps_image.ijk_to_space, 1, 2, 0);
    const auto in_ras = apply(m, 1, 2, 0);
    CHECK(in_ras[0] == doctest::Approx(-in_lps[0]));
    CHECK(in_ras[1] == doctest::Approx(-in_lps[1]));
    CHECK(in_ras[2] == doctest::Approx(in_lps[2]));
}

TEST_CASE("vtk: an extent not starting at 0 is folded into the matrix [IMG-2]") {
    vtkNew<vtkImageData> data;
    data->SetExtent(2, 5, -1, 1, 3, 4);
    data->AllocateScalars(VTK_FLOAT, 1);
    for (int k = 3; k <= 4; ++k) {
        for (int j = -1; j <= 1; ++j) {
            for (int i = 2; i <= 5; ++i) {
                *static_cast<float*>(data->GetScalarPointer(i, j, k)) =
                    static_cast<float>(100 * i + 10 * j + k);
            }
        }
    }
    // Geometry the convention ignores.
    data->SetOrigin(100, 200, 300);
    data->SetSpacing(7, 7, 7);
    const matrix4 m = oblique_matrix();
    const image result = from_vtk_image(data, m, space::ras);
    CHECK(result.dims == std::array<std::uint64_t, 3>{4, 3, 2});
    CHECK(result.voxels<float>()[0] == doctest::Approx(100 * 2 + 10 * -1 + 3));
    CHECK(result.data.data() == static_cast<const std::byte*>(data->GetScalarPointer()));
    for (int k = 0; k < 2; ++k) {
        for (int j = 0; j < 3; ++j) {
            for (int i = 0; i < 4; ++i) {
                const auto ours = apply(result.ijk_to_space, i, j, k);
                const auto theirs = apply(m, i + 2, j - 1, k + 3);
                for (int axis = 0; axis < 3; ++axis) {
                    CHECK(ours[axis] == doctest::Approx(theirs[axis]));
                }
                const float expected = static_cast<float>(100 * (i + 2) + 10 * (j - 1) + k + 3);
                CHECK(result.voxels<float>()[i + 4 * (j + 3 * k)] == expected);
            }
        }
    }
}

TEST_CASE("vtk: a multi-component image becomes a vector image and back") {
    std::vector<float> voxels(4 * 3 * 2 * 3);
    std::iota(voxels.begin(), voxels.end(), 0.5f);
    const image original = image::adopt(std::move(voxels), {4, 3, 2}, oblique_matrix(),
                                        space::ras, image_kind::vector, 3);
    const auto converted = to_vtk_image(original, space::ras);
    CHECK(converted.data->GetNumberOfScalarComponents() == 3);
    CHECK(converted.data->GetScalarComponentAsDouble(1, 2, 1, 2) ==
          doctest::Approx(0.5 + 3 * (1 + 4 * (2 + 3 * 1)) + 2));
    const image back = from_vtk_image(converted.data, converted.ijk_to_space, space::ras);
    CHECK(back.kind == image_kind::vector);
    CHECK(back == original);
}

TEST_CASE("vtk: the kind asked for is kept, and a label image keeps its integer voxels") {
    std::vector<std::uint8_t> labels{0, 1, 2, 1, 0, 3, 3, 0};
    const image original =
        image::adopt(std::move(labels), {2, 2, 2}, oblique_matrix(), space::ras, image_kind::label);
    const auto converted = to_vtk_image(original, space::ras);
    const image back =
        from_vtk_image(converted.data, converted.ijk_to_space, space::ras, image_kind::label);
    CHECK(back.kind == image_kind::label);
    CHECK(back.data == original.data);
}

TEST_CASE("vtk: big-endian voxels are converted to native order in a copy [ARRAY-2]") {
    image big = numbered_image({2, 2, 2});
    std::vector<std::byte> swapped(big.data.begin(), big.data.end());
    for (std::size_t i = 0; i + 1 < swapped.size(); i += 2) {
        std::swap(swapped[i], swapped[i + 1]);
    }
    big.data = buffer::copy_of(swapped.data(), swapped.size());
    big.byte_order = native_byte_order == byte_order::little ? byte_order::big : byte_order::little;
    const auto converted = to_vtk_image(big, space::ras);
    CHECK(converted.data->GetScalarPointer() != static_cast<const void*>(big.data.data()));
    CHECK(converted.data->GetScalarComponentAsDouble(1, 1, 1, 0) == -50 + 7);
}

TEST_CASE("vtk: unaligned voxels are copied, never viewed misaligned") {
    const image source = numbered_image({3, 1, 1});
    auto storage = buffer::allocate(source.data.size() + 1);
    std::memcpy(storage.mutable_data() + 1, source.data.data(), source.data.size());
    image unaligned = source;
    unaligned.data = storage.slice(1, source.data.size());
    const auto converted = to_vtk_image(unaligned, space::ras);
    CHECK(converted.data->GetScalarPointer() != static_cast<const void*>(unaligned.data.data()));
    CHECK(converted.data->GetScalarComponentAsDouble(2, 0, 0, 0) == -48);
}

TEST_CASE("vtk: voxels viewed by VTK outlive the image, and are released with the VTK array") {
    const std::size_t held_before = slicerbridge::detail::vtk_adopted_memory::instance().size();
    vtkSmartPointer<vtkImageData> data;
    {
        const image original = numbered_image({4, 4, 4});
        data = to_vtk_image(original, space::ras).data;
        CHECK(slicerbridge::detail::vtk_adopted_memory::instance().size() == held_before + 1);
    }
    CHECK(data->GetScalarComponentAsDouble(3, 3, 3, 0) == -50 + 63);
    data = nullptr;
    CHECK(slicerbridge::detail::vtk_adopted_memory::instance().size() == held_before);
}

TEST_CASE("vtk: an image viewing VTK's voxels keeps the VTK array alive") {
    image result;
    {
        vtkNew<vtkImageData> data;
        data->SetDimensions(3, 3, 3);
        data->AllocateScalars(VTK_UNSIGNED_SHORT, 1);
        auto* values = static_cast<std::uint16_t*>(data->GetScalarPointer());
        std::iota(values, values + 27, std::uint16_t{1000});
        result = from_vtk_image(data, identity_matrix, space::ras);
    }
    CHECK(result.voxels<std::uint16_t>()[26] == 1026);
}

TEST_CASE("vtk: the image's own geometry gives the index-to-physical matrix") {
    vtkNew<vtkImageData> data;
    data->SetExtent(1, 3, 0, 2, 0, 1);
    data->SetOrigin(10, 20, 30);
    data->SetSpacing(0.5, 2, 3);
    data->SetDirectionMatrix(0, -1, 0, 1, 0, 0, 0, 0, 1);
    data->AllocateScalars(VTK_SHORT, 1);
    const matrix4 m = index_to_physical_matrix(data);
    double expected[3];
    data->TransformIndexToPhysicalPoint(2, 1, 1, expected);
    const auto ours = apply(m, 2, 1, 1);
    for (int axis = 0; axis < 3; ++axis) {
        CHECK(ours[axis] == doctest::Approx(expected[axis]));
    }
    const image result = from_vtk_image(data, m, space::lps);
    const auto first = apply(result.ijk_to_space, 0, 0, 0);
    data->TransformIndexToPhysicalPoint(1, 0, 0, expected);
    CHECK(first[0] == doctest::Approx(expected[0]));
    CHECK(first[1] == doctest::Approx(expected[1]));
}

TEST_CASE("vtk: images that cannot be converted are refused with std::invalid_argument "
          "[IMG-2] [IMG-3]") {
    vtkNew<vtkImageData> empty;
    empty->SetDimensions(2, 2, 2);
    CHECK_THROWS_AS(from_vtk_image(empty, identity_matrix, space::ras), std::invalid_argument);

    vtkNew<vtkImageData> data;
    data->SetDimensions(2, 2, 2);
    data->AllocateScalars(VTK_SHORT, 1);
    matrix4 singular = identity_matrix;
    singular[10] = 0;
    CHECK_THROWS_AS(from_vtk_image(data, singular, space::ras), std::invalid_argument);

    image wrong_length = numbered_image({2, 2, 2});
    wrong_length.dims = {3, 2, 2};
    CHECK_THROWS_AS(to_vtk_image(wrong_length, space::ras), std::invalid_argument);
}
