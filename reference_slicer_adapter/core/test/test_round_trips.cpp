// Data through the core and back: VTK objects converted by vtkSlicerBridgeCall, sent by the
// logic, echoed by a server, and read back; the in-process server records what travelled.
#include "support.hpp"

#include <slicerbridge/data/data_value.hpp>

#include <vtkBitArray.h>
#include <vtkCellArray.h>
#include <vtkCellData.h>
#include <vtkDoubleArray.h>
#include <vtkFloatArray.h>
#include <vtkImageData.h>
#include <vtkIntArray.h>
#include <vtkMatrix4x4.h>
#include <vtkPointData.h>
#include <vtkPoints.h>
#include <vtkPolyData.h>
#include <vtkShortArray.h>
#include <vtkStringArray.h>
#include <vtkTable.h>

#include <nlohmann/json.hpp>

using namespace adapter_test;

namespace
{

/// An oblique, anisotropic IJK-to-RAS matrix with a non-trivial origin.
vtkSmartPointer<vtkMatrix4x4> oblique_matrix()
{
  const double elements[16] = { 0.0, 0.0, 2.5, -40.25, 0.9 * 0.7, -0.436 * 0.7, 0.0, 12.0,
    0.436 * 0.7, 0.9 * 0.7, 0.0, 7.5, 0.0, 0.0, 0.0, 1.0 };
  auto m = vtkSmartPointer<vtkMatrix4x4>::New();
  m->DeepCopy(elements);
  return m;
}

vtkSmartPointer<vtkImageData> short_image(int extent[6])
{
  auto image = vtkSmartPointer<vtkImageData>::New();
  image->SetExtent(extent);
  // Ignored by the conversion: geometry lives in the IJK-to-RAS matrix only.
  image->SetOrigin(100, 200, 300);
  image->SetSpacing(9, 9, 9);
  image->AllocateScalars(VTK_SHORT, 1);
  auto* scalars = vtkShortArray::SafeDownCast(image->GetPointData()->GetScalars());
  for (vtkIdType i = 0; i < scalars->GetNumberOfValues(); ++i)
  {
    scalars->SetValue(i, static_cast<short>(i * 7 - 300));
  }
  return image;
}

/// M * translation(extent start): what a matrix for a shifted extent becomes when index 0 is
/// the extent's first voxel.
sb::matrix4 folded(vtkMatrix4x4* m, const int extent[6])
{
  sb::matrix4 result{};
  for (int row = 0; row < 4; ++row)
  {
    for (int column = 0; column < 4; ++column)
    {
      result[static_cast<std::size_t>(row * 4 + column)] = m->GetElement(row, column);
    }
    for (int axis = 0; axis < 3; ++axis)
    {
      result[static_cast<std::size_t>(row * 4 + 3)] += m->GetElement(row, axis) * extent[2 * axis];
    }
  }
  return result;
}

void check_matrix(const sb::matrix4& actual, const sb::matrix4& expected)
{
  for (std::size_t i = 0; i < 16; ++i)
  {
    CAPTURE(i);
    CHECK(actual[i] == doctest::Approx(expected[i]).epsilon(1e-12));
  }
}

sb::matrix4 as_matrix4(vtkMatrix4x4* m)
{
  sb::matrix4 result{};
  for (int i = 0; i < 16; ++i)
  {
    result[static_cast<std::size_t>(i)] = m->GetElement(i / 4, i % 4);
  }
  return result;
}

/// Runs `call` to its end and returns its final status.
int run(vtkSlicerBridgeClientLogic* logic, vtkSlicerBridgeCall* call)
{
  REQUIRE(logic->StartInvoke(call) > 0);
  REQUIRE(pump_until(logic, [&] { return call->IsFinished(); }));
  return call->GetStatus();
}

struct connected
{
  in_process_server server;
  vtkNew<vtkSlicerBridgeClientLogic> logic;
  connected() { REQUIRE(logic->Connect(server.address())); }
};

} // namespace

