// The client's call table without I/O: every decision it takes on pending calls, progress,
// cancels, give-up timers and a lost connection.

#include <slicerbridge/client/call_table.hpp>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace sb = slicerbridge;
using sb::detail::call_table;
using sb::detail::call_table_action;

namespace {

/// The actions, written as "kind id [detail]" so that a whole sequence reads in one line.
struct recorder {
    std::vector<std::string> actions;
    void operator()(const call_table_action& a) {
        std::ostringstream out;
        switch (a.what_to_do) {
        case call_table_action::kind::send_request:
            out << "send_request " << a.id;
            break;
        case call_table_action::kind::hold_request:
            out << "hold_request " << a.id;
            break;
        case call_table_action::kind::arm_timer:
            out << "arm_timer " << a.id << " " << a.seconds;
            break;
        case call_table_action::kind::disarm_timer:
            out << "disarm_timer " << a.id;
            break;
        case call_table_action::kind::send_cancel:
            out << "send_cancel " << a.id;
            break;
        case call_table_action::kind::deliver_progress:
            out << "deliver_progress " << a.id << " " << a.fraction;
            break;
        case call_table_action::kind::complete:
            out << "complete " << a.id << " " << (a.error ? a.error.message() : "ok");
            break;
        case call_table_action::kind::report:
            out << "report " << a.requirement;
            break;
        }
        actions.push_back(out.str());
    }
    std::vector<std::string> take() { return std::exchange(actions, {}); }
};

using lines = std::vector<std::string>;

std::string message_of(sb::error e) {
    return make_error_code(e).message();
}

/// The error a vector names: one of section 8, or `connection_lost` for the connection's own.
std::error_code error_named(const nlohmann::json& name, std::error_code connection_error) {
    if (name.is_null()) {
        return {};
    }
    if (name == "connection_lost") {
        return connection_error;
    }
    auto known = sb::error_from_name(name.get<std::string>());
    REQUIRE_MESSAGE(known.has_value(), "no error named " << name);
    return make_error_code(*known);
}

/// An action as the vectors write it.
nlohmann::json to_json(const call_table_action& a, std::error_code connection_error) {
    using kind = call_table_action::kind;
    nlohmann::json out;
    switch (a.what_to_do) {
    case kind::send_request:
        out = {{"action", "send_request"}, {"id", a.id}};
        break;
    case kind::hold_request:
        out = {{"action", "hold_request"}, {"id", a.id}};
        break;
    case kind::arm_timer:
        out = {{"action", "arm_timer"}, {"id", a.id}, {"seconds", a.seconds}};
        break;
    case kind::disarm_timer:
        out = {{"action", "disarm_timer"}, {"id", a.id}};
        break;
    case kind::send_cancel:
        out = {{"action", "send_cancel"}, {"id", a.id}};
        break;
    case kind::deliver_progress:
        out = {{"action", "deliver_progress"}, {"id", a.id}, {"fraction", a.fraction}};
        break;
    case kind::complete: {
        nlohmann::json error = nullptr;
        if (a.error == connection_error) {
            error = "connection_lost";
        } else if (a.error) {
            error = std::string(sb::error_name(static_cast<sb::error>(a.error.value())));
        }
        out = {{"action", "complete"}, {"id", a.id}, {"error", error}};
        break;
    }
    case kind::report:
        out = {{"action", "report"}, {"requirement", std::string(a.requirement)}};
        break;
    }
    return out;
}

/// Feeds one event of a vector to the table; the actions come back as the vectors write them.
nlohmann::json run_event(call_table& table, const nlohmann::json& event,
                         std::error_code connection_error) {
    nlohmann::json actions = nlohmann::json::array();
    auto act = [&](const call_table_action& a) { actions.push_back(to_json(a, connection_error)); };
    const std::string kind = event.at("event");
    if (kind == "reserve") {
        table.reserve(event["id"]);
    } else if (kind == "start") {
        std::optional<double> give_up;
        if (event.contains("give_up_after")) {
            give_up = event["give_up_after"].get<double>();
        }
        table.start(event["id"], event["method"].get<std::string>(), give_up, act);
    } else if (kind == "response") {
        std::optional<sb::call_id> id;
        if (!event["id"].is_null()) {
            id = event["id"].get<sb::call_id>();
        }
        table.on_response(id, error_named(event["error"], connection_error),
                          event.value("malformed", false), act);
    } else if (kind == "send_failed") {
        table.on_send_failed(event["id"], error_named(event["error"], connection_error), act);
    } else if (kind == "progress") {
        table.on_progress(event["id"], event["fraction"], act);
    } else if (kind == "cancel_requested") {
        table.on_cancel_requested(event["id"], act);
    } else if (kind == "give_up") {
        table.on_give_up(event["id"], act);
    } else if (kind == "connection_lost") {
        table.on_connection_lost(connection_error, act);
    } else {
        FAIL("unknown event " << kind);
    }
    return actions;
}

} // namespace

TEST_CASE("call table: a call is sent, answered once, and forgotten [MSG-4] [MSG-8]") {
    call_table table;
    recorder r;
    table.start(1, "ping", std::nullopt, r);
    CHECK(r.take() == lines{"send_request 1"});
    CHECK(table.is_open(1));
    table.on_response(1, {}, false, r);
    CHECK(r.take() == lines{"complete 1 ok"});
    CHECK(table.size() == 0);
    table.on_response(1, {}, false, r); // a second answer is not the answer to anything
    CHECK(r.take() == lines{"report MSG-8"});
}

