// The in-memory test stream and its fail_count (slicerbridge/test/stream.hpp), alone and under a
// frame_stream: frames cross intact in one-byte writes, and failing each operation in turn of a
// frame's exchange fails it with the injected error and nothing else.

#include <slicerbridge/test/stream.hpp>

#include <slicerbridge/transport/any_stream.hpp>
#include <slicerbridge/transport/frame_stream.hpp>

#include <doctest/doctest.h>

#include <asio/io_context.hpp>
#include <asio/read.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>
#include <asio/write.hpp>

#include <array>
#include <chrono>
#include <limits>
#include <memory>
#include <string>
#include <vector>

namespace sb = slicerbridge;
namespace sbt = slicerbridge::test;

namespace {

struct test_stream_result {
    bool done = false;
    std::error_code ec;
    std::size_t n = 0;
};

auto test_stream_record(test_stream_result& r) {
    return [&r](std::error_code ec, std::size_t n) {
        r.done = true;
        r.ec = ec;
        r.n = n;
    };
}

/// Runs `io` until it has no work left, for at most ten seconds; true if it ran out of work.
bool test_stream_run_dry(asio::io_context& io) {
    io.restart();
    io.run_for(std::chrono::seconds(10));
    return io.stopped();
}

sb::encoded_frame test_stream_frame(std::size_t bulk_bytes) {
    std::vector<std::byte> bytes(bulk_bytes);
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        bytes[i] = static_cast<std::byte>(i * 13 + i / 253);
    }
    sb::value head =
        sb::value::map{{"kind", "notification"},
                       {"method", "test"},
                       {"params", sb::value::map{{"data", sb::buffer::adopt(std::move(bytes))}}}};
    return sb::encode_frame(head, sb::encode_options{});
}

/// A frame's bytes as they cross the stream: header, head and bulk.
std::vector<std::byte> test_stream_wire_bytes(const sb::encoded_frame& frame) {
    std::vector<std::byte> out;
    frame.for_each_buffer(
        [&](sb::const_bytes piece) { out.insert(out.end(), piece.data, piece.data + piece.size); });
    return out;
}

/// The head and bulk of a frame, after its header.
std::vector<std::byte> test_stream_bytes_of(const sb::encoded_frame& frame) {
    std::vector<std::byte> out = test_stream_wire_bytes(frame);
    out.erase(out.begin(), out.begin() + sb::frame_header_size);
    return out;
}

std::vector<std::byte> test_stream_bytes_of(const sb::received_frame& frame) {
    std::vector<std::byte> out;
    for (const auto* part : {&frame.head, &frame.bulk}) {
        const std::byte* bytes = part->data();
        out.insert(out.end(), bytes, bytes + part->size());
    }
    return out;
}

} // namespace

TEST_CASE("a test stream carries bytes to its peer, in reads of read_size and writes of "
          "write_size") {
    asio::io_context io;
    sbt::stream a(io.get_executor());
    sbt::stream b(io.get_executor());
    sbt::connect(a, b);
    a.write_size(3);
    b.read_size(2);

    const std::string sent = "hello world";
    test_stream_result wrote;
    a.async_write_some(asio::buffer(sent), test_stream_record(wrote));
    CHECK_FALSE(wrote.done); // never inside the initiating function
    std::string got(8, '\0');
    test_stream_result read;
    b.async_read_some(asio::buffer(got), test_stream_record(read));
    CHECK_FALSE(read.done);
    REQUIRE(test_stream_run_dry(io));
    CHECK(wrote.ec == std::error_code());
    CHECK(wrote.n == 3);
    CHECK(read.ec == std::error_code());
    REQUIRE(read.n == 2);
    CHECK(got.substr(0, 2) == "he");

    // The composed operations loop over the partial ones.
    test_stream_result wrote_all;
    const std::string later = sent.substr(3);
    asio::async_write(a, asio::buffer(later), test_stream_record(wrote_all));
    std::string rest(9, '\0');
    test_stream_result read_all;
    asio::async_read(b, asio::buffer(rest), test_stream_record(read_all));
    REQUIRE(test_stream_run_dry(io));
    CHECK(wrote_all.n == sent.size() - 3);
    CHECK(read_all.n == rest.size());
    CHECK(rest == "llo world");
}

