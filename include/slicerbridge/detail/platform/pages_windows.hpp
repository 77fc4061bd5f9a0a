#ifndef SLICERBRIDGE_DETAIL_PLATFORM_PAGES_WINDOWS_HPP
#define SLICERBRIDGE_DETAIL_PLATFORM_PAGES_WINDOWS_HPP

#include <cstddef>
#include <cstdint>
#include <new>

#include <windows.h>

namespace slicerbridge::detail::platform {

/// A reservation can only be released whole, so it is not trimmed: the block is committed at the
/// first boundary inside a reservation one alignment larger, which stays reserved (address
/// space, not memory) until the block is released.
inline std::byte* map_pages(std::size_t size, std::size_t alignment) {
    void* reserved = ::VirtualAlloc(nullptr, size + alignment, MEM_RESERVE, PAGE_NOACCESS);
    if (reserved == nullptr) {
        throw std::bad_alloc();
    }
    const auto start = reinterpret_cast<std::uintptr_t>(reserved);
    const auto aligned = (start + alignment - 1) & ~std::uintptr_t{alignment - 1};
    void* block =
        ::VirtualAlloc(reinterpret_cast<void*>(aligned), size, MEM_COMMIT, PAGE_READWRITE);
    if (block == nullptr) {
        ::VirtualFree(reserved, 0, MEM_RELEASE);
        throw std::bad_alloc();
    }
    return static_cast<std::byte*>(block);
}

inline void unmap_pages(std::byte* block, std::size_t) {
    MEMORY_BASIC_INFORMATION region{};
    if (::VirtualQuery(block, &region, sizeof(region)) != 0) {
        ::VirtualFree(region.AllocationBase, 0, MEM_RELEASE);
    }
}

} // namespace slicerbridge::detail::platform

#endif
