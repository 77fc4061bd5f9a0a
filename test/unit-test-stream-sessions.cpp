// The client and the server over in-memory test streams (slicerbridge/test/stream.hpp), with no
// socket: a handshake and an invoke whose image crosses both ways, then the same exchange with
// each operation of one side's stream failed in turn. Every failure must complete what is pending
// with an error, close the connection once, and leave nothing behind: no work in the io_context,
// no connection and no byte held in the server's budget ([LIMIT-9], [DROP-1]).

#include <slicerbridge/client.hpp>
#include <slicerbridge/server.hpp>
#include <slicerbridge/test/stream.hpp>

#include <doctest/doctest.h>

#include <asio/io_context.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <future>
#include <memory>
#include <optional>
#include <vector>

namespace sb = slicerbridge;
namespace sbt = slicerbridge::test;

namespace {

/// How a test stream cuts the traffic: whole, or in small pieces with every write asynchronous.
struct sessions_cut {
    std::size_t read_size;
    std::size_t write_size;
    std::size_t write_now_limit;
};

constexpr std::size_t sessions_unlimited = static_cast<std::size_t>(-1);
constexpr sessions_cut sessions_cuts[] = {
    {sessions_unlimited, sessions_unlimited, sessions_unlimited},
    {3000, 4096, 0},
};

void sessions_apply(sbt::stream& s, const sessions_cut& cut) {
    s.read_size(cut.read_size);
    s.write_size(cut.write_size);
    s.write_now_limit(cut.write_now_limit);
}

/// An image larger than frame_stream's staging buffer, so that its bulk is read in place.
sb::image sessions_image() {
    std::vector<std::uint8_t> voxels(64 * 64 * 20);
    for (std::size_t i = 0; i < voxels.size(); ++i) {
        voxels[i] = static_cast<std::uint8_t>(i * 31 + i / 257);
    }
    return sb::image::adopt(std::move(voxels), {64, 64, 20});
}

sb::invoke_params sessions_echo_call() {
    sb::invoke_params call;
    call.processor = "echo_image";
    call.inputs.emplace_back("image", sessions_image());
    return call;
}

/// Runs `io` until it has no work left, for at most ten seconds; true if it ran out of work.
bool sessions_run_dry(asio::io_context& io) {
    io.restart();
    io.run_for(std::chrono::seconds(10));
    return io.stopped();
}

/// A server played by hand on the other end of the pair, with the SDK's encoder: it answers the
/// hello, then answers one invoke with its image as `image_out`, then closes. It closes on any
/// error too, as a server would.
class sessions_scripted_server : public std::enable_shared_from_this<sessions_scripted_server> {
public:
    explicit sessions_scripted_server(sbt::stream s) : stream_(std::move(s)) {}

    void start() {
        read([](sessions_scripted_server& self, sb::received_frame) {
            self.write(sb::message(sb::server_hello{}), [](sessions_scripted_server& self) {
                self.read([](sessions_scripted_server& self, sb::received_frame frame) {
                    self.answer(frame);
                });
            });
        });
    }

private:
    template <class Next>
    void read(Next next) {
        stream_.async_read_frame([self = shared_from_this(), next](std::error_code ec,
                                                                   sb::received_frame frame,
                                                                   sb::frame_arrival) {
            if (ec) {
                return self->stream_.next_layer().close();
            }
            next(*self, std::move(frame));
        });
    }

    template <class Next>
    void write(const sb::message& m, Next next) {
        std::error_code ec;
        outbox_.push_back(sb::encode_message(m, sb::encode_options{}, ec));
        REQUIRE_FALSE(ec);
        stream_.async_write_frame(outbox_.back(), [self = shared_from_this(),
                                                   next](std::error_code write_ec, std::size_t) {
            if (write_ec) {
                return self->stream_.next_layer().close();
            }
            next(*self);
        });
    }

    void answer(const sb::received_frame& frame) {
        std::error_code ec;
        auto head = sb::decode_frame(frame, sb::limits{}, sb::codec_set::all(), ec);
        REQUIRE_FALSE(ec);
        auto decoded = sb::decode_message(head, false, ec);
        const auto* req = std::get_if<sb::request>(&decoded);
        REQUIRE(req != nullptr);
        CHECK(req->method == "invoke");
        auto params = sb::invoke_params::from_value(req->params, ec);
        REQUIRE_FALSE(ec);
        sb::invoke_result result;
        result.outputs.emplace_back("image_out", *params.input("image"));
        sb::response reply;
        reply.id = req->id;
        reply.result = sb::to_value(result);
        write(sb::message(std::move(reply)),
              [](sessions_scripted_server& self) { self.stream_.next_layer().close(); });
    }

