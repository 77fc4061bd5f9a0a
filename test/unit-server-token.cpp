// Tokens against guessing (issue 14): a server refuses a short token at construction ([SEC-8]),
// and answers a failed token late, later for each further failure from one address, while
// other clients are served meanwhile ([SEC-11]). Delays here are small; waits are bounded.

#include <slicerbridge/server.hpp>

#include "support/decision_tables.hpp"
#include "support/raw_peer.hpp"
#include "support/test_server.hpp"

#include <slicerbridge/sync_client.hpp>

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <future>

using namespace slicerbridge;
using namespace std::chrono_literals;
using test_support::eventually;
using test_support::raw_peer;
using test_support::test_server;

namespace {

constexpr const char* token_test_secret = "secret-token-for-the-tests-0123456789";

using token_test_clock = std::chrono::steady_clock;

/// The answer to a hello, and the time from the hello to the answer.
struct token_test_answer {
    std::optional<response> reply;
    token_test_clock::duration after;
};

void token_test_send_hello(raw_peer& peer, std::optional<std::string> token) {
    client_hello hello;
    hello.min_version = protocol_min;
    hello.max_version = protocol_max;
    hello.token = std::move(token);
    peer.write_message(message(hello));
}

/// Sends a hello with `token` and reads the answer.
token_test_answer token_test_try(raw_peer& peer, std::optional<std::string> token) {
    auto sent = token_test_clock::now();
    token_test_send_hello(peer, std::move(token));
    auto reply = peer.read_response();
    return {reply, token_test_clock::now() - sent};
}

bool token_test_unauthorized(const token_test_answer& answer) {
    return answer.reply && !answer.reply->id && answer.reply->error &&
           answer.reply->error->code == static_cast<int>(error::unauthorized);
}

/// Options with the test token and these delays; `refused` turns true once the server has
/// refused a token (it logs that), so that a test knows the delay has begun.
server_options token_test_options(std::chrono::milliseconds delay,
                                  std::chrono::milliseconds longest,
                                  std::shared_ptr<std::atomic<bool>> refused = nullptr) {
    server_options options;
    options.token = token_test_secret;
    options.failed_token_delay = delay;
    options.failed_token_delay_max = longest;
    if (refused) {
        options.log = [refused](log_level, std::string_view line) {
            if (line.find("missing or wrong token") != std::string_view::npos) {
                *refused = true;
            }
        };
    }
    return options;
}

} // namespace

TEST_CASE("a server refuses a token shorter than 22 characters and says how to make one "
          "[SEC-8]") {
    asio::io_context io;
    server_options options;
    options.token = std::string(min_token_length - 1, 'x');
    try {
        server refused(io.get_executor(), options);
        FAIL("a short token must be refused");
    } catch (const std::invalid_argument& e) {
        const std::string what = e.what();
        CHECK(what.find("at least 22") != std::string::npos);
        CHECK(what.find("openssl rand -hex 16") != std::string::npos);
        CHECK(what.find("secrets.token_urlsafe(32)") != std::string::npos);
        CHECK(what.find(*options.token) == std::string::npos); // [SEC-5]
    }
    options.token = std::string(min_token_length, 'x');
    CHECK_NOTHROW(server(io.get_executor(), options));
    CHECK(token_problem(std::string(32, 'a')).empty());
}

TEST_CASE("token_failures: every case of token_delay_decisions.json [SEC-11]") {
    using detail::token_failures;
    const nlohmann::json table = test_support::decision_table("token_delay_decisions.json");
    for (const auto& v : table) {
        CAPTURE(v.at("id").get<std::string>());
        const auto& config = v.at("config");
        auto ms = [](const nlohmann::json& value) {
            return std::chrono::milliseconds(value.get<std::int64_t>());
        };
        // The table names two addresses at most; the bound is tested below.
        token_failures failures(ms(config.at("first")), ms(config.at("longest")),
                                ms(config.at("quiet")), 16);
        const auto t0 = token_failures::clock::time_point{} + 1h;
        for (const auto& step : v.at("steps")) {
            CAPTURE(step.at("at").get<std::int64_t>());
            const auto address = step.at("address").get<std::string>();
            if (step.at("token") == "right") {
                failures.succeeded(address);
                CHECK(step.at("delay") == 0);
            } else {
                CHECK(failures.failed(address, t0 + ms(step.at("at"))) == ms(step.at("delay")));
            }
        }
    }
}

TEST_CASE("token_failures: a first delay of zero turns delays off and remembers nothing "
          "[SEC-11]") {
    using detail::token_failures;
    const auto t0 = token_failures::clock::time_point{} + 1h;
    token_failures off(0ms, 5s, 60s, 16);
    CHECK(off.failed("10.0.0.1", t0) == 0ms);
    CHECK(off.failed("10.0.0.1", t0 + 1s) == 0ms);
    CHECK(off.size() == 0);
}

