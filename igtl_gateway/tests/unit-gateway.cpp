// The gateway between OpenIGTLink peers written with the OpenIGTLink library and SlicerBridge
// servers: streams, commands, and bad input answered while the gateway keeps serving.
#include "gateway.hpp"

#include "gateway_fixture.hpp"

using namespace test_support;

namespace {

const igtl_image_header& header_of(const std::string& raw_body) {
    static igtl_image_header h;
    std::memcpy(&h, raw_body.data(), IGTL_IMAGE_HEADER_SIZE);
    igtl_image_convert_byte_order(&h);
    return h;
}

igtl::StatusMessage* as_status(const igtl_peer::message& m) {
    return static_cast<igtl::StatusMessage*>(m.body.GetPointer());
}

} // namespace

#ifdef SLICERBRIDGE_SERVER_PATH

TEST_CASE("an IMAGE stream through gaussian_smoothing comes back on the same oblique grid") {
    gateway_options options;
    options.rules.push_back(parse_rule("device=US processor=gaussian_smoothing to=US_smooth "
                                       "sigma=0.8"));
    running_gateway gw(reference_server(), options);
    igtl_peer peer(gw.port());
    const matrix4 m = oblique_matrix();
    for (unsigned frame = 1; frame <= 5; ++frame) {
        CAPTURE(frame);
        auto sent = image_message("US", {32, 24, 6}, m, static_cast<std::uint8_t>(frame * 20),
                                  1000 + frame);
        const igtl_image_header sent_header = wire_image_header(*sent);
        peer.send(*sent);
        auto result = peer.next("IMAGE", "US_smooth");
        auto* img = static_cast<igtl::ImageMessage*>(result.body.GetPointer());
        const igtl_image_header& got = header_of(peer.raw_body());
        // The same grid, bit for bit: dims, float32 columns and the volume centre.
        CHECK(std::memcmp(got.size, sent_header.size, sizeof got.size) == 0);
        CHECK(std::memcmp(got.matrix, sent_header.matrix, sizeof got.matrix) == 0);
        CHECK(got.coord == igtl::ImageMessage::COORDINATE_RAS);
        // Integer volumes come back as float32; a constant volume stays constant.
        CHECK(img->GetScalarType() == igtl::ImageMessage::TYPE_FLOAT32);
        // The voxels follow the 58 + 72 header bytes: copy them out rather than read in place.
        std::vector<float> voxels(32 * 24 * 6);
        std::memcpy(voxels.data(), img->GetScalarPointer(), voxels.size() * sizeof(float));
        CHECK(voxels.front() == doctest::Approx(frame * 20.0).epsilon(1e-4));
        CHECK(voxels.back() == doctest::Approx(frame * 20.0).epsilon(1e-4));
        // The frame's time stamp goes with its result.
        unsigned seconds = 0;
        unsigned fraction = 0;
        img->GetTimeStamp(&seconds, &fraction);
        CHECK(seconds == 1000 + frame);
    }
    REQUIRE(eventually([&] { return gw.get().stats()[0].processed == 5; }));
    auto stats = gw.get().stats();
    REQUIRE(stats.size() == 1);
    CHECK(stats[0].received == 5);
    CHECK(stats[0].processed == 5);
    CHECK(stats[0].failed == 0);
    CHECK(stats[0].latency_max > 0);
}

