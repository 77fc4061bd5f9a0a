// Plain stream sockets: the baselines every other figure is a ratio to.
//
//   --test echo        N bytes to a server that reads them all, then writes them all back; both
//                      sides reuse their buffers (the volume round trip with no protocol at all)
//   --test latency     one client, blocking ping-pong of small messages: p50/p99 per batch
//   --test throughput  --clients connections, each with one message outstanding at a time,
//                      driven by epoll on one thread against a one-thread epoll server
//
// Transport: --transport tcp (127.0.0.1, TCP_NODELAY) or unix. The server is a forked process.
#include "bench_common.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>

namespace {

using namespace bench;

void serve_echo(transport kind, const std::string& unix_path, std::uint64_t bytes,
                const server_process::announce_function& announce) {
    std::string endpoint;
    file_descriptor listener = listen_on(kind, unix_path, endpoint);
    announce(endpoint);
    file_descriptor connection = accept_connection(kind, listener.get());
    std::vector<unsigned char> buffer(bytes);
    while (read_all(connection.get(), buffer.data(), buffer.size()))
        write_all(connection.get(), buffer.data(), buffer.size());
}

void run_echo(transport kind, const arguments& args) {
    std::uint64_t bytes = args.count("bytes", 32u << 20);
    std::uint64_t warmup = args.count("warmup", 1);
    std::uint64_t iterations = args.count("iterations", 3);
    temporary_directory directory;
    std::string unix_path = directory.socket_path();
    server_process server([&](const server_process::announce_function& announce) {
        serve_echo(kind, unix_path, bytes, announce);
    });
    file_descriptor connection = connect_to(kind, server.endpoint());

    std::vector<unsigned char> sent(bytes);
    std::vector<unsigned char> received(bytes);
    fill_pattern(sent.data(), sent.size());
    std::vector<double> round_trips;
    for (std::uint64_t i = 0; i < warmup + iterations; ++i) {
        auto start = clock::now();
        write_all(connection.get(), sent.data(), sent.size());
        if (!read_all(connection.get(), received.data(), received.size()))
            throw std::runtime_error("the server closed the connection");
        auto end = clock::now();
        if (i >= warmup)
            round_trips.push_back(seconds_between(start, end));
    }
    bool verified = sent == received;
    connection.reset();
    std::uint64_t server_peak = server.finish();

    nlohmann::json result = echo_result(round_trips, bytes, warmup, server_peak, verified);
    result["program"] = "bench_socket";
    result["transport"] = transport_name(kind);
    print_result(result);
    if (!verified)
        throw std::runtime_error("the echoed bytes differ from the bytes sent");
}

void run_latency(transport kind, const arguments& args) {
    const std::uint64_t bytes = message_bytes(args);
    const auto [warmup, calls, batches] = latency_plan::read(args);
    temporary_directory directory;
    std::string unix_path = directory.socket_path();
    server_process server([&](const server_process::announce_function& announce) {
        serve_echo(kind, unix_path, bytes, announce);
    });
    file_descriptor connection = connect_to(kind, server.endpoint());

    std::vector<unsigned char> request(bytes);
    std::vector<unsigned char> reply(bytes);
    fill_pattern(request.data(), request.size());
    auto call = [&] {
        write_all(connection.get(), request.data(), request.size());
        if (!read_all(connection.get(), reply.data(), reply.size()))
            throw std::runtime_error("the server closed the connection");
    };
    for (std::uint64_t i = 0; i < warmup; ++i)
        call();
    std::vector<std::vector<double>> samples(batches);
    for (auto& batch : samples) {
        batch.reserve(calls);
        for (std::uint64_t i = 0; i < calls; ++i) {
            auto start = clock::now();
            call();
            batch.push_back(seconds_between(start, clock::now()));
        }
    }
    if (reply != request)
        throw std::runtime_error("the echoed bytes differ from the bytes sent");
    connection.reset();
    server.finish();

    nlohmann::json result = latency_result(samples, warmup);
    result["bytes"] = bytes;
    result["program"] = "bench_socket";
    result["transport"] = transport_name(kind);
    print_result(result);
}

// --- throughput: many connections, one message outstanding on each ---------------------------

void set_non_blocking(int fd) {
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0)
        throw_errno("fcntl O_NONBLOCK");
}