TEST_CASE("token_failures doubles up to the longest delay exactly, whatever its unit [SEC-11]") {
    using detail::token_failures;
    using namespace std::chrono;
    const auto t0 = token_failures::clock::time_point{} + 1h;
    // An odd longest delay: halving it rounds down, and 2 ns doubles to 4 ns, not to the longest.
    token_failures failures(2ns, 5ns, 60s, 16);
    CHECK(failures.failed("a", t0) == 2ns);
    CHECK(failures.failed("a", t0 + 1s) == 4ns);
    CHECK(failures.failed("a", t0 + 2s) == 5ns);
    CHECK(failures.failed("a", t0 + 3s) == 5ns);
}

TEST_CASE("token_failures remembers a bounded number of addresses, forgetting the one that "
          "failed longest ago [SEC-11]") {
    using detail::token_failures;
    const auto t0 = token_failures::clock::time_point{} + 1h;
    token_failures failures(100ms, 5s, 60s, 3);
    failures.failed("a", t0);
    failures.failed("a", t0 + 1s); // 200 ms next
    failures.failed("b", t0 + 2s);
    failures.failed("c", t0 + 3s);
    failures.failed("b", t0 + 4s); // b failed last, a longest ago
    for (int i = 0; i < 100; ++i) {
        failures.failed("d" + std::to_string(i), t0 + 5s);
        CHECK(failures.size() <= 3);
    }
    CHECK(failures.failed("a", t0 + 6s) == 100ms); // forgotten: a first failure again
    CHECK(failures.size() == 3);
}

TEST_CASE("a good client is served while a wrong token waits for its answer [SEC-11] [SEC-3]") {
    // A delay longer than any read of the test: the guesser hears nothing until the shutdown.
    auto refused = std::make_shared<std::atomic<bool>>(false);
    test_server srv(token_test_options(60s, 60s, refused));
    raw_peer guesser(srv.port());
    std::atomic<bool> answered{false};
    auto wrong = std::async(std::launch::async, [&] {
        auto answer = token_test_try(guesser, std::string("guess-for-the-tests-0123456789"));
        answered = true;
        return answer;
    });
    REQUIRE(eventually([&] { return refused->load(); }));
    client_options right;
    right.token = token_test_secret;
    CHECK(sync_client::connect(srv.address(), right)->ping() > 0.0);
    // The order, not a time: the good client had its answers while the guesser had nothing.
    CHECK_FALSE(answered.load());
    std::promise<void> closed;
    srv.server().shutdown(0ms, [&] { closed.set_value(); });
    CHECK(closed.get_future().wait_for(10s) == std::future_status::ready);
    CHECK_FALSE(wrong.get().reply);
}

TEST_CASE("repeated failed tokens from one address wait longer each time [SEC-11]") {
    test_server srv(token_test_options(100ms, 5s));
    auto expected = 100ms;
    for (int i = 0; i < 3; ++i, expected *= 2) {
        raw_peer guesser(srv.port());
        auto answer = token_test_try(guesser, i == 1 ? std::nullopt
                                                     : std::optional<std::string>("guess-0123456789"
                                                                                  "-0123456789"));
        CHECK(token_test_unauthorized(answer)); // missing or wrong: the same answer
        CHECK(answer.after >= expected);
    }
}

TEST_CASE("a connection waiting for its failed token's answer counts against the caps, and the "
          "hello timeout and a shutdown still close it [SEC-11] [LIMIT-5] [LIMIT-8]") {
    SUBCASE("the hello timeout closes it without an answer") {
        auto options = token_test_options(5s, 5s);
        options.hello_timeout = 300ms;
        test_server srv(options);
        raw_peer guesser(srv.port());
        auto answer = token_test_try(guesser, std::string("guess-for-the-tests-0123456789"));
        CHECK_FALSE(answer.reply);
    }
    SUBCASE("it is counted as any other connection") {
        auto refused = std::make_shared<std::atomic<bool>>(false);
        auto options = token_test_options(5s, 5s, refused);
        options.max_connections = 1;
        test_server srv(options);
        raw_peer guesser(srv.port());
        token_test_send_hello(guesser, std::string("guess-for-the-tests-0123456789"));
        REQUIRE(eventually([&] { return refused->load(); }));
        CHECK(srv.server().connection_count() == 1);
        raw_peer second(srv.port());
        auto answer = second.read_response();
        REQUIRE(answer);
        REQUIRE(answer->error);
        CHECK(answer->error->code == static_cast<int>(error::too_many_connections));
    }
    SUBCASE("a shutdown closes it at once") {
        auto refused = std::make_shared<std::atomic<bool>>(false);
        test_server srv(token_test_options(30s, 30s, refused));
        raw_peer guesser(srv.port());
        token_test_send_hello(guesser, std::nullopt);
        REQUIRE(eventually([&] { return refused->load(); }));
        std::promise<void> closed;
        srv.server().shutdown(0ms, [&] { closed.set_value(); });
        CHECK(closed.get_future().wait_for(10s) == std::future_status::ready);
        CHECK_FALSE(guesser.read_response());
    }
}
