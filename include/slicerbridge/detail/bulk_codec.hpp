#ifndef SLICERBRIDGE_DETAIL_BULK_CODEC_HPP
#define SLICERBRIDGE_DETAIL_BULK_CODEC_HPP

// zstd and lz4 (frame format) compression of bulk segments (spec 3.2, 4.4).

#include <slicerbridge/buffer.hpp>
#include <slicerbridge/compression.hpp>

#include <slicerbridge/detail/lz4_codec.hpp>
#include <slicerbridge/detail/zstd_codec.hpp>

#include <cstddef>
#include <memory>
#include <optional>

namespace slicerbridge {
namespace detail {

/// Compresses `raw` with `c` at `level` (0: the codec's default). Empty if compression failed
/// or would not make the data smaller ([CODEC-2]).
inline std::optional<buffer> compress(codec c, const buffer& raw, int level) {
    switch (c) {
    case codec::zstd:
        return zstd_compress(raw, level);
    case codec::lz4:
        return lz4_compress(raw, level);
    case codec::none:
        break;
    }
    return std::nullopt;
}

/// Decompresses exactly one frame of `c` from `in[0..in_size)` into `out[0..raw_length)`. False
/// if the data is corrupt, is not exactly one complete frame ([BULK-8]) or does not decompress
/// to exactly `raw_length` bytes ([BULK-5]). Never writes beyond `raw_length` bytes ([BULK-6]).
inline bool decompress(codec c, const std::byte* in, std::size_t in_size, std::byte* out,
                       std::size_t raw_length) {
    switch (c) {
    case codec::zstd:
        return zstd_decompress(in, in_size, out, raw_length);
    case codec::lz4:
        return lz4_decompress(in, in_size, out, raw_length);
    case codec::none:
        break;
    }
    return false;
}

} // namespace detail
} // namespace slicerbridge

#endif
