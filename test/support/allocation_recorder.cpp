// The allocation recorder used by tests that must show an allocation did not happen: it replaces
// the global operator new and delete, counting for the thread that holds a recorder. Part of the
// test executable whichever test files it is built with.

#include "support/allocation_recorder.hpp"

#include <cstdlib>
#include <new>

namespace {

thread_local test_support::allocation_stats* active_stats = nullptr;

void record(std::size_t size) noexcept {
    if (active_stats != nullptr) {
        ++active_stats->count;
        active_stats->total += size;
        if (size > active_stats->largest) {
            active_stats->largest = size;
        }
    }
}

void* allocate(std::size_t size) {
    record(size);
    if (void* p = std::malloc(size == 0 ? 1 : size)) {
        return p;
    }
    throw std::bad_alloc();
}

// Windows' C runtime has no posix_memalign, and its aligned blocks go back through _aligned_free.
#if defined(_WIN32)
void* aligned_block(std::size_t align, std::size_t size) {
    return _aligned_malloc(size, align);
}
void free_aligned(void* p) noexcept {
    _aligned_free(p);
}
#else
void* aligned_block(std::size_t align, std::size_t size) {
    void* p = nullptr;
    return posix_memalign(&p, align, size) == 0 ? p : nullptr;
}
void free_aligned(void* p) noexcept {
    std::free(p);
}
#endif

void* allocate_aligned(std::size_t size, std::align_val_t alignment) {
    record(size);
    const auto align = static_cast<std::size_t>(alignment);
    if (void* p =
            aligned_block(align < sizeof(void*) ? sizeof(void*) : align, size == 0 ? 1 : size)) {
        return p;
    }
    throw std::bad_alloc();
}

} // namespace

namespace test_support {

allocation_recorder::allocation_recorder() noexcept : previous_(active_stats) {
    active_stats = &stats_;
}

allocation_recorder::~allocation_recorder() {
    active_stats = previous_;
}

} // namespace test_support

void* operator new(std::size_t size) {
    return allocate(size);
}
void* operator new[](std::size_t size) {
    return allocate(size);
}
void* operator new(std::size_t size, std::align_val_t alignment) {
    return allocate_aligned(size, alignment);
}
void* operator new[](std::size_t size, std::align_val_t alignment) {
    return allocate_aligned(size, alignment);
}
void operator delete(void* p) noexcept {
    std::free(p);
}
void operator delete[](void* p) noexcept {
    std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
    std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
    std::free(p);
}
void operator delete(void* p, std::align_val_t) noexcept {
    free_aligned(p);
}
void operator delete[](void* p, std::align_val_t) noexcept {
    free_aligned(p);
}
void operator delete(void* p, std::size_t, std::align_val_t) noexcept {
    free_aligned(p);
}
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept {
    free_aligned(p);
}
