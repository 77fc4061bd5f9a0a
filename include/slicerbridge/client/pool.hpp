#ifndef SLICERBRIDGE_CLIENT_POOL_HPP
#define SLICERBRIDGE_CLIENT_POOL_HPP
// A pool of connections to one service (a server, a load balancer in front of many, a command
// launched once per connection): calls spread over N connections, a lost connection replaced,
// and calls to processors that the catalog declares idempotent ([CAT-8]) sent again on another
// connection when the one that carried them is lost.

#include <slicerbridge/client.hpp>
#include <slicerbridge/detail/tls.hpp>
#include <slicerbridge/transport/any_stream.hpp>
#include <slicerbridge/transport/connect.hpp>
#include <slicerbridge/transport/pipe_stream.hpp>

#include <asio/connect.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

namespace slicerbridge {

/// Failures of a pooled call that are the pool's, not a server's.
enum class pool_error {
    /// The connection that carried the call was lost, and the processor is not idempotent: the
    /// call was not sent again, and it may or may not have run.
    connection_lost = 1,
    /// The call's processor is idempotent, and it lost its connection `max_retries + 1` times.
    retries_exhausted = 2,
    /// No connection could be opened (`pool_options::connect_attempts` failures in a row).
    no_connection = 3,
    /// The pool was closed, or said goodbye, before the call could be answered.
    closed = 4,
};

/// The category of `pool_error`, named "slicerbridge.pool".
const std::error_category& pool_category() noexcept;

inline std::error_code make_error_code(pool_error e) noexcept {
    return {static_cast<int>(e), pool_category()};
}

} // namespace slicerbridge

namespace std {
template <>
struct is_error_code_enum<slicerbridge::pool_error> : true_type {};
} // namespace std

namespace slicerbridge {

/// One freshly opened connection, before any hello.
struct pool_connection {
    std::optional<any_stream> stream;
    /// Names the other end in messages ("10.213.1.2:4100", "srun ... (pid 4242)").
    std::string peer;
    /// The launched command, when the connection is a child process's pipes.
    child_process child;
};

/// Opens a connection on `executor` and completes `done` with it, once; `done` may be called
/// from inside the connector.
using pool_connector =
    std::function<void(const asio::any_io_executor& executor,
                       detail::unique_function<void(std::error_code, pool_connection)> done)>;

/// Connects to `where` (see `address`) without blocking, TCP, TLS (with `tls`, which must
/// outlive the pool) or a Unix socket. The peer is named by the address and the endpoint reached.
pool_connector connect_to(address where, asio::ssl::context* tls = nullptr);

/// Starts `argv` once per connection and talks to it over its standard input and output
/// (`ssh host slicerbridge-server --stdio`, `srun ... --stdio`, `docker run -i ...`).
pool_connector launch_each(std::vector<std::string> argv);

struct pool_options {
    /// Connections kept open.
    std::size_t connections = 4;
    /// Calls sent on one connection at a time (at most its server's `max_in_flight`). With 1,
    /// a balancer that balances connections (HAProxy's leastconn) balances calls.
    std::size_t calls_per_connection = 1;
    /// How many times a call to an idempotent processor is sent again after losing its
    /// connection; calls to other processors are never sent again.
    std::size_t max_retries = 2;
    /// Failed connects in a row, with no connection open, after which waiting calls fail with
    /// `pool_error::no_connection`. The pool goes on trying for later calls.
    std::size_t connect_attempts = 10;
    /// Wait before opening a connection again after a failure; doubled for each failure in a row
    /// up to `max_reconnect_delay`. A connection lost after working is replaced at once.
    std::chrono::milliseconds reconnect_delay{100};
    std::chrono::milliseconds max_reconnect_delay{2000};
    /// For every connection. `on_close` is the pool's own.
    client_options client;
};

/// What a pooled invoke returns: the answer, and where it came from.
struct pooled_reply : invoke_reply {
    /// The connection that gave the answer (empty when none did).
    std::string peer;
    /// How many times the call was sent.
    std::size_t attempts = 0;
    /// The connections lost while they carried the call, in order.
    std::vector<std::string> lost;
    /// For people: the server's message, or the pool's, naming the lost connection.
    std::string what;
};

/// Counters, readable from any thread.
struct pool_status {
    std::size_t open = 0;    ///< connections handshaken and usable now
    std::size_t opened = 0;  ///< connections opened since the start
    std::size_t lost = 0;    ///< connections lost or refused while the pool used them
    std::size_t resent = 0;  ///< calls sent again after a lost connection
    std::size_t waiting = 0; ///< calls waiting for a connection
    std::size_t failed_connects = 0;
};

namespace detail {
class pool_impl;
}

/// Calls over a pool of connections.
///
/// Every operation takes a completion token, as `basic_client` does; handlers never run inside
/// the initiating function. The pool's executor must not run handlers concurrently (one thread,
/// or a strand); operations may be started from any thread. Per-operation cancellation is not
/// supported: `close` ends every call.
///
/// Failover: when the connection carrying a call is lost (end of stream, reset, a server killed),
/// or the server refuses the call because it is shutting down (`shutting_down`, a drained
/// server), the connection is replaced and the call is sent again on another one if its
/// processor's description says `idempotent` ([CAT-8]), at most `max_retries` times; otherwise
/// it fails with `pool_error::connection_lost` and a message naming the connection. A call is
/// answered exactly once.
class client_pool {
public:
    using executor_type = asio::any_io_executor;

    client_pool(executor_type executor, pool_connector connect, pool_options options = {});
    ~client_pool();
    client_pool(const client_pool&) = delete;
    client_pool& operator=(const client_pool&) = delete;

    executor_type get_executor() const;

    /// Opens the connections. Calls made before wait for the first one.
    void start();

    /// The server's catalog, from the first connection that opens. Handler:
    /// `void(std::error_code, std::vector<processor_description>)`.
    template <class CompletionToken>
    auto async_catalog(CompletionToken&& token);

    /// Runs a processor on the connection with the fewest calls. Handler:
    /// `void(std::error_code, pooled_reply)`; the error is the server's code, or a
    /// `pool_error`. `options.on_progress` runs on the pool's executor and never sees a fraction
    /// decrease, even across a resend; `options.id` is not used (ids belong to one connection).
    template <class CompletionToken>
    auto async_invoke(invoke_params params, invoke_options options, CompletionToken&& token);

    /// Waits for the calls in flight and the waiting ones, then says goodbye on every
    /// connection and closes them. Calls started afterwards fail with `pool_error::closed`.
    /// Handler: `void(std::error_code)`.
    template <class CompletionToken>
    auto async_goodbye(CompletionToken&& token);

    /// Closes every connection at once; open calls fail with `pool_error::closed`.
    void close();

    pool_status status() const;

private:
    std::shared_ptr<detail::pool_impl> impl_;
};

} // namespace slicerbridge

#include <slicerbridge/client/impl/pool.hpp>

#endif
