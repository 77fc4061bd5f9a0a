#ifndef SLICERBRIDGE_VTK_HPP
#define SLICERBRIDGE_VTK_HPP

// Conversions between the SDK's data types and VTK's (target slicerbridge::vtk): images with
// their IJK-to-RAS/LPS matrix, meshes, transforms, tables and point lists. Every conversion
// names its space explicitly and views bulk values in place where ownership allows it.

#include <slicerbridge/vtk/array.hpp>
#include <slicerbridge/vtk/image.hpp>
#include <slicerbridge/vtk/image_series.hpp>
#include <slicerbridge/vtk/mesh.hpp>
#include <slicerbridge/vtk/point_list.hpp>
#include <slicerbridge/vtk/table.hpp>
#include <slicerbridge/vtk/transform.hpp>

#endif
