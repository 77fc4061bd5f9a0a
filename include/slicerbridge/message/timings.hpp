#ifndef SLICERBRIDGE_MESSAGE_TIMINGS_HPP
#define SLICERBRIDGE_MESSAGE_TIMINGS_HPP

// Where a call's time went (spec section 5.6).

#include <slicerbridge/detail/field_reader.hpp>
#include <slicerbridge/error.hpp>
#include <slicerbridge/value.hpp>

#include <string>
#include <system_error>

namespace slicerbridge {

/// Seconds, each >= 0 ([TIME-1]); absent keys read as 0.
struct timings {
    double receiving = 0;
    double queued = 0;
    double computing = 0;
    double sending = 0;

    /// Reads the timing keys, ignoring unknown ones ([TIME-2]). Errors are `invalid_message`.
    static timings from_value(const value& v, std::error_code& ec);
    static timings from_value(const value& v, std::error_code& ec, std::string& what);

    friend bool operator==(const timings& a, const timings& b) noexcept {
        return a.receiving == b.receiving && a.queued == b.queued && a.computing == b.computing &&
               a.sending == b.sending;
    }
    friend bool operator!=(const timings& a, const timings& b) noexcept { return !(a == b); }
};

inline value to_value(const timings& t) {
    return value::map{{"receiving", t.receiving},
                      {"queued", t.queued},
                      {"computing", t.computing},
                      {"sending", t.sending}};
}

inline timings timings::from_value(const value& v, std::error_code& ec, std::string& what) {
    ec.clear();
    detail::field_reader reader(ec, what, error::invalid_message, "timings");
    timings result;
    if (!reader.expect_map(v) ||
        !reader.read_double(v, "receiving", result.receiving, false, true) ||
        !reader.read_double(v, "queued", result.queued, false, true) ||
        !reader.read_double(v, "computing", result.computing, false, true) ||
        !reader.read_double(v, "sending", result.sending, false, true)) {
        return timings();
    }
    return result;
}

inline timings timings::from_value(const value& v, std::error_code& ec) {
    std::string what;
    return from_value(v, ec, what);
}

} // namespace slicerbridge

#endif
