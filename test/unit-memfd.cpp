// Segments passed as sealed memory files (spec section 3.5): the sender and receiver without a
// socket, the descriptors.json vectors, frames over a socket pair, and a server and client over a
// Unix socket. Every test checks that the descriptors it received are closed afterwards, by
// counting /proc/self/fd. Linux only.

#include <slicerbridge/memfd.hpp>

#if defined(__linux__)

#include "support/bytes.hpp"
#include "support/test_server.hpp"

#include <slicerbridge/json.hpp>
#include <slicerbridge/server.hpp>
#include <slicerbridge/sync_client.hpp>
#include <slicerbridge/transport/frame_stream.hpp>
#include <slicerbridge/wire/codec.hpp>

#include <asio/io_context.hpp>
#include <asio/local/connect_pair.hpp>
#include <asio/local/stream_protocol.hpp>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

namespace sb = slicerbridge;
using json = nlohmann::ordered_json;

namespace {

std::size_t open_descriptors() {
    std::size_t count = 0;
    if (DIR* fds = ::opendir("/proc/self/fd")) {
        while (const dirent* entry = ::readdir(fds)) {
            count += entry->d_name[0] != '.' ? 1 : 0;
        }
        ::closedir(fds);
    }
    return count;
}

/// A memory file holding `contents`, `size` bytes long (at least the contents), with `seals`.
int make_memfd(const std::string& contents, int seals, std::size_t size = 0) {
    int fd = ::memfd_create("test", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    REQUIRE(fd >= 0);
    REQUIRE(::ftruncate(fd, static_cast<off_t>(std::max(size, contents.size()))) == 0);
    REQUIRE(::pwrite(fd, contents.data(), contents.size(), 0) ==
            static_cast<ssize_t>(contents.size()));
    if (seals != 0) {
        REQUIRE(::fcntl(fd, F_ADD_SEALS, seals) == 0);
    }
    return fd;
}

constexpr int all_seals = F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW;

/// The descriptors a vector passes with its frame, as a receiver would hold them.
sb::frame_descriptors descriptors_of(const json& vector) {
    sb::frame_descriptors descriptors;
    for (const auto& spec : vector["descriptors"]) {
        const auto kind = spec["kind"].get<std::string>();
        if (kind == "pipe") {
            int ends[2];
            REQUIRE(::pipe2(ends, O_CLOEXEC) == 0);
            ::close(ends[1]);
            descriptors.add(ends[0]);
        } else if (kind == "directory") {
            int fd = ::open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            REQUIRE(fd >= 0);
            descriptors.add(fd);
        } else {
            int seals = 0;
            for (const auto& seal : spec["seals"]) {
                seals |= seal == "write"    ? F_SEAL_WRITE
                         : seal == "shrink" ? F_SEAL_SHRINK
                                            : F_SEAL_GROW;
            }
            const auto raw = test_support::from_hex(spec["hex"].get<std::string>());
            descriptors.add(
                make_memfd(std::string(reinterpret_cast<const char*>(raw.data()), raw.size()),
                           seals, spec.value("size", std::size_t{0})));
        }
    }
    if (vector["descriptors"].size() > sb::max_descriptors_per_frame) {
        descriptors.set_overflowed(); // what the kernel reports as MSG_CTRUNC
    }
    descriptors.set_in_force(vector["in_force"].get<bool>());
    return descriptors;
}

json load_descriptor_vectors() {
    std::ifstream in(std::filesystem::path(SLICERBRIDGE_VECTORS_DIR) / "descriptors.json");
    return json::parse(in).at("vectors");
}

sb::buffer text_buffer(const std::string& text) {
    return sb::buffer::copy_of(text.data(), text.size());
}

sb::buffer memfd_text(const std::string& text) {
    std::error_code ec;
    auto b = sb::memfd_buffer(
        text.size(), [&](std::byte* out) { std::memcpy(out, text.data(), text.size()); }, ec);
    REQUIRE_FALSE(ec);
    return b;
}

sb::value ping_with(sb::value segment) {
    return sb::value(sb::value::map{{"kind", sb::value("request")},
                                    {"id", sb::value(std::uint64_t{1})},
                                    {"method", sb::value("ping")},
                                    {"x-segment", std::move(segment)}});
}

sb::encode_options by_descriptor(std::size_t min = 4) {
    sb::encode_options options;
    options.descriptors = true;
    options.descriptor_min = min;
    return options;
}

/// The frame's head and bulk, as a receiver holds them.
struct split_frame {
    sb::buffer head;
    sb::buffer bulk;
};

split_frame split(const std::vector<std::byte>& frame) {
    std::error_code ec;
    auto header = sb::parse_frame_header(frame.data(), sb::limits{}, ec);
    REQUIRE_FALSE(ec);
    return {sb::buffer::copy_of(frame.data() + 16, header.head_length),
            sb::buffer::copy_of(frame.data() + 16 + header.head_length,
                                static_cast<std::size_t>(header.bulk_length))};
}

const sb::buffer& segment_of(const sb::value& head) {
    const sb::value* segment = head.find("x-segment");
    REQUIRE(segment != nullptr);
    REQUIRE(segment->get_if<sb::bulk>() != nullptr);
    return segment->get_if<sb::bulk>()->data;
}

/// Duplicates of `fds`, as a receiver would get them, owned by the result.
sb::frame_descriptors received(const std::vector<int>& fds, bool in_force = true) {
    sb::frame_descriptors descriptors;
    for (int fd : fds) {
        descriptors.add(::fcntl(fd, F_DUPFD_CLOEXEC, 0));
    }
    descriptors.set_in_force(in_force);
    return descriptors;
}

} // namespace

TEST_SUITE("memfd") {

    TEST_CASE("memfd_buffer makes a sealed, read-only memory file [FD-8]") {
        const auto before = open_descriptors();
        {
            sb::buffer b = memfd_text("hello, memfd");
            CHECK(sb::in_memfd(b));
            CHECK(std::string(reinterpret_cast<const char*>(b.data()), b.size()) == "hello, memfd");
            auto location = sb::detail::platform::memfd_location_of(b);
            REQUIRE(location);
            CHECK((::fcntl(location->fd, F_GET_SEALS) & all_seals) == all_seals);
            CHECK(::pwrite(location->fd, "x", 1, 0) < 0); // sealed against writing
            CHECK(sb::in_memfd(b.slice(7, 5)));
            CHECK_FALSE(sb::in_memfd(text_buffer("in memory")));
        }
        CHECK(open_descriptors() == before);
    }

    TEST_CASE("a large segment is sent by descriptor and received as a mapping, without a copy "
              "[FD-1] [FD-2] [FD-4] [FD-5] [FD-6]") {
        const auto before = open_descriptors();
        {
            const std::string text(64, 'v');
            sb::encoded_frame frame = sb::encode_frame(
                ping_with(sb::value(sb::bulk{text_buffer(text)})), by_descriptor());
            REQUIRE(frame.descriptors().size() == 1);
            CHECK(frame.header().bulk_length == 0);
            auto parts = split(frame.to_bytes());
            std::error_code ec;
            sb::value head = sb::decode_head(parts.head, parts.bulk, received(frame.descriptors()),
                                             sb::limits{}, {}, ec);
            REQUIRE_FALSE(ec);
            const sb::buffer& segment = segment_of(head);
            CHECK(std::string(reinterpret_cast<const char*>(segment.data()), segment.size()) ==
                  text);
            CHECK(sb::in_memfd(segment));

            // An echo returns the received mapping: the same file goes back, no new one is made.
            sb::encoded_frame echo =
                sb::encode_frame(ping_with(sb::value(sb::bulk{segment})), by_descriptor());
            REQUIRE(echo.descriptors().size() == 1);
            CHECK(echo.descriptors()[0] == sb::detail::platform::memfd_location_of(segment)->fd);
        }
        CHECK(open_descriptors() == before);
    }

    TEST_CASE("small segments, and frames without transfer.memfd, stay in-band [FD-1] [FD-2]") {
        sb::encoded_frame small = sb::encode_frame(
            ping_with(sb::value(sb::bulk{text_buffer("tiny")})), by_descriptor(64));
        CHECK(small.descriptors().empty());
        CHECK(small.header().bulk_length == 4);
        sb::encoded_frame off =
            sb::encode_frame(ping_with(sb::value(sb::bulk{memfd_text("in a file")})));
        CHECK(off.descriptors().empty());
        CHECK(off.header().bulk_length == 9);
    }

    TEST_CASE("one frame passes at most 16 descriptors, further segments go in-band [FD-2]") {
        const auto before = open_descriptors();
        {
            sb::value::array segments;
            for (int i = 0; i < 18; ++i) {
                segments.emplace_back(sb::bulk{text_buffer("segment " + std::to_string(i))});
            }
            sb::encoded_frame frame =
                sb::encode_frame(ping_with(sb::value(std::move(segments))), by_descriptor());
            CHECK(frame.descriptors().size() == sb::max_descriptors_per_frame);
            CHECK(frame.header().bulk_length > 0);
            auto parts = split(frame.to_bytes());
            std::error_code ec;
            sb::value head = sb::decode_head(parts.head, parts.bulk, received(frame.descriptors()),
                                             sb::limits{}, {}, ec);
            REQUIRE_FALSE(ec);
            const auto& decoded = head.find("x-segment")->as_array();
            REQUIRE(decoded.size() == 18);
            for (int i = 0; i < 18; ++i) {
                const auto& data = decoded[static_cast<std::size_t>(i)].get_if<sb::bulk>()->data;
                CHECK(std::string(reinterpret_cast<const char*>(data.data()), data.size()) ==
                      "segment " + std::to_string(i));
            }
        }
        CHECK(open_descriptors() == before);
    }

    TEST_CASE(
        "descriptors.json: every vector decodes to its value or fails with its error, and every "
        "descriptor is closed [FD-3] [FD-4] [FD-5] [FD-6] [FD-7] [FD-9]") {
        const json vectors = load_descriptor_vectors();
        REQUIRE(vectors.size() > 20);
        for (const auto& v : vectors) {
            CAPTURE(v["id"].get<std::string>());
            const auto before = open_descriptors();
            {
                sb::limits l;
                if (v.contains("limits") && v["limits"].contains("max_frame")) {
                    l.max_frame = v["limits"]["max_frame"].get<std::uint64_t>();
                }
                auto parts = split(test_support::from_hex(v["hex"].get<std::string>()));
                std::error_code ec;
                sb::value head;
                {
                    sb::frame_descriptors descriptors = descriptors_of(v);
                    head = sb::decode_head(parts.head, parts.bulk, descriptors, l, {}, ec);
                }
                if (v["class"] == "accept") {
                    REQUIRE_FALSE(ec);
                    CHECK(sb::to_json<json>(head).dump() == v["decoded"].dump());
                } else {
                    REQUIRE(ec);
                    CHECK(std::string(sb::error_name(static_cast<sb::error>(ec.value()))) ==
                          v["error"].get<std::string>());
                }
            }
            CHECK(open_descriptors() == before);
        }
    }

    TEST_CASE("over a socket pair, descriptors arrive with the frame they were sent with "
              "[FD-2] [FD-3] [FD-6]") {
        const auto before = open_descriptors();
        {
            asio::io_context io;
            asio::local::stream_protocol::socket a(io), b(io);
            asio::local::connect_pair(a, b);
            sb::frame_stream<asio::local::stream_protocol::socket> sender(std::move(a));
            sb::frame_stream<asio::local::stream_protocol::socket> receiver(std::move(b));
            REQUIRE(sender.enable_descriptor_passing());
            REQUIRE(receiver.enable_descriptor_passing());

            const std::string big(1 << 20, 'm');
            std::vector<sb::encoded_frame> frames;
            frames.push_back(sb::encode_frame(ping_with(sb::value(sb::bulk{text_buffer("first")})),
                                              by_descriptor(64)));
            frames.push_back(sb::encode_frame(ping_with(sb::value(sb::bulk{text_buffer(big)})),
                                              by_descriptor(64)));
            frames.push_back(sb::encode_frame(ping_with(sb::value(sb::bulk{text_buffer("third")})),
                                              by_descriptor(64)));
            REQUIRE(frames[1].descriptors().size() == 1);
            for (const auto& f : frames) {
                std::error_code ec;
                CHECK(sender.write_frame_now(f, ec) ==
                      f.total_size()); // small: the big one is a file
                REQUIRE_FALSE(ec);
            }
            std::vector<std::string> texts;
            std::vector<std::size_t> counts;
            for (int i = 0; i < 3; ++i) {
                receiver.async_read_frame(
                    [&](std::error_code e, sb::received_frame frame, sb::frame_arrival) {
                        REQUIRE_FALSE(e);
                        counts.push_back(frame.descriptors.size());
                        std::error_code ec;
                        sb::value head = sb::decode_frame(frame, sb::limits{}, {}, ec);
                        REQUIRE_FALSE(ec);
                        const auto& data = segment_of(head);
                        texts.emplace_back(reinterpret_cast<const char*>(data.data()), data.size());
                    });
                io.restart();
                io.run_for(std::chrono::seconds(5));
            }
            REQUIRE(texts.size() == 3);
            CHECK(texts[0] == "first");
            CHECK(texts[1] == big);
            CHECK(texts[2] == "third");
            CHECK(counts == std::vector<std::size_t>{0, 1, 0});
        }
        CHECK(open_descriptors() == before);
    }

    namespace {

    /// Sends `text` as one frame's bytes with `fds` beside them, bypassing the encoder.
    void send_raw(int socket, const std::vector<std::byte>& bytes, const std::vector<int>& fds) {
        ::iovec piece{const_cast<std::byte*>(bytes.data()), bytes.size()};
        std::vector<unsigned char> control(CMSG_SPACE(sizeof(int) * fds.size()));
        ::msghdr message{};
        message.msg_iov = &piece;
        message.msg_iovlen = 1;
        message.msg_control = control.data();
        message.msg_controllen = control.size();
        ::cmsghdr* part = CMSG_FIRSTHDR(&message);
        part->cmsg_level = SOL_SOCKET;
        part->cmsg_type = SCM_RIGHTS;
        part->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
        if (!fds.empty()) {
            std::memcpy(CMSG_DATA(part), fds.data(), sizeof(int) * fds.size());
        }
        REQUIRE(::sendmsg(socket, &message, MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size()));
    }

    /// Reads one frame on `receiver` and decodes it; the error name, or "" if it decoded.
    template <class Stream>
    std::string read_and_decode(asio::io_context& io, Stream& receiver, std::size_t& descriptors) {
        std::string outcome = "nothing read";
        receiver.async_read_frame(
            [&](std::error_code e, sb::received_frame frame, sb::frame_arrival) {
                REQUIRE_FALSE(e);
                descriptors = frame.descriptors.size();
                std::error_code ec;
                sb::decode_frame(frame, sb::limits{}, {}, ec);
                outcome = ec ? std::string(sb::error_name(static_cast<sb::error>(ec.value()))) : "";
            });
        io.restart();
        io.run_for(std::chrono::seconds(5));
        return outcome;
    }

    } // namespace

    TEST_CASE("hostile descriptors over a socket pair: without the capability, too many, or beside "
              "an unreferencing frame, each is invalid_message and all are closed [FD-3] [FD-6]") {
        const auto before = open_descriptors();
        {
            asio::io_context io;
            asio::local::stream_protocol::socket a(io), b(io);
            asio::local::connect_pair(a, b);
            sb::frame_stream<asio::local::stream_protocol::socket> receiver(std::move(b));
            const int file = make_memfd("sixteen bytes!!!", all_seals);
            std::vector<std::byte> reference{std::byte{0xc7}, std::byte{20}, std::byte{2}};
            reference.resize(3 + 20);
            reference[3 + 4 + 8 + 7] = std::byte{16}; // index 0, offset 0, length 16
            sb::value ping = ping_with(sb::value(sb::value::map{}));
            const auto plain = sb::encode_frame(ping).to_bytes();
            std::size_t count = 0;

            send_raw(a.native_handle(), plain, {file});
            CHECK(read_and_decode(io, receiver, count) == "invalid_message"); // not in force
            CHECK(count == 1);

            REQUIRE(receiver.enable_descriptor_passing());
            send_raw(a.native_handle(), plain, {file});
            CHECK(read_and_decode(io, receiver, count) == "invalid_message"); // unreferenced
            send_raw(a.native_handle(), plain, std::vector<int>(17, file));
            CHECK(read_and_decode(io, receiver, count) == "invalid_message"); // over 16: cut short
            CHECK(count == 16);
            send_raw(a.native_handle(), plain, {});
            CHECK(read_and_decode(io, receiver, count) == ""); // the stream is still in step
            CHECK(count == 0);
            ::close(file);
        }
        CHECK(open_descriptors() == before);
    }

    TEST_CASE("a client and server on a Unix socket agree on transfer.memfd and echo a volume "
              "without copying it [FD-1] [FD-8] [CAP-4]") {
        asio::io_context io;
        sb::server unix_server(io.get_executor());
        test_support::add_test_processors(unix_server,
                                          std::make_shared<test_support::watch_record>());
        const std::string path = "/tmp/slicerbridge-memfd-" + std::to_string(::getpid()) + ".sock";
        std::error_code ec;
        unix_server.listen_unix(path, ec);
        REQUIRE_FALSE(ec);
        std::thread runner([&] { io.run_for(std::chrono::seconds(20)); });
        {
            auto client = sb::sync_client::connect("unix:" + path);
            const auto& listed = client->server_info().capabilities;
            CHECK(std::find(listed.begin(), listed.end(), "transfer.memfd") != listed.end());

            sb::image volume;
            volume.dims = {128, 128, 128};
            volume.dtype = sb::dtype::uint8;
            volume.data = sb::memfd_buffer(
                128 * 128 * 128, [](std::byte* out) { std::memset(out, 7, 128 * 128 * 128); }, ec);
            REQUIRE_FALSE(ec);
            sb::invoke_params params;
            params.processor = "echo";
            params.inputs.emplace_back("image", sb::data_value(volume));
            auto reply = client->invoke(params);
            REQUIRE(reply.result.outputs.size() == 1);
            const auto* echoed = std::get_if<sb::image>(&reply.result.outputs[0].second);
            REQUIRE(echoed != nullptr);
            CHECK(echoed->data == volume.data);
            CHECK(sb::in_memfd(echoed->data)); // mapped, not copied into the frame's bulk
        }
        unix_server.shutdown(std::chrono::milliseconds(0));
        io.stop();
        runner.join();
    }

} // TEST_SUITE

#endif
