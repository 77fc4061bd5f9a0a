// The data mapping, without sockets: messages packed by the OpenIGTLink library and read back
// the way the gateway reads them.
#include "mapping.hpp"

#include "support.hpp"

#include <igtl_header.h>
#include <igtl_util.h>

#include <cstring>
#include <limits>

using namespace test_support;

namespace {

image decode_image(igtl::MessageBase& packed) {
    auto in = reread(packed);
    REQUIRE(in.result == received_message::outcome::message);
    REQUIRE(in.type == "IMAGE");
    mapping_error error;
    auto img =
        image_from_igtl(static_cast<igtl::ImageMessage*>(in.message.GetPointer()), true, error);
    REQUIRE_MESSAGE(img, error.message);
    return *img;
}

igtl::ImageMessage::Pointer encode_image(const image& img) {
    mapping_error error;
    auto m = image_to_igtl(img, "US", {}, error);
    REQUIRE_MESSAGE(m, error.message);
    return m;
}

} // namespace

TEST_CASE("IMAGE: the origin goes out as the volume centre, float32, each number rounded once") {
    const matrix4 m = oblique_matrix();
    const std::array<std::uint64_t, 3> dims{7, 5, 4};
    auto message = encode_image(pattern_image(dims, m));
    const igtl_image_header h = wire_image_header(*message);
    CHECK(h.coord == igtl::ImageMessage::COORDINATE_RAS);
    CHECK(h.size[0] == 7);
    CHECK(h.size[1] == 5);
    CHECK(h.size[2] == 4);
    for (int row = 0; row < 3; ++row) {
        double centre = m[row * 4 + 3];
        for (int axis = 0; axis < 3; ++axis) {
            // Columns: direction x spacing, bit for bit the float32 nearest the float64 value.
            CHECK(h.matrix[axis * 3 + row] == static_cast<float>(m[row * 4 + axis]));
            centre += m[row * 4 + axis] * (static_cast<double>(dims[axis]) - 1) / 2;
        }
        CHECK(h.matrix[9 + row] == static_cast<float>(centre));
    }
}

TEST_CASE("IMAGE: ours -> OpenIGTLink -> ours keeps voxels and loses only float32 rounding") {
    const matrix4 m = oblique_matrix();
    const image sent = pattern_image({9, 8, 3}, m);
    const image back = decode_image(*encode_image(sent));
    CHECK(back.dims == sent.dims);
    CHECK(back.dtype == dtype::uint8);
    CHECK(back.components == 1);
    CHECK(back.kind == image_kind::scalar);
    CHECK(back.space == space::ras);
    CHECK(back.data == sent.data);
    for (int i = 0; i < 12; ++i) {
        // 2^-24 relative to the largest element involved (the origin's magnitude here).
        CHECK(std::abs(back.ijk_to_space[i] - sent.ijk_to_space[i]) <= 41.0 * 6e-8 * 4);
    }
    for (int column = 0; column < 3; ++column) {
        for (int row = 0; row < 3; ++row) {
            CHECK(back.ijk_to_space[row * 4 + column] ==
                  static_cast<double>(static_cast<float>(m[row * 4 + column])));
        }
    }
}

