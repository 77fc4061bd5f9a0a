// The client against scripted servers: a catalog with bad descriptions ([CAT-12]), where the
// client keeps the valid processors, reports the dropped ones and fails calls to them without
// sending anything (the catalog is a vector of spec/vectors/catalog.json); and a server that
// does not honour cancel ([CANCEL-5]); and a server announcing a max_in_flight of 2, beyond
// which the client holds its invokes ([LIMIT-13]).

#include <slicerbridge/sync_client.hpp>

#include <slicerbridge/json.hpp>

#include "support/scripted_server.hpp"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <asio/io_context.hpp>
#include <asio/use_future.hpp>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <future>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace sb = slicerbridge;
using json = nlohmann::ordered_json;

namespace {

/// The `processors` of a vector of catalog.json, and the names it keeps.
json catalog_vector(const std::string& id) {
    std::ifstream in(std::string(SLICERBRIDGE_VECTORS_DIR) + "/catalog.json");
    const json document = json::parse(in);
    for (const auto& v : document.at("vectors")) {
        if (v["id"] == id) {
            return v;
        }
    }
    FAIL("no vector " << id);
    return {};
}

/// Answers request `head` with an empty result: no outputs for an invoke.
void answer_with_nothing(test_support::raw_peer& peer, const sb::value& head) {
    sb::value::map result;
    if (head.find("method")->as_string() == "invoke") {
        result.emplace_back("outputs", sb::value::map{});
    }
    peer.write_head(sb::value::map{
        {"kind", "response"}, {"id", *head.find("id")}, {"result", std::move(result)}});
}

} // namespace

TEST_CASE("a client drops bad descriptions, keeps the others usable and fails calls to the "
          "dropped ones locally [CAT-12]") {
    const json vector = catalog_vector("catalog-invalid-several");
    const sb::value catalog = sb::value_from_json(vector["decoded"]["result"]);

    std::vector<std::string> methods; // what the server received, in order
    test_support::scripted_server server(sb::server_hello{}, [&](test_support::raw_peer& peer) {
        for (int i = 0; i < 4; ++i) { // catalog, ping, goodbye; the stream then ends
            const auto head = peer.read_head();
            if (!head || head->find("method") == nullptr || head->find("id") == nullptr) {
                return;
            }
            const std::string method = head->find("method")->as_string();
            methods.push_back(method);
            peer.write_head(sb::value::map{
                {"kind", "response"},
                {"id", *head->find("id")},
                {"result", method == "catalog" ? catalog : sb::value(sb::value::map{})}});
        }
    });

    {
        auto client = sb::sync_client::connect(server.address());
        const auto processors = client->catalog();
        std::vector<std::string> names;
        for (const auto& d : processors) {
            names.push_back(d.name);
        }
        CHECK(json(names) == vector["kept"]);
        const auto dropped = client->dropped_processors();
        REQUIRE(dropped.size() == vector["dropped"].size());
        for (std::size_t i = 0; i < dropped.size(); ++i) {
            CHECK(dropped[i].name == vector["dropped"][i]["name"].get<std::string>());
            CHECK(dropped[i].requirement == vector["dropped"][i]["requirement"].get<std::string>());
        }

        sb::invoke_params call;
        call.processor = dropped[1].name;
        try {
            client->invoke(call);
            FAIL("an invoke of a dropped processor succeeded");
        } catch (const sb::call_error& e) {
            CHECK(e.code() == sb::error::invalid_message);
            REQUIRE(e.info());
            CHECK(e.info()->message.find(call.processor) != std::string::npos);
            CHECK(e.info()->message.find(dropped[1].requirement) != std::string::npos);
            CHECK(e.info()->details.find("requirement")->as_string() == dropped[1].requirement);
        }
        CHECK(client->ping() >= 0.0); // the connection is untouched
        client->goodbye();
    }
    server.join();
    // Nothing was sent for the dropped processor: the server saw the catalog, then the ping.
    CHECK(methods == std::vector<std::string>{"catalog", "ping", "goodbye"});
}