// Writes a whole small message on a non-blocking socket. A message smaller than the socket's
// send buffer, with none outstanding, is taken at once; poll() covers the exception.
void write_message(int fd, const unsigned char* data, std::size_t size) {
    while (size > 0) {
        ssize_t written = write(fd, data, size);
        if (written < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN)
                throw_errno("write");
            pollfd waiting{fd, POLLOUT, 0};
            if (poll(&waiting, 1, -1) < 0 && errno != EINTR)
                throw_errno("poll");
            continue;
        }
        data += written;
        size -= static_cast<std::size_t>(written);
    }
}

// A message being assembled on a non-blocking socket.
struct message_buffer {
    std::vector<unsigned char> bytes;
    std::size_t filled = 0;

    enum class state { partial, complete, closed };

    state read_from(int fd) {
        while (filled < bytes.size()) {
            ssize_t got = read(fd, bytes.data() + filled, bytes.size() - filled);
            if (got < 0) {
                if (errno == EINTR)
                    continue;
                if (errno == EAGAIN)
                    return state::partial;
                throw_errno("read");
            }
            if (got == 0) {
                if (filled == 0)
                    return state::closed;
                throw std::runtime_error("stream ended inside a message");
            }
            filled += static_cast<std::size_t>(got);
        }
        filled = 0;
        return state::complete;
    }
};

void epoll_add(int epoll, int fd, std::uint64_t tag) {
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.u64 = tag;
    if (epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &event) != 0)
        throw_errno("epoll_ctl");
}

void serve_many(transport kind, const std::string& unix_path, std::uint64_t bytes,
                std::uint64_t clients, const server_process::announce_function& announce) {
    std::string endpoint;
    file_descriptor listener = listen_on(kind, unix_path, endpoint);
    file_descriptor epoll(epoll_create1(EPOLL_CLOEXEC));
    if (epoll.get() < 0)
        throw_errno("epoll_create1");
    constexpr std::uint64_t listener_tag = ~std::uint64_t{0};
    epoll_add(epoll.get(), listener.get(), listener_tag);
    announce(endpoint);

    std::vector<file_descriptor> connections;
    std::vector<message_buffer> messages;
    std::uint64_t accepted = 0;
    std::uint64_t open = 0;
    std::vector<epoll_event> events(256);
    while (accepted < clients || open > 0) {
        int ready = epoll_wait(epoll.get(), events.data(), static_cast<int>(events.size()), -1);
        if (ready < 0) {
            if (errno == EINTR)
                continue;
            throw_errno("epoll_wait");
        }
        for (int i = 0; i < ready; ++i) {
            std::uint64_t tag = events[static_cast<std::size_t>(i)].data.u64;
            if (tag == listener_tag) {
                file_descriptor connection = accept_connection(kind, listener.get());
                set_non_blocking(connection.get());
                epoll_add(epoll.get(), connection.get(), connections.size());
                connections.push_back(std::move(connection));
                messages.push_back({std::vector<unsigned char>(bytes)});
                ++accepted;
                ++open;
                continue;
            }
            int fd = connections[tag].get();
            switch (messages[tag].read_from(fd)) {
            case message_buffer::state::complete:
                write_message(fd, messages[tag].bytes.data(), bytes);
                break;
            case message_buffer::state::closed:
                connections[tag].reset();
                --open;
                break;
            case message_buffer::state::partial:
                break;
            }
        }
    }
}

struct throughput_batch {
    double seconds;
    std::uint64_t calls;
    std::vector<double> latencies;
};

