#ifndef SLICERBRIDGE_DETAIL_TLS_HPP
#define SLICERBRIDGE_DETAIL_TLS_HPP
// TLS through OpenSSL (asio::ssl), or, in a build without OpenSSL (SLICERBRIDGE_NO_TLS, which the
// CMake package defines when it does not find OpenSSL), no TLS: `tls_available` is false and
// every TLS entry point of the SDK fails with `std::errc::operation_not_supported`.
//   tls_available                    whether TLS is built in
//   client_handshake(socket, context, host, ec) -> any_stream
//   server_handshake(socket, context, on_stream)  calls on_stream(stream) once secured
//   server_context(certificate_chain_file, private_key_file, ec)

#include <slicerbridge/transport/any_stream.hpp>

#include <asio/ip/tcp.hpp>

#include <memory>
#include <string>
#include <system_error>
#include <utility>

#if defined(SLICERBRIDGE_NO_TLS)

namespace asio::ssl {
class context;
} // namespace asio::ssl

namespace slicerbridge::detail {

inline constexpr bool tls_available = false;

inline any_stream client_handshake(asio::ip::tcp::socket socket, asio::ssl::context&,
                                   const std::string&, std::error_code& ec) {
    ec = std::make_error_code(std::errc::operation_not_supported);
    return any_stream(std::move(socket));
}

template <class OnStream>
void server_handshake(asio::ip::tcp::socket, const std::shared_ptr<asio::ssl::context>&, OnStream) {
}

inline std::shared_ptr<asio::ssl::context> server_context(const std::string&, const std::string&,
                                                          std::error_code& ec) {
    ec = std::make_error_code(std::errc::operation_not_supported);
    return nullptr;
}

} // namespace slicerbridge::detail

#else

#include <asio/ssl/context.hpp>
#include <asio/ssl/stream.hpp>

namespace slicerbridge::detail {

inline constexpr bool tls_available = true;

inline any_stream client_handshake(asio::ip::tcp::socket socket, asio::ssl::context& context,
                                   const std::string& host, std::error_code& ec) {
    asio::ssl::stream<asio::ip::tcp::socket> secure(std::move(socket), context);
    SSL_set_tlsext_host_name(secure.native_handle(), host.c_str());
    secure.handshake(asio::ssl::stream_base::client, ec);
    return any_stream(std::move(secure));
}

/// `context` stays alive until the handshake completes.
template <class OnStream>
void server_handshake(asio::ip::tcp::socket socket,
                      const std::shared_ptr<asio::ssl::context>& context, OnStream on_stream) {
    using tls_stream = asio::ssl::stream<asio::ip::tcp::socket>;
    auto stream = std::make_shared<tls_stream>(std::move(socket), *context);
    stream->async_handshake(asio::ssl::stream_base::server,
                            [stream, context, on_stream = std::move(on_stream)](
                                std::error_code handshake_error) mutable {
                                if (!handshake_error) {
                                    on_stream(std::move(*stream));
                                }
                            });
}

inline std::shared_ptr<asio::ssl::context> server_context(const std::string& certificate_chain_file,
                                                          const std::string& private_key_file,
                                                          std::error_code& ec) {
    ec.clear();
    auto context = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
    context->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                         asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                         asio::ssl::context::no_tlsv1_1);
    context->use_certificate_chain_file(certificate_chain_file, ec);
    if (!ec) {
        context->use_private_key_file(private_key_file, asio::ssl::context::pem, ec);
    }
    return ec ? nullptr : context;
}

} // namespace slicerbridge::detail

#endif

#endif
