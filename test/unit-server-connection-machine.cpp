// The connection machine without a socket: every case of
// spec/vectors/decisions/connection_decisions.json, and the classification of decoded heads.
#include <slicerbridge/server/connection_machine.hpp>

#include "support/decision_tables.hpp"

#include <doctest/doctest.h>

#include <map>
#include <string>

namespace sb = slicerbridge;
namespace d = sb::detail;
using table_json = nlohmann::json;

namespace {

const std::map<std::string, d::connection_phase> connection_phases = {
    {"awaiting_hello", d::connection_phase::awaiting_hello},
    {"established", d::connection_phase::established},
    {"draining", d::connection_phase::draining},
    {"closed", d::connection_phase::closed}};

const std::map<std::string, d::inbound> kinds = {
    {"stream_ended", d::inbound::stream_ended},
    {"bad_frame", d::inbound::bad_frame},
    {"undecodable", d::inbound::undecodable},
    {"request_with_bad_bulk", d::inbound::request_with_bad_bulk},
    {"bad_bulk", d::inbound::bad_bulk},
    {"hello", d::inbound::hello},
    {"malformed_hello", d::inbound::malformed_hello},
    {"request", d::inbound::request},
    {"malformed_request", d::inbound::malformed_request},
    {"request_without_id", d::inbound::request_without_id},
    {"response", d::inbound::response},
    {"cancel", d::inbound::cancel},
    {"notification", d::inbound::notification},
    {"notification_without_method", d::inbound::notification_without_method},
    {"unknown_kind", d::inbound::unknown_kind}};

const std::map<std::string, d::connection_action> connection_actions = {
    {"negotiate", d::connection_action::negotiate},
    {"admit", d::connection_action::admit},
    {"cancel_call", d::connection_action::cancel_call},
    {"answer_error", d::connection_action::answer_error},
    {"connection_error", d::connection_action::connection_error},
    {"refuse", d::connection_action::refuse},
    {"ignore", d::connection_action::ignore},
    {"close", d::connection_action::close}};

/// What `classify` makes of a head, decoded as the session decodes it.
d::inbound classify_head(const sb::value& head, bool expecting_hello,
                         std::error_code frame_error = {}) {
    std::error_code message_error;
    std::string what;
    sb::message decoded = sb::decode_message(head, expecting_hello, message_error, what);
    return d::classify(head, frame_error, decoded, message_error);
}

sb::value map(sb::value::map entries) {
    return sb::value(std::move(entries));
}

} // namespace

TEST_CASE("connection machine: every case of connection_decisions.json [MSG-11] [HELLO-9] "
          "[HELLO-2] [MSG-5] [MSG-12] [BYE-2] [CANCEL-4] [MSG-10] [BULK-9]") {
    const table_json table = test_support::decision_table("connection_decisions.json");
    std::size_t cases = 0;
    for (const auto& v : table) {
        CAPTURE(v.at("id").get<std::string>());
        d::connection_event event;
        event.what = kinds.at(v.at("inbound").get<std::string>());
        event.id_open = v.at("id_open").get<bool>();
        event.error = test_support::table_error(v.at("error"));
        auto decision = d::decide(connection_phases.at(v.at("phase").get<std::string>()), event);
        CHECK(decision.action == connection_actions.at(v.at("action").get<std::string>()));
        CHECK(decision.error == test_support::table_error(v.at("action_error")));
        ++cases;
    }
    // Every phase meets every kind of frame.
    CHECK(cases >= connection_phases.size() * kinds.size());
}

TEST_CASE("connection machine: heads are classified as the table names them [MSG-12] [MSG-16] "
          "[HELLO-5]") {
    using sb::value;
    value hello = map({{"kind", value("hello")},
                       {"protocol", value("slicerbridge")},
                       {"min_version", value(value::array{value(1), value(0)})},
                       {"max_version", value(value::array{value(1), value(1)})}});
    CHECK(classify_head(hello, true) == d::inbound::hello);
    CHECK(classify_head(hello, false) == d::inbound::malformed_hello); // after the handshake
    value server_hello = map({{"kind", value("hello")},
                              {"protocol", value("slicerbridge")},
                              {"version", value(value::array{value(1), value(1)})}});
    CHECK(classify_head(server_hello, true) == d::inbound::malformed_hello);
    CHECK(classify_head(map({{"kind", value("hello")}}), true) == d::inbound::malformed_hello);

    value ping = map({{"kind", value("request")}, {"id", value(7)}, {"method", value("ping")}});
    CHECK(classify_head(ping, false) == d::inbound::request);
    CHECK(classify_head(ping, false, make_error_code(sb::error::unsupported_codec)) ==
          d::inbound::request_with_bad_bulk);
    CHECK(classify_head(map({{"kind", value("request")}, {"id", value(7)}}), false) ==
          d::inbound::malformed_request);
    CHECK(classify_head(map({{"kind", value("request")}, {"method", value("ping")}}), false) ==
          d::inbound::request_without_id);
    CHECK(classify_head(map({{"kind", value("response")}, {"id", value(7)}}), false) ==
          d::inbound::response);

    value cancel = map({{"kind", value("notification")},
                        {"method", value("cancel")},
                        {"params", map({{"id", value(7)}})}});
    CHECK(classify_head(cancel, false) == d::inbound::cancel);
    CHECK(classify_head(map({{"kind", value("notification")},
                             {"method", value("cancel")},
                             {"params", map({{"id", value("seven")}})}}),
                        false) == d::inbound::notification);
    CHECK(classify_head(map({{"kind", value("notification")}, {"method", value("progress")}}),
                        false) == d::inbound::notification);
    CHECK(classify_head(map({{"kind", value("notification")}}), false) ==
          d::inbound::notification_without_method);
    CHECK(classify_head(cancel, false, make_error_code(sb::error::invalid_message)) ==
          d::inbound::bad_bulk);

    CHECK(classify_head(map({{"kind", value("gossip")}}), false) == d::inbound::unknown_kind);
    CHECK(classify_head(map({{"kind", value(3)}}), false) == d::inbound::undecodable);
    CHECK(classify_head(value("hello"), true) == d::inbound::undecodable);
    CHECK(classify_head(value(), false, make_error_code(sb::error::invalid_message)) ==
          d::inbound::undecodable);
}

TEST_CASE("connection machine: shutdown, admission and goodbye [LIMIT-2] [BYE-2]") {
    CHECK(d::decide_shutdown(d::connection_phase::awaiting_hello) == d::connection_action::close);
    CHECK(d::decide_shutdown(d::connection_phase::established) == d::connection_action::ignore);

    CHECK(d::admits_invoke(0, 0, 1));
    CHECK_FALSE(d::admits_invoke(1, 0, 1));
    CHECK_FALSE(d::admits_invoke(0, 1, 1)); // an answer not yet sent is still open
    CHECK(d::admits_invoke(1, 1, 3));

    CHECK(d::drained(d::connection_phase::draining, 0));
    CHECK_FALSE(d::drained(d::connection_phase::draining, 1));
    CHECK_FALSE(d::drained(d::connection_phase::established, 0));
}
