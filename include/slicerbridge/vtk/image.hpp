#ifndef SLICERBRIDGE_VTK_IMAGE_HPP
#define SLICERBRIDGE_VTK_IMAGE_HPP

// Images <-> vtkImageData plus an IJK-to-space matrix, in Slicer's convention: all geometry lives
// in the matrix; the vtkImageData's own origin, spacing and direction are ignored on the way in
// and left at identity on the way out.

#include <slicerbridge/data/image.hpp>
#include <slicerbridge/vtk/array.hpp>

#include <vtkImageData.h>
#include <vtkMatrix3x3.h>
#include <vtkPointData.h>

#include <limits>
#include <optional>
#include <stdexcept>
#include <string>

namespace slicerbridge {

/// An image as a Slicer volume node holds it: voxels in `data` (extent from 0, origin 0,
/// spacing 1, identity direction) and the geometry in `ijk_to_space`, a matrix into `space`
/// (what `vtkMRMLVolumeNode::SetIJKToRASMatrix` takes when `space` is RAS).
struct vtk_image {
    vtkSmartPointer<vtkImageData> data;
    vtkSmartPointer<vtkMatrix4x4> ijk_to_space;
    slicerbridge::space space = slicerbridge::space::ras;
};

/// `img` as a vtkImageData and its matrix in `target` (converted on the matrix only, [IMG-5]).
/// The scalars view the voxels without copying them when they are in native byte order (see
/// `to_vtk_array`). Segments have no place in a vtkImageData: read them from `img`.
/// Throws std::invalid_argument if `img` is invalid, std::length_error if a dimension exceeds
/// VTK's int extents.
inline vtk_image to_vtk_image(const image& img, slicerbridge::space target) {
    std::string problem;
    if (img.validate(problem)) {
        throw std::invalid_argument("slicerbridge::to_vtk_image: " + problem);
    }
    for (auto size : img.dims) {
        if (size > static_cast<std::uint64_t>(std::numeric_limits<int>::max())) {
            throw std::length_error("slicerbridge::to_vtk_image: dimension exceeds VTK's");
        }
    }
    vtk_image result;
    result.data = vtkSmartPointer<vtkImageData>::New();
    result.data->SetExtent(0, static_cast<int>(img.dims[0]) - 1, 0,
                           static_cast<int>(img.dims[1]) - 1, 0, static_cast<int>(img.dims[2]) - 1);
    auto scalars = to_vtk_array(typed_array{img.dtype, img.components, img.byte_order, img.data});
    scalars->SetName("ImageScalars");
    result.data->GetPointData()->SetScalars(scalars);
    result.ijk_to_space = to_vtk_matrix(img.in_space(target).ijk_to_space);
    result.space = target;
    return result;
}

/// The matrix that VTK's own geometry of `data` (origin, spacing, direction) describes, from
/// structured indices (as in its extent) to physical coordinates: what file readers set.
inline matrix4 index_to_physical_matrix(vtkImageData* data) {
    const double* origin = data->GetOrigin();
    const double* spacing = data->GetSpacing();
    const double* direction = data->GetDirectionMatrix()->GetData();
    matrix4 m = identity_matrix;
    for (std::size_t row = 0; row < 3; ++row) {
        for (std::size_t column = 0; column < 3; ++column) {
            m[row * 4 + column] = direction[row * 3 + column] * spacing[column];
        }
        m[row * 4 + 3] = origin[row];
    }
    return m;
}

/// An image of the scalars of `data`, placed by `ijk_to_space`, a matrix from `data`'s
/// structured indices into `space` (Slicer's IJK-to-RAS matrix for `space::ras`). An extent that
/// does not start at 0 is folded into the matrix, so voxel (0, 0, 0) of the result is the first
/// voxel of the extent. `kind` defaults to scalar, or vector for several components. The voxels
/// are viewed in place (see `from_vtk_array`). Throws std::invalid_argument if `data` has no
/// scalars of a dtype, or the result is not a valid image (a singular matrix, say).
inline image from_vtk_image(vtkImageData* data, const matrix4& ijk_to_space,
                            slicerbridge::space space,
                            std::optional<image_kind> kind = std::nullopt) {
    if (data == nullptr) {
        throw std::invalid_argument("slicerbridge::from_vtk_image: null image");
    }
    int extent[6];
    data->GetExtent(extent);
    image result;
    for (std::size_t axis = 0; axis < 3; ++axis) {
        const long long size = static_cast<long long>(extent[2 * axis + 1]) - extent[2 * axis] + 1;
        result.dims[axis] = size > 0 ? static_cast<std::uint64_t>(size) : 0;
    }
    vtkDataArray* scalars = data->GetPointData()->GetScalars();
    if (scalars == nullptr) {
        throw std::invalid_argument("slicerbridge::from_vtk_image: image has no scalars");
    }
    const typed_array voxels = from_vtk_array(scalars);
    result.dtype = voxels.dtype;
    result.components = voxels.components;
    result.byte_order = voxels.byte_order;
    result.data = voxels.data;
    result.space = space;
    result.kind = kind ? *kind : (voxels.components > 1 ? image_kind::vector : image_kind::scalar);
    // M * T(extent start): index 0 of the result is the extent's first index.
    result.ijk_to_space = ijk_to_space;
    for (std::size_t row = 0; row < 3; ++row) {
        double shift = 0;
        for (std::size_t axis = 0; axis < 3; ++axis) {
            shift += ijk_to_space[row * 4 + axis] * extent[2 * axis];
        }
        result.ijk_to_space[row * 4 + 3] += shift;
    }
    std::string problem;
    if (result.validate(problem)) {
        throw std::invalid_argument("slicerbridge::from_vtk_image: " + problem);
    }
    return result;
}

inline image from_vtk_image(vtkImageData* data, const vtkMatrix4x4* ijk_to_space,
                            slicerbridge::space space,
                            std::optional<image_kind> kind = std::nullopt) {
    return from_vtk_image(data, to_matrix4(ijk_to_space), space, kind);
}

} // namespace slicerbridge

#endif
