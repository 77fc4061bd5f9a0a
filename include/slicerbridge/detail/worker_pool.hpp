#ifndef SLICERBRIDGE_DETAIL_WORKER_POOL_HPP
#define SLICERBRIDGE_DETAIL_WORKER_POOL_HPP
// The threads that run processors. Waking a sleeping thread costs a few microseconds, more than
// a small call's whole computation, so one idle worker at a time keeps looking for work for a
// short while before it sleeps (as OpenMP and TBB workers do): a call that follows soon after
// the last one starts at once. The looking yields the processor to any other runnable thread.

#include <slicerbridge/detail/ring.hpp>
#include <slicerbridge/detail/unique_function.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <thread>
#include <vector>

namespace slicerbridge::detail {

class worker_pool {
public:
    /// Keeps a callable of up to eight pointers in itself: a server's call, with what it needs
    /// to run, is queued and run without an allocation.
    using task = unique_function<void(), 8 * sizeof(void*)>;

    /// `threads` workers (at least one); an idle one looks for work for `spin` before sleeping
    /// (zero: it sleeps at once).
    worker_pool(std::size_t threads, std::chrono::microseconds spin) : spin_(spin) {
        threads = threads == 0 ? 1 : threads;
        threads_.reserve(threads);
        for (std::size_t i = 0; i < threads; ++i) {
            threads_.emplace_back([this] { work(); });
        }
    }

    worker_pool(const worker_pool&) = delete;
    worker_pool& operator=(const worker_pool&) = delete;

    ~worker_pool() {
        stop();
        join();
    }

    void post(task t) {
        if (post_quietly(std::move(t))) {
            wake_.notify_one();
        }
    }

    /// Queues `t` without waking a sleeping worker; true when one should be woken for it: then
    /// the caller calls wake() later, once for every task it queued meanwhile (a thread that
    /// queues several tasks in a row wakes the workers once, after the last).
    [[nodiscard]] bool post_quietly(task t) {
        std::lock_guard<std::mutex> lock(mutex_);
        tasks_.push_back(std::move(t));
        queued_.store(tasks_.size(), std::memory_order_release);
        return wanted_sleepers() > 0;
    }

    /// Wakes as many sleeping workers as the queued tasks need.
    void wake() {
        std::size_t count = 0;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            count = wanted_sleepers();
        }
        for (; count > 0; --count) {
            wake_.notify_one();
        }
    }

    /// True once stop() was called: a task that would start further work should not.
    bool stopping() const { return stopping_.load(std::memory_order_relaxed); }

    /// Workers finish the task they are running and take no more; queued tasks are dropped.
    void stop() {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            stopped_ = true;
        }
        stopping_.store(true, std::memory_order_relaxed);
        wake_.notify_all();
    }

    void join() {
        for (auto& t : threads_) {
            if (t.joinable()) {
                t.join();
            }
        }
        std::lock_guard<std::mutex> lock(mutex_);
        tasks_.clear();
        queued_.store(0, std::memory_order_relaxed);
    }

private:
    /// Under mutex_: the sleepers the queued tasks need (a looking worker takes one of them).
    std::size_t wanted_sleepers() const {
        const std::size_t takers = looking_ ? 1u : 0u;
        const std::size_t wanted = tasks_.size() > takers ? tasks_.size() - takers : 0u;
        return wanted < sleepers_ ? wanted : sleepers_;
    }

    void work() {
        std::unique_lock<std::mutex> lock(mutex_);
        bool looked = false; // since the last task: then sleep
        for (;;) {
            if (stopped_) {
                return;
            }
            if (!tasks_.empty()) {
                task next = tasks_.pop_front();
                queued_.store(tasks_.size(), std::memory_order_relaxed);
                lock.unlock();
                next();
                next = task();
                lock.lock();
                looked = false;
                continue;
            }
            if (!looked && !looking_ && spin_.count() > 0) {
                looked = true;
                looking_ = true;
                lock.unlock();
                look_for_work();
                lock.lock();
                looking_ = false;
                continue;
            }
            ++sleepers_;
            wake_.wait(lock, [this] { return stopped_ || !tasks_.empty(); });
            --sleepers_;
        }
    }

    void look_for_work() const {
        const auto until = std::chrono::steady_clock::now() + spin_;
        while (queued_.load(std::memory_order_acquire) == 0 &&
               std::chrono::steady_clock::now() < until) {
            std::this_thread::yield();
        }
    }

    const std::chrono::microseconds spin_;
    std::mutex mutex_;
    std::condition_variable wake_;
    ring<task> tasks_;         // guarded by mutex_, like the three below
    std::size_t sleepers_ = 0; // workers waiting on wake_
    bool looking_ = false;     // one worker is looking for work before sleeping
    bool stopped_ = false;
    std::atomic<std::size_t> queued_{0}; // tasks_.size(), for the looking worker
    std::atomic<bool> stopping_{false};
    std::vector<std::thread> threads_;
};

} // namespace slicerbridge::detail

#endif
