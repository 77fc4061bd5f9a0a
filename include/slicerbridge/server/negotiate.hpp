#ifndef SLICERBRIDGE_SERVER_NEGOTIATE_HPP
#define SLICERBRIDGE_SERVER_NEGOTIATE_HPP
// The server's side of the handshake (spec section 4) as a pure function: the client's hello
// and the server's options in, the server's hello or the refusal to send out. No I/O, no
// clock, no randomness: the caller adds the grease capability ([CAP-1]) to the reply.

#include <slicerbridge/compression.hpp>
#include <slicerbridge/detail/capabilities.hpp>
#include <slicerbridge/detail/stream_ops.hpp>
#include <slicerbridge/error.hpp>
#include <slicerbridge/message/hello.hpp>
#include <slicerbridge/server/options.hpp>
#include <slicerbridge/value.hpp>
#include <slicerbridge/version.hpp>

#include <optional>
#include <string>
#include <system_error>

namespace slicerbridge::detail {

/// A connection-level error the server sends before closing ([HELLO-9]).
struct handshake_refusal {
    std::error_code code;
    std::string text;
    value details;
};

/// What the handshake settles for the connection.
struct negotiation {
    /// Set when the client is refused; the other members are then meaningless.
    std::optional<handshake_refusal> refusal;
    /// The server's hello, capabilities in force without grease.
    server_hello reply;
    /// The limits the client enforces on what it receives: the server's sends must fit them.
    limits peer_limits;
    codec_set codecs;
    bool progress = false;
};

/// The token first, so that a client without the right token learns nothing, not even the
/// server's versions ([HELLO-8], [SEC-3], [SEC-8]); then the version ([HELLO-3]); then the
/// capabilities in force ([CAP-4], [CODEC-1]).
inline negotiation negotiate(const client_hello& hello, const server_options& options) {
    negotiation result;
    if (options.token && !(hello.token && constant_time_equal(*hello.token, *options.token))) {
        result.refusal = handshake_refusal{make_error_code(error::unauthorized),
                                           "a valid token is required", value()};
        return result;
    }
    auto chosen = choose_version(hello.min_version, hello.max_version, protocol_min, protocol_max);
    if (!chosen) {
        value::map details{{"min_version", version_to_value(protocol_min)},
                           {"max_version", version_to_value(protocol_max)}};
        result.refusal =
            handshake_refusal{make_error_code(error::unsupported_version),
                              "no protocol version in common", value(std::move(details))};
        return result;
    }
    result.peer_limits = hello.limits;
    result.codecs =
        codec_set::from_capabilities(hello.capabilities) & options.codecs & codec_set::all();
    result.progress = has_capability(hello.capabilities, "progress");
    result.reply.version = *chosen;
    result.reply.limits = options.receive_limits;
    result.reply.implementation = implementation_info{options.name, options.version};
    result.reply.capabilities.push_back("cancel");
    if (result.progress) {
        result.reply.capabilities.push_back("progress");
    }
    for (auto& capability : result.codecs.to_capabilities()) {
        result.reply.capabilities.push_back(std::move(capability));
    }
    return result;
}

} // namespace slicerbridge::detail

#endif
