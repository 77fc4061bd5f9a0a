#ifndef SLICERBRIDGE_DETAIL_PLATFORM_MEMFD_LINUX_HPP
#define SLICERBRIDGE_DETAIL_PLATFORM_MEMFD_LINUX_HPP

#include <slicerbridge/buffer.hpp>
#include <slicerbridge/error.hpp>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <system_error>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace slicerbridge::detail::platform {

inline constexpr bool has_memfd = true;

/// The seals that make a memory file's bytes immutable and its size fixed ([FD-5], [FD-8]).
inline constexpr int required_seals = F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW;

inline void close_descriptor(int fd) noexcept {
    if (fd >= 0) {
        ::close(fd);
    }
}

/// The deleter of the owner of every buffer that views a memory file: it unmaps the file and
/// closes the descriptor, and lets a sender find the descriptor again (`memfd_location_of`).
struct memfd_mapping {
    int fd = -1;
    std::byte* base = nullptr;
    std::size_t size = 0;

    void operator()(const void*) const noexcept {
        if (base != nullptr) {
            ::munmap(base, size);
        }
        close_descriptor(fd);
    }
};

inline buffer buffer_of_mapping(const memfd_mapping& mapping) {
    std::shared_ptr<const void> owner(mapping.base, mapping);
    return buffer::wrap(std::move(owner), mapping.base, mapping.size);
}

inline std::error_code last_error() noexcept {
    return std::error_code(errno, std::system_category());
}

/// A read-only mapping of the whole of `fd` (taken over: closed on failure too).
inline std::optional<buffer> map_read_only(int fd, std::size_t size, std::error_code& ec) {
    memfd_mapping mapping{fd, nullptr, size};
    if (size != 0) {
        void* base = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
        if (base == MAP_FAILED) {
            ec = last_error();
            close_descriptor(fd);
            return std::nullopt;
        }
        mapping.base = static_cast<std::byte*>(base);
    }
    try {
        return buffer_of_mapping(mapping);
    } catch (...) {
        mapping(nullptr);
        throw;
    }
}

/// A new memory file of `size` bytes that `fill(std::byte*)` writes, then sealed against
/// writing, shrinking and growing ([FD-8]) and mapped read-only: the buffer a sender passes by
/// descriptor without copying it again.
template <class Fill>
buffer sealed_memfd_buffer(std::size_t size, Fill&& fill, std::error_code& ec) {
    ec.clear();
    int fd = ::memfd_create("slicerbridge", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0) {
        ec = last_error();
        return buffer();
    }
    if (size > static_cast<std::size_t>(std::numeric_limits<off_t>::max()) ||
        ::ftruncate(fd, static_cast<off_t>(size)) != 0) {
        ec = size > static_cast<std::size_t>(std::numeric_limits<off_t>::max())
                 ? std::make_error_code(std::errc::file_too_large)
                 : last_error();
        close_descriptor(fd);
        return buffer();
    }
    if (size != 0) {
        // Written through a shared mapping that is gone before sealing: F_SEAL_WRITE refuses
        // while a writable mapping exists.
        void* writable = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (writable == MAP_FAILED) {
            ec = last_error();
            close_descriptor(fd);
            return buffer();
        }
        struct unmap_on_exit {
            void* base;
            std::size_t size;
            ~unmap_on_exit() { ::munmap(base, size); }
        } guard{writable, size};
        try {
            fill(static_cast<std::byte*>(writable));
        } catch (...) {
            close_descriptor(fd);
            throw;
        }
    }
    if (::fcntl(fd, F_ADD_SEALS, required_seals | F_SEAL_SEAL) != 0) {
        ec = last_error();
        close_descriptor(fd);
        return buffer();
    }
    auto mapped = map_read_only(fd, size, ec);
    return mapped ? std::move(*mapped) : buffer();
}

inline std::optional<memfd_location> memfd_location_of(const buffer& b) noexcept {
    const auto* mapping = std::get_deleter<memfd_mapping>(b.owner());
    if (mapping == nullptr || b.data() < mapping->base ||
        b.data() + b.size() > mapping->base + mapping->size) {
        return std::nullopt;
    }
    return memfd_location{mapping->fd, static_cast<std::uint64_t>(b.data() - mapping->base)};
}

/// Maps a received descriptor read-only after checking that it is a memory file sealed against
/// writing, shrinking and growing ([FD-5]); the size is the file's own (fstat), never a claimed
/// one. The mapping keeps a duplicate of `fd`; `fd` itself stays the caller's. Empty, with
/// `why`, when a check fails.
inline std::optional<buffer> map_sealed_memfd(int fd, error& why) {
    why = error::invalid_message;
    const int seals = ::fcntl(fd, F_GET_SEALS);
    if (seals < 0 || (seals & required_seals) != required_seals) {
        return std::nullopt; // not a memory file (a pipe, a directory), or not sealed
    }
    struct stat status {};
    if (::fstat(fd, &status) != 0 || !S_ISREG(status.st_mode) || status.st_size < 0 ||
        static_cast<std::uint64_t>(status.st_size) > std::numeric_limits<std::size_t>::max()) {
        return std::nullopt;
    }
    const int own = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (own < 0) {
        return std::nullopt;
    }
    std::error_code ec;
    return map_read_only(own, static_cast<std::size_t>(status.st_size), ec);
}

} // namespace slicerbridge::detail::platform

#endif
