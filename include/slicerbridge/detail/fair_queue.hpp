#ifndef SLICERBRIDGE_DETAIL_FAIR_QUEUE_HPP
#define SLICERBRIDGE_DETAIL_FAIR_QUEUE_HPP
// Which call runs next on the server's workers ([LIMIT-10]), without I/O. Calls are handed to
// the workers only while one is free; when several connections wait, the next call comes from
// the one with the fewest calls running, so one connection's queue of long calls cannot take
// every worker from the others. One connection alone still gets every worker. Among equals, the
// one that has waited longest for a start goes first: counted from the arrival of its oldest
// waiting call, or from its last call's start if that is later, so equals take turns (as the
// Python server's FairQueue). spec/vectors/decisions/fair_queue_decisions.json holds the rule.

#include <slicerbridge/detail/ring.hpp>

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <utility>
#include <vector>

namespace slicerbridge::detail {

template <class Task>
class fair_queue {
public:
    using owner_id = std::uint64_t;

    /// A task to start on a free worker, and whose it is.
    struct start {
        owner_id owner;
        Task task;
    };

    explicit fair_queue(std::size_t workers) : workers_(workers == 0 ? 1 : workers) {}

    /// Queues `task` of `owner`; returns the task to start now, if a worker is free.
    std::optional<start> push(owner_id owner, Task task) {
        auto found = owners_.find(owner);
        if (found == owners_.end()) {
            found = add_owner(owner);
        }
        auto& entry = found->second;
        entry.waiting.push_back(std::move(task));
        if (entry.waiting.size() == 1) {
            entry.turn = next_turn_++;
        }
        return next();
    }

    /// A task of `owner` finished; returns the task to start on the freed worker, if any.
    /// Precondition: a task of `owner` is running.
    std::optional<start> finished(owner_id owner) {
        auto found = owners_.find(owner);
        assert(found != owners_.end() && found->second.running > 0);
        --found->second.running;
        erase_if_empty(found);
        --running_;
        return next();
    }

    std::size_t running() const { return running_; }

    /// Takes the waiting tasks of `owner` out of the queue (its connection is gone); running
    /// ones finish.
    ring<Task> take_waiting(owner_id owner) {
        ring<Task> taken;
        auto found = owners_.find(owner);
        if (found != owners_.end()) {
            std::swap(taken, found->second.waiting);
            erase_if_empty(found);
        }
        return taken;
    }

private:
    struct owner_state {
        ring<Task> waiting;
        std::size_t running = 0;
        std::uint64_t turn = 0; // when its oldest waiting task started waiting
    };
    using iterator = typename std::map<owner_id, owner_state>::iterator;

    std::optional<start> next() {
        if (running_ >= workers_) {
            return std::nullopt;
        }
        auto chosen = owners_.end();
        for (auto it = owners_.begin(); it != owners_.end(); ++it) {
            const auto& candidate = it->second;
            if (candidate.waiting.empty()) {
                continue;
            }
            if (chosen == owners_.end() || candidate.running < chosen->second.running ||
                (candidate.running == chosen->second.running &&
                 candidate.turn < chosen->second.turn)) {
                chosen = it;
            }
        }
        if (chosen == owners_.end()) {
            return std::nullopt;
        }
        auto& owner = chosen->second;
        Task task = owner.waiting.pop_front();
        owner.turn = next_turn_++;
        ++owner.running;
        ++running_;
        return start{chosen->first, std::move(task)};
    }

    /// An owner's entry goes when it has nothing waiting or running; its map node, with the
    /// storage its emptied queue keeps, is kept for the next owner to come (a connection that
    /// makes one call at a time comes and goes with every call).
    void erase_if_empty(iterator it) {
        if (!it->second.waiting.empty() || it->second.running != 0) {
            return;
        }
        if (spare_.size() < max_spare) {
            spare_.push_back(owners_.extract(it));
        } else {
            owners_.erase(it);
        }
    }

    iterator add_owner(owner_id owner) {
        if (spare_.empty()) {
            return owners_.emplace(owner, owner_state{}).first;
        }
        auto node = std::move(spare_.back());
        spare_.pop_back();
        node.key() = owner;
        node.mapped().running = 0; // `waiting` is empty: the entry went when it was
        node.mapped().turn = 0;
        return owners_.insert(std::move(node)).position;
    }

    const std::size_t workers_;
    std::size_t running_ = 0;
    std::uint64_t next_turn_ = 0;
    std::map<owner_id, owner_state> owners_;
    static constexpr std::size_t max_spare = 64;
    std::vector<typename std::map<owner_id, owner_state>::node_type> spare_;
};

} // namespace slicerbridge::detail

#endif
