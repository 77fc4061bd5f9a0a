// slicerbridge::compiled: the SDK's non-template functions, compiled once (see
// <slicerbridge/src.hpp>).
#include <slicerbridge/src.hpp>
