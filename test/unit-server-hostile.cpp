// Hostile input against the server: every malformed, truncated, oversized or out-of-order input
// gets the specified error, and the server goes on serving everyone else.

#include <slicerbridge/server.hpp>

#include "support/raw_peer.hpp"
#include "support/features.hpp"
#include "support/test_server.hpp"

#include <slicerbridge/sync_client.hpp>

#include <doctest/doctest.h>

using namespace slicerbridge;
using test_support::bytes;
using test_support::raw_peer;
using test_support::test_server;

namespace {

/// The server still answers a fresh, well-behaved client ([DROP-2]).
bool still_serves_others(const test_server& srv) {
    try {
        return sync_client::connect(srv.address())->ping() > 0.0;
    } catch (const std::exception&) {
        return false;
    }
}

int error_code_of(const response& r) { return r.error ? r.error->code : 0; }

bytes header_bytes(std::uint32_t head_length, std::uint64_t bulk_length) {
    bytes out(frame_header_size);
    write_frame_header({head_length, bulk_length}, out.data());
    return out;
}

value request_head(std::uint64_t id, std::string method, value params = value(value::map{})) {
    return value(value::map{{"kind", value("request")},
                            {"id", value(id)},
                            {"method", value(std::move(method))},
                            {"params", std::move(params)}});
}

} // namespace

TEST_CASE("a bad magic is a fatal malformed_frame [FRAME-1] [FRAME-7] [DROP-2]") {
    test_server srv;
    raw_peer peer(srv.port());
    REQUIRE(peer.handshake());
    bytes frame = header_bytes(1, 0);
    frame[0] = std::byte{'X'};
    frame.push_back(std::byte{0x80});
    peer.write_bytes(frame);
    auto reply = peer.read_response();
    REQUIRE(reply.has_value());
    CHECK_FALSE(reply->id.has_value());
    CHECK(error_code_of(*reply) == static_cast<int>(error::malformed_frame));
    CHECK(peer.closed_by_peer());
    CHECK(still_serves_others(srv));
}

TEST_CASE("an oversized length is refused before allocation and closes [FRAME-3] [LIMIT-1]") {
    server_options options;
    options.receive_limits.max_frame = 1 << 20;
    test_server srv(options);
    raw_peer peer(srv.port());
    REQUIRE(peer.handshake());
    peer.write_bytes(header_bytes(16, std::uint64_t{1} << 40)); // a terabyte of bulk
    auto reply = peer.read_response();
    REQUIRE(reply.has_value());
    CHECK(error_code_of(*reply) == static_cast<int>(error::frame_too_large));
    CHECK(peer.closed_by_peer());
    CHECK(still_serves_others(srv));
}

TEST_CASE("a hello larger than the handshake limit is refused [HELLO-4] [HELLO-10]") {
    test_server srv;
    raw_peer peer(srv.port());
    peer.write_bytes(header_bytes(200000, 0));
    auto reply = peer.read_response();
    REQUIRE(reply.has_value());
    CHECK(error_code_of(*reply) == static_cast<int>(error::frame_too_large));
    CHECK(peer.closed_by_peer());
}

TEST_CASE("anything before the hello is handshake_required, then close [HELLO-2]") {
    test_server srv;
    raw_peer peer(srv.port());
    peer.write_head(request_head(1, "ping"));
    auto reply = peer.read_response();
    REQUIRE(reply.has_value());
    CHECK_FALSE(reply->id.has_value());
    CHECK(error_code_of(*reply) == static_cast<int>(error::handshake_required));
    CHECK(peer.closed_by_peer());
    CHECK(still_serves_others(srv));
}