TEST_CASE("an LPS IMAGE is smoothed in place and comes back in RAS") {
    gateway_options options;
    options.rules.push_back(parse_rule("device=MR processor=gaussian_smoothing to=MR_smooth"));
    running_gateway gw(reference_server(), options);
    igtl_peer peer(gw.port());
    igtl::ImageMessage::Pointer lps = igtl::ImageMessage::New();
    lps->SetDimensions(8, 8, 4);
    lps->SetSpacing(0.5f, 0.5f, 2.0f);
    lps->SetOrigin(10.0f, -20.0f, 30.0f);
    lps->SetCoordinateSystem(igtl::ImageMessage::COORDINATE_LPS);
    lps->SetDeviceName("MR");
    lps->SetScalarTypeToInt16();
    lps->AllocateScalars();
    std::memset(lps->GetScalarPointer(), 0, static_cast<std::size_t>(lps->GetImageSize()));
    lps->Pack();
    const igtl_image_header sent = wire_image_header(*lps);
    peer.send(*lps);
    peer.next("IMAGE", "MR_smooth");
    const igtl_image_header& got = header_of(peer.raw_body());
    CHECK(got.coord == igtl::ImageMessage::COORDINATE_RAS);
    for (int axis = 0; axis < 4; ++axis) {
        CHECK(got.matrix[axis * 3 + 0] == -sent.matrix[axis * 3 + 0]);
        CHECK(got.matrix[axis * 3 + 1] == -sent.matrix[axis * 3 + 1]);
        CHECK(got.matrix[axis * 3 + 2] == sent.matrix[axis * 3 + 2]);
    }
}

TEST_CASE("TRANSFORM and POINT streams through echo come back exactly") {
    gateway_options options;
    options.rules.push_back(parse_rule(
        "device=Tracker processor=echo input=transform output=transform_out to=Tracker_out"));
    options.rules.push_back(
        parse_rule("device=Marks processor=echo input=points output=points_out to=Marks_out"));
    running_gateway gw(reference_server(), options);
    igtl_peer peer(gw.port());
    igtl::TransformMessage::Pointer tracker = igtl::TransformMessage::New();
    tracker->SetDeviceName("Tracker");
    igtl::Matrix4x4 t;
    igtl::IdentityMatrix(t);
    t[0][0] = 0.6f;
    t[0][1] = -0.8f;
    t[1][0] = 0.8f;
    t[1][1] = 0.6f;
    t[0][3] = 123.456f;
    t[2][3] = -7.25f;
    tracker->SetMatrix(t);
    peer.send(*tracker);
    auto back = peer.next("TRANSFORM", "Tracker_out");
    igtl::Matrix4x4 r;
    static_cast<igtl::TransformMessage*>(back.body.GetPointer())->GetMatrix(r);
    for (int row = 0; row < 3; ++row) {
        for (int column = 0; column < 4; ++column) {
            CHECK(r[row][column] == t[row][column]);
        }
    }
    igtl::PointMessage::Pointer marks = igtl::PointMessage::New();
    marks->SetDeviceName("Marks");
    for (int i = 0; i < 3; ++i) {
        igtl::PointElement::Pointer p = igtl::PointElement::New();
        p->SetName(("F-" + std::to_string(i)).c_str());
        p->SetPosition(1.5f * i, -2.0f, 0.25f);
        marks->AddPointElement(p);
    }
    peer.send(*marks);
    auto points = peer.next("POINT", "Marks_out");
    auto* message = static_cast<igtl::PointMessage*>(points.body.GetPointer());
    REQUIRE(message->GetNumberOfPointElement() == 3);
    igtl::PointElement::Pointer last;
    message->GetPointElement(2, last);
    CHECK(std::string(last->GetName()) == "F-2");
    igtlFloat32 xyz[3];
    last->GetPosition(xyz);
    CHECK(xyz[0] == 3.0f);
    CHECK(xyz[1] == -2.0f);
    CHECK(xyz[2] == 0.25f);
}

