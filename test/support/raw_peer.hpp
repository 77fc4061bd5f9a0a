#ifndef SLICERBRIDGE_TEST_SUPPORT_RAW_PEER_HPP
#define SLICERBRIDGE_TEST_SUPPORT_RAW_PEER_HPP

// A blocking peer that writes arbitrary bytes and reads frames, to feed a server hostile input
// and to play a misbehaving server to a client.

#include "bytes.hpp"

#include <slicerbridge/message/hello.hpp>
#include <slicerbridge/message/message.hpp>
#include <slicerbridge/wire/codec.hpp>
#include <slicerbridge/wire/frame.hpp>

#include <asio/connect.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>

#include <optional>
#include <string>

namespace test_support {

namespace sb = slicerbridge;

class raw_peer {
public:
    explicit raw_peer(asio::ip::tcp::socket socket) : socket_(std::move(socket)) {
        set_timeouts();
    }
    explicit raw_peer(unsigned short port) : socket_(io_) {
        socket_.connect({asio::ip::make_address("127.0.0.1"), port});
        set_timeouts();
    }

    void write_bytes(const bytes& data) { asio::write(socket_, asio::buffer(data)); }

    void write_head(const sb::value& head) { write_bytes(sb::encode_frame(head).to_bytes()); }

    void write_message(const sb::message& m) { write_head(sb::to_value(m)); }

    /// A frame header followed by `head` as raw bytes and `bulk_length` zero bytes.
    void write_raw_frame(const bytes& head, std::uint64_t bulk_length = 0) {
        bytes frame(sb::frame_header_size);
        sb::write_frame_header({static_cast<std::uint32_t>(head.size()), bulk_length},
                               frame.data());
        frame.insert(frame.end(), head.begin(), head.end());
        frame.resize(frame.size() + bulk_length);
        write_bytes(frame);
    }

    /// Reads one frame and decodes its head; nullopt when the stream ended.
    std::optional<sb::value> read_head(const sb::limits& limits = {}) {
        sb::frame_reader reader(limits);
        std::byte chunk[4096];
        while (!reader.done()) {
            if (!staged_.empty()) {
                auto used = reader.consume(staged_.data(), staged_.size());
                staged_.erase(staged_.begin(), staged_.begin() + static_cast<std::ptrdiff_t>(used));
                if (reader.error()) {
                    return std::nullopt;
                }
                continue;
            }
            std::error_code ec;
            auto n = socket_.read_some(asio::buffer(chunk), ec);
            if (ec) {
                return std::nullopt;
            }
            staged_.insert(staged_.end(), chunk, chunk + n);
        }
        auto frame = reader.release();
        std::error_code ec;
        auto head = sb::decode_frame(frame, limits, sb::codec_set::all(), ec);
        if (ec) {
            return std::nullopt;
        }
        return head;
    }

    /// Reads one message; a decode failure is a test failure.
    std::optional<sb::message> read_message() {
        auto head = read_head();
        if (!head) {
            return std::nullopt;
        }
        std::error_code ec;
        auto m = sb::decode_message(*head, false, ec);
        if (ec) {
            m = sb::decode_message(*head, true, ec);
        }
        if (ec) {
            return std::nullopt;
        }
        return m;
    }

    /// The next response, skipping notifications.
    std::optional<sb::response> read_response() {
        while (auto m = read_message()) {
            if (auto* r = std::get_if<sb::response>(&*m)) {
                return *r;
            }
        }
        return std::nullopt;
    }

    /// True when the peer closed the connection (reads until end of stream, bounded).
    bool closed_by_peer() {
        std::byte chunk[4096];
        for (int i = 0; i < 1000; ++i) {
            std::error_code ec;
            socket_.read_some(asio::buffer(chunk), ec);
            if (ec) {
                return ec == asio::error::eof || ec == asio::error::connection_reset;
            }
        }
        return false;
    }

    /// Sends a valid client hello and reads the server's; true if it answered with a hello.
    bool handshake(std::optional<std::string> token = {}) {
        sb::client_hello hello;
        hello.min_version = sb::protocol_min;
        hello.max_version = sb::protocol_max;
        hello.capabilities = {"progress", "codec.zstd", "codec.lz4"};
        hello.token = std::move(token);
        write_message(sb::message(hello));
        auto reply = read_message();
        return reply && std::holds_alternative<sb::server_hello>(*reply);
    }

    asio::ip::tcp::socket& socket() { return socket_; }

private:
    void set_timeouts() {
        // Bounded reads: a server that never answers fails the test instead of hanging it.
#if defined(_WIN32) // Winsock takes milliseconds
        const DWORD limit = 10000;
        ::setsockopt(socket_.native_handle(), SOL_SOCKET, SO_RCVTIMEO,
                     reinterpret_cast<const char*>(&limit), sizeof limit);
#else
        timeval limit{10, 0};
        ::setsockopt(socket_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
#endif
    }

    asio::io_context io_;
    asio::ip::tcp::socket socket_;
    bytes staged_;
};

} // namespace test_support

#endif
