#ifndef SLICERBRIDGE_DETAIL_TOKEN_FAILURES_HPP
#define SLICERBRIDGE_DETAIL_TOKEN_FAILURES_HPP
// How long a server waits before it answers a missing or wrong token ([SEC-11]); without I/O.
// Each failure from one address doubles the wait, so that guessing tokens from one address
// gets slow while a client that mistyped its token waits a moment only.

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <iterator>
#include <map>
#include <mutex>
#include <string>

namespace slicerbridge::detail {

/// The delays of failed tokens per address: `first` after a first failure, doubling with each
/// further one up to `longest`. An address's count is forgotten after a success, or after
/// `quiet` without a failure; at most `capacity` addresses are remembered, the one that failed
/// longest ago making room for a new one. A `first` of zero turns delays off. Thread-safe.
class token_failures {
public:
    using clock = std::chrono::steady_clock;

    token_failures(clock::duration first, clock::duration longest, clock::duration quiet,
                   std::size_t capacity)
        : first_(first), longest_(std::max(first, longest)), quiet_(quiet),
          capacity_(std::max<std::size_t>(capacity, 1)) {}

    /// Records a failure from `address`; returns how long to wait before answering it.
    clock::duration failed(const std::string& address, clock::time_point now) {
        if (first_ == clock::duration::zero()) {
            return first_;
        }
        std::lock_guard<std::mutex> lock(mutex_);
        auto found = addresses_.find(address);
        if (found != addresses_.end() && now - found->second.last >= quiet_) {
            addresses_.erase(found);
            found = addresses_.end();
        }
        if (found == addresses_.end()) {
            make_room(now);
            found = addresses_.emplace(address, entry{first_, now}).first;
            return first_;
        }
        auto& e = found->second;
        // min(2 delay, longest), without overflow
        e.delay = e.delay > longest_ / 2 ? longest_ : e.delay * 2;
        e.last = now;
        return e.delay;
    }

    /// A right token from `address`: its next failure waits `first` again.
    void succeeded(const std::string& address) {
        std::lock_guard<std::mutex> lock(mutex_);
        addresses_.erase(address);
    }

    std::size_t size() const {
        std::lock_guard<std::mutex> lock(mutex_);
        return addresses_.size();
    }

private:
    struct entry {
        clock::duration delay;
        clock::time_point last;
    };

    void make_room(clock::time_point now) {
        if (addresses_.size() < capacity_) {
            return;
        }
        for (auto it = addresses_.begin(); it != addresses_.end();) {
            it = now - it->second.last >= quiet_ ? addresses_.erase(it) : std::next(it);
        }
        if (addresses_.size() >= capacity_) {
            addresses_.erase(std::min_element(
                addresses_.begin(), addresses_.end(),
                [](const auto& a, const auto& b) { return a.second.last < b.second.last; }));
        }
    }

    mutable std::mutex mutex_;
    const clock::duration first_;
    const clock::duration longest_;
    const clock::duration quiet_;
    const std::size_t capacity_;
    std::map<std::string, entry> addresses_;
};

} // namespace slicerbridge::detail

#endif
