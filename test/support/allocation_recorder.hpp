#ifndef SLICERBRIDGE_TEST_SUPPORT_ALLOCATION_RECORDER_HPP
#define SLICERBRIDGE_TEST_SUPPORT_ALLOCATION_RECORDER_HPP

// Records the heap allocations the current thread makes while a recorder is alive. The global
// operator new that feeds it is replaced in allocation_recorder.cpp.

#include <cstddef>

namespace test_support {

struct allocation_stats {
    std::size_t count = 0;
    std::size_t largest = 0;
    std::size_t total = 0;
};

class allocation_recorder {
public:
    allocation_recorder() noexcept;
    ~allocation_recorder();
    allocation_recorder(const allocation_recorder&) = delete;
    allocation_recorder& operator=(const allocation_recorder&) = delete;

    const allocation_stats& stats() const noexcept { return stats_; }

private:
    allocation_stats stats_;
    allocation_stats* previous_;
};

} // namespace test_support

#endif