TEST_CASE("oblique image with a shifted extent keeps voxels and IJK-to-RAS, sent in RAS [IMG-1] "
          "[IMG-2] [IMG-5]")
{
  connected c;
  int extent[6] = { 2, 5, -1, 1, 3, 4 };
  auto image = short_image(extent);
  auto ijkToRAS = oblique_matrix();
  vtkNew<vtkSlicerBridgeCall> call;
  call->SetProcessor("echo");
  REQUIRE(call->AddImageInput("image", image, ijkToRAS, "scalar"));
  REQUIRE(run(c.logic, call) == vtkSlicerBridgeCall::Succeeded);

  sb::invoke_params wire = c.server.seen().echo_params();
  const auto* sent = wire.input_as<sb::image>("image");
  REQUIRE(sent != nullptr);
  CHECK(sent->space == sb::space::ras);
  CHECK(sent->dims == std::array<std::uint64_t, 3>{ 4, 3, 2 });
  CHECK(sent->dtype == sb::dtype::int16);
  check_matrix(sent->ijk_to_space, folded(ijkToRAS, extent));
  // [IMG-1]: i fastest; voxel (1, 2, 1) of the extent-relative grid.
  CHECK(sent->voxels<std::int16_t>()[1 + 4 * (2 + 3 * 1)] == static_cast<short>((1 + 4 * (2 + 3 * 1)) * 7 - 300));

  CHECK(call->GetOutputType("image_out") == "image");
  CHECK(call->GetImageOutputKind("image_out") == "scalar");
  vtkNew<vtkImageData> received;
  vtkNew<vtkMatrix4x4> receivedMatrix;
  REQUIRE(call->GetImageOutput("image_out", received, receivedMatrix));
  // The echo returns the wire matrix unchanged: RAS in, RAS out, bit for bit.
  CHECK(as_matrix4(receivedMatrix) == sent->ijk_to_space);
  int receivedExtent[6];
  received->GetExtent(receivedExtent);
  CHECK(receivedExtent[0] == 0);
  CHECK(receivedExtent[1] == 3);
  CHECK(receivedExtent[5] == 1);
  CHECK(received->GetOrigin()[0] == 0.0);
  CHECK(received->GetSpacing()[2] == 1.0);
  CHECK(received->GetScalarType() == VTK_SHORT);
  auto* original = image->GetPointData()->GetScalars();
  auto* back = received->GetPointData()->GetScalars();
  REQUIRE(back->GetNumberOfValues() == original->GetNumberOfValues());
  for (vtkIdType i = 0; i < back->GetNumberOfValues(); ++i)
  {
    REQUIRE(back->GetComponent(i, 0) == original->GetComponent(i, 0));
  }
}

TEST_CASE("oblique image sent in LPS: the wire matrix is diag(-1, -1, 1, 1) M, the output comes "
          "back in RAS [IMG-5] [DATA-2]")
{
  connected c;
  int extent[6] = { 0, 2, 0, 3, 0, 1 };
  auto image = short_image(extent);
  auto ijkToRAS = oblique_matrix();
  vtkNew<vtkSlicerBridgeCall> call;
  call->SetProcessor("echo");
  REQUIRE(call->SetSpace("LPS"));
  REQUIRE(call->AddImageInput("image", image, ijkToRAS, "scalar"));
  REQUIRE(run(c.logic, call) == vtkSlicerBridgeCall::Succeeded);

  sb::invoke_params wire = c.server.seen().echo_params();
  const auto* sent = wire.input_as<sb::image>("image");
  REQUIRE(sent != nullptr);
  CHECK(sent->space == sb::space::lps);
  sb::matrix4 ras = as_matrix4(ijkToRAS);
  for (std::size_t i = 0; i < 16; ++i)
  {
    CHECK(sent->ijk_to_space[i] == doctest::Approx(i < 8 ? -ras[i] : ras[i]));
  }
  vtkNew<vtkImageData> received;
  vtkNew<vtkMatrix4x4> receivedMatrix;
  REQUIRE(call->GetImageOutput("image_out", received, receivedMatrix));
  CHECK(as_matrix4(receivedMatrix) == ras);
}

TEST_CASE("an LPS image output is presented in RAS [IMG-5]")
{
  connected c;
  vtkNew<vtkSlicerBridgeCall> call;
  call->SetProcessor("lps_image");
  REQUIRE(run(c.logic, call) == vtkSlicerBridgeCall::Succeeded);
  vtkNew<vtkImageData> received;
  vtkNew<vtkMatrix4x4> ijkToRAS;
  REQUIRE(call->GetImageOutput("image", received, ijkToRAS));
  for (std::size_t i = 0; i < 16; ++i)
  {
    double expected = i < 8 ? -lps_image_matrix[i] : lps_image_matrix[i];
    CHECK(ijkToRAS->GetElement(static_cast<int>(i / 4), static_cast<int>(i % 4)) ==
      doctest::Approx(expected));
  }
  CHECK(received->GetDimensions()[2] == 4);
  CHECK(received->GetScalarType() == VTK_UNSIGNED_SHORT);
  CHECK(received->GetPointData()->GetScalars()->GetComponent(23, 0) == 123.0);
}

