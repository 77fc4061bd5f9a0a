#include "processors.hpp"

#include "processors/echo.hpp"
#include "processors/fail.hpp"
#include "processors/slow.hpp"

namespace slicerbridge {
namespace reference {

std::vector<processor> conformance_processors() {
    return {echo_processor(), slow_processor(), fail_processor()};
}

} // namespace reference
} // namespace slicerbridge
