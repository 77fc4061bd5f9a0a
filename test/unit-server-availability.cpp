// Availability under abuse (issue 14): silent and slow peers are closed, connection caps answer
// with an error, a client that never reads is held to its byte budget, and a well-behaved client
// is served meanwhile. Timeouts here are configured small; waits are bounded polls.

#include <slicerbridge/server.hpp>

#include "support/raw_peer.hpp"
#include "support/test_server.hpp"

#include <slicerbridge/sync_client.hpp>

#include <doctest/doctest.h>

#include <atomic>
#include <thread>

using namespace slicerbridge;
using namespace std::chrono_literals;
using test_support::bytes;
using test_support::eventually;
using test_support::raw_peer;
using test_support::test_server;

namespace {

bool serves_others(const test_server& srv) {
    try {
        return sync_client::connect(srv.address())->ping() > 0.0;
    } catch (const std::exception&) {
        return false;
    }
}

bytes hello_bytes() {
    client_hello hello;
    hello.min_version = protocol_min;
    hello.max_version = protocol_max;
    return encode_frame(to_value(message(hello))).to_bytes();
}

/// An echo of an image of `voxels` bytes: its answer is as large as the request.
bytes echo_request(std::uint64_t id, std::size_t voxels) {
    invoke_params params;
    params.processor = "echo";
    std::vector<std::uint8_t> data(voxels, 7);
    params.inputs = {
        {"image", data_value(image::adopt(std::move(data), {voxels, 1, 1},
                                          matrix4{1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1},
                                          space::ras))}};
    request req{id, "invoke", to_value(params)};
    std::error_code ec;
    return encode_message(message(req), encode_options{}, ec).to_bytes();
}

} // namespace

TEST_CASE("a connection that sends no hello in time is closed, and others are served "
          "[LIMIT-5]") {
    server_options options;
    options.hello_timeout = 300ms;
    test_server srv(options);
    raw_peer silent(srv.port());
    CHECK(silent.closed_by_peer());
    CHECK(serves_others(srv));
}

TEST_CASE("a hello sent one byte at a time is closed when the hello timeout passes [LIMIT-5]") {
    server_options options;
    options.hello_timeout = 300ms;
    test_server srv(options);
    raw_peer slow(srv.port());
    bytes hello = hello_bytes();
    bool closed = false;
    // Bounded: at most one byte per 50 ms, and the server closes long before the hello ends.
    for (std::size_t i = 0; i + 1 < hello.size() && !closed; ++i) {
        std::error_code ec;
        asio::write(slow.socket(), asio::buffer(&hello[i], 1), ec);
        closed = ec.operator bool();
        std::this_thread::sleep_for(50ms); // the attack's pace, not a synchronisation
        closed = closed || srv.server().connection_count() == 0;
    }
    CHECK(closed);
    CHECK(slow.closed_by_peer());
}

TEST_CASE("a frame whose bytes stop arriving closes the connection [LIMIT-7]") {
    server_options options;
    options.stall_timeout = 300ms;
    test_server srv(options);
    raw_peer peer(srv.port());
    REQUIRE(peer.handshake());
    bytes frame = echo_request(1, 1000);
    frame.resize(frame.size() / 2);
    peer.write_bytes(frame);
    CHECK(peer.closed_by_peer());
    CHECK(serves_others(srv));
}

TEST_CASE("an idle connection is closed after the idle timeout, not before its hello is "
          "answered [LIMIT-6]") {
    server_options options;
    options.idle_timeout = 300ms;
    test_server srv(options);
    raw_peer peer(srv.port());
    REQUIRE(peer.handshake());
    CHECK(peer.closed_by_peer());
    CHECK(serves_others(srv));
}

TEST_CASE("connections over the caps are answered too_many_connections, then closed "
          "[LIMIT-8]") {
    SUBCASE("total") {
        server_options options;
        options.max_connections = 2;
        test_server srv(options);
        raw_peer first(srv.port());
        raw_peer second(srv.port());
        REQUIRE(first.handshake());
        REQUIRE(second.handshake());
        raw_peer third(srv.port());
        auto reply = third.read_response();
        REQUIRE(reply.has_value());
        CHECK_FALSE(reply->id.has_value());
        REQUIRE(reply->error.has_value());
        CHECK(reply->error->code == static_cast<int>(error::too_many_connections));
        CHECK(third.closed_by_peer());
    }
    SUBCASE("per address") {
        server_options options;
        options.max_connections_per_address = 1;
        test_server srv(options);
        raw_peer first(srv.port());
        REQUIRE(first.handshake());
        raw_peer second(srv.port());
        auto reply = second.read_response();
        REQUIRE(reply.has_value());
        REQUIRE(reply->error.has_value());
        CHECK(reply->error->code == static_cast<int>(error::too_many_connections));
        CHECK(second.closed_by_peer());
        first.socket().close();
        CHECK(eventually([&] { return srv.server().connection_count() == 0; }));
        CHECK(serves_others(srv)); // the address's count went down when it closed
    }
}

