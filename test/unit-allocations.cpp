#include "support/allocation_recorder.hpp"

#include <doctest/doctest.h>

#include <memory>
#include <vector>

TEST_CASE("allocation_recorder counts this thread's allocations while alive") {
    test_support::allocation_recorder outer;
    {
        test_support::allocation_recorder inner;
        auto numbers = std::make_unique<std::vector<int>>(1000);
        CHECK(inner.stats().count == 2);
        CHECK(inner.stats().largest == 1000 * sizeof(int));
    }
    CHECK(outer.stats().count == 0);
    auto single = std::make_unique<int>(1);
    CHECK(outer.stats().count == 1);
    CHECK(outer.stats().largest == sizeof(int));
}
