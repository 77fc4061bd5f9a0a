#ifndef SLICERBRIDGE_DETAIL_STREAM_OPS_HPP
#define SLICERBRIDGE_DETAIL_STREAM_OPS_HPP
// Closing and tuning any of the streams the transport supports, with one spelling.

#include <asio/basic_stream_socket.hpp>
#include <asio/error.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/socket_base.hpp>

#include <cstddef>

#include <string>
#include <system_error>
#include <type_traits>
#include <utility>

namespace slicerbridge::detail {

template <class T, class = void>
struct has_lowest_layer : std::false_type {};
template <class T>
struct has_lowest_layer<T, std::void_t<decltype(std::declval<T&>().lowest_layer())>>
    : std::true_type {};

template <class T, class = void>
struct has_shutdown : std::false_type {};
template <class T>
struct has_shutdown<T, std::void_t<decltype(std::declval<T&>().shutdown(
                           asio::socket_base::shutdown_both, std::declval<std::error_code&>()))>>
    : std::true_type {};

/// The socket or descriptor under any layering (TLS over TCP, or the stream itself).
template <class Stream>
auto& lowest_layer(Stream& stream) {
    if constexpr (has_lowest_layer<Stream>::value) {
        return stream.lowest_layer();
    } else {
        return stream;
    }
}

template <class T>
struct is_stream_socket : std::false_type {};
template <class Protocol, class Executor>
struct is_stream_socket<asio::basic_stream_socket<Protocol, Executor>> : std::true_type {};

template <class T, class = void>
struct has_write_some_now : std::false_type {};
template <class T>
struct has_write_some_now<
    T, std::void_t<decltype(std::declval<T&>().write_some_now(std::declval<asio::const_buffer>(),
                                                              std::declval<std::error_code&>()))>>
    : std::true_type {};

/// Lets `write_some_now` try writes on a socket without waiting; asynchronous operations work
/// as before. Called before the socket is shared with another thread, as it changes its state.
template <class Stream>
void enable_write_now(Stream& stream) {
    if constexpr (is_stream_socket<Stream>::value) {
        std::error_code ignored;
        stream.non_blocking(true, ignored);
    }
}

/// Writes what `stream` takes without waiting and returns its size; 0 if it would have to wait,
/// or cannot write without waiting at all (TLS: a record may need a read first).
template <class Stream, class ConstBufferSequence>
std::size_t write_some_now(Stream& stream, const ConstBufferSequence& buffers,
                           std::error_code& ec) {
    ec.clear();
    if constexpr (has_write_some_now<Stream>::value) {
        return stream.write_some_now(buffers, ec);
    } else if constexpr (is_stream_socket<Stream>::value) {
        if (!stream.non_blocking()) {
            enable_write_now(stream);
        }
        std::size_t n = stream.write_some(buffers, ec);
        if (ec == asio::error::would_block || ec == asio::error::try_again) {
            ec.clear();
        }
        return n;
    } else {
        return 0;
    }
}

/// Closes the stream, aborting its pending operations; errors are of no interest here.
template <class Stream>
void close_stream(Stream& stream) {
    auto& lowest = lowest_layer(stream);
    std::error_code ignored;
    if constexpr (has_shutdown<std::remove_reference_t<decltype(lowest)>>::value) {
        lowest.shutdown(asio::socket_base::shutdown_both, ignored);
    }
    lowest.close(ignored);
}

/// A socket of any executor over TCP. A socket's lowest layer is a `basic_socket`, not the
/// `basic_stream_socket` that `asio::ip::tcp::socket` names, so the protocol is what tells.
template <class Socket, class = void>
struct is_tcp_socket : std::false_type {};
template <class Socket>
struct is_tcp_socket<Socket, std::void_t<typename Socket::protocol_type>>
    : std::is_same<typename Socket::protocol_type, asio::ip::tcp> {};

template <class T, class = void>
struct has_disable_nagle : std::false_type {};
template <class T>
struct has_disable_nagle<T, std::void_t<decltype(std::declval<T&>().disable_nagle())>>
    : std::true_type {};

/// Small messages must not wait for Nagle's algorithm: a frame written while an earlier one is
/// unacknowledged (progress then an answer, or several calls in flight) would otherwise wait for
/// the peer's delayed acknowledgement, 40 ms on Linux. TCP only, under any layering (TLS), and
/// through a type-erased stream that forwards it (`any_stream`).
template <class Stream>
void disable_nagle(Stream& stream) {
    if constexpr (has_disable_nagle<Stream>::value) {
        stream.disable_nagle();
    } else {
        auto& lowest = lowest_layer(stream);
        if constexpr (is_tcp_socket<std::remove_reference_t<decltype(lowest)>>::value) {
            std::error_code ignored;
            lowest.set_option(asio::ip::tcp::no_delay(true), ignored);
        }
    }
}

/// Compares in time that depends only on the lengths, not on where the strings differ ([SEC-3]).
inline bool constant_time_equal(std::string_view a, std::string_view b) noexcept {
    unsigned char difference = a.size() == b.size() ? 0 : 1;
    const std::size_t n = a.size() < b.size() ? a.size() : b.size();
    for (std::size_t i = 0; i < n; ++i) {
        difference |= static_cast<unsigned char>(a[i] ^ b[i]);
    }
    return difference == 0;
}

} // namespace slicerbridge::detail

#endif
