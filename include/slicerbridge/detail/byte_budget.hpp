#ifndef SLICERBRIDGE_DETAIL_BYTE_BUDGET_HPP
#define SLICERBRIDGE_DETAIL_BYTE_BUDGET_HPP
// The bytes a server holds for its connections ([LIMIT-9]): frames being received, inputs of
// open calls and answers waiting to be sent. Without I/O: a connection asks before it reads on,
// and pauses while the answer is no.
//
// A frame is reserved whole when its header has arrived, so a frame once admitted always
// completes: connections never wait on each other's half-received frames. A frame that does not
// fit waits; one larger than the whole budget is admitted when nothing else is held, so every
// frame the limits allow can be received. spec/vectors/decisions/budget_decisions.json holds
// the rule.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <utility>

namespace slicerbridge::detail {

/// The whole server's budget. Thread-safe without a lock: connections ask it for every frame,
/// and a lock would be taken several times per call.
class byte_budget {
public:
    explicit byte_budget(std::size_t total) : total_(total) {}

    /// Reserves `bytes` if they fit, or if nothing is held at all.
    bool try_reserve(std::uint64_t bytes) {
        std::uint64_t held = held_.load();
        do {
            if (held != 0 && (bytes > total_ || held + bytes > total_)) {
                return false;
            }
        } while (!held_.compare_exchange_weak(held, held + bytes));
        return true;
    }

    /// Adds bytes that are held already (an answer computed by a worker): never refused.
    void add(std::uint64_t bytes) { held_ += bytes; }

    void release(std::uint64_t bytes) { held_ -= bytes; }

    /// True while more may be held: a connection may start reading a new frame.
    bool has_room() const { return held_.load() < total_; }

    std::uint64_t held() const { return held_.load(); }

private:
    const std::uint64_t total_;
    std::atomic<std::uint64_t> held_{0};
};

/// One connection's share, drawn from the server's budget. Frames are reserved by the
/// connection's strand only; answers are added and released by it and by workers.
class connection_budget {
public:
    connection_budget(byte_budget& total, std::size_t limit) : total_(total), limit_(limit) {}
    connection_budget(const connection_budget&) = delete;
    connection_budget& operator=(const connection_budget&) = delete;
    ~connection_budget() { total_.release(held_); }

    /// May the connection read the start of a new frame? Not while it holds its limit or the
    /// server holds its own.
    bool may_start_frame() const { return held_ < limit_ && total_.has_room(); }

    /// Reserves a frame whose header announced `bytes`: true if it fits in both budgets (or
    /// nothing else is held in the one it exceeds).
    bool try_reserve_frame(std::uint64_t bytes) {
        if (held_ != 0 && held_ + bytes > limit_) {
            return false;
        }
        if (!total_.try_reserve(bytes)) {
            return false;
        }
        held_ += bytes;
        return true;
    }

    /// The read gate: may the connection read on, the frame being received having announced
    /// `announced` bytes so far (0: its header is not complete)? The first announcement
    /// reserves the frame, which stays reserved until take_frame_reservation().
    bool admit_read(std::uint64_t announced) {
        if (frame_reserved_ != 0) {
            return true;
        }
        if (announced == 0) {
            return may_start_frame();
        }
        if (!try_reserve_frame(announced)) {
            return false;
        }
        frame_reserved_ = announced;
        return true;
    }

    /// The reservation of the frame just received, for whatever keeps its bytes (or release()).
    std::uint64_t take_frame_reservation() { return std::exchange(frame_reserved_, 0); }

    /// Bytes that exist already (an encoded answer).
    void add(std::uint64_t bytes) {
        total_.add(bytes);
        held_ += bytes;
    }

    void release(std::uint64_t bytes) {
        held_ -= bytes;
        total_.release(bytes);
    }

    std::uint64_t held() const { return held_.load(); }

private:
    byte_budget& total_;
    const std::uint64_t limit_;
    std::atomic<std::uint64_t> held_{0};
    std::uint64_t frame_reserved_ = 0; // of the frame being received
};

} // namespace slicerbridge::detail

#endif
