#include <slicerbridge/detail/connection_timeouts.hpp>

#include <doctest/doctest.h>

#include <chrono>

using slicerbridge::detail::connection_timeouts;
using slicerbridge::detail::timeout_reason;
using namespace std::chrono_literals;
using clock_type = connection_timeouts::clock;

namespace {

connection_timeouts make(clock_type::time_point start) {
    return connection_timeouts(10s, 300s, 60s, start);
}

} // namespace

TEST_CASE("the hello must be complete within its timeout, however slowly bytes trickle in "
          "[LIMIT-5]") {
    auto start = clock_type::now();
    auto timeouts = make(start);
    connection_timeouts::activity a;
    for (int second = 1; second < 10; ++second) {
        a.bytes_received = static_cast<std::uint64_t>(second); // one byte a second
        a.mid_frame = true;
        CHECK_FALSE(timeouts.observe(start + std::chrono::seconds(second), a).close);
    }
    a.bytes_received = 10;
    auto verdict = timeouts.observe(start + 10s, a);
    REQUIRE(verdict.close);
    CHECK(*verdict.close == timeout_reason::hello);
}

TEST_CASE("ticks come at a quarter of the shortest timeout; none without timeouts") {
    auto start = clock_type::now();
    CHECK(make(start).first_tick() == start + 2500ms);
    connection_timeouts none(0s, 0s, 0s, start);
    CHECK_FALSE(none.any());
    connection_timeouts::activity a;
    CHECK_FALSE(none.observe(start + 1000h, a).close);
}

TEST_CASE("an idle connection closes after the idle timeout; open calls and answers keep it "
          "[LIMIT-6]") {
    auto start = clock_type::now();
    auto timeouts = make(start);
    connection_timeouts::activity a;
    a.hello_done = true;
    a.bytes_received = 100;
    CHECK_FALSE(timeouts.observe(start + 1s, a).close);
    a.calls_open = true;
    CHECK_FALSE(timeouts.observe(start + 200s, a).close);
    a.calls_open = false;
    CHECK_FALSE(timeouts.observe(start + 400s, a).close); // idle since 200 s only
    auto verdict = timeouts.observe(start + 500s, a);
    REQUIRE(verdict.close);
    CHECK(*verdict.close == timeout_reason::idle);
}

TEST_CASE("a frame whose bytes stop arriving closes the connection, unless the server paused "
          "reading [LIMIT-7] [LIMIT-9]") {
    auto start = clock_type::now();
    auto timeouts = make(start);
    connection_timeouts::activity a;
    a.hello_done = true;
    a.mid_frame = true;
    a.bytes_received = 1000;
    CHECK_FALSE(timeouts.observe(start + 1s, a).close);
    a.reading_paused = true;
    CHECK_FALSE(timeouts.observe(start + 100s, a).close);
    a.reading_paused = false;
    auto verdict = timeouts.observe(start + 100s, a);
    REQUIRE(verdict.close);
    CHECK(*verdict.close == timeout_reason::receive_stalled);
}

TEST_CASE("an answer whose bytes stop leaving closes the connection [LIMIT-7]") {
    auto start = clock_type::now();
    auto timeouts = make(start);
    connection_timeouts::activity a;
    a.hello_done = true;
    a.answers_waiting = true;
    a.bytes_sent = 10;
    CHECK_FALSE(timeouts.observe(start + 1s, a).close);
    a.bytes_sent = 20;
    CHECK_FALSE(timeouts.observe(start + 50s, a).close);
    CHECK_FALSE(timeouts.observe(start + 100s, a).close);
    auto verdict = timeouts.observe(start + 111s, a);
    REQUIRE(verdict.close);
    CHECK(*verdict.close == timeout_reason::send_stalled);
}
