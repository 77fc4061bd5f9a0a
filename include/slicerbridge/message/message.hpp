#ifndef SLICERBRIDGE_MESSAGE_MESSAGE_HPP
#define SLICERBRIDGE_MESSAGE_MESSAGE_HPP

// The messages of spec section 5 and their classification on receipt.

#include <slicerbridge/detail/config.hpp>
#include <slicerbridge/error.hpp>
#include <slicerbridge/message/error_info.hpp>
#include <slicerbridge/message/hello.hpp>
#include <slicerbridge/message/timings.hpp>
#include <slicerbridge/value.hpp>
#include <slicerbridge/wire/codec.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <variant>

namespace slicerbridge {

/// Request and notification methods of protocol 1.0 (section 6).
namespace methods {
inline constexpr std::string_view catalog = "catalog";
inline constexpr std::string_view describe = "describe";
inline constexpr std::string_view invoke = "invoke";
inline constexpr std::string_view ping = "ping";
inline constexpr std::string_view goodbye = "goodbye";
inline constexpr std::string_view progress = "progress";
inline constexpr std::string_view cancel = "cancel";
} // namespace methods

/// Largest request id: ids are integers in 0..2^63-1 ([MSG-1]).
inline constexpr std::uint64_t max_request_id = 0x7fffffffffffffffull;

struct request {
    std::uint64_t id = 0;
    std::string method;
    /// A map; an absent `params` reads as an empty map ([MSG-2]).
    value params = value::map{};

    friend bool operator==(const request& a, const request& b) {
        return a.id == b.id && a.method == b.method && a.params == b.params;
    }
    friend bool operator!=(const request& a, const request& b) { return !(a == b); }
};

struct response {
    /// Nothing for a connection-level error ([MSG-14], section 5.4).
    std::optional<std::uint64_t> id;
    /// The result when `error` is empty ([MSG-7]).
    value result;
    std::optional<error_info> error;
    std::optional<slicerbridge::timings> timings;

    bool is_error() const noexcept { return error.has_value(); }

    static response success(std::uint64_t id, value result) {
        response r;
        r.id = id;
        r.result = std::move(result);
        return r;
    }

    /// An error response; `id` empty for a connection-level error.
    static response failure(std::optional<std::uint64_t> id, error_info info) {
        response r;
        r.id = id;
        r.error = std::move(info);
        return r;
    }

    friend bool operator==(const response& a, const response& b) {
        return a.id == b.id && a.result == b.result && a.error == b.error && a.timings == b.timings;
    }
    friend bool operator!=(const response& a, const response& b) { return !(a == b); }
};

struct notification {
    std::string method;
    /// A map; an absent `params` reads as an empty map.
    value params = value::map{};

    friend bool operator==(const notification& a, const notification& b) {
        return a.method == b.method && a.params == b.params;
    }
    friend bool operator!=(const notification& a, const notification& b) { return !(a == b); }
};

/// One message of the protocol; `std::monostate` (what a default-constructed message holds) is
/// none, which is what `decode_message` returns when it fails.
using message =
    std::variant<std::monostate, client_hello, server_hello, request, response, notification>;

SLICERBRIDGE_DECL value to_value(const request& r);
SLICERBRIDGE_DECL value to_value(const response& r);
SLICERBRIDGE_DECL value to_value(const notification& n);
/// The head of `m`; nil for none.
SLICERBRIDGE_DECL value to_value(const message& m);

/// Encodes a message into a frame: the same bytes as `encode_frame(to_value(m), options, ec)`,
/// but requests, responses and notifications are written without first building (and copying
/// their params or result into) a `value` for the whole message. Errors as `encode_frame`;
/// none is no frame: `invalid_message`.
SLICERBRIDGE_DECL encoded_frame encode_message(const message& m, const encode_options& options,
                                               std::error_code& ec);

/// Encodes the request {id, method, params}: the bytes of `encode_message` for it, without
/// making a `message` of it first.
SLICERBRIDGE_DECL encoded_frame encode_request(std::uint64_t id, std::string_view method,
                                               const value& params, const encode_options& options,
                                               std::error_code& ec);

/// Classifies and reads a decoded head (sections 4 and 5), with the error a receiver answers:
/// - not a map or no string `kind`: `invalid_message` ([HEAD-1], [MSG-11]);
/// - `expecting_hello` and not a hello: `handshake_required` ([HELLO-2]); a client that
///   may receive a connection-level error first decodes again with `expecting_hello` false;
/// - a hello when not `expecting_hello`: `invalid_message` ([HELLO-7]); a hello with another
///   protocol or missing or mistyped keys: `invalid_message` ([HELLO-5]); a hello with
///   `min_version` is a client_hello, one with `version` a server_hello;
/// - an unknown kind: `unknown_kind` ([MSG-10]);
/// - a request, response or notification with malformed fields: `invalid_message`; for a
///   request with a valid id, `request_id_of(head)` gives the id to answer under ([MSG-12]).
/// `what` names the offending field. A head that fails decodes to none (`std::monostate`).
SLICERBRIDGE_DECL message decode_message(const value& head, bool expecting_hello,
                                         std::error_code& ec, std::string& what);
SLICERBRIDGE_DECL message decode_message(const value& head, bool expecting_hello,
                                         std::error_code& ec);
/// As above, but moves params and result out of `head` rather than copying them. When decoding
/// fails, `head` is left as it was, for `request_id_of`.
SLICERBRIDGE_DECL message decode_message(value&& head, bool expecting_hello, std::error_code& ec,
                                         std::string& what);

/// The id of a head that is a request with a valid id, whatever else is wrong with it.
SLICERBRIDGE_DECL std::optional<std::uint64_t> request_id_of(const value& head) noexcept;

namespace detail {
/// A response with a result, in the form write_message gives it (its keys in that order, the
/// timings as float 64) and valid, read without building a value for the head; nothing for
/// any other head, which the caller then decodes with decode_frame and decode_message, so that
/// every error is reported as they report it. The result is decoded as decode_frame would.
SLICERBRIDGE_DECL std::optional<response> decode_usual_response(const received_frame& frame,
                                                                const limits& receiver_limits,
                                                                const codec_set& allowed);

/// A request in the form write_request gives it (`kind`, `id`, `method`, `params`, in that
/// order, no descriptors), valid and with map params, read without building a value for the
/// head; nothing for any other head, which the caller then decodes with decode_frame and
/// decode_message, so that every error is reported as they report it. When decode_message
/// would read the frame's head without `expecting_hello`, the request is the one it gives.
SLICERBRIDGE_DECL std::optional<request> decode_usual_request(const received_frame& frame,
                                                              const limits& receiver_limits,
                                                              const codec_set& allowed);
} // namespace detail

} // namespace slicerbridge

#include <slicerbridge/message/impl/message.hpp>
#if defined(SLICERBRIDGE_HEADER_ONLY)
#include <slicerbridge/message/impl/message.ipp>
#endif

#endif
