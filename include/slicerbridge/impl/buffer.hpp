#ifndef SLICERBRIDGE_IMPL_BUFFER_HPP
#define SLICERBRIDGE_IMPL_BUFFER_HPP

#include <slicerbridge/detail/large_block_cache.hpp>

#include <cstdint>
#include <cstring>
#include <limits>
#include <new>
#include <stdexcept>
#include <type_traits>
#include <utility>

namespace slicerbridge {
namespace detail {

// The shared state's payload. allocate_shared places it inside the control block; the allocator
// below enlarges that one allocation so that the buffer's bytes follow it.
struct buffer_block {
    unsigned char unused = 0;
};

template <class T>
class buffer_block_allocator {
public:
    using value_type = T;

    explicit buffer_block_allocator(std::size_t extra) noexcept : extra_(extra) {}
    template <class U>
    buffer_block_allocator(const buffer_block_allocator<U>& other) noexcept
        : extra_(other.extra()) {}

    T* allocate(std::size_t n) {
        if (n > (std::numeric_limits<std::size_t>::max() - extra_) / sizeof(T)) {
            throw std::bad_alloc();
        }
        return static_cast<T*>(::operator new(n * sizeof(T) + extra_));
    }
    void deallocate(T* p, std::size_t) noexcept { ::operator delete(p); }

    std::size_t extra() const noexcept { return extra_; }

    template <class U>
    friend bool operator==(const buffer_block_allocator& a,
                           const buffer_block_allocator<U>& b) noexcept {
        return a.extra() == b.extra();
    }
    template <class U>
    friend bool operator!=(const buffer_block_allocator& a,
                           const buffer_block_allocator<U>& b) noexcept {
        return !(a == b);
    }

private:
    std::size_t extra_;
};

} // namespace detail

inline buffer buffer::allocate(std::size_t n) {
    if (n == 0) {
        return {};
    }
    if (n >= detail::large_block_cache::threshold) {
        auto block = detail::large_block_cache::instance().acquire(n);
        const std::byte* data = block.get();
        return buffer(std::shared_ptr<const void>(std::move(block)), data, n);
    }
    if (n > std::numeric_limits<std::size_t>::max() - alignment) {
        throw std::bad_alloc();
    }
    auto block = std::allocate_shared<detail::buffer_block>(
        detail::buffer_block_allocator<detail::buffer_block>(n + alignment));
    // The bytes start at the first aligned address after the payload: that and the `n` bytes
    // after it lie inside the `n + alignment` bytes added at the end of the allocation.
    const auto payload_end = reinterpret_cast<std::uintptr_t>(block.get()) + sizeof(*block);
    const auto start = (payload_end + alignment - 1) & ~std::uintptr_t{alignment - 1};
    const auto* data = reinterpret_cast<const std::byte*>(start);
    return buffer(std::shared_ptr<const void>(std::move(block)), data, n);
}

inline void buffer::set_reuse_limit(std::size_t bytes) {
    detail::large_block_cache::instance().set_limit(bytes);
}

inline buffer buffer::copy_of(const void* data, std::size_t size) {
    buffer result = allocate(size);
    if (size != 0) {
        std::memcpy(result.mutable_data(), data, size);
    }
    return result;
}

inline buffer buffer::wrap(std::shared_ptr<const void> owner, const std::byte* data,
                           std::size_t size) noexcept {
    return buffer(std::move(owner), data, size);
}

template <class T>
buffer buffer::adopt(std::vector<T>&& values) {
    static_assert(std::is_trivially_copyable_v<T>, "buffer::adopt needs trivially copyable T");
    auto owner = std::make_shared<const std::vector<T>>(std::move(values));
    const auto* data = reinterpret_cast<const std::byte*>(owner->data());
    const std::size_t size = owner->size() * sizeof(T);
    return buffer(std::shared_ptr<const void>(std::move(owner)), data, size);
}

inline buffer buffer::slice(std::size_t offset, std::size_t length) const {
    if (offset > size_ || length > size_ - offset) {
        throw std::out_of_range("slicerbridge::buffer::slice: range outside the buffer");
    }
    return buffer(owner_, data_ + offset, length);
}

inline bool operator==(const buffer& a, const buffer& b) noexcept {
    return a.size_ == b.size_ &&
           (a.size_ == 0 || a.data_ == b.data_ || std::memcmp(a.data_, b.data_, a.size_) == 0);
}

} // namespace slicerbridge

#endif