TEST_CASE("call table: a call started where an ended one was starts afresh (entries are "
          "reused) [MSG-1] [PROG-1]") {
    call_table table;
    table.set_cancel_in_force(true);
    recorder r;
    // More calls than the table keeps entries for, each leaving its marks: progress, a cancel
    // sent, an armed timer.
    for (sb::call_id id = 1; id <= 200; ++id) {
        table.start(id, "invoke", 5.0, r);
        table.on_progress(id, 0.75, r);
        table.on_cancel_requested(id, r);
        table.on_response(id, {}, false, r);
    }
    r.take();
    CHECK(table.size() == 0);
    // A later call, in a reused entry, is a ping with no timer, no progress and no cancel sent.
    table.start(7, "ping", std::nullopt, r);
    CHECK(r.take() == lines{"send_request 7"});
    table.on_progress(7, 0.1, r);
    CHECK(r.take() == lines{"report PROG-3"});
    table.start(8, "invoke", std::nullopt, r);
    table.on_progress(8, 0.1, r); // 0.1 is no decrease for a fresh call
    table.on_cancel_requested(8, r);
    CHECK(r.take() == lines{"send_request 8", "deliver_progress 8 0.1", "send_cancel 8"});
    table.start(7, "invoke", std::nullopt, r); // still open: refused
    CHECK(r.take() == lines{"complete 7 " + message_of(sb::error::duplicate_id)});
    table.on_response(8, {}, false, r);
    table.on_give_up(7, r);
    CHECK(r.take() == lines{"complete 8 ok", "send_cancel 7",
                            "complete 7 " + message_of(sb::error::deadline_exceeded)});
    CHECK(table.size() == 0);
}

TEST_CASE("call table: an id already open is refused and the open call is kept [MSG-1]") {
    call_table table;
    recorder r;
    table.start(7, "invoke", std::nullopt, r);
    r.take();
    table.start(7, "ping", std::nullopt, r);
    CHECK(r.take() == lines{"complete 7 " + message_of(sb::error::duplicate_id)});
    table.on_progress(7, 0.5, r); // still the first call, an invoke
    CHECK(r.take() == lines{"deliver_progress 7 0.5"});
}

TEST_CASE("call table: a connection-level error completes nothing [MSG-17]") {
    call_table table;
    recorder r;
    table.start(1, "invoke", std::nullopt, r);
    r.take();
    table.on_response(std::nullopt, make_error_code(sb::error::unknown_kind), false, r);
    CHECK(r.take() == lines{"report MSG-17"});
    CHECK(table.is_open(1));
}

TEST_CASE("call table: a malformed response fails its call with its error [MSG-15]") {
    call_table table;
    recorder r;
    table.start(3, "ping", 10.0, r);
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
    table.start(1, "ping", std::nullopt, r);
    table.start(2, "invoke", std::nullopt, r);
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
    table.start(1, "invoke", std::nullopt, r);
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

TEST_CASE("call table: the give-up timer cancels and fails the call, one that fires late does "
          "nothing [INV-6]") {
    call_table table;
    table.set_cancel_in_force(true);
    recorder r;
    table.start(5, "invoke", 12.5, r);
    CHECK(r.take() == lines{"send_request 5", "arm_timer 5 12.5"});
    table.on_give_up(5, r);
    CHECK(r.take() ==
          lines{"send_cancel 5", "complete 5 " + message_of(sb::error::deadline_exceeded)});
    table.on_give_up(5, r);
    table.on_response(5, {}, false, r);
    CHECK(r.take() == lines{"report MSG-8"});
}

TEST_CASE("call table: a lost connection fails every open call in id order, and later ones "
          "[DROP-1]") {
    call_table table;
    recorder r;
    table.start(3, "invoke", 1.0, r);
    table.start(1, "ping", std::nullopt, r);
    table.start(2, "ping", std::nullopt, r);
    r.take();
    const std::error_code eof = std::make_error_code(std::errc::connection_reset);
    table.on_connection_lost(eof, r);
    CHECK(r.take() == lines{"complete 1 " + eof.message(), "complete 2 " + eof.message(),
                            "disarm_timer 3", "complete 3 " + eof.message()});
    table.on_connection_lost(std::make_error_code(std::errc::timed_out), r); // the first wins
    table.start(4, "ping", std::nullopt, r);
    CHECK(r.take() == lines{"complete 4 " + eof.message()});
    CHECK(table.size() == 0);
}

TEST_CASE("call table: every case of spec/vectors/client_call_table.json [MSG-1] [MSG-4] [MSG-8] "
          "[MSG-15] [MSG-17] [PROG-1] [PROG-2] [PROG-3] [CANCEL-1] [CANCEL-2] [CANCEL-5] "
          "[INV-6] [DROP-1] [LIMIT-13]") {
    std::ifstream in(SLICERBRIDGE_VECTORS_DIR "/client_call_table.json");
    REQUIRE(in);
    const auto document = nlohmann::json::parse(in);
    const std::error_code connection_error = std::make_error_code(std::errc::connection_reset);
    std::size_t steps = 0;
    for (const auto& vector : document.at("vectors")) {
        CAPTURE(vector["id"].get<std::string>());
        call_table table;
        table.set_cancel_in_force(vector["cancel_in_force"].get<bool>());
        if (vector.contains("max_in_flight")) {
            table.set_max_in_flight(vector["max_in_flight"].get<std::uint64_t>());
        }
        for (const auto& step : vector["steps"]) {
            CAPTURE(step["event"].dump());
            CHECK(run_event(table, step["event"], connection_error).dump() ==
                  step["actions"].dump());
            ++steps;
        }
    }
    CHECK(document["vectors"].size() >= 26);
    CHECK(steps > 50);
}
