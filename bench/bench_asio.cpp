// Plain Asio: bench_socket's throughput test (--clients connections, one small message
// outstanding on each, echoed) with both sides on Asio's reactor, one thread each, and no
// protocol. It is the floor for anything built on Asio, SlicerBridge's SDK among them: Asio reads
// once more per message than an epoll loop (after each message it tries the socket again before
// waiting, and finds it empty), so this row shows what that costs apart from SlicerBridge's own
// work.
//
//   --test throughput  --clients N --bytes B --seconds S --warmup-seconds W --batches K
//
// Transport: --transport tcp (127.0.0.1, TCP_NODELAY) or unix. The server is a forked process.

#include "bench_common.hpp"

#include <asio/generic/stream_protocol.hpp>
#include <asio/io_context.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>

#include <memory>

namespace {

using namespace bench;
using socket_type = asio::generic::stream_protocol::socket;

asio::generic::stream_protocol protocol_of(transport kind) {
    return kind == transport::tcp ? asio::generic::stream_protocol(AF_INET, IPPROTO_TCP)
                                  : asio::generic::stream_protocol(AF_UNIX, 0);
}

// Reads a message, writes it back, and again until the peer closes.
class echo_connection : public std::enable_shared_from_this<echo_connection> {
public:
    echo_connection(socket_type socket, std::size_t bytes)
        : socket_(std::move(socket)), message_(bytes) {}

    void read() {
        asio::async_read(socket_, asio::buffer(message_),
                         [self = shared_from_this()](std::error_code ec, std::size_t) {
                             if (!ec)
                                 self->write();
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
};

void serve(transport kind, const std::string& unix_path, std::uint64_t bytes,
           std::uint64_t clients, const server_process::announce_function& announce) {
    std::string endpoint;
    file_descriptor listener = listen_on(kind, unix_path, endpoint);
    announce(endpoint);
    asio::io_context io(1);
    for (std::uint64_t c = 0; c < clients; ++c) {
        file_descriptor accepted = accept_connection(kind, listener.get());
        socket_type socket(io, protocol_of(kind), accepted.release());
        std::make_shared<echo_connection>(std::move(socket), bytes)->read();
    }
    io.run();
}

// Every connection sends, then sends again on each reply until the deadline; a batch ends when
// the last reply is in.
class throughput_driver {
public:
    throughput_driver(std::vector<socket_type>& sockets, std::size_t bytes)
        : sockets_(sockets), request_(bytes), replies_(sockets.size(),
                                                         std::vector<unsigned char>(bytes)) {
        fill_pattern(request_.data(), request_.size());
    }

    struct batch {
        double seconds = 0;
        std::uint64_t calls = 0;
        std::vector<double> latencies;
    };

    batch run(asio::io_context& io, double duration) {
        batch_ = batch{};
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
                             if (now < deadline_)
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
    clock::time_point start_, deadline_;
    std::error_code failure_;
};

void run_throughput(transport kind, const arguments& args) {
    std::uint64_t bytes = args.count("bytes", 64);
    std::uint64_t clients = args.count("clients", 1);
    double seconds = args.number("seconds", 1.0);
    double warmup_seconds = args.number("warmup-seconds", 0.2);
    std::uint64_t batches = args.count("batches", 1);
    if (clients == 0 || batches == 0 || bytes == 0)
        throw std::invalid_argument("--clients, --batches and --bytes must be at least 1");
    temporary_directory directory;
    std::string unix_path = directory.socket_path();
    server_process server([&](const server_process::announce_function& announce) {
        serve(kind, unix_path, bytes, clients, announce);
    });

    std::string endpoint = server.endpoint();

    asio::io_context io(1);
    std::vector<socket_type> sockets;
    for (std::uint64_t c = 0; c < clients; ++c) {
        file_descriptor connection = connect_to(kind, endpoint);
        sockets.emplace_back(io, protocol_of(kind), connection.release());
    }
    throughput_driver driver(sockets, bytes);
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
                  {"seconds_per_batch", seconds},
                  {"calls", total_calls},
                  {"batch_calls_per_second", rates},
                  {"batch_p50_seconds", p50s},
                  {"calls_per_second", median(rates)}});
}

} // namespace

int main(int argc, char** argv) {
    return bench::guarded_main([&] {
        bench::arguments args(argc, argv,
                              {"test", "transport", "bytes", "batches", "clients", "seconds",
                               "warmup-seconds", "timeout"});
        bench::arm_watchdog(args.count("timeout", 600));
        auto kind = bench::parse_transport(args.text("transport", "tcp"));
        if (args.text("test", "throughput") != "throughput")
            throw std::invalid_argument("--test must be throughput");
        run_throughput(kind, args);
    });
}