TEST_CASE("no common version is unsupported_version with the server's range [HELLO-3]") {
    test_server srv;
    raw_peer peer(srv.port());
    client_hello hello;
    hello.min_version = {2, 0};
    hello.max_version = {3, 1};
    peer.write_message(message(hello));
    auto reply = peer.read_response();
    REQUIRE(reply.has_value());
    CHECK(error_code_of(*reply) == static_cast<int>(error::unsupported_version));
    REQUIRE(reply->error->details.find("max_version") != nullptr);
    CHECK(peer.closed_by_peer());
}

TEST_CASE("a hello of another protocol is invalid_message, then close [HELLO-5]") {
    test_server srv;
    raw_peer peer(srv.port());
    peer.write_head(value(value::map{{"kind", value("hello")},
                                     {"protocol", value("openigtlink")},
                                     {"min_version", value(value::array{1, 0})},
                                     {"max_version", value(value::array{1, 0})}}));
    auto reply = peer.read_response();
    REQUIRE(reply.has_value());
    CHECK(error_code_of(*reply) == static_cast<int>(error::invalid_message));
    CHECK(peer.closed_by_peer());
}

TEST_CASE("a second hello is invalid_message and the connection goes on [HELLO-7]") {
    test_server srv;
    raw_peer peer(srv.port());
    REQUIRE(peer.handshake());
    client_hello hello;
    hello.min_version = protocol_min;
    hello.max_version = protocol_max;
    peer.write_message(message(hello));
    auto reply = peer.read_response();
    REQUIRE(reply.has_value());
    CHECK(error_code_of(*reply) == static_cast<int>(error::invalid_message));
    peer.write_head(request_head(7, "ping"));
    reply = peer.read_response();
    REQUIRE(reply.has_value());
    CHECK(reply->id == std::optional<std::uint64_t>(7));
    CHECK_FALSE(reply->error.has_value());
}

TEST_CASE("undecodable heads are invalid_message, not fatal [MSG-11] [HEAD-1] [FRAME-4]") {
    test_server srv;
    raw_peer peer(srv.port());
    REQUIRE(peer.handshake());
    const bytes cases[] = {
        {std::byte{0xc1}},                                  // never-used MessagePack byte
        {std::byte{0x92}, std::byte{0x01}},                 // array of 2 with one element
        {std::byte{0x93}, std::byte{0x01}, std::byte{0x02}, std::byte{0x03}}, // not a map
        {std::byte{0x81}, std::byte{0x01}, std::byte{0x02}}, // map with an integer key
        {std::byte{0x80}},                                  // a map without kind
        {std::byte{0x80}, std::byte{0x80}},                 // trailing bytes after the map
        {},                                                 // head_length 0
    };
    for (const auto& head : cases) {
        peer.write_raw_frame(head);
        auto reply = peer.read_response();
        REQUIRE(reply.has_value());
        CHECK_FALSE(reply->id.has_value());
        CHECK(error_code_of(*reply) == static_cast<int>(error::invalid_message));
    }
    peer.write_head(request_head(1, "ping"));
    auto reply = peer.read_response();
    REQUIRE(reply.has_value());
    CHECK_FALSE(reply->error.has_value());
}

TEST_CASE("a nesting bomb is refused without recursion [HEAD-5] [SEC-4]") {
    test_server srv;
    raw_peer peer(srv.port());
    REQUIRE(peer.handshake());
    bytes bomb(100000, std::byte{0x91}); // 100000 nested one-element arrays
    bomb.push_back(std::byte{0x00});
    peer.write_raw_frame(bomb);
    auto reply = peer.read_response();
    REQUIRE(reply.has_value());
    CHECK(error_code_of(*reply) == static_cast<int>(error::invalid_message));
    CHECK(still_serves_others(srv));
}

TEST_CASE("declared lengths far beyond the frame are refused without allocating [HEAD-8]") {
    test_server srv;
    raw_peer peer(srv.port());
    REQUIRE(peer.handshake());
    peer.write_raw_frame({std::byte{0xdd}, std::byte{0xff}, std::byte{0xff}, std::byte{0xff},
                          std::byte{0xff}}); // array32 of 2^32-1 elements, none present
    auto reply = peer.read_response();
    REQUIRE(reply.has_value());
    CHECK(error_code_of(*reply) == static_cast<int>(error::invalid_message));
}

