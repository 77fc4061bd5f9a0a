#ifndef SLICERBRIDGE_VTK_MESH_HPP
#define SLICERBRIDGE_VTK_MESH_HPP

// Meshes <-> vtkPolyData: points, the four VTK 9 cell arrays (offsets and connectivity), point
// and cell data arrays.

#include <slicerbridge/data/mesh.hpp>
#include <slicerbridge/vtk/array.hpp>

#include <vtkCellArray.h>
#include <vtkCellData.h>
#include <vtkDataSetAttributes.h>
#include <vtkPointData.h>
#include <vtkPoints.h>
#include <vtkPolyData.h>
#include <vtkTypeInt64Array.h>

#include <stdexcept>
#include <string>
#include <unordered_set>
#include <vector>

namespace slicerbridge {
namespace detail {

inline vtkSmartPointer<vtkCellArray> to_vtk_cells(const cell_array& cells) {
    auto offsets = vtkSmartPointer<vtkTypeInt64Array>::New();
    auto connectivity = vtkSmartPointer<vtkTypeInt64Array>::New();
    fill_vtk_array(offsets, cells.offsets);
    fill_vtk_array(connectivity, cells.connectivity);
    auto result = vtkSmartPointer<vtkCellArray>::New();
    result->SetData(offsets, connectivity);
    return result;
}

inline typed_array vtk_array_as_int64(vtkDataArray* array) {
    typed_array values = from_vtk_array(array);
    if (values.dtype == dtype::int64) {
        return values;
    }
    std::vector<std::int64_t> converted(static_cast<std::size_t>(array->GetNumberOfValues()));
    for (std::size_t i = 0; i < converted.size(); ++i) {
        converted[i] = static_cast<std::int64_t>(array->GetComponent(static_cast<vtkIdType>(i), 0));
    }
    return typed_array::adopt(std::move(converted));
}

inline std::optional<cell_array> from_vtk_cells(vtkCellArray* cells) {
    if (cells == nullptr || cells->GetNumberOfCells() == 0) {
        return std::nullopt;
    }
    return cell_array{vtk_array_as_int64(cells->GetOffsetsArray()),
                      vtk_array_as_int64(cells->GetConnectivityArray())};
}

inline void add_vtk_arrays(vtkDataSetAttributes* target, const std::vector<named_array>& arrays) {
    for (const auto& named : arrays) {
        target->AddArray(to_vtk_array(named.array, named.name));
    }
}

/// Every numeric array of `source`; arrays without a dtype (strings, bits) have no place in a
/// mesh and are left out. Unnamed arrays are called `array_<index>`.
inline std::vector<named_array> read_vtk_arrays(vtkDataSetAttributes* source) {
    std::vector<named_array> result;
    std::unordered_set<std::string> names;
    for (int i = 0; i < source->GetNumberOfArrays(); ++i) {
        vtkDataArray* array = source->GetArray(i);
        if (array == nullptr || !dtype_from_vtk_type(array->GetDataType())) {
            continue;
        }
        std::string name = array->GetName() != nullptr ? array->GetName() : "";
        if (name.empty()) {
            name = "array_" + std::to_string(i);
        }
        if (!names.insert(name).second) {
            throw std::invalid_argument("slicerbridge: two arrays named " + name);
        }
        result.push_back(named_array{std::move(name), from_vtk_array(array)});
    }
    return result;
}

} // namespace detail

/// `m` as a vtkPolyData in `target` (x and y negated if `m` is in the other space, cells and
/// winding kept, [MESH-3]). Points, offsets, connectivity and data arrays view the mesh's
/// buffers where `to_vtk_array` can. Throws std::invalid_argument if `m` is invalid.
inline vtkSmartPointer<vtkPolyData> to_vtk_polydata(const mesh& m, slicerbridge::space target) {
    std::string problem;
    if (m.validate(problem)) {
        throw std::invalid_argument("slicerbridge::to_vtk_polydata: " + problem);
    }
    const mesh placed = m.in_space(target);
    auto result = vtkSmartPointer<vtkPolyData>::New();
    auto points = vtkSmartPointer<vtkPoints>::New();
    points->SetData(to_vtk_array(placed.points));
    result->SetPoints(points);
    if (placed.verts) {
        result->SetVerts(detail::to_vtk_cells(*placed.verts));
    }
    if (placed.lines) {
        result->SetLines(detail::to_vtk_cells(*placed.lines));
    }
    if (placed.polys) {
        result->SetPolys(detail::to_vtk_cells(*placed.polys));
    }
    if (placed.strips) {
        result->SetStrips(detail::to_vtk_cells(*placed.strips));
    }
    detail::add_vtk_arrays(result->GetPointData(), placed.point_data);
    detail::add_vtk_arrays(result->GetCellData(), placed.cell_data);
    return result;
}

/// A mesh of `poly`, whose coordinates are in `space`. float and double points, 64-bit cell
/// arrays and numeric data arrays are viewed in place; other point types become float64 and
/// 32-bit cell arrays int64 (copies). Empty cell arrays are left out. Throws
/// std::invalid_argument for a null mesh or one that is not valid (say, two arrays of one name).
inline mesh from_vtk_polydata(vtkPolyData* poly, slicerbridge::space space) {
    if (poly == nullptr) {
        throw std::invalid_argument("slicerbridge::from_vtk_polydata: null mesh");
    }
    mesh result;
    result.space = space;
    if (vtkPoints* points = poly->GetPoints()) {
        result.points = from_vtk_array(points->GetData());
        if (result.points.dtype != dtype::float32 && result.points.dtype != dtype::float64) {
            std::vector<double> converted(static_cast<std::size_t>(points->GetNumberOfPoints()) *
                                          3);
            for (vtkIdType i = 0; i < points->GetNumberOfPoints(); ++i) {
                points->GetPoint(i, converted.data() + 3 * i);
            }
            result.points = typed_array::adopt(std::move(converted), 3);
        }
    } else {
        result.points.dtype = dtype::float64;
        result.points.components = 3;
        result.points.byte_order = native_byte_order;
    }
    result.verts = detail::from_vtk_cells(poly->GetVerts());
    result.lines = detail::from_vtk_cells(poly->GetLines());
    result.polys = detail::from_vtk_cells(poly->GetPolys());
    result.strips = detail::from_vtk_cells(poly->GetStrips());
    result.point_data = detail::read_vtk_arrays(poly->GetPointData());
    result.cell_data = detail::read_vtk_arrays(poly->GetCellData());
    std::string problem;
    if (result.validate(problem)) {
        throw std::invalid_argument("slicerbridge::from_vtk_polydata: " + problem);
    }
    return result;
}

} // namespace slicerbridge

#endif
