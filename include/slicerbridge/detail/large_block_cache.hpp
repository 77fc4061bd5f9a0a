#ifndef SLICERBRIDGE_DETAIL_LARGE_BLOCK_CACHE_HPP
#define SLICERBRIDGE_DETAIL_LARGE_BLOCK_CACHE_HPP
// Storage for large buffers (voxels): mapped in 2 MiB-aligned regions that the kernel may back
// with huge pages (see platform/pages.hpp), and kept for reuse when released.
//
// Why: a fresh 256 MiB allocation costs 65,536 page faults and the kernel's zeroing of every
// page before the first byte arrives; on a loopback link that is as long as the transfer itself.
// Receivers get a new buffer per frame (it becomes the image's storage), so without reuse every
// call pays it. Released blocks are kept up to a byte limit and handed out again for requests
// of similar size; beyond the limit they are unmapped.

#include <slicerbridge/detail/platform/pages.hpp>

#include <algorithm>
#include <cstddef>
#include <limits>
#include <memory>
#include <mutex>
#include <new>
#include <vector>

namespace slicerbridge::detail {

class large_block_cache {
public:
    /// Requests of at least this many bytes come from the cache.
    static constexpr std::size_t threshold = std::size_t{1} << 20;
    static constexpr std::size_t huge_page = std::size_t{2} << 20;

    static large_block_cache& instance() {
        // Never destroyed: buffers may be released during static destruction.
        static auto* cache = new large_block_cache;
        return *cache;
    }

    /// At least `size` bytes, 2 MiB-aligned, uninitialised. Throws std::bad_alloc.
    std::shared_ptr<std::byte> acquire(std::size_t size) {
        std::size_t capacity = round_up(size);
        std::byte* block = take_cached(capacity);
        if (block == nullptr) {
            block = map(capacity);
        }
        return std::shared_ptr<std::byte>(
            block, [this, capacity](std::byte* p) { give_back(p, capacity); });
    }

    /// Bytes kept for reuse at most (default 1 GiB); 0 disables reuse.
    void set_limit(std::size_t bytes) {
        std::vector<std::pair<std::byte*, std::size_t>> evicted;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            limit_ = bytes;
            evict_beyond_limit(evicted);
        }
        unmap_all(evicted);
    }

    std::size_t cached_bytes() const {
        std::lock_guard<std::mutex> lock(mutex_);
        return cached_bytes_;
    }

private:
    large_block_cache() = default;

    static std::size_t round_up(std::size_t size) {
        if (size > std::numeric_limits<std::size_t>::max() - huge_page) {
            throw std::bad_alloc();
        }
        return (size + huge_page - 1) & ~(huge_page - 1);
    }

    // A cached block of at least `capacity` and at most twice it, so no request pins a much
    // larger block; `capacity` becomes the block's real size.
    std::byte* take_cached(std::size_t& capacity) {
        std::lock_guard<std::mutex> lock(mutex_);
        auto best = free_.end();
        for (auto it = free_.begin(); it != free_.end(); ++it) {
            if (it->second == capacity) {
                best = it;
                break;
            }
            if (it->second > capacity && it->second / 2 <= capacity &&
                (best == free_.end() || it->second < best->second)) {
                best = it;
            }
        }
        if (best == free_.end()) {
            return nullptr;
        }
        auto* block = best->first;
        capacity = best->second;
        cached_bytes_ -= capacity;
        free_.erase(best);
        return block;
    }

    static std::byte* map(std::size_t capacity) { return platform::map_pages(capacity, huge_page); }

    void give_back(std::byte* block, std::size_t capacity) {
        std::vector<std::pair<std::byte*, std::size_t>> evicted;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            free_.emplace_back(block, capacity);
            cached_bytes_ += capacity;
            evict_beyond_limit(evicted);
        }
        unmap_all(evicted);
    }

    // Oldest first.
    void evict_beyond_limit(std::vector<std::pair<std::byte*, std::size_t>>& evicted) {
        while (cached_bytes_ > limit_ && !free_.empty()) {
            evicted.push_back(free_.front());
            cached_bytes_ -= free_.front().second;
            free_.erase(free_.begin());
        }
    }

    static void unmap_all(const std::vector<std::pair<std::byte*, std::size_t>>& blocks) {
        for (const auto& [block, capacity] : blocks) {
            platform::unmap_pages(block, capacity);
        }
    }

    mutable std::mutex mutex_;
    std::vector<std::pair<std::byte*, std::size_t>> free_; // released, oldest first
    std::size_t cached_bytes_ = 0;
    std::size_t limit_ = std::size_t{1} << 30;
};

} // namespace slicerbridge::detail

#endif