TEST_CASE("label map with named segments round trip [IMG-4] [IMG-6]")
{
  connected c;
  int extent[6] = { 0, 3, 0, 3, 0, 0 };
  auto labels = short_image(extent);
  auto* scalars = labels->GetPointData()->GetScalars();
  for (vtkIdType i = 0; i < scalars->GetNumberOfValues(); ++i)
  {
    scalars->SetComponent(i, 0, static_cast<double>(i % 3));
  }
  vtkNew<vtkMatrix4x4> ijkToRAS;
  vtkNew<vtkSlicerBridgeCall> call;
  call->SetProcessor("echo");
  REQUIRE(call->AddImageInput("image", labels, ijkToRAS, "label"));
  REQUIRE(call->AddImageInputSegment("image", 1, "liver", 0.8, 0.3, 0.2));
  REQUIRE(call->AddImageInputSegment("image", 2, "spleen", 0.1, 0.5, 1.0));
  vtkObject::GlobalWarningDisplayOff();
  CHECK_FALSE(call->AddImageInputSegment("image", 2, "again", 0.1, 0.5, 1.0)); // [IMG-6]
  CHECK_FALSE(call->AddImageInputSegment("image", 3, "too bright", 1.5, 0.5, 1.0));
  CHECK_FALSE(call->AddImageInputSegment("no_such_input", 3, "none", 0.5, 0.5, 0.5));
  vtkObject::GlobalWarningDisplayOn();
  REQUIRE(run(c.logic, call) == vtkSlicerBridgeCall::Succeeded);

  CHECK(call->GetImageOutputKind("image_out") == "label");
  auto segments = nlohmann::json::parse(call->GetImageOutputSegmentsJSON("image_out"));
  REQUIRE(segments.size() == 2);
  CHECK(segments[0]["value"] == 1);
  CHECK(segments[0]["name"] == "liver");
  CHECK(segments[1]["name"] == "spleen");
  CHECK(segments[1]["color"][2] == 1.0);
  vtkNew<vtkImageData> received;
  vtkNew<vtkMatrix4x4> receivedMatrix;
  REQUIRE(call->GetImageOutput("image_out", received, receivedMatrix));
  CHECK(received->GetPointData()->GetScalars()->GetComponent(5, 0) == 2.0);
}

TEST_CASE("a label map of floats, or several components for a scalar image, is refused before "
          "sending [IMG-4] [INV-2]")
{
  connected c;
  vtkNew<vtkImageData> floats;
  floats->SetDimensions(2, 2, 2);
  floats->AllocateScalars(VTK_FLOAT, 1);
  vtkNew<vtkMatrix4x4> ijkToRAS;
  vtkNew<vtkSlicerBridgeCall> call;
  call->SetProcessor("echo");
  REQUIRE(call->AddImageInput("image", floats, ijkToRAS, "label"));
  CHECK(c.logic->StartInvoke(call) == 0);
  CHECK(call->GetStatus() == vtkSlicerBridgeCall::Failed);
  CHECK(call->GetErrorCode() == 103);
  CHECK(call->GetErrorName() == "invalid_argument");
  CHECK(nlohmann::json::parse(call->GetErrorDetailsJSON())["name"] == "image");

  vtkNew<vtkImageData> rgb;
  rgb->SetDimensions(2, 2, 1);
  rgb->AllocateScalars(VTK_UNSIGNED_CHAR, 3);
  REQUIRE(call->AddImageInput("image", rgb, ijkToRAS, "scalar"));
  CHECK(c.logic->StartInvoke(call) == 0);
  CHECK(call->GetErrorCode() == 103);
  CHECK(c.logic->GetNumberOfRunningCalls() == 0);
}

