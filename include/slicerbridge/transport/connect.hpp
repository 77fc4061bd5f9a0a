#ifndef SLICERBRIDGE_TRANSPORT_CONNECT_HPP
#define SLICERBRIDGE_TRANSPORT_CONNECT_HPP
// Addresses as users write them, and connecting to them.

#include <slicerbridge/detail/tls.hpp>
#include <slicerbridge/transport/any_stream.hpp>

#include <asio/connect.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/local/stream_protocol.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <system_error>

namespace slicerbridge {

/// Where a server is: `HOST:PORT` or `tcp://HOST:PORT` (IPv6 hosts in brackets), `tls://HOST:PORT`,
/// or `unix:PATH`.
struct address {
    enum class transport { tcp, tls, unix_socket };
    transport kind = transport::tcp;
    std::string host;
    std::string port;
    std::string path;

    /// Parses `text`; std::nullopt if it is not one of the forms above.
    static std::optional<address> parse(std::string_view text) {
        address a;
        auto take_prefix = [&text](std::string_view prefix) {
            if (text.substr(0, prefix.size()) == prefix) {
                text.remove_prefix(prefix.size());
                return true;
            }
            return false;
        };
        if (take_prefix("unix:")) {
            if (text.empty()) {
                return std::nullopt;
            }
            a.kind = transport::unix_socket;
            a.path = std::string(text);
            return a;
        }
        if (take_prefix("tls://")) {
            a.kind = transport::tls;
        } else {
            take_prefix("tcp://");
        }
        auto colon = text.rfind(':');
        if (colon == std::string_view::npos || colon == 0 || colon + 1 == text.size()) {
            return std::nullopt;
        }
        std::string_view host = text.substr(0, colon);
        if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
            host = host.substr(1, host.size() - 2);
        }
        a.host = std::string(host);
        a.port = std::string(text.substr(colon + 1));
        if (a.port.find_first_not_of("0123456789") != std::string::npos || a.port.size() > 5) {
            return std::nullopt;
        }
        return a;
    }

    std::string to_string() const {
        switch (kind) {
        case transport::unix_socket:
            return "unix:" + path;
        case transport::tls:
            return "tls://" + host + ":" + port;
        default:
            return (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + port;
        }
    }
};

/// Connects to `where` (synchronously) and returns the connected stream. TLS needs `tls`, a
/// context configured by the caller to verify the server (`set_verify_mode(verify_peer)`), and a
/// build with TLS (`operation_not_supported` otherwise). `unix:PATH` needs AF_UNIX, which
/// Windows has since Windows 10 1803.
inline any_stream connect(const asio::any_io_executor& executor, const address& where,
                          std::error_code& ec, asio::ssl::context* tls = nullptr) {
    ec.clear();
    if (where.kind == address::transport::unix_socket) {
        asio::local::stream_protocol::socket socket(executor);
        socket.connect(asio::local::stream_protocol::endpoint(where.path), ec);
        return any_stream(std::move(socket));
    }
    asio::ip::tcp::resolver resolver(executor);
    auto endpoints = resolver.resolve(where.host, where.port, ec);
    asio::ip::tcp::socket socket(executor);
    if (!ec) {
        asio::connect(socket, endpoints, ec);
    }
    if (ec || where.kind == address::transport::tcp) {
        return any_stream(std::move(socket));
    }
    if (tls == nullptr) {
        ec = std::make_error_code(std::errc::invalid_argument);
        return any_stream(std::move(socket));
    }
    return detail::client_handshake(std::move(socket), *tls, where.host, ec);
}

} // namespace slicerbridge

#endif
