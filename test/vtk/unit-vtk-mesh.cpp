#include <slicerbridge/vtk/mesh.hpp>

#include <doctest/doctest.h>

#include <vtkCellArray.h>
#include <vtkCellData.h>
#include <vtkFloatArray.h>
#include <vtkIdList.h>
#include <vtkIntArray.h>
#include <vtkNew.h>
#include <vtkPointData.h>
#include <vtkPolyData.h>

#include <vector>

using namespace slicerbridge;

namespace {

/// Eight points; one vertex cell of two points, a line of three, a triangle and a quad, a strip
/// of four; point data with three components, cell data with one.
mesh every_cell_kind() {
    mesh m;
    m.space = space::ras;
    m.points = typed_array::adopt(
        std::vector<float>{0, 0, 0, 1, 0, 0, 1, 1, 0, 0, 1, 0, 0, 0, 1, 1, 0, 1, 1, 1, 1, 0, 1, 1},
        3);
    m.verts = cell_array::adopt({0, 2}, {0, 7});
    m.lines = cell_array::adopt({0, 3}, {0, 1, 2});
    m.polys = cell_array::adopt({0, 3, 7}, {0, 1, 2, 4, 5, 6, 7});
    m.strips = cell_array::adopt({0, 4}, {3, 2, 7, 6});
    std::vector<double> normals(8 * 3);
    for (std::size_t i = 0; i < normals.size(); ++i) {
        normals[i] = 0.25 * static_cast<double>(i);
    }
    m.point_data.push_back({"Normals", typed_array::adopt(std::move(normals), 3)});
    m.point_data.push_back({"index", typed_array::adopt(std::vector<std::int32_t>{
                                         0, 1, 2, 3, 4, 5, 6, 7})});
    m.cell_data.push_back(
        {"cell_id", typed_array::adopt(std::vector<std::uint16_t>{10, 11, 12, 13, 14})});
    return m;
}

std::vector<vtkIdType> cell_points(vtkCellArray* cells, vtkIdType cell) {
    vtkNew<vtkIdList> ids;
    cells->GetCellAtId(cell, ids);
    return std::vector<vtkIdType>(ids->begin(), ids->end());
}

} // namespace

TEST_CASE("vtk: a mesh with every cell kind and data arrays becomes the same vtkPolyData "
          "[MESH-1] [MESH-2]") {
    const mesh original = every_cell_kind();
    const auto poly = to_vtk_polydata(original, space::ras);
    CHECK(poly->GetNumberOfPoints() == 8);
    CHECK(poly->GetNumberOfVerts() == 1);
    CHECK(poly->GetNumberOfLines() == 1);
    CHECK(poly->GetNumberOfPolys() == 2);
    CHECK(poly->GetNumberOfStrips() == 1);
    CHECK(cell_points(poly->GetVerts(), 0) == std::vector<vtkIdType>{0, 7});
    CHECK(cell_points(poly->GetPolys(), 1) == std::vector<vtkIdType>{4, 5, 6, 7});
    CHECK(cell_points(poly->GetStrips(), 0) == std::vector<vtkIdType>{3, 2, 7, 6});
    double p[3];
    poly->GetPoint(6, p);
    CHECK(p[0] == 1.0);
    CHECK(p[1] == 1.0);
    CHECK(p[2] == 1.0);
    vtkDataArray* normals = poly->GetPointData()->GetArray("Normals");
    REQUIRE(normals != nullptr);
    CHECK(normals->GetNumberOfComponents() == 3);
    CHECK(normals->GetComponent(2, 1) == doctest::Approx(0.25 * 7));
    vtkDataArray* cell_id = poly->GetCellData()->GetArray("cell_id");
    REQUIRE(cell_id != nullptr);
    CHECK(cell_id->GetDataType() == VTK_UNSIGNED_SHORT);
    // Cell data counts verts, lines, polys, then strips, as VTK numbers cells.
    CHECK(poly->GetCellType(3) == VTK_QUAD);
    CHECK(cell_id->GetComponent(3, 0) == 13);
}

TEST_CASE("vtk: points, connectivity and data arrays are shared, not copied") {
    const mesh original = every_cell_kind();
    const auto poly = to_vtk_polydata(original, space::ras);
    CHECK(poly->GetPoints()->GetData()->GetVoidPointer(0) ==
          static_cast<const void*>(original.points.data.data()));
    CHECK(poly->GetPolys()->GetConnectivityArray()->GetVoidPointer(0) ==
          static_cast<const void*>(original.polys->connectivity.data.data()));
    CHECK(poly->GetPointData()->GetArray("Normals")->GetVoidPointer(0) ==
          static_cast<const void*>(original.point_data[0].array.data.data()));

    const mesh back = from_vtk_polydata(poly, space::ras);
    CHECK(back.points.data.data() == original.points.data.data());
    CHECK(back.polys->offsets.data.data() == original.polys->offsets.data.data());
}

TEST_CASE("vtk: a mesh survives the round trip through vtkPolyData unchanged") {
    const mesh original = every_cell_kind();
    const mesh back = from_vtk_polydata(to_vtk_polydata(original, space::ras), space::ras);
    CHECK(back == original);
}

TEST_CASE("vtk: converting a mesh to LPS negates x and y and keeps cells and winding "
          "[MESH-3]") {
    const mesh original = every_cell_kind();
    const auto poly = to_vtk_polydata(original, space::lps);
    double p[3];
    poly->GetPoint(5, p);
    CHECK(p[0] == -1.0);
    CHECK(p[1] == 0.0);
    CHECK(p[2] == 1.0);
    CHECK(cell_points(poly->GetPolys(), 0) == std::vector<vtkIdType>{0, 1, 2});
    const mesh back = from_vtk_polydata(poly, space::lps);
    CHECK(back.in_space(space::ras).points == original.points);
    CHECK(back.polys == original.polys);
}

TEST_CASE("vtk: 32-bit cell storage and integer points are read as int64 and float64") {
    vtkNew<vtkPolyData> poly;
    vtkNew<vtkPoints> points;
    points->SetDataTypeToInt();
    points->InsertNextPoint(0, 0, 0);
    points->InsertNextPoint(2, 0, 0);
    points->InsertNextPoint(0, 3, 0);
    poly->SetPoints(points);
    vtkNew<vtkCellArray> polys;
    polys->Use32BitStorage();
    const vtkIdType triangle[3] = {0, 1, 2};
    polys->InsertNextCell(3, triangle);
    poly->SetPolys(polys);
    vtkNew<vtkIntArray> unnamed;
    unnamed->InsertNextValue(5);
    poly->GetCellData()->AddArray(unnamed);

    const mesh m = from_vtk_polydata(poly, space::lps);
    CHECK(m.space == space::lps);
    CHECK(m.points.dtype == dtype::float64);
    CHECK(m.points.scalar<double>(7) == 3.0);
    REQUIRE(m.polys);
    CHECK(m.polys->connectivity.dtype == dtype::int64);
    CHECK(m.polys->connectivity.scalar<std::int64_t>(2) == 2);
    CHECK_FALSE(m.verts);
    REQUIRE(m.cell_data.size() == 1);
    CHECK(m.cell_data[0].name == "array_0");
}

TEST_CASE("vtk: an invalid mesh is refused before VTK sees it [MESH-1]") {
    mesh bad = every_cell_kind();
    bad.lines = cell_array::adopt({0, 3}, {0, 1, 8});
    CHECK_THROWS_AS(to_vtk_polydata(bad, space::ras), std::invalid_argument);
    CHECK_THROWS_AS(from_vtk_polydata(nullptr, space::ras), std::invalid_argument);
}
