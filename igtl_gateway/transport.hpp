#ifndef SLICERBRIDGE_IGTL_GATEWAY_TRANSPORT_HPP
#define SLICERBRIDGE_IGTL_GATEWAY_TRANSPORT_HPP

// The OpenIGTLink side's byte streams and message framing. Messages are packed and unpacked by
// the OpenIGTLink library; this file only moves their bytes. The gateway does not use the
// library's sockets because igtl::ServerSocket binds every interface (the project listens on
// loopback unless told otherwise, [SEC-1]) and a blocked igtl::Socket cannot be woken to stop.

#include "mapping.hpp"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>

namespace slicerbridge {
namespace igtl_gateway {

/// Reads exactly `size` bytes into `data`; false at the end of the stream or on an error.
using byte_reader = std::function<bool(void* data, std::size_t size)>;

/// One message read from a stream.
struct received_message {
    enum class outcome {
        message,       ///< `message` holds the body, read but not unpacked
        skipped,       ///< the body was read and discarded; `status` and `reason` say why
        end_of_stream, ///< the stream ended between messages (or inside one)
    };
    outcome result = outcome::end_of_stream;
    std::string type;   ///< OpenIGTLink type name, e.g. "IMAGE"
    std::string device; ///< device name
    std::uint16_t version = 0;
    std::uint64_t body_size = 0;
    time_stamp stamp;
    igtl::MessageBase::Pointer message;
    int status = 0;
    std::string reason;
    /// Header version 2 (OpenIGTLink protocol 3): the CRC was checked over the whole body here
    /// (when asked), and `message` holds the content alone, without the extended header and
    /// metadata, for the library to unpack without a CRC check.
    bool crc_checked = false;
};

/// Reads the next message: its 58-byte header, then its body into a message object of its type
/// (see `message_for`). A body over `max_body` bytes, a header version other than 1 or 2 and
/// types the gateway does not read are skipped, in chunks, so that the next message is read
/// from its first byte. Header version 2 (protocol 3) messages are accepted: the Debian library
/// (1.11) cannot parse their extended header, so the CRC is checked here over the whole body and
/// the extended header (12 bytes: its size u16, metadata header size u16, metadata size u32,
/// message id u32) and the trailing metadata are cut off; the metadata is not used.
received_message read_message(const byte_reader& read, std::uint64_t max_body,
                              bool check_crc = true);

/// A connected TCP socket (TCP_NODELAY) owned by the gateway. `send` is thread-safe and gives
/// up, closing the connection, when the peer takes nothing for 10 s; `shutdown` wakes a thread
/// blocked in `read`.
class tcp_connection {
public:
    explicit tcp_connection(int fd);
    ~tcp_connection();
    tcp_connection(const tcp_connection&) = delete;
    tcp_connection& operator=(const tcp_connection&) = delete;

    bool read(void* data, std::size_t size);
    /// Sends a packed message; false (and the connection shut down) when the peer is gone.
    bool send(igtl::MessageBase& packed);
    void shutdown();
    bool open() const { return open_.load(); }
    /// "address:port" of the peer, for logs.
    std::string peer() const;

private:
    int fd_;
    std::atomic<bool> open_{true};
    std::mutex send_mutex_;
};

/// A listening TCP socket; `accept` blocks until a connection arrives or `close` is called.
class tcp_listener {
public:
    /// Binds `host` (a numeric IPv4 or IPv6 address, or "localhost") and `port` (0: any free
    /// port). Throws std::system_error.
    tcp_listener(const std::string& host, int port);
    ~tcp_listener();
    tcp_listener(const tcp_listener&) = delete;
    tcp_listener& operator=(const tcp_listener&) = delete;

    int port() const { return port_; }
    /// The next connection's file descriptor, or -1 once `close` has been called or after
    /// `timeout_ms` (negative: no limit).
    int accept(int timeout_ms = -1);
    void close();

private:
    int fd_ = -1;
    int wake_[2] = {-1, -1};
    int port_ = 0;
    std::atomic<bool> closed_{false};
};

/// Connects to an OpenIGTLink server (for example PlusServer); the socket, or -1.
int tcp_connect(const std::string& host, int port);

/// True for loopback addresses: 127.0.0.0/8, ::1 and "localhost".
bool is_loopback_host(const std::string& host);

} // namespace igtl_gateway
} // namespace slicerbridge

#endif
