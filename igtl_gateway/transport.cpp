#include "transport.hpp"

#include <igtl_header.h>
#include <igtl_util.h>

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <system_error>
#include <unistd.h>
#include <vector>

namespace slicerbridge {
namespace igtl_gateway {

namespace {

bool skip(const byte_reader& read, std::uint64_t size) {
    std::vector<char> chunk(64 * 1024);
    while (size > 0) {
        const std::size_t n = size < chunk.size() ? static_cast<std::size_t>(size) : chunk.size();
        if (!read(chunk.data(), n)) {
            return false;
        }
        size -= n;
    }
    return true;
}

std::string field(const char* text, std::size_t size) {
    std::size_t n = 0;
    while (n < size && text[n] != '\0') {
        ++n;
    }
    return std::string(text, n);
}

std::uint64_t big_endian(const unsigned char* p, int bytes) {
    std::uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) {
        v = (v << 8) | p[i];
    }
    return v;
}

/// A header version 2 message: the whole body is read (it is within the limits), its CRC
/// checked, and its content handed on as the body of a version 1 message.
received_message read_version_2(const byte_reader& read, igtl_header raw, received_message& r,
                                bool check_crc) {
    std::vector<unsigned char> body(static_cast<std::size_t>(r.body_size));
    if (!body.empty() && !read(body.data(), body.size())) {
        r.result = received_message::outcome::end_of_stream;
        return r;
    }
    r.result = received_message::outcome::skipped;
    if (check_crc && crc64(body.data(), body.size(), 0) != raw.crc) {
        r.status = igtl::StatusMessage::STATUS_CHECKSUM_ERROR;
        r.reason = r.type + " body fails its CRC-64";
        return r;
    }
    if (body.size() < 12) {
        r.status = igtl::StatusMessage::STATUS_UNKNOWN_INSTRUCTION;
        r.reason = "header version 2 message without its 12-byte extended header";
        return r;
    }
    const std::uint64_t extended = big_endian(&body[0], 2);
    const std::uint64_t metadata_header = big_endian(&body[2], 2);
    const std::uint64_t metadata = big_endian(&body[4], 4);
    if (extended < 12 || extended + metadata_header + metadata > body.size()) {
        r.status = igtl::StatusMessage::STATUS_UNKNOWN_INSTRUCTION;
        r.reason = "header version 2 message whose extended header and metadata sizes exceed "
                   "its body";
        return r;
    }
    const std::uint64_t content = body.size() - extended - metadata_header - metadata;
    // The same header as version 1, for the content alone; its CRC is not checked again.
    raw.version = 1;
    raw.body_size = content;
    raw.crc = 0;
    igtl_header_convert_byte_order(&raw);
    igtl::MessageHeader::Pointer header = igtl::MessageHeader::New();
    header->InitPack();
    std::memcpy(header->GetPackPointer(), &raw, IGTL_HEADER_SIZE);
    header->Unpack();
    header->GetTimeStamp(&r.stamp.seconds, &r.stamp.fraction);
    igtl::MessageBase::Pointer message = message_for(header);
    if (!message) {
        r.status = igtl::StatusMessage::STATUS_UNKNOWN_INSTRUCTION;
        r.reason = "message type " + r.type + " is not served by the gateway";
        return r;
    }
    if (content > 0) {
        std::memcpy(message->GetPackBodyPointer(), &body[static_cast<std::size_t>(extended)],
                    static_cast<std::size_t>(content));
    }
    r.message = message;
    r.crc_checked = true;
    r.result = received_message::outcome::message;
    return r;
}

} // namespace

received_message read_message(const byte_reader& read, std::uint64_t max_body, bool check_crc) {
    received_message r;
    igtl::MessageHeader::Pointer header = igtl::MessageHeader::New();
    header->InitPack();
    if (!read(header->GetPackPointer(), static_cast<std::size_t>(header->GetPackSize()))) {
        return r;
    }
    // The header's own fields, in full width (the library keeps the body size in an int).
    igtl_header raw;
    std::memcpy(&raw, header->GetPackPointer(), IGTL_HEADER_SIZE);
    igtl_header_convert_byte_order(&raw);
    r.version = raw.version;
    r.type = field(raw.name, sizeof raw.name);
    r.device = field(raw.device_name, sizeof raw.device_name);
    r.body_size = raw.body_size;

    auto skipped = [&](int status, std::string reason) {
        if (!skip(read, r.body_size)) {
            r.result = received_message::outcome::end_of_stream;
            return r;
        }
        r.result = received_message::outcome::skipped;
        r.status = status;
        r.reason = std::move(reason);
        return r;
    };
    if (r.version != 1 && r.version != 2) {
        return skipped(igtl::StatusMessage::STATUS_UNKNOWN_VERSION,
                       "header version " + std::to_string(r.version) +
                           ": the gateway reads header versions 1 and 2");
    }
    if (r.body_size > max_body || r.body_size > max_igtl_body) {
        return skipped(igtl::StatusMessage::STATUS_OVERFLOW,
                       r.type + " body of " + std::to_string(r.body_size) +
                           " bytes exceeds the gateway's limit of " +
                           std::to_string(max_body < max_igtl_body ? max_body : max_igtl_body));
    }
    if (r.version == 2) {
        return read_version_2(read, raw, r, check_crc);
    }
    header->Unpack();
    header->GetTimeStamp(&r.stamp.seconds, &r.stamp.fraction);
    igtl::MessageBase::Pointer message = message_for(header);
    if (!message) {
        return skipped(igtl::StatusMessage::STATUS_UNKNOWN_INSTRUCTION,
                       "message type " + r.type + " is not served by the gateway");
    }
    if (r.body_size > 0 &&
        !read(message->GetPackBodyPointer(), static_cast<std::size_t>(r.body_size))) {
        return r;
    }
    r.message = message;
    r.result = received_message::outcome::message;
    return r;
}

// ---------------------------------------------------------------- tcp_connection

tcp_connection::tcp_connection(int fd) : fd_(fd) {
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    // A peer that stops reading must not stall the streams that broadcast to it: a send that
    // makes no progress for 10 s fails and closes that connection.
    timeval limit{10, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
}

tcp_connection::~tcp_connection() {
    ::close(fd_);
}

bool tcp_connection::read(void* data, std::size_t size) {
    auto* p = static_cast<char*>(data);
    while (size > 0) {
        const ssize_t n = ::recv(fd_, p, size, 0);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            open_ = false;
            return false;
        }
        p += n;
        size -= static_cast<std::size_t>(n);
    }
    return true;
}

bool tcp_connection::send(igtl::MessageBase& packed) {
    std::lock_guard<std::mutex> lock(send_mutex_);
    if (!open_) {
        return false;
    }
    const auto* p = static_cast<const char*>(packed.GetPackPointer());
    auto size = static_cast<std::size_t>(packed.GetPackSize());
    while (size > 0) {
        const ssize_t n = ::send(fd_, p, size, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            open_ = false;
            ::shutdown(fd_, SHUT_RDWR);
            return false;
        }
        p += n;
        size -= static_cast<std::size_t>(n);
    }
    return true;
}

void tcp_connection::shutdown() {
    open_ = false;
    ::shutdown(fd_, SHUT_RDWR);
}

std::string tcp_connection::peer() const {
    sockaddr_storage address{};
    socklen_t length = sizeof address;
    if (::getpeername(fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
        return "?";
    }
    char host[NI_MAXHOST];
    char port[NI_MAXSERV];
    if (::getnameinfo(reinterpret_cast<sockaddr*>(&address), length, host, sizeof host, port,
                      sizeof port, NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
        return "?";
    }
    return std::string(host) + ":" + port;
}

// ---------------------------------------------------------------- tcp_listener

bool is_loopback_host(const std::string& host) {
    if (host == "localhost" || host == "::1") {
        return true;
    }
    in_addr v4{};
    if (::inet_pton(AF_INET, host.c_str(), &v4) == 1) {
        return (ntohl(v4.s_addr) >> 24) == 127;
    }
    return false;
}

int tcp_connect(const std::string& host, int port) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    if (::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found) != 0) {
        return -1;
    }
    int fd = -1;
    for (addrinfo* a = found; a != nullptr && fd < 0; a = a->ai_next) {
        fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd >= 0 && ::connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
            ::close(fd);
            fd = -1;
        }
    }
    ::freeaddrinfo(found);
    return fd;
}

