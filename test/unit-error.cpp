#include <slicerbridge/error.hpp>

#include "support/printers.hpp"

#include <doctest/doctest.h>

#include <set>
#include <system_error>

using slicerbridge::condition;
using slicerbridge::error;

TEST_CASE("error values equal the wire codes of section 8 [ERR-1]") {
    CHECK(static_cast<int>(error::malformed_frame) == 1);
    CHECK(static_cast<int>(error::frame_too_large) == 2);
    CHECK(static_cast<int>(error::invalid_message) == 3);
    CHECK(static_cast<int>(error::handshake_required) == 4);
    CHECK(static_cast<int>(error::unsupported_version) == 5);
    CHECK(static_cast<int>(error::unknown_kind) == 6);
    CHECK(static_cast<int>(error::method_not_found) == 7);
    CHECK(static_cast<int>(error::duplicate_id) == 8);
    CHECK(static_cast<int>(error::too_many_in_flight) == 9);
    CHECK(static_cast<int>(error::unauthorized) == 10);
    CHECK(static_cast<int>(error::shutting_down) == 11);
    CHECK(static_cast<int>(error::unsupported_codec) == 12);
    CHECK(static_cast<int>(error::too_many_connections) == 13);
    CHECK(static_cast<int>(error::cancelled) == 100);
    CHECK(static_cast<int>(error::deadline_exceeded) == 101);
    CHECK(static_cast<int>(error::unknown_processor) == 102);
    CHECK(static_cast<int>(error::invalid_argument) == 103);
    CHECK(static_cast<int>(error::too_large) == 104);
    CHECK(static_cast<int>(error::internal_error) == 105);
    CHECK(static_cast<int>(error::processor_failed) == 106);
}

TEST_CASE("error names are the spec's and round-trip") {
    CHECK(slicerbridge::error_name(error::frame_too_large) == "frame_too_large");
    CHECK(slicerbridge::error_name(error::unsupported_codec) == "unsupported_codec");
    CHECK(slicerbridge::error_name(error::processor_failed) == "processor_failed");
    std::set<std::string_view> names;
    for (int code = 0; code < 1200; ++code) {
        if (!slicerbridge::is_known_error_code(code)) {
            continue;
        }
        const auto e = static_cast<error>(code);
        const auto name = slicerbridge::error_name(e);
        REQUIRE(!name.empty());
        CHECK(names.insert(name).second);
        CHECK(slicerbridge::error_from_name(name) == e);
    }
    CHECK(names.size() == 20);
    CHECK_FALSE(slicerbridge::error_from_name("truncated").has_value());
    CHECK_FALSE(slicerbridge::error_from_name("").has_value());
}

TEST_CASE("error codes convert to std::error_code in the slicerbridge category") {
    std::error_code ec = error::invalid_argument;
    CHECK(ec.value() == 103);
    CHECK(std::string(ec.category().name()) == "slicerbridge");
    CHECK(ec == error::invalid_argument);
    CHECK(ec != error::invalid_message);
    CHECK(ec.message() == "input or parameter missing, unknown, mistyped or out of range");
    CHECK(std::error_code(106, slicerbridge::category()) == error::processor_failed);
}

TEST_CASE("every code has a message, unknown ones by range [ERR-2]") {
    const auto& cat = slicerbridge::category();
    for (int code = 1; code <= 106; ++code) {
        CHECK_FALSE(cat.message(code).empty());
    }
    CHECK(cat.message(42) == "protocol error 42");
    CHECK(cat.message(500) == "call error 500");
    CHECK(cat.message(1000) == "processor error 1000");
    CHECK(cat.message(65535) == "processor error 65535");
    CHECK(cat.message(0) == "reserved error code 0");
    CHECK(cat.message(65536) == "reserved error code 65536");
    CHECK(cat.message(-7) == "reserved error code -7");
}

TEST_CASE("codes compare equal to the condition of their range, known or not [ERR-1] [ERR-2]") {
    const auto& cat = slicerbridge::category();
    CHECK(std::error_code(error::malformed_frame) == condition::protocol_error);
    CHECK(std::error_code(error::unsupported_codec) == condition::protocol_error);
    CHECK(std::error_code(99, cat) == condition::protocol_error);
    CHECK(std::error_code(error::cancelled) == condition::call_failed);
    CHECK(std::error_code(999, cat) == condition::call_failed);
    CHECK(std::error_code(1000, cat) == condition::processor_error);
    CHECK(std::error_code(65535, cat) == condition::processor_error);
    CHECK(std::error_code(error::cancelled) != condition::protocol_error);
    CHECK(std::error_code(0, cat) != condition::protocol_error);
    CHECK(std::error_code(65536, cat) != condition::processor_error);
    CHECK(std::string(slicerbridge::make_error_condition(condition::call_failed).category().name()) ==
          "slicerbridge.condition");
    CHECK(slicerbridge::make_error_condition(condition::processor_error).message() ==
          "processor error");
}

TEST_CASE("throwing overloads use std::system_error with the code") {
    try {
        throw std::system_error(error::too_large, "output");
    } catch (const std::system_error& e) {
        CHECK(e.code() == error::too_large);
    }
}
