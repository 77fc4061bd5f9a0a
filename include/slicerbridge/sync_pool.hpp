#ifndef SLICERBRIDGE_SYNC_POOL_HPP
#define SLICERBRIDGE_SYNC_POOL_HPP
// Blocking calls over a pool of connections, with its own I/O thread: what a batch job uses to
// keep N servers (or N connections through a load balancer) busy from N threads.

#include <slicerbridge/client/pool.hpp>
#include <slicerbridge/sync_client.hpp>

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>

#include <future>
#include <memory>
#include <thread>

namespace slicerbridge {

/// A `client_pool` on its own I/O thread. Calls may come from several threads at once.
class sync_pool {
public:
    /// Starts opening the connections; calls wait for the first one.
    sync_pool(pool_connector connect, pool_options options = {})
        : work_(asio::make_work_guard(io_)),
          pool_(io_.get_executor(), std::move(connect), std::move(options)) {
        thread_ = std::thread([this] { io_.run(); });
        pool_.start();
    }

    ~sync_pool() {
        pool_.close();
        work_.reset();
        if (thread_.joinable()) {
            thread_.join(); // close ends every connection, so run() returns
        }
    }

    sync_pool(const sync_pool&) = delete;
    sync_pool& operator=(const sync_pool&) = delete;

    /// The catalog of the first connection to open; throws `call_error`.
    std::vector<processor_description> catalog() {
        std::promise<std::pair<std::error_code, std::vector<processor_description>>> promise;
        auto future = promise.get_future();
        pool_.async_catalog([&promise](std::error_code e, std::vector<processor_description> c) {
            promise.set_value({e, std::move(c)});
        });
        auto outcome = future.get();
        if (outcome.first) {
            throw call_error(outcome.first, std::nullopt);
        }
        return std::move(outcome.second);
    }

    /// Runs a processor; failures in `ec`, the reply's `what` says what happened and where.
    pooled_reply invoke(invoke_params params, invoke_options options, std::error_code& ec) {
        std::promise<std::pair<std::error_code, pooled_reply>> promise;
        auto future = promise.get_future();
        pool_.async_invoke(std::move(params), std::move(options),
                           [&promise](std::error_code e, pooled_reply r) {
                               promise.set_value({e, std::move(r)});
                           });
        auto outcome = future.get();
        ec = outcome.first;
        return std::move(outcome.second);
    }

    /// Waits for open calls, says goodbye on every connection and closes them.
    void goodbye() {
        std::promise<void> promise;
        auto future = promise.get_future();
        pool_.async_goodbye([&promise](std::error_code) { promise.set_value(); });
        future.get();
    }

    /// Closes every connection now; open calls fail with `pool_error::closed`.
    void close() { pool_.close(); }

    pool_status status() const { return pool_.status(); }

    client_pool& async_pool() { return pool_; }

private:
    asio::io_context io_;
    asio::executor_work_guard<asio::io_context::executor_type> work_;
    client_pool pool_;
    std::thread thread_;
};

} // namespace slicerbridge

#endif
