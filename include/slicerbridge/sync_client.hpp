#ifndef SLICERBRIDGE_SYNC_CLIENT_HPP
#define SLICERBRIDGE_SYNC_CLIENT_HPP
// A blocking client over any transport, with its own I/O thread: the shortest way to call a
// processor from a script, a batch job or a GUI worker thread.

#include <slicerbridge/client.hpp>
#include <slicerbridge/detail/config.hpp>
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
    SLICERBRIDGE_DECL static std::string exited(int status);
    SLICERBRIDGE_DECL static std::string wrote(const std::string& stray);

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
    SLICERBRIDGE_DECL static std::unique_ptr<sync_client>
    launch(const std::vector<std::string>& argv, client_options options = {});

    SLICERBRIDGE_DECL ~sync_client();

    SLICERBRIDGE_DECL const server_hello& server_info() const;

    SLICERBRIDGE_DECL std::vector<processor_description> catalog();

    /// The descriptions the last catalog dropped ([CAT-12]).
    SLICERBRIDGE_DECL std::vector<dropped_description> dropped_processors() const;

    SLICERBRIDGE_DECL processor_description describe(const std::string& name);

    /// Round trip of an empty request, in seconds.
    SLICERBRIDGE_DECL double ping();

    /// Runs a processor; throws `call_error` when it fails.
    SLICERBRIDGE_DECL invoke_reply invoke(invoke_params params, invoke_options options = {});

    /// Runs a processor; failures in `ec` (and the server's message in the reply's `error`).
    SLICERBRIDGE_DECL invoke_reply invoke(invoke_params params, invoke_options options,
                                          std::error_code& ec);

    /// A fresh id for a call started later with `invoke_options::id`, so that another thread
    /// can cancel it from the start (see `basic_client::reserve_call_id`).
    SLICERBRIDGE_DECL call_id reserve_call_id();

    /// Asks the server to cancel call `id`, from any thread; a call not started yet completes
    /// with `cancelled` when it starts, unsent.
    SLICERBRIDGE_DECL void cancel(call_id id);

    /// Orderly close: waits for calls in flight, then the server's goodbye.
    SLICERBRIDGE_DECL void goodbye();

    /// The asynchronous client underneath, for completion-token use on its I/O thread.
    basic_client<any_stream>& async_client() { return *client_; }

private:
    SLICERBRIDGE_DECL sync_client();

    SLICERBRIDGE_DECL void start(any_stream stream, client_options options);

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

#if defined(SLICERBRIDGE_HEADER_ONLY)
#include <slicerbridge/impl/sync_client.ipp>
#endif

#endif
