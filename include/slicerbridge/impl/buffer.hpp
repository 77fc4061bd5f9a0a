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

template <class T>
buffer buffer::adopt(std::vector<T>&& values) {
    static_assert(std::is_trivially_copyable_v<T>, "buffer::adopt needs trivially copyable T");
    auto owner = std::make_shared<const std::vector<T>>(std::move(values));
    const auto* data = reinterpret_cast<const std::byte*>(owner->data());
    const std::size_t size = owner->size() * sizeof(T);
    return buffer(std::shared_ptr<const void>(std::move(owner)), data, size);
}

} // namespace slicerbridge

#endif