TEST_CASE("a bulk reference outside the bulk is invalid_message [BULK-1]") {
    test_server srv;
    raw_peer peer(srv.port());
    REQUIRE(peer.handshake());
    // {"kind": "request", "id": 3, "method": "ping", "params": {"x": ext1(offset 8, length 64)}}
    auto head = encode_frame(request_head(3, "ping", value(value::map{{"x", value(0)}}))).head();
    bytes raw(head.begin(), head.end() - 1); // drop the trailing 0 value of "x"
    raw.push_back(std::byte{0xd8}); // fixext 16
    raw.push_back(std::byte{0x01});
    for (std::uint64_t field : {std::uint64_t{8}, std::uint64_t{64}}) {
        for (int shift = 56; shift >= 0; shift -= 8) {
            raw.push_back(static_cast<std::byte>((field >> shift) & 0xff));
        }
    }
    peer.write_raw_frame(raw, 16);
    auto reply = peer.read_response();
    REQUIRE(reply.has_value());
    CHECK(error_code_of(*reply) == static_cast<int>(error::invalid_message));
    CHECK(still_serves_others(srv));
}

TEST_CASE("compressed bulk with a codec not in force is refused [BULK-5] [CAP-2]" *
          test_support::skip_without_codecs()) {
    server_options options;
    options.codecs = codec_set{};
    test_server srv(options);
    raw_peer peer(srv.port());
    REQUIRE(peer.handshake());
    value params(value::map{{"blob", value(buffer::copy_of(std::string(100000, 'a').data(),
                                                           100000))}});
    encode_options compress;
    compress.compression = codec::zstd;
    peer.write_bytes(encode_frame(request_head(4, "ping", params), compress).to_bytes());
    auto reply = peer.read_response();
    REQUIRE(reply.has_value());
    CHECK(error_code_of(*reply) == static_cast<int>(error::unsupported_codec));
}

TEST_CASE("unknown kinds are answered, never dropped [MSG-10]") {
    test_server srv;
    raw_peer peer(srv.port());
    REQUIRE(peer.handshake());
    peer.write_head(value(value::map{{"kind", value("telepathy")}, {"id", value(5)}}));
    auto reply = peer.read_response();
    REQUIRE(reply.has_value());
    CHECK(error_code_of(*reply) == static_cast<int>(error::unknown_kind));
}

TEST_CASE("unknown methods, malformed requests and responses from a client [MSG-6] [MSG-12] [MSG-3]") {
    test_server srv;
    raw_peer peer(srv.port());
    REQUIRE(peer.handshake());
    peer.write_head(request_head(11, "teleport"));
    auto reply = peer.read_response();
    REQUIRE(reply.has_value());
    CHECK(reply->id == std::optional<std::uint64_t>(11));
    CHECK(error_code_of(*reply) == static_cast<int>(error::method_not_found));

    peer.write_head(value(value::map{{"kind", value("request")}, {"id", value(12)},
                                     {"method", value(42)}}));
    reply = peer.read_response();
    REQUIRE(reply.has_value());
    CHECK(reply->id == std::optional<std::uint64_t>(12));
    CHECK(error_code_of(*reply) == static_cast<int>(error::invalid_message));

    response stray;
    stray.id = 99;
    stray.result = value(value::map{});
    peer.write_message(message(stray));
    reply = peer.read_response();
    REQUIRE(reply.has_value());
    CHECK_FALSE(reply->id.has_value());
    CHECK(error_code_of(*reply) == static_cast<int>(error::invalid_message));
}

