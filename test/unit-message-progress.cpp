#include <slicerbridge/message/progress.hpp>

#include "support/printers.hpp"

#include <doctest/doctest.h>

namespace sb = slicerbridge;
using sb::error;
using sb::value;

TEST_CASE("progress and cancel notifications round-trip [PROG-1] [CANCEL-1]") {
    const sb::progress_params p{12, 0.25, std::string("registering")};
    const sb::notification n = sb::make_progress(p);
    CHECK(n.method == "progress");
    std::error_code ec;
    CHECK(sb::progress_params::from_value(n.params, ec) == p);
    CHECK(sb::to_value(sb::progress_params{1, 1.0, std::nullopt}).find("message") == nullptr);
    const sb::notification c = sb::make_cancel({12});
    CHECK(c.method == "cancel");
    CHECK(sb::cancel_params::from_value(c.params, ec).id == 12u);
    CHECK_FALSE(ec);
}

TEST_CASE("malformed progress and cancel params are invalid_message, to be ignored [MSG-16]") {
    std::error_code ec;
    std::string what;
    sb::progress_params::from_value(value::map{{"id", 1}, {"fraction", 1.5}}, ec, what);
    CHECK(ec == error::invalid_message);
    CHECK(what == "progress.fraction: expected a number in [0, 1]");
    sb::progress_params::from_value(value::map{{"fraction", 0.5}}, ec, what);
    CHECK(what == "progress.id: missing");
    sb::progress_params::from_value(value::map{{"id", 1}, {"fraction", 1}}, ec, what);
    CHECK_FALSE(ec);
    sb::cancel_params::from_value(value::map{{"id", -4}}, ec, what);
    CHECK(what == "cancel.id: integer out of range");
    sb::cancel_params::from_value(value(), ec, what);
    CHECK(what == "cancel: expected a map");
}
