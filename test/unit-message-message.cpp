#include <slicerbridge/message/message.hpp>

#include "support/printers.hpp"

#include <doctest/doctest.h>

namespace sb = slicerbridge;
using sb::error;
using sb::value;

namespace {

struct decoded_head {
    sb::message m;
    std::error_code ec;
    std::string what;
};

decoded_head decode_head(const value& head, bool expecting_hello = false) {
    decoded_head d;
    d.m = sb::decode_message(head, expecting_hello, d.ec, d.what);
    return d;
}

const value client_hello_head = value::map{{"kind", "hello"},
                                      {"protocol", "slicerbridge"},
                                      {"min_version", value::array{1, 0}},
                                      {"max_version", value::array{1, 0}}};

} // namespace

TEST_CASE("requests, responses and notifications round-trip [MSG-2] [MSG-7]") {
    const sb::message messages[] = {
        sb::request{7, "describe", value::map{{"processor", "blur"}}},
        sb::response::success(7, value::map{{"name", "blur"}}),
        sb::response::failure(8, sb::error_info::from(error::unknown_processor, "no such")),
        sb::response::failure(std::nullopt,
                              sb::error_info::from(error::duplicate_id, {}, value::map{{"id", 3}})),
        sb::notification{"progress", value::map{{"id", 7}, {"fraction", 0.5}}},
    };
    for (const auto& m : messages) {
        const auto d = decode_head(sb::to_value(m));
        INFO(d.what);
        REQUIRE_FALSE(d.ec);
        CHECK(d.m == m);
    }
    sb::response with_timings = sb::response::success(1, value::map{});
    with_timings.timings = sb::timings{0.5, 0.25, 1.0, 0.125};
    CHECK(decode_head(sb::to_value(with_timings)).m == sb::message(with_timings));
}

TEST_CASE("absent params read as an empty map [MSG-2]") {
    const auto d = decode_head(value::map{{"kind", "request"}, {"id", 1}, {"method", "ping"}});
    REQUIRE_FALSE(d.ec);
    CHECK(std::get<sb::request>(d.m).params == value(value::map{}));
    CHECK(sb::to_value(std::get<sb::request>(d.m)).find("params")->is_map());
}

TEST_CASE("hellos are classified by their keys, and only while expecting one [HELLO-2] "
          "[HELLO-7]") {
    auto d = decode_head(client_hello_head, true);
    REQUIRE_FALSE(d.ec);
    CHECK(std::holds_alternative<sb::client_hello>(d.m));
    value server = value::map{
        {"kind", "hello"}, {"protocol", "slicerbridge"}, {"version", value::array{1, 0}}};
    d = decode_head(server, true);
    REQUIRE_FALSE(d.ec);
    CHECK(std::holds_alternative<sb::server_hello>(d.m));
    d = decode_head(client_hello_head, false);
    CHECK(d.ec == error::invalid_message);
    CHECK(std::holds_alternative<std::monostate>(d.m)); // none, not an empty hello
    CHECK(decode_head(value::map{{"kind", "hello"}, {"protocol", "slicerbridge"}}, true).ec ==
          error::invalid_message);
    CHECK(decode_head(value::map{{"kind", "request"}, {"id", 1}, {"method", "ping"}}, true).ec ==
          error::handshake_required);
    CHECK(decode_head(value::map{{"kind", "telepathy"}}, true).ec == error::handshake_required);
}

TEST_CASE("heads that are not maps or lack a string kind are invalid_message [HEAD-1] "
          "[MSG-11]") {
    CHECK(decode_head(value::array{}).ec == error::invalid_message);
    CHECK(decode_head(value("request")).ec == error::invalid_message);
    CHECK(decode_head(value::map{{"id", 1}}).ec == error::invalid_message);
    CHECK(decode_head(value::map{{"kind", 1}}).ec == error::invalid_message);
    CHECK(decode_head(value::map{{"kind", 1}}).what == "message.kind: expected a string");
}

TEST_CASE("an unknown kind is unknown_kind [MSG-10]") {
    const auto d = decode_head(value::map{{"kind", "event"}});
    CHECK(d.ec == error::unknown_kind);
    CHECK(d.what == "message.kind: unknown kind");
}

