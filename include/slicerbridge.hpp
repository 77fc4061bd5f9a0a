#ifndef SLICERBRIDGE_HPP
#define SLICERBRIDGE_HPP

// Everything of the SlicerBridge SDK but the VTK conversions (<slicerbridge/vtk.hpp>, target
// slicerbridge::vtk) and the JSON ones (<slicerbridge/json.hpp>, target slicerbridge::json). A
// concept's own header compiles faster where only it is needed.

#include <slicerbridge/buffer.hpp>
#include <slicerbridge/cli_module.hpp>
#include <slicerbridge/client.hpp>
#include <slicerbridge/client/pool.hpp>
#include <slicerbridge/compression.hpp>
#include <slicerbridge/data/data_value.hpp>
#include <slicerbridge/data/dtype.hpp>
#include <slicerbridge/data/image.hpp>
#include <slicerbridge/data/image_series.hpp>
#include <slicerbridge/data/mesh.hpp>
#include <slicerbridge/data/parameter.hpp>
#include <slicerbridge/data/point_list.hpp>
#include <slicerbridge/data/space.hpp>
#include <slicerbridge/data/table.hpp>
#include <slicerbridge/data/transform.hpp>
#include <slicerbridge/data/typed_array.hpp>
#include <slicerbridge/description_builder.hpp>
#include <slicerbridge/error.hpp>
#include <slicerbridge/limits.hpp>
#include <slicerbridge/memfd.hpp>
#include <slicerbridge/message/catalog.hpp>
#include <slicerbridge/message/error_info.hpp>
#include <slicerbridge/message/hello.hpp>
#include <slicerbridge/message/invoke.hpp>
#include <slicerbridge/message/message.hpp>
#include <slicerbridge/message/progress.hpp>
#include <slicerbridge/message/timings.hpp>
#include <slicerbridge/processor.hpp>
#include <slicerbridge/server.hpp>
#include <slicerbridge/sync_client.hpp>
#include <slicerbridge/sync_pool.hpp>
#include <slicerbridge/transport/connect.hpp>
#include <slicerbridge/value.hpp>
#include <slicerbridge/version.hpp>
#include <slicerbridge/wire/codec.hpp>
#include <slicerbridge/wire/frame.hpp>

#endif
