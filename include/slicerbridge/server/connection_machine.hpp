#ifndef SLICERBRIDGE_SERVER_CONNECTION_MACHINE_HPP
#define SLICERBRIDGE_SERVER_CONNECTION_MACHINE_HPP
// What a server does with each frame a connection receives (spec sections 4 to 6), without
// I/O: the connection's phase and what the frame holds in, one action out. The session carries
// the actions out; spec/vectors/decisions/connection_decisions.json holds the cases, which the
// C++ and the Python server both run.

#include <slicerbridge/error.hpp>
#include <slicerbridge/message/message.hpp>
#include <slicerbridge/message/progress.hpp>
#include <slicerbridge/value.hpp>

#include <cstddef>
#include <string_view>
#include <system_error>

namespace slicerbridge::detail {

enum class connection_phase {
    awaiting_hello, ///< until the handshake has succeeded ([HELLO-8])
    established,
    draining, ///< after goodbye or on server shutdown: open calls finish, new ones are refused
    closed,
};

/// What a frame holds, as far as the connection's decisions go.
enum class inbound {
    stream_ended,          ///< end of stream, reset, a frame cut short ([DROP-1])
    bad_frame,             ///< a frame header the stream refused ([FRAME-7])
    undecodable,           ///< a head that is not MessagePack, not a map or lacks a string kind
    request_with_bad_bulk, ///< a request with a valid id whose bulk references are bad
    bad_bulk,              ///< any other head whose bulk references are bad
    hello,                 ///< a well-formed client hello
    malformed_hello,       ///< a hello that is not a well-formed client hello ([HELLO-5])
    request,               ///< a well-formed request
    malformed_request,     ///< a request with a valid id and another field malformed
    request_without_id,    ///< a request whose id is absent or invalid
    response,
    cancel,       ///< a well-formed cancel notification
    notification, ///< any other notification with a string method
    notification_without_method,
    unknown_kind,
};

struct connection_event {
    inbound what = inbound::stream_ended;
    /// request kinds: the request's id is open already; cancel: it names an open invoke.
    bool id_open = false;
    /// bad_frame, undecodable and the bad bulk kinds: the decoder's error (undecodable without
    /// one, such as a map without a kind: invalid_message).
    std::error_code error;
};

enum class connection_action {
    negotiate,        ///< the client's hello: `negotiate()` decides
    admit,            ///< the request goes to its method
    cancel_call,      ///< the call's machine gets `cancel`
    answer_error,     ///< an error response under the request's id; reading goes on
    connection_error, ///< a connection-level error (nil id); reading goes on
    refuse,           ///< a connection-level error, then close once it is written
    ignore,
    close, ///< nothing more is sent; every open call is dropped ([DROP-1])
};

struct connection_decision {
    connection_action action = connection_action::ignore;
    std::error_code error; ///< for answer_error, connection_error and refuse
};

inline connection_decision decide(connection_phase phase, const connection_event& event) {
    using a = connection_action;
    auto with = [](connection_action action, error e) {
        return connection_decision{action, make_error_code(e)};
    };
    if (phase == connection_phase::closed) {
        return {a::ignore, {}};
    }
    if (event.what == inbound::undecodable && !event.error) { // a map without a kind
        return decide(phase, connection_event{event.what, event.id_open,
                                              make_error_code(error::invalid_message)});
    }
    switch (event.what) {
    case inbound::stream_ended:
        return {a::close, {}};
    case inbound::bad_frame:
        return {a::refuse, event.error};
    default:
        break;
    }
    if (phase == connection_phase::awaiting_hello) { // [HELLO-9]: every error closes
        switch (event.what) {
        case inbound::undecodable:
        case inbound::request_with_bad_bulk:
        case inbound::bad_bulk:
            return {a::refuse, event.error};
        case inbound::hello:
            return {a::negotiate, {}};
        case inbound::malformed_hello:
            return with(a::refuse, error::invalid_message); // [HELLO-5]
        default:
            return with(a::refuse, error::handshake_required); // [HELLO-2]
        }
    }
    const bool draining = phase == connection_phase::draining;
    switch (event.what) {
    case inbound::undecodable: // [MSG-11]
    case inbound::bad_bulk:
        return {a::connection_error, event.error};
    case inbound::request_with_bad_bulk: // [BULK-9]
        return event.id_open ? with(a::connection_error, error::duplicate_id)
                             : connection_decision{a::answer_error, event.error};
    case inbound::hello:
    case inbound::malformed_hello:
        return with(a::connection_error, error::invalid_message); // [HELLO-7]
    case inbound::request:
        if (event.id_open) {
            return with(a::connection_error, error::duplicate_id); // [MSG-5]
        }
        return draining ? with(a::answer_error, error::shutting_down) // [BYE-2]
                        : connection_decision{a::admit, {}};
    case inbound::malformed_request: // [MSG-12]
        return event.id_open ? with(a::connection_error, error::duplicate_id)
                             : with(a::answer_error, error::invalid_message);
    case inbound::request_without_id: // [MSG-12]
        return with(a::connection_error, error::invalid_message);
    case inbound::response: // [MSG-3]
        return with(a::connection_error, error::invalid_message);
    case inbound::cancel: // [CANCEL-1], [CANCEL-4]
        return {event.id_open ? a::cancel_call : a::ignore, {}};
    case inbound::notification: // [MSG-9], [MSG-16], [PROG-5]
        return {a::ignore, {}};
    case inbound::notification_without_method: // [MSG-16]
        return with(a::connection_error, error::invalid_message);
    case inbound::unknown_kind: // [MSG-10]
        return with(a::connection_error, error::unknown_kind);
    default:
        return {a::ignore, {}};
    }
}

/// What a head decoded by `decode_frame` (with `frame_error`) and then by `decode_message`
/// (giving `decoded`, or `message_error`) holds. `head` is the one decode_frame returned.
inline inbound classify(const value& head, std::error_code frame_error, const message& decoded,
                        std::error_code message_error) {
    const value* kind = head.is_map() ? head.find("kind") : nullptr;
    if (kind == nullptr || !kind->is_string()) {
        return inbound::undecodable;
    }
    if (frame_error) {
        return request_id_of(head) ? inbound::request_with_bad_bulk : inbound::bad_bulk;
    }
    const std::string_view name = kind->as_string(); // compared to literals without strlen
    if (name == "hello") {
        return !message_error && std::holds_alternative<client_hello>(decoded)
                   ? inbound::hello
                   : inbound::malformed_hello;
    }
    if (name == "request") {
        if (!message_error) {
            return inbound::request;
        }
        return request_id_of(head) ? inbound::malformed_request : inbound::request_without_id;
    }
    if (name == "response") {
        return inbound::response;
    }
    if (name == "notification") {
        const value* method = head.find("method");
        if (method == nullptr || !method->is_string()) {
            return inbound::notification_without_method;
        }
        if (std::string_view(method->as_string()) != "cancel" || message_error) {
            return inbound::notification;
        }
        std::error_code params_error;
        cancel_params::from_value(std::get<notification>(decoded).params, params_error);
        return params_error ? inbound::notification : inbound::cancel;
    }
    return inbound::unknown_kind;
}

/// On server shutdown: a connection still in its handshake closes; others drain.
inline connection_action decide_shutdown(connection_phase phase) {
    return phase == connection_phase::awaiting_hello ? connection_action::close
                                                     : connection_action::ignore;
}

/// An invoke is admitted while the connection's open calls and its answers not yet sent stay
/// under max_in_flight ([LIMIT-2], [LIMIT-9]); the server's own cap is asked after this.
inline bool admits_invoke(std::size_t open_calls, std::size_t unsent_answers,
                          std::size_t max_in_flight) {
    return open_calls + unsent_answers < max_in_flight;
}

/// Goodbye is answered, and the connection closed, once it drains with no call open ([BYE-2]).
inline bool drained(connection_phase phase, std::size_t open_calls) {
    return phase == connection_phase::draining && open_calls == 0;
}

} // namespace slicerbridge::detail

#endif
