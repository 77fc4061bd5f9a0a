#include <slicerbridge/detail/ring.hpp>

#include "support/allocation_recorder.hpp"

#include <doctest/doctest.h>

#include <memory>
#include <utility>

using slicerbridge::detail::ring;

TEST_CASE("ring: items leave in the order they came, across growth and wrap-around") {
    ring<std::unique_ptr<int>> queue;
    int next_in = 0;
    int next_out = 0;
    // Fill past the first capacity while the head has moved on, then drain.
    for (int round = 0; round < 5; ++round) {
        for (int i = 0; i < 7 * (round + 1); ++i) {
            queue.push_back(std::make_unique<int>(next_in++));
        }
        for (int i = 0; i < 3 * (round + 1); ++i) {
            REQUIRE_FALSE(queue.empty());
            CHECK(*queue.front() == next_out);
            CHECK(*queue.pop_front() == next_out++);
        }
    }
    CHECK(queue.size() == static_cast<std::size_t>(next_in - next_out));
    while (!queue.empty()) {
        CHECK(*queue.pop_front() == next_out++);
    }
    CHECK(next_out == next_in);
}

TEST_CASE("ring: once it has held as many items as are queued at once, queuing allocates "
          "nothing") {
    ring<int> queue;
    for (int i = 0; i < 40; ++i) {
        queue.push_back(i);
    }
    queue.clear();
    CHECK(queue.empty());
    test_support::allocation_recorder recorder;
    for (int round = 0; round < 100; ++round) {
        for (int i = 0; i < 40; ++i) {
            queue.push_back(i);
        }
        while (!queue.empty()) {
            queue.pop_front();
        }
    }
    CHECK(recorder.stats().count == 0);
}

TEST_CASE("ring: a ring moved from is empty and usable") {
    ring<int> a;
    a.push_back(1);
    a.push_back(2);
    ring<int> b(std::move(a));
    CHECK(a.empty()); // NOLINT(bugprone-use-after-move): the state a move leaves is the point
    CHECK(b.size() == 2);
    a.push_back(3);
    CHECK(a.pop_front() == 3);
    ring<int> c;
    c.push_back(9);
    c = std::move(b);
    CHECK(b.empty()); // NOLINT(bugprone-use-after-move)
    CHECK(c.pop_front() == 1);
    CHECK(c.pop_front() == 2);
    CHECK(c.empty());
}
