#ifndef SLICERBRIDGE_REFERENCE_PROCESSORS_RESAMPLE_HPP
#define SLICERBRIDGE_REFERENCE_PROCESSORS_RESAMPLE_HPP

// Resampling through a linear transform onto a reference grid (vtkImageReslice).

#include "common.hpp"

#include <vtkImageReslice.h>
#include <vtkTransform.h>

namespace slicerbridge {
namespace reference {

namespace detail {

/// The volume's grid with voxels of `spacing` mm covering the same box (the outer faces of the
/// first and last voxels), along the same axes.
inline std::pair<std::array<std::uint64_t, 3>, matrix4>
respaced_grid(const image& volume, const std::vector<double>& spacing) {
    const auto old_spacing = column_lengths(volume.ijk_to_space);
    std::array<std::uint64_t, 3> dims{};
    matrix4 m = volume.ijk_to_space;
    for (std::size_t axis = 0; axis < 3; ++axis) {
        const double extent = static_cast<double>(volume.dims[axis]) * old_spacing[axis];
        dims[axis] = static_cast<std::uint64_t>(std::max(1.0, std::round(extent / spacing[axis])));
        const double scale = spacing[axis] / old_spacing[axis];
        for (std::size_t row = 0; row < 3; ++row) {
            const double unit_step = volume.ijk_to_space[row * 4 + axis];
            m[row * 4 + axis] = unit_step * scale;
            // First voxel centre: half a new voxel in from the box's corner.
            m[row * 4 + 3] += 0.5 * (unit_step * scale - unit_step);
        }
    }
    return {dims, m};
}

} // namespace detail

inline processor resample_processor() {
    processor p;
    auto& d = p.description;
    d.name = "resample";
    d.version = processors_version;
    d.title = "Resample";
    d.description =
        "Resamples a volume moved by an optional linear transform (to parent: content at p "
        "ends up at T p) onto an output grid: the reference image's grid if given, else the "
        "volume's own axes with voxels of `spacing` mm (the volume's spacing if empty). "
        "Samples outside the volume take `background`.";
    d.category = "Registration.Resampling";
    d.contributor = contributor;
    d.idempotent = true; // the same inputs give the same outputs, and nothing else happens
    d.inputs.push_back(data_slot("volume", slot_type::image, "Input volume",
                                 "Volume to resample (any kind)"));
    d.inputs.push_back(data_slot("transform", slot_type::transform, "Transform",
                                 "Moves the volume (identity if absent)", true));
    d.inputs.push_back(data_slot("reference", slot_type::image, "Reference grid",
                                 "Image whose grid (dims and ijk_to_space) the output takes",
                                 true));
    d.outputs.push_back(data_slot("resampled", slot_type::image, "Resampled volume",
                                  "The moved volume on the output grid"));
    slot spacing = number_parameter("spacing", slot_type::float_vector, "Output spacing (mm)",
                                    "Three voxel sizes, or empty to keep the volume's; not "
                                    "with a reference",
                                    "Output grid", std::vector<double>{}, 0.001, 1000.0, 0.1);
    d.parameters.push_back(std::move(spacing));
    d.parameters.push_back(enum_parameter("interpolation", "Interpolation",
                                          "auto: nearest for label images, linear otherwise",
                                          "Sampling", {"auto", "nearest", "linear", "cubic"},
                                          "auto"));
    d.parameters.push_back(number_parameter("background", slot_type::floating, "Background",
                                            "Value outside the volume", "Sampling", 0.0));
    p.run = [](call_context& ctx, const invoke_params& params) {
        const auto& volume = input<image>(params, "volume");
        const auto* moving = params.input_as<transform>("transform");
        const auto* reference_image = params.input_as<image>("reference");
        const auto& spacing = parameter<std::vector<double>>(params, "spacing");
        const auto& interpolation = parameter<std::string>(params, "interpolation");
        if (!spacing.empty() && spacing.size() != 3) {
            reject("spacing", "expected three values or none");
        }
        if (!spacing.empty() && reference_image != nullptr) {
            reject("spacing", "give either a reference or a spacing, not both");
        }

        std::array<std::uint64_t, 3> dims = volume.dims;
        matrix4 output_matrix = volume.ijk_to_space;
        if (reference_image != nullptr) {
            dims = reference_image->dims;
            output_matrix = reference_image->in_space(volume.space).ijk_to_space;
        } else if (!spacing.empty()) {
            std::tie(dims, output_matrix) = detail::respaced_grid(volume, spacing);
        }
        for (auto size : dims) {
            if (size > static_cast<std::uint64_t>(std::numeric_limits<int>::max())) {
                reject("spacing", "output grid too large");
            }
        }
        const matrix4 to_parent =
            moving != nullptr ? moving->in_space(volume.space).matrix : identity_matrix;
        if (std::abs(linear_determinant(to_parent)) < 1e-12) {
            reject("transform", "not invertible");
        }
        // Output voxel -> space -> back through the transform -> input voxel.
        const matrix4 output_to_input = multiply(
            inverse_affine(volume.ijk_to_space), multiply(inverse_affine(to_parent), output_matrix));

        const auto source = to_vtk_image(volume, volume.space);
        auto sampling = vtkSmartPointer<vtkTransform>::New();
        sampling->SetMatrix(output_to_input.data());
        auto reslice = vtkSmartPointer<vtkImageReslice>::New();
        reslice->SetInputData(source.data);
        reslice->SetResliceTransform(sampling);
        reslice->SetOutputOrigin(0, 0, 0);
        reslice->SetOutputSpacing(1, 1, 1);
        reslice->SetOutputExtent(0, static_cast<int>(dims[0]) - 1, 0,
                                 static_cast<int>(dims[1]) - 1, 0, static_cast<int>(dims[2]) - 1);
        reslice->SetBackgroundLevel(parameter<double>(params, "background"));
        if (interpolation == "nearest" ||
            (interpolation == "auto" && volume.kind == image_kind::label)) {
            reslice->SetInterpolationModeToNearestNeighbor();
        } else if (interpolation == "cubic") {
            reslice->SetInterpolationModeToCubic();
        } else {
            reslice->SetInterpolationModeToLinear();
        }
        run_algorithm(ctx, reslice, 0.0, 1.0, "resampling");
        image resampled =
            from_vtk_image(reslice->GetOutput(), output_matrix, volume.space, volume.kind);
        resampled.segments = volume.segments;
        return single_output("resampled", std::move(resampled));
    };
    return p;
}

} // namespace reference
} // namespace slicerbridge

#endif
