// The server's processors where VTK is not at hand (the Windows cross build): the conformance
// ones alone.

#include "processors.hpp"

namespace slicerbridge {
namespace reference {

std::vector<processor> all_processors() { return conformance_processors(); }

void show_library_warnings(bool) {}

} // namespace reference
} // namespace slicerbridge
