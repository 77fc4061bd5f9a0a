#ifndef SLICERBRIDGE_SERVER_STATE_HPP
#define SLICERBRIDGE_SERVER_STATE_HPP
// What a server's connections share: options, processors, the worker pool. Internal.

#include <slicerbridge/detail/did_you_mean.hpp>
#include <slicerbridge/detail/worker_pool.hpp>
#include <slicerbridge/processor.hpp>
#include <slicerbridge/server/options.hpp>

#include <asio/any_io_executor.hpp>

#include <algorithm>
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace slicerbridge::detail {

class session_base {
public:
    virtual ~session_base() = default;
    virtual void begin_shutdown(std::chrono::milliseconds grace) = 0;
};

struct registered_processor {
    processor proc;
    processor_execution execution;
};

struct server_state {
    server_state(asio::any_io_executor io, server_options server_options)
        : io_executor(std::move(io)), options(std::move(server_options)),
          workers(options.workers, options.worker_spin) {}

    const registered_processor* find(const std::string& name) const {
        auto found = processors.find(name);
        return found == processors.end() ? nullptr : &found->second;
    }

    /// The message for a processor name that is not served, with the likeliest one meant.
    std::string unknown_processor_message(const std::string& name) const {
        std::vector<std::string_view> names;
        for (const auto& entry : processors) {
            names.push_back(entry.first);
        }
        return "no processor named \"" + name + "\"" + detail::did_you_mean(name, names);
    }

    bool try_admit_call() {
        auto admitted = pending_calls.fetch_add(1) + 1;
        if (admitted > options.max_pending_calls) {
            pending_calls.fetch_sub(1);
            return false;
        }
        return true;
    }
    void finish_call() { pending_calls.fetch_sub(1); }

    asio::any_io_executor io_executor;
    const server_options options;
    std::map<std::string, registered_processor> processors; // fixed once serving starts
    /// The catalog's result as version 1.1 and as version 1.0 peers see it ([VER-4]).
    value catalog_value;
    value catalog_value_1_0;
    worker_pool workers;
    std::atomic<std::size_t> pending_calls{0};

    /// Runs `on_all_closed` once shutting down and no connection is left.
    void notify_if_all_closed() {
        std::function<void()> done;
        {
            std::lock_guard<std::mutex> lock(sessions_mutex);
            if (!shutting_down) {
                return;
            }
            for (const auto& session : sessions) {
                if (!session.expired()) {
                    return;
                }
            }
            done.swap(on_all_closed);
        }
        if (done) {
            done();
        }
    }

    // Under sessions_mutex.
    mutable std::mutex sessions_mutex;
    std::vector<std::weak_ptr<session_base>> sessions;
    std::vector<std::function<void()>> stop_listening;
    std::function<void()> on_all_closed;
    bool shutting_down = false;
};

} // namespace slicerbridge::detail

#endif