TEST_CASE("commands: list, describe and invoke processors") {
    running_gateway gw(reference_server());
    igtl_peer peer(gw.port());

    xml_element list = peer.command("1", "<Command Name=\"ListProcessors\"/>");
    CHECK(list.name == "CommandReply");
    CHECK(attr(list, "Status") == "SUCCESS");
    std::vector<std::string> names;
    for (const auto& p : list.children) {
        names.push_back(attr(p, "Name"));
    }
    CHECK(std::find(names.begin(), names.end(), "gaussian_smoothing") != names.end());
    CHECK(std::find(names.begin(), names.end(), "echo") != names.end());

    xml_element describe =
        peer.command("2", "<Command Name=\"DescribeProcessor\" Processor=\"gaussian_smoothing\"/>");
    CHECK(attr(describe, "Status") == "SUCCESS");
    REQUIRE(describe.children.size() == 1);
    const xml_element& d = describe.children[0];
    CHECK(attr(d, "Name") == "gaussian_smoothing");
    bool saw_input = false;
    bool saw_sigma = false;
    for (const auto& s : d.children) {
        if (s.name == "Input" && attr(s, "Name") == "volume") {
            saw_input = attr(s, "MessageType") == "IMAGE";
        }
        if (s.name == "Parameter" && attr(s, "Name") == "sigma") {
            saw_sigma = attr(s, "Type") == "float" && attr(s, "Default") == "1" &&
                        attr(s, "Minimum") == "0";
        }
    }
    CHECK(saw_input);
    CHECK(saw_sigma);

    // Data first, then a command that names it.
    peer.send(*image_message("CT", {16, 16, 8}, oblique_matrix(), 50));
    xml_element invoked = peer.command(
        "3", "<Command Name=\"InvokeProcessor\" Processor=\"gaussian_smoothing\">"
             "<Input Name=\"volume\" Device=\"CT\"/><Parameter Name=\"sigma\" Value=\"0.5\"/>"
             "<Output Name=\"smoothed\" Device=\"CT_smooth\"/></Command>");
    CHECK(attr(invoked, "Status") == "SUCCESS");
    REQUIRE(invoked.children.size() == 1);
    CHECK(attr(invoked.children[0], "Device") == "CT_smooth");
    CHECK(attr(invoked.children[0], "MessageType") == "IMAGE");
    CHECK_FALSE(attr(invoked, "ComputingSeconds").empty());
}

TEST_CASE("command results arrive before the reply, geometry and transform exact") {
    running_gateway gw(reference_server());
    igtl_peer peer(gw.port());
    auto ct = image_message("CT", {16, 16, 8}, oblique_matrix(), 50);
    const igtl_image_header ct_header = wire_image_header(*ct);
    peer.send(*ct);
    igtl::TransformMessage::Pointer tracker = igtl::TransformMessage::New();
    tracker->SetDeviceName("Tracker");
    igtl::Matrix4x4 t;
    igtl::IdentityMatrix(t);
    t[0][3] = 12.5f;
    t[1][3] = -0.1f;
    t[0][1] = 0.25f;
    tracker->SetMatrix(t);
    peer.send(*tracker);

    igtl::StringMessage::Pointer command = igtl::StringMessage::New();
    command->SetDeviceName("CMD_77");
    command->SetString("<Command Name=\"InvokeProcessor\" Processor=\"echo\">"
                       "<Input Name=\"image\" Device=\"CT\"/>"
                       "<Input Name=\"transform\" Device=\"Tracker\"/>"
                       "<Output Name=\"image_out\" Device=\"CT_echo\"/></Command>");
    peer.send(*command);
    bool image_seen = false;
    bool transform_seen = false;
    for (int i = 0; i < 3; ++i) {
        auto m = peer.next();
        if (m.type == "IMAGE") {
            CHECK(m.device == "CT_echo");
            const igtl_image_header& got = header_of(peer.raw_body());
            CHECK(std::memcmp(got.matrix, ct_header.matrix, sizeof got.matrix) == 0);
            image_seen = true;
        } else if (m.type == "TRANSFORM") {
            CHECK(m.device == "transform_out");
            igtl::Matrix4x4 back;
            static_cast<igtl::TransformMessage*>(m.body.GetPointer())->GetMatrix(back);
            for (int r = 0; r < 4; ++r) {
                for (int c = 0; c < 4; ++c) {
                    CHECK(back[r][c] == t[r][c]);
                }
            }
            transform_seen = true;
        } else {
            REQUIRE(m.type == "STRING");
            CHECK(m.device == "ACK_77");
            CHECK(image_seen);
            CHECK(transform_seen);
        }
    }
}

