// The server connection's write queue without a socket: what is written next, when writing
// starts, the answers counted against max_in_flight, the byte budget, abandoning and closing.
#include <slicerbridge/server/outbox.hpp>

#include <slicerbridge/detail/byte_budget.hpp>
#include <slicerbridge/server/connection_machine.hpp>
#include <slicerbridge/value.hpp>
#include <slicerbridge/wire/codec.hpp>

#include "support/allocation_recorder.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

namespace outbox_test {

namespace d = slicerbridge::detail;

/// A frame whose head is a string of `length` bytes: frames of different lengths differ in size.
slicerbridge::encoded_frame frame_of(std::size_t length) {
    return slicerbridge::encode_frame(slicerbridge::value(std::string(length, 'x')));
}

/// The size of the frame the outbox would write now (0: none).
std::uint64_t next_size(d::outbox& queue) {
    const auto* next = queue.next_to_write();
    return next == nullptr ? 0 : next->total_size();
}

} // namespace outbox_test

TEST_CASE("outbox: a frame the socket takes at once leaves at once, its bytes with it "
          "[LIMIT-9]") {
    namespace d = slicerbridge::detail;
    d::byte_budget total(1 << 20);
    d::connection_budget budget(total, 1 << 16);
    d::outbox queue(budget);
    CHECK(queue.empty());
    CHECK(queue.next_to_write() == nullptr);
    auto frame = outbox_test::frame_of(100);
    const auto size = frame.total_size();
    CHECK(queue.queue(std::move(frame), true)); // idle: the caller starts writing
    CHECK(budget.held() == size);
    CHECK(outbox_test::next_size(queue) == size);
    queue.written();
    CHECK(queue.empty());
    CHECK(queue.next_to_write() == nullptr);
    CHECK(queue.unsent_answers() == 0);
    CHECK(budget.held() == 0);
    CHECK(total.held() == 0);
}

TEST_CASE("outbox: frames leave in the order queued, writing starts only when none is in "
          "progress") {
    namespace d = slicerbridge::detail;
    d::byte_budget total(1 << 20);
    d::connection_budget budget(total, 1 << 16);
    d::outbox queue(budget);
    auto first = outbox_test::frame_of(100);
    auto second = outbox_test::frame_of(200);
    auto third = outbox_test::frame_of(300);
    auto fourth = outbox_test::frame_of(400);
    const auto first_size = first.total_size();
    const auto second_size = second.total_size();
    const auto third_size = third.total_size();
    const auto fourth_size = fourth.total_size();

    CHECK(queue.queue(std::move(first), false));
    CHECK(outbox_test::next_size(queue) == first_size);
    queue.begin_write(); // the socket did not take it in full
    CHECK(queue.writing());
    CHECK_FALSE(queue.queue(std::move(second), false)); // the write in progress goes on
    CHECK_FALSE(queue.queue(std::move(third), false));
    CHECK(queue.next_to_write() == nullptr); // one write at a time
    queue.end_write();
    CHECK_FALSE(queue.writing());
    CHECK(outbox_test::next_size(queue) == first_size); // written in full only now
    queue.written();
    CHECK(outbox_test::next_size(queue) == second_size);
    queue.written();
    CHECK(outbox_test::next_size(queue) == third_size);
    CHECK(queue.queue(std::move(fourth), false)); // nothing in progress: after the third
    CHECK(outbox_test::next_size(queue) == third_size);
    queue.written();
    CHECK(outbox_test::next_size(queue) == fourth_size);
    queue.written();
    CHECK(queue.empty());
    CHECK(budget.held() == 0);
}

TEST_CASE("outbox: answers count against max_in_flight until written in full [LIMIT-2] "
          "[LIMIT-9]") {
    namespace d = slicerbridge::detail;
    d::byte_budget total(1 << 20);
    d::connection_budget budget(total, 1 << 16);
    d::outbox queue(budget);
    constexpr std::uint64_t max_in_flight = 2;
    CHECK(queue.queue(outbox_test::frame_of(10), true));
    CHECK(queue.queue(outbox_test::frame_of(20), false)); // a notification
    CHECK(queue.queue(outbox_test::frame_of(30), true));
    CHECK(queue.unsent_answers() == 2);
    CHECK_FALSE(d::admits_invoke(0, queue.unsent_answers(), max_in_flight));
    queue.begin_write(); // being written is not written
    queue.end_write();
    CHECK(queue.unsent_answers() == 2);
    queue.written(); // the first answer
    CHECK(queue.unsent_answers() == 1);
    CHECK(d::admits_invoke(0, queue.unsent_answers(), max_in_flight));
    CHECK_FALSE(d::admits_invoke(1, queue.unsent_answers(), max_in_flight));
    queue.written(); // the notification
    CHECK(queue.unsent_answers() == 1);
    queue.written();
    CHECK(queue.unsent_answers() == 0);
    CHECK(d::admits_invoke(1, queue.unsent_answers(), max_in_flight));
}

