#include <slicerbridge/message/timings.hpp>

#include "support/printers.hpp"

#include <doctest/doctest.h>

namespace sb = slicerbridge;

TEST_CASE("timings are four float seconds [TIME-1]") {
    const sb::timings t{0.001, 0.5, 12.25, 0.0625};
    const sb::value v = sb::to_value(t);
    CHECK(v == sb::value(sb::value::map{
                   {"receiving", 0.001}, {"queued", 0.5}, {"computing", 12.25}, {"sending", 0.0625}}));
    std::error_code ec;
    CHECK(sb::timings::from_value(v, ec) == t);
    std::string what;
    sb::timings::from_value(sb::value::map{{"sending", std::numeric_limits<double>::infinity()}}, ec,
                            what);
    CHECK(ec == sb::error::invalid_message);
    CHECK(what == "timings.sending: expected a finite number >= 0");
}