TEST_CASE("multi-component image as a vector image round trip [IMG-4]")
{
  connected c;
  vtkNew<vtkImageData> image;
  image->SetDimensions(3, 2, 2);
  image->AllocateScalars(VTK_FLOAT, 3);
  auto* scalars = vtkFloatArray::SafeDownCast(image->GetPointData()->GetScalars());
  for (vtkIdType i = 0; i < scalars->GetNumberOfValues(); ++i)
  {
    scalars->SetValue(i, 0.5f * static_cast<float>(i));
  }
  auto ijkToRAS = oblique_matrix();
  vtkNew<vtkSlicerBridgeCall> call;
  call->SetProcessor("echo");
  REQUIRE(call->AddImageInput("image", image, ijkToRAS, "vector"));
  REQUIRE(run(c.logic, call) == vtkSlicerBridgeCall::Succeeded);
  sb::invoke_params wire = c.server.seen().echo_params();
  const auto* sent = wire.input_as<sb::image>("image");
  REQUIRE(sent != nullptr);
  CHECK(sent->components == 3);
  CHECK(sent->kind == sb::image_kind::vector);
  CHECK(call->GetImageOutputKind("image_out") == "vector");
  vtkNew<vtkImageData> received;
  vtkNew<vtkMatrix4x4> receivedMatrix;
  REQUIRE(call->GetImageOutput("image_out", received, receivedMatrix));
  CHECK(received->GetNumberOfScalarComponents() == 3);
  CHECK(received->GetPointData()->GetScalars()->GetComponent(4, 2) == doctest::Approx(7.0));
  CHECK(as_matrix4(receivedMatrix) == as_matrix4(ijkToRAS));
}

TEST_CASE("the image sent is the one at StartInvoke, whatever happens to the volume afterwards")
{
  connected c;
  int extent[6] = { 0, 1, 0, 1, 0, 1 };
  auto image = short_image(extent);
  vtkNew<vtkMatrix4x4> ijkToRAS;
  vtkNew<vtkSlicerBridgeCall> call;
  call->SetProcessor("echo");
  REQUIRE(call->AddImageInput("image", image, ijkToRAS, "scalar"));
  REQUIRE(c.logic->StartInvoke(call) > 0);
  image->GetPointData()->GetScalars()->SetComponent(0, 0, 4321.0);
  REQUIRE(pump_until(c.logic, [&] { return call->IsFinished(); }));
  vtkNew<vtkImageData> received;
  vtkNew<vtkMatrix4x4> receivedMatrix;
  REQUIRE(call->GetImageOutput("image_out", received, receivedMatrix));
  CHECK(received->GetPointData()->GetScalars()->GetComponent(0, 0) == -300.0);
}

namespace
{

/// A tetrahedron's surface plus a line and a vertex, with point and cell arrays.
vtkSmartPointer<vtkPolyData> tetrahedron()
{
  auto mesh = vtkSmartPointer<vtkPolyData>::New();
  vtkNew<vtkPoints> points;
  points->SetDataTypeToDouble();
  points->InsertNextPoint(1.5, -2.0, 3.0);
  points->InsertNextPoint(10.0, 0.5, 0.0);
  points->InsertNextPoint(0.0, 8.0, -1.0);
  points->InsertNextPoint(2.0, 2.0, 9.0);
  mesh->SetPoints(points);
  vtkNew<vtkCellArray> polys;
  const vtkIdType faces[4][3] = { { 0, 1, 2 }, { 0, 3, 1 }, { 1, 3, 2 }, { 2, 3, 0 } };
  for (const auto& face : faces)
  {
    polys->InsertNextCell(3, face);
  }
  mesh->SetPolys(polys);
  vtkNew<vtkCellArray> lines;
  const vtkIdType line[2] = { 0, 3 };
  lines->InsertNextCell(2, line);
  mesh->SetLines(lines);
  vtkNew<vtkCellArray> verts;
  const vtkIdType vert[1] = { 2 };
  verts->InsertNextCell(1, vert);
  mesh->SetVerts(verts);
  vtkNew<vtkFloatArray> normals;
  normals->SetName("Normals");
  normals->SetNumberOfComponents(3);
  for (int i = 0; i < 4; ++i)
  {
    normals->InsertNextTuple3(i, -i, 0.5 * i);
  }
  mesh->GetPointData()->AddArray(normals);
  vtkNew<vtkIntArray> region;
  region->SetName("Region");
  for (int i = 0; i < 6; ++i)
  {
    region->InsertNextValue(10 + i);
  }
  mesh->GetCellData()->AddArray(region);
  return mesh;
}

} // namespace