TEST_CASE("outbox: queued frames hold their bytes in both budgets until written, and reading "
          "pauses while they fill the connection's share [LIMIT-9]") {
    namespace d = slicerbridge::detail;
    d::byte_budget total(1 << 20);
    auto first = outbox_test::frame_of(300);
    auto second = outbox_test::frame_of(500);
    const auto first_size = first.total_size();
    const auto second_size = second.total_size();
    {
        d::connection_budget budget(total, first_size + second_size);
        d::outbox queue(budget);
        CHECK(budget.may_start_frame());
        queue.queue(std::move(first), true);
        CHECK(budget.held() == first_size);
        CHECK(total.held() == first_size);
        CHECK(budget.may_start_frame());
        queue.queue(std::move(second), true);
        CHECK(budget.held() == first_size + second_size);
        CHECK(total.held() == first_size + second_size);
        CHECK_FALSE(budget.may_start_frame()); // the share is spent: reading pauses
        queue.written();
        CHECK(budget.held() == second_size);
        CHECK(total.held() == second_size);
        CHECK(budget.may_start_frame()); // and may go on
        queue.written();
        CHECK(budget.held() == 0);
        CHECK(total.held() == 0);
    }
    CHECK(total.held() == 0);
}

TEST_CASE("outbox: abandoned while a write is in progress, it keeps every frame until the "
          "write ends, then releases them, nothing more is queued or written [LIMIT-9] "
          "[LIMIT-2]") {
    namespace d = slicerbridge::detail;
    d::byte_budget total(1 << 20);
    d::connection_budget budget(total, 1 << 16);
    d::outbox queue(budget);
    auto first = outbox_test::frame_of(100);
    auto second = outbox_test::frame_of(200);
    const auto held = first.total_size() + second.total_size();
    CHECK(queue.queue(std::move(first), true));
    const auto* front = queue.next_to_write();
    REQUIRE(front != nullptr);
    queue.begin_write();
    CHECK_FALSE(queue.queue(std::move(second), true));

    CHECK_FALSE(queue.abandon()); // the write in progress references the front
    CHECK(queue.abandoned());
    CHECK(budget.held() == held);
    CHECK(queue.unsent_answers() == 2);
    CHECK(queue.next_to_write() == nullptr);
    CHECK_FALSE(queue.queue(outbox_test::frame_of(50), true)); // not queued, not counted
    CHECK(budget.held() == held);
    CHECK(queue.unsent_answers() == 2);

    queue.end_write();
    CHECK(queue.next_to_write() == nullptr); // nothing more is written
    CHECK_FALSE(queue.empty());
    CHECK(queue.abandon()); // the write ended: all go
    CHECK(queue.empty());
    CHECK(queue.unsent_answers() == 0);
    CHECK(budget.held() == 0);
    CHECK(total.held() == 0);
    CHECK_FALSE(queue.abandon()); // nothing left to release
}

TEST_CASE("outbox: abandoned with no write in progress, it releases every frame at once "
          "[LIMIT-9]") {
    namespace d = slicerbridge::detail;
    d::byte_budget total(1 << 20);
    d::connection_budget budget(total, 1 << 16);
    d::outbox queue(budget);
    CHECK_FALSE(d::outbox(budget).abandon()); // an empty one releases nothing
    queue.queue(outbox_test::frame_of(100), true);
    queue.queue(outbox_test::frame_of(200), false);
    queue.queue(outbox_test::frame_of(300), true);
    CHECK(queue.abandon());
    CHECK(queue.empty());
    CHECK(queue.unsent_answers() == 0);
    CHECK(budget.held() == 0);
    CHECK(total.held() == 0);
    CHECK_FALSE(queue.queue(outbox_test::frame_of(100), true));
    CHECK(queue.empty());
    CHECK(budget.held() == 0);
}

TEST_CASE("outbox: closing after the writes closes only when nothing is being written") {
    namespace d = slicerbridge::detail;
    d::byte_budget total(1 << 20);
    d::connection_budget budget(total, 1 << 16);

    d::outbox idle(budget);
    CHECK_FALSE(idle.close_due());
    CHECK(idle.close_after_writes()); // nothing queued: at once
    CHECK(idle.close_due());

    d::outbox busy(budget);
    CHECK(busy.queue(outbox_test::frame_of(100), true));
    CHECK(busy.queue(outbox_test::frame_of(200), true));
    busy.written();     // the first at once,
    busy.begin_write(); // the second in parts
    CHECK_FALSE(busy.close_after_writes());
    CHECK_FALSE(busy.close_due());
    busy.end_write();
    busy.written();
    CHECK(busy.empty());
    CHECK(busy.close_due()); // the writes are done
    CHECK(budget.held() == 0);
}

TEST_CASE("outbox: a written frame is handed back, and its place serves the next frame without "
          "an allocation") {
    namespace d = slicerbridge::detail;
    d::byte_budget total(1 << 20);
    d::connection_budget budget(total, 1 << 16);
    d::outbox queue(budget);
    auto frame = outbox_test::frame_of(100);
    const auto* head = frame.head().data();
    CHECK(queue.queue(std::move(frame), true));
    auto written = queue.written();
    CHECK(written.head().data() == head); // the same frame, its head storage with it
    CHECK(written.total_size() > 100);

    std::vector<slicerbridge::encoded_frame> frames(3);
    for (int i = 0; i < 3; ++i) {                            // warm up: three queued at once
        CHECK(queue.queue(outbox_test::frame_of(10), true)); // nothing is being written
    }
    for (int i = 0; i < 3; ++i) {
        frames[static_cast<std::size_t>(i)] = queue.written();
    }
    test_support::allocation_recorder recorder;
    for (int round = 0; round < 20; ++round) {
        for (auto& f : frames) {
            queue.queue(std::move(f), true);
        }
        for (auto& f : frames) {
            f = queue.written();
        }
    }
    CHECK(recorder.stats().count == 0);
    CHECK(queue.empty());
    CHECK(budget.held() == 0);
}