    sb::frame_stream<sbt::stream> stream_;
    std::deque<sb::encoded_frame> outbox_; // referenced by the writes in progress
};

/// What a client saw of one exchange: a handshake, then, if it succeeded, one invoke.
struct sessions_outcome {
    std::optional<std::error_code> handshake;
    std::optional<std::error_code> invoke;
    std::optional<sb::invoke_reply> reply;
    int closes = 0;
    std::error_code close_reason;
};

/// Starts the handshake and the invoke on `client`; `then` runs once the invoke completed.
template <class Then>
void sessions_start(sb::basic_client<sbt::stream>& client, sessions_outcome& out, Then then) {
    client.async_handshake([&client, &out, then](std::error_code ec) {
        out.handshake = ec;
        if (ec) {
            return;
        }
        client.async_invoke(sessions_echo_call(), {},
                            [&out, then](std::error_code invoke_ec, sb::invoke_reply reply) {
                                out.invoke = invoke_ec;
                                out.reply = std::move(reply);
                                then();
                            });
    });
}

sb::client_options sessions_client_options(sessions_outcome& out) {
    sb::client_options options;
    options.on_close = [&out](std::error_code ec) {
        ++out.closes;
        out.close_reason = ec;
    };
    return options;
}

void sessions_check_echo(const sessions_outcome& out) {
    REQUIRE(out.reply);
    const auto* echoed = out.reply->result.output_as<sb::image>("image_out");
    REQUIRE(echoed != nullptr);
    CHECK(*echoed == sessions_image());
}

sb::slot sessions_image_slot(std::string name) {
    sb::slot s;
    s.name = std::move(name);
    s.type = sb::slot_type::image;
    s.label = s.name;
    return s;
}

void sessions_add_echo(sb::server& server,
                       sb::processor_execution execution = sb::processor_execution::worker_pool) {
    sb::processor_description d;
    d.name = "echo_image";
    d.version = "1.0";
    d.title = "Echo an image";
    d.description = "test processor";
    d.category = "Testing";
    d.inputs.push_back(sessions_image_slot("image"));
    d.outputs.push_back(sessions_image_slot("image_out"));
    server.add({d,
                [](sb::call_context&, const sb::invoke_params& params) {
                    sb::invoke_result result;
                    result.outputs.emplace_back("image_out", *params.input("image"));
                    return result;
                }},
               execution);
}

} // namespace

TEST_CASE("a client over a test stream shakes hands with a scripted server and invokes") {
    asio::io_context io;
    sbt::stream a(io.get_executor());
    sbt::stream b(io.get_executor());
    sbt::connect(a, b);
    std::make_shared<sessions_scripted_server>(std::move(b))->start();
    sessions_outcome out;
    sb::basic_client<sbt::stream> client(std::move(a), sessions_client_options(out));
    sessions_start(client, out, [] {});
    REQUIRE(sessions_run_dry(io));
    CHECK(out.handshake == std::error_code());
    CHECK(out.invoke == std::error_code());
    sessions_check_echo(out);
    CHECK(out.closes == 1); // the server closed after its answer
    CHECK(out.close_reason == asio::error::eof);
}

TEST_CASE("a server hello read before the client closed and handled after it is ignored: the "
          "handshake completes once, with operation_aborted") {
    asio::io_context io;
    sbt::stream a(io.get_executor());
    sbt::stream b(io.get_executor());
    sbt::connect(a, b);
    sessions_outcome out;
    sb::basic_client<sbt::stream> client(std::move(a), sessions_client_options(out));
    int handshakes = 0;
    client.async_handshake([&](std::error_code ec) {
        ++handshakes;
        out.handshake = ec;
    });
    io.poll(); // the client sends its hello and waits for the server's
    client.close();
    // The server's hello arrives now: the read's completion is queued behind the close.
    std::error_code ec;
    const auto hello = sb::encode_message(sb::message(sb::server_hello{}), {}, ec).to_bytes();
    REQUIRE_FALSE(ec);
    REQUIRE(b.write_some_now(asio::buffer(hello), ec) == hello.size());
    REQUIRE(sessions_run_dry(io));
    CHECK(handshakes == 1);
    CHECK(out.handshake == asio::error::operation_aborted);
    CHECK(out.closes == 1);
}

TEST_CASE("failing each operation in turn of a client's stream fails the pending handshake or "
          "invoke with the injected error and closes the client once") {
    for (const auto& cut : sessions_cuts) {
        CAPTURE(cut.write_size);
        std::size_t succeeded_at = 0;
        for (std::size_t n = 0; n < 1000; ++n) {
            CAPTURE(n);
            sbt::fail_count fc(n);
            asio::io_context io;
            sbt::stream a(io.get_executor(), &fc);
            sbt::stream b(io.get_executor());
            sbt::connect(a, b);
            sessions_apply(a, cut);
            std::make_shared<sessions_scripted_server>(std::move(b))->start();
            sessions_outcome out;
            sb::basic_client<sbt::stream> client(std::move(a), sessions_client_options(out));
            sessions_start(client, out, [] {});
            REQUIRE(sessions_run_dry(io)); // nothing hangs

            REQUIRE(out.handshake);
            CHECK(out.closes == 1);
            if (fc.operations() <= n) { // nothing failed
                CHECK(*out.handshake == std::error_code());
                CHECK(out.invoke == std::error_code());
                sessions_check_echo(out);
                CHECK(out.close_reason == asio::error::eof);
                succeeded_at = n;
                break;
            }
            CHECK(out.close_reason == fc.error());
            if (*out.handshake) {
                CHECK(*out.handshake == fc.error());
                CHECK_FALSE(out.invoke);
                continue;
            }
            REQUIRE(out.invoke);
            if (*out.invoke) {
                CHECK(*out.invoke == fc.error());
            } else {
                sessions_check_echo(out); // the failure came after the answer
            }
        }
        CHECK(succeeded_at > 3);
    }
}

