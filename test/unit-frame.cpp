#include <slicerbridge/wire/frame.hpp>

#include "support/allocation_recorder.hpp"
#include "support/bytes.hpp"
#include "support/printers.hpp"

#include <doctest/doctest.h>

#include <cstring>
#include <stdexcept>

using slicerbridge::error;
using slicerbridge::frame_header;
using slicerbridge::frame_reader;
using slicerbridge::limits;
using test_support::bytes;
using test_support::frame_header_bytes;
using test_support::from_hex;

namespace {

limits small_limits(std::uint64_t max_frame, std::uint64_t max_head) {
    limits l;
    l.max_frame = max_frame;
    l.max_head = max_head;
    return l;
}

struct fed_frame {
    bool done = false;
    std::error_code error;
    std::size_t consumed = 0;
    slicerbridge::received_frame frame;
};

fed_frame feed_all(frame_reader& reader, const bytes& data) {
    fed_frame result;
    result.consumed = reader.consume(data.data(), data.size());
    result.done = reader.done();
    result.error = reader.error();
    if (result.done) {
        result.frame = reader.release();
    }
    return result;
}

fed_frame feed_byte_by_byte(frame_reader& reader, const bytes& data) {
    fed_frame result;
    for (std::byte b : data) {
        auto region = reader.prepare();
        if (region.size == 0) {
            break;
        }
        region.data[0] = b;
        reader.commit(1);
        ++result.consumed;
    }
    result.done = reader.done();
    result.error = reader.error();
    if (result.done) {
        result.frame = reader.release();
    }
    return result;
}

} // namespace

TEST_CASE("write_frame_header writes magic, format, zero flags and big-endian sizes "
          "[FRAME-1] [FRAME-2] [FRAME-5]") {
    std::byte out[16];
    slicerbridge::write_frame_header({0x1e, 0x0102030405060708ull}, out);
    CHECK(test_support::to_hex(out, 16) == "534201000000001e0102030405060708");
}

TEST_CASE("parse_frame_header reads sizes and ignores flags [FRAME-2]") {
    std::error_code ec;
    const bytes header = frame_header_bytes(30, 8, 0xff);
    const frame_header parsed = slicerbridge::parse_frame_header(header.data(), limits{}, ec);
    CHECK_FALSE(ec);
    CHECK(parsed == frame_header{30, 8});
}

TEST_CASE("parse_frame_header rejects other magic or format with malformed_frame [FRAME-1]") {
    std::error_code ec;
    slicerbridge::parse_frame_header(frame_header_bytes(1, 0, 0, 1, 0x5343).data(), limits{}, ec);
    CHECK(ec == error::malformed_frame);
    slicerbridge::parse_frame_header(frame_header_bytes(1, 0, 0, 2).data(), limits{}, ec);
    CHECK(ec == error::malformed_frame);
    slicerbridge::parse_frame_header(frame_header_bytes(1, 0, 0, 0).data(), limits{}, ec);
    CHECK(ec == error::malformed_frame);
}

TEST_CASE("parse_frame_header checks head and frame size against the limits [FRAME-3]") {
    std::error_code ec;
    const limits l = small_limits(1000, 100);
    slicerbridge::parse_frame_header(frame_header_bytes(100, 884).data(), l, ec);
    CHECK_FALSE(ec);
    slicerbridge::parse_frame_header(frame_header_bytes(100, 885).data(), l, ec);
    CHECK(ec == error::frame_too_large);
    slicerbridge::parse_frame_header(frame_header_bytes(101, 0).data(), l, ec);
    CHECK(ec == error::frame_too_large);
}

TEST_CASE("frame size is computed without overflow [FRAME-9]") {
    std::error_code ec;
    limits l = small_limits(UINT64_MAX, UINT32_MAX);
    slicerbridge::parse_frame_header(frame_header_bytes(1, UINT64_MAX).data(), l, ec);
    CHECK(ec == error::frame_too_large);
    slicerbridge::parse_frame_header(frame_header_bytes(UINT32_MAX, UINT64_MAX - 16).data(), l,
                                     ec);
    CHECK(ec == error::frame_too_large);
    slicerbridge::parse_frame_header(frame_header_bytes(0, UINT64_MAX - 16).data(), l, ec);
    CHECK_FALSE(ec);
}

