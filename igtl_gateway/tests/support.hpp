#ifndef SLICERBRIDGE_IGTL_GATEWAY_TESTS_SUPPORT_HPP
#define SLICERBRIDGE_IGTL_GATEWAY_TESTS_SUPPORT_HPP

// What the gateway's tests share: oblique geometry, a way to read packed messages back without
// sockets, and an OpenIGTLink peer written with the OpenIGTLink library only, as Slicer's
// OpenIGTLinkIF or PLUS would talk to the gateway.

#include "transport.hpp"
#include "xml.hpp"

#include <igtlClientSocket.h>
#include <igtl_image.h>

#include <doctest/doctest.h>

#include <array>
#include <chrono>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

namespace test_support {

using namespace slicerbridge;
using namespace slicerbridge::igtl_gateway;

/// Rotated about z by 30 and about x by 20 degrees, spacing 0.8 x 1.1 x 1.5 mm.
inline matrix4 oblique_matrix(std::array<double, 3> origin = {-12.5, 40.25, 7.0}) {
    const double a = 30.0 * M_PI / 180.0;
    const double b = 20.0 * M_PI / 180.0;
    const double rz[9] = {std::cos(a), -std::sin(a), 0, std::sin(a), std::cos(a), 0, 0, 0, 1};
    const double rx[9] = {1, 0, 0, 0, std::cos(b), -std::sin(b), 0, std::sin(b), std::cos(b)};
    const double spacing[3] = {0.8, 1.1, 1.5};
    matrix4 m = identity_matrix;
    for (int row = 0; row < 3; ++row) {
        for (int column = 0; column < 3; ++column) {
            double rotation = 0;
            for (int k = 0; k < 3; ++k) {
                rotation += rx[row * 3 + k] * rz[k * 3 + column];
            }
            m[row * 4 + column] = rotation * spacing[column];
        }
        m[row * 4 + 3] = origin[static_cast<std::size_t>(row)];
    }
    return m;
}

/// An image of `dims` uint8 voxels holding (i + 3j + 7k) mod 251.
inline image pattern_image(std::array<std::uint64_t, 3> dims, const matrix4& m,
                           space s = space::ras) {
    image img = image::allocate(dims, dtype::uint8);
    auto* v = img.mutable_voxels<std::uint8_t>();
    for (std::uint64_t k = 0; k < dims[2]; ++k) {
        for (std::uint64_t j = 0; j < dims[1]; ++j) {
            for (std::uint64_t i = 0; i < dims[0]; ++i) {
                v[i + dims[0] * (j + dims[1] * k)] =
                    static_cast<std::uint8_t>((i + 3 * j + 7 * k) % 251);
            }
        }
    }
    img.ijk_to_space = m;
    img.space = s;
    return img;
}

/// Reads a packed message back as the gateway reads one from a socket.
inline received_message reread(igtl::MessageBase& packed, std::uint64_t max_body = 1ull << 30) {
    const auto* bytes = static_cast<const char*>(packed.GetPackPointer());
    const auto size = static_cast<std::size_t>(packed.GetPackSize());
    std::size_t at = 0;
    const byte_reader read = [&](void* data, std::size_t n) {
        if (size - at < n) {
            return false;
        }
        std::memcpy(data, bytes + at, n);
        at += n;
        return true;
    };
    return read_message(read, max_body);
}

/// The image header of a packed IMAGE message, in host byte order.
inline igtl_image_header wire_image_header(igtl::MessageBase& packed) {
    igtl_image_header h;
    std::memcpy(&h, packed.GetPackBodyPointer(), IGTL_IMAGE_HEADER_SIZE);
    igtl_image_convert_byte_order(&h);
    return h;
}

/// An OpenIGTLink client built on the OpenIGTLink library alone: igtl::ClientSocket, message
/// objects, Pack and Unpack with CRC check. Receives time out after 30 s, so a test that waits
/// for a reply that never comes fails instead of hanging.
class igtl_peer {
public:
    struct message {
        std::string type;
        std::string device;
        igtl::MessageBase::Pointer body; ///< unpacked, of the type's class (or null)
    };

    explicit igtl_peer(int port) : socket_(igtl::ClientSocket::New()) {
        REQUIRE(socket_->ConnectToServer("127.0.0.1", port) == 0);
        socket_->SetReceiveTimeout(30000);
    }
    ~igtl_peer() { socket_->CloseSocket(); }

    void send(igtl::MessageBase& m) {
        m.Pack();
        REQUIRE(socket_->Send(m.GetPackPointer(), m.GetPackSize()) != 0);
    }

    /// The next message; fails the test when the connection ends or times out.
    message next() {
        igtl::MessageHeader::Pointer header = igtl::MessageHeader::New();
        header->InitPack();
        const int got = socket_->Receive(header->GetPackPointer(), header->GetPackSize());
        REQUIRE(got == header->GetPackSize());
        header->Unpack();
        message m;
        m.type = header->GetDeviceType();
        m.device = header->GetDeviceName();
        if (m.type == "IMAGE") {
            m.body = igtl::ImageMessage::New();
        } else if (m.type == "STRING") {
            m.body = igtl::StringMessage::New();
        } else if (m.type == "STATUS") {
            m.body = igtl::StatusMessage::New();
        } else if (m.type == "TRANSFORM") {
            m.body = igtl::TransformMessage::New();
        } else if (m.type == "POLYDATA") {
            m.body = igtl::PolyDataMessage::New();
        } else if (m.type == "POINT") {
            m.body = igtl::PointMessage::New();
        }
        REQUIRE(m.body);
        m.body->SetMessageHeader(header);
        m.body->AllocatePack();
        if (m.body->GetPackBodySize() > 0) {
            REQUIRE(socket_->Receive(m.body->GetPackBodyPointer(), m.body->GetPackBodySize()) ==
                    m.body->GetPackBodySize());
        }
        // Keep the raw body for geometry checks, then unpack with the CRC checked.
        raw_body_.assign(static_cast<const char*>(m.body->GetPackBodyPointer()),
                         static_cast<std::size_t>(m.body->GetPackBodySize()));
        REQUIRE((m.body->Unpack(1) & igtl::MessageHeader::UNPACK_BODY) != 0);
        return m;
    }

    /// The next message of `type` under `device`, skipping at most 50 others.
    message next(const std::string& type, const std::string& device) {
        for (int i = 0; i < 50; ++i) {
            message m = next();
            if (m.type == type && m.device == device) {
                return m;
            }
        }
        FAIL("no " << type << " under " << device << " among 50 messages");
        return {};
    }

    /// The body bytes of the last message received, as they came off the wire.
    const std::string& raw_body() const { return raw_body_; }

    /// Sends `<Command .../>` as STRING CMD_<id> and returns the parsed reply under ACK_<id>.
    xml_element command(const std::string& id, const std::string& xml) {
        igtl::StringMessage::Pointer s = igtl::StringMessage::New();
        s->SetDeviceName(("CMD_" + id).c_str());
        s->SetString(xml.c_str());
        send(*s);
        message reply = next("STRING", "ACK_" + id);
        std::string error;
        auto parsed = parse_xml(
            static_cast<igtl::StringMessage*>(reply.body.GetPointer())->GetString(), error);
        REQUIRE_MESSAGE(parsed, error);
        return *parsed;
    }

private:
    igtl::ClientSocket::Pointer socket_;
    std::string raw_body_;
};

inline std::string attr(const xml_element& e, const char* key) {
    const std::string* v = e.attribute(key);
    return v ? *v : std::string();
}

} // namespace test_support

#endif
