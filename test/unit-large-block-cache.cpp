#include <slicerbridge/detail/large_block_cache.hpp>

#include <slicerbridge/buffer.hpp>

#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>

using slicerbridge::buffer;
using slicerbridge::detail::large_block_cache;

TEST_CASE("large buffers are 2 MiB-aligned, reused after release, and the reuse is bounded") {
    auto& cache = large_block_cache::instance();
    buffer::set_reuse_limit(std::size_t{64} << 20);
    const std::byte* first_address = nullptr;
    {
        auto first = buffer::allocate(std::size_t{5} << 20);
        first_address = first.data();
        CHECK(reinterpret_cast<std::uintptr_t>(first_address) % large_block_cache::huge_page == 0);
        std::memset(first.mutable_data(), 0x5a, first.size());
    }
    CHECK(cache.cached_bytes() >= (std::size_t{5} << 20));
    {
        auto again = buffer::allocate(std::size_t{5} << 20);
        CHECK(again.data() == first_address); // the released block, pages already mapped
        CHECK(again.size() == (std::size_t{5} << 20));
    }
    {
        // A much smaller request does not pin the larger block.
        auto small = buffer::allocate(std::size_t{1} << 20);
        CHECK(small.data() != first_address);
    }
    buffer::set_reuse_limit(0);
    CHECK(cache.cached_bytes() == 0);
    buffer::set_reuse_limit(std::size_t{1} << 30);
}

TEST_CASE("small buffers do not go through the cache") {
    auto before = large_block_cache::instance().cached_bytes();
    { auto small = buffer::allocate(4096); }
    CHECK(large_block_cache::instance().cached_bytes() == before);
}
