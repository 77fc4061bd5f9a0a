// Plain Asio: bench_socket's throughput and latency tests (--clients connections, one small
// message outstanding on each, echoed; the latency test with one) with both sides on Asio's
// reactor, one thread each, and no protocol. It is the floor for anything built on Asio,
// SlicerBridge's SDK among them: Asio reads once more per message than an epoll loop or a
// blocking ping-pong (after each message it tries the socket again before waiting, and finds it
// empty), so these rows show what that costs apart from SlicerBridge's own work. The client
// sends each message from the previous reply's handler, as SlicerBridge's client does.
//
// With --workers N the server hands each message to an asio::thread_pool of N threads, which
// hands it back to the I/O thread to be written: Asio's own way to run work off the I/O thread,
// and so the floor under any server that computes a call on a thread other than the one that
// read it (SlicerBridge's worker pool among them): two hand-offs per message and nothing else.
//
// With --io-threads N, N threads run the server's io_context and each message is echoed by the
// thread that read it, deferred off its connection's strand (where a server would compute it, so
// that the connection's other handlers can run meanwhile) and written from the strand: the
// other way to compute on several threads, with no hand-off but a reactor the threads share.
//
//   --test throughput  --clients N --bytes B --seconds S --warmup-seconds W --batches K
//   --test latency     --bytes B --warmup N --calls N --batches K
//   --workers N (0: echo on the I/O thread)  or  --io-threads N (default 1)
//
// Transport: --transport tcp (127.0.0.1, TCP_NODELAY) or unix. The server is a forked process.

#include "bench_common.hpp"

#include <asio/defer.hpp>
#include <asio/dispatch.hpp>
#include <asio/generic/stream_protocol.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/read.hpp>
#include <asio/strand.hpp>
#include <asio/thread_pool.hpp>
#include <asio/write.hpp>

#include <limits>
#include <memory>
#include <optional>
#include <thread>

namespace {

using namespace bench;
using socket_type = asio::generic::stream_protocol::socket;

asio::generic::stream_protocol protocol_of(transport kind) {
    return kind == transport::tcp ? asio::generic::stream_protocol(AF_INET, IPPROTO_TCP)
                                  : asio::generic::stream_protocol(AF_UNIX, 0);
}

// How the server runs: --workers and --io-threads.
struct server_threads {
    std::uint64_t workers = 0;
    std::uint64_t io_threads = 1;

    static server_threads read(const arguments& args) {
        server_threads threads{args.count("workers", 0), args.count("io-threads", 1)};
        if (threads.io_threads == 0 || (threads.workers > 0 && threads.io_threads > 1))
            throw std::invalid_argument("--io-threads must be 1 or more, and 1 with --workers");
        return threads;
    }
};

// Reads a message, writes it back, and again until the peer closes; with a pool, the message
// goes to one of its threads and comes back before it is written; with `shared`, the io_context
// that several threads run, it leaves the connection's strand and comes back.
class echo_connection : public std::enable_shared_from_this<echo_connection> {
public:
    echo_connection(socket_type socket, std::size_t bytes, asio::thread_pool* pool,
                    asio::io_context* shared)
        : socket_(std::move(socket)), message_(bytes), pool_(pool), shared_(shared) {}

    void read() {
        asio::async_read(
            socket_, asio::buffer(message_),
            [self = shared_from_this()](std::error_code ec, std::size_t) {
                if (ec)
                    return;
                if (self->shared_) {
                    // Deferred from a handler, it runs next on this same thread.
                    asio::defer(self->shared_->get_executor(), [self] {
                        asio::dispatch(self->socket_.get_executor(), [self] { self->write(); });
                    });
                    return;
                }
                if (!self->pool_)
                    return self->write();
                // The tracked executor keeps the I/O thread's run() going while
                // the message is away.
                auto back = asio::prefer(self->socket_.get_executor(),
                                         asio::execution::outstanding_work.tracked);
                asio::post(*self->pool_,
                           [self, back] { asio::post(back, [self] { self->write(); }); });
            });
    }

private:
    void write() {
        asio::async_write(socket_, asio::buffer(message_),
                          [self = shared_from_this()](std::error_code ec, std::size_t) {
                              if (!ec)
                                  self->read();
                          });
    }

