#ifndef SLICERBRIDGE_CLIENT_RECONNECT_HPP
#define SLICERBRIDGE_CLIENT_RECONNECT_HPP
// When a pool connects again after a failed connect, and when the calls waiting for a
// connection give up (pool_options: reconnect_delay, max_reconnect_delay, connect_attempts).
// No I/O: client_pool carries the decision out with one timer per connection.

#include <chrono>
#include <cstddef>

namespace slicerbridge::detail {

class reconnect_schedule {
public:
    struct decision {
        /// How long the failed connection waits before it connects again.
        std::chrono::milliseconds delay;
        /// The calls waiting for a connection fail now (`pool_error::no_connection`).
        bool fail_waiting;
    };

    /// `attempts` below 1 counts as 1.
    reconnect_schedule(std::chrono::milliseconds first, std::chrono::milliseconds longest,
                       std::size_t attempts)
        : first_(first), longest_(longest), attempts_(attempts == 0 ? 1 : attempts) {}

    /// A connect failed; `none_open`: the pool has no working connection. The n-th failure in
    /// a row waits `first` doubled n - 1 times, up to `longest`. `attempts` failures in a row
    /// with none open fail the waiting calls, and the next failure starts a new row: the pool
    /// goes on trying for later calls.
    decision failed(bool none_open) {
        ++in_a_row_;
        decision d{delay_after(in_a_row_), false};
        if (none_open && in_a_row_ >= attempts_) {
            d.fail_waiting = true;
            in_a_row_ = 0;
        }
        return d;
    }

    /// A connect succeeded: the next failure is the first of a row.
    void connected() noexcept { in_a_row_ = 0; }

private:
    std::chrono::milliseconds delay_after(std::size_t failures) const {
        auto delay = first_;
        for (std::size_t i = 1; i < failures && delay < longest_; ++i) {
            delay *= 2;
        }
        return delay < longest_ ? delay : longest_;
    }

    std::chrono::milliseconds first_;
    std::chrono::milliseconds longest_;
    std::size_t attempts_;
    std::size_t in_a_row_ = 0;
};

} // namespace slicerbridge::detail

#endif