TEST_CASE("bulk sections over 4 GiB are accepted up to max_frame [FRAME-5]") {
    std::error_code ec;
    const std::uint64_t five_gib = 5ull << 30;
    const frame_header parsed = slicerbridge::parse_frame_header(
        frame_header_bytes(10, five_gib).data(), small_limits(8ull << 30, 1024), ec);
    CHECK_FALSE(ec);
    CHECK(parsed.bulk_length == five_gib);
}

TEST_CASE("frame_reader fed byte by byte and in one go gives identical frames [FRAME-6]") {
    const bytes head = from_hex("81a46b696e64a470696e67");
    const bytes bulk = from_hex("0102030405060708090a");
    const bytes frame = test_support::make_frame(head, bulk);
    frame_reader whole;
    frame_reader bytewise;
    const fed_frame a = feed_all(whole, frame);
    const fed_frame b = feed_byte_by_byte(bytewise, frame);
    REQUIRE(a.done);
    REQUIRE(b.done);
    CHECK(a.consumed == frame.size());
    CHECK(b.consumed == frame.size());
    CHECK(a.frame.header == b.frame.header);
    CHECK(a.frame.head == b.frame.head);
    CHECK(a.frame.bulk == b.frame.bulk);
    CHECK(a.frame.head == test_support::to_buffer(head));
    CHECK(a.frame.bulk == test_support::to_buffer(bulk));
    CHECK(a.frame.header == frame_header{static_cast<std::uint32_t>(head.size()), bulk.size()});
}

TEST_CASE("frame_reader hands out each part whole, then allocates the next [FRAME-6]") {
    const bytes frame = test_support::make_frame(from_hex("c0c0c0"), from_hex("aabbccdd"));
    frame_reader reader;
    auto region = reader.prepare();
    CHECK(region.size == 16);
    std::memcpy(region.data, frame.data(), 10);
    reader.commit(10);
    CHECK(reader.mid_frame());
    CHECK(reader.prepare().size == 6);
    region = reader.prepare();
    std::memcpy(region.data, frame.data() + 10, 6);
    reader.commit(6);
    region = reader.prepare();
    CHECK(region.size == 3);
    std::memcpy(region.data, frame.data() + 16, 3);
    reader.commit(3);
    region = reader.prepare();
    CHECK(region.size == 4);
    CHECK(reinterpret_cast<std::uintptr_t>(region.data) % slicerbridge::buffer::alignment == 0);
    std::memcpy(region.data, frame.data() + 19, 4);
    const std::byte* bulk_home = region.data;
    reader.commit(4);
    REQUIRE(reader.done());
    CHECK(reader.prepare().size == 0);
    const auto received = reader.release();
    CHECK(received.bulk.data() == bulk_home);
    CHECK_FALSE(reader.done());
    CHECK_FALSE(reader.mid_frame());
}

TEST_CASE("consume stops at the end of a frame and leaves the next one") {
    const bytes first = test_support::make_frame(from_hex("01"), from_hex("ff"));
    const bytes second = test_support::make_frame(from_hex("02"));
    const bytes stream = test_support::concat({first, second});
    frame_reader reader;
    std::size_t used = reader.consume(stream.data(), stream.size());
    CHECK(used == first.size());
    REQUIRE(reader.done());
    CHECK(reader.release().head == test_support::to_buffer(from_hex("01")));
    used += reader.consume(stream.data() + used, stream.size() - used);
    CHECK(used == stream.size());
    REQUIRE(reader.done());
    const auto frame = reader.release();
    CHECK(frame.head == test_support::to_buffer(from_hex("02")));
    CHECK(frame.bulk.empty());
}

