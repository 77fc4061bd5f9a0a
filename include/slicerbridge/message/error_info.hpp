#ifndef SLICERBRIDGE_MESSAGE_ERROR_INFO_HPP
#define SLICERBRIDGE_MESSAGE_ERROR_INFO_HPP

// The error map of a response (spec section 8).

#include <slicerbridge/detail/field_reader.hpp>
#include <slicerbridge/error.hpp>
#include <slicerbridge/value.hpp>

#include <string>
#include <system_error>

namespace slicerbridge {

struct error_info {
    int code = static_cast<int>(error::internal_error);
    /// Human-readable; never patient data ([ERR-3]).
    std::string message;
    /// A map, or nil when absent.
    value details;

    /// The code in the "slicerbridge" category; unknown codes keep their value and compare
    /// equal to the condition of their range ([ERR-2]).
    std::error_code code_as_error_code() const noexcept { return {code, category()}; }

    /// An error_info for `ec`: its code when it is of the "slicerbridge" category, otherwise
    /// `internal_error`. An empty `message` takes the code's description.
    static error_info from(std::error_code ec, std::string message = {}, value details = {});

    /// Reads `{code, message, details?}`: an integer code (any value is kept, [ERR-2]), a string
    /// message and an optional map. Errors are `invalid_message`.
    static error_info from_value(const value& v, std::error_code& ec);
    static error_info from_value(const value& v, std::error_code& ec, std::string& what);

    friend bool operator==(const error_info& a, const error_info& b) {
        return a.code == b.code && a.message == b.message && a.details == b.details;
    }
    friend bool operator!=(const error_info& a, const error_info& b) { return !(a == b); }
};

/// `{code, message, details}`; details only when not nil.
inline value to_value(const error_info& e) {
    value::map entries{{"code", e.code}, {"message", e.message}};
    if (!e.details.is_nil()) {
        entries.emplace_back("details", e.details);
    }
    return entries;
}

inline error_info error_info::from(std::error_code ec, std::string message, value details) {
    error_info result;
    result.code =
        ec.category() == category() ? ec.value() : static_cast<int>(error::internal_error);
    result.message =
        message.empty() ? std::error_code(result.code, category()).message() : std::move(message);
    result.details = std::move(details);
    return result;
}

inline error_info error_info::from_value(const value& v, std::error_code& ec, std::string& what) {
    ec.clear();
    detail::field_reader reader(ec, what, error::invalid_message, "error");
    error_info result;
    if (!reader.expect_map(v)) {
        return error_info();
    }
    const value* code = reader.get(v, "code", true);
    std::int64_t number = 0;
    if (code == nullptr || !reader.to_int(*code, "code", number)) {
        return error_info();
    }
    if (number < INT32_MIN || number > INT32_MAX) {
        reader.fail("code", "integer out of range");
        return error_info();
    }
    result.code = static_cast<int>(number);
    if (!reader.read_string(v, "message", result.message)) {
        return error_info();
    }
    if (const value* details = v.find("details"); details != nullptr && !details->is_nil()) {
        if (!details->is_map()) {
            reader.fail("details", "expected a map");
            return error_info();
        }
        result.details = *details;
    }
    return result;
}

inline error_info error_info::from_value(const value& v, std::error_code& ec) {
    std::string what;
    return from_value(v, ec, what);
}

} // namespace slicerbridge

#endif
