#ifndef SLICERBRIDGE_MESSAGE_TIMINGS_HPP
#define SLICERBRIDGE_MESSAGE_TIMINGS_HPP

// Where a call's time went (spec section 5.6).

#include <slicerbridge/detail/field_reader.hpp>
#include <slicerbridge/error.hpp>
#include <slicerbridge/value.hpp>

#include <cstddef>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

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

namespace detail {
inline constexpr std::string_view timings_fields[] = {"receiving", "queued", "computing",
                                                      "sending"};
} // namespace detail

inline value to_value(const timings& t) {
    value::map entries;
    entries.reserve(4);
    entries.emplace_back("receiving", t.receiving);
    entries.emplace_back("queued", t.queued);
    entries.emplace_back("computing", t.computing);
    entries.emplace_back("sending", t.sending);
    return value(std::move(entries));
}

inline timings timings::from_value(const value& v, std::error_code& ec, std::string& what) {
    ec.clear();
    detail::field_reader reader(ec, what, error::invalid_message, "timings");
    if (!reader.expect_map(v)) {
        return timings();
    }
    const value* found[4];
    detail::find_fields<4, detail::timings_fields>(v, found);
    timings result;
    double* const fields[] = {&result.receiving, &result.queued, &result.computing,
                              &result.sending};
    for (std::size_t i = 0; i < 4; ++i) {
        if (found[i] != nullptr &&
            !reader.to_double(*found[i], detail::timings_fields[i], *fields[i], true)) {
            return timings();
        }
    }
    return result;
}

inline timings timings::from_value(const value& v, std::error_code& ec) {
    std::string what;
    return from_value(v, ec, what);
}

} // namespace slicerbridge

#endif
