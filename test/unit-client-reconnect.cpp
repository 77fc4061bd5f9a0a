// The pool's reconnect schedule (client/reconnect.hpp), without sockets or timers.
#include <slicerbridge/client/reconnect.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <vector>

using slicerbridge::detail::reconnect_schedule;
using std::chrono::milliseconds;

namespace {

std::vector<long long> reconnect_delays(reconnect_schedule& schedule, int failures,
                                        bool none_open) {
    std::vector<long long> delays;
    for (int i = 0; i < failures; ++i) {
        delays.push_back(schedule.failed(none_open).delay.count());
    }
    return delays;
}

} // namespace

TEST_CASE("failed connects in a row wait twice as long each time, up to the longest wait") {
    reconnect_schedule schedule(milliseconds(100), milliseconds(1000), 100);
    CHECK(reconnect_delays(schedule, 6, true) ==
          std::vector<long long>{100, 200, 400, 800, 1000, 1000});
    schedule.connected();
    CHECK(reconnect_delays(schedule, 2, true) == std::vector<long long>{100, 200});
}

TEST_CASE("waiting calls fail after the attempts in a row with no connection open, and the "
          "pool goes on trying") {
    reconnect_schedule schedule(milliseconds(10), milliseconds(1000), 3);
    CHECK_FALSE(schedule.failed(true).fail_waiting);
    CHECK_FALSE(schedule.failed(true).fail_waiting);
    const auto third = schedule.failed(true);
    CHECK(third.fail_waiting);
    CHECK(third.delay == milliseconds(40));
    // A new row: later calls get as many attempts again, and the wait starts over.
    const auto fourth = schedule.failed(true);
    CHECK_FALSE(fourth.fail_waiting);
    CHECK(fourth.delay == milliseconds(10));
    CHECK_FALSE(schedule.failed(true).fail_waiting);
    CHECK(schedule.failed(true).fail_waiting);
}

TEST_CASE("while a connection is open, failures of the others fail no call") {
    reconnect_schedule schedule(milliseconds(10), milliseconds(50), 2);
    for (int i = 0; i < 5; ++i) {
        CHECK_FALSE(schedule.failed(false).fail_waiting);
    }
    // The row goes on: the first failure with none open is already past the attempts.
    CHECK(schedule.failed(true).fail_waiting);
}

TEST_CASE("a success ends the row of failures") {
    reconnect_schedule schedule(milliseconds(10), milliseconds(1000), 2);
    CHECK_FALSE(schedule.failed(true).fail_waiting);
    schedule.connected();
    CHECK_FALSE(schedule.failed(true).fail_waiting);
    CHECK(schedule.failed(true).fail_waiting);
}

TEST_CASE("no attempt counts as one") {
    reconnect_schedule schedule(milliseconds(10), milliseconds(1000), 0);
    CHECK(schedule.failed(true).fail_waiting);
}