TEST_CASE("a read on a test stream waits for the peer's write, and completes on the reading "
          "handler's executor") {
    asio::io_context io;
    sbt::stream a(io.get_executor());
    sbt::stream b(io.get_executor());
    sbt::connect(a, b);
    auto strand = asio::make_strand(io);
    std::string got(4, '\0');
    test_stream_result read;
    bool on_strand = false;
    b.async_read_some(asio::buffer(got),
                      asio::bind_executor(strand, [&](std::error_code ec, std::size_t n) {
                          on_strand = strand.running_in_this_thread();
                          test_stream_record(read)(ec, n);
                      }));
    io.poll();
    CHECK_FALSE(read.done);
    std::error_code ec;
    CHECK(a.write_some_now(asio::buffer(std::string("ping")), ec) == 4);
    CHECK_FALSE(ec);
    CHECK_FALSE(read.done); // the write that completes a read does not run its handler either
    REQUIRE(test_stream_run_dry(io));
    CHECK(read.n == 4);
    CHECK(got == "ping");
    CHECK(on_strand);
}

TEST_CASE("closing either end of a test stream: the peer reads what was sent, then eof, and "
          "cannot write, the closed end's waiting read is aborted") {
    asio::io_context io;
    sbt::stream a(io.get_executor());
    sbt::stream b(io.get_executor());
    sbt::connect(a, b);

    char first[8] = {};
    test_stream_result aborted;
    a.async_read_some(asio::buffer(first), test_stream_record(aborted));
    std::error_code ec;
    CHECK(a.write_some_now(asio::buffer(std::string("bye")), ec) == 3);
    a.close();
    CHECK_FALSE(a.is_open());
    CHECK(b.is_open());

    char got[8] = {};
    test_stream_result sent, ended, refused, after_close;
    b.async_read_some(asio::buffer(got), test_stream_record(sent));
    REQUIRE(test_stream_run_dry(io));
    CHECK(aborted.ec == asio::error::operation_aborted);
    CHECK(sent.n == 3);
    CHECK(std::string(got, 3) == "bye");
    b.async_read_some(asio::buffer(got), test_stream_record(ended));
    b.async_write_some(asio::buffer(got), test_stream_record(refused));
    a.async_read_some(asio::buffer(got), test_stream_record(after_close));
    REQUIRE(test_stream_run_dry(io));
    CHECK(ended.ec == asio::error::eof);
    CHECK(refused.ec == asio::error::broken_pipe);
    CHECK(after_close.ec == asio::error::bad_descriptor);

    // From the other side: the waiting read ends with eof.
    sbt::stream c(io.get_executor());
    sbt::stream d(io.get_executor());
    sbt::connect(c, d);
    test_stream_result waiting;
    d.async_read_some(asio::buffer(got), test_stream_record(waiting));
    io.poll();
    CHECK_FALSE(waiting.done);
    c.close();
    REQUIRE(test_stream_run_dry(io));
    CHECK(waiting.ec == asio::error::eof);
}

TEST_CASE("write_some_now takes nothing while the peer has write_now_limit bytes unread") {
    asio::io_context io;
    sbt::stream a(io.get_executor());
    sbt::stream b(io.get_executor());
    sbt::connect(a, b);
    a.write_now_limit(5);
    std::error_code ec;
    CHECK(a.write_some_now(asio::buffer(std::string("abcdefgh")), ec) == 5);
    CHECK(a.write_some_now(asio::buffer(std::string("fgh")), ec) == 0);
    CHECK_FALSE(ec);
    test_stream_result wrote; // an asynchronous write still goes
    const std::string rest = "fgh";
    a.async_write_some(asio::buffer(rest), test_stream_record(wrote));
    std::string got(8, '\0');
    test_stream_result read;
    asio::async_read(b, asio::buffer(got), test_stream_record(read));
    REQUIRE(test_stream_run_dry(io));
    CHECK(wrote.n == 3);
    CHECK(got == "abcdefgh");
    CHECK(a.write_some_now(asio::buffer(std::string("i")), ec) == 1); // read: room again
    a.write_now_limit(0);
    CHECK(a.write_some_now(asio::buffer(std::string("j")), ec) == 0);
}