TEST_CASE("an oversized header is refused before any allocation [FRAME-3] [FRAME-7]") {
    frame_reader reader(small_limits(1 << 20, 1 << 16));
    const bytes header = frame_header_bytes(100, 1ull << 30);
    test_support::allocation_recorder recorder;
    CHECK(reader.consume(header.data(), header.size()) == header.size());
    CHECK(reader.error() == error::frame_too_large);
    CHECK(recorder.stats().count == 0);
    CHECK(reader.prepare().size == 0);
    CHECK_FALSE(reader.done());
    const bytes more(64, std::byte{0});
    CHECK(reader.consume(more.data(), more.size()) == 0);
}

TEST_CASE("a header within limits allocates exactly the head, then exactly the bulk [FRAME-3]") {
    frame_reader reader(small_limits(1 << 30, 1 << 20));
    const bytes header = frame_header_bytes(1000, 200000);
    {
        test_support::allocation_recorder recorder;
        reader.consume(header.data(), header.size());
        CHECK(recorder.stats().count == 1);
        CHECK(recorder.stats().largest >= 1000);
        CHECK(recorder.stats().largest < 1000 + 256);
    }
    const bytes head(1000, std::byte{0xc0});
    test_support::allocation_recorder recorder;
    reader.consume(head.data(), head.size());
    CHECK(recorder.stats().count == 1);
    CHECK(recorder.stats().largest >= 200000);
    CHECK(recorder.stats().largest < 200000 + 256);
    CHECK(reader.prepare().size == 200000);
}

TEST_CASE("a stranger is refused from its first bytes [FRAME-1] [FRAME-7]") {
    const std::string text = "GET / HTTP/1.1\r\n\r\n";
    const bytes http(reinterpret_cast<const std::byte*>(text.data()),
                     reinterpret_cast<const std::byte*>(text.data()) + text.size());
    frame_reader reader;
    const fed_frame fed = feed_byte_by_byte(reader, http);
    CHECK(fed.consumed == 1);
    CHECK(fed.error == error::malformed_frame);
    frame_reader wrong_format;
    const fed_frame third = feed_byte_by_byte(wrong_format, frame_header_bytes(1, 0, 0, 9));
    CHECK(third.consumed == 3);
    CHECK(third.error == error::malformed_frame);
    frame_reader in_one_go;
    CHECK(in_one_go.consume(http.data(), http.size()) == 16);
    CHECK(in_one_go.error() == error::malformed_frame);
}

TEST_CASE("a frame with head_length 0 is consumed whole, bulk included [FRAME-4] [FRAME-10]") {
    const bytes stream = test_support::concat(
        {frame_header_bytes(0, 5), from_hex("0102030405"), test_support::make_frame(from_hex("c0"))});
    frame_reader reader;
    const std::size_t used = reader.consume(stream.data(), stream.size());
    CHECK(used == 21);
    REQUIRE(reader.done());
    const auto empty_head = reader.release();
    CHECK(empty_head.head.empty());
    CHECK(empty_head.bulk.size() == 5);
    reader.consume(stream.data() + used, stream.size() - used);
    REQUIRE(reader.done());
    CHECK(reader.release().head.size() == 1);
}

TEST_CASE("a stream ending inside a frame leaves it undelivered [FRAME-8] [ERR-5]") {
    const bytes frame = test_support::make_frame(from_hex("c0c0"), from_hex("0102"));
    for (std::size_t cut = 1; cut < frame.size(); ++cut) {
        frame_reader reader;
        CHECK(reader.consume(frame.data(), cut) == cut);
        CHECK(reader.mid_frame());
        CHECK(reader.bytes_received() == cut);
        CHECK_FALSE(reader.done());
        CHECK_FALSE(reader.error());
        CHECK_THROWS_AS(reader.release(), std::logic_error);
    }
}

TEST_CASE("limits apply from the next header: handshake frames first [HELLO-4]") {
    frame_reader reader(small_limits(slicerbridge::handshake_max_frame,
                                     slicerbridge::handshake_max_frame));
    const bytes big = frame_header_bytes(10, 70000);
    reader.consume(big.data(), big.size());
    CHECK(reader.error() == error::frame_too_large);
    reader.reset();
    CHECK_FALSE(reader.error());
    reader.set_limits(limits{});
    reader.consume(big.data(), big.size());
    CHECK_FALSE(reader.error());
    CHECK(reader.prepare().size == 10);
}