TEST_CASE("a duplicate open id is duplicate_id, the open call is unaffected [MSG-5]") {
    test_server srv;
    raw_peer peer(srv.port());
    REQUIRE(peer.handshake());
    value slow_params(value::map{
        {"processor", value("slow")},
        {"parameters", value(value::map{{"seconds", value(0.3)}, {"steps", value(3)}})}});
    peer.write_head(request_head(21, "invoke", slow_params));
    peer.write_head(request_head(21, "ping"));
    auto first = peer.read_response();
    REQUIRE(first.has_value());
    CHECK_FALSE(first->id.has_value());
    CHECK(error_code_of(*first) == static_cast<int>(error::duplicate_id));
    auto second = peer.read_response();
    REQUIRE(second.has_value());
    CHECK(second->id == std::optional<std::uint64_t>(21));
    CHECK_FALSE(second->error.has_value());
}

TEST_CASE("unknown notifications are ignored, cancel of unknown ids too, progress from a client "
          "too [MSG-9] [CANCEL-4] [PROG-5]") {
    test_server srv;
    raw_peer peer(srv.port());
    REQUIRE(peer.handshake());
    peer.write_head(value(value::map{
        {"kind", value("notification")},
        {"method", value("progress")},
        {"params", value(value::map{{"id", value(8)}, {"fraction", value(0.5)}})}}));
    peer.write_head(value(value::map{{"kind", value("notification")},
                                     {"method", value("x-telemetry")},
                                     {"params", value(value::map{})}}));
    peer.write_head(value(value::map{{"kind", value("notification")},
                                     {"method", value("cancel")},
                                     {"params", value(value::map{{"id", value(777)}})}}));
    peer.write_head(request_head(8, "ping"));
    auto reply = peer.read_response();
    REQUIRE(reply.has_value());
    CHECK(reply->id == std::optional<std::uint64_t>(8)); // nothing came before the ping's answer
}

TEST_CASE("a frame truncated by a disconnect is discarded, others are served [FRAME-8] [DROP-2]") {
    test_server srv;
    {
        raw_peer peer(srv.port());
        REQUIRE(peer.handshake());
        bytes partial = header_bytes(64, 1 << 20);
        partial.resize(partial.size() + 30);
        peer.write_bytes(partial);
    }
    CHECK(still_serves_others(srv));
}

TEST_CASE("requests after goodbye fail with shutting_down [BYE-2]") {
    test_server srv;
    raw_peer peer(srv.port());
    REQUIRE(peer.handshake());
    value slow_params(value::map{
        {"processor", value("slow")},
        {"parameters", value(value::map{{"seconds", value(0.3)}, {"steps", value(3)}})}});
    peer.write_head(request_head(1, "invoke", slow_params));
    peer.write_head(request_head(2, "goodbye"));
    peer.write_head(request_head(3, "ping"));
    auto refused = peer.read_response();
    REQUIRE(refused.has_value());
    CHECK(refused->id == std::optional<std::uint64_t>(3));
    CHECK(error_code_of(*refused) == static_cast<int>(error::shutting_down));
    auto call = peer.read_response();
    REQUIRE(call.has_value());
    CHECK(call->id == std::optional<std::uint64_t>(1));
    auto bye = peer.read_response();
    REQUIRE(bye.has_value());
    CHECK(bye->id == std::optional<std::uint64_t>(2));
    CHECK(peer.closed_by_peer());
}

TEST_CASE("a known notification with malformed params is ignored without an answer [MSG-16]") {
    test_server srv;
    raw_peer peer(srv.port());
    REQUIRE(peer.handshake());
    peer.write_head(value(value::map{{"kind", value("notification")},
                                     {"method", value("cancel")},
                                     {"params", value("everything")}}));
    peer.write_head(value(value::map{{"kind", value("notification")},
                                     {"method", value("cancel")},
                                     {"params", value(value::map{{"id", value("seven")}})}}));
    peer.write_head(value(value::map{{"kind", value("notification")}}));
    auto reply = peer.read_response(); // only the notification without a method is answered
    REQUIRE(reply.has_value());
    CHECK_FALSE(reply->id.has_value());
    CHECK(error_code_of(*reply) == static_cast<int>(error::invalid_message));
    peer.write_head(request_head(9, "ping"));
    reply = peer.read_response();
    REQUIRE(reply.has_value());
    CHECK(reply->id == std::optional<std::uint64_t>(9));
}