    socket_type socket_;
    std::vector<unsigned char> message_;
    asio::thread_pool* pool_;
    asio::io_context* shared_;
};

void serve(transport kind, const std::string& unix_path, std::uint64_t bytes, std::uint64_t clients,
           server_threads threads, const server_process::announce_function& announce) {
    std::string endpoint;
    file_descriptor listener = listen_on(kind, unix_path, endpoint);
    announce(endpoint);
    const bool shared = threads.io_threads > 1;
    asio::io_context io(static_cast<int>(threads.io_threads));
    std::optional<asio::thread_pool> pool;
    if (threads.workers > 0)
        pool.emplace(threads.workers);
    for (std::uint64_t c = 0; c < clients; ++c) {
        file_descriptor accepted = accept_connection(kind, listener.get());
        socket_type socket =
            shared ? socket_type(asio::make_strand(io), protocol_of(kind), accepted.release())
                   : socket_type(io, protocol_of(kind), accepted.release());
        std::make_shared<echo_connection>(std::move(socket), bytes, pool ? &*pool : nullptr,
                                          shared ? &io : nullptr)
            ->read();
    }
    std::vector<std::thread> more_threads;
    for (std::uint64_t t = 1; t < threads.io_threads; ++t)
        more_threads.emplace_back([&io] { io.run(); });
    io.run();
    for (auto& thread : more_threads)
        thread.join();
}

// Every connection sends, then sends again on each reply until the deadline or the batch's count
// of calls; a batch ends when the last reply is in.
class call_driver {
public:
    call_driver(std::vector<socket_type>& sockets, std::size_t bytes)
        : sockets_(sockets), request_(bytes),
          replies_(sockets.size(), std::vector<unsigned char>(bytes)) {
        fill_pattern(request_.data(), request_.size());
    }

    struct batch {
        double seconds = 0;
        std::uint64_t calls = 0;
        std::vector<double> latencies;
    };

    batch run(asio::io_context& io, double duration,
              std::uint64_t calls = std::numeric_limits<std::uint64_t>::max()) {
        batch_ = batch{};
        call_limit_ = calls;
        outstanding_ = sockets_.size();
        start_ = clock::now();
        deadline_ = start_ + std::chrono::duration_cast<clock::duration>(
                                 std::chrono::duration<double>(duration));
        for (std::size_t c = 0; c < sockets_.size(); ++c)
            send(c, clock::now());
        io.restart();
        io.run();
        if (failure_)
            throw std::system_error(failure_, "echo failed");
        return batch_;
    }

    bool replies_match() const {
        for (const auto& reply : replies_)
            if (reply != request_)
                return false;
        return true;
    }

private:
    void send(std::size_t c, clock::time_point sent_at) {
        asio::async_write(sockets_[c], asio::buffer(request_),
                          [this, c, sent_at](std::error_code ec, std::size_t) {
                              if (ec)
                                  return fail(ec);
                              receive(c, sent_at);
                          });
    }

    void receive(std::size_t c, clock::time_point sent_at) {
        asio::async_read(sockets_[c], asio::buffer(replies_[c]),
                         [this, c, sent_at](std::error_code ec, std::size_t) {
                             if (ec)
                                 return fail(ec);
                             auto now = clock::now();
                             batch_.latencies.push_back(seconds_between(sent_at, now));
                             ++batch_.calls;
                             if (now < deadline_ && batch_.calls < call_limit_)
                                 return send(c, now);
                             --outstanding_;
                             batch_.seconds = seconds_between(start_, now);
                         });
    }

    void fail(std::error_code ec) {
        failure_ = ec;
        --outstanding_;
    }

