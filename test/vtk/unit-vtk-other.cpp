#include <slicerbridge/vtk.hpp>

#include "geometry.hpp"

#include <doctest/doctest.h>

#include <vtkBitArray.h>
#include <vtkDoubleArray.h>
#include <vtkNew.h>
#include <vtkSOADataArrayTemplate.h>
#include <vtkStringArray.h>
#include <vtkTable.h>

#include <vector>

using namespace slicerbridge;

TEST_CASE("vtk: a typed array and a vtkDataArray share their values both ways") {
    const typed_array original =
        typed_array::adopt(std::vector<std::int32_t>{1, -2, 3, -4, 5, -6}, 2);
    const auto array = to_vtk_array(original, "pairs");
    CHECK(std::string(array->GetName()) == "pairs");
    CHECK(array->GetNumberOfTuples() == 3);
    CHECK(array->GetComponent(2, 1) == -6);
    CHECK(array->GetVoidPointer(0) == static_cast<const void*>(original.data.data()));
    const typed_array back = from_vtk_array(array);
    CHECK(back == original);
    CHECK(back.data.data() == original.data.data());
}

TEST_CASE("vtk: arrays without the standard memory layout are copied") {
    vtkNew<vtkSOADataArrayTemplate<double>> soa;
    soa->SetNumberOfComponents(2);
    soa->SetNumberOfTuples(2);
    soa->SetTypedComponent(0, 0, 1.0);
    soa->SetTypedComponent(0, 1, 2.0);
    soa->SetTypedComponent(1, 0, 3.0);
    soa->SetTypedComponent(1, 1, 4.0);
    const typed_array values = from_vtk_array(soa);
    CHECK(values.dtype == dtype::float64);
    CHECK(values.components == 2);
    CHECK(values.scalar<double>(1) == 2.0);
    CHECK(values.scalar<double>(2) == 3.0);
    vtkNew<vtkBitArray> bits;
    CHECK_THROWS_AS(from_vtk_array(bits), std::invalid_argument);
}

TEST_CASE("vtk: a transform in LPS is F T F of the RAS one, both ways [XFM-1]") {
    const matrix4 ras = test_support::oblique_matrix();
    const transform t{ras, space::ras};
    const auto lps = to_vtk_matrix(t, space::lps);
    // A point mapped in LPS is the RAS mapping of the flipped point, flipped back.
    const double ras_point[3] = {3, -4, 5};
    const auto mapped_ras = test_support::apply(ras, ras_point[0], ras_point[1], ras_point[2]);
    const auto mapped_lps =
        test_support::apply(to_matrix4(lps), -ras_point[0], -ras_point[1], ras_point[2]);
    CHECK(mapped_lps[0] == doctest::Approx(-mapped_ras[0]));
    CHECK(mapped_lps[1] == doctest::Approx(-mapped_ras[1]));
    CHECK(mapped_lps[2] == doctest::Approx(mapped_ras[2]));
    const transform back = from_vtk_matrix(lps, space::lps);
    CHECK(back.in_space(space::ras).matrix == ras);
    CHECK(to_matrix4(to_vtk_matrix(t, space::ras)) == ras);

    vtkNew<vtkMatrix4x4> projective;
    projective->SetElement(3, 0, 0.5);
    CHECK_THROWS_AS(from_vtk_matrix(projective, space::ras), std::invalid_argument);
}

TEST_CASE("vtk: tables keep numeric, string and bool columns [TBL-1]") {
    table original;
    original.columns.push_back({"label", typed_array::adopt(std::vector<std::int64_t>{1, 2, 3})});
    original.columns.push_back(
        {"volume_mm3", typed_array::adopt(std::vector<double>{1.5, 2.5, 3.5})});
    original.columns.push_back({"name", std::vector<std::string>{"liver", "", "kidney, left"}});
    original.columns.push_back({"present", std::vector<bool>{true, false, true}});
    const auto converted = to_vtk_table(original);
    CHECK(converted->GetNumberOfColumns() == 4);
    CHECK(converted->GetNumberOfRows() == 3);
    CHECK(converted->GetValue(2, 2).ToString() == "kidney, left");
    CHECK(vtkBitArray::SafeDownCast(converted->GetColumn(3)) != nullptr);
    CHECK(converted->GetColumn(1)->GetVoidPointer(0) ==
          static_cast<const void*>(std::get<typed_array>(original.columns[1].values).data.data()));
    CHECK(from_vtk_table(converted) == original);

    vtkNew<vtkTable> pairs;
    vtkNew<vtkDoubleArray> two_components;
    two_components->SetName("xy");
    two_components->SetNumberOfComponents(2);
    pairs->AddColumn(two_components);
    CHECK_THROWS_AS(from_vtk_table(pairs), std::invalid_argument);
}

TEST_CASE("vtk: point lists keep coordinates and labels, converted between spaces [PTS-1]") {
    const double xyz[6] = {1, 2, 3, -4, 5.5, 6};
    point_list original = point_list::copy_of(xyz, 2, space::ras);
    original.labels = std::vector<std::string>{"F-1", "tip"};
    const auto lps = to_vtk_points(original, space::lps);
    CHECK(lps.points->GetNumberOfPoints() == 2);
    double p[3];
    lps.points->GetPoint(1, p);
    CHECK(p[0] == 4.0);
    CHECK(p[1] == -5.5);
    CHECK(p[2] == 6.0);
    REQUIRE(lps.labels != nullptr);
    CHECK(lps.labels->GetValue(1) == "tip");
    const point_list back = from_vtk_points(lps.points, space::lps, lps.labels);
    CHECK(back.in_space(space::ras) == original);

    const auto same = to_vtk_points(original, space::ras);
    CHECK(same.points->GetData()->GetVoidPointer(0) ==
          static_cast<const void*>(original.points.data.data()));

    vtkNew<vtkStringArray> one_label;
    one_label->InsertNextValue("only one");
    CHECK_THROWS_AS(from_vtk_points(lps.points, space::lps, one_label),
                    std::invalid_argument);
}