TEST_CASE("mistyped params of a known method are invalid_message under the id [MSG-13]") {
    test_server srv;
    raw_peer peer(srv.port());
    REQUIRE(peer.handshake());
    peer.write_head(request_head(31, "describe", value(value::map{{"processor", value(42)}})));
    auto reply = peer.read_response();
    REQUIRE(reply.has_value());
    CHECK(reply->id == std::optional<std::uint64_t>(31));
    CHECK(error_code_of(*reply) == static_cast<int>(error::invalid_message));
    peer.write_head(request_head(32, "describe"));
    reply = peer.read_response();
    REQUIRE(reply.has_value());
    CHECK(error_code_of(*reply) == static_cast<int>(error::invalid_message));
}

TEST_CASE("a catalog nested deeper than the client's max_depth is too_large under its id, the "
          "connection goes on [LIMIT-11]") {
    test_server srv;
    for (std::uint32_t max_depth : {5u, 32u}) {
        raw_peer peer(srv.port());
        client_hello hello;
        hello.min_version = protocol_min;
        hello.max_version = protocol_max;
        hello.limits.max_depth = max_depth;
        peer.write_message(message(hello));
        auto server_reply = peer.read_message();
        REQUIRE(server_reply.has_value());
        REQUIRE(std::holds_alternative<server_hello>(*server_reply));
        limits client_limits;
        client_limits.max_depth = max_depth;
        for (std::uint64_t id : {1u, 2u}) {
            CAPTURE(max_depth);
            CAPTURE(id);
            peer.write_head(request_head(id, id == 1 ? "catalog" : "ping"));
            auto head = peer.read_head(client_limits); // a deeper head fails to decode here
            REQUIRE(head.has_value());
            std::error_code ec;
            auto reply = decode_message(*head, false, ec);
            REQUIRE_FALSE(ec);
            const auto& r = std::get<response>(reply);
            CHECK(r.id == std::optional<std::uint64_t>(id));
            // The test server's catalog is 6 deep (response, result, processors, description,
            // parameters, slot): too deep for 5, fine for 32.
            const bool too_deep = id == 1 && max_depth == 5;
            CHECK(error_code_of(r) == (too_deep ? static_cast<int>(error::too_large) : 0));
        }
    }
    CHECK(still_serves_others(srv));
}

TEST_CASE("a catalog over the client's max_frame is too_large under its id, the connection goes "
          "on [LIMIT-1] [LIMIT-3] [LIMIT-11]") {
    test_server srv;
    raw_peer peer(srv.port());
    client_hello hello;
    hello.min_version = protocol_min;
    hello.max_version = protocol_max;
    hello.limits.max_frame = 400;
    peer.write_message(message(hello));
    auto server_reply = peer.read_message();
    REQUIRE(server_reply.has_value());
    REQUIRE(std::holds_alternative<server_hello>(*server_reply));
    limits client_limits;
    client_limits.max_frame = 400;
    for (std::uint64_t id : {1u, 2u}) {
        peer.write_head(request_head(id, id == 1 ? "catalog" : "ping"));
        auto head = peer.read_head(client_limits); // a frame over 400 bytes fails here
        REQUIRE(head.has_value());
        std::error_code ec;
        auto reply = decode_message(*head, false, ec);
        REQUIRE_FALSE(ec);
        const auto& r = std::get<response>(reply);
        CHECK(r.id == std::optional<std::uint64_t>(id));
        CHECK(error_code_of(r) == (id == 1 ? static_cast<int>(error::too_large) : 0));
    }
    CHECK(still_serves_others(srv));
}
