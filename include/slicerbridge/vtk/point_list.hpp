#ifndef SLICERBRIDGE_VTK_POINT_LIST_HPP
#define SLICERBRIDGE_VTK_POINT_LIST_HPP

// Point lists <-> vtkPoints plus labels (what a markups node's control points hold).

#include <slicerbridge/data/point_list.hpp>
#include <slicerbridge/vtk/array.hpp>

#include <vtkPoints.h>
#include <vtkStringArray.h>

#include <stdexcept>
#include <string>
#include <vector>

namespace slicerbridge {

struct vtk_point_list {
    /// Double precision coordinates in `space`.
    vtkSmartPointer<vtkPoints> points;
    /// One label per point, or null when the list has none.
    vtkSmartPointer<vtkStringArray> labels;
    slicerbridge::space space = slicerbridge::space::ras;
};

/// `p` in `target` (x and y negated when converting). The coordinates are viewed in place when
/// no conversion is needed. Throws std::invalid_argument if `p` is invalid.
inline vtk_point_list to_vtk_points(const point_list& p, slicerbridge::space target) {
    std::string problem;
    if (p.validate(problem)) {
        throw std::invalid_argument("slicerbridge::to_vtk_points: " + problem);
    }
    const point_list placed = p.in_space(target);
    vtk_point_list result;
    result.space = target;
    result.points = vtkSmartPointer<vtkPoints>::New();
    result.points->SetData(to_vtk_array(placed.points));
    if (placed.labels) {
        result.labels = vtkSmartPointer<vtkStringArray>::New();
        result.labels->SetNumberOfValues(static_cast<vtkIdType>(placed.labels->size()));
        for (std::size_t i = 0; i < placed.labels->size(); ++i) {
            result.labels->SetValue(static_cast<vtkIdType>(i), (*placed.labels)[i]);
        }
    }
    return result;
}

/// A point list of `points` in `space`, with `labels` (one per point) when not null. Double
/// coordinates are viewed in place, others converted to float64. Throws std::invalid_argument
/// for a null `points` or a label count that differs from the point count ([PTS-1]).
inline point_list from_vtk_points(vtkPoints* points, slicerbridge::space space,
                                  vtkStringArray* labels = nullptr) {
    if (points == nullptr) {
        throw std::invalid_argument("slicerbridge::from_vtk_points: null points");
    }
    point_list result;
    result.space = space;
    if (points->GetDataType() == VTK_DOUBLE) {
        result.points = from_vtk_array(points->GetData());
    } else {
        std::vector<double> converted(static_cast<std::size_t>(points->GetNumberOfPoints()) * 3);
        for (vtkIdType i = 0; i < points->GetNumberOfPoints(); ++i) {
            points->GetPoint(i, converted.data() + 3 * i);
        }
        result.points = typed_array::adopt(std::move(converted), 3);
    }
    if (labels != nullptr) {
        std::vector<std::string> texts;
        texts.reserve(static_cast<std::size_t>(labels->GetNumberOfValues()));
        for (vtkIdType i = 0; i < labels->GetNumberOfValues(); ++i) {
            texts.push_back(labels->GetValue(i));
        }
        result.labels = std::move(texts);
    }
    std::string problem;
    if (result.validate(problem)) {
        throw std::invalid_argument("slicerbridge::from_vtk_points: " + problem);
    }
    return result;
}

} // namespace slicerbridge

#endif
