// The call machine without threads or timers: every transition of
// spec/vectors/decisions/call_transitions.json, and whole lives of a call.
#include <slicerbridge/server/call_machine.hpp>

#include "support/decision_tables.hpp"

#include <doctest/doctest.h>

#include <map>
#include <string>

namespace sb = slicerbridge;
namespace d = sb::detail;
using table_json = nlohmann::json;

namespace {

const std::map<std::string, d::call_phase> call_phases = {{"queued", d::call_phase::queued},
                                                     {"computing", d::call_phase::computing},
                                                     {"stopping", d::call_phase::stopping},
                                                     {"answered", d::call_phase::answered},
                                                     {"dropped", d::call_phase::dropped}};

const std::map<std::string, d::call_event> events = {
    {"start", d::call_event::start},       {"cancel", d::call_event::cancel},
    {"deadline", d::call_event::deadline}, {"grace_expired", d::call_event::grace_expired},
    {"computed", d::call_event::computed}, {"shutdown", d::call_event::shutdown},
    {"drop", d::call_event::drop}};

const std::map<std::string, d::call_action> call_actions = {
    {"none", d::call_action::none},
    {"run", d::call_action::run},
    {"request_stop", d::call_action::request_stop},
    {"answer_computed", d::call_action::answer_computed},
    {"answer_error", d::call_action::answer_error},
    {"discard", d::call_action::discard}};

} // namespace

TEST_CASE("call machine: every transition of call_transitions.json [CANCEL-1] [CANCEL-2] "
          "[CANCEL-3] [INV-6] [DROP-1] [MSG-4]") {
    const table_json table = test_support::decision_table("call_transitions.json");
    CHECK(table.size() == call_phases.size() * events.size());
    for (const auto& v : table) {
        CAPTURE(v.at("id").get<std::string>());
        auto step = d::call_transition(call_phases.at(v.at("phase").get<std::string>()),
                                       events.at(v.at("event").get<std::string>()));
        CHECK(step.next == call_phases.at(v.at("next").get<std::string>()));
        CHECK(step.action == call_actions.at(v.at("action").get<std::string>()));
        CHECK(step.error == test_support::table_error(v.at("error")));
    }
}

TEST_CASE("call machine: a cancelled call is answered once, whatever comes after [CANCEL-2] "
          "[CANCEL-3]") {
    d::call_machine call;
    CHECK(call.on(d::call_event::start).action == d::call_action::run);
    CHECK_FALSE(call.stop_requested());
    CHECK(call.on(d::call_event::cancel).action == d::call_action::request_stop);
    CHECK(call.stop_requested());
    CHECK(call.on(d::call_event::cancel).action == d::call_action::none);
    auto grace = call.on(d::call_event::grace_expired);
    CHECK(grace.action == d::call_action::answer_error);
    CHECK(grace.error == sb::error::cancelled);
    CHECK(call.finished());
    CHECK(call.on(d::call_event::computed).action == d::call_action::none); // discarded
    CHECK(call.on(d::call_event::drop).action == d::call_action::none);
}

TEST_CASE("call machine: a result that beats the grace is the answer [CANCEL-2]") {
    d::call_machine call;
    call.on(d::call_event::start);
    call.on(d::call_event::cancel);
    CHECK(call.on(d::call_event::computed).action == d::call_action::answer_computed);
    CHECK(call.on(d::call_event::grace_expired).action == d::call_action::none);
}

TEST_CASE("call machine: a call cancelled before a worker takes it never runs [CANCEL-1]") {
    d::call_machine call;
    CHECK(call.on(d::call_event::cancel).error == sb::error::cancelled);
    CHECK(call.on(d::call_event::start).action == d::call_action::none);
    CHECK(call.stop_requested());
}
