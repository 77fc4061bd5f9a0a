#include "processors.hpp"

#include "processors/connected_components.hpp"
#include "processors/echo.hpp"
#include "processors/fail.hpp"
#include "processors/gaussian_smoothing.hpp"
#include "processors/iso_surface.hpp"
#include "processors/label_statistics.hpp"
#include "processors/mesh_decimation.hpp"
#include "processors/mesh_smoothing.hpp"
#include "processors/resample.hpp"
#include "processors/slow.hpp"
#include "processors/threshold.hpp"

namespace slicerbridge {
namespace reference {

std::vector<processor> all_processors() {
    return {
        echo_processor(),
        slow_processor(),
        fail_processor(),
        gaussian_smoothing_processor(),
        threshold_processor(),
        connected_components_processor(),
        label_statistics_processor(),
        iso_surface_processor(),
        mesh_smoothing_processor(),
        mesh_decimation_processor(),
        resample_processor(),
    };
}

} // namespace reference
} // namespace slicerbridge
