// slicerbridge::compiled: the SDK's non-template functions (<slicerbridge/src.hpp>) and Asio's
// (ASIO_SEPARATE_COMPILATION), compiled once.
#include <slicerbridge/src.hpp>

#include <asio/impl/src.hpp>
