#include "mapping.hpp"

#include <igtl_image.h>

#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <list>
#include <memory>
#include <set>
#include <utility>
#include <vector>

namespace slicerbridge {
namespace igtl_gateway {

namespace {

using status = igtl::StatusMessage;

template <class T>
T fail(mapping_error& error, int code, std::string message) {
    error.status = code;
    error.message = std::move(message);
    return T{};
}

/// Unpacks a received body; false (with `error` set) when the library rejects it.
bool unpack(igtl::MessageBase& message, bool check_crc, mapping_error& error, const char* type) {
    const int result = message.Unpack(check_crc ? 1 : 0);
    if ((result & igtl::MessageHeader::UNPACK_BODY) == 0) {
        error.status = status::STATUS_CHECKSUM_ERROR;
        error.message = std::string(type) + " body rejected by the OpenIGTLink library (CRC " +
                        "mismatch or malformed body)";
        return false;
    }
    return true;
}

void set_stamp(igtl::MessageBase& message, time_stamp stamp) {
    if (stamp.seconds != 0 || stamp.fraction != 0) {
        message.SetTimeStamp(stamp.seconds, stamp.fraction);
    }
}

std::optional<dtype> dtype_from_igtl(int scalar_type) {
    switch (scalar_type) {
    case igtl::ImageMessage::TYPE_INT8:
        return dtype::int8;
    case igtl::ImageMessage::TYPE_UINT8:
        return dtype::uint8;
    case igtl::ImageMessage::TYPE_INT16:
        return dtype::int16;
    case igtl::ImageMessage::TYPE_UINT16:
        return dtype::uint16;
    case igtl::ImageMessage::TYPE_INT32:
        return dtype::int32;
    case igtl::ImageMessage::TYPE_UINT32:
        return dtype::uint32;
    case igtl::ImageMessage::TYPE_FLOAT32:
        return dtype::float32;
    case igtl::ImageMessage::TYPE_FLOAT64:
        return dtype::float64;
    default:
        return std::nullopt;
    }
}

int igtl_scalar_type(dtype t) {
    switch (t) {
    case dtype::int8:
        return igtl::ImageMessage::TYPE_INT8;
    case dtype::uint8:
        return igtl::ImageMessage::TYPE_UINT8;
    case dtype::int16:
        return igtl::ImageMessage::TYPE_INT16;
    case dtype::uint16:
        return igtl::ImageMessage::TYPE_UINT16;
    case dtype::int32:
        return igtl::ImageMessage::TYPE_INT32;
    case dtype::uint32:
        return igtl::ImageMessage::TYPE_UINT32;
    case dtype::float32:
        return igtl::ImageMessage::TYPE_FLOAT32;
    case dtype::float64:
        return igtl::ImageMessage::TYPE_FLOAT64;
    case dtype::int64:
    case dtype::uint64:
        break;
    }
    return 0;
}

/// Element `index` of a typed array as a double, whatever its dtype and byte order.
double element(const typed_array& a, std::size_t index) {
    switch (a.dtype) {
    case dtype::int8:
        return a.scalar<std::int8_t>(index);
    case dtype::uint8:
        return a.scalar<std::uint8_t>(index);
    case dtype::int16:
        return a.scalar<std::int16_t>(index);
    case dtype::uint16:
        return a.scalar<std::uint16_t>(index);
    case dtype::int32:
        return a.scalar<std::int32_t>(index);
    case dtype::uint32:
        return a.scalar<std::uint32_t>(index);
    case dtype::int64:
        return static_cast<double>(a.scalar<std::int64_t>(index));
    case dtype::uint64:
        return static_cast<double>(a.scalar<std::uint64_t>(index));
    case dtype::float32:
        return a.scalar<float>(index);
    case dtype::float64:
        return a.scalar<double>(index);
    }
    return 0;
}

/// Keeps a library message alive for as long as a buffer views its bytes.
template <class Message>
std::shared_ptr<const void> keep_alive(const typename Message::Pointer& message) {
    return std::make_shared<typename Message::Pointer>(message);
}

} // namespace

bool valid_device_name(const std::string& name) {
    if (name.empty() || name.size() > max_device_name) {
        return false;
    }
    for (char c : name) {
        if (c < 0x20 || c > 0x7e) {
            return false;
        }
    }
    return true;
}

bool is_data_type(const std::string& t) {
    return t == "IMAGE" || t == "TRANSFORM" || t == "POLYDATA" || t == "POINT";
}

std::string data_type_of(const std::string& t) {
    if (t == "IMAGE") {
        return "image";
    }
    if (t == "TRANSFORM") {
        return "transform";
    }
    if (t == "POLYDATA") {
        return "mesh";
    }
    if (t == "POINT") {
        return "points";
    }
    return {};
}

std::string igtl_type_of(const data_value& value) {
    switch (value.index()) {
    case 0:
        return "IMAGE";
    case 1:
        return "POLYDATA";
    case 2:
        return "TRANSFORM";
    case 3:
        return "POINT";
    default:
        return {};
    }
}

igtl::MessageBase::Pointer message_for(const igtl::MessageHeader::Pointer& header) {
    const std::string type = header->GetDeviceType();
    igtl::MessageBase::Pointer message;
    if (type == "IMAGE") {
        message = igtl::ImageMessage::New();
    } else if (type == "TRANSFORM") {
        message = igtl::TransformMessage::New();
    } else if (type == "POLYDATA") {
        message = igtl::PolyDataMessage::New();
    } else if (type == "POINT") {
        message = igtl::PointMessage::New();
    } else if (type == "STRING") {
        message = igtl::StringMessage::New();
    } else if (type == "STATUS") {
        message = igtl::StatusMessage::New();
    } else {
        return nullptr;
    }
    message->SetMessageHeader(header);
    message->AllocatePack();
    return message;
}

// ---------------------------------------------------------------- IMAGE

std::optional<image> image_from_igtl(const igtl::ImageMessage::Pointer& message, bool check_crc,
                                     mapping_error& error) {
    using result = std::optional<image>;
    const auto body_size = static_cast<std::uint64_t>(message->GetPackBodySize());
    if (body_size < IGTL_IMAGE_HEADER_SIZE) {
        return fail<result>(error, status::STATUS_UNKNOWN_INSTRUCTION,
                            "IMAGE body shorter than its 72-byte image header");
    }
    // The exact float32 geometry, from a copy of the image header in host byte order (the
    // library's getters renormalise the columns, which would round them a second time).
    igtl_image_header raw;
    std::memcpy(&raw, message->GetPackBodyPointer(), IGTL_IMAGE_HEADER_SIZE);
    igtl_image_convert_byte_order(&raw);
    if (!unpack(*message, check_crc, error, "IMAGE")) {
        return std::nullopt;
    }
    const auto type = dtype_from_igtl(raw.scalar_type);
    if (!type) {
        return fail<result>(error, status::STATUS_UNKNOWN_INSTRUCTION,
                            "IMAGE scalar type " + std::to_string(raw.scalar_type) +
                                " is not one of OpenIGTLink's 8 types");
    }
    if (raw.num_components < 1) {
        return fail<result>(error, status::STATUS_UNKNOWN_INSTRUCTION, "IMAGE with 0 components");
    }
    if (raw.endian != igtl::ImageMessage::ENDIAN_BIG &&
        raw.endian != igtl::ImageMessage::ENDIAN_LITTLE) {
        return fail<result>(error, status::STATUS_UNKNOWN_INSTRUCTION,
                            "IMAGE endian field " + std::to_string(raw.endian) +
                                " is neither 1 (big) nor 2 (little)");
    }
    if (raw.coord != igtl::ImageMessage::COORDINATE_RAS &&
        raw.coord != igtl::ImageMessage::COORDINATE_LPS) {
        return fail<result>(error, status::STATUS_UNKNOWN_INSTRUCTION,
                            "IMAGE coordinate field " + std::to_string(raw.coord) +
                                " is neither 1 (RAS) nor 2 (LPS)");
    }
    std::uint64_t voxels = 1;
    for (int axis = 0; axis < 3; ++axis) {
        if (std::uint64_t(raw.subvol_offset[axis]) + raw.subvol_size[axis] > raw.size[axis]) {
            return fail<result>(error, status::STATUS_UNKNOWN_INSTRUCTION,
                                "IMAGE subvolume exceeds the volume along axis " +
                                    std::to_string(axis));
        }
        voxels *= raw.subvol_size[axis];
    }
    const std::uint64_t bytes = voxels * raw.num_components * dtype_size(*type);
    if (bytes != body_size - IGTL_IMAGE_HEADER_SIZE) {
        return fail<result>(error, status::STATUS_UNKNOWN_INSTRUCTION,
                            "IMAGE body holds " +
                                std::to_string(body_size - IGTL_IMAGE_HEADER_SIZE) +
                                " voxel bytes; its header announces " + std::to_string(bytes));
    }

    image img;
    img.dims = {raw.subvol_size[0], raw.subvol_size[1], raw.subvol_size[2]};
    img.dtype = *type;
    img.components = raw.num_components;
    img.kind = raw.num_components > 1 ? image_kind::vector : image_kind::scalar;
    img.byte_order =
        raw.endian == igtl::ImageMessage::ENDIAN_BIG ? byte_order::big : byte_order::little;
    img.space = raw.coord == igtl::ImageMessage::COORDINATE_LPS ? space::lps : space::ras;
    // Columns: steps along i, j, k. Origin: the centre of the whole volume, which lies at
    // (n - 1) / 2 steps from the first voxel along each axis.
    matrix4 m = identity_matrix;
    for (int row = 0; row < 3; ++row) {
        double first = raw.matrix[9 + row];
        for (int axis = 0; axis < 3; ++axis) {
            const double step = raw.matrix[axis * 3 + row];
            m[row * 4 + axis] = step;
            const double from_centre = (static_cast<double>(raw.size[axis]) - 1.0) / 2.0;
            first += step * (static_cast<double>(raw.subvol_offset[axis]) - from_centre);
        }
        m[row * 4 + 3] = first;
    }
    img.ijk_to_space = m;
    const auto* voxel_bytes = static_cast<const std::byte*>(message->GetScalarPointer());
    img.data = buffer::wrap(keep_alive<igtl::ImageMessage>(message), voxel_bytes,
                            static_cast<std::size_t>(bytes));
    std::string what;
    if (img.validate(what)) {
        return fail<result>(error, status::STATUS_UNKNOWN_INSTRUCTION,
                            "IMAGE geometry unusable: " + what);
    }
    return img;
}

igtl::ImageMessage::Pointer image_to_igtl(const image& source, const std::string& device,
                                          time_stamp stamp, mapping_error& error) {
    using result = igtl::ImageMessage::Pointer;
    const image img = source.in_space(space::ras);
    for (int axis = 0; axis < 3; ++axis) {
        if (img.dims[axis] == 0 || img.dims[axis] > max_igtl_dimension) {
            return fail<result>(error, status::STATUS_OVERFLOW,
                                "image dimension " + std::to_string(axis) + " is " +
                                    std::to_string(img.dims[axis]) +
                                    "; OpenIGTLink IMAGE holds 1 to 65535 voxels per axis");
        }
    }
    if (img.components > max_igtl_components) {
        return fail<result>(error, status::STATUS_OVERFLOW,
                            "image has " + std::to_string(img.components) +
                                " components; OpenIGTLink IMAGE holds at most 254");
    }
    const int scalar_type = igtl_scalar_type(img.dtype);
    if (scalar_type == 0) {
        return fail<result>(error, status::STATUS_UNKNOWN_INSTRUCTION,
                            "image voxels are " + std::string(dtype_name(img.dtype)) +
                                "; OpenIGTLink IMAGE has no 64-bit integer type");
    }
    const auto bytes = img.byte_count();
    if (!bytes || *bytes != img.data.size() || *bytes > max_igtl_body - IGTL_IMAGE_HEADER_SIZE) {
        return fail<result>(error, status::STATUS_OVERFLOW,
                            "image of " + std::to_string(img.data.size()) +
                                " bytes exceeds what the OpenIGTLink library can size (2 GiB)");
    }
    const matrix4& m = img.ijk_to_space;
    float columns[3][3];
    float centre[3];
    for (int row = 0; row < 3; ++row) {
        double c = m[row * 4 + 3];
        for (int axis = 0; axis < 3; ++axis) {
            columns[axis][row] = static_cast<float>(m[row * 4 + axis]);
            c += m[row * 4 + axis] * ((static_cast<double>(img.dims[axis]) - 1.0) / 2.0);
        }
        centre[row] = static_cast<float>(c);
    }

    igtl::ImageMessage::Pointer message = igtl::ImageMessage::New();
    message->SetDeviceName(device.c_str());
    message->SetDimensions(static_cast<int>(img.dims[0]), static_cast<int>(img.dims[1]),
                           static_cast<int>(img.dims[2]));
    // Spacing 1: the library writes normal x spacing, so the columns go out unchanged.
    message->SetSpacing(1.0f, 1.0f, 1.0f);
    message->SetNormals(columns[0], columns[1], columns[2]);
    message->SetOrigin(centre);
    message->SetScalarType(scalar_type);
    message->SetNumComponents(static_cast<int>(img.components));
    message->SetEndian(img.byte_order == byte_order::big ? igtl::ImageMessage::ENDIAN_BIG
                                                         : igtl::ImageMessage::ENDIAN_LITTLE);
    message->SetCoordinateSystem(igtl::ImageMessage::COORDINATE_RAS);
    set_stamp(*message, stamp);
    message->AllocateScalars();
    std::memcpy(message->GetScalarPointer(), img.data.data(), img.data.size());
    message->Pack();
    return message;
}

// ---------------------------------------------------------------- TRANSFORM

std::optional<transform> transform_from_igtl(const igtl::TransformMessage::Pointer& message,
                                             bool check_crc, mapping_error& error) {
    if (!unpack(*message, check_crc, error, "TRANSFORM")) {
        return std::nullopt;
    }
    igtl::Matrix4x4 m;
    message->GetMatrix(m);
    transform result;
    for (int row = 0; row < 3; ++row) {
        for (int column = 0; column < 4; ++column) {
            result.matrix[row * 4 + column] = m[row][column];
        }
    }
    result.matrix[12] = 0;
    result.matrix[13] = 0;
    result.matrix[14] = 0;
    result.matrix[15] = 1;
    result.space = space::ras;
    std::string what;
    if (result.validate(what)) {
        return fail<std::optional<transform>>(error, status::STATUS_UNKNOWN_INSTRUCTION,
                                              "TRANSFORM unusable: " + what);
    }
    return result;
}

igtl::TransformMessage::Pointer transform_to_igtl(const transform& source,
                                                  const std::string& device, time_stamp stamp,
                                                  mapping_error& error) {
    const transform xfm = source.in_space(space::ras);
    for (double v : xfm.matrix) {
        if (!std::isfinite(v)) {
            return fail<igtl::TransformMessage::Pointer>(error, status::STATUS_UNKNOWN_INSTRUCTION,
                                                         "transform with a non-finite element");
        }
    }
    igtl::Matrix4x4 m;
    for (int row = 0; row < 4; ++row) {
        for (int column = 0; column < 4; ++column) {
            m[row][column] = static_cast<float>(xfm.matrix[row * 4 + column]);
        }
    }
    igtl::TransformMessage::Pointer message = igtl::TransformMessage::New();
    message->SetDeviceName(device.c_str());
    message->SetMatrix(m);
    set_stamp(*message, stamp);
    message->Pack();
    return message;
}

// ---------------------------------------------------------------- POLYDATA

namespace {

std::optional<cell_array> cells_from_igtl(igtl::PolyDataCellArray* cells) {
    if (cells == nullptr || cells->GetNumberOfCells() == 0) {
        return std::nullopt;
    }
    std::vector<std::int64_t> offsets{0};
    std::vector<std::int64_t> connectivity;
    std::list<igtlUint32> cell;
    for (igtlUint32 id = 0; id < cells->GetNumberOfCells(); ++id) {
        cells->GetCell(id, cell);
        for (igtlUint32 point : cell) {
            connectivity.push_back(point);
        }
        offsets.push_back(static_cast<std::int64_t>(connectivity.size()));
    }
    cell_array result;
    result.offsets = typed_array::adopt(std::move(offsets));
    result.connectivity = typed_array::adopt(std::move(connectivity));
    return result;
}

bool cells_to_igtl(const std::optional<cell_array>& cells, igtl::PolyDataCellArray::Pointer& out,
                   const char* what, mapping_error& error) {
    if (!cells || cells->offsets.count() < 2) {
        return true;
    }
    out = igtl::PolyDataCellArray::New();
    const std::size_t count = cells->offsets.count() - 1;
    std::vector<igtlUint32> cell;
    for (std::size_t c = 0; c < count; ++c) {
        const double begin = element(cells->offsets, c);
        const double end = element(cells->offsets, c + 1);
        cell.clear();
        for (auto i = static_cast<std::size_t>(begin); i < static_cast<std::size_t>(end); ++i) {
            const double point = element(cells->connectivity, i);
            if (point < 0 || point >= 4294967295.0) {
                error.status = status::STATUS_OVERFLOW;
                error.message =
                    std::string("mesh ") + what + " use point indices beyond OpenIGTLink's 32 bits";
                return false;
            }
            cell.push_back(static_cast<igtlUint32>(point));
        }
        out->AddCell(static_cast<int>(cell.size()), cell.data());
    }
    return true;
}

} // namespace

std::optional<mesh> mesh_from_igtl(const igtl::PolyDataMessage::Pointer& message, bool check_crc,
                                   mapping_error& error) {
    using result = std::optional<mesh>;
    if (!unpack(*message, check_crc, error, "POLYDATA")) {
        return std::nullopt;
    }
    mesh m;
    m.space = space::ras;
    std::vector<float> points;
    if (igtl::PolyDataPointArray* source = message->GetPoints()) {
        const int count = source->GetNumberOfPoints();
        points.resize(static_cast<std::size_t>(count) * 3);
        for (int i = 0; i < count; ++i) {
            source->GetPoint(static_cast<unsigned>(i), &points[static_cast<std::size_t>(i) * 3]);
        }
    }
    m.points = typed_array::adopt(std::move(points), 3);
    m.verts = cells_from_igtl(message->GetVertices());
    m.lines = cells_from_igtl(message->GetLines());
    m.polys = cells_from_igtl(message->GetPolygons());
    m.strips = cells_from_igtl(message->GetTriangleStrips());
    std::set<std::string> point_names;
    std::set<std::string> cell_names;
    for (int a = 0; a < message->GetNumberOfAttributes(); ++a) {
        igtl::PolyDataAttribute* attribute = message->GetAttribute(static_cast<unsigned>(a));
        if (attribute == nullptr) {
            continue;
        }
        const bool on_cells = (attribute->GetType() & 0x10) != 0;
        const igtlUint32 components = attribute->GetNumberOfComponents();
        std::vector<float> values(static_cast<std::size_t>(attribute->GetSize()) * components);
        if (!values.empty()) {
            attribute->GetData(values.data());
        }
        named_array named;
        named.name = attribute->GetName();
        if (named.name.empty()) {
            named.name = "attribute" + std::to_string(a);
        }
        if (!(on_cells ? cell_names : point_names).insert(named.name).second) {
            return fail<result>(error, status::STATUS_UNKNOWN_INSTRUCTION,
                                "POLYDATA has two attributes named \"" + named.name + "\"");
        }
        named.array = typed_array::adopt(std::move(values), components);
        (on_cells ? m.cell_data : m.point_data).push_back(std::move(named));
    }
    std::string what;
    if (m.validate(what)) {
        return fail<result>(error, status::STATUS_UNKNOWN_INSTRUCTION,
                            "POLYDATA unusable: " + what);
    }
    return m;
}

igtl::PolyDataMessage::Pointer mesh_to_igtl(const mesh& source, const std::string& device,
                                            time_stamp stamp, mapping_error& error) {
    using result = igtl::PolyDataMessage::Pointer;
    const mesh m = source.in_space(space::ras);
    igtl::PolyDataMessage::Pointer message = igtl::PolyDataMessage::New();
    message->SetDeviceName(device.c_str());
    const std::uint64_t point_count = m.point_count();
    if (point_count > 0x7fffffffu) {
        return fail<result>(error, status::STATUS_OVERFLOW, "mesh has too many points");
    }
    igtl::PolyDataPointArray::Pointer points = igtl::PolyDataPointArray::New();
    points->SetNumberOfPoints(static_cast<int>(point_count));
    for (std::uint64_t p = 0; p < point_count; ++p) {
        points->SetPoint(static_cast<unsigned>(p), static_cast<float>(element(m.points, p * 3)),
                         static_cast<float>(element(m.points, p * 3 + 1)),
                         static_cast<float>(element(m.points, p * 3 + 2)));
    }
    message->SetPoints(points);
    igtl::PolyDataCellArray::Pointer verts, lines, polys, strips;
    if (!cells_to_igtl(m.verts, verts, "verts", error) ||
        !cells_to_igtl(m.lines, lines, "lines", error) ||
        !cells_to_igtl(m.polys, polys, "polys", error) ||
        !cells_to_igtl(m.strips, strips, "strips", error)) {
        return nullptr;
    }
    if (verts) {
        message->SetVertices(verts);
    }
    if (lines) {
        message->SetLines(lines);
    }
    if (polys) {
        message->SetPolygons(polys);
    }
    if (strips) {
        message->SetTriangleStrips(strips);
    }
    auto add_attributes = [&](const std::vector<named_array>& arrays, bool on_cells) {
        for (const named_array& named : arrays) {
            const std::uint32_t components = named.array.components;
            int type = 0;
            if (components == 3) {
                type = igtl::PolyDataAttribute::POINT_VECTOR;
            } else if (components == 4) {
                type = igtl::PolyDataAttribute::POINT_RGBA;
            } else if (components == 9) {
                type = igtl::PolyDataAttribute::POINT_TENSOR;
            } else if (components <= 16) {
                type = igtl::PolyDataAttribute::POINT_SCALAR;
            } else {
                error.status = status::STATUS_OVERFLOW;
                error.message = "mesh array \"" + named.name + "\" has " +
                                std::to_string(components) +
                                " components; OpenIGTLink attributes hold at most 16";
                return false;
            }
            if (on_cells) {
                type |= 0x10;
            }
            igtl::PolyDataAttribute::Pointer attribute = igtl::PolyDataAttribute::New();
            attribute->SetType(type, static_cast<int>(components));
            const std::uint64_t tuples = named.array.count();
            attribute->SetSize(static_cast<igtlUint32>(tuples));
            attribute->SetName(named.name.c_str());
            std::vector<float> values(static_cast<std::size_t>(tuples) * components);
            for (std::size_t i = 0; i < values.size(); ++i) {
                values[i] = static_cast<float>(element(named.array, i));
            }
            if (!values.empty()) {
                attribute->SetData(values.data());
            }
            message->AddAttribute(attribute);
        }
        return true;
    };
    if (!add_attributes(m.point_data, false) || !add_attributes(m.cell_data, true)) {
        return nullptr;
    }
    set_stamp(*message, stamp);
    message->Pack();
    if (static_cast<std::uint64_t>(message->GetPackBodySize()) > max_igtl_body) {
        return fail<result>(error, status::STATUS_OVERFLOW,
                            "mesh too large for one OpenIGTLink message");
    }
    return message;
}

// ---------------------------------------------------------------- POINT

std::optional<point_list> points_from_igtl(const igtl::PointMessage::Pointer& message,
                                           bool check_crc, mapping_error& error) {
    if (!unpack(*message, check_crc, error, "POINT")) {
        return std::nullopt;
    }
    point_list result;
    result.space = space::ras;
    const int count = message->GetNumberOfPointElement();
    std::vector<double> positions;
    std::vector<std::string> labels;
    positions.reserve(static_cast<std::size_t>(count) * 3);
    for (int i = 0; i < count; ++i) {
        igtl::PointElement::Pointer element;
        message->GetPointElement(i, element);
        igtlFloat32 xyz[3];
        element->GetPosition(xyz);
        positions.insert(positions.end(), {double(xyz[0]), double(xyz[1]), double(xyz[2])});
        labels.emplace_back(element->GetName());
    }
    result.points = typed_array::adopt(std::move(positions), 3);
    result.labels = std::move(labels);
    return result;
}

igtl::PointMessage::Pointer points_to_igtl(const point_list& source, const std::string& device,
                                           time_stamp stamp, mapping_error& error) {
    const point_list list = source.in_space(space::ras);
    igtl::PointMessage::Pointer message = igtl::PointMessage::New();
    message->SetDeviceName(device.c_str());
    const std::uint64_t count = list.point_count();
    for (std::uint64_t i = 0; i < count; ++i) {
        igtl::PointElement::Pointer point = igtl::PointElement::New();
        std::string name = "P" + std::to_string(i);
        if (list.labels && i < list.labels->size()) {
            name = (*list.labels)[i];
        }
        if (name.size() >= 64) {
            return fail<igtl::PointMessage::Pointer>(error, status::STATUS_OVERFLOW,
                                                     "point label " + std::to_string(i) +
                                                         " longer than OpenIGTLink's 63 bytes");
        }
        point->SetName(name.c_str());
        point->SetGroupName("SlicerBridge");
        point->SetRGBA(255, 255, 0, 255);
        point->SetPosition(static_cast<float>(element(list.points, i * 3)),
                           static_cast<float>(element(list.points, i * 3 + 1)),
                           static_cast<float>(element(list.points, i * 3 + 2)));
        point->SetRadius(0);
        message->AddPointElement(point);
    }
    set_stamp(*message, stamp);
    message->Pack();
    return message;
}

// ---------------------------------------------------------------- dispatch

std::optional<data_value> data_from_igtl(const igtl::MessageBase::Pointer& message, bool check_crc,
                                         mapping_error& error) {
    const std::string type = message->GetDeviceType();
    if (type == "IMAGE") {
        auto img = image_from_igtl(static_cast<igtl::ImageMessage*>(message.GetPointer()),
                                   check_crc, error);
        return img ? std::optional<data_value>(std::move(*img)) : std::nullopt;
    }
    if (type == "TRANSFORM") {
        auto xfm = transform_from_igtl(static_cast<igtl::TransformMessage*>(message.GetPointer()),
                                       check_crc, error);
        return xfm ? std::optional<data_value>(std::move(*xfm)) : std::nullopt;
    }
    if (type == "POLYDATA") {
        auto m = mesh_from_igtl(static_cast<igtl::PolyDataMessage*>(message.GetPointer()),
                                check_crc, error);
        return m ? std::optional<data_value>(std::move(*m)) : std::nullopt;
    }
    if (type == "POINT") {
        auto p = points_from_igtl(static_cast<igtl::PointMessage*>(message.GetPointer()), check_crc,
                                  error);
        return p ? std::optional<data_value>(std::move(*p)) : std::nullopt;
    }
    return fail<std::optional<data_value>>(error, status::STATUS_UNKNOWN_INSTRUCTION,
                                           "OpenIGTLink type " + type + " carries no data");
}

igtl::MessageBase::Pointer data_to_igtl(const data_value& value, const std::string& device,
                                        time_stamp stamp, mapping_error& error) {
    if (const auto* img = std::get_if<image>(&value)) {
        return image_to_igtl(*img, device, stamp, error).GetPointer();
    }
    if (const auto* m = std::get_if<mesh>(&value)) {
        return mesh_to_igtl(*m, device, stamp, error).GetPointer();
    }
    if (const auto* xfm = std::get_if<transform>(&value)) {
        return transform_to_igtl(*xfm, device, stamp, error).GetPointer();
    }
    if (const auto* points = std::get_if<point_list>(&value)) {
        return points_to_igtl(*points, device, stamp, error).GetPointer();
    }
    return fail<igtl::MessageBase::Pointer>(error, status::STATUS_UNKNOWN_INSTRUCTION,
                                            "a table has no OpenIGTLink version 2 message");
}

// ---------------------------------------------------------------- STATUS, STRING

igtl::StatusMessage::Pointer status_to_igtl(int code, std::int64_t subcode,
                                            const std::string& error_name, const std::string& text,
                                            const std::string& device) {
    igtl::StatusMessage::Pointer message = igtl::StatusMessage::New();
    message->SetDeviceName(device.c_str());
    message->SetCode(code);
    message->SetSubCode(subcode);
    message->SetErrorName(error_name.substr(0, 19).c_str());
    message->SetStatusString(text.c_str());
    message->Pack();
    return message;
}

int status_code_for(int code) {
    switch (static_cast<slicerbridge::error>(code)) {
    case error::unknown_processor:
        return status::STATUS_NOT_FOUND;
    case error::deadline_exceeded:
        return status::STATUS_TIME_OUT;
    case error::too_large:
    case error::frame_too_large:
        return status::STATUS_OVERFLOW;
    case error::unauthorized:
        return status::STATUS_ACCESS_DENIED;
    case error::shutting_down:
        return status::STATUS_SHUT_DOWN;
    case error::too_many_in_flight:
        return status::STATUS_BUSY;
    case error::invalid_argument:
        return status::STATUS_CONFIG_ERROR;
    default:
        return status::STATUS_UNKNOWN_ERROR;
    }
}

igtl::StringMessage::Pointer string_to_igtl(const std::string& text, const std::string& device,
                                            mapping_error& error) {
    if (text.size() > 65535) {
        return fail<igtl::StringMessage::Pointer>(
            error, status::STATUS_OVERFLOW,
            "text of " + std::to_string(text.size()) +
                " bytes; an OpenIGTLink STRING holds at most 65535");
    }
    igtl::StringMessage::Pointer message = igtl::StringMessage::New();
    message->SetDeviceName(device.c_str());
    message->SetEncoding(106); // UTF-8 (IANA MIBenum)
    message->SetString(text.c_str());
    message->Pack();
    return message;
}

} // namespace igtl_gateway
} // namespace slicerbridge