tcp_listener::tcp_listener(const std::string& host, int port) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | (host == "localhost" ? 0 : AI_NUMERICHOST);
    addrinfo* found = nullptr;
    const std::string service = std::to_string(port);
    if (int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &found); rc != 0) {
        throw std::system_error(std::make_error_code(std::errc::invalid_argument),
                                "cannot resolve \"" + host + "\": " + ::gai_strerror(rc));
    }
    int error = 0;
    for (addrinfo* a = found; a != nullptr && fd_ < 0; a = a->ai_next) {
        int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) {
            error = errno;
            continue;
        }
        int one = 1;
        ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (::bind(fd, a->ai_addr, a->ai_addrlen) != 0 || ::listen(fd, 16) != 0) {
            error = errno;
            ::close(fd);
            continue;
        }
        fd_ = fd;
    }
    ::freeaddrinfo(found);
    if (fd_ < 0) {
        throw std::system_error(error, std::generic_category(),
                                "cannot listen on " + host + ":" + service);
    }
    sockaddr_storage bound{};
    socklen_t length = sizeof bound;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&bound), &length);
    port_ = bound.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port)
                                        : ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
    if (::pipe2(wake_, O_CLOEXEC) != 0) {
        ::close(fd_);
        throw std::system_error(errno, std::generic_category(), "pipe");
    }
}

tcp_listener::~tcp_listener() {
    ::close(fd_);
    ::close(wake_[0]);
    ::close(wake_[1]);
}

int tcp_listener::accept(int timeout_ms) {
    while (!closed_) {
        pollfd fds[2] = {{fd_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
        const int ready = ::poll(fds, 2, timeout_ms);
        if (ready < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -1;
        }
        if (ready == 0) {
            return -1;
        }
        if (closed_ || (fds[1].revents & POLLIN) != 0) {
            return -1;
        }
        if ((fds[0].revents & POLLIN) != 0) {
            const int fd = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
            if (fd >= 0) {
                return fd;
            }
        }
    }
    return -1;
}

void tcp_listener::close() {
    if (!closed_.exchange(true)) {
        const char byte = 1;
        [[maybe_unused]] auto n = ::write(wake_[1], &byte, 1);
    }
}

} // namespace igtl_gateway
} // namespace slicerbridge