TEST_CASE("IMAGE: OpenIGTLink -> ours -> OpenIGTLink is bit exact, oblique and 1-voxel axes") {
    for (std::array<int, 3> size : {std::array<int, 3>{7, 5, 4}, std::array<int, 3>{64, 48, 1},
                                    std::array<int, 3>{1, 1, 1}}) {
        igtl::ImageMessage::Pointer source = igtl::ImageMessage::New();
        source->SetDimensions(size[0], size[1], size[2]);
        source->SetSpacing(0.3f, 0.7f, 2.5f);
        float t[3] = {0.8f, 0.6f, 0.0f};
        float s[3] = {-0.6f, 0.8f, 0.0f};
        float n[3] = {0.0f, 0.0f, 1.0f};
        source->SetNormals(t, s, n);
        source->SetOrigin(12.345f, -67.89f, 101.5f);
        source->SetScalarTypeToInt16();
        source->SetDeviceName("CT");
        source->AllocateScalars();
        std::memset(source->GetScalarPointer(), 7,
                    static_cast<std::size_t>(source->GetImageSize()));
        source->Pack();
        const igtl_image_header before = wire_image_header(*source);
        const image img = decode_image(*source);
        CHECK(img.dtype == dtype::int16);
        auto again = encode_image(img);
        const igtl_image_header after = wire_image_header(*again);
        CHECK(std::memcmp(before.matrix, after.matrix, sizeof before.matrix) == 0);
        CHECK(std::memcmp(before.size, after.size, sizeof before.size) == 0);
    }
}

TEST_CASE("IMAGE: the centre convention is OpenIGTLinkIO's (first voxel = centre - M (n-1)/2)") {
    // A 3 x 3 x 3 volume, 1 mm, whose first voxel is at (0, 0, 0): its centre is (1, 1, 1).
    const image img = pattern_image({3, 3, 3}, identity_matrix);
    const igtl_image_header h = wire_image_header(*encode_image(img));
    CHECK(h.matrix[9] == 1.0f);
    CHECK(h.matrix[10] == 1.0f);
    CHECK(h.matrix[11] == 1.0f);
    // And back: the first voxel is at the origin again, exactly.
    const image back = decode_image(*encode_image(img));
    CHECK(back.ijk_to_space == identity_matrix);
}

TEST_CASE("IMAGE: LPS images go out in RAS, LPS messages come in as LPS") {
    const matrix4 m = oblique_matrix();
    const image lps = pattern_image({4, 4, 4}, m, space::lps);
    const image back = decode_image(*encode_image(lps));
    CHECK(back.space == space::ras);
    const image expected = lps.in_space(space::ras);
    for (int i = 0; i < 12; ++i) {
        CHECK(back.ijk_to_space[i] == doctest::Approx(expected.ijk_to_space[i]).epsilon(1e-6));
    }
    // A message that says LPS keeps its matrix and says LPS.
    auto message = encode_image(pattern_image({4, 4, 4}, m));
    igtl::ImageMessage::Pointer lps_message = igtl::ImageMessage::New();
    lps_message->SetDimensions(4, 4, 4);
    lps_message->SetSpacing(1.0f, 2.0f, 3.0f);
    lps_message->SetOrigin(5.0f, 6.0f, 7.0f);
    lps_message->SetCoordinateSystem(igtl::ImageMessage::COORDINATE_LPS);
    lps_message->AllocateScalars();
    lps_message->Pack();
    const image read = decode_image(*lps_message);
    CHECK(read.space == space::lps);
    CHECK(read.ijk_to_space[0] == 1.0);
    CHECK(read.ijk_to_space[5] == 2.0);
    CHECK(read.ijk_to_space[10] == 3.0);
    CHECK(read.ijk_to_space[3] == 5.0 - 1.5);
    CHECK(read.ijk_to_space[7] == 6.0 - 3.0);
    CHECK(read.ijk_to_space[11] == 7.0 - 4.5);
}

