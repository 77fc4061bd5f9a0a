#include <slicerbridge/detail/handler_slot.hpp>
#include <slicerbridge/server/state.hpp>

#include "support/allocation_recorder.hpp"

#include <asio/io_context.hpp>
#include <asio/post.hpp>

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>

using slicerbridge::detail::handler_slot;
using slicerbridge::detail::slot_allocator;

namespace {

/// A handler kept in `slot`; records whether the slot was still taken when it ran.
struct slotted_handler {
    handler_slot* slot;
    bool* slot_taken_when_run;
    std::atomic<int>* runs;

    using allocator_type = slot_allocator<void>;
    allocator_type get_allocator() const noexcept { return allocator_type(*slot); }

    void operator()() const {
        *slot_taken_when_run = slot->in_use();
        runs->fetch_add(1, std::memory_order_release);
    }
};

} // namespace

TEST_CASE("a handler slot serves one operation at a time, and a second or a larger one gets the "
          "heap") {
    handler_slot slot;
    test_support::allocation_recorder recorder;
    void* first = slot.allocate(64);
    CHECK(slot.in_use());
    CHECK(recorder.stats().count == 0);
    void* second = slot.allocate(64); // the slot is taken
    CHECK(second != first);
    CHECK(recorder.stats().count == 1);
    slot.deallocate(second);
    CHECK(slot.in_use());
    slot.deallocate(first);
    CHECK_FALSE(slot.in_use());
    CHECK(slot.allocate(handler_slot::capacity) == first); // taken back for the next one
    slot.deallocate(first);
    void* large = slot.allocate(handler_slot::capacity + 1);
    CHECK(large != first);
    CHECK_FALSE(slot.in_use());
    CHECK(recorder.stats().count == 2);
    slot.deallocate(large);
}

TEST_CASE("Asio keeps a handler posted with a slot_allocator in the slot and frees it before the "
          "handler runs") {
    asio::io_context io(1);
    handler_slot slot;
    bool taken_when_run = true;
    std::atomic<int> runs{0};
    asio::post(io, slotted_handler{&slot, &taken_when_run, &runs});
    CHECK(slot.in_use()); // queued in the slot
    io.run();
    CHECK(runs.load() == 1);
    CHECK_FALSE(taken_when_run); // the next post, from inside the handler, may take it
    CHECK_FALSE(slot.in_use());
}

TEST_CASE("handlers posted from another thread, each after the last one ran, all use the slot: "
          "the posting thread allocates nothing") {
    asio::io_context io(1);
    handler_slot slot;
    bool taken_when_run = true;
    std::atomic<int> runs{0};
    constexpr int posts = 1000;
    std::atomic<int> asked{0};  // posts the test asked for
    std::atomic<int> posted{0}; // posts made
    std::size_t allocations = 0;
    std::thread poster([&] {
        test_support::allocation_recorder recorder;
        for (int i = 1; i <= posts; ++i) {
            // Bounded: the test asks for the next post as soon as the last one ran.
            for (int spins = 0; asked.load(std::memory_order_acquire) < i && spins < 100000000;
                 ++spins) {
                std::this_thread::yield();
            }
            asio::post(io, slotted_handler{&slot, &taken_when_run, &runs});
            posted.store(i, std::memory_order_release);
        }
        allocations = recorder.stats().count;
    });
    int queued_in_slot = 0;
    int freed_after_run = 0;
    for (int i = 1; i <= posts; ++i) {
        asked.store(i, std::memory_order_release);
        for (int spins = 0; posted.load(std::memory_order_acquire) < i && spins < 100000000;
             ++spins) {
            std::this_thread::yield();
        }
        queued_in_slot += slot.in_use() ? 1 : 0;
        io.restart();
        io.run_one();
        freed_after_run += slot.in_use() ? 0 : 1;
    }
    poster.join();
    CHECK(runs.load() == posts);
    CHECK(queued_in_slot == posts);
    CHECK(freed_after_run == posts);
    CHECK(allocations == 0); // the slot was free for every post: none went to operator new
}

TEST_CASE("a server's answers handed over by a worker are drained from its drain slot") {
    asio::io_context io(1);
    auto state = std::make_shared<slicerbridge::detail::server_state>(
        io.get_executor(), slicerbridge::server_options{});
    int answered = 0;
    state->hand_answer_over([&answered] { ++answered; });
    state->hand_answer_over([&answered] { ++answered; }); // rides along with the first
    CHECK(state->drain_slot.in_use());
    io.run();
    CHECK(answered == 2);
    CHECK_FALSE(state->drain_slot.in_use());
    io.restart();
    state->hand_answer_over([&answered] { ++answered; });
    CHECK(state->drain_slot.in_use()); // the next drain takes the slot again
    io.run();
    CHECK(answered == 3);
}

TEST_CASE("a server's wake-up of a sleeping worker is posted in its wake slot") {
    asio::io_context io(1);
    slicerbridge::server_options options;
    options.workers = 1;
    options.worker_spin = std::chrono::microseconds(0); // an idle worker sleeps at once
    auto state = std::make_shared<slicerbridge::detail::server_state>(io.get_executor(), options);
    // Once the worker sleeps, a task queued quietly asks for a wake-up (the ones queued before
    // it, while the worker was awake, just run).
    bool sleeping = false;
    for (int tries = 0; tries < 10000 && !sleeping; ++tries) {
        sleeping = state->workers.post_quietly([] {});
        if (!sleeping) {
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
    }
    REQUIRE(sleeping);
    std::atomic<bool> ran{false};
    state->schedule_call(
        1, [&ran] { ran.store(true, std::memory_order_release); }, true);
    CHECK(state->wake_slot.in_use());
    CHECK(io.run_one() == 1); // the wake-up
    CHECK_FALSE(state->wake_slot.in_use());
    for (int tries = 0; tries < 10000 && !ran.load(std::memory_order_acquire); ++tries) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    CHECK(ran.load());
    // As the server's destructor does: the worker finishes with the fair queue before the state
    // goes (the task's flag is set before its worker leaves the queue).
    state->workers.stop();
    state->workers.join();
}
