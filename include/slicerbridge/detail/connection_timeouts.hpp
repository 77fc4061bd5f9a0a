#ifndef SLICERBRIDGE_DETAIL_CONNECTION_TIMEOUTS_HPP
#define SLICERBRIDGE_DETAIL_CONNECTION_TIMEOUTS_HPP
// When a server closes a connection that does not move ([LIMIT-5], [LIMIT-6], [LIMIT-7]),
// without I/O: the connection reports what it observes at each tick of one timer (byte counters
// and what it is doing), and `observe` says whether to close it and when to look again.
// Progress is noticed at ticks, so a timeout T closes the connection between T and T plus one
// tick (a quarter of the shortest timeout in force); never before T: a clock starts again at
// the tick that sees what it waits on begin or end, not at the one before.
// spec/vectors/decisions/timeout_decisions.json holds the cases.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>

namespace slicerbridge::detail {

enum class timeout_reason { hello, idle, receive_stalled, send_stalled };

class connection_timeouts {
public:
    using clock = std::chrono::steady_clock;
    using duration = clock::duration;

    /// What the connection is doing, as seen at a tick.
    struct activity {
        std::uint64_t bytes_received = 0; ///< ever, a counter
        std::uint64_t bytes_sent = 0;     ///< ever, a counter
        bool hello_done = false;
        bool mid_frame = false;      ///< some bytes of a frame arrived, not all
        bool reading_paused = false; ///< by the server's own budget: no stall of the peer's
        bool calls_open = false;
        bool answers_waiting = false; ///< frames queued and not yet written in full
    };

    struct verdict {
        std::optional<timeout_reason> close;
        clock::time_point next_tick; ///< meaningful when not closing
    };

    /// Zero durations disable a timeout.
    connection_timeouts(duration hello, duration idle, duration stall, clock::time_point start)
        : hello_(hello), idle_(idle), stall_(stall), start_(start), receiving_since_(start),
          sending_since_(start), idle_since_(start) {}

    /// True if some timeout is in force: otherwise no timer is needed.
    bool any() const { return tick() != duration::zero(); }

    /// The first tick.
    clock::time_point first_tick() const { return start_ + tick(); }

    verdict observe(clock::time_point now, const activity& a) {
        const bool received = a.bytes_received != seen_received_;
        // A paused connection may hold a request back: not idle ([LIMIT-6], [LIMIT-9]).
        const bool busy = a.calls_open || a.answers_waiting || a.mid_frame || a.reading_paused;
        seen_received_ = a.bytes_received;
        // A stall counts while the server reads: a pause of its own ([LIMIT-9]) starts it again.
        if (received || a.reading_paused || was_paused_) {
            receiving_since_ = now;
        }
        // An answer stalls from when it began to wait, or from its last byte that left.
        if (a.bytes_sent != seen_sent_ || !a.answers_waiting || !was_waiting_) {
            seen_sent_ = a.bytes_sent;
            sending_since_ = now;
        }
        // Idle from the last byte received or the end of the last call, answer or frame.
        if (received || busy || was_busy_) {
            idle_since_ = now;
        }
        was_paused_ = a.reading_paused;
        was_waiting_ = a.answers_waiting;
        was_busy_ = busy;
        verdict v;
        v.next_tick = now + tick();
        if (!a.hello_done && enabled(hello_) && now - start_ >= hello_) {
            v.close = timeout_reason::hello;
        } else if (a.hello_done && enabled(stall_) && a.answers_waiting &&
                   now - sending_since_ >= stall_) {
            v.close = timeout_reason::send_stalled;
        } else if (enabled(stall_) && a.mid_frame && !a.reading_paused &&
                   now - receiving_since_ >= stall_) {
            v.close = timeout_reason::receive_stalled; // the hello's frame too
        } else if (a.hello_done && enabled(idle_) && !busy && now - idle_since_ >= idle_) {
            v.close = timeout_reason::idle;
        }
        return v;
    }

private:
    static bool enabled(duration d) { return d > duration::zero(); }

    duration tick() const {
        duration shortest = duration::zero();
        for (duration d : {hello_, idle_, stall_}) {
            if (enabled(d) && (shortest == duration::zero() || d < shortest)) {
                shortest = d;
            }
        }
        if (shortest == duration::zero()) {
            return shortest;
        }
        return std::max<duration>(shortest / 4, std::chrono::milliseconds(1));
    }

    duration hello_;
    duration idle_;
    duration stall_;
    clock::time_point start_;
    std::uint64_t seen_received_ = 0;
    std::uint64_t seen_sent_ = 0;
    clock::time_point receiving_since_;
    clock::time_point sending_since_;
    clock::time_point idle_since_;
    bool was_paused_ = false;
    bool was_waiting_ = false;
    bool was_busy_ = false;
};

} // namespace slicerbridge::detail

#endif