TEST_CASE("mesh with point and cell arrays round trip, in LPS x and y are negated and winding "
          "kept [MESH-1] [MESH-2] [MESH-3]")
{
  connected c;
  auto mesh = tetrahedron();
  vtkNew<vtkSlicerBridgeCall> call;
  call->SetProcessor("echo");
  REQUIRE(call->SetSpace("LPS"));
  REQUIRE(call->AddMeshInput("mesh", mesh));
  REQUIRE(run(c.logic, call) == vtkSlicerBridgeCall::Succeeded);

  sb::invoke_params wire = c.server.seen().echo_params();
  const auto* sent = wire.input_as<sb::mesh>("mesh");
  REQUIRE(sent != nullptr);
  CHECK(sent->space == sb::space::lps);
  REQUIRE(sent->points.values<double>() != nullptr);
  CHECK(sent->points.values<double>()[0] == -1.5);
  CHECK(sent->points.values<double>()[1] == 2.0);
  CHECK(sent->points.values<double>()[2] == 3.0);
  REQUIRE(sent->polys.has_value());
  CHECK(sent->polys->connectivity.values<std::int64_t>()[4] == 3); // face 1 is (0, 3, 1)
  CHECK(sent->cell_count() == 6);

  vtkNew<vtkPolyData> received;
  REQUIRE(call->GetMeshOutput("mesh_out", received));
  REQUIRE(received->GetNumberOfPoints() == 4);
  for (vtkIdType i = 0; i < 4; ++i)
  {
    for (int axis = 0; axis < 3; ++axis)
    {
      CHECK(received->GetPoint(i)[axis] == mesh->GetPoint(i)[axis]);
    }
  }
  CHECK(received->GetNumberOfPolys() == 4);
  CHECK(received->GetNumberOfLines() == 1);
  CHECK(received->GetNumberOfVerts() == 1);
  vtkNew<vtkIdList> face;
  received->GetPolys()->GetCellAtId(1, face);
  CHECK(face->GetId(0) == 0);
  CHECK(face->GetId(1) == 3);
  CHECK(face->GetId(2) == 1);
  auto* normals = received->GetPointData()->GetArray("Normals");
  REQUIRE(normals != nullptr);
  CHECK(normals->GetNumberOfComponents() == 3);
  CHECK(normals->GetComponent(3, 1) == -3.0);
  auto* region = received->GetCellData()->GetArray("Region");
  REQUIRE(region != nullptr);
  CHECK(region->GetComponent(5, 0) == 15.0);
}

TEST_CASE("transform round trip, in LPS the wire matrix is F T F [XFM-1]")
{
  connected c;
  const double elements[16] = { 0.0, -1.0, 0.0, 5.0, 1.0, 0.0, 0.0, -3.0, 0.0, 0.0, 1.0, 2.5, 0.0,
    0.0, 0.0, 1.0 };
  vtkNew<vtkMatrix4x4> toParent;
  toParent->DeepCopy(elements);
  vtkNew<vtkSlicerBridgeCall> call;
  call->SetProcessor("echo");
  REQUIRE(call->SetSpace("LPS"));
  REQUIRE(call->AddTransformInput("transform", toParent));
  REQUIRE(run(c.logic, call) == vtkSlicerBridgeCall::Succeeded);
  sb::invoke_params wire = c.server.seen().echo_params();
  const auto* sent = wire.input_as<sb::transform>("transform");
  REQUIRE(sent != nullptr);
  CHECK(sent->space == sb::space::lps);
  // F T F negates the translation's x and y, and the rotation's xz/yz/zx/zy terms.
  CHECK(sent->matrix[3] == -5.0);
  CHECK(sent->matrix[7] == 3.0);
  CHECK(sent->matrix[11] == 2.5);
  CHECK(sent->matrix[1] == -1.0);
  vtkNew<vtkMatrix4x4> received;
  REQUIRE(call->GetTransformOutput("transform_out", received));
  CHECK(as_matrix4(received) == as_matrix4(toParent));

  const double sheared[16] = { 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0.5, 0, 1 };
  vtkNew<vtkMatrix4x4> projective;
  projective->DeepCopy(sheared);
  REQUIRE(call->AddTransformInput("transform", projective));
  CHECK(c.logic->StartInvoke(call) == 0); // [XFM-1]: last row must be [0, 0, 0, 1]
  CHECK(call->GetErrorCode() == 103);
}

