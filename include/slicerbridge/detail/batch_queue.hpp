#ifndef SLICERBRIDGE_DETAIL_BATCH_QUEUE_HPP
#define SLICERBRIDGE_DETAIL_BATCH_QUEUE_HPP
// Items handed from any thread to one consumer that takes them all at once, without I/O. The
// first push after a drain tells its caller to arrange one drain (the server posts one handler
// to its I/O thread); the pushes until that drain runs ride along. N answers computed while the
// I/O thread is busy then cost it one wake-up, not N.

#include <cstddef>
#include <mutex>
#include <utility>
#include <vector>

namespace slicerbridge::detail {

template <class Item>
class batch_queue {
public:
    /// Queues `item`. True when no drain is pending: the caller must arrange exactly one.
    [[nodiscard]] bool push(Item item) {
        std::lock_guard<std::mutex> lock(mutex_);
        items_.push_back(std::move(item));
        if (drain_pending_) {
            return false;
        }
        drain_pending_ = true;
        return true;
    }

    /// The consumer (one at a time): runs `consume` on every item queued so far, oldest first,
    /// outside the lock. An item pushed meanwhile, even by `consume`, asks for another drain.
    /// Returns how many items were consumed.
    template <class Consume>
    std::size_t drain(Consume&& consume) {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            draining_.swap(items_);
            drain_pending_ = false;
        }
        const std::size_t count = draining_.size();
        for (auto& item : draining_) {
            consume(item);
        }
        draining_.clear(); // the capacity stays for the next drain
        return count;
    }

    /// Drops every queued item (the drain that was arranged will not run); the next push asks
    /// for a drain again.
    void discard() {
        std::vector<Item> dropped; // destroyed unlocked: items may own what pushes
        std::lock_guard<std::mutex> lock(mutex_);
        dropped.swap(items_);
        drain_pending_ = false;
    }

private:
    std::mutex mutex_;
    std::vector<Item> items_; // guarded by mutex_, like drain_pending_
    bool drain_pending_ = false;
    std::vector<Item> draining_; // the consumer's
};

} // namespace slicerbridge::detail

#endif
