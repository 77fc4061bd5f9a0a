#ifndef SLICERBRIDGE_DETAIL_ZSTD_CODEC_HPP
#define SLICERBRIDGE_DETAIL_ZSTD_CODEC_HPP
// zstd (RFC 8878, one frame) for bulk segments, or, in a build without zstd (SLICERBRIDGE_NO_ZSTD,
// which the CMake package defines when it does not find it), nothing: the codec is then not in
// `codec_set::all()`, so it is never offered, and these functions are never reached.

#include <slicerbridge/buffer.hpp>

#include <cstddef>
#include <memory>
#include <new>
#include <optional>

#if !defined(SLICERBRIDGE_NO_ZSTD)
#include <zstd.h>
#endif

namespace slicerbridge::detail {

#if defined(SLICERBRIDGE_NO_ZSTD)

inline std::optional<buffer> zstd_compress(const buffer&, int) {
    return std::nullopt;
}

inline bool zstd_decompress(const std::byte*, std::size_t, std::byte*, std::size_t) {
    return false;
}

#else

/// `raw` compressed at `level` (0: the default); empty if that failed or is not smaller.
inline std::optional<buffer> zstd_compress(const buffer& raw, int level) {
    const std::size_t bound = ZSTD_compressBound(raw.size());
    if (ZSTD_isError(bound) != 0) {
        return std::nullopt;
    }
    buffer out = buffer::allocate(bound);
    const std::size_t n = ZSTD_compress(out.mutable_data(), bound, raw.data(), raw.size(),
                                        level == 0 ? ZSTD_CLEVEL_DEFAULT : level);
    if (ZSTD_isError(n) != 0 || n >= raw.size()) {
        return std::nullopt;
    }
    return out.slice(0, n);
}

/// Exactly one frame from `in` into exactly `raw_length` bytes at `out`; false otherwise.
inline bool zstd_decompress(const std::byte* in, std::size_t in_size, std::byte* out,
                            std::size_t raw_length) {
    if (ZSTD_findFrameCompressedSize(in, in_size) != in_size) {
        return false;
    }
    const std::size_t declared = ZSTD_getFrameContentSize(in, in_size);
    if (declared == ZSTD_CONTENTSIZE_ERROR ||
        (declared != ZSTD_CONTENTSIZE_UNKNOWN && declared != raw_length)) {
        return false;
    }
    std::unique_ptr<ZSTD_DCtx, decltype(&ZSTD_freeDCtx)> context(ZSTD_createDCtx(), &ZSTD_freeDCtx);
    if (!context) {
        throw std::bad_alloc();
    }
    const std::size_t n = ZSTD_decompressDCtx(context.get(), out, raw_length, in, in_size);
    return ZSTD_isError(n) == 0 && n == raw_length;
}

#endif

} // namespace slicerbridge::detail

#endif
