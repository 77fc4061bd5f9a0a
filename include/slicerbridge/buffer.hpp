#ifndef SLICERBRIDGE_BUFFER_HPP
#define SLICERBRIDGE_BUFFER_HPP

// Shared, immutable-by-convention bytes: the home of voxels and other bulk data.

#include <slicerbridge/detail/config.hpp>

#include <cstddef>
#include <memory>
#include <vector>

namespace slicerbridge {

/// A view of bytes together with shared ownership of their storage. Copies share the bytes;
/// `slice` views part of them under the same ownership. The bytes are immutable by convention:
/// only the creator of a freshly `allocate`d buffer writes them, through `mutable_data`, before
/// sharing it.
class buffer {
public:
    /// Alignment of the storage made by `allocate`.
    static constexpr std::size_t alignment = 64;

    /// An empty buffer.
    buffer() noexcept = default;

    /// `n` uninitialised bytes, aligned to `alignment`, in a single allocation that also holds
    /// the reference count. From 1 MiB up, the storage is a block that huge pages may back and
    /// that is reused after release (see `set_reuse_limit`). Throws std::bad_alloc.
    SLICERBRIDGE_DECL static buffer allocate(std::size_t n);

    /// How many bytes of released large blocks are kept for reuse (default 1 GiB; 0: none).
    SLICERBRIDGE_DECL static void set_reuse_limit(std::size_t bytes);

    /// A new buffer holding a copy of `size` bytes at `data`.
    SLICERBRIDGE_DECL static buffer copy_of(const void* data, std::size_t size);

    /// A zero-copy view of `size` bytes at `data`, kept alive by `owner`.
    SLICERBRIDGE_DECL static buffer wrap(std::shared_ptr<const void> owner, const std::byte* data,
                                         std::size_t size) noexcept;

    /// Takes over a vector without copying its elements.
    template <class T>
    static buffer adopt(std::vector<T>&& values);

    const std::byte* data() const noexcept { return data_; }
    /// The bytes, writable: only for filling a buffer made by `allocate` before it is shared.
    std::byte* mutable_data() const noexcept { return const_cast<std::byte*>(data_); }
    std::size_t size() const noexcept { return size_; }
    bool empty() const noexcept { return size_ == 0; }
    const std::byte* begin() const noexcept { return data_; }
    const std::byte* end() const noexcept { return data_ + size_; }

    /// The object that keeps the bytes alive, for handing them to another owner (VTK, numpy).
    const std::shared_ptr<const void>& owner() const noexcept { return owner_; }

    /// `length` bytes from `offset`, sharing ownership. Throws std::out_of_range if the range
    /// does not lie inside this buffer.
    SLICERBRIDGE_DECL buffer slice(std::size_t offset, std::size_t length) const;

    /// Compares the bytes.
    friend bool operator==(const buffer& a, const buffer& b) noexcept;
    friend bool operator!=(const buffer& a, const buffer& b) noexcept { return !(a == b); }

private:
    buffer(std::shared_ptr<const void> owner, const std::byte* data, std::size_t size) noexcept
        : owner_(std::move(owner)), data_(data), size_(size) {}

    std::shared_ptr<const void> owner_;
    const std::byte* data_ = nullptr;
    std::size_t size_ = 0;
};

} // namespace slicerbridge

#include <slicerbridge/impl/buffer.hpp>
#if defined(SLICERBRIDGE_HEADER_ONLY)
#include <slicerbridge/impl/buffer.ipp>
#endif

#endif