TEST_CASE("bad input gets STATUS or a FAIL reply, and the gateway keeps serving") {
    gateway_options options;
    options.max_message = 1 << 20;
    running_gateway gw(reference_server(), options);
    igtl_peer peer(gw.port());

    SUBCASE("unknown device") {
        xml_element r =
            peer.command("10", "<Command Name=\"InvokeProcessor\" Processor=\"gaussian_smoothing\">"
                               "<Input Name=\"volume\" Device=\"Nowhere\"/></Command>");
        CHECK(attr(r, "Status") == "FAIL");
        CHECK(attr(r, "ErrorName") == "unknown_device");
        CHECK(attr(r, "Message").find("Nowhere") != std::string::npos);
    }
    SUBCASE("unknown processor, in describe and invoke: the SlicerBridge error 102") {
        for (const char* name : {"DescribeProcessor", "InvokeProcessor"}) {
            xml_element r = peer.command("11", std::string("<Command Name=\"") + name +
                                                   "\" Processor=\"no_such\"/>");
            CHECK(attr(r, "Status") == "FAIL");
            CHECK(attr(r, "ErrorCode") == "102");
            CHECK(attr(r, "ErrorName") == "unknown_processor");
        }
    }
    SUBCASE("a parameter out of range: the server's invalid_argument") {
        peer.send(*image_message("CT", {4, 4, 4}, identity_matrix, 1));
        xml_element r =
            peer.command("12", "<Command Name=\"InvokeProcessor\" Processor=\"gaussian_smoothing\">"
                               "<Input Name=\"volume\" Device=\"CT\"/>"
                               "<Parameter Name=\"sigma\" Value=\"-3\"/></Command>");
        CHECK(attr(r, "Status") == "FAIL");
        CHECK(attr(r, "ErrorCode") == "103");
        CHECK(attr(r, "ErrorName") == "invalid_argument");
        CHECK(attr(r, "Message").find("sigma") != std::string::npos);
    }
    SUBCASE("malformed command XML, a wrong root, an unknown command") {
        xml_element r = peer.command("13", "<Command Name=\"ListProcessors\"");
        CHECK(attr(r, "Status") == "FAIL");
        CHECK(attr(r, "ErrorName") == "malformed_command");
        r = peer.command("14", "<Order Name=\"ListProcessors\"/>");
        CHECK(attr(r, "ErrorName") == "malformed_command");
        r = peer.command("15", "<Command Name=\"StartRecording\"/>");
        CHECK(attr(r, "ErrorName") == "unknown_command");
    }
    SUBCASE("an oversized image: STATUS under its device name, never read into memory") {
        peer.send(*image_message("Big", {128, 128, 128}, identity_matrix, 1)); // 2 MiB
        auto status = peer.next("STATUS", "Big");
        CHECK(as_status(status)->GetCode() == igtl::StatusMessage::STATUS_OVERFLOW);
        CHECK(std::string(as_status(status)->GetStatusString()).find("limit") != std::string::npos);
    }
    SUBCASE("a corrupted body: STATUS with CHECKSUM_ERROR") {
        auto img = image_message("Bad", {8, 8, 8}, identity_matrix, 1);
        std::string bytes(static_cast<const char*>(img->GetPackPointer()),
                          static_cast<std::size_t>(img->GetPackSize()));
        bytes[bytes.size() - 1] ^= 0x55;
        igtl::ClientSocket::Pointer raw = igtl::ClientSocket::New();
        REQUIRE(raw->ConnectToServer("127.0.0.1", gw.port()) == 0);
        raw->SetReceiveTimeout(30000);
        REQUIRE(raw->Send(bytes.data(), static_cast<int>(bytes.size())) != 0);
        igtl::MessageHeader::Pointer header = igtl::MessageHeader::New();
        header->InitPack();
        REQUIRE(raw->Receive(header->GetPackPointer(), header->GetPackSize()) ==
                header->GetPackSize());
        header->Unpack();
        CHECK(std::string(header->GetDeviceType()) == "STATUS");
        igtl::StatusMessage::Pointer s = igtl::StatusMessage::New();
        s->SetMessageHeader(header);
        s->AllocatePack();
        REQUIRE(raw->Receive(s->GetPackBodyPointer(), s->GetPackBodySize()) ==
                s->GetPackBodySize());
        s->Unpack(1);
        CHECK(s->GetCode() == igtl::StatusMessage::STATUS_CHECKSUM_ERROR);
        raw->CloseSocket();
    }
    SUBCASE("a STRING that is not a command") {
        igtl::StringMessage::Pointer text = igtl::StringMessage::New();
        text->SetDeviceName("Note");
        text->SetString("hello");
        peer.send(*text);
        auto status = peer.next("STATUS", "Note");
        CHECK(as_status(status)->GetCode() == igtl::StatusMessage::STATUS_UNKNOWN_INSTRUCTION);
    }
    // Whatever came before, the same connection and a new one are served.
    xml_element after = peer.command("99", "<Command Name=\"ListProcessors\"/>");
    CHECK(attr(after, "Status") == "SUCCESS");
    igtl_peer other(gw.port());
    CHECK(attr(other.command("1", "<Command Name=\"ListProcessors\"/>"), "Status") == "SUCCESS");
}

