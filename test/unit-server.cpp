#include <slicerbridge/server.hpp>

#include "support/raw_peer.hpp"
#include "support/test_server.hpp"

#include <slicerbridge/sync_client.hpp>

#include <doctest/doctest.h>

#include <asio/use_future.hpp>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <future>
#include <numeric>
#include <set>
#include <vector>

using namespace slicerbridge;
using test_support::eventually;
using test_support::test_server;

namespace {

image oblique_image() {
    std::vector<std::int16_t> voxels(6 * 5 * 4);
    std::iota(voxels.begin(), voxels.end(), std::int16_t{-50});
    const matrix4 m{0.0, -0.7, 0.1, -12.5, 0.9, 0.0, 0.2, 40.25, 0.1, 0.3, 1.5, -7.0, 0, 0, 0, 1};
    return image::adopt(std::move(voxels), {6, 5, 4}, m, space::lps);
}

invoke_params call(std::string processor) {
    invoke_params p;
    p.processor = std::move(processor);
    return p;
}

invoke_params slow(double seconds, std::int64_t steps, std::string processor = "slow") {
    auto p = call(std::move(processor));
    p.parameters = {{"seconds", parameter_value(seconds)}, {"steps", parameter_value(steps)}};
    return p;
}

} // namespace

TEST_CASE("handshake, ping, catalog and describe [HELLO-1] [CAT-1] [CAT-2] [PING-1]") {
    test_server srv;
    auto client = sync_client::connect(srv.address());
    CHECK(client->server_info().version == protocol_max);
    CHECK(client->ping() > 0.0);
    auto catalog = client->catalog();
    std::vector<std::string> names;
    for (const auto& d : catalog) {
        names.push_back(d.name);
    }
    CHECK(std::find(names.begin(), names.end(), "echo") != names.end());
    CHECK(std::find(names.begin(), names.end(), "slow") != names.end());
    auto slow_description = client->describe("slow");
    CHECK(slow_description.parameters.size() == 2);
    try {
        client->describe("no_such_processor");
        FAIL("describe of an unknown processor must fail");
    } catch (const call_error& e) {
        CHECK(e.code() == error::unknown_processor);
    }
}

TEST_CASE("an oblique LPS image comes back from echo exactly [INV-4] [IMG-5]") {
    test_server srv;
    auto client = sync_client::connect(srv.address());
    auto sent = oblique_image();
    auto p = call("echo");
    p.inputs = {{"image", data_value(sent)}};
    auto reply = client->invoke(p);
    const auto* received = reply.result.output_as<image>("image_out");
    REQUIRE(received != nullptr);
    CHECK(*received == sent);
    CHECK(received->space == space::lps);
    REQUIRE(reply.server_timings.has_value());
    CHECK(reply.server_timings->computing >= 0.0);
    CHECK(reply.round_trip > 0.0);
}

TEST_CASE("compressed bulk both ways keeps every byte [BULK-5] [CODEC-1]") {
    server_options options;
    options.response_compression = codec::lz4;
    test_server srv(options);
    client_options client_side;
    client_side.request_compression = codec::zstd;
    auto client = sync_client::connect(srv.address(), client_side);
    std::vector<float> voxels(64 * 64 * 32, 1.5f); // compressible, over compress_min
    auto sent = image::adopt(std::move(voxels), {64, 64, 32});
    auto p = call("echo");
    p.inputs = {{"image", data_value(sent)}};
    auto reply = client->invoke(p);
    REQUIRE(reply.result.output_as<image>("image_out") != nullptr);
    CHECK(*reply.result.output_as<image>("image_out") == sent);
}

TEST_CASE("calls on one connection run concurrently and are answered in any order [MSG-4]") {
    test_server srv;
    auto client = sync_client::connect(srv.address());
    auto long_call = std::async(std::launch::async, [&] { return client->invoke(slow(1.0, 10)); });
    // The ping is answered while the slow call is still computing.
    CHECK(client->ping() < 1.0);
    CHECK(long_call.wait_for(std::chrono::milliseconds(0)) != std::future_status::ready);
    auto reply = long_call.get();
    CHECK_FALSE(reply.error.has_value());
}