TEST_CASE("a client that never reads is held to its byte budget while others are served "
          "[LIMIT-9] [LIMIT-2]") {
    server_options options;
    options.connection_budget = 4 << 20;
    options.total_budget = 8 << 20;
    test_server srv(options);
    raw_peer hog(srv.port());
    REQUIRE(hog.handshake());
    hog.socket().non_blocking(true);
    // Requests whose answers are as large as they are: sent until the socket takes no more.
    std::size_t sent_requests = 0;
    for (std::uint64_t id = 1; id <= 400; ++id) {
        bytes frame = echo_request(id, 256 << 10);
        std::error_code ec;
        std::size_t written = 0;
        for (int attempt = 0; attempt < 200 && written < frame.size(); ++attempt) {
            written += hog.socket().write_some(
                asio::buffer(frame.data() + written, frame.size() - written), ec);
            if (ec == asio::error::would_block) {
                ec.clear();
                std::this_thread::sleep_for(5ms);
            }
        }
        if (written < frame.size()) {
            break; // the server stopped reading
        }
        ++sent_requests;
    }
    CHECK(sent_requests < 400);
    CHECK(srv.server().bytes_held() <= options.connection_budget + (1 << 20));
    CHECK(serves_others(srv));
}

TEST_CASE("frames that arrive together in one read count against the byte budget, and reading "
          "resumes as their calls end [LIMIT-9]") {
    server_options options;
    options.connection_budget = 2048;
    std::atomic<bool> released{false};
    test_server srv(options, [&](server& s) {
        s.add({test_support::describe("hold"), [&](call_context&, const invoke_params&) {
                   for (int i = 0; i < 1000 && !released.load(); ++i) {
                       std::this_thread::sleep_for(10ms);
                   }
                   return invoke_result{};
               }});
    });
    raw_peer peer(srv.port());
    REQUIRE(peer.handshake());
    constexpr std::uint64_t calls = 60;
    bytes all;
    std::size_t frame_size = 0;
    for (std::uint64_t id = 1; id <= calls; ++id) {
        invoke_params params;
        params.processor = "hold";
        std::error_code ec;
        bytes frame =
            encode_message(message(request{id, "invoke", to_value(params)}), {}, ec).to_bytes();
        frame_size = frame.size();
        all.insert(all.end(), frame.begin(), frame.end());
    }
    REQUIRE(all.size() > 2 * options.connection_budget);
    peer.write_bytes(all); // one write: the server's first read takes them all
    // The held calls' requests fill the budget, and no more are admitted: nothing is answered
    // meanwhile, so what the server holds is their frames.
    CHECK(eventually(
        [&] { return srv.server().bytes_held() + frame_size > options.connection_budget; }));
    std::this_thread::sleep_for(50ms);
    CHECK(srv.server().bytes_held() <= options.connection_budget + frame_size);
    released = true;
    std::size_t answered = 0;
    for (std::uint64_t i = 0; i < calls; ++i) {
        auto reply = peer.read_response();
        REQUIRE(reply);
        CHECK_FALSE(reply->is_error());
        ++answered;
    }
    CHECK(answered == calls);
}

TEST_CASE("bad frame headers from many connections log a few lines, not one each") {
    auto logged = std::make_shared<std::atomic<int>>(0);
    server_options options;
    options.log = [logged](log_level, std::string_view line) {
        if (line.find("bad frame header") != std::string_view::npos) {
            ++*logged;
        }
    };
    test_server srv(options);
    bytes bad_magic(frame_header_size, std::byte{0});
    bad_magic[0] = bad_magic[1] = std::byte{'X'};
    for (int i = 0; i < 30; ++i) {
        raw_peer peer(srv.port());
        peer.write_bytes(bad_magic);
        CHECK(peer.closed_by_peer());
    }
    CHECK(*logged >= 1);
    CHECK(*logged <= 10); // 5 per kind in 10 s: two windows at most, however slow the run
    CHECK(serves_others(srv));
}

TEST_CASE("calls waiting for a worker when their connection drops give back their places among "
          "the server's pending calls [DROP-1] [LIMIT-12]") {
    std::atomic<bool> released{false};
    server_options options;
    options.workers = 4;
    test_server srv(options, [&](server& s) {
        s.add({test_support::describe("hold"), [&](call_context&, const invoke_params&) {
                   for (int i = 0; i < 1000 && !released.load(); ++i) {
                       std::this_thread::sleep_for(10ms);
                   }
                   return invoke_result{};
               }});
    });
    const auto send_held_calls = [](raw_peer& peer, std::uint64_t count) {
        REQUIRE(peer.handshake());
        for (std::uint64_t id = 1; id <= count; ++id) {
            invoke_params params;
            params.processor = "hold";
            peer.write_message(message(request{id, "invoke", to_value(params)}));
        }
    };
    raw_peer holder(srv.port());
    send_held_calls(holder, options.workers); // every worker taken
    REQUIRE(eventually([&] { return srv.server().pending_call_count() == options.workers; }));
    {
        raw_peer leaving(srv.port());
        send_held_calls(leaving, 3); // they wait for a worker
        REQUIRE(eventually([&] { return srv.server().pending_call_count() == 7; }));
    }
    // Gone with the connection, the waiting calls will never run: left counted, a server whose
    // clients come and go would refuse every call once max_pending_calls of them had gathered.
    CHECK(eventually([&] { return srv.server().pending_call_count() == options.workers; }));
    released = true;
    CHECK(eventually([&] { return srv.server().pending_call_count() == 0; }));
    CHECK(serves_others(srv));
}
