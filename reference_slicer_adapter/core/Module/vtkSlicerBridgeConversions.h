// VTK objects <-> SDK data values, as the adapter needs them: images with their IJK-to-RAS
// matrix, meshes, transforms, points and tables, always in RAS on the VTK side. Not wrapped.
#ifndef vtkSlicerBridgeConversions_h
#define vtkSlicerBridgeConversions_h

#include <slicerbridge/data/data_value.hpp>
#include <slicerbridge/value.hpp>

#include <string>

class vtkImageData;
class vtkMatrix4x4;
class vtkPoints;
class vtkPolyData;
class vtkStringArray;
class vtkTable;

namespace slicerbridge_adapter
{

namespace sb = slicerbridge;

/// Thrown when a VTK object cannot be expressed in the protocol (an unsupported scalar type, a
/// singular matrix, ...). The message names the problem, never the data.
struct conversion_error : std::runtime_error
{
  using std::runtime_error::runtime_error;
};

/// Images: the voxels are copied; the geometry is `ijkToRAS` with the extent's start folded in
/// (IJK index 0 is the first voxel of the extent), never the vtkImageData's origin, spacing or
/// direction.
sb::image ImageFromVTK(vtkImageData* image, vtkMatrix4x4* ijkToRAS, sb::image_kind kind);
/// Fills `image` (extent from 0, origin 0, spacing 1) and `ijkToRAS` from `source`, whose matrix
/// is converted to RAS.
void ImageToVTK(const sb::image& source, vtkImageData* image, vtkMatrix4x4* ijkToRAS);

sb::mesh MeshFromVTK(vtkPolyData* mesh);
void MeshToVTK(const sb::mesh& source, vtkPolyData* mesh);

sb::transform TransformFromVTK(vtkMatrix4x4* toParent);
void TransformToVTK(const sb::transform& source, vtkMatrix4x4* toParent);

sb::point_list PointsFromVTK(vtkPoints* points, vtkStringArray* labels);
void PointsToVTK(const sb::point_list& source, vtkPoints* points, vtkStringArray* labels);

sb::table TableFromVTK(vtkTable* table);
void TableToVTK(const sb::table& source, vtkTable* table);

/// A JSON text for `v` (bulk data is not expected: errors and timings are plain values).
std::string ToJSON(const sb::value& v);

} // namespace slicerbridge_adapter

#endif
