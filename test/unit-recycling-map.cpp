#include <slicerbridge/detail/recycling_map.hpp>

#include "support/allocation_recorder.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <memory>
#include <unordered_map>

using slicerbridge::detail::recycling_map;

TEST_CASE("recycling map: an erased entry's node serves the next one, its value reset, without "
          "an allocation") {
    recycling_map<std::unordered_map<std::uint64_t, std::shared_ptr<int>>> calls;
    calls.emplace_new(1)->second = std::make_shared<int>(10);
    auto held = calls.find(1)->second;
    calls.erase(calls.find(1));
    CHECK(calls.empty());
    CHECK(held.use_count() == 1);              // the erased value let go at once
    for (std::uint64_t id = 2; id < 6; ++id) { // warm up: four entries at once
        calls.emplace_new(id);
    }
    CHECK(calls.size() == 4);
    for (std::uint64_t id = 2; id < 6; ++id) {
        calls.erase(calls.find(id));
    }
    test_support::allocation_recorder recorder;
    for (std::uint64_t id = 100; id < 400; ++id) {
        auto entry = calls.emplace_new(id);
        CHECK(entry->first == id);
        CHECK_FALSE(entry->second); // reset, not the last value
        entry->second = held;
        if (id % 4 == 3) {
            for (std::uint64_t gone = id - 3; gone <= id; ++gone) {
                calls.erase(calls.find(gone));
            }
        }
    }
    CHECK(recorder.stats().count == 0);
    CHECK(calls.empty());
    CHECK(held.use_count() == 1);
}

TEST_CASE("recycling map: clear() empties it and keeps the spare nodes") {
    recycling_map<std::unordered_map<std::uint64_t, int>> map;
    map.emplace_new(1)->second = 5;
    map.emplace_new(2)->second = 6;
    map.clear();
    CHECK(map.empty());
    CHECK(map.count(1) == 0);
    CHECK(map.emplace_new(1)->second == 0);
}
