#ifndef SLICERBRIDGE_SERVER_OUTBOX_HPP
#define SLICERBRIDGE_SERVER_OUTBOX_HPP
// The write side of a server connection, without I/O: the frames waiting to be sent, in the
// order they were queued; their bytes, held in the connection's byte budget until written
// ([LIMIT-9]); the answers among them, which count against max_in_flight until written
// ([LIMIT-2]); the one write in progress; and whether the connection closes once its writes
// are done. The session (session.hpp) writes the frame the outbox names and reports how the
// write went; the outbox decides when writing starts, what is written next, what goes back to
// the budget and when the connection may close.
//
// Ownership: the connection's executor (its strand) is the only caller, as it is the only
// writer of the socket. A frame being written asynchronously stays at the front, alive, until
// end_write(): the write references it.

#include <slicerbridge/detail/byte_budget.hpp>
#include <slicerbridge/wire/codec.hpp>

#include <cstddef>
#include <list>
#include <utility>

namespace slicerbridge::detail {

class outbox {
public:
    /// Queued frames' bytes are added to `budget` and released from it as they leave; `budget`
    /// outlives the outbox. Frames still queued when the outbox goes are not released: their
    /// owner releases what the budget holds.
    explicit outbox(connection_budget& budget) : budget_(budget) {}
    outbox(const outbox&) = delete;
    outbox& operator=(const outbox&) = delete;

    /// Appends `frame` after those queued before it, adds its bytes to the budget and, when it
    /// `answers_call` (an invoke), counts one more unsent answer. Nothing is queued once
    /// abandoned (false). True if nothing is being written: the caller starts writing
    /// (next_to_write()).
    bool queue(encoded_frame frame, bool answers_call) {
        if (abandoned_) {
            return false;
        }
        budget_.add(frame.total_size());
        if (spare_.empty()) {
            frames_.push_back(queued{std::move(frame), answers_call});
        } else {
            spare_.front() = queued{std::move(frame), answers_call};
            frames_.splice(frames_.end(), spare_, spare_.begin());
        }
        unsent_answers_ += answers_call ? 1 : 0;
        return !writing_;
    }

    /// The frame to write now: the front, unless a write is in progress, the outbox is
    /// abandoned or it is empty (then null).
    encoded_frame* next_to_write() {
        if (writing_ || abandoned_ || frames_.empty()) {
            return nullptr;
        }
        return &frames_.front().frame;
    }

    /// The front is written in full: it leaves, and its bytes go back to the budget. Returns
    /// it, done with (its head's storage may serve another frame).
    encoded_frame written() { return release_front(); }

    /// The front is being written asynchronously: nothing else is written, and it stays,
    /// until end_write().
    void begin_write() { writing_ = true; }

    /// The asynchronous write ended. Then written() if it wrote the front in full, or
    /// abandon() if it failed or the outbox was abandoned meanwhile.
    void end_write() { writing_ = false; }

    bool writing() const { return writing_; }

    /// From now on the connection closes once nothing is being written: true if that is now.
    bool close_after_writes() {
        closing_ = true;
        return !writing_;
    }

    /// Asked once the queued frames are written or being written: true if the connection
    /// closes now (close_after_writes() was called and no write is in progress).
    bool close_due() const { return closing_ && !writing_; }

    /// Nothing more is queued or written. Every frame is released, in order, unless a write is in
    /// progress: then all stay (the write references the front) until end_write(), and the
    /// caller abandons again. True if it released any frame.
    bool abandon() {
        abandoned_ = true;
        if (writing_ || frames_.empty()) {
            return false;
        }
        while (!frames_.empty()) {
            release_front();
        }
        return true;
    }

    bool abandoned() const { return abandoned_; }

    /// Answers queued and not yet written in full: their requests are open for the client and
    /// count against max_in_flight ([LIMIT-2], [LIMIT-9]).
    std::size_t unsent_answers() const { return unsent_answers_; }

    bool empty() const { return frames_.empty(); }

private:
    encoded_frame release_front() {
        auto& front = frames_.front();
        unsent_answers_ -= front.answers_call ? 1 : 0;
        budget_.release(front.frame.total_size());
        encoded_frame released = std::move(front.frame);
        if (spare_.size() < max_spare) {
            spare_.splice(spare_.end(), frames_, frames_.begin());
        } else {
            frames_.pop_front();
        }
        return released;
    }

    struct queued {
        encoded_frame frame;
        bool answers_call; // counts against max_in_flight until written
    };

    connection_budget& budget_;
    // A list, not a deque: a frame being written stays where it is while others are queued
    // (the write points into it), and the nodes of written frames serve the next ones, so a
    // connection that has warmed up queues without an allocation.
    std::list<queued> frames_;
    std::list<queued> spare_; // their frames moved out
    static constexpr std::size_t max_spare = 16;
    std::size_t unsent_answers_ = 0;
    bool writing_ = false;   // one asynchronous write in progress, of the front
    bool abandoned_ = false; // nothing more is queued or written
    bool closing_ = false;   // the connection closes once nothing is being written
};

} // namespace slicerbridge::detail

#endif
