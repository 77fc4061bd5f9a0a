#ifndef SLICERBRIDGE_MESSAGE_HELLO_HPP
#define SLICERBRIDGE_MESSAGE_HELLO_HPP

// The handshake (spec section 4): client and server hello, and the limits they announce.

#include <slicerbridge/detail/config.hpp>
#include <slicerbridge/detail/field_reader.hpp>
#include <slicerbridge/error.hpp>
#include <slicerbridge/limits.hpp>
#include <slicerbridge/value.hpp>
#include <slicerbridge/version.hpp>

#include <optional>
#include <string>
#include <system_error>
#include <vector>

namespace slicerbridge {

inline constexpr std::string_view protocol_name = "slicerbridge";

/// The diagnostic `{name, version}` of a peer.
struct implementation_info {
    std::string name;
    std::string version;

    friend bool operator==(const implementation_info& a, const implementation_info& b) {
        return a.name == b.name && a.version == b.version;
    }
    friend bool operator!=(const implementation_info& a, const implementation_info& b) {
        return !(a == b);
    }
};

struct client_hello {
    protocol_version min_version = protocol_min;
    protocol_version max_version = protocol_max;
    std::vector<std::string> capabilities;
    /// The limits the client enforces on what it receives.
    slicerbridge::limits limits;
    std::optional<implementation_info> implementation;
    std::optional<std::string> token;

    friend bool operator==(const client_hello& a, const client_hello& b) {
        return a.min_version == b.min_version && a.max_version == b.max_version &&
               a.capabilities == b.capabilities && a.limits == b.limits &&
               a.implementation == b.implementation && a.token == b.token;
    }
    friend bool operator!=(const client_hello& a, const client_hello& b) { return !(a == b); }
};

struct server_hello {
    protocol_version version = protocol_max;
    /// The capabilities in force ([CAP-4]).
    std::vector<std::string> capabilities;
    /// The limits the server enforces on what it receives.
    slicerbridge::limits limits;
    std::optional<implementation_info> implementation;

    friend bool operator==(const server_hello& a, const server_hello& b) {
        return a.version == b.version && a.capabilities == b.capabilities && a.limits == b.limits &&
               a.implementation == b.implementation;
    }
    friend bool operator!=(const server_hello& a, const server_hello& b) { return !(a == b); }
};

/// The announced limits: max_frame, max_head, max_in_flight, max_depth, cancel_grace
/// (`max_elements` is local and not announced).
SLICERBRIDGE_DECL value to_value(const limits& l);

/// Reads a limits map over the defaults: absent and unknown keys are ignored; values outside
/// [LIMIT-4]'s ranges are `invalid_message`. max_in_flight and max_depth above 2^32 - 1 are
/// kept as 2^32 - 1.
SLICERBRIDGE_DECL limits limits_from_value(const value& v, std::error_code& ec, std::string& what);

SLICERBRIDGE_DECL value to_value(const client_hello& hello);
SLICERBRIDGE_DECL value to_value(const server_hello& hello);

/// Read a hello ([HELLO-5]: wrong protocol, missing or mistyped keys are `invalid_message`).
SLICERBRIDGE_DECL client_hello client_hello_from_value(const value& v, std::error_code& ec,
                                                       std::string& what);
SLICERBRIDGE_DECL server_hello server_hello_from_value(const value& v, std::error_code& ec,
                                                       std::string& what);

namespace detail {
/// A version as the wire carries it: [major, minor].
SLICERBRIDGE_DECL value version_to_value(protocol_version v);
} // namespace detail

} // namespace slicerbridge

#if defined(SLICERBRIDGE_HEADER_ONLY)
#include <slicerbridge/message/impl/hello.ipp>
#endif

#endif
