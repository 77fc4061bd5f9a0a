// SlicerBridge's C++ SDK, measured the way the baselines are (see bench_socket.cpp).
//
//   --test echo        invoke `echo` with an int16 image of --dims^3 voxels; it returns the
//                      image as it came, and the client receives it back
//   --test latency     one client, one empty invoke at a time: p50/p99 per batch; with
//                      --progress 1 the processor reports progress once before it returns
//   --test throughput  --clients connections, one empty invoke outstanding on each
//
// Transport: --transport tcp (127.0.0.1) or unix. The server (slicerbridge::server, one I/O
// thread, default workers) is a forked process stopped by SIGTERM. The client side uses
// basic_client's completion handlers on one io_context thread, the SDK's most direct path.
// `--connect HOST:PORT` talks to a server already running there instead (bench_cluster.py: the
// reference server, directly or behind HAProxy); its memory is then reported as 0.

#include "bench_common.hpp"

// server.hpp first: client.hpp uses the message types without including them.
#include <slicerbridge/server.hpp>

#include <slicerbridge/client.hpp>
#include <slicerbridge/memfd.hpp>
#include <slicerbridge/transport/connect.hpp>

#include <asio/io_context.hpp>
#include <asio/ip/address.hpp>
#include <asio/signal_set.hpp>

#include <memory>
#include <optional>

