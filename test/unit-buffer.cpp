#include <slicerbridge/buffer.hpp>

#include "support/allocation_recorder.hpp"

#include "support/printers.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <stdexcept>

using slicerbridge::buffer;

TEST_CASE("buffer::allocate makes aligned storage in one allocation without filling it") {
    test_support::allocation_recorder recorder;
    const std::size_t n = 512u << 10; // below the large-block threshold (unit-large-block-cache)
    buffer b = buffer::allocate(n);
    CHECK(recorder.stats().count == 1);
    CHECK(recorder.stats().largest >= n);
    CHECK(recorder.stats().largest < n + 256);
    CHECK(b.size() == n);
    CHECK_FALSE(b.empty());
    CHECK(reinterpret_cast<std::uintptr_t>(b.data()) % buffer::alignment == 0);
    std::memset(b.mutable_data(), 0xab, n);
    CHECK(b.data()[0] == std::byte{0xab});
    CHECK(b.data()[n - 1] == std::byte{0xab});
}

TEST_CASE("buffer::allocate of zero bytes is empty") {
    test_support::allocation_recorder recorder;
    buffer b = buffer::allocate(0);
    CHECK(b.empty());
    CHECK(b.size() == 0);
    CHECK(recorder.stats().count == 0);
    CHECK(b == buffer());
}

TEST_CASE("buffer storage lives as long as any copy or slice") {
    buffer slice;
    {
        buffer b = buffer::copy_of("0123456789", 10);
        slice = b.slice(3, 4);
    }
    REQUIRE(slice.size() == 4);
    CHECK(std::memcmp(slice.data(), "3456", 4) == 0);
    CHECK(slice.owner().use_count() == 1);
}

TEST_CASE("buffer::slice shares the bytes and checks the range") {
    buffer b = buffer::copy_of("abcdef", 6);
    buffer s = b.slice(2, 3);
    CHECK(s.data() == b.data() + 2);
    CHECK_UNARY(s.owner() == b.owner());
    CHECK(b.slice(6, 0).empty());
    CHECK(b.slice(0, 6) == b);
    CHECK_THROWS_AS(b.slice(7, 0), std::out_of_range);
    CHECK_THROWS_AS(b.slice(4, 3), std::out_of_range);
    CHECK_THROWS_AS(b.slice(1, SIZE_MAX), std::out_of_range);
}

TEST_CASE("buffer::wrap is a zero-copy view kept alive by its owner") {
    auto storage = std::make_shared<std::vector<std::byte>>(16, std::byte{7});
    std::weak_ptr<std::vector<std::byte>> watch = storage;
    buffer b = buffer::wrap(storage, storage->data() + 4, 8);
    storage.reset();
    CHECK_FALSE(watch.expired());
    CHECK(b.size() == 8);
    CHECK(b.data()[0] == std::byte{7});
    b = buffer();
    CHECK(watch.expired());
}

TEST_CASE("buffer::adopt takes a vector without copying") {
    std::vector<std::uint16_t> values{1, 2, 3};
    const auto* original = values.data();
    buffer b = buffer::adopt(std::move(values));
    CHECK(b.size() == 6);
    CHECK(reinterpret_cast<const std::uint16_t*>(b.data()) == original);
}

TEST_CASE("buffer equality compares bytes, not identity") {
    buffer a = buffer::copy_of("same", 4);
    buffer b = buffer::copy_of("same", 4);
    buffer c = buffer::copy_of("diff", 4);
    CHECK(a.data() != b.data());
    CHECK(a == b);
    CHECK(a != c);
    CHECK(a != a.slice(0, 3));
}