TEST_CASE("a rule on an unknown processor or input is refused at start") {
    gateway_options options;
    options.rules.push_back(parse_rule("device=US processor=no_such"));
    CHECK_THROWS_AS(running_gateway(reference_server(), options), std::invalid_argument);
    gateway_options two_outputs;
    two_outputs.rules.push_back(parse_rule("device=US processor=echo"));
    CHECK_THROWS_WITH_AS(running_gateway(reference_server(), two_outputs),
                         doctest::Contains("input=SLOT"), std::invalid_argument);
}

#endif

TEST_CASE("a frame arriving while one computes replaces the waiting one: no queue grows") {
    in_process_server sb;
    gateway_options options;
    options.rules.push_back(parse_rule("device=US processor=hold to=US_out"));
    running_gateway gw(sb.connect(), options);
    igtl_peer peer(gw.port());
    peer.send(*image_message("US", {8, 8, 1}, identity_matrix, 1));
    REQUIRE(sb.held.wait_entered(1)); // frame 1 is computing
    for (std::uint8_t value = 2; value <= 5; ++value) {
        peer.send(*image_message("US", {8, 8, 1}, identity_matrix, value));
    }
    REQUIRE(eventually([&] { return gw.get().stats()[0].received == 5; }));
    sb.held.open();
    auto first = peer.next("IMAGE", "US_out");
    CHECK(static_cast<const std::uint8_t*>(
              static_cast<igtl::ImageMessage*>(first.body.GetPointer())->GetScalarPointer())[0] ==
          1);
    auto second = peer.next("IMAGE", "US_out");
    CHECK(static_cast<const std::uint8_t*>(
              static_cast<igtl::ImageMessage*>(second.body.GetPointer())->GetScalarPointer())[0] ==
          5);
    // The counters move just after a result's last byte is written.
    REQUIRE(eventually([&] { return gw.get().stats()[0].processed == 2; }));
    const auto stats = gw.get().stats()[0];
    CHECK(stats.received == 5);
    CHECK(stats.replaced == 3);
    CHECK(stats.processed == 2);
    // The same figures through the command.
    xml_element r = peer.command("1", "<Command Name=\"GetStreamStats\"/>");
    REQUIRE(r.children.size() == 1);
    CHECK(attr(r.children[0], "Replaced") == "3");
}

TEST_CASE("a result OpenIGTLink cannot carry becomes a STATUS under the output device") {
    in_process_server sb;
    gateway_options options;
    options.rules.push_back(parse_rule("device=US processor=huge to=US_big"));
    running_gateway gw(sb.connect(), options);
    igtl_peer peer(gw.port());
    peer.send(*image_message("US", {4, 4, 1}, identity_matrix, 1));
    auto status = peer.next("STATUS", "US_big");
    CHECK(as_status(status)->GetCode() == igtl::StatusMessage::STATUS_OVERFLOW);
    CHECK(std::string(as_status(status)->GetStatusString()).find("65535") != std::string::npos);
    // The stream goes on.
    peer.send(*image_message("US", {4, 4, 1}, identity_matrix, 1));
    CHECK(peer.next("STATUS", "US_big").type == "STATUS");
    CHECK(eventually([&] { return gw.get().stats()[0].failed == 2; }));
}

