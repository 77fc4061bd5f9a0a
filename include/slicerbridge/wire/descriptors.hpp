#ifndef SLICERBRIDGE_WIRE_DESCRIPTORS_HPP
#define SLICERBRIDGE_WIRE_DESCRIPTORS_HPP

// The descriptors passed beside a frame on a Unix socket (spec section 3.5): owned by the
// received frame, closed with it whatever became of the frame ([FD-6]).

#include <slicerbridge/detail/platform/memfd.hpp>

#include <cstddef>
#include <utility>
#include <vector>

namespace slicerbridge {

/// Most descriptors one frame may carry ([FD-2], [FD-3]).
inline constexpr std::size_t max_descriptors_per_frame = 16;

/// The descriptors that arrived with one frame, in the order received. Decoding maps
/// duplicates of them; these are closed when the object is destroyed.
class frame_descriptors {
public:
    frame_descriptors() = default;
    frame_descriptors(const frame_descriptors&) = delete;
    frame_descriptors& operator=(const frame_descriptors&) = delete;
    frame_descriptors(frame_descriptors&& other) noexcept
        : fds_(std::move(other.fds_)), in_force_(other.in_force_), overflowed_(other.overflowed_) {
        other.fds_.clear();
        other.overflowed_ = false;
    }
    frame_descriptors& operator=(frame_descriptors&& other) noexcept {
        if (this != &other) {
            close_all();
            fds_ = std::move(other.fds_);
            other.fds_.clear();
            in_force_ = other.in_force_;
            overflowed_ = other.overflowed_;
            other.overflowed_ = false;
        }
        return *this;
    }
    ~frame_descriptors() { close_all(); }

    /// Takes over `fd`.
    void add(int fd) { fds_.push_back(fd); }

    /// Takes over every descriptor of `other`, after those already held.
    void append(frame_descriptors&& other) {
        fds_.insert(fds_.end(), other.fds_.begin(), other.fds_.end());
        other.fds_.clear();
        overflowed_ = overflowed_ || other.overflowed_;
        other.overflowed_ = false;
    }

    const std::vector<int>& fds() const noexcept { return fds_; }
    std::size_t size() const noexcept { return fds_.size(); }
    bool empty() const noexcept { return fds_.empty() && !overflowed_; }

    /// Whether transfer.memfd was in force when the frame was read: descriptor references
    /// are valid only then ([FD-4]).
    bool in_force() const noexcept { return in_force_; }
    void set_in_force(bool in_force) noexcept { in_force_ = in_force; }

    /// Whether some descriptors were lost (ancillary data cut short) or more than
    /// `max_descriptors_per_frame` arrived: the frame is then invalid ([FD-3]).
    bool overflowed() const noexcept {
        return overflowed_ || fds_.size() > max_descriptors_per_frame;
    }
    void set_overflowed() noexcept { overflowed_ = true; }

    void close_all() noexcept {
        for (int fd : fds_) {
            detail::platform::close_descriptor(fd);
        }
        fds_.clear();
    }

private:
    std::vector<int> fds_;
    bool in_force_ = false;
    bool overflowed_ = false;
};

} // namespace slicerbridge

#endif
