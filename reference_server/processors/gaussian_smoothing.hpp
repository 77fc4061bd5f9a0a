#ifndef SLICERBRIDGE_REFERENCE_PROCESSORS_GAUSSIAN_SMOOTHING_HPP
#define SLICERBRIDGE_REFERENCE_PROCESSORS_GAUSSIAN_SMOOTHING_HPP

// Gaussian smoothing with a physical sigma (vtkImageGaussianSmooth).

#include "common.hpp"

#include <vtkImageCast.h>
#include <vtkImageGaussianSmooth.h>

namespace slicerbridge {
namespace reference {

inline processor gaussian_smoothing_processor() {
    processor p;
    auto& d = p.description;
    d.name = "gaussian_smoothing";
    d.version = processors_version;
    d.title = "Gaussian smoothing";
    d.description =
        "Convolves a scalar volume with a Gaussian of standard deviation `sigma` millimetres, "
        "converted per axis to voxels from the volume's geometry (so anisotropic and oblique "
        "volumes are smoothed isotropically in space). Integer volumes become float32.";
    d.category = "Filtering.Denoising";
    d.contributor = contributor;
    d.idempotent = true; // the same inputs give the same outputs, and nothing else happens
    d.inputs.push_back(data_slot("volume", slot_type::image, "Input volume", "Volume to smooth",
                                 false, image_kind::scalar));
    d.outputs.push_back(data_slot("smoothed", slot_type::image, "Smoothed volume",
                                  "The smoothed volume, on the input's grid", false,
                                  image_kind::scalar));
    d.parameters.push_back(number_parameter("sigma", slot_type::floating, "Sigma (mm)",
                                            "Standard deviation of the Gaussian in millimetres",
                                            "Smoothing", 1.0, 0.0, 100.0, 0.1));
    d.parameters.push_back(number_parameter("radius_factor", slot_type::floating, "Kernel radius",
                                            "Kernel half-width in standard deviations",
                                            "Advanced", 3.0, 1.0, 10.0, 0.5));
    p.run = [](call_context& ctx, const invoke_params& params) {
        const auto& volume = input<image>(params, "volume");
        const double sigma = parameter<double>(params, "sigma");
        const double radius_factor = parameter<double>(params, "radius_factor");
        const auto source = to_vtk_image(volume, volume.space);
        const int output_type = volume.dtype == dtype::float64 ? VTK_DOUBLE : VTK_FLOAT;

        auto cast = vtkSmartPointer<vtkImageCast>::New();
        cast->SetInputData(source.data);
        cast->SetOutputScalarType(output_type);
        vtkAlgorithm* last = cast;
        auto smooth = vtkSmartPointer<vtkImageGaussianSmooth>::New();
        if (sigma > 0) {
            const auto spacing = column_lengths(volume.ijk_to_space);
            smooth->SetInputConnection(cast->GetOutputPort());
            smooth->SetDimensionality(3);
            smooth->SetStandardDeviations(sigma / spacing[0], sigma / spacing[1],
                                          sigma / spacing[2]);
            smooth->SetRadiusFactors(radius_factor, radius_factor, radius_factor);
            last = smooth;
        }
        run_algorithm(ctx, last, 0.0, 1.0, "smoothing");
        image smoothed = from_vtk_image(vtkImageData::SafeDownCast(last->GetOutputDataObject(0)),
                                        volume.ijk_to_space, volume.space, image_kind::scalar);
        return single_output("smoothed", std::move(smoothed));
    };
    return p;
}

} // namespace reference
} // namespace slicerbridge

#endif
