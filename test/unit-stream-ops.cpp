#include <slicerbridge/detail/stream_ops.hpp>

#include <slicerbridge/transport/any_stream.hpp>

#include <doctest/doctest.h>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/local/stream_protocol.hpp>
#include <asio/strand.hpp>

#include <utility>

#if defined(SLICERBRIDGE_TLS)
#include <asio/ssl.hpp>
#endif

namespace {

/// The two ends of a loopback TCP connection; the accepted end has `Executor`.
template <class Executor>
struct tcp_pair {
    tcp_pair(asio::io_context& io, Executor executor) : client(io), server(std::move(executor)) {
        asio::ip::tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
        client.connect(acceptor.local_endpoint());
        acceptor.accept(server);
    }
    asio::ip::tcp::socket client;
    asio::basic_stream_socket<asio::ip::tcp, Executor> server;
};

template <class Socket>
bool nagle_off(Socket& socket) {
    asio::ip::tcp::no_delay option;
    socket.lowest_layer().get_option(option);
    return option.value();
}

} // namespace

TEST_CASE("disable_nagle turns Nagle's algorithm off on TCP under any executor or layering") {
    asio::io_context io;
    SUBCASE("a plain TCP socket") {
        tcp_pair<asio::any_io_executor> ends(io, io.get_executor());
        REQUIRE_FALSE(nagle_off(ends.client)); // the default, so the check below means something
        slicerbridge::detail::disable_nagle(ends.client);
        CHECK(nagle_off(ends.client));
    }
    SUBCASE("a socket on a strand, as a server accepts them") {
        tcp_pair<asio::strand<asio::io_context::executor_type>> ends(
            io, asio::make_strand(io.get_executor()));
        REQUIRE_FALSE(nagle_off(ends.server));
        slicerbridge::detail::disable_nagle(ends.server);
        CHECK(nagle_off(ends.server));
    }
    SUBCASE("a TCP socket inside an any_stream, which forwards it") {
        tcp_pair<asio::any_io_executor> ends(io, io.get_executor());
        slicerbridge::any_stream erased(std::move(ends.server));
        auto* socket = erased.target<asio::ip::tcp::socket>();
        REQUIRE(socket != nullptr);
        REQUIRE_FALSE(nagle_off(*socket));
        slicerbridge::detail::disable_nagle(erased);
        CHECK(nagle_off(*socket));
    }
#if defined(SLICERBRIDGE_TLS) // a build without OpenSSL has no TLS stream
    SUBCASE("TLS over TCP") {
        tcp_pair<asio::any_io_executor> ends(io, io.get_executor());
        asio::ssl::context tls(asio::ssl::context::tls_server);
        asio::ssl::stream<asio::ip::tcp::socket> secure(std::move(ends.server), tls);
        REQUIRE_FALSE(nagle_off(secure));
        slicerbridge::detail::disable_nagle(secure);
        CHECK(nagle_off(secure));
    }
#endif
}

TEST_CASE("only TCP sockets count as TCP, whatever their executor") {
    using slicerbridge::detail::is_tcp_socket;
    using strand = asio::strand<asio::io_context::executor_type>;
    CHECK(is_tcp_socket<asio::ip::tcp::socket>::value);
    CHECK(is_tcp_socket<asio::basic_socket<asio::ip::tcp>>::value); // what lowest_layer() is
    CHECK(is_tcp_socket<asio::basic_stream_socket<asio::ip::tcp, strand>>::value);
    CHECK_FALSE(is_tcp_socket<asio::local::stream_protocol::socket>::value);
    CHECK_FALSE(is_tcp_socket<asio::io_context>::value);
}
