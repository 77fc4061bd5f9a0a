#ifndef SLICERBRIDGE_VTK_TRANSFORM_HPP
#define SLICERBRIDGE_VTK_TRANSFORM_HPP

// Linear transforms <-> vtkMatrix4x4 (a to-parent matrix, as
// vtkMRMLLinearTransformNode::SetMatrixTransformToParent takes it).

#include <slicerbridge/data/transform.hpp>
#include <slicerbridge/vtk/array.hpp>

#include <stdexcept>
#include <string>

namespace slicerbridge {

/// The to-parent matrix of `t` in `target` (T_lps = F T_ras F, [XFM-1]).
inline vtkSmartPointer<vtkMatrix4x4> to_vtk_matrix(const transform& t, slicerbridge::space target) {
    return to_vtk_matrix(t.in_space(target).matrix);
}

/// A transform of the to-parent matrix `m` in `space`. Throws std::invalid_argument if the last
/// row is not [0, 0, 0, 1] or an entry is not finite.
inline transform from_vtk_matrix(const vtkMatrix4x4* m, slicerbridge::space space) {
    transform result{to_matrix4(m), space};
    std::string problem;
    if (result.validate(problem)) {
        throw std::invalid_argument("slicerbridge::from_vtk_matrix: " + problem);
    }
    return result;
}

} // namespace slicerbridge

#endif
