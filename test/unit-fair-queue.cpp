#include <slicerbridge/detail/fair_queue.hpp>

#include <doctest/doctest.h>

using slicerbridge::detail::fair_queue;

TEST_CASE("one connection's queued calls do not take every worker from another [LIMIT-10]") {
    fair_queue<int> queue(2);
    // Connection 1 queues ten long calls: two start, eight wait.
    CHECK(queue.push(1, 10) == 10);
    CHECK(queue.push(1, 11) == 11);
    for (int call = 12; call < 20; ++call) {
        CHECK_FALSE(queue.push(1, call).has_value());
    }
    // Connection 2 queues one: it runs on the next free worker, before connection 1's others.
    CHECK_FALSE(queue.push(2, 20).has_value());
    CHECK(queue.finished(1) == 20);
    CHECK(queue.finished(1) == 12);
    CHECK(queue.finished(2) == 13);
    CHECK(queue.running() == 2);
}

TEST_CASE("the connection with fewer running calls goes first, then the longest waiting "
          "[LIMIT-10]") {
    fair_queue<int> queue(3);
    CHECK(queue.push(1, 1) == 1);
    CHECK(queue.push(1, 2) == 2);
    CHECK(queue.push(2, 3) == 3);
    CHECK_FALSE(queue.push(1, 4).has_value());
    CHECK_FALSE(queue.push(3, 5).has_value());
    CHECK_FALSE(queue.push(2, 6).has_value());
    CHECK(queue.finished(1) == 5); // 3 runs nothing
    CHECK(queue.finished(3) == 4); // 1 and 2 run one each; 1 waited longer
    CHECK(queue.finished(1) == 6);
}

TEST_CASE("a gone connection's waiting calls are dropped; its running ones still finish") {
    fair_queue<int> queue(1);
    CHECK(queue.push(1, 1) == 1);
    CHECK_FALSE(queue.push(1, 2).has_value());
    CHECK_FALSE(queue.push(2, 3).has_value());
    queue.forget_waiting(2);
    CHECK(queue.finished(1) == 2);
    CHECK_FALSE(queue.finished(1).has_value());
    CHECK(queue.running() == 0);
}