TEST_CASE("IMAGE: every OpenIGTLink scalar type both ways, 64-bit integers refused") {
    const std::pair<dtype, int> types[] = {
        {dtype::int8, igtl::ImageMessage::TYPE_INT8},
        {dtype::uint8, igtl::ImageMessage::TYPE_UINT8},
        {dtype::int16, igtl::ImageMessage::TYPE_INT16},
        {dtype::uint16, igtl::ImageMessage::TYPE_UINT16},
        {dtype::int32, igtl::ImageMessage::TYPE_INT32},
        {dtype::uint32, igtl::ImageMessage::TYPE_UINT32},
        {dtype::float32, igtl::ImageMessage::TYPE_FLOAT32},
        {dtype::float64, igtl::ImageMessage::TYPE_FLOAT64},
    };
    for (const auto& [type, igtl_type] : types) {
        const dtype t = type; // CAPTURE's lambda cannot capture a structured binding in C++17
        CAPTURE(dtype_name(t));
        image img = image::allocate({3, 2, 2}, t);
        for (std::size_t b = 0; b < img.data.size(); ++b) {
            img.data.mutable_data()[b] = static_cast<std::byte>(b * 13 + 1);
        }
        auto message = encode_image(img);
        CHECK(wire_image_header(*message).scalar_type == igtl_type);
        const image back = decode_image(*message);
        CHECK(back.dtype == t);
        CHECK(back.data == img.data);
    }
    for (dtype t : {dtype::int64, dtype::uint64}) {
        mapping_error error;
        CHECK_FALSE(image_to_igtl(image::allocate({2, 2, 2}, t), "US", {}, error));
        CHECK(error.status == igtl::StatusMessage::STATUS_UNKNOWN_INSTRUCTION);
    }
}

TEST_CASE("IMAGE: components map to vector images, more than 254 refused") {
    image rgb = image::allocate({4, 3, 1}, dtype::uint8, 3);
    rgb.kind = image_kind::vector;
    std::memset(rgb.data.mutable_data(), 9, rgb.data.size());
    auto message = encode_image(rgb);
    CHECK(wire_image_header(*message).num_components == 3);
    const image back = decode_image(*message);
    CHECK(back.components == 3);
    CHECK(back.kind == image_kind::vector);
    CHECK(back.data == rgb.data);

    image wide = image::allocate({1, 1, 1}, dtype::uint8, 255);
    wide.kind = image_kind::vector;
    mapping_error error;
    CHECK_FALSE(image_to_igtl(wide, "US", {}, error));
    CHECK(error.status == igtl::StatusMessage::STATUS_OVERFLOW);
}

TEST_CASE("IMAGE: dimensions above 65535 (or 0) are refused, never truncated") {
    for (std::array<std::uint64_t, 3> dims :
         {std::array<std::uint64_t, 3>{65536, 1, 1}, std::array<std::uint64_t, 3>{1, 70000, 1},
          std::array<std::uint64_t, 3>{1, 1, 65536}, std::array<std::uint64_t, 3>{0, 4, 4}}) {
        mapping_error error;
        CHECK_FALSE(image_to_igtl(image::allocate(dims, dtype::uint8), "US", {}, error));
        CHECK(error.status == igtl::StatusMessage::STATUS_OVERFLOW);
        CHECK(error.message.find("65535") != std::string::npos);
    }
    // 65535 itself fits.
    mapping_error error;
    CHECK(image_to_igtl(image::allocate({65535, 1, 1}, dtype::uint8), "US", {}, error));
}

TEST_CASE("IMAGE: big-endian voxels keep their byte order, subvolumes keep their place") {
    image img = image::allocate({2, 2, 1}, dtype::uint16);
    img.byte_order = byte_order::big;
    const std::uint8_t bytes[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08};
    std::memcpy(img.data.mutable_data(), bytes, 8);
    const image back = decode_image(*encode_image(img));
    CHECK(back.byte_order == byte_order::big);
    CHECK(back.to_native_byte_order().voxels<std::uint16_t>()[0] == 0x0102);

    igtl::ImageMessage::Pointer sub = igtl::ImageMessage::New();
    sub->SetDimensions(10, 10, 10);
    sub->SetSubVolume(2, 3, 4, 5, 6, 1); // dims 2x3x4 at offset (5, 6, 1)
    sub->SetSpacing(1.0f, 1.0f, 1.0f);
    sub->SetOrigin(0.0f, 0.0f, 0.0f);
    sub->AllocateScalars();
    sub->Pack();
    const image part = decode_image(*sub);
    CHECK(part.dims == std::array<std::uint64_t, 3>{2, 3, 4});
    // The whole volume's first voxel is at -4.5 on each axis; the subvolume starts 5, 6, 1 on.
    CHECK(part.ijk_to_space[3] == 0.5);
    CHECK(part.ijk_to_space[7] == 1.5);
    CHECK(part.ijk_to_space[11] == -3.5);
}

