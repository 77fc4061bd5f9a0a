#ifndef SLICERBRIDGE_DETAIL_RING_HPP
#define SLICERBRIDGE_DETAIL_RING_HPP
// A first-in, first-out queue in one array that grows as needed and keeps its size: queuing
// allocates nothing once it has held as many items as are ever queued at once (a std::deque
// allocates and frees a block every few items that pass through it). Growing moves the items:
// nothing may point into one while another is queued.

#include <cstddef>
#include <utility>
#include <vector>

namespace slicerbridge::detail {

template <class T>
class ring {
public:
    ring() = default;
    ring(ring&& other) noexcept { take(other); }
    ring& operator=(ring&& other) noexcept {
        if (this != &other) {
            take(other);
        }
        return *this;
    }

    bool empty() const noexcept { return size_ == 0; }
    std::size_t size() const noexcept { return size_; }

    T& front() noexcept { return slots_[head_]; }

    void push_back(T item) {
        if (size_ == slots_.size()) {
            grow();
        }
        slots_[(head_ + size_) & (slots_.size() - 1)] = std::move(item);
        ++size_;
    }

    T pop_front() noexcept {
        T front = std::move(slots_[head_]);
        head_ = (head_ + 1) & (slots_.size() - 1);
        --size_;
        return front;
    }

    void clear() noexcept {
        while (!empty()) {
            pop_front();
        }
    }

private:
    void take(ring& other) noexcept { // leaves `other` empty
        slots_ = std::move(other.slots_);
        other.slots_.clear();
        head_ = std::exchange(other.head_, 0);
        size_ = std::exchange(other.size_, 0);
    }

    void grow() {
        std::vector<T> larger(slots_.empty() ? 16 : 2 * slots_.size()); // powers of 2
        for (std::size_t i = 0; i < size_; ++i) {
            larger[i] = std::move(slots_[(head_ + i) & (slots_.size() - 1)]);
        }
        slots_.swap(larger);
        head_ = 0;
    }

    std::vector<T> slots_;
    std::size_t head_ = 0; // of the oldest item
    std::size_t size_ = 0;
};

} // namespace slicerbridge::detail

#endif
