#ifndef SLICERBRIDGE_HPP
#define SLICERBRIDGE_HPP

// Everything of the SlicerBridge SDK.

#include <slicerbridge/buffer.hpp>
#include <slicerbridge/compression.hpp>
#include <slicerbridge/error.hpp>
#include <slicerbridge/limits.hpp>
#include <slicerbridge/value.hpp>
#include <slicerbridge/version.hpp>
#include <slicerbridge/wire/codec.hpp>
#include <slicerbridge/wire/frame.hpp>

#endif
