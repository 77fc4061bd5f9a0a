#ifndef SLICERBRIDGE_DETAIL_HANDLER_SLOT_HPP
#define SLICERBRIDGE_DETAIL_HANDLER_SLOT_HPP
// Memory for one asynchronous operation at a time, kept for the next one (as in Asio's
// allocation example). Asio recycles an operation's memory in the cache of the thread that frees
// it; an operation that one thread posts and another runs (a worker's answers handed to the I/O
// thread) would allocate afresh every time. Its handler names a slot_allocator as its associated
// allocator, and Asio frees the memory before the handler runs, so the next one may take it.

#include <atomic>
#include <cstddef>
#include <new>

namespace slicerbridge::detail {

class handler_slot {
public:
    static constexpr std::size_t capacity = 256;

    handler_slot() = default;
    handler_slot(const handler_slot&) = delete;
    handler_slot& operator=(const handler_slot&) = delete;

    /// The slot when it is free and large enough; otherwise memory from operator new. Any thread.
    void* allocate(std::size_t size) {
        if (size <= capacity && !in_use_.exchange(true, std::memory_order_acquire)) {
            return storage_;
        }
        return ::operator new(size);
    }

    /// Takes back what allocate() gave. Any thread.
    void deallocate(void* pointer) noexcept {
        if (pointer == storage_) {
            in_use_.store(false, std::memory_order_release);
        } else {
            ::operator delete(pointer);
        }
    }

    bool in_use() const noexcept { return in_use_.load(std::memory_order_acquire); }

private:
    alignas(std::max_align_t) unsigned char storage_[capacity];
    std::atomic<bool> in_use_{false};
};

/// An allocator drawing on a handler_slot, which must outlive every operation allocated from it.
template <class T>
class slot_allocator {
public:
    using value_type = T;

    explicit slot_allocator(handler_slot& slot) noexcept : slot_(&slot) {}
    template <class U>
    slot_allocator(const slot_allocator<U>& other) noexcept : slot_(other.slot_) {}

    T* allocate(std::size_t n) {
        static_assert(alignof(T) <= alignof(std::max_align_t), "over-aligned for the slot");
        return static_cast<T*>(slot_->allocate(n * sizeof(T)));
    }
    void deallocate(T* pointer, std::size_t) noexcept { slot_->deallocate(pointer); }

    template <class U>
    bool operator==(const slot_allocator<U>& other) const noexcept {
        return slot_ == other.slot_;
    }
    template <class U>
    bool operator!=(const slot_allocator<U>& other) const noexcept {
        return slot_ != other.slot_;
    }

private:
    template <class>
    friend class slot_allocator;
    handler_slot* slot_;
};

} // namespace slicerbridge::detail

#endif