namespace {

using namespace bench;
namespace sb = slicerbridge;
using sb_client = sb::basic_client<sb::any_stream>;

sb::processor_description description(std::string name) {
    sb::processor_description d;
    d.name = std::move(name);
    d.version = "1.0";
    d.title = d.name;
    d.description = "benchmark processor";
    d.category = "Benchmark";
    return d;
}

sb::slot image_slot(std::string name) {
    sb::slot s;
    s.name = std::move(name);
    s.type = sb::slot_type::image;
    s.label = s.name;
    return s;
}

// `echo` returns its input image as output `image_out`, sharing its voxels; `empty` takes and
// returns nothing, on the worker pool; `empty_inline` is the same on the I/O thread;
// `progress_once` reports progress once and returns nothing, on the worker pool, so that its
// progress and its answer are written one right after the other.
void add_processors(sb::server& server) {
    auto echo = description("echo");
    echo.inputs.push_back(image_slot("image"));
    echo.outputs.push_back(image_slot("image_out"));
    server.add({echo, [](sb::call_context&, const sb::invoke_params& params) {
                    sb::invoke_result result;
                    result.outputs.emplace_back("image_out", *params.input("image"));
                    return result;
                }});
    auto nothing = [](sb::call_context&, const sb::invoke_params&) { return sb::invoke_result{}; };
    server.add({description("empty"), nothing});
    server.add({description("empty_inline"), nothing}, sb::processor_execution::io_thread);
    server.add({description("progress_once"), [](sb::call_context& ctx, const sb::invoke_params&) {
                    ctx.report_progress(1.0, "done");
                    return sb::invoke_result{};
                }});
}

void serve(transport kind, const std::string& unix_path, const sb::server_options& options,
           const server_process::announce_function& announce) {
    asio::io_context io(1);
    sb::server server(io.get_executor(), options);
    add_processors(server);
    std::string endpoint;
    if (kind == transport::tcp) {
        auto bound = server.listen({asio::ip::make_address("127.0.0.1"), 0});
        endpoint = "127.0.0.1:" + std::to_string(bound.port());
    } else {
        std::error_code ec;
        server.listen_unix(unix_path, ec);
        if (ec)
            throw std::system_error(ec, "listen on " + unix_path);
        endpoint = "unix:" + unix_path;
    }
    asio::signal_set stop(io, SIGTERM);
    stop.async_wait([&](std::error_code, int) {
        server.shutdown(std::chrono::milliseconds(0), [&io] { io.stop(); });
    });
    announce(endpoint);
    io.run();
}

// Runs `io` on this thread until `done()`, as a program that drives its calls from one thread
// does: with run(), which the handler that makes `done()` true stops (`finished(io)`). A
// run_one() per handler, as this did before, made a fresh per-thread context each time, and so
// threw away Asio's recycled handler memory after every handler: two allocations per call that
// such a program does not pay.
template <class Done>
void run_until(asio::io_context& io, Done done) {
    while (!done()) {
        io.restart();
        io.run();
    }
}

// What a handler that makes run_until's `done()` true calls.
void finished(asio::io_context& io) {
    io.stop();
}

// `--memfd 1`: the client offers transfer.memfd (a Unix socket only), so that volumes pass as
// sealed memory files; 0 (the default) keeps every byte in-band.
std::unique_ptr<sb_client> open_client(asio::io_context& io, const std::string& endpoint,
                                       bool memfd) {
    auto where = sb::address::parse(endpoint);
    if (!where)
        throw std::runtime_error("the server announced a bad address: " + endpoint);
    std::error_code ec;
    auto stream = sb::connect(io.get_executor(), *where, ec);
    if (ec)
        throw std::system_error(ec, "connect to " + endpoint);
    sb::client_options options;
    options.transfer_memfd = memfd;
    return std::make_unique<sb_client>(std::move(stream), options);
}

void handshake(asio::io_context& io, std::vector<std::unique_ptr<sb_client>>& clients) {
    std::size_t pending = clients.size();
    std::error_code failure;
    for (auto& client : clients)
        client->async_handshake([&](std::error_code ec) {
            if (ec)
                failure = ec;
            if (--pending == 0)
                finished(io);
        });
    run_until(io, [&] { return pending == 0; });
    if (failure)
        throw std::system_error(failure, "handshake");
}

[[noreturn]] void throw_call_failure(std::error_code ec, const sb::invoke_reply& reply) {
    throw std::system_error(ec, "invoke failed" +
                                    (reply.error ? ": " + reply.error->message : std::string()));
}

sb::invoke_reply invoke_now(asio::io_context& io, sb_client& client,
                            const sb::invoke_params& params, sb::invoke_options options = {}) {
    bool done = false;
    std::error_code failure;
    sb::invoke_reply reply;
    client.async_invoke(params, std::move(options), [&](std::error_code ec, sb::invoke_reply r) {
        failure = ec;
        reply = std::move(r);
        done = true;
        finished(io);
    });
    run_until(io, [&] { return done; });
    if (failure)
        throw_call_failure(failure, reply);
    return reply;
}

// Makes `count` calls one after another, each started from the previous one's completion
// handler, as an asynchronous program does; returns each call's round trip in seconds. (Started
// from outside the io_context, as invoke_now does, every call would also pay for the posting of
// its start: one more epoll_wait, which a program calling from a handler does not make.)
std::vector<double> invoke_in_sequence(asio::io_context& io, sb_client& client,
                                       const sb::invoke_params& params,
                                       const sb::invoke_options& options, std::uint64_t count) {
    std::vector<double> round_trips;
    round_trips.reserve(count);
    std::error_code failure;
    sb::invoke_reply failed_reply;
    clock::time_point sent_at;
    std::function<void()> next = [&] {
        sent_at = clock::now();
        client.async_invoke(params, options, [&](std::error_code ec, sb::invoke_reply reply) {
            round_trips.push_back(seconds_between(sent_at, clock::now()));
            if (ec) {
                failure = ec;
                failed_reply = std::move(reply);
                return finished(io);
            }
            if (round_trips.size() == count)
                return finished(io);
            next();
        });
    };
    if (count == 0)
        return round_trips;
    next();
    run_until(io, [&] { return failure || round_trips.size() == count; });
    if (failure)
        throw_call_failure(failure, failed_reply);
    return round_trips;
}

// `--worker-spin-us N`: how long an idle worker looks for work before it sleeps; `--answer-wait-us
// N`: how long the I/O thread waits for a worker's answer when no other call runs (defaults: the
// server's).
sb::server_options server_options_from(const arguments& args) {
    sb::server_options options;
    options.worker_spin = std::chrono::microseconds(
        args.count("worker-spin-us", static_cast<std::uint64_t>(options.worker_spin.count())));
    options.answer_wait = std::chrono::microseconds(
        args.count("answer-wait-us", static_cast<std::uint64_t>(options.answer_wait.count())));
    return options;
}

// A forked server and the client side's io_context; the server is stopped at the end.
class session {
public:
    // `--connect HOST:PORT`: a server already running there (started by the caller, which
    // measures its memory); no server is forked.
    session(transport kind, const temporary_directory& directory, const arguments& args)
        : memfd_(args.count("memfd", 0) != 0) {
        endpoint_ = args.text("connect", "");
        if (endpoint_.empty()) {
            server_ = std::make_unique<server_process>(
                [kind, path = directory.socket_path(), options = server_options_from(args)](
                    const server_process::announce_function& announce) {
                    serve(kind, path, options, announce);
                });
            endpoint_ = server_->endpoint();
        }
    }

    std::unique_ptr<sb_client> connect_one() {
        std::vector<std::unique_ptr<sb_client>> clients;
        clients.push_back(open_client(io_, endpoint_, memfd_));
        handshake(io_, clients);
        return std::move(clients.front());
    }