TEST_CASE("a fail_count fails the operation numbered n and every one after it, with its error") {
    asio::io_context io;
    sbt::fail_count fc(2, make_error_code(asio::error::timed_out));
    sbt::stream a(io.get_executor(), &fc);
    sbt::stream b(io.get_executor());
    sbt::connect(a, b);
    std::error_code ec;
    CHECK(a.write_some_now(asio::buffer(std::string("x")), ec) == 1);
    CHECK_FALSE(ec);
    test_stream_result second, third, fourth;
    const std::string y = "y";
    a.async_write_some(asio::buffer(y), test_stream_record(second));
    char got[1];
    a.async_read_some(asio::buffer(got), test_stream_record(third));
    CHECK(a.write_some_now(asio::buffer(std::string("z")), ec) == 0);
    CHECK(ec == asio::error::timed_out);
    REQUIRE(test_stream_run_dry(io));
    CHECK(second.ec == std::error_code());
    CHECK(third.ec == asio::error::timed_out);
    CHECK(fc.operations() == 4);
    CHECK(fc.error() == asio::error::timed_out);

    sbt::fail_count first(0);
    sbt::stream c(io.get_executor(), &first);
    c.async_read_some(asio::buffer(got), test_stream_record(fourth));
    REQUIRE(test_stream_run_dry(io));
    CHECK(fourth.ec == asio::error::connection_reset); // the default
}

TEST_CASE("a read still waiting when its io_context is destroyed is destroyed with it, with the "
          "stream its handler owns") {
    std::weak_ptr<sbt::stream> watched;
    {
        asio::io_context io;
        auto a = std::make_shared<sbt::stream>(io.get_executor());
        sbt::stream b(io.get_executor());
        sbt::connect(*a, b);
        watched = a;
        static char target[1];
        a->async_read_some(asio::buffer(target), [a](std::error_code, std::size_t) {});
        a.reset(); // the handler owns the stream that holds the handler
        io.poll();
        CHECK_FALSE(watched.expired());
    }
    CHECK(watched.expired());
}

TEST_CASE("an any_stream wraps a test stream: reads, gathered writes, writes without waiting and "
          "close go through") {
    asio::io_context io;
    sbt::stream a(io.get_executor());
    sbt::stream b(io.get_executor());
    sbt::connect(a, b);
    sb::any_stream wrapped(std::move(a));
    REQUIRE(wrapped.target<sbt::stream>() != nullptr);
    const std::string first = "gather", second = "ed";
    const std::array<asio::const_buffer, 2> pieces{asio::buffer(first), asio::buffer(second)};
    test_stream_result wrote;
    wrapped.async_write_some(pieces, test_stream_record(wrote));
    std::error_code ec;
    CHECK(wrapped.write_some_now(asio::buffer(std::string("!")), ec) == 1);
    std::string got(9, '\0');
    test_stream_result read;
    asio::async_read(b, asio::buffer(got), test_stream_record(read));
    REQUIRE(test_stream_run_dry(io));
    CHECK(wrote.n == 8);
    CHECK(got == "gathered!");
    wrapped.close(ec);
    test_stream_result ended;
    b.async_read_some(asio::buffer(got), test_stream_record(ended));
    REQUIRE(test_stream_run_dry(io));
    CHECK(ended.ec == asio::error::eof);
}

TEST_CASE("a frame written through a test stream a few bytes at a time is read back intact") {
    asio::io_context io;
    sbt::stream a(io.get_executor());
    sbt::stream b(io.get_executor());
    sbt::connect(a, b);
    // 61 (prime) cuts every part of the frame at odd places in about 1,150 writes; one byte at a
    // time took over 10 s in the Windows build under Wine.
    a.write_size(61);
    b.read_size(4093);
    sb::frame_stream<sbt::stream> writer(std::move(a));
    sb::frame_stream<sbt::stream> reader(std::move(b));

    auto frame = test_stream_frame(70000); // beyond the staging buffer: read into its bulk
    test_stream_result wrote;
    writer.async_write_frame(frame, test_stream_record(wrote));
    std::error_code read_ec;
    std::vector<std::byte> got;
    reader.async_read_frame([&](std::error_code ec, sb::received_frame f, sb::frame_arrival) {
        read_ec = ec;
        got = test_stream_bytes_of(f);
    });
    REQUIRE(test_stream_run_dry(io));
    CHECK(wrote.ec == std::error_code());
    CHECK(wrote.n == frame.total_size());
    CHECK_FALSE(read_ec);
    CHECK(got == test_stream_bytes_of(frame));
}

