#include "vtkSlicerBridgeConversions.h"

#include <slicerbridge/json.hpp>
#include <slicerbridge/vtk.hpp>

#include <vtkImageData.h>
#include <vtkMatrix4x4.h>
#include <vtkPointData.h>
#include <vtkPoints.h>
#include <vtkPolyData.h>
#include <vtkStringArray.h>
#include <vtkTable.h>

namespace slicerbridge_adapter
{

namespace
{

/// Runs an SDK conversion, reporting its failures as conversion_error with the SDK's prefix
/// ("slicerbridge::vtk::...: ") left out.
template <class Convert>
auto Guarded(Convert convert)
{
  try
  {
    return convert();
  }
  catch (const std::invalid_argument& failure)
  {
    std::string text = failure.what();
    auto colon = text.find(": ");
    throw conversion_error(colon == std::string::npos ? text : text.substr(colon + 2));
  }
  catch (const std::length_error& failure)
  {
    throw conversion_error(failure.what());
  }
}

} // namespace

sb::image ImageFromVTK(vtkImageData* image, vtkMatrix4x4* ijkToRAS, sb::image_kind kind)
{
  if (image == nullptr || ijkToRAS == nullptr)
  {
    throw conversion_error("an image needs its voxels and its IJK-to-RAS matrix");
  }
  vtkDataArray* scalars = image->GetPointData()->GetScalars();
  if (scalars == nullptr)
  {
    throw conversion_error("the image has no scalars");
  }
  // A snapshot of the voxels: the volume may change while the worker thread sends them.
  auto snapshot = vtkSmartPointer<vtkImageData>::New();
  snapshot->SetExtent(image->GetExtent());
  auto voxels = vtkSmartPointer<vtkDataArray>::Take(scalars->NewInstance());
  voxels->DeepCopy(scalars);
  snapshot->GetPointData()->SetScalars(voxels);
  return Guarded([&] { return sb::from_vtk_image(snapshot, ijkToRAS, sb::space::ras, kind); });
}

void ImageToVTK(const sb::image& source, vtkImageData* image, vtkMatrix4x4* ijkToRAS)
{
  sb::vtk_image converted = Guarded([&] { return sb::to_vtk_image(source, sb::space::ras); });
  image->Initialize();
  image->ShallowCopy(converted.data);
  ijkToRAS->DeepCopy(converted.ijk_to_space);
}

sb::mesh MeshFromVTK(vtkPolyData* mesh)
{
  if (mesh == nullptr)
  {
    throw conversion_error("no mesh");
  }
  auto snapshot = vtkSmartPointer<vtkPolyData>::New();
  snapshot->DeepCopy(mesh);
  return Guarded([&] { return sb::from_vtk_polydata(snapshot, sb::space::ras); });
}

void MeshToVTK(const sb::mesh& source, vtkPolyData* mesh)
{
  auto converted = Guarded([&] { return sb::to_vtk_polydata(source, sb::space::ras); });
  mesh->Initialize();
  mesh->ShallowCopy(converted);
}

sb::transform TransformFromVTK(vtkMatrix4x4* toParent)
{
  if (toParent == nullptr)
  {
    throw conversion_error("no matrix");
  }
  return Guarded([&] { return sb::from_vtk_matrix(toParent, sb::space::ras); });
}

void TransformToVTK(const sb::transform& source, vtkMatrix4x4* toParent)
{
  toParent->DeepCopy(sb::to_vtk_matrix(source, sb::space::ras));
}

sb::point_list PointsFromVTK(vtkPoints* points, vtkStringArray* labels)
{
  if (points == nullptr)
  {
    throw conversion_error("no points");
  }
  auto snapshot = vtkSmartPointer<vtkPoints>::New();
  snapshot->SetDataType(points->GetDataType());
  snapshot->DeepCopy(points);
  return Guarded([&] { return sb::from_vtk_points(snapshot, sb::space::ras, labels); });
}

void PointsToVTK(const sb::point_list& source, vtkPoints* points, vtkStringArray* labels)
{
  auto converted = Guarded([&] { return sb::to_vtk_points(source, sb::space::ras); });
  points->Initialize();
  points->ShallowCopy(converted.points);
  if (labels != nullptr)
  {
    labels->Initialize();
    if (converted.labels)
    {
      labels->DeepCopy(converted.labels);
    }
  }
}

sb::table TableFromVTK(vtkTable* table)
{
  if (table == nullptr)
  {
    throw conversion_error("no table");
  }
  auto snapshot = vtkSmartPointer<vtkTable>::New();
  snapshot->DeepCopy(table);
  return Guarded([&] { return sb::from_vtk_table(snapshot); });
}

void TableToVTK(const sb::table& source, vtkTable* table)
{
  auto converted = Guarded([&] { return sb::to_vtk_table(source); });
  table->Initialize();
  table->ShallowCopy(converted);
}

std::string ToJSON(const sb::value& v)
{
  return sb::to_json<nlohmann::ordered_json>(v).dump();
}

} // namespace slicerbridge_adapter