TEST_CASE("failing each operation in turn of a scripted server's stream fails the client's "
          "pending handshake or invoke with the end of the connection, and closes it once") {
    for (const auto& cut : sessions_cuts) {
        CAPTURE(cut.write_size);
        std::size_t succeeded_at = 0;
        for (std::size_t n = 0; n < 1000; ++n) {
            CAPTURE(n);
            sbt::fail_count fc(n);
            asio::io_context io;
            sbt::stream a(io.get_executor());
            sbt::stream b(io.get_executor(), &fc);
            sbt::connect(a, b);
            sessions_apply(a, cut);
            sessions_apply(b, cut);
            std::make_shared<sessions_scripted_server>(std::move(b))->start();
            sessions_outcome out;
            sb::basic_client<sbt::stream> client(std::move(a), sessions_client_options(out));
            sessions_start(client, out, [] {});
            REQUIRE(sessions_run_dry(io));

            REQUIRE(out.handshake);
            CHECK(out.closes == 1);
            const bool ended = out.close_reason == asio::error::eof ||
                               out.close_reason == asio::error::broken_pipe;
            CHECK(ended);
            REQUIRE((*out.handshake || out.invoke));
            const std::error_code& failed = *out.handshake ? *out.handshake : *out.invoke;
            if (fc.operations() <= n) {
                CHECK_FALSE(failed);
                sessions_check_echo(out);
                succeeded_at = n;
                break;
            }
            if (failed) {
                CHECK(failed == out.close_reason);
            } else {
                sessions_check_echo(out); // the server's failure came after its answer
            }
        }
        CHECK(succeeded_at > 3);
    }
}

TEST_CASE("a server serves a test stream: a client over its peer shakes hands and invokes") {
    asio::io_context io;
    sb::server server(io.get_executor());
    sessions_add_echo(server);
    sbt::stream a(io.get_executor());
    sbt::stream b(io.get_executor());
    sbt::connect(a, b);
    server.serve(std::move(b));
    sessions_outcome out;
    sb::basic_client<sbt::stream> client(std::move(a), sessions_client_options(out));
    sessions_start(client, out, [&client] { client.close(); });
    REQUIRE(sessions_run_dry(io));
    CHECK(out.handshake == std::error_code());
    CHECK(out.invoke == std::error_code());
    sessions_check_echo(out);
}

TEST_CASE("failing each operation in turn of a server's stream ends the session, completes the "
          "client's call, and leaves no connection and no byte held [LIMIT-9] [DROP-1]") {
    using sb::processor_execution;
    for (const auto execution :
         {processor_execution::worker_pool, processor_execution::io_thread}) {
        for (const auto& cut : sessions_cuts) {
            CAPTURE(execution == processor_execution::io_thread);
            CAPTURE(cut.write_size);
            std::size_t succeeded_at = 0;
            for (std::size_t n = 0; n < 1000; ++n) {
                CAPTURE(n);
                sbt::fail_count fc(n);
                std::promise<void> session_closed;
                asio::io_context io;
                sb::server server(io.get_executor());
                sessions_add_echo(server, execution);
                sbt::stream a(io.get_executor());
                sbt::stream b(io.get_executor(), &fc);
                sbt::connect(a, b);
                sessions_apply(b, cut);
                server.serve(std::move(b), [&session_closed] { session_closed.set_value(); });
                sessions_outcome out;
                sb::basic_client<sbt::stream> client(std::move(a), sessions_client_options(out));
                sessions_start(client, out, [&client] { client.close(); });
                REQUIRE(sessions_run_dry(io)); // nothing hangs
                REQUIRE(out.handshake);
                CHECK(out.closes == 1);
                if (!*out.handshake) {
                    REQUIRE(out.invoke); // answered, or failed with the connection
                }
                // The budget is the I/O thread's: all of it is back once the connection is closed.
                CHECK(server.bytes_held() == 0);
                // The session ended by itself; its last owner may be a worker that just finished.
                REQUIRE(session_closed.get_future().wait_for(std::chrono::seconds(10)) ==
                        std::future_status::ready);
                CHECK(server.connection_count() == 0);

                if (fc.operations() <= n) { // nothing failed
                    CHECK(*out.handshake == std::error_code());
                    CHECK(out.invoke == std::error_code());
                    sessions_check_echo(out);
                    succeeded_at = n;
                    break;
                }
            }
            CHECK(succeeded_at > 3);
        }
    }
}
