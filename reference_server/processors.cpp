#include "processors.hpp"

#include "processors/connected_components.hpp"
#include "processors/gaussian_smoothing.hpp"
#include "processors/iso_surface.hpp"
#include "processors/label_statistics.hpp"
#include "processors/mesh_decimation.hpp"
#include "processors/mesh_smoothing.hpp"
#include "processors/resample.hpp"
#include "processors/threshold.hpp"

#include <vtkObject.h>

namespace slicerbridge {
namespace reference {

std::vector<processor> all_processors() {
    auto all = conformance_processors();
    all.push_back(gaussian_smoothing_processor());
    all.push_back(threshold_processor());
    all.push_back(connected_components_processor());
    all.push_back(label_statistics_processor());
    all.push_back(iso_surface_processor());
    all.push_back(mesh_smoothing_processor());
    all.push_back(mesh_decimation_processor());
    all.push_back(resample_processor());
    return all;
}

void show_library_warnings(bool show) { vtkObject::SetGlobalWarningDisplay(show ? 1 : 0); }

} // namespace reference
} // namespace slicerbridge
