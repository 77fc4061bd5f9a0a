#ifndef SLICERBRIDGE_DETAIL_LOG_LIMITER_HPP
#define SLICERBRIDGE_DETAIL_LOG_LIMITER_HPP
// Repeated log lines, rate-limited, and the back-off of a failing accept loop; without I/O.
// When descriptors run out, every accept fails at once: without these a server spins on a core
// and writes its log as fast as the disk takes it.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>

namespace slicerbridge::detail {

/// At most `burst` lines of one kind per `period`; the lines held back are counted and reported
/// with the next line of that kind let through. Thread-safe.
class log_limiter {
public:
    using clock = std::chrono::steady_clock;

    log_limiter(std::size_t burst, clock::duration period) : burst_(burst), period_(period) {}

    /// The line to log now for `line` of kind `kind`, or nothing to log.
    std::optional<std::string> admit(const std::string& kind, std::string line,
                                     clock::time_point now) {
        std::lock_guard<std::mutex> lock(mutex_);
        auto& window = windows_[kind];
        if (now - window.start >= period_) {
            window.start = now;
            window.logged = 0;
        }
        if (window.logged >= burst_) {
            ++window.suppressed;
            return std::nullopt;
        }
        ++window.logged;
        if (window.suppressed != 0) {
            line += " (" + std::to_string(window.suppressed) + " similar lines suppressed)";
            window.suppressed = 0;
        }
        return line;
    }

private:
    struct window_state {
        clock::time_point start{};
        std::size_t logged = 0;
        std::uint64_t suppressed = 0;
    };

    std::mutex mutex_;
    const std::size_t burst_;
    const clock::duration period_;
    std::map<std::string, window_state> windows_;
};

/// How long an accept loop waits after a failure: doubling from `first` up to `longest`, and
/// back to none after a success.
class accept_backoff {
public:
    using duration = std::chrono::steady_clock::duration;

    accept_backoff(duration first, duration longest) : first_(first), longest_(longest) {}

    duration failed() {
        current_ = current_ == duration::zero() ? first_ : std::min(current_ * 2, longest_);
        return current_;
    }

    void succeeded() { current_ = duration::zero(); }

private:
    const duration first_;
    const duration longest_;
    duration current_ = duration::zero();
};

} // namespace slicerbridge::detail

#endif