    std::vector<std::unique_ptr<sb_client>> connect_many(std::uint64_t count) {
        std::vector<std::unique_ptr<sb_client>> clients;
        for (std::uint64_t i = 0; i < count; ++i)
            clients.push_back(open_client(io_, endpoint_, memfd_));
        handshake(io_, clients);
        return clients;
    }

    asio::io_context& io() { return io_; }

    // Closes the clients, stops the server and returns its peak memory.
    std::uint64_t stop(std::vector<std::unique_ptr<sb_client>>& clients) {
        for (auto& client : clients)
            client->close();
        io_.restart();
        io_.poll();
        clients.clear();
        if (!server_)
            return 0; // not ours: the caller reports its memory
        server_->request_stop();
        return server_->finish();
    }

private:
    bool memfd_;
    std::unique_ptr<server_process> server_;
    std::string endpoint_;
    // One thread runs it, and says so, as bench_asio's client and every server here do: Asio
    // then queues what a handler posts without taking the scheduler's lock.
    asio::io_context io_{1};
};

bool reports_progress(const arguments& args) {
    return args.count("progress", 0) != 0;
}

// `--execution pool` (the default) calls `empty`, `--execution io_thread` calls `empty_inline`;
// `--progress 1` calls `progress_once` (on the pool).
sb::invoke_params empty_call(const arguments& args) {
    std::string execution = args.text("execution", "pool");
    if (execution != "pool" && execution != "io_thread")
        throw std::invalid_argument("--execution must be pool or io_thread");
    if (reports_progress(args) && execution != "pool")
        throw std::invalid_argument("--progress 1 runs on the pool only");
    sb::invoke_params params;
    params.processor = reports_progress(args) ? "progress_once"
                       : execution == "pool"  ? "empty"
                                              : "empty_inline";
    return params;
}

void run_echo(transport kind, const arguments& args) {
    std::uint64_t edge = args.count("dims", 256);
    std::uint64_t warmup = args.count("warmup", 1);
    std::uint64_t iterations = args.count("iterations", 3);
    if (edge == 0 || edge > 2048)
        throw std::invalid_argument("--dims must be in 1..2048");
    temporary_directory directory;
    session bench_session(kind, directory, args);
    std::vector<std::unique_ptr<sb_client>> clients;
    clients.push_back(bench_session.connect_one());

    sb::invoke_params params;
    params.processor = "echo";
    {
        auto sent = sb::image::allocate({edge, edge, edge}, sb::dtype::int16);
        if (args.count("memfd", 0) != 0) {
            // Made where it will travel from, as a producer using memfd_buffer would.
            std::error_code ec;
            sent.data = sb::memfd_buffer(
                sent.data.size(), [&](std::byte* out) { fill_pattern(out, sent.data.size()); }, ec);
            if (ec)
                throw std::system_error(ec, "memfd_buffer");
        } else {
            fill_pattern(sent.mutable_voxels<std::int16_t>(), sent.data.size());
        }
        params.inputs.emplace_back("image", sb::data_value(std::move(sent)));
    }
    const auto& sent = std::get<sb::image>(params.inputs.front().second);
    std::uint64_t bytes = sent.data.size();

    std::optional<sb::invoke_reply> reply;
    std::vector<double> round_trips;
    // What the server says it spent on the fastest round trip ([section 5.6]).
    nlohmann::json fastest_server_timings;
    for (std::uint64_t i = 0; i < warmup + iterations; ++i) {
        reply.reset();
        auto start = clock::now();
        reply = invoke_now(bench_session.io(), *clients.front(), params);
        auto end = clock::now();
        if (i < warmup)
            continue;
        round_trips.push_back(seconds_between(start, end));
        if (reply->server_timings && round_trips.back() == best(round_trips)) {
            const auto& t = *reply->server_timings;
            fastest_server_timings = {{"receiving", t.receiving},
                                      {"queued", t.queued},
                                      {"computing", t.computing},
                                      {"sending", t.sending}};
        }
    }
    const auto* received = reply->result.output_as<sb::image>("image_out");
    bool verified = received != nullptr && *received == sent;
    reply.reset();
    std::uint64_t server_peak = bench_session.stop(clients);

    nlohmann::json result = echo_result(round_trips, bytes, warmup, server_peak, verified);
    result["program"] = "bench_slicerbridge";
    result["transport"] = transport_name(kind);
    result["memfd"] = args.count("memfd", 0) != 0;
    result["dims"] = {edge, edge, edge};
    result["dtype"] = "int16";
    result["fastest_server_timings_seconds"] = fastest_server_timings;
    print_result(result);
    if (!verified)
        throw std::runtime_error("the echoed image differs from the image sent");
}

void run_latency(transport kind, const arguments& args) {
    const auto [warmup, calls, batches] = latency_plan::read(args);
    temporary_directory directory;
    session bench_session(kind, directory, args);
    std::vector<std::unique_ptr<sb_client>> clients;
    clients.push_back(bench_session.connect_one());
    auto params = empty_call(args);
    const bool progress = reports_progress(args);
    // Every report is counted, so that a progress row measures calls that did send progress;
    // the other rows have no callback to pay for.
    std::uint64_t progress_reports = 0;
    sb::invoke_options options;
    if (progress)
        options.on_progress = [&](const sb::progress_params&) { ++progress_reports; };

    invoke_in_sequence(bench_session.io(), *clients.front(), params, options, warmup);
    std::vector<std::vector<double>> samples(batches);
    for (auto& batch : samples)
        batch = invoke_in_sequence(bench_session.io(), *clients.front(), params, options, calls);
    bench_session.stop(clients);
    if (progress && progress_reports != warmup + calls * batches)
        throw std::runtime_error("a call's progress report did not arrive before its answer");

    nlohmann::json result = latency_result(samples, warmup);
    result["program"] = "bench_slicerbridge";
    result["transport"] = transport_name(kind);
    result["call"] = progress ? "invoke of a processor that reports progress once"
                              : "invoke of a processor without inputs, outputs or parameters";
    result["processor"] = params.processor;
    result["progress_reports"] = progress_reports;
    print_result(result);
}

// Every client invokes, and invokes again on each answer until the deadline; a batch ends when
// the last answer is in.
class throughput_driver {
public:
    throughput_driver(asio::io_context& io, std::vector<std::unique_ptr<sb_client>>& clients,
                      sb::invoke_params params)
        : io_(io), clients_(clients), params_(std::move(params)) {}

