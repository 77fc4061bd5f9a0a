#include <slicerbridge/detail/log_limiter.hpp>

#include <doctest/doctest.h>

#include <chrono>

using slicerbridge::detail::accept_backoff;
using slicerbridge::detail::log_limiter;
using namespace std::chrono_literals;

TEST_CASE("repeated lines are rate-limited and the suppressed ones counted") {
    log_limiter limiter(2, 1s);
    auto now = log_limiter::clock::now();
    CHECK(limiter.admit("accept", "accept failed", now) == "accept failed");
    CHECK(limiter.admit("accept", "accept failed", now));
    for (int i = 0; i < 1000; ++i) {
        CHECK_FALSE(limiter.admit("accept", "accept failed", now + 10ms));
    }
    CHECK(limiter.admit("other", "refused", now + 10ms)); // kinds are counted apart
    CHECK(limiter.admit("accept", "accept failed", now + 1s) ==
          "accept failed (1000 similar lines suppressed)");
}

TEST_CASE("a failing accept loop backs off, doubling, and starts over after a success") {
    accept_backoff backoff(10ms, 1s);
    CHECK(backoff.failed() == 10ms);
    CHECK(backoff.failed() == 20ms);
    for (int i = 0; i < 20; ++i) {
        backoff.failed();
    }
    CHECK(backoff.failed() == 1s);
    backoff.succeeded();
    CHECK(backoff.failed() == 10ms);
}
