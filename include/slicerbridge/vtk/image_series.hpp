#ifndef SLICERBRIDGE_VTK_IMAGE_SERIES_HPP
#define SLICERBRIDGE_VTK_IMAGE_SERIES_HPP

// Image series <-> one vtkImageData and matrix per volume, as a Slicer sequence node holds a
// series (one scalar volume node per item). A vtkMultiBlockDataSet would group the volumes but
// has no place for a matrix per block, which is what a series must keep ([SER-2]); a
// MultiVolume node's single image with one component per frame is for series that share one
// geometry, and is made from these volumes by the caller when `shares_geometry()`.

#include <slicerbridge/data/image_series.hpp>
#include <slicerbridge/vtk/image.hpp>

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace slicerbridge {

/// One vtk_image per volume, each with that volume's matrix in `target` ([SER-5]). The scalars
/// view the series' voxels without copying them when they are in native byte order. Throws
/// std::invalid_argument if `series` is invalid, std::length_error if a dimension exceeds
/// VTK's int extents.
inline std::vector<vtk_image> to_vtk_images(const image_series& series,
                                            slicerbridge::space target) {
    std::string problem;
    if (series.validate(problem)) {
        throw std::invalid_argument("slicerbridge::to_vtk_images: " + problem);
    }
    std::vector<vtk_image> result;
    result.reserve(series.volumes.size());
    for (std::size_t v = 0; v < series.volumes.size(); ++v) {
        result.push_back(to_vtk_image(series.volume(v), target));
    }
    return result;
}

/// A series of `volumes` (one vtkImageData and matrix into `space` each, as `from_vtk_image`
/// reads them) at `values` on `axis`; the voxels are copied into one buffer. Gradients of a
/// b_value series are set by the caller on `volumes[v].gradient`, so the result of a b_value
/// axis is valid only after that. Throws std::invalid_argument if the volumes differ in dims,
/// dtype or components, if `values` does not hold one value per volume, or if an image or,
/// except for the gradients, the series is invalid.
inline image_series from_vtk_images(const std::vector<vtk_image>& volumes, series_axis axis,
                                    const std::vector<double>& values,
                                    std::optional<image_kind> kind = std::nullopt) {
    std::vector<image> images;
    images.reserve(volumes.size());
    for (const auto& volume : volumes) {
        images.push_back(from_vtk_image(volume.data, volume.ijk_to_space, volume.space, kind));
    }
    image_series result = image_series::from_volumes(images, axis, values);
    std::string problem;
    if (axis != series_axis::b_value && result.validate(problem)) {
        throw std::invalid_argument("slicerbridge::from_vtk_images: " + problem);
    }
    return result;
}

} // namespace slicerbridge

#endif
