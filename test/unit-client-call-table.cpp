// The client's call table without I/O: every decision it takes on pending calls, progress,
// cancels, give-up timers and a lost connection.

#include <slicerbridge/client/call_table.hpp>

#include <doctest/doctest.h>

#include <sstream>
#include <string>
#include <vector>

namespace sb = slicerbridge;
using sb::detail::call_action;
using sb::detail::call_table;

namespace {

/// The actions, written as "kind id [detail]" so that a whole sequence reads in one line.
struct recorder {
    std::vector<std::string> actions;
    void operator()(const call_action& a) {
        std::ostringstream out;
        switch (a.what_to_do) {
        case call_action::kind::send_request: out << "send_request " << a.id; break;
        case call_action::kind::arm_timer: out << "arm_timer " << a.id << " " << a.seconds; break;
        case call_action::kind::disarm_timer: out << "disarm_timer " << a.id; break;
        case call_action::kind::send_cancel: out << "send_cancel " << a.id; break;
        case call_action::kind::deliver_progress:
            out << "deliver_progress " << a.id << " " << a.fraction;
            break;
        case call_action::kind::complete:
            out << "complete " << a.id << " " << (a.error ? a.error.message() : "ok");
            break;
        case call_action::kind::report: out << "report " << a.requirement; break;
        }
        actions.push_back(out.str());
    }
    std::vector<std::string> take() { return std::exchange(actions, {}); }
};

using lines = std::vector<std::string>;

std::string message_of(sb::error e) { return make_error_code(e).message(); }

} // namespace

TEST_CASE("call table: a call is sent, answered once, and forgotten [MSG-4] [MSG-8]") {
    call_table table;
    recorder r;
    table.start(1, false, std::nullopt, r);
    CHECK(r.take() == lines{"send_request 1"});
    CHECK(table.is_open(1));
    table.on_response(1, {}, false, r);
    CHECK(r.take() == lines{"complete 1 ok"});
    CHECK(table.size() == 0);
    table.on_response(1, {}, false, r); // a second answer is not the answer to anything
    CHECK(r.take() == lines{"report MSG-8"});
}

TEST_CASE("call table: an id already open is refused and the open call is kept [MSG-1]") {
    call_table table;
    recorder r;
    table.start(7, true, std::nullopt, r);
    r.take();
    table.start(7, false, std::nullopt, r);
    CHECK(r.take() == lines{"complete 7 " + message_of(sb::error::duplicate_id)});
    table.on_progress(7, 0.5, r); // still the first call, an invoke
    CHECK(r.take() == lines{"deliver_progress 7 0.5"});
}

TEST_CASE("call table: a connection-level error completes nothing [MSG-17]") {
    call_table table;
    recorder r;
    table.start(1, true, std::nullopt, r);
    r.take();
    table.on_response(std::nullopt, make_error_code(sb::error::unknown_kind), false, r);
    CHECK(r.take() == lines{"report MSG-17"});
    CHECK(table.is_open(1));
}

TEST_CASE("call table: a malformed response fails its call with its error [MSG-15]") {
    call_table table;
    recorder r;
    table.start(3, false, 10.0, r);
    CHECK(r.take() == lines{"send_request 3", "arm_timer 3 10"});
    table.on_response(3, make_error_code(sb::error::invalid_message), true, r);
    CHECK(r.take() == lines{"report MSG-15", "disarm_timer 3",
                            "complete 3 " + message_of(sb::error::invalid_message)});
}

TEST_CASE("call table: progress reaches only open invokes and never goes back [PROG-1] "
          "[PROG-2] [PROG-3]") {
    call_table table;
    table.set_cancel_in_force(true);
    recorder r;
    table.start(1, false, std::nullopt, r);
    table.start(2, true, std::nullopt, r);
    r.take();
    table.on_progress(1, 0.5, r); // a ping reports no progress
    table.on_progress(9, 0.5, r); // no such call
    CHECK(r.take() == lines{"report PROG-3", "report PROG-3"});
    table.on_progress(2, 0.5, r);
    table.on_progress(2, 0.5, r); // equal is not a decrease
    CHECK(r.take() == lines{"deliver_progress 2 0.5", "deliver_progress 2 0.5"});
    table.on_progress(2, 0.25, r);
    CHECK(r.take() == lines{"report PROG-1", "send_cancel 2",
                            "complete 2 " + message_of(sb::error::invalid_message)});
    table.on_response(2, {}, false, r); // the server's own answer, after the call failed
    table.on_progress(2, 0.75, r);
    CHECK(r.take() == lines{"report MSG-8", "report PROG-3"});
}

TEST_CASE("call table: cancel is sent once, only when in force, and the call still gets its "
          "answer [CANCEL-1] [CANCEL-2] [CANCEL-5]") {
    call_table table;
    recorder r;
    table.start(1, true, std::nullopt, r);
    r.take();
    table.on_cancel_requested(1, r);
    CHECK(r.take().empty()); // the server did not list cancel
    table.set_cancel_in_force(true);
    table.on_cancel_requested(1, r);
    table.on_cancel_requested(1, r);
    table.on_cancel_requested(4, r); // not open: nothing to ask
    CHECK(r.take() == lines{"send_cancel 1"});
    table.on_response(1, make_error_code(sb::error::cancelled), false, r);
    CHECK(r.take() == lines{"complete 1 " + message_of(sb::error::cancelled)});
    table.on_cancel_requested(1, r);
    CHECK(r.take().empty());
}

TEST_CASE("call table: the give-up timer cancels and fails the call; one that fires late does "
          "nothing [INV-6]") {
    call_table table;
    table.set_cancel_in_force(true);
    recorder r;
    table.start(5, true, 12.5, r);
    CHECK(r.take() == lines{"send_request 5", "arm_timer 5 12.5"});
    table.on_give_up(5, r);
    CHECK(r.take() == lines{"send_cancel 5", "complete 5 " +
                                                 message_of(sb::error::deadline_exceeded)});
    table.on_give_up(5, r);
    table.on_response(5, {}, false, r);
    CHECK(r.take() == lines{"report MSG-8"});
}

TEST_CASE("call table: a lost connection fails every open call in id order, and later ones "
          "[DROP-1]") {
    call_table table;
    recorder r;
    table.start(3, true, 1.0, r);
    table.start(1, false, std::nullopt, r);
    table.start(2, false, std::nullopt, r);
    r.take();
    const std::error_code eof = std::make_error_code(std::errc::connection_reset);
    table.on_connection_lost(eof, r);
    CHECK(r.take() == lines{"complete 1 " + eof.message(), "complete 2 " + eof.message(),
                            "disarm_timer 3", "complete 3 " + eof.message()});
    table.on_connection_lost(std::make_error_code(std::errc::timed_out), r); // the first wins
    table.start(4, false, std::nullopt, r);
    CHECK(r.take() == lines{"complete 4 " + eof.message()});
    CHECK(table.size() == 0);
}
