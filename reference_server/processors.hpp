#ifndef SLICERBRIDGE_REFERENCE_PROCESSORS_HPP
#define SLICERBRIDGE_REFERENCE_PROCESSORS_HPP

// Every processor of the reference server, registered in one place.

#include <slicerbridge/processor.hpp>

#include <vector>

namespace slicerbridge {
namespace reference {

/// The reference server's processors: the conformance ones (echo, slow, fail) and the VTK
/// computations.
std::vector<processor> all_processors();

} // namespace reference
} // namespace slicerbridge

#endif
