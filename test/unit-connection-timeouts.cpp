// The timeouts of a connection without a socket: every case of
// spec/vectors/decisions/timeout_decisions.json, and the ticks, which are this SDK's choice.
#include <slicerbridge/detail/connection_timeouts.hpp>

#include "support/decision_tables.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

using slicerbridge::detail::connection_timeouts;
using slicerbridge::detail::timeout_reason;
using namespace std::chrono_literals;
using clock_type = connection_timeouts::clock;

namespace {

const std::map<std::string, timeout_reason> timeout_table_reasons = {
    {"hello", timeout_reason::hello},
    {"idle", timeout_reason::idle},
    {"receive_stalled", timeout_reason::receive_stalled},
    {"send_stalled", timeout_reason::send_stalled}};

/// A verdict as the table names it, so that a failure shows both.
std::string timeout_table_name(const std::optional<timeout_reason>& close) {
    if (!close) {
        return "null";
    }
    for (const auto& [name, reason] : timeout_table_reasons) {
        if (reason == *close) {
            return name;
        }
    }
    return "?";
}

std::chrono::milliseconds timeout_table_ms(const nlohmann::json& value) {
    return std::chrono::milliseconds(value.get<std::int64_t>());
}

} // namespace

TEST_CASE("connection timeouts: every case of timeout_decisions.json [LIMIT-5] [LIMIT-6] "
          "[LIMIT-7] [LIMIT-9]") {
    const nlohmann::json table = test_support::decision_table("timeout_decisions.json");
    for (const auto& v : table) {
        CAPTURE(v.at("id").get<std::string>());
        const auto& t = v.at("timeouts");
        const auto start = clock_type::time_point{} + 1h;
        connection_timeouts timeouts(timeout_table_ms(t.at("hello")),
                                     timeout_table_ms(t.at("idle")),
                                     timeout_table_ms(t.at("stall")), start);
        connection_timeouts::activity a;
        for (const auto& step : v.at("steps")) {
            CAPTURE(step.at("at").get<std::int64_t>());
            a.bytes_received += step.at("received").get<std::uint64_t>();
            a.bytes_sent += step.at("sent").get<std::uint64_t>();
            const auto& state = step.at("state");
            auto holds = [&state](const char* name) {
                return std::find(state.begin(), state.end(), name) != state.end();
            };
            a.hello_done = holds("hello_done");
            a.mid_frame = holds("mid_frame");
            a.reading_paused = holds("reading_paused");
            a.calls_open = holds("calls_open");
            a.answers_waiting = holds("answers_waiting");
            auto verdict = timeouts.observe(start + timeout_table_ms(step.at("at")), a);
            const auto& close = step.at("close");
            CHECK(timeout_table_name(verdict.close) ==
                  (close.is_null() ? "null" : close.get<std::string>()));
        }
    }
}

TEST_CASE("ticks come at a quarter of the shortest timeout, none without timeouts") {
    auto start = clock_type::now();
    CHECK(connection_timeouts(10s, 300s, 60s, start).first_tick() == start + 2500ms);
    connection_timeouts none(0s, 0s, 0s, start);
    CHECK_FALSE(none.any());
    connection_timeouts::activity a;
    CHECK_FALSE(none.observe(start + 1000h, a).close);
}
