#include <slicerbridge/detail/byte_budget.hpp>

#include <doctest/doctest.h>

using slicerbridge::detail::byte_budget;
using slicerbridge::detail::connection_budget;

TEST_CASE("frames are reserved whole within both budgets and released [LIMIT-9]") {
    byte_budget total(1000);
    {
        connection_budget first(total, 600);
        connection_budget second(total, 600);
        CHECK(first.may_start_frame());
        CHECK(first.try_reserve_frame(500));
        CHECK_FALSE(first.try_reserve_frame(200)); // over the connection's share
        CHECK(second.try_reserve_frame(500));
        CHECK_FALSE(total.has_room());
        CHECK_FALSE(second.may_start_frame()); // the server's budget is spent
        first.release(500);
        CHECK(second.may_start_frame());
        second.add(300); // an answer, never refused
        CHECK(second.held() == 800);
        CHECK_FALSE(second.may_start_frame());
    }
    CHECK(total.held() == 0); // a closed connection returns what it held
}

TEST_CASE("a frame larger than the budget is admitted when nothing else is held [LIMIT-9]") {
    byte_budget total(100);
    connection_budget first(total, 50);
    connection_budget second(total, 50);
    CHECK(first.try_reserve_frame(10));
    CHECK_FALSE(second.try_reserve_frame(1000));
    first.release(10);
    CHECK(second.try_reserve_frame(1000));
    CHECK_FALSE(first.try_reserve_frame(1));
}

TEST_CASE("the read gate reserves a frame at its first announced size, once [LIMIT-9]") {
    byte_budget total(1000);
    connection_budget gate(total, 600);
    CHECK(gate.admit_read(0)); // nothing held: a new frame may start
    CHECK(gate.admit_read(400));
    CHECK(gate.held() == 400);
    CHECK(gate.admit_read(400)); // the same frame: reserved already, nothing more held
    CHECK(gate.admit_read(0));
    CHECK(gate.held() == 400);
    CHECK(gate.take_frame_reservation() == 400);
    CHECK(gate.take_frame_reservation() == 0);
    CHECK_FALSE(gate.admit_read(300)); // 400 held by whoever took it: over the share of 600
    CHECK(gate.held() == 400);
    gate.release(400);
    CHECK(gate.admit_read(300));
    CHECK(gate.take_frame_reservation() == 300);
    gate.release(300);
}