void run_throughput(transport kind, const arguments& args) {
    const std::uint64_t bytes = message_bytes(args);
    const auto [clients, seconds, warmup_seconds, batches] = throughput_plan::read(args);
    temporary_directory directory;
    std::string unix_path = directory.socket_path();
    server_process server([&](const server_process::announce_function& announce) {
        serve_many(kind, unix_path, bytes, clients, announce);
    });
    std::string endpoint = server.endpoint();

    file_descriptor epoll(epoll_create1(EPOLL_CLOEXEC));
    if (epoll.get() < 0)
        throw_errno("epoll_create1");
    std::vector<file_descriptor> connections;
    std::vector<message_buffer> replies;
    for (std::uint64_t c = 0; c < clients; ++c) {
        connections.push_back(connect_to(kind, endpoint));
        set_non_blocking(connections.back().get());
        epoll_add(epoll.get(), connections.back().get(), c);
        replies.push_back({std::vector<unsigned char>(bytes)});
    }
    std::vector<unsigned char> request(bytes);
    fill_pattern(request.data(), request.size());

    // Every connection sends, then sends again on each reply until the deadline; the batch ends
    // when the last reply is in.
    auto run_batch = [&](double duration) {
        throughput_batch batch{0.0, 0, {}};
        std::vector<clock::time_point> sent_at(clients);
        auto start = clock::now();
        auto deadline = start + std::chrono::duration_cast<clock::duration>(
                                    std::chrono::duration<double>(duration));
        for (std::uint64_t c = 0; c < clients; ++c) {
            sent_at[c] = clock::now();
            write_message(connections[c].get(), request.data(), bytes);
        }
        std::uint64_t outstanding = clients;
        std::vector<epoll_event> events(clients);
        while (outstanding > 0) {
            int ready = epoll_wait(epoll.get(), events.data(), static_cast<int>(events.size()), -1);
            if (ready < 0) {
                if (errno == EINTR)
                    continue;
                throw_errno("epoll_wait");
            }
            for (int i = 0; i < ready; ++i) {
                std::uint64_t c = events[static_cast<std::size_t>(i)].data.u64;
                auto state = replies[c].read_from(connections[c].get());
                if (state == message_buffer::state::closed)
                    throw std::runtime_error("the server closed a connection");
                if (state == message_buffer::state::partial)
                    continue;
                auto now = clock::now();
                batch.latencies.push_back(seconds_between(sent_at[c], now));
                ++batch.calls;
                if (now < deadline) {
                    sent_at[c] = now;
                    write_message(connections[c].get(), request.data(), bytes);
                } else {
                    --outstanding;
                    batch.seconds = seconds_between(start, now);
                }
            }
        }
        return batch;
    };

    run_batch(warmup_seconds);
    std::vector<double> rates;
    std::vector<double> p50s;
    std::uint64_t total_calls = 0;
    for (std::uint64_t b = 0; b < batches; ++b) {
        throughput_batch batch = run_batch(seconds);
        rates.push_back(static_cast<double>(batch.calls) / batch.seconds);
        p50s.push_back(percentile(batch.latencies, 0.5));
        total_calls += batch.calls;
    }
    for (const auto& reply : replies)
        if (reply.bytes != request)
            throw std::runtime_error("the echoed bytes differ from the bytes sent");
    connections.clear();
    server.finish();

    print_result({{"program", "bench_socket"},
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
                              {"test", "transport", "bytes", "warmup", "iterations", "calls",
                               "batches", "clients", "seconds", "warmup-seconds", "timeout"});
        bench::arm_watchdog(args.count("timeout", 600));
        auto kind = bench::parse_transport(args.text("transport", "tcp"));
        std::string test = args.text("test", "echo");
        if (test == "echo")
            run_echo(kind, args);
        else if (test == "latency")
            run_latency(kind, args);
        else if (test == "throughput")
            run_throughput(kind, args);
        else
            throw std::invalid_argument("--test must be echo, latency or throughput");
    });
}