TEST_CASE("failing each operation in turn of a frame's exchange over test streams fails it with "
          "the injected error, until no operation fails") {
    for (const bool writer_fails : {true, false}) {
        CAPTURE(writer_fails);
        std::size_t succeeded_at = 0;
        for (std::size_t n = 0; n < 1000; ++n) {
            CAPTURE(n);
            sbt::fail_count fc(n);
            asio::io_context io;
            sbt::stream a(io.get_executor(), writer_fails ? &fc : nullptr);
            sbt::stream b(io.get_executor(), writer_fails ? nullptr : &fc);
            sbt::connect(a, b);
            a.write_size(8191);
            a.write_now_limit(20000); // part at once, the rest asynchronously
            b.read_size(30000);
            sb::frame_stream<sbt::stream> writer(std::move(a));
            sb::frame_stream<sbt::stream> reader(std::move(b));
            auto frame = test_stream_frame(100000);

            std::error_code write_ec, read_ec;
            std::vector<std::byte> got;
            // As the SDK does: a side whose operation fails closes its stream.
            std::size_t written = writer.write_frame_now(frame, write_ec);
            if (write_ec) {
                writer.next_layer().close();
            } else {
                writer.async_write_frame(frame, written, [&](std::error_code ec, std::size_t) {
                    write_ec = ec;
                    writer.next_layer().close();
                });
            }
            reader.async_read_frame(
                [&](std::error_code ec, sb::received_frame f, sb::frame_arrival) {
                    read_ec = ec;
                    got = test_stream_bytes_of(f);
                    reader.next_layer().close();
                });
            REQUIRE(test_stream_run_dry(io));

            if (fc.operations() <= n) { // nothing failed
                CHECK_FALSE(write_ec);
                CHECK_FALSE(read_ec);
                CHECK(got == test_stream_bytes_of(frame));
                succeeded_at = n;
                break;
            }
            auto& failed = writer_fails ? write_ec : read_ec;
            auto& other = writer_fails ? read_ec : write_ec;
            CHECK(failed == fc.error());
            // The other side sees the stream end, or was done before the failure.
            if (writer_fails) {
                CHECK(other == asio::error::eof);
            } else {
                CHECK((!other || other == asio::error::broken_pipe));
            }
        }
        CHECK(succeeded_at > 2); // the exchange had several operations, each failed once
    }
}

TEST_CASE("a frame read whole in one read arrives at one time, one whose bytes come in two reads "
          "arrives over the time between them") {
    asio::io_context io;
    sbt::stream a(io.get_executor());
    sbt::stream b(io.get_executor());
    sbt::connect(a, b);
    sb::frame_stream<sbt::stream> reader(std::move(b));
    reader.set_transient_heads(true); // as a server reads: small heads where they arrived
    const std::vector<std::byte> bytes = test_stream_wire_bytes(test_stream_frame(0));
    REQUIRE(bytes.size() > sb::frame_header_size + 1);
    std::vector<sb::frame_arrival> arrivals;
    auto read_one = [&] {
        reader.async_read_frame([&](std::error_code ec, sb::received_frame, sb::frame_arrival at) {
            REQUIRE_FALSE(ec);
            arrivals.push_back(at);
        });
    };
    auto write = [&a](const std::byte* data, std::size_t size) {
        asio::async_write(a, asio::buffer(data, size), [](std::error_code, std::size_t) {});
    };

    read_one();
    write(bytes.data(), bytes.size());
    REQUIRE(test_stream_run_dry(io));
    REQUIRE(arrivals.size() == 1);
    CHECK(arrivals[0].first_byte == arrivals[0].last_byte);

    // A slow sender: the head begins, and stops for 5 ms, counted from when the reader has the
    // first part (bytes_received counts the first frame too).
    read_one();
    const std::size_t cut = sb::frame_header_size + 1;
    write(bytes.data(), cut);
    io.restart();
    for (int polls = 0; polls < 1000 && reader.bytes_received() < bytes.size() + cut; ++polls) {
        io.poll();
    }
    REQUIRE(reader.bytes_received() == bytes.size() + cut);
    asio::steady_timer pause(io, std::chrono::milliseconds(5));
    pause.async_wait([&](std::error_code) { write(bytes.data() + cut, bytes.size() - cut); });
    REQUIRE(test_stream_run_dry(io));
    REQUIRE(arrivals.size() == 2);
    CHECK(arrivals[1].last_byte - arrivals[1].first_byte >= std::chrono::milliseconds(5));
}

