#ifndef SLICERBRIDGE_ERROR_HPP
#define SLICERBRIDGE_ERROR_HPP

// Error codes of the protocol (spec section 8) as std::error_code, with coarse conditions for the
// three ranges of [ERR-1].

#include <slicerbridge/detail/config.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

namespace slicerbridge {

/// The protocol's error codes. Each value equals its code on the wire.
enum class error {
    malformed_frame = 1,
    frame_too_large = 2,
    invalid_message = 3,
    handshake_required = 4,
    unsupported_version = 5,
    unknown_kind = 6,
    method_not_found = 7,
    duplicate_id = 8,
    too_many_in_flight = 9,
    unauthorized = 10,
    shutting_down = 11,
    unsupported_codec = 12,
    too_many_connections = 13,
    cancelled = 100,
    deadline_exceeded = 101,
    unknown_processor = 102,
    invalid_argument = 103,
    too_large = 104,
    internal_error = 105,
    processor_failed = 106,
};

/// The ranges of [ERR-1]. Any code of the "slicerbridge" category, known or not, compares equal
/// to the condition of its range ([ERR-2]).
enum class condition {
    protocol_error = 1,  ///< codes 1-99
    call_failed = 2,     ///< codes 100-999
    processor_error = 3, ///< codes 1000-65535
};

/// The category of wire error codes, named "slicerbridge". `std::error_code(code, category())`
/// holds any code received from a peer, including codes this implementation does not know.
SLICERBRIDGE_DECL const std::error_category& category() noexcept;

/// The category of `condition`, named "slicerbridge.condition".
SLICERBRIDGE_DECL const std::error_category& condition_category() noexcept;

inline std::error_code make_error_code(error e) noexcept {
    return {static_cast<int>(e), category()};
}

inline std::error_condition make_error_condition(condition c) noexcept {
    return {static_cast<int>(c), condition_category()};
}

/// The spec's snake_case name of an error, e.g. "frame_too_large".
SLICERBRIDGE_DECL std::string_view error_name(error e) noexcept;

/// The error with the spec's name `name`, if there is one.
SLICERBRIDGE_DECL std::optional<error> error_from_name(std::string_view name) noexcept;

/// True if `code` is one of the codes this implementation knows.
SLICERBRIDGE_DECL bool is_known_error_code(int code) noexcept;

} // namespace slicerbridge

namespace std {
template <>
struct is_error_code_enum<slicerbridge::error> : true_type {};
template <>
struct is_error_condition_enum<slicerbridge::condition> : true_type {};
} // namespace std

#if defined(SLICERBRIDGE_HEADER_ONLY)
#include <slicerbridge/impl/error.ipp>
#endif

#endif
