#include <slicerbridge/detail/fair_queue.hpp>

#include <doctest/doctest.h>

using slicerbridge::detail::fair_queue;

namespace {

/// The task a push or finish started, or -1 for none.
int started(const std::optional<fair_queue<int>::start>& s) { return s ? s->task : -1; }

} // namespace

TEST_CASE("one connection's queued calls do not take every worker from another [LIMIT-10]") {
    fair_queue<int> queue(2);
    // Connection 1 queues ten long calls: two start, eight wait.
    CHECK(started(queue.push(1, 10)) == 10);
    CHECK(started(queue.push(1, 11)) == 11);
    for (int call = 12; call < 20; ++call) {
        CHECK(started(queue.push(1, call)) == -1);
    }
    // Connection 2 queues one: it runs on the next free worker, before connection 1's others.
    CHECK(started(queue.push(2, 20)) == -1);
    CHECK(started(queue.finished(1)) == 20);
    CHECK(started(queue.finished(1)) == 12);
    CHECK(started(queue.finished(2)) == 13);
    CHECK(queue.running() == 2);
}

TEST_CASE("the connection with fewer running calls goes first, then the longest waiting "
          "[LIMIT-10]") {
    fair_queue<int> queue(3);
    CHECK(started(queue.push(1, 1)) == 1);
    CHECK(started(queue.push(1, 2)) == 2);
    CHECK(started(queue.push(2, 3)) == 3);
    CHECK(started(queue.push(1, 4)) == -1);
    CHECK(started(queue.push(3, 5)) == -1);
    CHECK(started(queue.push(2, 6)) == -1);
    CHECK(started(queue.finished(1)) == 5); // 3 runs nothing
    CHECK(started(queue.finished(3)) == 4); // 1 and 2 run one each; 1 waited longer
    CHECK(started(queue.finished(1)) == 6);
}

TEST_CASE("a gone connection's waiting calls are dropped; its running ones still finish") {
    fair_queue<int> queue(1);
    CHECK(started(queue.push(1, 1)) == 1);
    CHECK(started(queue.push(1, 2)) == -1);
    CHECK(started(queue.push(2, 3)) == -1);
    CHECK(queue.take_waiting(2).size() == 1);
    CHECK(started(queue.finished(1)) == 2);
    CHECK(started(queue.finished(1)) == -1);
    CHECK(queue.running() == 0);
}

TEST_CASE("a connection that comes back after its calls finished starts afresh") {
    fair_queue<int> queue(1);
    // Connections 1 and 2 come and go one call at a time (their entries are reused).
    for (int round = 0; round < 3; ++round) {
        CHECK(started(queue.push(1, 10 + round)) == 10 + round);
        CHECK(started(queue.finished(1)) == -1);
        CHECK(started(queue.push(2, 20 + round)) == 20 + round);
        CHECK(started(queue.finished(2)) == -1);
    }
    CHECK(queue.running() == 0);
    // Then 3 holds the worker while 4 and 5 queue: the longest waiting goes first, as ever.
    CHECK(started(queue.push(3, 30)) == 30);
    CHECK(started(queue.push(4, 40)) == -1);
    CHECK(started(queue.push(5, 50)) == -1);
    CHECK(started(queue.push(4, 41)) == -1);
    CHECK(started(queue.finished(3)) == 40);
    CHECK(started(queue.finished(4)) == 50);
    CHECK(started(queue.finished(5)) == 41);
    CHECK(started(queue.finished(4)) == -1);
    CHECK(queue.running() == 0);
    CHECK(queue.take_waiting(4).empty());
}