TEST_CASE("TRANSFORM: float32 both ways, RAS on the wire") {
    transform xfm;
    xfm.matrix = oblique_matrix();
    auto xfm_message = [&](const transform& t) {
        mapping_error error;
        auto m = transform_to_igtl(t, "Tracker", {}, error);
        REQUIRE(m);
        auto in = reread(*m);
        REQUIRE(in.result == received_message::outcome::message);
        auto back = transform_from_igtl(
            static_cast<igtl::TransformMessage*>(in.message.GetPointer()), true, error);
        REQUIRE_MESSAGE(back, error.message);
        return *back;
    };
    const transform back = xfm_message(xfm);
    CHECK(back.space == space::ras);
    for (int i = 0; i < 16; ++i) {
        CHECK(back.matrix[i] == static_cast<double>(static_cast<float>(xfm.matrix[i])));
    }
    // An LPS transform goes out as F T F.
    transform lps = xfm;
    lps.space = space::lps;
    const transform ras = xfm_message(lps);
    const transform expected = lps.in_space(space::ras);
    for (int i = 0; i < 16; ++i) {
        CHECK(ras.matrix[i] == static_cast<double>(static_cast<float>(expected.matrix[i])));
    }
}

TEST_CASE("POLYDATA: points, cells and attributes both ways, LPS meshes negate x and y") {
    mesh m;
    m.space = space::lps;
    m.points = typed_array::adopt(std::vector<float>{0, 0, 0, 1, 0, 0, 0, 1, 0, 1, 1, 1}, 3);
    cell_array polys;
    polys.offsets = typed_array::adopt(std::vector<std::int64_t>{0, 3, 6});
    polys.connectivity = typed_array::adopt(std::vector<std::int64_t>{0, 1, 2, 1, 3, 2});
    m.polys = polys;
    cell_array lines;
    lines.offsets = typed_array::adopt(std::vector<std::int64_t>{0, 2});
    lines.connectivity = typed_array::adopt(std::vector<std::int64_t>{0, 3});
    m.lines = lines;
    m.point_data.push_back({"thickness", typed_array::adopt(std::vector<float>{1, 2, 3, 4})});
    m.cell_data.push_back(
        {"normal", typed_array::adopt(std::vector<float>{0, 0, 1, 0, 0, 1, 1, 0, 0}, 3)});
    mapping_error error;
    auto message = mesh_to_igtl(m, "Model", {}, error);
    REQUIRE_MESSAGE(message, error.message);
    auto in = reread(*message);
    REQUIRE(in.result == received_message::outcome::message);
    auto back =
        mesh_from_igtl(static_cast<igtl::PolyDataMessage*>(in.message.GetPointer()), true, error);
    REQUIRE_MESSAGE(back, error.message);
    CHECK(back->space == space::ras);
    const mesh expected = m.in_space(space::ras);
    REQUIRE(back->point_count() == 4);
    for (std::size_t i = 0; i < 12; ++i) {
        CHECK(back->points.scalar<float>(i) == expected.points.scalar<float>(i));
    }
    REQUIRE(back->polys);
    CHECK(back->polys->connectivity.scalar<std::int64_t>(3) == 1);
    CHECK(back->polys->offsets.count() == 3);
    REQUIRE(back->lines);
    CHECK(back->lines->connectivity.scalar<std::int64_t>(1) == 3);
    REQUIRE(back->point_data.size() == 1);
    CHECK(back->point_data[0].name == "thickness");
    CHECK(back->point_data[0].array.scalar<float>(3) == 4.0f);
    REQUIRE(back->cell_data.size() == 1);
    CHECK(back->cell_data[0].array.components == 3);
}

