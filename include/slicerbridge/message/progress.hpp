#ifndef SLICERBRIDGE_MESSAGE_PROGRESS_HPP
#define SLICERBRIDGE_MESSAGE_PROGRESS_HPP

// The progress and cancel notifications (spec sections 6.4 and 6.5).

#include <slicerbridge/detail/field_reader.hpp>
#include <slicerbridge/error.hpp>
#include <slicerbridge/message/message.hpp>
#include <slicerbridge/value.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <system_error>

namespace slicerbridge {

/// `{id, fraction, message?}`: progress of the invoke `id`, fraction in [0, 1].
struct progress_params {
    std::uint64_t id = 0;
    double fraction = 0;
    std::optional<std::string> message;

    /// Errors are `invalid_message`; a receiver ignores such a notification ([MSG-16]).
    static progress_params from_value(const value& v, std::error_code& ec);
    static progress_params from_value(const value& v, std::error_code& ec, std::string& what);

    friend bool operator==(const progress_params& a, const progress_params& b) {
        return a.id == b.id && a.fraction == b.fraction && a.message == b.message;
    }
    friend bool operator!=(const progress_params& a, const progress_params& b) { return !(a == b); }
};

inline value to_value(const progress_params& p) {
    value::map entries{{"id", p.id}, {"fraction", p.fraction}};
    if (p.message) {
        entries.emplace_back("message", *p.message);
    }
    return entries;
}

inline progress_params progress_params::from_value(const value& v, std::error_code& ec,
                                                   std::string& what) {
    ec.clear();
    detail::field_reader reader(ec, what, error::invalid_message, "progress");
    progress_params result;
    if (!reader.expect_map(v)) {
        return progress_params();
    }
    const value* id = reader.get(v, "id", true);
    if (id == nullptr || !reader.to_uint(*id, "id", result.id, 0, max_request_id) ||
        !reader.read_double(v, "fraction", result.fraction)) {
        return progress_params();
    }
    if (!(result.fraction >= 0 && result.fraction <= 1)) {
        reader.fail("fraction", "expected a number in [0, 1]");
        return progress_params();
    }
    if (v.find("message") != nullptr) {
        std::string text;
        if (!reader.read_string(v, "message", text)) {
            return progress_params();
        }
        result.message = std::move(text);
    }
    return result;
}

inline progress_params progress_params::from_value(const value& v, std::error_code& ec) {
    std::string what;
    return from_value(v, ec, what);
}

/// `{id}`: cancel the invoke `id`.
struct cancel_params {
    std::uint64_t id = 0;

    static cancel_params from_value(const value& v, std::error_code& ec);
    static cancel_params from_value(const value& v, std::error_code& ec, std::string& what);

    friend bool operator==(const cancel_params& a, const cancel_params& b) { return a.id == b.id; }
    friend bool operator!=(const cancel_params& a, const cancel_params& b) { return !(a == b); }
};

inline value to_value(const cancel_params& p) {
    return value::map{{"id", p.id}};
}

inline cancel_params cancel_params::from_value(const value& v, std::error_code& ec,
                                               std::string& what) {
    ec.clear();
    detail::field_reader reader(ec, what, error::invalid_message, "cancel");
    cancel_params result;
    if (!reader.expect_map(v)) {
        return cancel_params();
    }
    const value* id = reader.get(v, "id", true);
    if (id == nullptr || !reader.to_uint(*id, "id", result.id, 0, max_request_id)) {
        return cancel_params();
    }
    return result;
}

inline cancel_params cancel_params::from_value(const value& v, std::error_code& ec) {
    std::string what;
    return from_value(v, ec, what);
}

/// The notifications, ready to encode.
inline notification make_progress(const progress_params& p) {
    return {std::string(methods::progress), to_value(p)};
}

inline notification make_cancel(const cancel_params& p) {
    return {std::string(methods::cancel), to_value(p)};
}

} // namespace slicerbridge

#endif