    // Returns calls per second and the p50 latency of the batch.
    std::pair<double, double> run(double duration) {
        calls_ = 0;
        latencies_.clear();
        outstanding_ = clients_.size();
        start_ = clock::now();
        deadline_ = start_ + std::chrono::duration_cast<clock::duration>(
                                 std::chrono::duration<double>(duration));
        for (auto& client : clients_)
            invoke(*client, clock::now());
        run_until(io_, [this] { return outstanding_ == 0; });
        if (failure_)
            throw std::system_error(failure_, "invoke failed");
        return {static_cast<double>(calls_) / seconds_between(start_, end_),
                percentile(latencies_, 0.5)};
    }

    std::uint64_t calls() const { return calls_; }

private:
    void invoke(sb_client& client, clock::time_point sent_at) {
        client.async_invoke(params_, {},
                            [this, &client, sent_at](std::error_code ec, sb::invoke_reply) {
                                auto now = clock::now();
                                if (ec) {
                                    failure_ = ec;
                                    if (--outstanding_ == 0)
                                        finished(io_);
                                    return;
                                }
                                latencies_.push_back(seconds_between(sent_at, now));
                                ++calls_;
                                if (now < deadline_) {
                                    invoke(client, now);
                                } else {
                                    end_ = now;
                                    if (--outstanding_ == 0)
                                        finished(io_);
                                }
                            });
    }

    asio::io_context& io_;
    std::vector<std::unique_ptr<sb_client>>& clients_;
    sb::invoke_params params_;
    clock::time_point start_, end_, deadline_;
    std::size_t outstanding_ = 0;
    std::uint64_t calls_ = 0;
    std::vector<double> latencies_;
    std::error_code failure_;
};

void run_throughput(transport kind, const arguments& args) {
    const auto [client_count, seconds, warmup_seconds, batches] = throughput_plan::read(args);
    temporary_directory directory;
    session bench_session(kind, directory, args);
    auto clients = bench_session.connect_many(client_count);
    throughput_driver driver(bench_session.io(), clients, empty_call(args));

    driver.run(warmup_seconds);
    std::vector<double> rates;
    std::vector<double> p50s;
    std::uint64_t total_calls = 0;
    for (std::uint64_t b = 0; b < batches; ++b) {
        auto [rate, p50] = driver.run(seconds);
        rates.push_back(rate);
        p50s.push_back(p50);
        total_calls += driver.calls();
    }
    bench_session.stop(clients);

    print_result({{"program", "bench_slicerbridge"},
                  {"test", "throughput"},
                  {"transport", transport_name(kind)},
                  {"clients", client_count},
                  {"processor", empty_call(args).processor},
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
                              {"test", "transport", "dims", "warmup", "iterations", "calls",
                               "memfd", "batches", "clients", "seconds", "warmup-seconds",
                               "timeout", "execution", "worker-spin-us", "answer-wait-us",
                               "progress", "connect"});
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
