#ifndef SLICERBRIDGE_SERVER_STATE_HPP
#define SLICERBRIDGE_SERVER_STATE_HPP
// What a server's connections share: options, processors, the worker pool. Internal.

#include <slicerbridge/buffer.hpp>
#include <slicerbridge/detail/batch_queue.hpp>
#include <slicerbridge/detail/byte_budget.hpp>
#include <slicerbridge/detail/did_you_mean.hpp>
#include <slicerbridge/detail/fair_queue.hpp>
#include <slicerbridge/detail/handler_slot.hpp>
#include <slicerbridge/detail/log_limiter.hpp>
#include <slicerbridge/detail/token_failures.hpp>
#include <slicerbridge/detail/worker_pool.hpp>
#include <slicerbridge/processor.hpp>
#include <slicerbridge/server/options.hpp>

#include <asio/any_io_executor.hpp>
#include <asio/bind_allocator.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace slicerbridge::detail {

class session_base {
public:
    virtual ~session_base() = default;
    virtual void begin_shutdown(std::chrono::milliseconds grace) = 0;
    /// The server's byte budget has room again: a connection whose reading waits may read on.
    virtual void budget_available() = 0;
};

struct registered_processor {
    processor proc;
    processor_execution execution;
};

/// True when `context` is run by one thread, as its concurrency hint promises: 1, or a hint that
/// turns off Asio's locking for I/O.
inline bool runs_on_one_thread(asio::io_context& context) {
    const int hint = asio::use_service<asio::detail::io_context_impl>(context).concurrency_hint();
    return hint == 1 || hint == ASIO_CONCURRENCY_HINT_1 ||
           !ASIO_CONCURRENCY_HINT_IS_LOCKING(REACTOR_IO, hint);
}

/// The io_context behind `io` when one thread runs it, else null.
inline asio::io_context* one_thread_context(const asio::any_io_executor& io) {
    const auto* context_executor = io.target<asio::io_context::executor_type>();
    if (context_executor == nullptr || !runs_on_one_thread(context_executor->context())) {
        return nullptr;
    }
    return &context_executor->context();
}

/// A call waiting for a worker, and an answer handed back to the I/O thread: each holds its
/// connection and its call (two shared pointers), kept without an allocation.
using call_task = unique_function<void(), 4 * sizeof(void*)>;
using answer_task = unique_function<void(), 4 * sizeof(void*)>;

struct server_state : std::enable_shared_from_this<server_state> {
    server_state(asio::any_io_executor io, server_options server_options)
        : io_executor(std::move(io)), io_thread_context(one_thread_context(io_executor)),
          options(std::move(server_options)), workers(options.workers, options.worker_spin),
          budget(options.total_budget),
          failed_tokens(options.failed_token_delay, options.failed_token_delay_max,
                        std::max<std::chrono::steady_clock::duration>(
                            std::chrono::minutes(1), 2 * options.failed_token_delay_max),
                        4096),
          call_queue(options.workers) {
        buffer::set_reuse_limit(options.block_cache_limit);
    }

    const registered_processor* find(const std::string& name) const {
        auto found = processors.find(name);
        return found == processors.end() ? nullptr : &found->second;
    }

