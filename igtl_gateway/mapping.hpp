#ifndef SLICERBRIDGE_IGTL_GATEWAY_MAPPING_HPP
#define SLICERBRIDGE_IGTL_GATEWAY_MAPPING_HPP

// Exact conversions between OpenIGTLink version 2 messages (built and read with the OpenIGTLink
// library) and SlicerBridge data values. No sockets: every function works on message objects.
//
// IMAGE. OpenIGTLink sends a float32 3x3 matrix whose columns are the voxel steps along i, j and
// k (direction times spacing) and a float32 origin that is the centre of the volume: the point
// halfway between the centres of the first and the last voxel, first + M * (n - 1) / 2, as
// Slicer's OpenIGTLinkIO computes it. SlicerBridge sends a float64 matrix whose origin is the
// centre of the first voxel. Reading: the float32 values are widened exactly and the first
// voxel is computed in float64. Writing: the matrix and the volume centre are computed in
// float64 and each of the 12 numbers is rounded once to the nearest float32 (relative error at
// most 2^-24, about 6e-8: 0.06 um at 1 m). Columns are written as they are (the library's
// spacing is set to 1), so no normalisation adds a second rounding, and a matrix read from
// OpenIGTLink is written back bit for bit.

#include <slicerbridge/data/data_value.hpp>

#include <igtlImageMessage.h>
#include <igtlMessageBase.h>
#include <igtlMessageHeader.h>
#include <igtlPointMessage.h>
#include <igtlPolyDataMessage.h>
#include <igtlStatusMessage.h>
#include <igtlStringMessage.h>
#include <igtlTransformMessage.h>

#include <cstdint>
#include <optional>
#include <string>
#include <system_error>

namespace slicerbridge {
namespace igtl_gateway {

/// Why a message could not be mapped: an OpenIGTLink STATUS code (igtl::StatusMessage::STATUS_*)
/// and a sentence that names fields and sizes, never data.
struct mapping_error {
    int status = igtl::StatusMessage::STATUS_UNKNOWN_INSTRUCTION;
    std::string message;
};

/// OpenIGTLink IMAGE: at most 65,535 voxels per axis (uint16 fields), 1..254 components (the
/// library refuses 255), and a body the library can size with `int`.
constexpr std::uint64_t max_igtl_dimension = 65535;
constexpr std::uint32_t max_igtl_components = 254;
constexpr std::uint64_t max_igtl_body = 2147483647ull - 1024;
/// OpenIGTLink device names hold at most 20 bytes.
constexpr std::size_t max_device_name = 20;

/// The time stamp of a header: seconds and fraction (1/2^32 s), as the library gives them.
struct time_stamp {
    unsigned int seconds = 0;
    unsigned int fraction = 0;
};

// ---- reading: messages whose body has been received and not yet unpacked ----

/// Unpacks `message` (checking its CRC when `check_crc`) and maps it to an image. The voxels
/// stay in the message's buffer (no copy); the image keeps the message alive. A subvolume maps
/// to an image of the subvolume's size whose first voxel is the subvolume's first voxel.
std::optional<image> image_from_igtl(const igtl::ImageMessage::Pointer& message, bool check_crc,
                                     mapping_error& error);
std::optional<transform> transform_from_igtl(const igtl::TransformMessage::Pointer& message,
                                             bool check_crc, mapping_error& error);
std::optional<mesh> mesh_from_igtl(const igtl::PolyDataMessage::Pointer& message, bool check_crc,
                                   mapping_error& error);
std::optional<point_list> points_from_igtl(const igtl::PointMessage::Pointer& message,
                                           bool check_crc, mapping_error& error);

/// Dispatches on the message's type: IMAGE, TRANSFORM, POLYDATA or POINT.
std::optional<data_value> data_from_igtl(const igtl::MessageBase::Pointer& message, bool check_crc,
                                         mapping_error& error);

/// The message object for a received header of a data type the gateway reads (IMAGE,
/// TRANSFORM, POLYDATA, POINT, STRING, STATUS), with its body buffer allocated; nullptr for
/// other types.
igtl::MessageBase::Pointer message_for(const igtl::MessageHeader::Pointer& header);

/// True for the OpenIGTLink type names that carry data: IMAGE, TRANSFORM, POLYDATA, POINT.
bool is_data_type(const std::string& igtl_type);

/// The OpenIGTLink type a data value is sent as: IMAGE, POLYDATA, TRANSFORM, POINT; empty for a
/// table (OpenIGTLink version 2 has no table message).
std::string igtl_type_of(const data_value& value);

/// The SlicerBridge data type an OpenIGTLink type maps to: "image", "mesh", "transform",
/// "points"; empty for others.
std::string data_type_of(const std::string& igtl_type);

// ---- writing: packed messages, ready to send ----

/// Packs an image (converted to RAS, the space Slicer's OpenIGTLinkIF reads). Refuses, with
/// STATUS_OVERFLOW, dimensions above 65,535 or 0, more than 254 components and bodies the
/// library cannot size; with STATUS_UNKNOWN_INSTRUCTION, int64 and uint64 voxels (OpenIGTLink
/// has no 64-bit integers). Never truncates or converts voxels.
igtl::ImageMessage::Pointer image_to_igtl(const image& img, const std::string& device,
                                          time_stamp stamp, mapping_error& error);
igtl::TransformMessage::Pointer transform_to_igtl(const transform& xfm, const std::string& device,
                                                  time_stamp stamp, mapping_error& error);
/// Points become float32; cells need 32-bit point indices; point and cell data become float32
/// attributes (1 component: scalar, 3: vector, 4: RGBA, 9: tensor, others: scalar of that
/// many components up to 16).
igtl::PolyDataMessage::Pointer mesh_to_igtl(const mesh& m, const std::string& device,
                                            time_stamp stamp, mapping_error& error);
/// One point element per point, named by its label (or "P<index>"), in group "SlicerBridge".
igtl::PointMessage::Pointer points_to_igtl(const point_list& points, const std::string& device,
                                           time_stamp stamp, mapping_error& error);
/// Any mappable data value; a table is refused with STATUS_UNKNOWN_INSTRUCTION.
igtl::MessageBase::Pointer data_to_igtl(const data_value& value, const std::string& device,
                                        time_stamp stamp, mapping_error& error);

/// A packed STATUS message. `error_name` is cut to the 19 characters the field holds (it is a
/// fixed identifier such as "unknown_processor"; the full text goes in `text`).
igtl::StatusMessage::Pointer status_to_igtl(int code, std::int64_t subcode,
                                            const std::string& error_name, const std::string& text,
                                            const std::string& device);

/// The STATUS code for a SlicerBridge error code: NOT_FOUND for unknown_processor, TIME_OUT for
/// deadline_exceeded, OVERFLOW for too_large and frame_too_large, ACCESS_DENIED for
/// unauthorized, SHUT_DOWN for shutting_down, BUSY for too_many_in_flight, CONFIG_ERROR for
/// invalid_argument, UNKNOWN_ERROR for the rest.
int status_code_for(int slicerbridge_code);

/// A packed STRING message (UTF-8, encoding 106). Refuses text over 65,535 bytes.
igtl::StringMessage::Pointer string_to_igtl(const std::string& text, const std::string& device,
                                            mapping_error& error);

/// Checks an OpenIGTLink device name: 1..20 bytes, printable ASCII.
bool valid_device_name(const std::string& name);

} // namespace igtl_gateway
} // namespace slicerbridge

#endif
