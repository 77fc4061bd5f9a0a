#include <slicerbridge/detail/batch_queue.hpp>

#include <doctest/doctest.h>

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

using slicerbridge::detail::batch_queue;

TEST_CASE("the first push after a drain asks for one drain, the others ride along") {
    batch_queue<int> queue;
    CHECK(queue.push(1));
    CHECK_FALSE(queue.push(2));
    CHECK_FALSE(queue.push(3));
    std::vector<int> seen;
    CHECK(queue.drain([&seen](int& item) { seen.push_back(item); }) == 3);
    CHECK(seen == std::vector<int>{1, 2, 3}); // oldest first
    // Drained: the next push asks again, and a drain finds only what came since.
    CHECK(queue.push(4));
    seen.clear();
    CHECK(queue.drain([&seen](int& item) { seen.push_back(item); }) == 1);
    CHECK(seen == std::vector<int>{4});
    // A drain with nothing queued (a spurious one) consumes nothing.
    CHECK(queue.drain([&seen](int& item) { seen.push_back(item); }) == 0);
    CHECK(seen.size() == 1);
}

TEST_CASE("an item pushed while a drain runs asks for another drain and waits for it") {
    batch_queue<int> queue;
    CHECK(queue.push(1));
    bool asked = false;
    std::vector<int> seen;
    queue.drain([&](int& item) {
        seen.push_back(item);
        if (item == 1) {
            asked = queue.push(2); // the drain that runs took its items already
        }
    });
    CHECK(asked);
    CHECK(seen == std::vector<int>{1});
    queue.drain([&seen](int& item) { seen.push_back(item); });
    CHECK(seen == std::vector<int>{1, 2});
}

TEST_CASE("discard drops the queued items and lets the next push ask for a drain") {
    batch_queue<std::shared_ptr<int>> queue;
    auto owned = std::make_shared<int>(7);
    CHECK(queue.push(owned));
    CHECK(owned.use_count() == 2);
    queue.discard();
    CHECK(owned.use_count() == 1); // what the items owned is released
    CHECK(queue.push(owned));
    int drained = 0;
    queue.drain([&drained](std::shared_ptr<int>& item) { drained += *item; });
    CHECK(drained == 7);
}

TEST_CASE("items pushed by several threads are each consumed once, one drain per request") {
    batch_queue<int> queue;
    constexpr int producers = 4;
    constexpr int per_producer = 2000;
    std::atomic<int> drains_asked{0};
    std::vector<std::thread> threads;
    for (int p = 0; p < producers; ++p) {
        threads.emplace_back([&queue, &drains_asked, p] {
            for (int i = 0; i < per_producer; ++i) {
                if (queue.push(p * per_producer + i)) {
                    ++drains_asked;
                }
            }
        });
    }
    // The consumer drains once for every drain asked, as a posted handler would.
    std::vector<int> seen_count(producers * per_producer, 0);
    std::vector<int> last_of(producers, -1);
    bool in_order = true;
    int drains_done = 0;
    auto consume = [&](int& item) {
        ++seen_count[static_cast<std::size_t>(item)];
        auto& last = last_of[static_cast<std::size_t>(item / per_producer)];
        in_order = in_order && item > last; // each producer's items in its order
        last = item;
    };
    auto drain_asked = [&] {
        while (drains_done < drains_asked.load()) {
            ++drains_done;
            queue.drain(consume);
        }
    };
    while (true) {
        drain_asked();
        bool all_pushed = true;
        for (int p = 0; p < producers; ++p) {
            all_pushed =
                all_pushed && last_of[static_cast<std::size_t>(p)] == (p + 1) * per_producer - 1;
        }
        if (all_pushed) {
            break;
        }
        std::this_thread::yield();
    }
    for (auto& t : threads) {
        t.join();
    }
    drain_asked();
    CHECK(in_order);
    int not_once = 0;
    for (int count : seen_count) {
        not_once += count == 1 ? 0 : 1;
    }
    CHECK(not_once == 0);
    // Nothing is left for a drain nobody asked for.
    CHECK(queue.drain(consume) == 0);
}
