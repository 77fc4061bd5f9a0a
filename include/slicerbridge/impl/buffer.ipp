#ifndef SLICERBRIDGE_IMPL_BUFFER_IPP
#define SLICERBRIDGE_IMPL_BUFFER_IPP

#include <slicerbridge/buffer.hpp>

namespace slicerbridge {

SLICERBRIDGE_DECL buffer buffer::allocate(std::size_t n) {
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

SLICERBRIDGE_DECL void buffer::set_reuse_limit(std::size_t bytes) {
    detail::large_block_cache::instance().set_limit(bytes);
}

SLICERBRIDGE_DECL buffer buffer::copy_of(const void* data, std::size_t size) {
    buffer result = allocate(size);
    if (size != 0) {
        std::memcpy(result.mutable_data(), data, size);
    }
    return result;
}

SLICERBRIDGE_DECL buffer buffer::wrap(std::shared_ptr<const void> owner, const std::byte* data,
                                      std::size_t size) noexcept {
    return buffer(std::move(owner), data, size);
}

SLICERBRIDGE_DECL buffer buffer::slice(std::size_t offset, std::size_t length) const {
    if (offset > size_ || length > size_ - offset) {
        throw std::out_of_range("slicerbridge::buffer::slice: range outside the buffer");
    }
    return buffer(owner_, data_ + offset, length);
}

SLICERBRIDGE_DECL bool operator==(const buffer& a, const buffer& b) noexcept {
    return a.size_ == b.size_ &&
           (a.size_ == 0 || a.data_ == b.data_ || std::memcmp(a.data_, b.data_, a.size_) == 0);
}

} // namespace slicerbridge

#endif
