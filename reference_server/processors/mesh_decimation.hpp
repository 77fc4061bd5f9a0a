#ifndef SLICERBRIDGE_REFERENCE_PROCESSORS_MESH_DECIMATION_HPP
#define SLICERBRIDGE_REFERENCE_PROCESSORS_MESH_DECIMATION_HPP

// Quadric decimation of a surface (vtkQuadricDecimation).

#include "common.hpp"

#include <vtkQuadricDecimation.h>
#include <vtkTriangleFilter.h>

namespace slicerbridge {
namespace reference {

inline processor mesh_decimation_processor() {
    processor p;
    auto& d = p.description;
    d.name = "mesh_decimation";
    d.version = processors_version;
    d.title = "Surface decimation";
    d.description = "Reduces the number of triangles of a surface by quadric edge collapse. "
                    "Polygons are triangulated first. The mesh stays in its space.";
    d.category = "Surface Models";
    d.contributor = contributor;
    d.idempotent = true; // the same inputs give the same outputs, and nothing else happens
    d.inputs.push_back(data_slot("mesh", slot_type::mesh, "Input surface", "Surface to reduce"));
    d.outputs.push_back(data_slot("decimated", slot_type::mesh, "Decimated surface",
                                  "The reduced triangle surface"));
    d.parameters.push_back(number_parameter("target_reduction", slot_type::floating,
                                            "Target reduction",
                                            "Fraction of the triangles to remove", "Decimation",
                                            0.5, 0.0, 0.99, 0.05));
    d.parameters.push_back(bool_parameter("volume_preservation", "Preserve volume",
                                          "Keep the enclosed volume while collapsing edges",
                                          "Decimation", true));
    p.run = [](call_context& ctx, const invoke_params& params) {
        const auto& surface = input<mesh>(params, "mesh");
        auto triangles = vtkSmartPointer<vtkTriangleFilter>::New();
        triangles->SetInputData(to_vtk_polydata(surface, surface.space));
        triangles->PassVertsOff();
        triangles->PassLinesOff();
        run_algorithm(ctx, triangles, 0.0, 0.2, "triangulating");
        auto decimate = vtkSmartPointer<vtkQuadricDecimation>::New();
        decimate->SetInputConnection(triangles->GetOutputPort());
        decimate->SetTargetReduction(parameter<double>(params, "target_reduction"));
        decimate->SetVolumePreservation(parameter<bool>(params, "volume_preservation"));
        run_algorithm(ctx, decimate, 0.2, 1.0, "decimating");
        return single_output("decimated", from_vtk_polydata(decimate->GetOutput(), surface.space));
    };
    return p;
}

} // namespace reference
} // namespace slicerbridge

#endif