TEST_CASE("a client sends no cancel to a server that does not list it, and the call gets its "
          "normal answer [CANCEL-5]") {
    std::vector<std::string> received; // what the server received after the hello, in order
    // A hello with no capability: cancel is not in force.
    test_support::scripted_server server(sb::server_hello{}, [&](test_support::raw_peer& peer) {
        std::optional<sb::value> invoke;
        for (int i = 0; i < 3; ++i) { // the invoke, then the ping (a cancel would come between)
            const auto head = peer.read_head();
            if (!head || head->find("kind") == nullptr) {
                return;
            }
            const sb::value* method = head->find("method");
            received.push_back(method != nullptr ? method->as_string()
                                                 : head->find("kind")->as_string());
            if (received.back() == "invoke") {
                invoke = head;
                continue;
            }
            if (received.back() != "ping" || !invoke) {
                return;
            }
            peer.write_head(sb::value::map{
                {"kind", "response"}, {"id", *head->find("id")}, {"result", sb::value::map{}}});
            peer.write_head(
                sb::value::map{{"kind", "response"},
                               {"id", *invoke->find("id")},
                               {"result", sb::value::map{{"outputs", sb::value::map{}}}}});
            return;
        }
    });

    {
        auto client = sb::sync_client::connect(server.address());
        sb::invoke_options options;
        options.id = client->reserve_call_id();
        sb::invoke_params call;
        call.processor = "slow";
        auto reply = client->async_client().async_invoke(call, options, asio::use_future);
        client->async_client().cancel(*options.id);
        CHECK(client->ping() >= 0.0);
        REQUIRE(reply.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
        CHECK(reply.get().result.outputs.empty()); // answered normally, not cancelled
    }
    server.join();
    CHECK(received == std::vector<std::string>{"invoke", "ping"});
}

TEST_CASE("a request nested deeper than the server's max_depth fails locally with too_large "
          "[LIMIT-11]") {
    std::vector<std::string> received;
    sb::server_hello hello;
    hello.limits.max_depth = 3; // a ping (depth 1) fits, an invoke with an image (4) does not
    test_support::scripted_server server(hello, [&](test_support::raw_peer& peer) {
        const auto head = peer.read_head();
        if (!head || head->find("method") == nullptr || head->find("id") == nullptr) {
            return;
        }
        received.push_back(head->find("method")->as_string());
        peer.write_head(sb::value::map{
            {"kind", "response"}, {"id", *head->find("id")}, {"result", sb::value::map{}}});
    });

    {
        auto client = sb::sync_client::connect(server.address());
        sb::image img = sb::image::allocate({1, 1, 1}, sb::dtype::uint8);
        img.mutable_voxels<std::uint8_t>()[0] = 7;
        sb::invoke_params call;
        call.processor = "echo";
        call.inputs = {{"input", sb::data_value(img)}};
        try {
            client->invoke(call);
            FAIL("a request deeper than the server's max_depth was sent");
        } catch (const sb::call_error& e) {
            CHECK(e.code() == sb::error::too_large);
        }
        CHECK(client->ping() >= 0.0);
    }
    server.join();
    CHECK(received == std::vector<std::string>{"ping"});
}

TEST_CASE("a dropped description that repeats a kept processor's name is reported, and calls by "
          "that name go to the kept processor [CAT-12] [CAT-11]") {
    const json vector = catalog_vector("catalog-invalid-duplicate-processor-name");
    const sb::value catalog = sb::value_from_json(vector["decoded"]["result"]);
    const std::string name = vector["dropped"][0]["name"].get<std::string>();

    std::vector<std::string> received;
    test_support::scripted_server server(sb::server_hello{}, [&](test_support::raw_peer& peer) {
        for (int i = 0; i < 3; ++i) { // catalog, invoke, goodbye
            const auto head = peer.read_head();
            if (!head || head->find("method") == nullptr || head->find("id") == nullptr) {
                return;
            }
            const std::string method = head->find("method")->as_string();
            received.push_back(method);
            sb::value result = sb::value::map{};
            if (method == "catalog") {
                result = catalog;
            } else if (method == "invoke") {
                result = sb::value::map{{"outputs", sb::value::map{}}};
            }
            peer.write_head(sb::value::map{
                {"kind", "response"}, {"id", *head->find("id")}, {"result", result}});
        }
    });
    {
        auto client = sb::sync_client::connect(server.address());
        CHECK(client->catalog().size() == vector["kept"].size());
        const auto dropped = client->dropped_processors();
        REQUIRE(dropped.size() == 1);
        CHECK(dropped[0].name == name);
        CHECK(dropped[0].requirement == "CAT-11");
        sb::invoke_params call;
        call.processor = name;
        CHECK_NOTHROW(client->invoke(call)); // sent: the kept description has this name
        client->goodbye();
    }
    server.join();
    CHECK(received == std::vector<std::string>{"catalog", "invoke", "goodbye"});
}

TEST_CASE("an invoke runs under the id reserved for it, and a cancel of that id before the "
          "invoke starts fails it with cancelled, unsent [MSG-1] [CANCEL-2]") {
    std::vector<sb::value> received; // the requests after the hello, in order
    sb::call_id reserved_id = 0;
    sb::server_hello hello;
    hello.capabilities = {"cancel", "progress"};
    test_support::scripted_server server(hello, [&](test_support::raw_peer& peer) {
        for (int i = 0; i < 3; ++i) { // the invoke, the ping, then goodbye or the end
            const auto head = peer.read_head();
            if (!head || head->find("method") == nullptr) {
                return;
            }
            received.push_back(*head);
            const bool invoke = head->find("method")->as_string() == "invoke";
            sb::value::map result;
            if (invoke) {
                result.emplace_back("outputs", sb::value::map{});
            }
            peer.write_head(sb::value::map{
                {"kind", "response"}, {"id", *head->find("id")}, {"result", std::move(result)}});
        }
    });

    {
        auto client = sb::sync_client::connect(server.address());
        sb::invoke_params call;
        call.processor = "echo";

        sb::invoke_options cancelled_early;
        cancelled_early.id = client->reserve_call_id();
        client->cancel(*cancelled_early.id);
        std::error_code ec;
        client->invoke(call, cancelled_early, ec);
        CHECK(ec == sb::error::cancelled);

        sb::invoke_options reserved;
        reserved.id = client->reserve_call_id();
        CHECK(*reserved.id != *cancelled_early.id);
        auto reply = client->async_client().async_invoke(call, reserved, asio::use_future);
        REQUIRE(reply.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
        CHECK_NOTHROW(reply.get());
        CHECK(client->ping() >= 0.0);
        reserved_id = *reserved.id;
    }
    server.join();
    REQUIRE(received.size() == 2); // the cancelled invoke never reached the server
    CHECK(received[0].find("method")->as_string() == "invoke");
    CHECK(received[0].find("id")->as_uint64() == std::optional<std::uint64_t>(reserved_id));
    CHECK(received[1].find("method")->as_string() == "ping");
}

TEST_CASE("invokes beyond the server's max_in_flight wait in the client and are sent, oldest "
          "first, as open ones are answered, and other requests are not held [LIMIT-13]") {
    std::vector<std::string> received; // the requests' methods, in the order they arrived
    std::vector<std::uint64_t> invoke_ids;
    sb::server_hello hello;
    hello.capabilities = {"cancel"};
    hello.limits.max_in_flight = 2;
    test_support::scripted_server server(hello, [&](test_support::raw_peer& peer) {
        auto next = [&]() -> std::optional<sb::value> {
            auto head = peer.read_head();
            if (!head || head->find("method") == nullptr) {
                return std::nullopt;
            }
            received.push_back(head->find("method")->as_string());
            if (received.back() == "invoke") {
                invoke_ids.push_back(head->find("id")->as_uint64().value_or(0));
            }
            return head;
        };
        auto answer = [&](const sb::value& head) { answer_with_nothing(peer, head); };
        // Two invokes, then the ping: the other two invokes are held by the client.
        auto first = next(), second = next(), ping = next();
        if (!first || !second || !ping) {
            return;
        }
        answer(*ping);
        answer(*first);
        auto third = next(); // sent because the first was answered
        if (!third) {
            return;
        }
        answer(*second);
        auto fourth = next();
        if (!fourth) {
            return;
        }
        answer(*third);
        answer(*fourth);
        next(); // goodbye or the end
    });

    {
        auto client = sb::sync_client::connect(server.address());
        sb::invoke_params call;
        call.processor = "echo";
        std::vector<std::future<sb::invoke_reply>> replies;
        for (int i = 0; i < 4; ++i) {
            replies.push_back(
                client->async_client().async_invoke(call, sb::invoke_options{}, asio::use_future));
        }
        CHECK(client->ping() >= 0.0);
        for (auto& reply : replies) {
            REQUIRE(reply.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
            CHECK_NOTHROW(reply.get());
        }
    }
    server.join();
    REQUIRE(received.size() >= 5);
    CHECK(std::vector<std::string>(received.begin(), received.begin() + 5) ==
          std::vector<std::string>{"invoke", "invoke", "ping", "invoke", "invoke"});
    CHECK(std::is_sorted(invoke_ids.begin(), invoke_ids.end()));
}

TEST_CASE("a held invoke is sent with what remains of its deadline, never below 0 (an invalid one "
          "as it is), and one sent at once with its deadline as given [LIMIT-13]") {
    std::vector<std::optional<double>> deadlines; // as the server received them, in order
    sb::server_hello hello;
    hello.limits.max_in_flight = 1;
    constexpr auto held_at_least = std::chrono::milliseconds(300);
    test_support::scripted_server server(hello, [&](test_support::raw_peer& peer) {
        auto next = [&]() -> std::optional<sb::value> {
            auto head = peer.read_head();
            if (!head || head->find("method") == nullptr) {
                return std::nullopt;
            }
            if (head->find("method")->as_string() == "invoke") {
                const sb::value* deadline = head->find("params")->find("deadline");
                deadlines.push_back(deadline ? deadline->as_double() : std::nullopt);
            }
            return head;
        };
        auto answer = [&](const sb::value& head) { answer_with_nothing(peer, head); };
        // The ping comes after the held invokes started: from it on, they are held.
        auto first = next(), ping = next();
        if (!first || !ping) {
            return;
        }
        answer(*ping);
        std::this_thread::sleep_for(held_at_least);
        answer(*first);
        for (auto held = next(); held; held = next()) {
            answer(*held);
        }
    });

    const auto started = std::chrono::steady_clock::now();
    {
        auto client = sb::sync_client::connect(server.address());
        sb::invoke_params call;
        call.processor = "echo";
        std::vector<std::future<sb::invoke_reply>> replies;
        for (double deadline : {30.0, 10.0, 0.25, -1.0}) {
            sb::invoke_options options;
            options.deadline = deadline;
            replies.push_back(client->async_client().async_invoke(call, options, asio::use_future));
        }
        CHECK(client->ping() >= 0.0);
        for (auto& reply : replies) {
            REQUIRE(reply.wait_for(std::chrono::seconds(20)) == std::future_status::ready);
            CHECK_NOTHROW(reply.get());
        }
    }
    const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - started;
    server.join();
    REQUIRE(deadlines.size() == 4);
    CHECK(deadlines[0] == 30.0);
    REQUIRE(deadlines[1].has_value());
    CHECK(*deadlines[1] <= 10.0 - std::chrono::duration<double>(held_at_least).count());
    CHECK(*deadlines[1] >= 10.0 - elapsed.count());
    CHECK(deadlines[2] == 0.0);
    CHECK(deadlines[3] == -1.0); // the server's to refuse ([INV-7])
}

TEST_CASE("calls started from a completion handler start at once yet complete from handlers of "
          "their own, in order, invoke results read in their usual form and in any other are "
          "the same [LIMIT-1] [INV-4]") {
    sb::server_hello hello;
    hello.capabilities = {"progress"};
    hello.limits.max_head = 1024;
    test_support::scripted_server server(hello, [&](test_support::raw_peer& peer) {
        while (const auto head = peer.read_head()) {
            const sb::value* params = head->find("params");
            const std::string processor = params->find("processor")->as_string();
            sb::value::map outputs;
            sb::value::map result;
            if (processor == "bad") { // not a data value: the invoke fails [INV-4]
                outputs.emplace_back("img", sb::value::map{{"kind", "nonsense"}});
            } else {
                outputs.emplace_back("n", processor == "usual" ? 7 : 8);
            }
            result.emplace_back("outputs", std::move(outputs));
            if (processor == "unusual") { // a key the client ignores: not the usual form
                result.emplace_back("note", "ignored");
            }
            peer.write_head(sb::value::map{
                {"kind", "response"}, {"id", *head->find("id")}, {"result", std::move(result)}});
        }
    });

    asio::io_context io(1); // the client's
    std::error_code ec;
    auto stream = sb::connect(io.get_executor(), *sb::address::parse(server.address()), ec);
    REQUIRE(!ec);
    sb::basic_client<sb::any_stream> client(std::move(stream));
    std::vector<std::string> completed;
    bool initiating = false; // inside an async_invoke started by a handler
    auto invoke = [&](std::string processor, auto handler) {
        sb::invoke_params params;
        params.processor = std::move(processor);
        initiating = true;
        client.async_invoke(std::move(params), {}, handler);
        initiating = false;
    };
    auto scalar_of = [](const sb::invoke_reply& reply) {
        const auto* n = reply.result.scalar("n");
        return n != nullptr && n->get_if<std::int64_t>() ? *n->get_if<std::int64_t>() : -1;
    };
    client.async_handshake([&](std::error_code handshake_ec) {
        REQUIRE(!handshake_ec);
        invoke("usual", [&](std::error_code usual_ec, sb::invoke_reply usual) {
            CHECK(!initiating);
            CHECK(!usual_ec);
            CHECK(scalar_of(usual) == 7);
            completed.push_back("usual");
            // Too large for the server: refused before anything is sent [LIMIT-1].
            invoke(std::string(2000, 'x'), [&](std::error_code large_ec, sb::invoke_reply) {
                CHECK(!initiating);
                CHECK(large_ec == sb::error::too_large);
                completed.push_back("too large");
            });
            invoke("unusual", [&](std::error_code unusual_ec, sb::invoke_reply unusual) {
                CHECK(!initiating);
                CHECK(!unusual_ec);
                CHECK(scalar_of(unusual) == 8);
                completed.push_back("unusual");
                invoke("bad", [&](std::error_code bad_ec, sb::invoke_reply bad) {
                    CHECK(!initiating);
                    CHECK(bad_ec == sb::error::invalid_message);
                    CHECK(bad.result.outputs.empty());
                    completed.push_back("bad");
                    client.close();
                });
            });
        });
    });
    io.run();
    server.join();
    CHECK(completed == std::vector<std::string>{"usual", "too large", "unusual", "bad"});
}