namespace {

/// A frame_stream reading over a test stream whose reads a fail_count (which fails none) counts,
/// and the peer that writes to it.
struct counted_reader {
    sbt::fail_count reads{std::numeric_limits<std::size_t>::max()};
    sbt::stream peer;
    sb::frame_stream<sbt::stream> stream;
    const std::vector<std::byte> frame_bytes = test_stream_wire_bytes(test_stream_frame(0));
    int frames = 0;
    std::error_code last_error;

    explicit counted_reader(asio::io_context& io)
        : peer(io.get_executor()), stream(sbt::stream(io.get_executor(), &reads)) {
        sbt::connect(peer, stream.next_layer());
    }

    void read() {
        stream.async_read_frame([this](std::error_code ec, sb::received_frame, sb::frame_arrival) {
            last_error = ec;
            frames += ec ? 0 : 1;
        });
    }

    void send() {
        asio::async_write(peer, asio::buffer(frame_bytes), [](std::error_code, std::size_t) {});
    }

    /// Reads one frame the peer sends, to the end.
    void read_one(asio::io_context& io) {
        const int before = frames;
        read();
        send();
        REQUIRE(test_stream_run_dry(io));
        REQUIRE(frames == before + 1);
    }
};

} // namespace

TEST_CASE("a frame_stream alone on its execution context tries its next layer as soon as a "
          "read starts, also when streams on other contexts read on the same thread") {
    asio::io_context io;
    asio::io_context other_io;
    counted_reader reader(io);
    counted_reader other(other_io);
    for (int i = 0; i < 2; ++i) {
        reader.read_one(io);
        other.read_one(other_io);
    }
    const std::size_t reads = reader.reads.operations();
    reader.read();
    CHECK(reader.reads.operations() == reads + 1);
    reader.send();
    REQUIRE(test_stream_run_dry(io));
    CHECK(reader.frames == 3);
}

TEST_CASE("a frame_stream whose execution context read other streams' frames since its last "
          "starts its next read two rounds of the executor's queue later, and reads the frame "
          "intact") {
    asio::io_context io;
    counted_reader first(io);
    counted_reader second(io);
    first.read_one(io);
    second.read_one(io);
    first.read_one(io); // the second's frame came between the first's two
    const std::size_t reads = first.reads.operations();
    first.read();
    CHECK(first.reads.operations() == reads);
    io.restart();
    CHECK(io.poll_one() == 1);
    CHECK(first.reads.operations() == reads);
    CHECK(io.poll_one() == 1);
    CHECK(first.reads.operations() == reads + 1);
    first.send();
    REQUIRE(test_stream_run_dry(io));
    CHECK(first.frames == 3);

    SUBCASE("a read whose frame has begun to arrive with the last one goes on at once") {
        second.read_one(io);
        std::vector<std::byte> bytes = first.frame_bytes;
        const std::size_t cut = sb::frame_header_size + 1;
        bytes.insert(bytes.end(), first.frame_bytes.begin(), first.frame_bytes.begin() + cut);
        std::error_code ec;
        REQUIRE(first.peer.write_some_now(asio::buffer(bytes), ec) == bytes.size());
        first.read(); // a whole frame, and the next one's first bytes, in one read
        REQUIRE(test_stream_run_dry(io));
        REQUIRE(first.frames == 4);
        const std::size_t reads_before = first.reads.operations();
        first.read();
        CHECK(first.reads.operations() == reads_before + 1);
        REQUIRE(first.peer.write_some_now(
                    asio::buffer(first.frame_bytes.data() + cut, first.frame_bytes.size() - cut),
                    ec) == first.frame_bytes.size() - cut);
        REQUIRE(test_stream_run_dry(io));
        CHECK(first.frames == 5);
    }

    SUBCASE("closed while it yields, the read fails as one on a closed stream") {
        second.read_one(io);
        first.read_one(io);
        const std::size_t reads_before = first.reads.operations();
        first.read();
        REQUIRE(first.reads.operations() == reads_before);
        first.stream.next_layer().close();
        REQUIRE(test_stream_run_dry(io));
        CHECK(first.frames == 4);
        CHECK(first.last_error == asio::error::bad_descriptor);
    }
}
