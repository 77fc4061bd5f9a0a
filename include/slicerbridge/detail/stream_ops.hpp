#ifndef SLICERBRIDGE_DETAIL_STREAM_OPS_HPP
#define SLICERBRIDGE_DETAIL_STREAM_OPS_HPP
// Closing and tuning any of the streams the transport supports, with one spelling.

#include <asio/ip/tcp.hpp>
#include <asio/socket_base.hpp>

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

/// Small requests must not wait for Nagle's algorithm: latency is most of their cost.
template <class Stream>
void disable_nagle(Stream& stream) {
    auto& lowest = lowest_layer(stream);
    if constexpr (std::is_same_v<std::remove_reference_t<decltype(lowest)>,
                                 asio::ip::tcp::socket>) {
        std::error_code ignored;
        lowest.set_option(asio::ip::tcp::no_delay(true), ignored);
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
