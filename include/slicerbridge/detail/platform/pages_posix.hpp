#ifndef SLICERBRIDGE_DETAIL_PLATFORM_PAGES_POSIX_HPP
#define SLICERBRIDGE_DETAIL_PLATFORM_PAGES_POSIX_HPP

#include <cstddef>
#include <cstdint>
#include <new>

#include <sys/mman.h>

namespace slicerbridge::detail::platform {

inline std::byte* map_pages(std::size_t size, std::size_t alignment) {
    // Over-map by one alignment, then trim, so the block starts on the boundary.
    const std::size_t span = size + alignment;
    void* raw = ::mmap(nullptr, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) {
        throw std::bad_alloc();
    }
    auto start = reinterpret_cast<std::uintptr_t>(raw);
    auto aligned = (start + alignment - 1) & ~std::uintptr_t{alignment - 1};
    if (aligned > start) {
        ::munmap(raw, aligned - start);
    }
    const auto end = start + span;
    if (end > aligned + size) {
        ::munmap(reinterpret_cast<void*>(aligned + size), end - aligned - size);
    }
    auto* block = reinterpret_cast<std::byte*>(aligned);
#if defined(MADV_HUGEPAGE)
    ::madvise(block, size, MADV_HUGEPAGE); // Linux: advice only, fine if refused
#endif
    return block;
}

inline void unmap_pages(std::byte* block, std::size_t size) {
    ::munmap(block, size);
}

} // namespace slicerbridge::detail::platform

#endif
