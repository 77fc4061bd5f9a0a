#ifndef SLICERBRIDGE_DETAIL_BULK_CODEC_HPP
#define SLICERBRIDGE_DETAIL_BULK_CODEC_HPP

// zstd and lz4 (frame format) compression of bulk segments (spec 3.2, 4.4).

#include <slicerbridge/buffer.hpp>
#include <slicerbridge/compression.hpp>

#include <lz4frame.h>
#include <zstd.h>

#include <cstddef>
#include <memory>
#include <optional>

namespace slicerbridge {
namespace detail {

/// Compresses `raw` with `c` at `level` (0: the codec's default). Empty if compression failed
/// or would not make the data smaller ([CODEC-2]).
inline std::optional<buffer> compress(codec c, const buffer& raw, int level) {
    if (c == codec::zstd) {
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
    if (c == codec::lz4) {
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
    return std::nullopt;
}

/// Decompresses exactly one frame of `c` from `in[0..in_size)` into `out[0..raw_length)`. False
/// if the data is corrupt, is not exactly one complete frame ([BULK-8]) or does not decompress
/// to exactly `raw_length` bytes ([BULK-5]). Never writes beyond `raw_length` bytes ([BULK-6]).
inline bool decompress(codec c, const std::byte* in, std::size_t in_size, std::byte* out,
                       std::size_t raw_length) {
    if (c == codec::zstd) {
        if (ZSTD_findFrameCompressedSize(in, in_size) != in_size) {
            return false;
        }
        const std::size_t declared = ZSTD_getFrameContentSize(in, in_size);
        if (declared == ZSTD_CONTENTSIZE_ERROR ||
            (declared != ZSTD_CONTENTSIZE_UNKNOWN && declared != raw_length)) {
            return false;
        }
        std::unique_ptr<ZSTD_DCtx, decltype(&ZSTD_freeDCtx)> context(ZSTD_createDCtx(),
                                                                     &ZSTD_freeDCtx);
        if (!context) {
            throw std::bad_alloc();
        }
        const std::size_t n = ZSTD_decompressDCtx(context.get(), out, raw_length, in, in_size);
        return ZSTD_isError(n) == 0 && n == raw_length;
    }
    if (c == codec::lz4) {
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
    return false;
}

} // namespace detail
} // namespace slicerbridge

#endif
