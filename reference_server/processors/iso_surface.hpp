#ifndef SLICERBRIDGE_REFERENCE_PROCESSORS_ISO_SURFACE_HPP
#define SLICERBRIDGE_REFERENCE_PROCESSORS_ISO_SURFACE_HPP

// Iso-surfaces (vtkFlyingEdges3D) and label surfaces (vtkDiscreteFlyingEdges3D), placed in the
// image's space.

#include "common.hpp"

#include <vtkDiscreteFlyingEdges3D.h>
#include <vtkFlyingEdges3D.h>
#include <vtkPolyDataAlgorithm.h>
#include <vtkPointData.h>
#include <vtkReverseSense.h>

#include <set>

namespace slicerbridge {
namespace reference {

namespace detail {

/// The distinct non-zero values of an integer image, ascending.
inline std::vector<std::int64_t> label_values(const image& labels) {
    const image native = labels.to_native_byte_order();
    std::set<std::int64_t> found;
    visit_dtype(native.dtype, [&](auto type) {
        using T = decltype(type);
        const auto* voxels = native.voxels<T>();
        const std::uint64_t count = native.voxel_count().value_or(0);
        for (std::uint64_t i = 0; i < count; ++i) {
            if (voxels[i] != 0) {
                found.insert(static_cast<std::int64_t>(voxels[i]));
            }
        }
    });
    return {found.begin(), found.end()};
}

/// Moves every point of `poly` (in voxel indices) to `m * point`.
inline void transform_points(vtkPolyData* poly, const matrix4& m) {
    vtkPoints* points = poly->GetPoints();
    if (points == nullptr) {
        return;
    }
    for (vtkIdType i = 0; i < points->GetNumberOfPoints(); ++i) {
        double p[3];
        points->GetPoint(i, p);
        const auto placed = apply(m, p[0], p[1], p[2]);
        points->SetPoint(i, placed.data());
    }
    points->Modified();
}

} // namespace detail

inline processor iso_surface_processor() {
    processor p;
    auto& d = p.description;
    d.name = "iso_surface";
    d.version = processors_version;
    d.title = "Iso-surface";
    d.description =
        "Extracts a triangle surface from a volume: in contour mode the iso-surface at `level` "
        "(flying edges), in labels mode the boundary of each label (discrete flying edges; the "
        "point array `label` holds the label value). auto picks labels for label images and "
        "contour otherwise. The surface is in the image's space (points placed by its "
        "ijk_to_space), with triangles wound consistently whatever the matrix's handedness.";
    d.category = "Surface Models";
    d.contributor = contributor;
    d.idempotent = true; // the same inputs give the same outputs, and nothing else happens
    d.inputs.push_back(data_slot("volume", slot_type::image, "Input volume",
                                 "Scalar volume or label map (one component)"));
    d.outputs.push_back(data_slot("surface", slot_type::mesh, "Surface",
                                  "Triangle mesh in the image's space"));
    d.parameters.push_back(enum_parameter("mode", "Mode",
                                          "contour: iso-surface at level; labels: one surface "
                                          "per label; auto: labels for label images",
                                          "Surface", {"auto", "contour", "labels"}, "auto"));
    d.parameters.push_back(number_parameter("level", slot_type::floating, "Iso-value",
                                            "Value of the contour (contour mode)", "Surface",
                                            0.5));
    slot labels = number_parameter("labels", slot_type::int_vector, "Labels",
                                   "Label values to extract (labels mode); empty: every "
                                   "non-zero label",
                                   "Surface", std::vector<std::int64_t>{});
    d.parameters.push_back(std::move(labels));
    p.run = [](call_context& ctx, const invoke_params& params) {
        const auto& volume = input<image>(params, "volume");
        const auto& mode_name = parameter<std::string>(params, "mode");
        if (volume.components != 1) {
            reject("volume", "expected one component");
        }
        const bool labels_mode =
            mode_name == "labels" || (mode_name == "auto" && volume.kind == image_kind::label);
        if (labels_mode && !is_integer_dtype(volume.dtype)) {
            reject("volume", "labels mode needs an integer image");
        }
        const auto source = to_vtk_image(volume, volume.space);
        vtkSmartPointer<vtkPolyDataAlgorithm> contour;
        if (labels_mode) {
            std::vector<std::int64_t> wanted = parameter<std::vector<std::int64_t>>(params, "labels");
            if (wanted.empty()) {
                wanted = detail::label_values(volume);
            }
            auto discrete = vtkSmartPointer<vtkDiscreteFlyingEdges3D>::New();
            discrete->SetNumberOfContours(static_cast<int>(wanted.size()));
            for (std::size_t i = 0; i < wanted.size(); ++i) {
                discrete->SetValue(static_cast<int>(i), static_cast<double>(wanted[i]));
            }
            discrete->ComputeNormalsOff();
            discrete->ComputeGradientsOff();
            discrete->ComputeScalarsOn();
            contour = discrete;
        } else {
            auto flying = vtkSmartPointer<vtkFlyingEdges3D>::New();
            flying->SetValue(0, parameter<double>(params, "level"));
            flying->ComputeNormalsOff();
            flying->ComputeGradientsOff();
            flying->ComputeScalarsOff();
            contour = flying;
        }
        contour->SetInputData(source.data);
        run_algorithm(ctx, contour, 0.0, 0.8, "extracting the surface");

        vtkSmartPointer<vtkPolyData> surface = contour->GetOutput();
        if (linear_determinant(volume.ijk_to_space) < 0) {
            // A left-handed matrix mirrors the surface: reverse the triangles to keep their
            // orientation in space.
            auto reverse = vtkSmartPointer<vtkReverseSense>::New();
            reverse->SetInputData(surface);
            reverse->ReverseCellsOn();
            reverse->ReverseNormalsOff();
            run_algorithm(ctx, reverse, 0.8, 0.9, "orienting the surface");
            surface = reverse->GetOutput();
        }
        if (vtkDataArray* scalars = surface->GetPointData()->GetScalars()) {
            scalars->SetName("label");
        }
        detail::transform_points(surface, volume.ijk_to_space);
        mesh result = from_vtk_polydata(surface, volume.space);
        ctx.report_progress(1.0, "extracting the surface");
        return single_output("surface", std::move(result));
    };
    return p;
}

} // namespace reference
} // namespace slicerbridge

#endif
