#ifndef SLICERBRIDGE_WIRE_CODEC_HPP
#define SLICERBRIDGE_WIRE_CODEC_HPP

// Heads and bulk (spec sections 3 and 12): encoding a `value` into a frame laid out for one
// scatter-gather write, and decoding a received head with its bulk back into a `value`.

#include <slicerbridge/buffer.hpp>
#include <slicerbridge/compression.hpp>
#include <slicerbridge/detail/config.hpp>
#include <slicerbridge/detail/msgpack_depth.hpp>
#include <slicerbridge/error.hpp>
#include <slicerbridge/limits.hpp>
#include <slicerbridge/value.hpp>
#include <slicerbridge/wire/frame.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <system_error>
#include <vector>

namespace slicerbridge {

struct encode_options {
    /// Codec for bulk segments of at least `compress_min` bytes; it must be in force on the
    /// connection ([CAP-2]). A segment that would not shrink is sent uncompressed ([CODEC-2]).
    codec compression = codec::none;
    std::size_t compress_min = 64 * 1024;
    /// Compression level; 0 takes the codec's default.
    int level = 0;
    /// Pass segments of at least `descriptor_min` bytes as sealed memory files (section 3.5):
    /// only with transfer.memfd in force ([FD-1]). A segment that already lives in one (received
    /// that way, or made by `memfd_buffer`) is passed without a copy; others are copied into a
    /// new one, or sent in-band when that fails or the frame has its 16 descriptors ([FD-2]).
    bool descriptors = false;
    std::size_t descriptor_min = std::size_t{1} << 20;
};

class encoded_frame;

/// Declared with invoke requests (message/invoke.hpp); it changes a frame's head in place.
SLICERBRIDGE_DECL void set_request_deadline(encoded_frame& request, double seconds);

namespace detail {
class frame_encoder;

/// What a frame with bulk values carries besides its head, made only for such frames: a small
/// frame is then a header and a head, cheap to move and to destroy. Never changed once encoded,
/// so that copies of a frame may share it.
struct frame_bulk {
    std::vector<buffer> segments;
    std::vector<std::size_t> padding; // zero bytes before each segment
    std::vector<int> descriptors;
    std::vector<buffer> descriptor_owners; // keep the descriptors open
};

template <class WriteHead>
encoded_frame encode_frame_with(const encode_options& options, std::error_code& ec,
                                WriteHead&& write_head, std::vector<std::byte>&& head_storage = {});
} // namespace detail

/// A read-only region of bytes, as handed to a scatter-gather write.
struct const_bytes {
    const std::byte* data = nullptr;
    std::size_t size = 0;
};

/// An encoded frame: the 16-byte header, the packed head and the bulk segments. Uncompressed
/// segments reference the caller's buffers (no copy); padding comes from static zeros.
class encoded_frame {
public:
    const frame_header& header() const noexcept { return header_; }

    /// The packed head.
    const std::vector<std::byte>& head() const noexcept { return head_; }

    /// True if the head nests no deeper than `max_depth`, counted as a receiver counts it
    /// ([HEAD-5]): what a sender checks against its peer's `max_depth` ([LIMIT-11]). The
    /// encoder counted the arrays and maps it wrote, a bound on the depth, so the head is
    /// scanned (`detail::msgpack_depth`) only when that count exceeds `max_depth`; an empty
    /// head never fits.
    bool head_depth_within(std::uint32_t max_depth) const {
        return (head_containers_ <= max_depth && !head_.empty()) ||
               detail::msgpack_depth(head_) <= max_depth;
    }

    /// The bulk segments in layout order.
    const std::vector<buffer>& segments() const noexcept {
        return bulk_ ? bulk_->segments : none<buffer>();
    }

    /// The descriptors to pass beside the frame's first byte, in index order ([FD-2]); they stay
    /// open while the frame lives.
    const std::vector<int>& descriptors() const noexcept {
        return bulk_ ? bulk_->descriptors : none<int>();
    }

    /// The frame's bytes in order, for one scatter-gather write; no empty regions.
    SLICERBRIDGE_DECL std::vector<const_bytes> buffers() const;

