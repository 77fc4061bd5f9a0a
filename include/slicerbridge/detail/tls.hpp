#ifndef SLICERBRIDGE_DETAIL_TLS_HPP
#define SLICERBRIDGE_DETAIL_TLS_HPP
// TLS through OpenSSL (asio::ssl) where SLICERBRIDGE_TLS is defined (the CMake target
// slicerbridge::tls defines it and links OpenSSL), or else no TLS: `tls_available` is false and
// every TLS entry point of the SDK fails with `std::errc::operation_not_supported`.
//   tls_available                    whether TLS is built in
//   client_handshake(socket, context, host, ec) -> any_stream
//   async_client_handshake(socket, context, host, on_done)  calls on_done(ec, any_stream) once
//   server_handshake(socket, context, limit, on_done)  calls on_done(ec, stream) once, the stream
//                                    secured unless ec; a nonzero limit closes a slow handshake
//   server_context(certificate_chain_file, private_key_file, ec)

#include <slicerbridge/transport/any_stream.hpp>

#include <asio/ip/tcp.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <system_error>
#include <utility>

#if !defined(SLICERBRIDGE_TLS)

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

template <class OnDone>
void async_client_handshake(asio::ip::tcp::socket socket, asio::ssl::context&, const std::string&,
                            OnDone on_done) {
    on_done(std::make_error_code(std::errc::operation_not_supported),
            any_stream(std::move(socket)));
}

template <class OnDone>
void server_handshake(asio::ip::tcp::socket socket, const std::shared_ptr<asio::ssl::context>&,
                      std::chrono::steady_clock::duration, OnDone on_done) {
    on_done(std::make_error_code(std::errc::operation_not_supported),
            any_stream(std::move(socket)));
}

inline std::shared_ptr<asio::ssl::context> server_context(const std::string&, const std::string&,
                                                          std::error_code& ec) {
    ec = std::make_error_code(std::errc::operation_not_supported);
    return nullptr;
}

} // namespace slicerbridge::detail

#else

#include <slicerbridge/detail/stream_ops.hpp>

#include <asio/ssl/context.hpp>
#include <asio/ssl/stream.hpp>
#include <asio/steady_timer.hpp>

namespace slicerbridge::detail {

inline constexpr bool tls_available = true;

inline any_stream client_handshake(asio::ip::tcp::socket socket, asio::ssl::context& context,
                                   const std::string& host, std::error_code& ec) {
    asio::ssl::stream<asio::ip::tcp::socket> secure(std::move(socket), context);
    SSL_set_tlsext_host_name(secure.native_handle(), host.c_str());
    secure.handshake(asio::ssl::stream_base::client, ec);
    return any_stream(std::move(secure));
}

/// The caller keeps `context` alive until the handshake completes.
template <class OnDone>
void async_client_handshake(asio::ip::tcp::socket socket, asio::ssl::context& context,
                            const std::string& host, OnDone on_done) {
    using tls_stream = asio::ssl::stream<asio::ip::tcp::socket>;
    auto secure = std::make_shared<tls_stream>(std::move(socket), context);
    SSL_set_tlsext_host_name(secure->native_handle(), host.c_str());
    secure->async_handshake(asio::ssl::stream_base::client,
                            [secure, on_done = std::move(on_done)](std::error_code ec) mutable {
                                on_done(ec, any_stream(std::move(*secure)));
                            });
}

/// `context` stays alive until the handshake completes.
template <class OnDone>
void server_handshake(asio::ip::tcp::socket socket,
                      const std::shared_ptr<asio::ssl::context>& context,
                      std::chrono::steady_clock::duration limit, OnDone on_done) {
    using tls_stream = asio::ssl::stream<asio::ip::tcp::socket>;
    auto stream = std::make_shared<tls_stream>(std::move(socket), *context);
    auto timer = std::make_shared<asio::steady_timer>(stream->get_executor());
    if (limit.count() > 0) {
        timer->expires_after(limit);
        timer->async_wait([stream, timer](std::error_code ec) {
            if (!ec) {
                close_stream(*stream); // the handshake then completes with an error
            }
        });
    }
    stream->async_handshake(
        asio::ssl::stream_base::server,
        [stream, context, timer, on_done = std::move(on_done)](std::error_code ec) mutable {
            timer->cancel();
            on_done(ec, std::move(*stream));
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
