#ifndef SLICERBRIDGE_DETAIL_DESCRIPTOR_IO_HPP
#define SLICERBRIDGE_DETAIL_DESCRIPTOR_IO_HPP
// Reads and writes that carry descriptors as ancillary data (SCM_RIGHTS) on a Unix stream
// socket, for frame_stream (spec section 3.5). Linux only: elsewhere `unix_socket_of` finds no
// socket and frame_stream keeps its plain reads and writes.

#include <slicerbridge/detail/buffer_span.hpp>
#include <slicerbridge/transport/any_stream.hpp>
#include <slicerbridge/wire/descriptors.hpp>

#include <cstdint>

#if defined(__linux__)
#include <asio/associated_allocator.hpp>
#include <asio/associated_cancellation_slot.hpp>
#include <asio/associated_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/basic_stream_socket.hpp>
#include <asio/compose.hpp>
#include <asio/error.hpp>
#include <asio/local/stream_protocol.hpp>
#include <asio/socket_base.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>
#include <type_traits>
#include <vector>

#include <sys/socket.h>
#include <sys/uio.h>
#endif

namespace slicerbridge::detail {

/// Descriptors that one read returned, and the stream offset of the last byte it returned: they
/// belong to the frame that holds that byte ([FD-3]).
struct descriptor_batch {
    std::uint64_t last_byte = 0;
    frame_descriptors descriptors;
};

#if defined(__linux__)

template <class T>
struct is_unix_stream_socket : std::false_type {};
template <class Executor>
struct is_unix_stream_socket<asio::basic_stream_socket<asio::local::stream_protocol, Executor>>
    : std::true_type {};

/// The Unix stream socket that `stream` is or wraps (in an `any_stream`); null for every other
/// transport, over which descriptors never pass ([FD-1]).
template <class Stream>
auto* unix_socket_of(Stream& stream) noexcept {
    if constexpr (is_unix_stream_socket<Stream>::value) {
        return &stream;
    } else if constexpr (std::is_same_v<Stream, any_stream>) {
        return stream.template target<asio::local::stream_protocol::socket>();
    } else {
        return static_cast<asio::local::stream_protocol::socket*>(nullptr);
    }
}

inline std::error_code errno_code() noexcept {
    return std::error_code(errno, std::system_category());
}

/// One recvmsg without waiting: bytes into `target`, descriptors (close-on-exec) into `got`,
/// with room for `max_descriptors_per_frame`; more, or a cut ancillary part, marks `got`
/// overflowed ([FD-3]).
inline std::size_t receive_some_now(int socket, asio::mutable_buffer target, frame_descriptors& got,
                                    std::error_code& ec) {
    ec.clear();
    ::iovec piece{target.data(), target.size()};
    alignas(::cmsghdr) unsigned char control[CMSG_SPACE(sizeof(int) * max_descriptors_per_frame)];
    ::msghdr message{};
    message.msg_iov = &piece;
    message.msg_iovlen = 1;
    message.msg_control = control;
    message.msg_controllen = sizeof(control);
    ::ssize_t n = 0;
    do {
        n = ::recvmsg(socket, &message, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        ec = errno_code();
        return 0;
    }
    for (::cmsghdr* part = CMSG_FIRSTHDR(&message); part != nullptr;
         part = CMSG_NXTHDR(&message, part)) {
        if (part->cmsg_level != SOL_SOCKET || part->cmsg_type != SCM_RIGHTS) {
            continue;
        }
        const std::size_t count = (part->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (std::size_t i = 0; i < count; ++i) {
            int fd = -1;
            std::memcpy(&fd, CMSG_DATA(part) + i * sizeof(int), sizeof(int));
            got.add(fd);
        }
    }
    if ((message.msg_flags & MSG_CTRUNC) != 0) {
        got.set_overflowed();
    }
    if (n == 0 && target.size() != 0) {
        ec = asio::error::eof;
    }
    return static_cast<std::size_t>(n);
}

/// One sendmsg without waiting of up to 64 `pieces`, with `fds` as ancillary data beside their
/// first byte ([FD-2]).
inline std::size_t send_some_now(int socket, const_buffer_span pieces, const std::vector<int>& fds,
                                 std::error_code& ec) {
    ec.clear();
    constexpr std::size_t max_pieces = 64;
    ::iovec vectors[max_pieces];
    std::size_t count = 0;
    for (const auto& piece : pieces) {
        if (count == max_pieces) {
            break;
        }
        vectors[count++] = ::iovec{const_cast<void*>(piece.data()), piece.size()};
    }
    alignas(::cmsghdr) unsigned char control[CMSG_SPACE(sizeof(int) * max_descriptors_per_frame)];
    ::msghdr message{};
    message.msg_iov = vectors;
    message.msg_iovlen = count;
    if (!fds.empty()) {
        const std::size_t passed = std::min(fds.size(), max_descriptors_per_frame);
        message.msg_control = control;
        message.msg_controllen = CMSG_SPACE(sizeof(int) * passed);
        ::cmsghdr* part = CMSG_FIRSTHDR(&message);
        part->cmsg_level = SOL_SOCKET;
        part->cmsg_type = SCM_RIGHTS;
        part->cmsg_len = CMSG_LEN(sizeof(int) * passed);
        std::memcpy(CMSG_DATA(part), fds.data(), sizeof(int) * passed);
    }
    ::ssize_t n = 0;
    do {
        n = ::sendmsg(socket, &message, MSG_DONTWAIT | MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        ec = errno_code();
        return 0;
    }
    return static_cast<std::size_t>(n);
}

inline bool would_block(const std::error_code& ec) noexcept {
    return ec == std::errc::resource_unavailable_try_again ||
           ec == std::errc::operation_would_block;
}

/// Written out rather than made with async_compose (see frame_stream's read_frame_op): frames
/// are read through it on every Unix socket.
template <class Socket, class Handler>
class receive_some_op {
public:
    receive_some_op(Socket& socket, asio::mutable_buffer target, frame_descriptors& got,
                    Handler handler)
        : socket_(socket), target_(target), got_(got), handler_(std::move(handler)) {}

    using executor_type = asio::associated_executor_t<Handler, typename Socket::executor_type>;
    using allocator_type = asio::associated_allocator_t<Handler>;
    using cancellation_slot_type = asio::associated_cancellation_slot_t<Handler>;

    executor_type get_executor() const noexcept {
        return asio::get_associated_executor(handler_, socket_.get_executor());
    }
    allocator_type get_allocator() const noexcept {
        return asio::get_associated_allocator(handler_);
    }
    cancellation_slot_type get_cancellation_slot() const noexcept {
        return asio::get_associated_cancellation_slot(handler_);
    }

    void operator()(std::error_code ec = {}) {
        if (!ec && waited_) {
            std::size_t n = receive_some_now(socket_.native_handle(), target_, got_, ec);
            if (!would_block(ec)) {
                return std::move(handler_)(ec, n);
            }
            ec.clear();
        }
        if (ec) {
            return std::move(handler_)(ec, std::size_t{0});
        }
        waited_ = true;
        auto& socket = socket_;
        socket.async_wait(asio::socket_base::wait_read, std::move(*this));
    }

private:
    Socket& socket_;
    asio::mutable_buffer target_;
    frame_descriptors& got_;
    Handler handler_;
    bool waited_ = false;
};

template <class Socket>
struct send_some_op {
    Socket& socket;
    const_buffer_span pieces;
    const std::vector<int>& fds;
    bool waited = false;

    template <class Self>
    void operator()(Self& self, std::error_code ec = {}) {
        if (!ec && waited) {
            std::size_t n = send_some_now(socket.native_handle(), pieces, fds, ec);
            if (!would_block(ec)) {
                return self.complete(ec, n);
            }
            ec.clear();
        }
        if (ec) {
            return self.complete(ec, std::size_t{0});
        }
        waited = true;
        socket.async_wait(asio::socket_base::wait_write, std::move(self));
    }
};

/// Waits until `socket` is readable, then reads some bytes and the descriptors beside them.
/// Handler signature: `void(std::error_code, std::size_t)`. Cancel by closing the socket.
template <class Socket, class Token>
auto async_receive_some(Socket& socket, asio::mutable_buffer target, frame_descriptors& got,
                        Token&& token) {
    return asio::async_initiate<Token, void(std::error_code, std::size_t)>(
        [&socket, target, &got](auto handler) {
            receive_some_op<Socket, decltype(handler)>(socket, target, got, std::move(handler))();
        },
        token);
}

/// Waits until `socket` is writable, then writes some of `pieces` with `fds` beside the first
/// byte. Handler signature: `void(std::error_code, std::size_t)`.
template <class Socket, class Token>
auto async_send_some(Socket& socket, const_buffer_span pieces, const std::vector<int>& fds,
                     Token&& token) {
    return asio::async_compose<Token, void(std::error_code, std::size_t)>(
        send_some_op<Socket>{socket, pieces, fds}, token, socket);
}

#else

template <class Stream>
void* unix_socket_of(Stream&) noexcept {
    return nullptr;
}

#endif

} // namespace slicerbridge::detail

#endif
