#ifndef SLICERBRIDGE_SYNC_CLIENT_HPP
#define SLICERBRIDGE_SYNC_CLIENT_HPP
// A blocking client over any transport, with its own I/O thread: the shortest way to call a
// processor from a script, a batch job or a GUI worker thread.

#include <slicerbridge/client.hpp>
#include <slicerbridge/transport/any_stream.hpp>
#include <slicerbridge/transport/connect.hpp>
#include <slicerbridge/transport/pipe_stream.hpp>

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>

#include <chrono>
#include <future>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>

namespace slicerbridge {

/// A failed call: the server's code, message and details.
class call_error : public std::system_error {
public:
    call_error(std::error_code ec, std::optional<error_info> info)
        : std::system_error(info ? std::system_error(ec, info->message) : std::system_error(ec)),
          info_(std::move(info)) {}
    const std::optional<error_info>& info() const noexcept { return info_; }

private:
    std::optional<error_info> info_;
};

/// Thrown by `sync_client::launch` when the launched processor ends before the handshake, or
/// writes something else than frames to its standard output.
class launch_error : public std::runtime_error {
public:
    /// It ended with `exit_status`, as `child_process::wait` reports it (128 + the signal for a
    /// child killed by one).
    explicit launch_error(int exit_status)
        : std::runtime_error(exited(exit_status)), exit_status_(exit_status) {}
    /// It wrote `stray` where its hello belonged.
    explicit launch_error(const std::string& stray) : std::runtime_error(wrote(stray)) {}

    /// The exit status, when it ended.
    std::optional<int> exit_status() const noexcept { return exit_status_; }

private:
    static std::string exited(int status) {
        if (status > 128) {
            return "the processor was killed by signal " + std::to_string(status - 128) +
                   " before the handshake";
        }
        return "the processor exited with status " + std::to_string(status) +
               " before the handshake";
    }

    static std::string wrote(const std::string& stray) {
        std::string quoted = "\"";
        for (const char c : stray) {
            const auto byte = static_cast<unsigned char>(c);
            if (c == '\n') {
                quoted += "\\n";
            } else if (c == '"' || c == '\\') {
                quoted += {'\\', c};
            } else if (byte >= 0x20 && byte < 0x7f) {
                quoted += c;
            } else {
                static constexpr char hex[] = "0123456789abcdef";
                quoted += {'\\', 'x', hex[byte >> 4], hex[byte & 15]};
            }
        }
        return "the processor wrote bytes that are not a SlicerBridge frame to its standard "
               "output: " +
               quoted +
               "\"...; the likely cause is a print() or a chatty library in it: a processor "
               "logs to standard error, and standard output belongs to the protocol";
    }

    std::optional<int> exit_status_;
};

/// Blocking calls on one connection. Calls may come from several threads at once; they share the
/// connection and run concurrently on the server.
class sync_client {
public:
    /// Connects to `where` (see `address`) and performs the handshake.
    static std::unique_ptr<sync_client> connect(const std::string& where,
                                                client_options options = {},
                                                asio::ssl::context* tls = nullptr) {
        auto parsed = address::parse(where);
        if (!parsed) {
            throw std::invalid_argument("not an address: " + where);
        }
        std::unique_ptr<sync_client> c(new sync_client);
        std::error_code ec;
        auto stream = slicerbridge::connect(c->io_.get_executor(), *parsed, ec, tls);
        if (ec) {
            throw std::system_error(ec, "connecting to " + where);
        }
        c->start(std::move(stream), std::move(options));
        return c;
    }

    /// Starts `argv` as a child process and talks to it over its stdin/stdout; throws
    /// `launch_error` when it ends before the handshake.
    static std::unique_ptr<sync_client> launch(const std::vector<std::string>& argv,
                                               client_options options = {}) {
        std::unique_ptr<sync_client> c(new sync_client);
        auto launched = launch_process(c->io_.get_executor(), argv);
        c->child_ = std::move(launched.process);
        try {
            c->start(any_stream(std::move(launched.stream)), std::move(options));
        } catch (const std::system_error& e) {
            const bool output_closed = e.code() == asio::error::eof ||
                                       e.code() == asio::error::connection_reset ||
                                       e.code() == asio::error::broken_pipe;
            if (output_closed) { // usually because it ended: say how
                if (auto status = c->child_.wait_for(std::chrono::seconds(2))) {
                    throw launch_error(*status);
                }
            }
            if (e.code() == error::malformed_frame && !c->client_->rejected_bytes().empty()) {
                throw launch_error(c->client_->rejected_bytes());
            }
            throw;
        }
        return c;
    }