TEST_CASE("POINT: positions and labels both ways") {
    point_list p;
    p.space = space::ras;
    p.points = typed_array::adopt(std::vector<double>{1.5, -2.25, 3, 10, 20, 30}, 3);
    p.labels = std::vector<std::string>{"entry", "target"};
    mapping_error error;
    auto message = points_to_igtl(p, "Fiducials", {}, error);
    REQUIRE(message);
    auto in = reread(*message);
    auto back =
        points_from_igtl(static_cast<igtl::PointMessage*>(in.message.GetPointer()), true, error);
    REQUIRE_MESSAGE(back, error.message);
    CHECK(back->point_count() == 2);
    CHECK(back->points.scalar<double>(1) == -2.25);
    CHECK(back->points.scalar<double>(5) == 30);
    CHECK(*back->labels == std::vector<std::string>{"entry", "target"});
}

TEST_CASE("STATUS: codes for SlicerBridge errors, and the message fields") {
    CHECK(status_code_for(102) == igtl::StatusMessage::STATUS_NOT_FOUND);
    CHECK(status_code_for(101) == igtl::StatusMessage::STATUS_TIME_OUT);
    CHECK(status_code_for(104) == igtl::StatusMessage::STATUS_OVERFLOW);
    CHECK(status_code_for(103) == igtl::StatusMessage::STATUS_CONFIG_ERROR);
    CHECK(status_code_for(106) == igtl::StatusMessage::STATUS_UNKNOWN_ERROR);
    CHECK(status_code_for(4242) == igtl::StatusMessage::STATUS_UNKNOWN_ERROR);
    auto status = status_to_igtl(igtl::StatusMessage::STATUS_NOT_FOUND, 102,
                                 "unknown_processor_with_a_long_name", "no processor \"x\"", "US");
    auto in = reread(*status);
    REQUIRE(in.result == received_message::outcome::message);
    auto* s = static_cast<igtl::StatusMessage*>(in.message.GetPointer());
    REQUIRE((s->Unpack(1) & igtl::MessageHeader::UNPACK_BODY) != 0);
    CHECK(s->GetCode() == igtl::StatusMessage::STATUS_NOT_FOUND);
    CHECK(s->GetSubCode() == 102);
    CHECK(std::string(s->GetErrorName()) == "unknown_processor_w");
    CHECK(std::string(s->GetStatusString()) == "no processor \"x\"");
}

TEST_CASE("tables have no OpenIGTLink message") {
    table t;
    mapping_error error;
    CHECK_FALSE(data_to_igtl(data_value(t), "T", {}, error));
    CHECK(igtl_type_of(data_value(t)).empty());
}