TEST_CASE("points with labels round trip, labels must match the points [PTS-1]")
{
  connected c;
  vtkNew<vtkPoints> points;
  points->SetDataTypeToDouble();
  points->InsertNextPoint(1, 2, 3);
  points->InsertNextPoint(-4.5, 5, 6);
  vtkNew<vtkStringArray> labels;
  labels->InsertNextValue("nasion");
  labels->InsertNextValue("inion");
  vtkNew<vtkSlicerBridgeCall> call;
  call->SetProcessor("echo");
  REQUIRE(call->SetSpace("LPS"));
  REQUIRE(call->AddPointsInput("points", points, labels));
  REQUIRE(run(c.logic, call) == vtkSlicerBridgeCall::Succeeded);
  sb::invoke_params wire = c.server.seen().echo_params();
  const auto* sent = wire.input_as<sb::point_list>("points");
  REQUIRE(sent != nullptr);
  CHECK(sent->points.values<double>()[3] == 4.5);
  vtkNew<vtkPoints> received;
  vtkNew<vtkStringArray> receivedLabels;
  REQUIRE(call->GetPointsOutput("points_out", received, receivedLabels));
  REQUIRE(received->GetNumberOfPoints() == 2);
  CHECK(received->GetPoint(1)[0] == -4.5);
  CHECK(received->GetPoint(1)[2] == 6.0);
  REQUIRE(receivedLabels->GetNumberOfValues() == 2);
  CHECK(receivedLabels->GetValue(1) == "inion");

  labels->InsertNextValue("extra");
  REQUIRE(call->AddPointsInput("points", points, labels));
  CHECK(c.logic->StartInvoke(call) == 0);
  CHECK(nlohmann::json::parse(call->GetErrorDetailsJSON())["name"] == "points");
}

TEST_CASE("table of numbers, strings and bools round trip")
{
  connected c;
  vtkNew<vtkTable> table;
  vtkNew<vtkDoubleArray> volume;
  volume->SetName("volume_mm3");
  vtkNew<vtkStringArray> name;
  name->SetName("name");
  vtkNew<vtkBitArray> flagged;
  flagged->SetName("flagged");
  for (int row = 0; row < 3; ++row)
  {
    volume->InsertNextValue(1.25 * row);
    name->InsertNextValue("segment " + std::to_string(row));
    flagged->InsertNextValue(row % 2);
  }
  table->AddColumn(volume);
  table->AddColumn(name);
  table->AddColumn(flagged);
  vtkNew<vtkSlicerBridgeCall> call;
  call->SetProcessor("echo");
  REQUIRE(call->AddTableInput("table", table));
  REQUIRE(run(c.logic, call) == vtkSlicerBridgeCall::Succeeded);
  vtkNew<vtkTable> received;
  REQUIRE(call->GetTableOutput("table_out", received));
  REQUIRE(received->GetNumberOfColumns() == 3);
  REQUIRE(received->GetNumberOfRows() == 3);
  CHECK(received->GetValueByName(2, "volume_mm3").ToDouble() == 2.5);
  CHECK(received->GetValueByName(1, "name").ToString() == "segment 1");
  CHECK(vtkBitArray::SafeDownCast(received->GetColumnByName("flagged")) != nullptr);
  CHECK(received->GetValueByName(1, "flagged").ToInt() == 1);

}

TEST_CASE("several inputs of every type in one call, outputs listed by name and type")
{
  connected c;
  int extent[6] = { 0, 1, 0, 1, 0, 1 };
  auto image = short_image(extent);
  vtkNew<vtkMatrix4x4> identity;
  vtkNew<vtkPoints> points;
  points->InsertNextPoint(0, 0, 0);
  vtkNew<vtkTable> table;
  vtkNew<vtkSlicerBridgeCall> call;
  call->SetProcessor("echo");
  REQUIRE(call->AddImageInput("image", image, identity));
  REQUIRE(call->AddMeshInput("mesh", tetrahedron()));
  REQUIRE(call->AddTransformInput("transform", identity));
  REQUIRE(call->AddPointsInput("points", points));
  REQUIRE(call->AddTableInput("table", table));
  CHECK(call->GetNumberOfInputs() == 5);
  REQUIRE(run(c.logic, call) == vtkSlicerBridgeCall::Succeeded);
  REQUIRE(call->GetNumberOfOutputs() == 5);
  std::vector<std::string> types;
  for (int i = 0; i < 5; ++i)
  {
    types.push_back(call->GetOutputType(call->GetOutputName(i)));
  }
  CHECK(types == std::vector<std::string>{ "image", "mesh", "transform", "points", "table" });
  CHECK(call->GetOutputType("missing").empty());
  vtkNew<vtkImageData> notAMesh;
  vtkNew<vtkMatrix4x4> m;
  CHECK_FALSE(call->GetImageOutput("mesh_out", notAMesh, m));
  vtkNew<vtkStringArray> noLabels;
  noLabels->InsertNextValue("stale");
  vtkNew<vtkPoints> receivedPoints;
  REQUIRE(call->GetPointsOutput("points_out", receivedPoints, noLabels));
  CHECK(noLabels->GetNumberOfValues() == 0);
}
