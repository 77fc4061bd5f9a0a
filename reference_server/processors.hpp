#ifndef SLICERBRIDGE_REFERENCE_PROCESSORS_HPP
#define SLICERBRIDGE_REFERENCE_PROCESSORS_HPP

// Every processor of the reference server, registered in one place.

#include <slicerbridge/processor.hpp>

#include <vector>

namespace slicerbridge {
namespace reference {

/// The conformance processors: echo, slow and fail (conformance_processors.cpp, no VTK).
std::vector<processor> conformance_processors();

/// The processors the server serves: the conformance ones and, where VTK is at hand, the VTK
/// computations (processors.cpp); without VTK, the conformance ones alone
/// (conformance_only.cpp).
std::vector<processor> all_processors();

/// Lets the processors' libraries print their own warnings (VTK's: only at debug level).
void show_library_warnings(bool show);

} // namespace reference
} // namespace slicerbridge

#endif