TEST_CASE("read_message reads protocol 3 (header version 2) messages: CRC, then the content") {
    const image sent = pattern_image({5, 4, 3}, oblique_matrix());
    mapping_error packing;
    auto v1 = image_to_igtl(sent, "US", {77, 0}, packing);
    REQUIRE(v1);
    const auto* content = static_cast<const unsigned char*>(v1->GetPackBodyPointer());
    const std::size_t content_size = static_cast<std::size_t>(v1->GetPackBodySize());
    // Extended header (12 bytes), the content, one metadata entry "k" = "v".
    std::vector<unsigned char> body = {0, 12, 0, 10, 0, 0, 0, 2, 0, 0, 0, 7};
    body.insert(body.end(), content, content + content_size);
    const unsigned char metadata[] = {0, 1, 0, 1, 0, 3, 0, 0, 0, 1, 'k', 'v'};
    body.insert(body.end(), metadata, metadata + sizeof metadata);
    igtl_header h;
    std::memcpy(&h, v1->GetPackPointer(), IGTL_HEADER_SIZE);
    igtl_header_convert_byte_order(&h);
    h.version = 2;
    h.body_size = body.size();
    h.crc = crc64(body.data(), body.size(), 0);
    auto bytes_of = [&](const igtl_header& header) {
        igtl_header wire = header;
        igtl_header_convert_byte_order(&wire);
        std::string stream(reinterpret_cast<const char*>(&wire), IGTL_HEADER_SIZE);
        stream.append(reinterpret_cast<const char*>(body.data()), body.size());
        return stream;
    };
    auto read_from = [](const std::string& stream) {
        std::size_t at = 0;
        const byte_reader read = [&](void* data, std::size_t n) {
            if (stream.size() - at < n) {
                return false;
            }
            std::memcpy(data, stream.data() + at, n);
            at += n;
            return true;
        };
        return read_message(read, 1 << 20, true);
    };
    auto in = read_from(bytes_of(h));
    REQUIRE(in.result == received_message::outcome::message);
    CHECK(in.crc_checked);
    CHECK(in.version == 2);
    CHECK(in.stamp.seconds == 77);
    mapping_error error;
    auto img =
        image_from_igtl(static_cast<igtl::ImageMessage*>(in.message.GetPointer()), false, error);
    REQUIRE_MESSAGE(img, error.message);
    CHECK(img->data == sent.data);
    CHECK(img->dims == sent.dims);
    // A wrong CRC, or sizes beyond the body, are refused.
    igtl_header bad = h;
    bad.crc ^= 1;
    auto refused = read_from(bytes_of(bad));
    CHECK(refused.result == received_message::outcome::skipped);
    CHECK(refused.status == igtl::StatusMessage::STATUS_CHECKSUM_ERROR);
    body[7] = 200; // metadata size beyond the body
    h.crc = crc64(body.data(), body.size(), 0);
    refused = read_from(bytes_of(h));
    CHECK(refused.result == received_message::outcome::skipped);
    CHECK(refused.status == igtl::StatusMessage::STATUS_UNKNOWN_INSTRUCTION);
}

TEST_CASE("read_message skips oversized bodies and unknown header versions, then reads on") {
    mapping_error error;
    auto big = image_to_igtl(image::allocate({64, 64, 4}, dtype::uint8), "US", {}, error);
    auto small = string_to_igtl("hello", "CMD_1", error);
    std::string stream(static_cast<const char*>(big->GetPackPointer()),
                       static_cast<std::size_t>(big->GetPackSize()));
    // The same small message with its header version set to 9.
    std::string v2(static_cast<const char*>(small->GetPackPointer()),
                   static_cast<std::size_t>(small->GetPackSize()));
    v2[1] = 9;
    stream += v2;
    stream.append(static_cast<const char*>(small->GetPackPointer()),
                  static_cast<std::size_t>(small->GetPackSize()));
    std::size_t at = 0;
    const byte_reader read = [&](void* data, std::size_t n) {
        if (stream.size() - at < n) {
            return false;
        }
        std::memcpy(data, stream.data() + at, n);
        at += n;
        return true;
    };
    auto first = read_message(read, 4096);
    CHECK(first.result == received_message::outcome::skipped);
    CHECK(first.status == igtl::StatusMessage::STATUS_OVERFLOW);
    CHECK(first.device == "US");
    auto second = read_message(read, 4096);
    CHECK(second.result == received_message::outcome::skipped);
    CHECK(second.status == igtl::StatusMessage::STATUS_UNKNOWN_VERSION);
    auto third = read_message(read, 4096);
    REQUIRE(third.result == received_message::outcome::message);
    CHECK(third.type == "STRING");
    CHECK(third.device == "CMD_1");
    CHECK(read_message(read, 4096).result == received_message::outcome::end_of_stream);
}

TEST_CASE("device names: 1 to 20 printable characters") {
    CHECK(valid_device_name("US"));
    CHECK(valid_device_name("12345678901234567890"));
    CHECK_FALSE(valid_device_name("123456789012345678901"));
    CHECK_FALSE(valid_device_name(""));
    CHECK_FALSE(valid_device_name("a\nb"));
}
