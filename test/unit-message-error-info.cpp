#include <slicerbridge/message/error_info.hpp>

#include "support/printers.hpp"

#include <doctest/doctest.h>

namespace sb = slicerbridge;
using sb::condition;
using sb::error;
using sb::error_info;
using sb::value;

TEST_CASE("error_info maps to {code, message, details} and back") {
    const error_info e{103, "parameter sigma out of range", value::map{{"name", "sigma"}}};
    const value v = sb::to_value(e);
    CHECK(v == value(value::map{{"code", 103},
                                {"message", "parameter sigma out of range"},
                                {"details", value::map{{"name", "sigma"}}}}));
    std::error_code ec;
    CHECK(error_info::from_value(v, ec) == e);
    CHECK(sb::to_value(error_info{5, "x", {}}).find("details") == nullptr);
}

TEST_CASE("unknown codes are kept and compare by range [ERR-1] [ERR-2]") {
    std::error_code ec;
    const auto e = error_info::from_value(value::map{{"code", 1234}, {"message", "bad seed"}}, ec);
    REQUIRE_FALSE(ec);
    CHECK(e.code_as_error_code().value() == 1234);
    CHECK(e.code_as_error_code() == condition::processor_error);
    CHECK(e.code_as_error_code().message() == "processor error 1234");
    CHECK(error_info{100, "", {}}.code_as_error_code() == error::cancelled);
}

TEST_CASE("error_info::from keeps slicerbridge codes and hides foreign ones") {
    const auto own = error_info::from(error::deadline_exceeded);
    CHECK(own.code == 101);
    CHECK(own.message == "the call's deadline passed");
    const auto foreign = error_info::from(std::make_error_code(std::errc::io_error), "disk");
    CHECK(foreign.code == 105);
    CHECK(foreign.message == "disk");
}

TEST_CASE("malformed error maps are invalid_message [MSG-15]") {
    std::error_code ec;
    std::string what;
    error_info::from_value(value::map{{"code", 105}}, ec, what);
    CHECK(ec == error::invalid_message);
    CHECK(what == "error.message: missing");
    error_info::from_value(value::map{{"code", 1.0}, {"message", ""}}, ec, what);
    CHECK(what == "error.code: expected an integer");
    error_info::from_value(value::map{{"code", 1ll << 40}, {"message", ""}}, ec, what);
    CHECK(what == "error.code: integer out of range");
    error_info::from_value(value::map{{"code", 3}, {"message", ""}, {"details", "x"}}, ec, what);
    CHECK(what == "error.details: expected a map");
    CHECK(error_info::from_value(value::map{{"code", 3}, {"message", ""}, {"details", nullptr}}, ec)
              .details.is_nil());
    CHECK_FALSE(ec);
}
