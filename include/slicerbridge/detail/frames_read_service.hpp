#ifndef SLICERBRIDGE_DETAIL_FRAMES_READ_SERVICE_HPP
#define SLICERBRIDGE_DETAIL_FRAMES_READ_SERVICE_HPP

#include <asio/execution_context.hpp>

#include <atomic>
#include <cstdint>

namespace slicerbridge::detail {

/// Counts the frames that the frame_streams of one execution context have read whole, so that a
/// stream can tell whether others on its context were busy between two of its frames.
class frames_read_service : public asio::execution_context::service {
public:
    static inline asio::execution_context::id id;

    explicit frames_read_service(asio::execution_context& context) : service(context) {}

    /// Counts one frame; returns the count with it.
    std::uint64_t count_one() noexcept {
        return count_.fetch_add(1, std::memory_order_relaxed) + 1;
    }

    std::uint64_t count() const noexcept { return count_.load(std::memory_order_relaxed); }

private:
    void shutdown() override {}

    std::atomic<std::uint64_t> count_{0};
};

} // namespace slicerbridge::detail

#endif