    ~sync_client() {
        if (client_) {
            client_->close();
            client_.reset();
        }
        work_.reset();
        io_.stop();
        if (thread_.joinable()) {
            thread_.join();
        }
        if (child_.running()) {
            child_.terminate();
        }
    }

    const server_hello& server_info() const { return client_->server_info(); }

    std::vector<processor_description> catalog() {
        return wait<std::vector<processor_description>>(
            [&](auto done) { client_->async_catalog(std::move(done)); });
    }

    /// The descriptions the last catalog dropped ([CAT-12]).
    std::vector<dropped_description> dropped_processors() const {
        return client_->dropped_processors();
    }

    processor_description describe(const std::string& name) {
        return wait<processor_description>(
            [&](auto done) { client_->async_describe(name, std::move(done)); });
    }

    /// Round trip of an empty request, in seconds.
    double ping() {
        return wait<double>([&](auto done) { client_->async_ping(std::move(done)); });
    }

    /// Runs a processor; throws `call_error` when it fails.
    invoke_reply invoke(invoke_params params, invoke_options options = {}) {
        std::error_code ec;
        auto reply = invoke(std::move(params), std::move(options), ec);
        if (ec) {
            throw call_error(ec, reply.error);
        }
        return reply;
    }

    /// Runs a processor; failures in `ec` (and the server's message in the reply's `error`).
    invoke_reply invoke(invoke_params params, invoke_options options, std::error_code& ec) {
        std::promise<std::pair<std::error_code, invoke_reply>> promise;
        auto future = promise.get_future();
        client_->async_invoke(std::move(params), std::move(options),
                              [&promise](std::error_code e, invoke_reply r) {
                                  promise.set_value({e, std::move(r)});
                              });
        auto outcome = future.get();
        ec = outcome.first;
        return std::move(outcome.second);
    }

    /// A fresh id for a call started later with `invoke_options::id`, so that another thread
    /// can cancel it from the start (see `basic_client::reserve_call_id`).
    call_id reserve_call_id() { return client_->reserve_call_id(); }

    /// Asks the server to cancel call `id`, from any thread; a call not started yet completes
    /// with `cancelled` when it starts, unsent.
    void cancel(call_id id) { client_->cancel(id); }

    /// Orderly close: waits for calls in flight, then the server's goodbye.
    void goodbye() {
        wait<int>([&](auto done) {
            client_->async_goodbye(
                [done = std::move(done)](std::error_code e) mutable { done(e, 0); });
        });
        if (child_.running()) {
            child_.wait();
        }
    }

    /// The asynchronous client underneath, for completion-token use on its I/O thread.
    basic_client<any_stream>& async_client() { return *client_; }

private:
    sync_client() : work_(asio::make_work_guard(io_)) {
        thread_ = std::thread([this] { io_.run(); });
    }

    void start(any_stream stream, client_options options) {
        client_ = std::make_unique<basic_client<any_stream>>(std::move(stream), std::move(options));
        wait<int>([&](auto done) {
            client_->async_handshake(
                [done = std::move(done)](std::error_code e) mutable { done(e, 0); });
        });
    }

    template <class Result, class Start>
    Result wait(Start start) {
        std::promise<std::pair<std::error_code, Result>> promise;
        auto future = promise.get_future();
        start([&promise](std::error_code e, auto r) { promise.set_value({e, std::move(r)}); });
        auto outcome = future.get();
        if (outcome.first) {
            throw call_error(outcome.first, std::nullopt);
        }
        return std::move(outcome.second);
    }

    asio::io_context io_;
    asio::executor_work_guard<asio::io_context::executor_type> work_;
    std::thread thread_;
    std::unique_ptr<basic_client<any_stream>> client_;
    child_process child_;
};

} // namespace slicerbridge

#endif
