#ifndef SLICERBRIDGE_SRC_HPP
#define SLICERBRIDGE_SRC_HPP
// The SDK's non-template functions, for a program built with SLICERBRIDGE_SEPARATE_COMPILATION:
// include this header in exactly one of its .cpp files (slicerbridge::compiled does, in
// src/src.cpp). See detail/config.hpp.

#if !defined(SLICERBRIDGE_SEPARATE_COMPILATION)
#error "<slicerbridge/src.hpp> is for SLICERBRIDGE_SEPARATE_COMPILATION builds"
#endif

#include <slicerbridge/client/impl/client.ipp>
#include <slicerbridge/data/impl/image.ipp>
#include <slicerbridge/data/impl/image_series.ipp>
#include <slicerbridge/data/impl/mesh.ipp>
#include <slicerbridge/data/impl/parameter.ipp>
#include <slicerbridge/data/impl/point_list.ipp>
#include <slicerbridge/data/impl/table.ipp>
#include <slicerbridge/data/impl/typed_array.ipp>
#include <slicerbridge/impl/buffer.ipp>
#include <slicerbridge/impl/cli_module.ipp>
#include <slicerbridge/impl/error.ipp>
#include <slicerbridge/impl/sync_client.ipp>
#include <slicerbridge/impl/value.ipp>
#include <slicerbridge/message/impl/catalog.ipp>
#include <slicerbridge/message/impl/hello.ipp>
#include <slicerbridge/message/impl/invoke.ipp>
#include <slicerbridge/message/impl/message.ipp>
#include <slicerbridge/server/impl/server.ipp>
#include <slicerbridge/transport/impl/pipe_stream.ipp>
#include <slicerbridge/wire/impl/codec.ipp>
#include <slicerbridge/wire/impl/frame.ipp>
#endif
