#ifndef SLICERBRIDGE_REFERENCE_PROCESSORS_THRESHOLD_HPP
#define SLICERBRIDGE_REFERENCE_PROCESSORS_THRESHOLD_HPP

// Threshold to a label image (vtkImageThreshold).

#include "common.hpp"

#include <vtkDataArray.h>
#include <vtkImageThreshold.h>
#include <vtkPointData.h>

#include <limits>

namespace slicerbridge {
namespace reference {

namespace detail {

/// The smallest of uint8, int16 and int32 that holds both values.
inline dtype label_dtype_for(std::int64_t a, std::int64_t b) {
    const auto low = std::min(a, b);
    const auto high = std::max(a, b);
    if (low >= 0 && high <= 255) {
        return dtype::uint8;
    }
    if (low >= std::numeric_limits<std::int16_t>::min() &&
        high <= std::numeric_limits<std::int16_t>::max()) {
        return dtype::int16;
    }
    return dtype::int32;
}

} // namespace detail

inline processor threshold_processor() {
    processor p;
    auto& d = p.description;
    d.name = "threshold";
    d.version = processors_version;
    d.title = "Threshold";
    d.description = "Labels the voxels of a scalar volume whose value lies in [lower, upper] "
                    "with `inside_value`, the others with `outside_value`. The label image "
                    "has the volume's grid and the smallest integer type holding both values.";
    d.category = "Segmentation";
    d.contributor = contributor;
    d.idempotent = true; // the same inputs give the same outputs, and nothing else happens
    d.inputs.push_back(data_slot("volume", slot_type::image, "Input volume", "Volume to threshold",
                                 false, image_kind::scalar));
    d.outputs.push_back(data_slot("labels", slot_type::image, "Label map",
                                  "inside_value where lower <= voxel <= upper", false,
                                  image_kind::label));
    slot count;
    count.name = "inside_count";
    count.type = slot_type::integer;
    count.label = "Voxels inside";
    count.description = "How many voxels lie in [lower, upper]";
    d.outputs.push_back(count);
    d.parameters.push_back(number_parameter("lower", slot_type::floating, "Lower threshold",
                                            "Smallest value inside (inclusive)", "Threshold", 1.0));
    d.parameters.push_back(number_parameter("upper", slot_type::floating, "Upper threshold",
                                            "Largest value inside (inclusive); the default has "
                                            "no upper bound in practice",
                                            "Threshold", 1.0e30));
    d.parameters.push_back(number_parameter("inside_value", slot_type::integer, "Inside value",
                                            "Label of voxels inside the range", "Labels",
                                            std::int64_t{1}, -2147483648.0, 2147483647.0, 1.0));
    d.parameters.push_back(number_parameter("outside_value", slot_type::integer, "Outside value",
                                            "Label of voxels outside the range", "Labels",
                                            std::int64_t{0}, -2147483648.0, 2147483647.0, 1.0));
    p.run = [](call_context& ctx, const invoke_params& params) {
        const auto& volume = input<image>(params, "volume");
        const double lower = parameter<double>(params, "lower");
        const double upper = parameter<double>(params, "upper");
        const auto inside = parameter<std::int64_t>(params, "inside_value");
        const auto outside = parameter<std::int64_t>(params, "outside_value");
        if (lower > upper) {
            reject("lower", "lower is above upper");
        }
        const dtype output_dtype = detail::label_dtype_for(inside, outside);
        const auto source = to_vtk_image(volume, volume.space);
        auto threshold = vtkSmartPointer<vtkImageThreshold>::New();
        threshold->SetInputData(source.data);
        const auto [from, to] = range_for_dtype(lower, upper, volume.dtype);
        threshold->ThresholdBetween(from, to);
        threshold->SetInValue(static_cast<double>(inside));
        threshold->SetOutValue(static_cast<double>(outside));
        threshold->ReplaceInOn();
        threshold->ReplaceOutOn();
        threshold->SetOutputScalarType(to_vtk_type(output_dtype));
        run_algorithm(ctx, threshold, 0.0, 1.0, "thresholding");
        image labels = from_vtk_image(threshold->GetOutput(), volume.ijk_to_space, volume.space,
                                      image_kind::label);
        labels.segments.push_back(segment{inside, "thresholded", label_color(inside)});
        // Counted on the source: inside and outside values may be equal.
        vtkDataArray* scalars = source.data->GetPointData()->GetScalars();
        std::int64_t count = 0;
        const vtkIdType voxels = scalars->GetNumberOfTuples();
        for (vtkIdType i = 0; i < voxels; ++i) {
            const double x = scalars->GetComponent(i, 0);
            count += x >= from && x <= to ? 1 : 0;
        }
        invoke_result result = single_output("labels", std::move(labels));
        result.scalars.emplace_back("inside_count", count);
        return result;
    };
    return p;
}

} // namespace reference
} // namespace slicerbridge

#endif