    std::vector<socket_type>& sockets_;
    std::vector<unsigned char> request_;
    std::vector<std::vector<unsigned char>> replies_;
    batch batch_;
    std::size_t outstanding_ = 0;
    std::uint64_t call_limit_ = 0;
    clock::time_point start_, deadline_;
    std::error_code failure_;
};

void run_throughput(transport kind, const arguments& args) {
    const std::uint64_t bytes = message_bytes(args);
    const auto [clients, seconds, warmup_seconds, batches] = throughput_plan::read(args);
    const auto threads = server_threads::read(args);
    temporary_directory directory;
    std::string unix_path = directory.socket_path();
    server_process server([&](const server_process::announce_function& announce) {
        serve(kind, unix_path, bytes, clients, threads, announce);
    });

    std::string endpoint = server.endpoint();

    asio::io_context io(1);
    std::vector<socket_type> sockets;
    for (std::uint64_t c = 0; c < clients; ++c) {
        file_descriptor connection = connect_to(kind, endpoint);
        sockets.emplace_back(io, protocol_of(kind), connection.release());
    }
    call_driver driver(sockets, bytes);
    driver.run(io, warmup_seconds);
    std::vector<double> rates;
    std::vector<double> p50s;
    std::uint64_t total_calls = 0;
    for (std::uint64_t b = 0; b < batches; ++b) {
        auto batch = driver.run(io, seconds);
        rates.push_back(static_cast<double>(batch.calls) / batch.seconds);
        p50s.push_back(percentile(batch.latencies, 0.5));
        total_calls += batch.calls;
    }
    if (!driver.replies_match())
        throw std::runtime_error("the echoed bytes differ from the bytes sent");
    sockets.clear();
    server.finish();

    print_result({{"program", "bench_asio"},
                  {"test", "throughput"},
                  {"transport", transport_name(kind)},
                  {"bytes", bytes},
                  {"clients", clients},
                  {"workers", threads.workers},
                  {"io_threads", threads.io_threads},
                  {"seconds_per_batch", seconds},
                  {"calls", total_calls},
                  {"batch_calls_per_second", rates},
                  {"batch_p50_seconds", p50s},
                  {"calls_per_second", median(rates)}});
}

void run_latency(transport kind, const arguments& args) {
    const std::uint64_t bytes = message_bytes(args);
    const auto [warmup, calls, batches] = latency_plan::read(args);
    const auto threads = server_threads::read(args);
    temporary_directory directory;
    std::string unix_path = directory.socket_path();
    server_process server([&](const server_process::announce_function& announce) {
        serve(kind, unix_path, bytes, 1, threads, announce);
    });

    asio::io_context io(1);
    std::vector<socket_type> sockets;
    sockets.emplace_back(io, protocol_of(kind), connect_to(kind, server.endpoint()).release());
    call_driver driver(sockets, bytes);
    constexpr double no_deadline = 1e9;
    driver.run(io, no_deadline, warmup);
    std::vector<std::vector<double>> samples;
    for (std::uint64_t b = 0; b < batches; ++b)
        samples.push_back(driver.run(io, no_deadline, calls).latencies);
    if (!driver.replies_match())
        throw std::runtime_error("the echoed bytes differ from the bytes sent");
    sockets.clear();
    server.finish();

    nlohmann::json result = latency_result(samples, warmup);
    result["bytes"] = bytes;
    result["workers"] = threads.workers;
    result["io_threads"] = threads.io_threads;
    result["program"] = "bench_asio";
    result["transport"] = transport_name(kind);
    print_result(result);
}

} // namespace

int main(int argc, char** argv) {
    return bench::guarded_main([&] {
        bench::arguments args(argc, argv,
                              {"test", "transport", "bytes", "batches", "clients", "seconds",
                               "warmup-seconds", "warmup", "calls", "workers", "io-threads",
                               "timeout"});
        bench::arm_watchdog(args.count("timeout", 600));
        auto kind = bench::parse_transport(args.text("transport", "tcp"));
        auto test = args.text("test", "throughput");
        if (test == "throughput")
            run_throughput(kind, args);
        else if (test == "latency")
            run_latency(kind, args);
        else
            throw std::invalid_argument("--test must be throughput or latency");
    });
}
