#include <slicerbridge/transport/any_stream.hpp>
#include <slicerbridge/transport/frame_stream.hpp>
#include <slicerbridge/transport/pipe_stream.hpp>

#include <doctest/doctest.h>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>

#include <chrono>
#include <functional>
#include <thread>
#include <vector>

namespace sb = slicerbridge;
using asio::ip::tcp;

namespace {

struct stream_pair {
    asio::io_context io;
    tcp::socket client{io};
    tcp::socket server{io};

    stream_pair() {
        tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
        client.connect(acceptor.local_endpoint());
        acceptor.accept(server);
    }
};

sb::encoded_frame frame_with_bulk(std::size_t bulk_bytes) {
    std::vector<std::byte> bytes(bulk_bytes);
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        bytes[i] = static_cast<std::byte>(i * 7 + i / 251);
    }
    sb::value head =
        sb::value::map{{"kind", "notification"},
                       {"method", "test"},
                       {"params", sb::value::map{{"data", sb::buffer::adopt(std::move(bytes))}}}};
    return sb::encode_frame(head, sb::encode_options{});
}

std::vector<std::byte> bytes_of(const sb::encoded_frame& frame) {
    std::vector<std::byte> out;
    frame.for_each_buffer(
        [&](sb::const_bytes piece) { out.insert(out.end(), piece.data, piece.data + piece.size); });
    return out;
}

std::vector<std::byte> read_exactly(tcp::socket& socket, std::size_t n) {
    std::vector<std::byte> received(n);
    asio::read(socket, asio::buffer(received));
    return received;
}

} // namespace

TEST_CASE("write_frame_now writes a small frame whole, in one go") {
    stream_pair pair;
    sb::frame_stream<tcp::socket> stream(std::move(pair.client));
    auto frame = frame_with_bulk(100);
    std::error_code ec;
    CHECK(stream.write_frame_now(frame, ec) == frame.total_size());
    CHECK_FALSE(ec);
    CHECK(read_exactly(pair.server, frame.total_size()) == bytes_of(frame));
}

TEST_CASE("a frame larger than the socket takes is finished by async_write_frame from where "
          "write_frame_now stopped") {
    stream_pair pair;
    sb::frame_stream<tcp::socket> stream(std::move(pair.client));
    auto frame = frame_with_bulk(32 * 1024 * 1024); // far beyond any socket buffer
    std::error_code ec;
    std::size_t written = stream.write_frame_now(frame, ec);
    CHECK_FALSE(ec);
    CHECK(written > 0);
    REQUIRE(written < frame.total_size());

    std::size_t finished = 0;
    std::error_code write_ec;
    stream.async_write_frame(frame, written, [&](std::error_code e, std::size_t n) {
        write_ec = e;
        finished = n;
    });
    std::thread runner([&] { pair.io.run(); });
    auto received = read_exactly(pair.server, frame.total_size());
    runner.join();
    CHECK_FALSE(write_ec);
    CHECK(finished == frame.total_size() - written);
    CHECK(received == bytes_of(frame));
}

TEST_CASE("write_frame_now writes nothing on a stream that cannot try a write") {
    asio::io_context io;
    sb::frame_stream<sb::any_stream> stream(sb::any_stream(sb::pipe_stream(io.get_executor())));
    auto frame = frame_with_bulk(10);
    std::error_code ec;
    CHECK(stream.write_frame_now(frame, ec) == 0);
    CHECK_FALSE(ec);
}

TEST_CASE("write_frame_now reports a connection the peer has closed") {
    stream_pair pair;
    sb::frame_stream<tcp::socket> stream(std::move(pair.client));
    pair.server.close();
    auto frame = frame_with_bulk(1000);
    std::error_code ec;
    // The first write may still be accepted; the peer's reset fails a later one.
    for (int attempt = 0; attempt < 100 && !ec; ++attempt) {
        stream.write_frame_now(frame, ec);
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    CHECK(ec);
}

TEST_CASE("with transient heads, frames staged whole, with bulk or split across reads are read "
          "as without them") {
    stream_pair pair;
    sb::frame_stream<tcp::socket> reader(std::move(pair.server));
    reader.set_transient_heads(true);
    const sb::value small_head =
        sb::value::map{{"kind", "notification"}, {"method", "small"}, {"params", sb::value::map{}}};
    const auto small = bytes_of(sb::encode_frame(small_head, sb::encode_options{}));
    const auto with_bulk = frame_with_bulk(100);
    const auto bulky = bytes_of(with_bulk);
    // Two small frames and one with bulk in one write, then a small one in two.
    std::vector<std::byte> first = small;
    first.insert(first.end(), bulky.begin(), bulky.end());
    first.insert(first.end(), small.begin(), small.end());
    first.insert(first.end(), small.begin(), small.begin() + 20);
    asio::write(pair.client, asio::buffer(first));
    std::vector<sb::value> heads;
    std::vector<std::size_t> bulk_sizes;
    std::function<void()> read_one = [&] {
        reader.async_read_frame([&](std::error_code ec, sb::received_frame frame,
                                    sb::frame_arrival) {
            REQUIRE(!ec);
            std::error_code decode_ec;
            // Decoded before the next read starts, as transient heads ask.
            heads.push_back(sb::decode_frame(frame, {}, sb::codec_set::all(), decode_ec));
            CHECK(!decode_ec);
            bulk_sizes.push_back(frame.bulk.size());
            if (heads.size() == 3) {
                asio::write(pair.client, asio::buffer(small.data() + 20, small.size() - 20));
            }
            if (heads.size() < 4) {
                read_one();
            }
        });
    };
    read_one();
    pair.io.run();
    REQUIRE(heads.size() == 4);
    CHECK(heads[0] == small_head);
    CHECK(heads[2] == small_head);
    CHECK(heads[3] == small_head);
    CHECK(heads[1].find("method")->as_string() == "test");
    CHECK(bulk_sizes == std::vector<std::size_t>{0, with_bulk.header().bulk_length, 0, 0});
}