    /// find(name), skipping the lookup when `recent` (a result of it, or null) is that
    /// processor; `recent` becomes the result. (`processors` is fixed once serving starts.)
    const registered_processor* find(const std::string& name,
                                     const registered_processor*& recent) const {
        if (recent == nullptr || recent->proc.description.name != name) {
            recent = find(name);
        }
        return recent;
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

    /// Runs `task` of connection `owner` on a worker as soon as the fair queue picks it
    /// ([LIMIT-10]). With `wake_later`, on the one I/O thread of `io_thread_context`, a
    /// sleeping worker is woken by a handler posted behind the ones ready now, once for all the
    /// calls they start (not when the caller goes on to wait for the answer itself).
    void schedule_call(std::uint64_t owner, call_task task, bool wake_later = false) {
        std::optional<fair_queue<call_task>::start> first;
        {
            std::lock_guard<std::mutex> lock(call_queue_mutex);
            first = call_queue.push(owner, std::move(task));
        }
        if (!first) {
            return;
        }
        auto runner = call_runner(first->owner, std::move(first->task));
        if (!wake_later || io_thread_context == nullptr) {
            return workers.post(std::move(runner));
        }
        if (workers.post_quietly(std::move(runner)) &&
            !wake_posted.exchange(true, std::memory_order_relaxed)) {
            asio::post(
                *io_thread_context,
                asio::bind_allocator(slot_allocator<void>(wake_slot), [self = shared_from_this()] {
                    self->wake_posted.store(false, std::memory_order_relaxed);
                    self->workers.wake();
                }));
        }
    }

    /// Hands `answer` to the one I/O thread of `io_thread_context`, which runs it with the
    /// answers handed over before it runs: a worker's answer costs that thread a wake-up only
    /// when no other answer waits for it already.
    void hand_answer_over(answer_task answer) {
        if (answers.push(std::move(answer))) {
            asio::post(*io_thread_context, asio::bind_allocator(slot_allocator<void>(drain_slot),
                                                                answer_drain{shared_from_this()}));
        }
    }

    /// Drops the calls of `owner` that wait for a worker (its connection is gone). They will
    /// never compute, so their places among the pending calls are given back here.
    void forget_waiting_calls(std::uint64_t owner) {
        ring<call_task> dropped; // destroyed unlocked: they own their connection
        {
            std::lock_guard<std::mutex> lock(call_queue_mutex);
            dropped = call_queue.take_waiting(owner);
        }
        pending_calls.fetch_sub(dropped.size());
    }

    /// Called for every frame a connection receives.
    void note_frame(std::uint64_t session) {
        if (last_frame_session.exchange(session, std::memory_order_relaxed) != session) {
            last_switch.store(std::chrono::steady_clock::now().time_since_epoch().count(),
                              std::memory_order_relaxed);
        }
    }

    /// True when `session` alone has received frames for the past `quiet`: then its I/O thread
    /// has nothing else to do while a call of it computes.
    bool receiving_alone(std::uint64_t session, std::chrono::steady_clock::duration quiet) const {
        const auto since =
            std::chrono::steady_clock::duration(last_switch.load(std::memory_order_relaxed));
        return last_frame_session.load(std::memory_order_relaxed) == session &&
               std::chrono::steady_clock::now().time_since_epoch() - since >= quiet;
    }

    /// Lets the connections whose reading waits for the server's budget try again.
    void budget_released() {
        if (!budget_waiting.load()) {
            return;
        }
        std::vector<std::weak_ptr<session_base>> waiting;
        {
            std::lock_guard<std::mutex> lock(budget_waiters_mutex);
            waiting.swap(budget_waiters);
            budget_waiting = false;
        }
        for (auto& weak : waiting) {
            if (auto session = weak.lock()) {
                session->budget_available();
            }
        }
    }

    void wait_for_budget(std::weak_ptr<session_base> session) {
        std::lock_guard<std::mutex> lock(budget_waiters_mutex);
        budget_waiters.push_back(std::move(session));
        budget_waiting = true;
    }

    /// Logs a line of `kind` unless too many of that kind came lately.
    void log_limited(log_level level, const std::string& kind, std::string line) {
        if (!options.log) {
            return;
        }
        if (auto admitted = log_limits.admit(kind, std::move(line), log_limiter::clock::now())) {
            options.log(level, *admitted);
        }
    }

    asio::any_io_executor io_executor;
    /// The io_context behind io_executor when one thread runs it (then connections use it
    /// without strands, and answers and worker wake-ups are batched), else null.
    asio::io_context* const io_thread_context;
    const server_options options;
    std::map<std::string, registered_processor> processors; // fixed once serving starts
    /// The catalog's result as version 1.1 and as version 1.0 peers see it ([VER-4]).
    value catalog_value;
    value catalog_value_1_0;
    worker_pool workers;
    std::atomic<std::size_t> pending_calls{0};
    byte_budget budget;
    std::atomic<std::uint64_t> next_session_id{0};
    std::atomic<std::size_t> pending_handshakes{0};
    std::atomic<std::uint64_t> last_frame_session{~std::uint64_t{0}};
    std::atomic<std::chrono::steady_clock::rep> last_switch{0}; // when another session's came
    log_limiter log_limits{5, std::chrono::seconds(10)};
    /// Forgets an address a minute (at least twice the longest delay) after its last failure:
    /// a longer delay would forget the address before its next failure.
    token_failures failed_tokens;

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

    /// Where the drain of the answers handed over is posted, and the workers' wake-up (one of
    /// each at a time); each outlives its handler, which owns the state.
    handler_slot drain_slot;
    handler_slot wake_slot;

    // Under sessions_mutex.
    mutable std::mutex sessions_mutex;
    std::vector<std::weak_ptr<session_base>> sessions;
    std::vector<std::function<void()>> stop_listening;
    std::function<void()> on_all_closed;
    bool shutting_down = false;
    std::map<std::string, std::size_t> connections_per_address;

private:
    /// The worker's task: the call, then the calls the fair queue picks for the worker it
    /// frees, on the same worker (no hand-off through the pool between them).
    worker_pool::task call_runner(std::uint64_t owner, call_task task) {
        return [this, owner, task = std::move(task)]() mutable {
            for (;;) {
                task();
                task = {}; // what the call held goes before the next call starts
                std::optional<fair_queue<call_task>::start> next;
                {
                    std::lock_guard<std::mutex> lock(call_queue_mutex);
                    next = call_queue.finished(owner);
                }
                if (!next || workers.stopping()) {
                    return; // a stopped pool starts nothing more: `next` is dropped
                }
                owner = next->owner;
                task = std::move(next->task);
            }
        };
    }

    /// Runs the answers handed over; one is posted at a time, in drain_slot. Destroyed without
    /// running (the io_context went first), it drops them: they own their connections, which
    /// own the state.
    struct answer_drain {
        std::shared_ptr<server_state> state;
        answer_drain(std::shared_ptr<server_state> s) : state(std::move(s)) {}
        answer_drain(answer_drain&&) = default;
        answer_drain& operator=(answer_drain&&) = delete;
        ~answer_drain() {
            if (state) {
                state->answers.discard();
            }
        }
        void operator()() {
            auto running = std::move(state);
            running->answers.drain([](answer_task& answer) {
                answer();
                answer = {}; // what the answer held goes as it is sent
            });
        }
    };

    batch_queue<answer_task> answers;
    std::atomic<bool> wake_posted{false}; // a workers.wake() is posted to the I/O thread

    std::mutex call_queue_mutex;
    fair_queue<call_task> call_queue;
    std::mutex budget_waiters_mutex;
    std::vector<std::weak_ptr<session_base>> budget_waiters;
    std::atomic<bool> budget_waiting{false};
};

} // namespace slicerbridge::detail

#endif