TEST_CASE("progress arrives and never decreases [PROG-1] [PROG-2]") {
    test_server srv;
    auto client = sync_client::connect(srv.address());
    std::vector<double> fractions;
    std::mutex mutex;
    invoke_options options;
    options.on_progress = [&](const progress_params& p) {
        std::lock_guard<std::mutex> lock(mutex);
        fractions.push_back(p.fraction);
    };
    client->invoke(slow(0.2, 20), options);
    // Progress is posted before the response, on the same executor: all of it has arrived.
    std::lock_guard<std::mutex> lock(mutex);
    REQUIRE_FALSE(fractions.empty());
    CHECK(std::is_sorted(fractions.begin(), fractions.end()));
    CHECK(fractions.back() <= 1.0);
}

TEST_CASE(
    "cancel stops a running call, which still gets exactly one answer [CANCEL-1] [CANCEL-2]") {
    test_server srv;
    auto client = sync_client::connect(srv.address());
    std::atomic<bool> progressed{false};
    invoke_options options;
    const call_id id = client->reserve_call_id();
    options.id = id;
    options.on_progress = [&](const progress_params&) { progressed = true; };
    auto running = std::async(std::launch::async, [&] {
        std::error_code ec;
        auto reply = client->invoke(slow(30.0, 3000), options, ec);
        return std::make_pair(ec, reply);
    });
    REQUIRE(eventually([&] { return progressed.load(); }));
    client->cancel(id);
    REQUIRE(running.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
    auto [ec, reply] = running.get();
    CHECK(ec == error::cancelled);
    REQUIRE(reply.error.has_value());
    CHECK(reply.error->code == static_cast<int>(error::cancelled));
    CHECK(client->ping() > 0.0); // the connection goes on
}

TEST_CASE("a computation that ignores cancel is answered cancelled after the grace [CANCEL-3]") {
    server_options options;
    options.receive_limits.cancel_grace = 0.2;
    test_server srv(options);
    auto client = sync_client::connect(srv.address());
    CHECK(client->server_info().limits.cancel_grace == doctest::Approx(0.2));
    invoke_options call_options;
    call_options.id = client->reserve_call_id();
    std::atomic<bool> computing{false};
    call_options.on_progress = [&](const progress_params&) { computing = true; };
    auto running = std::async(std::launch::async, [&] {
        std::error_code ec;
        client->invoke(slow(3.0, 30, "stubborn"), call_options, ec);
        return ec;
    });
    REQUIRE(eventually([&] { return computing.load(); })); // the server's to cancel, not ours
    client->cancel(*call_options.id);
    REQUIRE(running.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
    CHECK(running.get() == error::cancelled);
}

TEST_CASE("a call cancelled while it waits for a worker is answered at once and never runs "
          "[CANCEL-1] [CANCEL-2]") {
    server_options options;
    options.receive_limits.cancel_grace = 60.0; // the answer does not wait for the grace
    test_server srv(options); // 4 workers: one busy call per worker, each on its own connection
    constexpr std::size_t workers = 4;
    struct busy_call {
        std::unique_ptr<sync_client> client;
        std::promise<call_id> id;
        std::atomic<bool> progressed{false};
        std::future<std::error_code> done;
    };
    std::vector<std::unique_ptr<busy_call>> busy;
    for (std::size_t i = 0; i < workers; ++i) {
        auto b = std::make_unique<busy_call>();
        b->client = sync_client::connect(srv.address());
        auto* raw = b.get();
        b->done = std::async(std::launch::async, [raw] {
            invoke_options o;
            o.id = raw->client->reserve_call_id();
            raw->id.set_value(*o.id);
            o.on_progress = [raw](const progress_params&) { raw->progressed = true; };
            std::error_code ec;
            raw->client->invoke(slow(30.0, 3000), o, ec);
            return ec;
        });
        REQUIRE(eventually([raw] { return raw->progressed.load(); })); // a worker is taken
        busy.push_back(std::move(b));
    }
    // The waiting call from a raw peer: its invoke and its cancel reach the server in this
    // order, while every worker is busy.
    test_support::raw_peer waiting(srv.port());
    REQUIRE(waiting.handshake());
    waiting.write_message(message(request{77, "invoke", to_value(slow(30.0, 3000))}));
    waiting.write_head(value(value::map{{"kind", value("notification")},
                                        {"method", value("cancel")},
                                        {"params", value(value::map{{"id", value(77)}})}}));
    const auto answer = waiting.read_message(); // before any progress: it never ran
    REQUIRE(answer.has_value());
    const auto* reply = std::get_if<response>(&*answer);
    REQUIRE(reply != nullptr);
    CHECK(reply->id == std::optional<std::uint64_t>(77));
    REQUIRE(reply->error.has_value());
    CHECK(reply->error->code == static_cast<int>(error::cancelled));
    for (auto& b : busy) { // still running: the answer did not wait for them or for the grace
        CHECK(b->done.wait_for(std::chrono::seconds(0)) == std::future_status::timeout);
        b->client->cancel(b->id.get_future().get());
        REQUIRE(b->done.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
        CHECK(b->done.get() == error::cancelled);
    }
}

TEST_CASE("cancel of an id that is not open is ignored [CANCEL-4]") {
    test_server srv;
    auto client = sync_client::connect(srv.address());
    client->cancel(987654321);
    CHECK(client->ping() > 0.0);
    CHECK_FALSE(client->invoke(slow(0.01, 1)).error.has_value());
}

TEST_CASE("a call past its deadline is answered deadline_exceeded [INV-6]") {
    test_server srv;
    auto client = sync_client::connect(srv.address());
    invoke_options options;
    options.deadline = 0.1;
    std::error_code ec;
    auto reply = client->invoke(slow(20.0, 2000), options, ec);
    CHECK(ec == error::deadline_exceeded);
    CHECK(client->ping() > 0.0);
}

TEST_CASE("processor failures are error responses and the connection survives [INV-5] [ERR-1]") {
    test_server srv;
    auto client = sync_client::connect(srv.address());
    auto p = call("fail");
    p.parameters = {{"code", parameter_value(std::int64_t{4242})}};
    std::error_code ec;
    auto reply = client->invoke(p, {}, ec);
    CHECK(ec.value() == 4242);
    CHECK(ec.category() == category());
    CHECK(ec == condition::processor_error);
    REQUIRE(reply.error.has_value());
    CHECK(reply.error->message == "failed on purpose");

    client->invoke(call("throw"), {}, ec);
    CHECK(ec == error::processor_failed);

    client->invoke(call("bad_output"), {}, ec);
    CHECK(ec == error::processor_failed);
    CHECK(client->ping() > 0.0);
}

TEST_CASE("bad arguments are refused before the processor runs [INV-1] [INV-2] [INV-3]") {
    test_server srv;
    auto client = sync_client::connect(srv.address());
    std::error_code ec;
    client->invoke(call("nonexistent"), {}, ec);
    CHECK(ec == error::unknown_processor);

    auto out_of_range = slow(1000.0, 1); // maximum is 60
    auto reply = client->invoke(out_of_range, {}, ec);
    CHECK(ec == error::invalid_argument);
    REQUIRE(reply.error.has_value());
    const value* name = reply.error->details.find("name");
    REQUIRE(name != nullptr);
    CHECK(name->as_string() == "seconds");

    auto unknown_parameter = call("slow");
    unknown_parameter.parameters = {{"sigma", parameter_value(1.0)}};
    client->invoke(unknown_parameter, {}, ec);
    CHECK(ec == error::invalid_argument);

    auto wrong_input = call("echo");
    wrong_input.inputs = {{"mesh", data_value(oblique_image())}};
    client->invoke(wrong_input, {}, ec);
    CHECK(ec == error::invalid_argument);

    // Defaults fill what is absent: slow runs with its 1 s default unless told otherwise.
    auto defaults = call("slow");
    defaults.parameters = {{"seconds", parameter_value(0.01)}};
    CHECK_FALSE(client->invoke(defaults).error.has_value());
}

TEST_CASE("calls beyond max_in_flight wait in the client, none is refused and all are served "
          "[LIMIT-13] [LIMIT-2]") {
    server_options options;
    options.receive_limits.max_in_flight = 2;
    test_server srv(options);
    auto client = sync_client::connect(srv.address());
    std::vector<std::future<std::error_code>> calls;
    for (int i = 0; i < 4; ++i) {
        calls.push_back(std::async(std::launch::async, [&] {
            std::error_code ec;
            client->invoke(slow(0.5, 5), {}, ec);
            return ec;
        }));
    }
    int refused = 0;
    int done = 0;
    for (auto& c : calls) {
        auto ec = c.get();
        refused += ec == error::too_many_in_flight ? 1 : 0;
        done += !ec ? 1 : 0;
    }
    CHECK(refused == 0); // the server's refusal of a call beyond it: unit-server-methods.cpp
    CHECK(done == 4);
}

TEST_CASE("a dropped connection cancels its calls [DROP-1] [DROP-2]") {
    test_server srv;
    {
        auto client = sync_client::connect(srv.address());
        auto& async = client->async_client();
        async.async_invoke(call("watch"), {}, [](std::error_code, invoke_reply) {});
        REQUIRE(eventually([&] { return srv.watch().started.load(); }));
    } // the client goes away without goodbye
    CHECK(eventually([&] { return srv.watch().saw_cancel.load(); }));
    auto other = sync_client::connect(srv.address());
    CHECK(other->ping() > 0.0);
}

TEST_CASE("goodbye answers open calls first, then goodbye, then closes [BYE-1] [BYE-2]") {
    test_server srv;
    auto client = sync_client::connect(srv.address());
    std::atomic<bool> call_done{false};
    client->async_client().async_invoke(slow(0.3, 3), {}, [&](std::error_code ec, invoke_reply) {
        CHECK_FALSE(ec);
        call_done = true;
    });
    client->goodbye();
    CHECK(call_done.load());
    CHECK(eventually([&] { return srv.server().connection_count() == 0; }));
    CHECK_THROWS_AS(client->ping(), call_error);
}

TEST_CASE("a server with a token refuses clients without it [SEC-3]") {
    server_options options;
    options.token = "s3cret-token-for-the-tests-0123456789";
    test_server srv(options);
    try {
        sync_client::connect(srv.address());
        FAIL("a client without token must be refused");
    } catch (const call_error& e) {
        CHECK(e.code() == error::unauthorized);
    }
    client_options wrong;
    wrong.token = "s3cret-tokem-for-the-tests-0123456789";
    CHECK_THROWS_AS(sync_client::connect(srv.address(), wrong), call_error);
    client_options right;
    right.token = "s3cret-token-for-the-tests-0123456789";
    CHECK(sync_client::connect(srv.address(), right)->ping() > 0.0);
}

TEST_CASE("a server refuses a non-loopback address without a token [SEC-1] [SEC-2]") {
    asio::io_context io;
    server open_server(io.get_executor());
    std::error_code ec;
    open_server.listen({asio::ip::make_address("0.0.0.0"), 0}, ec);
    CHECK(ec == std::errc::permission_denied);
    open_server.listen({asio::ip::make_address("::ffff:127.0.0.1"), 0}, ec);
    CHECK_FALSE(ec); // a v4-mapped loopback is loopback

    server_options options;
    options.token = "secret-token-for-the-tests-0123456789";
    server guarded(io.get_executor(), options);
    guarded.listen({asio::ip::make_address("0.0.0.0"), 0}, ec);
    CHECK_FALSE(ec);
}

TEST_CASE("graceful shutdown lets calls finish within the grace, then closes") {
    test_server srv;
    auto client = sync_client::connect(srv.address());
    auto running = std::async(std::launch::async, [&] {
        std::error_code ec;
        client->invoke(slow(0.3, 3), {}, ec);
        return ec;
    });
    REQUIRE(eventually([&] { return srv.server().connection_count() == 1; }));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    std::promise<void> closed;
    srv.server().shutdown(std::chrono::seconds(5), [&] { closed.set_value(); });
    CHECK_FALSE(running.get());
    CHECK(closed.get_future().wait_for(std::chrono::seconds(5)) == std::future_status::ready);
}

TEST_CASE("completion tokens: futures work as well as callbacks") {
    test_server srv;
    asio::io_context io;
    auto where = *address::parse(srv.address());
    std::error_code ec;
    basic_client<any_stream> client(connect(io.get_executor(), where, ec));
    REQUIRE_FALSE(ec);
    auto handshake = client.async_handshake(asio::use_future);
    auto catalog = client.async_catalog(asio::use_future);
    auto ping = client.async_ping(asio::use_future);
    std::thread runner([&] { io.run_for(std::chrono::seconds(10)); });
    handshake.get();
    CHECK(!catalog.get().empty());
    CHECK(ping.get() > 0.0);
    client.close();
    runner.join();
}

TEST_CASE("logs carry no tokens, an exception's message is logged, not answered [SEC-5] "
          "[ERR-3]") {
    std::vector<std::string> lines;
    std::mutex mutex;
    server_options options;
    options.token = "tok-3f9a8c1d2e7b-for-the-tests-0123";
    options.log = [&](log_level, std::string_view line) {
        std::lock_guard<std::mutex> lock(mutex);
        lines.emplace_back(line);
    };
    test_server srv(options);
    client_options wrong;
    wrong.token = "guess-0123456789-for-the-tests-0123";
    CHECK_THROWS_AS(sync_client::connect(srv.address(), wrong), call_error);
    client_options right;
    right.token = options.token;
    auto client = sync_client::connect(srv.address(), right);
    std::error_code ec;
    auto reply = client->invoke(call("throw"), {}, ec);
    CHECK(ec == error::processor_failed);
    REQUIRE(reply.error.has_value());
    CHECK(reply.error->message ==
          "the processor raised std::runtime_error (its message is in the server's log)");
    std::lock_guard<std::mutex> lock(mutex);
    CHECK_FALSE(lines.empty()); // the refused client was logged
    for (const auto& line : lines) {
        CHECK(line.find("tok-3f9a8c1d2e7b-for-the-tests-0123") == std::string::npos);
        CHECK(line.find("guess-0123456789-for-the-tests-0123") == std::string::npos);
    }
    const bool logged = std::any_of(lines.begin(), lines.end(), [](const std::string& line) {
        return line.find("to throw raised std::runtime_error: unexpected failure") !=
               std::string::npos;
    });
    CHECK(logged);
}

TEST_CASE("expose_errors answers an exception with its message, for local development") {
    server_options options;
    options.expose_errors = true;
    test_server srv(options);
    auto client = sync_client::connect(srv.address());
    std::error_code ec;
    auto reply = client->invoke(call("throw"), {}, ec);
    CHECK(ec == error::processor_failed);
    REQUIRE(reply.error.has_value());
    CHECK(reply.error->message == "the processor raised std::runtime_error: unexpected failure");
}

TEST_CASE("an unknown processor's error names it and the likeliest one meant [INV-1]") {
    test_server srv;
    auto client = sync_client::connect(srv.address());
    std::error_code ec;
    auto reply = client->invoke(call("thrw"), {}, ec);
    CHECK(ec == error::unknown_processor);
    REQUIRE(reply.error.has_value());
    CHECK(reply.error->message == "no processor named \"thrw\" (did you mean \"throw\"?)");
    const value* named = reply.error->details.find("processor");
    REQUIRE(named != nullptr);
    CHECK(named->as_string() == "thrw");
    CHECK(detail::did_you_mean("zzzzzz", std::vector<std::string>{"throw", "fail"}).empty());
    CHECK(detail::edit_distance("threshhold", "threshold") == 1);
    CHECK(detail::edit_distance("lwoer", "lower") == 1); // a swap is one edit
}

TEST_CASE("answers written by workers and frames written by the I/O thread never interleave "
          "[MSG-4] [PROG-2]") {
    test_server srv;
    auto client = sync_client::connect(srv.address());
    // Far more than a socket buffer: its worker writes part and the I/O thread the rest, while
    // progress and other answers queue behind it.
    std::vector<std::int16_t> voxels(256 * 256 * 192);
    std::iota(voxels.begin(), voxels.end(), std::int16_t{0});
    auto sent = image::adopt(std::move(voxels), {256, 256, 192});
    auto big = call("echo");
    big.inputs = {{"image", data_value(sent)}};
    auto echo = std::async(std::launch::async, [&] { return client->invoke(big); });
    std::vector<std::future<invoke_reply>> slow_calls;
    std::vector<std::vector<double>> fractions(3);
    std::mutex mutex;
    for (std::size_t i = 0; i < fractions.size(); ++i) {
        slow_calls.push_back(std::async(std::launch::async, [&, i] {
            invoke_options options;
            options.on_progress = [&, i](const progress_params& p) {
                std::lock_guard<std::mutex> lock(mutex);
                fractions[i].push_back(p.fraction);
            };
            return client->invoke(slow(0.1, 50), options);
        }));
    }
    for (int i = 0; i < 50; ++i) {
        CHECK(client->invoke(call("echo")).result.outputs.empty());
    }
    auto reply = echo.get();
    const auto* received = reply.result.output_as<image>("image_out");
    REQUIRE(received != nullptr);
    CHECK(*received == sent);
    for (auto& pending : slow_calls) {
        CHECK_FALSE(pending.get().error.has_value());
    }
    std::lock_guard<std::mutex> lock(mutex);
    for (const auto& seen : fractions) {
        CHECK(std::is_sorted(seen.begin(), seen.end()));
    }
}

TEST_CASE("no progress follows its call's answer, however soon the processor returns [PROG-2]") {
    test_server srv;
    test_support::raw_peer peer(srv.port());
    peer.socket().set_option(asio::ip::tcp::no_delay(true));
    REQUIRE(peer.handshake()); // announces "progress"
    // slow(0, 1) reports progress and returns at once, so its answer, written by the worker,
    // races the notification that the I/O thread is about to queue.
    constexpr std::uint64_t calls = 4000;
    constexpr std::uint64_t in_flight = 8;
    std::uint64_t sent = 0;
    auto send_next = [&] {
        ++sent;
        peer.write_message(message(request{sent, "invoke", to_value(slow(0.0, 1))}));
    };
    while (sent < in_flight) {
        send_next();
    }
    std::set<std::uint64_t> answered;
    std::uint64_t progress_seen = 0;
    std::uint64_t progress_after_answer = 0;
    while (answered.size() < calls) {
        auto received = peer.read_message();
        REQUIRE(received.has_value());
        if (const auto* reply = std::get_if<response>(&*received)) {
            REQUIRE(reply->id.has_value());
            CHECK_FALSE(reply->is_error());
            answered.insert(*reply->id);
            if (sent < calls) {
                send_next();
            }
        } else if (const auto* note = std::get_if<notification>(&*received)) {
            std::error_code ec;
            auto progress = progress_params::from_value(note->params, ec);
            REQUIRE_FALSE(ec);
            ++progress_seen;
            progress_after_answer += answered.count(progress.id);
        }
    }
    CHECK(progress_seen > 0);
    CHECK(progress_after_answer == 0);
}
