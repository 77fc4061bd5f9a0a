#ifndef SLICERBRIDGE_REFERENCE_PROCESSORS_MESH_SMOOTHING_HPP
#define SLICERBRIDGE_REFERENCE_PROCESSORS_MESH_SMOOTHING_HPP

// Windowed sinc smoothing of a surface (vtkWindowedSincPolyDataFilter).

#include "common.hpp"

#include <vtkWindowedSincPolyDataFilter.h>

namespace slicerbridge {
namespace reference {

inline processor mesh_smoothing_processor() {
    processor p;
    auto& d = p.description;
    d.name = "mesh_smoothing";
    d.version = processors_version;
    d.title = "Surface smoothing";
    d.description = "Smooths a surface with a windowed sinc filter, which shrinks it far less "
                    "than Laplacian smoothing. The mesh stays in its space.";
    d.category = "Surface Models";
    d.contributor = contributor;
    d.idempotent = true; // the same inputs give the same outputs, and nothing else happens
    d.inputs.push_back(data_slot("mesh", slot_type::mesh, "Input surface", "Surface to smooth"));
    d.outputs.push_back(data_slot("smoothed", slot_type::mesh, "Smoothed surface",
                                  "The surface with the same cells, points moved"));
    d.parameters.push_back(number_parameter("iterations", slot_type::integer, "Iterations",
                                            "Degree of the filter's polynomial", "Smoothing",
                                            std::int64_t{20}, 1.0, 1000.0, 1.0));
    d.parameters.push_back(number_parameter("pass_band", slot_type::floating, "Pass band",
                                            "Lower values smooth more", "Smoothing", 0.1, 0.0001,
                                            2.0, 0.01));
    d.parameters.push_back(bool_parameter("boundary_smoothing", "Smooth boundary",
                                          "Also move points on the boundary", "Advanced", false));
    d.parameters.push_back(bool_parameter("feature_edge_smoothing", "Smooth feature edges",
                                          "Also move points on sharp edges", "Advanced", false));
    d.parameters.push_back(number_parameter("feature_angle", slot_type::floating,
                                            "Feature angle (degrees)",
                                            "Angle above which an edge is a feature edge",
                                            "Advanced", 45.0, 0.0, 180.0, 1.0));
    d.parameters.push_back(bool_parameter("normalize_coordinates", "Normalize coordinates",
                                          "Scale to a unit cube while smoothing (numerically "
                                          "steadier)",
                                          "Advanced", true));
    p.run = [](call_context& ctx, const invoke_params& params) {
        const auto& surface = input<mesh>(params, "mesh");
        auto smoother = vtkSmartPointer<vtkWindowedSincPolyDataFilter>::New();
        smoother->SetInputData(to_vtk_polydata(surface, surface.space));
        smoother->SetNumberOfIterations(
            static_cast<int>(parameter<std::int64_t>(params, "iterations")));
        smoother->SetPassBand(parameter<double>(params, "pass_band"));
        smoother->SetBoundarySmoothing(parameter<bool>(params, "boundary_smoothing"));
        smoother->SetFeatureEdgeSmoothing(parameter<bool>(params, "feature_edge_smoothing"));
        smoother->SetFeatureAngle(parameter<double>(params, "feature_angle"));
        smoother->SetNormalizeCoordinates(parameter<bool>(params, "normalize_coordinates"));
        smoother->NonManifoldSmoothingOn();
        run_algorithm(ctx, smoother, 0.0, 1.0, "smoothing the surface");
        return single_output("smoothed", from_vtk_polydata(smoother->GetOutput(), surface.space));
    };
    return p;
}

} // namespace reference
} // namespace slicerbridge

#endif