TEST_CASE("a rule takes a second input from the last TRANSFORM of another device") {
    in_process_server sb;
    gateway_options options;
    options.rules.push_back(
        parse_rule("device=US processor=tracked input.probe=Probe to=US_tracked"));
    running_gateway gw(sb.connect(), options);
    igtl_peer peer(gw.port());
    // No probe transform yet: a STATUS, and the stream waits for the next frame.
    peer.send(*image_message("US", {4, 4, 1}, identity_matrix, 1));
    auto missing = peer.next("STATUS", "US_tracked");
    CHECK(as_status(missing)->GetCode() == igtl::StatusMessage::STATUS_NOT_FOUND);
    CHECK(std::string(as_status(missing)->GetStatusString()).find("Probe") != std::string::npos);
    igtl::TransformMessage::Pointer probe = igtl::TransformMessage::New();
    probe->SetDeviceName("Probe");
    igtl::Matrix4x4 t;
    igtl::IdentityMatrix(t);
    t[0][3] = 100.0f;
    probe->SetMatrix(t);
    peer.send(*probe);
    peer.send(*image_message("US", {4, 4, 1}, identity_matrix, 2));
    peer.next("IMAGE", "US_tracked");
    const igtl_image_header& got = header_of(peer.raw_body());
    // The volume centre (1.5, 1.5, 0) moved by 100 mm along x.
    CHECK(got.matrix[9] == 101.5f);
    CHECK(got.matrix[10] == 1.5f);
}

TEST_CASE("stream results go to every connected peer") {
    in_process_server sb;
    gateway_options options;
    options.rules.push_back(parse_rule("device=Cam processor=same to=Cam_out"));
    running_gateway gw(sb.connect(), options);
    igtl_peer sender(gw.port());
    igtl_peer viewer(gw.port());
    REQUIRE(eventually([&] { return gw.get().connection_count() == 2; }));
    sender.send(*image_message("Cam", {4, 4, 1}, identity_matrix, 9));
    CHECK(sender.next("IMAGE", "Cam_out").device == "Cam_out");
    CHECK(viewer.next("IMAGE", "Cam_out").device == "Cam_out");
}

TEST_CASE("upstream: the gateway reads a server's stream (as PlusServer's) for its own peers") {
    tcp_listener plus("127.0.0.1", 0); // stands for PlusServer: it sends, the gateway connects
    in_process_server sb;
    gateway_options options;
    options.rules.push_back(parse_rule("device=Image processor=same to=Image_out"));
    options.upstream.emplace_back("127.0.0.1", plus.port());
    running_gateway gw(sb.connect(), options);
    igtl_peer viewer(gw.port());
    const int fd = plus.accept(30000);
    REQUIRE(fd >= 0);
    tcp_connection upstream(fd);
    REQUIRE(eventually([&] { return gw.get().connection_count() == 1; }));
    upstream.send(*image_message("Image", {16, 16, 1}, oblique_matrix(), 3));
    auto result = viewer.next("IMAGE", "Image_out");
    CHECK(static_cast<const std::uint8_t*>(
              static_cast<igtl::ImageMessage*>(result.body.GetPointer())->GetScalarPointer())[0] ==
          3);
}

TEST_CASE("the gateway refuses non-loopback addresses unless allowed") {
    in_process_server sb;
    auto client = sb.connect();
    gateway_options options;
    options.host = "0.0.0.0";
    options.port = 0;
    gateway g(*client, options);
    CHECK_THROWS_WITH_AS(g.start(), doctest::Contains("no authentication"), std::invalid_argument);
}
