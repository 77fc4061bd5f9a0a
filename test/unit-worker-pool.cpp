#include <slicerbridge/detail/worker_pool.hpp>

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

using slicerbridge::detail::worker_pool;
using namespace std::chrono_literals;

namespace {

// Waits until `count` reaches `target`, for at most a few seconds.
bool reaches(const std::atomic<int>& count, int target) {
    for (int i = 0; i < 5000 && count.load() < target; ++i) {
        std::this_thread::sleep_for(1ms);
    }
    return count.load() == target;
}

} // namespace

TEST_CASE("every task posted runs once, with or without looking for work") {
    for (auto spin : {0us, 200us}) {
        worker_pool pool(2, spin);
        std::atomic<int> ran{0};
        for (int i = 0; i < 1000; ++i) {
            pool.post([&ran] { ++ran; });
        }
        CHECK(reaches(ran, 1000));
        // After the workers went idle (looking, then asleep), new work still runs.
        std::this_thread::sleep_for(5ms);
        pool.post([&ran] { ++ran; });
        CHECK(reaches(ran, 1001));
    }
}

TEST_CASE("tasks run concurrently, one per worker, while one worker looks for work") {
    worker_pool pool(3, 200us);
    std::mutex mutex;
    std::condition_variable all_in;
    int inside = 0;
    std::atomic<int> done{0};
    for (int i = 0; i < 3; ++i) {
        pool.post([&] {
            std::unique_lock<std::mutex> lock(mutex);
            ++inside;
            all_in.notify_all();
            // Returns only once all three run at the same time: a pool that woke too few
            // workers would leave this waiting until the timeout.
            all_in.wait_for(lock, 5s, [&] { return inside == 3; });
            if (inside == 3) {
                ++done;
            }
        });
    }
    CHECK(reaches(done, 3));
}

TEST_CASE("stop lets running tasks finish and drops the queued ones") {
    std::atomic<int> ran{0};
    std::promise<void> release;
    auto released = release.get_future().share();
    std::promise<void> started;
    {
        worker_pool pool(1, 0us);
        pool.post([&, released] {
            started.set_value();
            released.wait();
            ++ran;
        });
        started.get_future().wait();
        pool.post([&ran] { ran += 100; });
        pool.stop();
        release.set_value();
        pool.join();
    }
    CHECK(ran.load() == 1);
}

TEST_CASE("tasks queued quietly run once the pool is told to wake its workers") {
    for (auto spin : {0us, 200us}) {
        worker_pool pool(2, spin);
        std::atomic<int> ran{0};
        bool wake_owed = false;
        for (int i = 0; i < 100; ++i) {
            wake_owed = pool.post_quietly([&ran] { ++ran; }) || wake_owed;
        }
        // A pool asked for no wake-up has a worker awake that runs them all; one that asked
        // is woken here, as the server's posted handler does.
        if (wake_owed) {
            pool.wake();
        }
        CHECK(reaches(ran, 100));
    }
}

TEST_CASE("a stopped pool says so, for tasks that would start more work") {
    worker_pool pool(1, 0us);
    CHECK_FALSE(pool.stopping());
    pool.stop();
    CHECK(pool.stopping());
    pool.join();
}
