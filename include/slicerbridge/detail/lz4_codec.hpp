#ifndef SLICERBRIDGE_DETAIL_LZ4_CODEC_HPP
#define SLICERBRIDGE_DETAIL_LZ4_CODEC_HPP
// lz4 (frame format) for bulk segments, or, in a build without lz4 (SLICERBRIDGE_NO_LZ4, which the
// CMake package defines when it does not find it), nothing: the codec is then not in
// `codec_set::all()`, so it is never offered, and these functions are never reached.

#include <slicerbridge/buffer.hpp>

#include <cstddef>
#include <memory>
#include <new>
#include <optional>

#if !defined(SLICERBRIDGE_NO_LZ4)
#include <lz4frame.h>
#endif

namespace slicerbridge::detail {

#if defined(SLICERBRIDGE_NO_LZ4)

inline std::optional<buffer> lz4_compress(const buffer&, int) {
    return std::nullopt;
}

inline bool lz4_decompress(const std::byte*, std::size_t, std::byte*, std::size_t) {
    return false;
}

#else

/// `raw` compressed at `level` (0: the default); empty if that failed or is not smaller.
inline std::optional<buffer> lz4_compress(const buffer& raw, int level) {
    LZ4F_preferences_t preferences{};
    preferences.frameInfo.contentSize = raw.size();
    preferences.frameInfo.contentChecksumFlag = LZ4F_contentChecksumEnabled;
    preferences.compressionLevel = level;
    const std::size_t bound = LZ4F_compressFrameBound(raw.size(), &preferences);
    buffer out = buffer::allocate(bound);
    const std::size_t n =
        LZ4F_compressFrame(out.mutable_data(), bound, raw.data(), raw.size(), &preferences);
    if (LZ4F_isError(n) != 0 || n >= raw.size()) {
        return std::nullopt;
    }
    return out.slice(0, n);
}

/// Exactly one frame from `in` into exactly `raw_length` bytes at `out`; false otherwise.
inline bool lz4_decompress(const std::byte* in, std::size_t in_size, std::byte* out,
                           std::size_t raw_length) {
    LZ4F_dctx* raw_context = nullptr;
    if (LZ4F_isError(LZ4F_createDecompressionContext(&raw_context, LZ4F_VERSION)) != 0) {
        throw std::bad_alloc();
    }
    std::unique_ptr<LZ4F_dctx, decltype(&LZ4F_freeDecompressionContext)> context(
        raw_context, &LZ4F_freeDecompressionContext);
    std::size_t consumed = 0;
    std::size_t produced = 0;
    std::byte overflow_probe[64];
    for (;;) {
        // Once `raw_length` bytes are out, any further output goes to a probe and means
        // the segment is longer than announced.
        const bool full = produced == raw_length;
        std::byte* destination = full ? overflow_probe : out + produced;
        std::size_t destination_size = full ? sizeof overflow_probe : raw_length - produced;
        std::size_t source_size = in_size - consumed;
        const std::size_t hint = LZ4F_decompress(context.get(), destination, &destination_size,
                                                 in + consumed, &source_size, nullptr);
        if (LZ4F_isError(hint) != 0 || (full && destination_size != 0)) {
            return false;
        }
        consumed += source_size;
        produced += destination_size;
        if (hint == 0) {
            return consumed == in_size && produced == raw_length;
        }
        if (source_size == 0 && destination_size == 0) {
            return false;
        }
    }
}

#endif

} // namespace slicerbridge::detail

#endif