TEST_CASE("a malformed request with a valid id is answered under that id [MSG-12]") {
    const value bad_method = value::map{{"kind", "request"}, {"id", 41}, {"method", 7}};
    const auto d = decode_head(bad_method);
    CHECK(d.ec == error::invalid_message);
    CHECK(d.what == "message.request.method: expected a string");
    CHECK(sb::request_id_of(bad_method) == 41u);
    const value bad_params =
        value::map{{"kind", "request"}, {"id", 42}, {"method", "ping"}, {"params", value::array{}}};
    CHECK(decode_head(bad_params).ec == error::invalid_message);
    CHECK(sb::request_id_of(bad_params) == 42u);
}

TEST_CASE("request ids are integers in 0..2^63-1, others are connection-level [MSG-1] "
          "[MSG-12]") {
    for (const value& id :
         {value(-1), value(std::uint64_t{1} << 63), value(1.0), value("1"), value()}) {
        const value head = value::map{{"kind", "request"}, {"id", id}, {"method", "ping"}};
        CHECK(decode_head(head).ec == error::invalid_message);
        CHECK_FALSE(sb::request_id_of(head).has_value());
    }
    const value largest =
        value::map{{"kind", "request"}, {"id", sb::max_request_id}, {"method", "ping"}};
    CHECK_FALSE(decode_head(largest).ec);
    CHECK(sb::request_id_of(largest) == sb::max_request_id);
    CHECK_FALSE(sb::request_id_of(value::map{{"kind", "response"}, {"id", 1}}).has_value());
}

TEST_CASE("responses carry an id and exactly one of result and error [MSG-7] [MSG-14] "
          "[MSG-15]") {
    CHECK(decode_head(value::map{{"kind", "response"}, {"result", value::map{}}}).ec ==
          error::invalid_message);
    CHECK(decode_head(value::map{{"kind", "response"}, {"id", 1}}).ec == error::invalid_message);
    CHECK(decode_head(value::map{{"kind", "response"},
                            {"id", 1},
                            {"result", value::map{}},
                            {"error", value::map{{"code", 105}, {"message", "x"}}}})
              .ec == error::invalid_message);
    const auto nil_result =
        decode_head(value::map{{"kind", "response"}, {"id", 1}, {"result", nullptr}});
    REQUIRE_FALSE(nil_result.ec);
    CHECK(std::get<sb::response>(nil_result.m).result.is_nil());
    const auto connection_level =
        decode_head(value::map{{"kind", "response"},
                          {"id", nullptr},
                          {"error", value::map{{"code", 6}, {"message", "?"}}}});
    REQUIRE_FALSE(connection_level.ec);
    CHECK_FALSE(std::get<sb::response>(connection_level.m).id.has_value());
    const auto bad_error = decode_head(value::map{
        {"kind", "response"}, {"id", 1}, {"error", value::map{{"code", "E1"}, {"message", "x"}}}});
    CHECK(bad_error.ec == error::invalid_message);
    CHECK(bad_error.what == "message.response.error: error.code: expected an integer");
}

TEST_CASE("timings are non-negative numbers, unknown timing keys are ignored [TIME-1] "
          "[TIME-2]") {
    const auto with = [](value t) {
        return decode_head(value::map{
            {"kind", "response"}, {"id", 1}, {"result", value::map{}}, {"timings", std::move(t)}});
    };
    const auto d = with(value::map{{"computing", 2}, {"round_trip", 9.0}});
    REQUIRE_FALSE(d.ec);
    CHECK(std::get<sb::response>(d.m).timings->computing == 2.0);
    CHECK(std::get<sb::response>(d.m).timings->queued == 0.0);
    CHECK(with(value::map{{"queued", -1.0}}).ec == error::invalid_message);
    CHECK(with(value::map{{"queued", "fast"}}).ec == error::invalid_message);
    CHECK(with(value::array{}).ec == error::invalid_message);
}

TEST_CASE("notifications need a string method [MSG-9]") {
    CHECK(decode_head(value::map{{"kind", "notification"}, {"params", value::map{}}}).ec ==
          error::invalid_message);
    const auto unknown = decode_head(value::map{{"kind", "notification"}, {"method", "x-weather"}});
    REQUIRE_FALSE(unknown.ec);
    CHECK(std::get<sb::notification>(unknown.m).method == "x-weather");
}

TEST_CASE("no message is neither a hello nor a frame") {
    const sb::message none;
    CHECK(std::holds_alternative<std::monostate>(none));
    CHECK(sb::to_value(none).is_nil());
    std::error_code ec;
    (void)sb::encode_message(none, sb::encode_options{}, ec);
    CHECK(ec == error::invalid_message);
    CHECK(std::holds_alternative<std::monostate>(
        decode_head(value::map{{"kind", "response"}, {"id", "seven"}}).m));
}

