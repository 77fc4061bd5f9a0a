#ifndef SLICERBRIDGE_REFERENCE_PROCESSORS_CONNECTED_COMPONENTS_HPP
#define SLICERBRIDGE_REFERENCE_PROCESSORS_CONNECTED_COMPONENTS_HPP

// Connected components of the foreground, labelled by size (vtkImageConnectivityFilter).

#include "common.hpp"

#include <vtkIdTypeArray.h>
#include <vtkImageConnectivityFilter.h>
#include <vtkPointData.h>

namespace slicerbridge {
namespace reference {

inline processor connected_components_processor() {
    processor p;
    auto& d = p.description;
    d.name = "connected_components";
    d.version = processors_version;
    d.title = "Connected components";
    d.description =
        "Splits the foreground (voxels with values in [lower, upper]) into face-connected "
        "components and labels them 1, 2, ... from the largest down. Components smaller than "
        "`minimum_size` voxels are dropped; with `max_components` > 0 only that many of the "
        "largest are kept. The result is an int32 label image on the input's grid.";
    d.category = "Segmentation";
    d.contributor = contributor;
    d.idempotent = true; // the same inputs give the same outputs, and nothing else happens
    d.inputs.push_back(data_slot("labels", slot_type::image, "Input label map",
                                 "Image whose foreground is split (any kind, one component)"));
    d.outputs.push_back(data_slot("components", slot_type::image, "Components",
                                  "Label image: 1 = largest component", false,
                                  image_kind::label));
    d.parameters.push_back(number_parameter("lower", slot_type::floating, "Foreground from",
                                            "Smallest foreground value (inclusive)",
                                            "Foreground", 0.5));
    d.parameters.push_back(number_parameter("upper", slot_type::floating, "Foreground to",
                                            "Largest foreground value (inclusive)", "Foreground",
                                            1.0e30));
    d.parameters.push_back(number_parameter("minimum_size", slot_type::integer, "Minimum size",
                                            "Smallest component kept, in voxels", "Components",
                                            std::int64_t{1}, 1.0, 1.0e15, 1.0));
    d.parameters.push_back(number_parameter("max_components", slot_type::integer,
                                            "Maximum components",
                                            "Keep only this many of the largest (0: all)",
                                            "Components", std::int64_t{0}, 0.0, 1.0e9, 1.0));
    p.run = [](call_context& ctx, const invoke_params& params) {
        const auto& labels = input<image>(params, "labels");
        const double lower = parameter<double>(params, "lower");
        const double upper = parameter<double>(params, "upper");
        const auto minimum_size = parameter<std::int64_t>(params, "minimum_size");
        const auto max_components = parameter<std::int64_t>(params, "max_components");
        if (labels.components != 1) {
            reject("labels", "expected one component");
        }
        if (lower > upper) {
            reject("lower", "lower is above upper");
        }
        const auto source = to_vtk_image(labels, labels.space);
        auto connectivity = vtkSmartPointer<vtkImageConnectivityFilter>::New();
        connectivity->SetInputData(source.data);
        const auto [from, to] = range_for_dtype(lower, upper, labels.dtype);
        connectivity->SetScalarRange(from, to);
        connectivity->SetExtractionModeToAllRegions();
        connectivity->SetLabelModeToSizeRank();
        connectivity->SetLabelScalarTypeToInt();
        connectivity->SetSizeRange(static_cast<vtkIdType>(minimum_size), VTK_ID_MAX);
        run_algorithm(ctx, connectivity, 0.0, 0.9, "labelling components");

        vtkImageData* output = connectivity->GetOutput();
        auto* values = static_cast<std::int32_t*>(output->GetScalarPointer());
        const vtkIdType count = output->GetNumberOfPoints();
        const vtkIdType regions = connectivity->GetNumberOfExtractedRegions();
        const std::int64_t kept =
            max_components > 0 ? std::min<std::int64_t>(max_components, regions) : regions;
        if (kept < regions) {
            for (vtkIdType i = 0; i < count; ++i) {
                if (values[i] > kept) {
                    values[i] = 0;
                }
            }
        }
        image components =
            from_vtk_image(output, labels.ijk_to_space, labels.space, image_kind::label);
        for (std::int64_t label = 1; label <= kept; ++label) {
            components.segments.push_back(
                segment{label, "component " + std::to_string(label), label_color(label)});
        }
        ctx.report_progress(1.0, "labelling components");
        return single_output("components", std::move(components));
    };
    return p;
}

} // namespace reference
} // namespace slicerbridge

#endif
