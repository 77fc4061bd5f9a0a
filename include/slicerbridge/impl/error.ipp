#ifndef SLICERBRIDGE_IMPL_ERROR_IPP
#define SLICERBRIDGE_IMPL_ERROR_IPP

#include <slicerbridge/error.hpp>

#include <array>

namespace slicerbridge {
namespace detail {

struct error_entry {
    error value;
    std::string_view name;
    std::string_view description;
};

inline constexpr std::array<error_entry, 20> error_table{{
    {error::malformed_frame, "malformed_frame", "bad magic or format in a frame header"},
    {error::frame_too_large, "frame_too_large", "frame or head over the receiver's limits"},
    {error::invalid_message, "invalid_message",
     "head not decodable, not a map, or fields of the wrong type"},
    {error::handshake_required, "handshake_required", "a message before the hello"},
    {error::unsupported_version, "unsupported_version", "no common protocol version"},
    {error::unknown_kind, "unknown_kind", "unknown message kind"},
    {error::method_not_found, "method_not_found", "unknown request method"},
    {error::duplicate_id, "duplicate_id", "request id already open"},
    {error::too_many_in_flight, "too_many_in_flight", "too many requests in flight"},
    {error::unauthorized, "unauthorized", "missing or wrong token"},
    {error::shutting_down, "shutting_down", "the peer is shutting down"},
    {error::unsupported_codec, "unsupported_codec", "compressed bulk with a codec not in force"},
    {error::too_many_connections, "too_many_connections",
     "the server serves as many connections as it allows"},
    {error::cancelled, "cancelled", "the call was cancelled"},
    {error::deadline_exceeded, "deadline_exceeded", "the call's deadline passed"},
    {error::unknown_processor, "unknown_processor", "no processor of that name"},
    {error::invalid_argument, "invalid_argument",
     "input or parameter missing, unknown, mistyped or out of range"},
    {error::too_large, "too_large", "a result too large to send"},
    {error::internal_error, "internal_error", "the server failed for reasons of its own"},
    {error::processor_failed, "processor_failed", "the processor raised an error"},
}};

SLICERBRIDGE_DECL const error_entry* find_error_entry(int code) noexcept {
    for (const auto& entry : error_table) {
        if (static_cast<int>(entry.value) == code) {
            return &entry;
        }
    }
    return nullptr;
}

SLICERBRIDGE_DECL std::optional<condition> condition_of_code(int code) noexcept {
    if (code >= 1 && code <= 99) {
        return condition::protocol_error;
    }
    if (code >= 100 && code <= 999) {
        return condition::call_failed;
    }
    if (code >= 1000 && code <= 65535) {
        return condition::processor_error;
    }
    return std::nullopt;
}

class error_category_impl final : public std::error_category {
public:
    const char* name() const noexcept override { return "slicerbridge"; }

    std::string message(int code) const override {
        if (const auto* entry = find_error_entry(code)) {
            return std::string(entry->description);
        }
        const auto range = condition_of_code(code);
        if (!range) {
            return "reserved error code " + std::to_string(code);
        }
        switch (*range) {
        case condition::protocol_error:
            return "protocol error " + std::to_string(code);
        case condition::call_failed:
            return "call error " + std::to_string(code);
        case condition::processor_error:
            return "processor error " + std::to_string(code);
        }
        return "error " + std::to_string(code);
    }

    std::error_condition default_error_condition(int code) const noexcept override {
        if (const auto range = condition_of_code(code)) {
            return make_error_condition(*range);
        }
        return {code, *this};
    }
};

class condition_category_impl final : public std::error_category {
public:
    const char* name() const noexcept override { return "slicerbridge.condition"; }

    std::string message(int value) const override {
        switch (static_cast<condition>(value)) {
        case condition::protocol_error:
            return "protocol error";
        case condition::call_failed:
            return "call failed";
        case condition::processor_error:
            return "processor error";
        }
        return "unknown condition " + std::to_string(value);
    }
};

} // namespace detail

SLICERBRIDGE_DECL const std::error_category& category() noexcept {
    static const detail::error_category_impl instance;
    return instance;
}

SLICERBRIDGE_DECL const std::error_category& condition_category() noexcept {
    static const detail::condition_category_impl instance;
    return instance;
}

SLICERBRIDGE_DECL std::string_view error_name(error e) noexcept {
    if (const auto* entry = detail::find_error_entry(static_cast<int>(e))) {
        return entry->name;
    }
    return {};
}

SLICERBRIDGE_DECL std::optional<error> error_from_name(std::string_view name) noexcept {
    for (const auto& entry : detail::error_table) {
        if (entry.name == name) {
            return entry.value;
        }
    }
    return std::nullopt;
}

SLICERBRIDGE_DECL bool is_known_error_code(int code) noexcept {
    return detail::find_error_entry(code) != nullptr;
}

} // namespace slicerbridge

#endif