TEST_CASE("decoding a head given up moves its payload out, and leaves a failed one whole") {
    const value params = value::map{{"processor", "echo"}, {"inputs", value::map{}}};
    value request_head =
        value::map{{"kind", "request"}, {"id", 3}, {"method", "invoke"}, {"params", params}};
    std::error_code ec;
    std::string what;
    auto m = sb::decode_message(std::move(request_head), false, ec, what);
    REQUIRE_FALSE(ec);
    CHECK(std::get<sb::request>(m).params == params);
    CHECK(*request_head.find("params") != params); // moved, not copied

    const value result = value::map{{"outputs", value::map{{"n", 1}}}};
    value response_head = value::map{{"kind", "response"}, {"id", 4}, {"result", result}};
    m = sb::decode_message(std::move(response_head), false, ec, what);
    REQUIRE_FALSE(ec);
    CHECK(std::get<sb::response>(m).result == result);

    // Bad timings fail the response after its result was found: the result stays in the head.
    const value bad_timings = value::map{{"kind", "response"},
                                         {"id", 5},
                                         {"result", result},
                                         {"timings", value::map{{"queued", -1.0}}}};
    value failed = bad_timings;
    sb::decode_message(std::move(failed), false, ec, what);
    CHECK(ec == error::invalid_message);
    CHECK(failed == bad_timings);

    const value bad_method =
        value::map{{"kind", "request"}, {"id", 6}, {"method", 7}, {"params", params}};
    failed = bad_method;
    sb::decode_message(std::move(failed), false, ec, what);
    CHECK(ec == error::invalid_message);
    CHECK(failed == bad_method);
    CHECK(sb::request_id_of(failed) == 6u);
}

TEST_CASE("a key that repeats counts with its first entry, as value::find reads it") {
    const auto first_good = decode_head(value::map{{"kind", "request"},
                                              {"id", 1},
                                              {"method", "ping"},
                                              {"id", "two"},
                                              {"kind", 3}});
    REQUIRE_FALSE(first_good.ec);
    CHECK(std::get<sb::request>(first_good.m).id == 1);

    const value first_bad_head = value::map{{"kind", "request"},
                                            {"id", "one"},
                                            {"method", "ping"},
                                            {"id", 2}};
    const auto first_bad = decode_head(first_bad_head);
    CHECK(first_bad.ec == error::invalid_message);
    CHECK(first_bad.what == "message.request.id: expected an integer");
    CHECK_FALSE(sb::request_id_of(first_bad_head).has_value());

    const auto timings_twice = decode_head(value::map{
        {"kind", "response"},
        {"id", 2},
        {"result", value::map{}},
        {"timings", value::map{{"queued", 0.5}, {"queued", -1.0}, {"sending", 0.25}}}});
    REQUIRE_FALSE(timings_twice.ec);
    CHECK(std::get<sb::response>(timings_twice.m).timings->queued == 0.5);
    CHECK(std::get<sb::response>(timings_twice.m).timings->sending == 0.25);
}

TEST_CASE("malformed responses and notifications name the field at fault") {
    const value timings_head = value::map{{"kind", "response"},
                                          {"id", 2},
                                          {"result", value::map{}},
                                          {"timings", value::map{{"computing", -1}}}};
    const auto bad_timings = decode_head(timings_head);
    CHECK(bad_timings.ec == error::invalid_message);
    CHECK(bad_timings.what ==
          "message.response.timings: timings.computing: expected a finite number >= 0");
    const auto both = decode_head(value::map{{"kind", "response"},
                                        {"id", value()},
                                        {"result", value::map{}},
                                        {"error", value::map{}}});
    CHECK(both.what == "message.response: expected exactly one of result and error");
    const auto no_id = decode_head(value::map{{"kind", "response"}, {"result", value::map{}}});
    CHECK(no_id.what == "message.response.id: missing");
    const auto bad_params =
        decode_head(value::map{{"kind", "notification"}, {"method", "progress"}, {"params", 1}});
    CHECK(bad_params.what == "message.notification.params: expected a map");
    const auto no_kind = decode_head(value::map{{"id", 1}});
    CHECK(no_kind.what == "message.kind: missing");
}