    /// Calls `visit(const_bytes)` for each region of `buffers()`, in order, without building the
    /// vector.
    template <class Visitor>
    void for_each_buffer(Visitor&& visit) const;

    /// 16 + head_length + bulk_length.
    std::uint64_t total_size() const noexcept {
        return frame_header_size + header_.head_length + header_.bulk_length;
    }

    /// The whole frame in one contiguous vector (a copy; for tests and small frames).
    SLICERBRIDGE_DECL std::vector<std::byte> to_bytes() const;

    /// Takes the head's storage out of a frame that is done with, for encoding another frame's
    /// head into it without an allocation (see `encode_request`).
    std::vector<std::byte> release_head() && noexcept { return std::move(head_); }

private:
    template <class WriteHead>
    friend encoded_frame detail::encode_frame_with(const encode_options&, std::error_code&,
                                                   WriteHead&&, std::vector<std::byte>&&);
    friend void set_request_deadline(encoded_frame& request, double seconds);

    template <class T>
    static const std::vector<T>& none() noexcept {
        static const std::vector<T> empty;
        return empty;
    }

    std::array<std::byte, frame_header_size> header_bytes_{};
    frame_header header_;
    std::vector<std::byte> head_;
    std::shared_ptr<const detail::frame_bulk> bulk_; // none without bulk values
    std::uint64_t head_containers_ = 0;              // arrays and maps in the head: a depth bound
};

/// Encodes `head` canonically (section 12): bulk values become references to segments laid out
/// in the order of a depth-first walk, each 8-aligned, compressed per `options`. Fails with
/// `too_large` if a string, binary, array or map exceeds MessagePack's 2^32 - 1 or the head
/// exceeds 2^32 - 1 bytes.
SLICERBRIDGE_DECL encoded_frame encode_frame(const value& head, const encode_options& options,
                                             std::error_code& ec);

/// As above; throws std::system_error.
encoded_frame encode_frame(const value& head, const encode_options& options = {});

/// Decodes a head and resolves its bulk references against `bulk`. Uncompressed bulk values are
/// slices of `bulk` (zero copy); compressed ones are decompressed into fresh buffers, only with
/// a codec in `allowed`. Errors: `invalid_message` for anything malformed (empty head, invalid
/// or incomplete MessagePack, trailing bytes, too deep, non-string or duplicate keys, invalid
/// UTF-8, bad ext values, references out of range, corrupt compressed data), `frame_too_large`
/// for a head over `max_head`, a container over `max_elements` or a `raw_length` over
/// `max_frame`, `unsupported_codec` for a codec not in `allowed`.
SLICERBRIDGE_DECL value decode_head(const buffer& head, const buffer& bulk,
                                    const limits& receiver_limits, const codec_set& allowed,
                                    std::error_code& ec);

/// As above; throws std::system_error.
SLICERBRIDGE_DECL value decode_head(const buffer& head, const buffer& bulk,
                                    const limits& receiver_limits, const codec_set& allowed);

/// As above, with the descriptors passed beside the frame: descriptor references become
/// read-only mappings of the memory files (zero copy) after the checks of [FD-3] to [FD-7], and
/// descriptors the head does not reference, or that arrived while transfer.memfd was not in
/// force, make the message `invalid_message` ([FD-6]).
SLICERBRIDGE_DECL value decode_head(const buffer& head, const buffer& bulk,
                                    const frame_descriptors& descriptors,
                                    const limits& receiver_limits, const codec_set& allowed,
                                    std::error_code& ec);

/// Decodes the head of a received frame.
inline value decode_frame(const received_frame& frame, const limits& receiver_limits,
                          const codec_set& allowed, std::error_code& ec) {
    return decode_head(frame.head, frame.bulk, frame.descriptors, receiver_limits, allowed, ec);
}

} // namespace slicerbridge

#include <slicerbridge/wire/impl/codec.hpp>
#if defined(SLICERBRIDGE_HEADER_ONLY)
#include <slicerbridge/wire/impl/codec.ipp>
#endif

#endif
