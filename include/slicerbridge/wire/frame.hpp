#ifndef SLICERBRIDGE_WIRE_FRAME_HPP
#define SLICERBRIDGE_WIRE_FRAME_HPP

// Frames (spec section 2): the 16-byte header and a sans-I/O incremental receiver.

#include <slicerbridge/buffer.hpp>
#include <slicerbridge/detail/config.hpp>
#include <slicerbridge/error.hpp>
#include <slicerbridge/limits.hpp>
#include <slicerbridge/wire/descriptors.hpp>

#include <cstddef>
#include <cstdint>
#include <system_error>

namespace slicerbridge {

/// The sizes carried by a frame header. Magic, format and flags are implied.
struct frame_header {
    std::uint32_t head_length = 0;
    std::uint64_t bulk_length = 0;

    friend bool operator==(const frame_header& a, const frame_header& b) noexcept {
        return a.head_length == b.head_length && a.bulk_length == b.bulk_length;
    }
    friend bool operator!=(const frame_header& a, const frame_header& b) noexcept {
        return !(a == b);
    }
};

inline constexpr std::size_t frame_header_size = 16;
inline constexpr std::byte frame_magic[2] = {std::byte{0x53}, std::byte{0x42}};
inline constexpr std::byte frame_format{0x01};

/// Writes magic, format, flags 0 and the sizes, big-endian, to `out[0..16)` ([FRAME-1],
/// [FRAME-2]).
SLICERBRIDGE_DECL void write_frame_header(const frame_header& header, std::byte* out) noexcept;

/// Reads and checks the header at `in[0..16)`: magic and format ([FRAME-1], malformed_frame),
/// then `head_length` against `max_head` and the frame size, computed without overflow, against
/// `max_frame` ([FRAME-3], [FRAME-9], frame_too_large). Flags are ignored ([FRAME-2]). A
/// `head_length` of 0 passes here: the frame is consumed whole and its head is then rejected by
/// `decode_head` as `invalid_message` ([FRAME-4], [FRAME-10]).
SLICERBRIDGE_DECL frame_header parse_frame_header(const std::byte* in,
                                                  const limits& receiver_limits,
                                                  std::error_code& ec) noexcept;

/// A writable region handed out by `frame_reader::prepare`.
struct mutable_bytes {
    std::byte* data = nullptr;
    std::size_t size = 0;
};

/// A complete frame: `bulk` is one allocation, the final home of the voxels; decoded bulk values
/// are slices of it. `descriptors` are those passed beside it on a Unix socket (section 3.5).
struct received_frame {
    frame_header header;
    buffer head;
    buffer bulk;
    frame_descriptors descriptors{};
};

/// Receives one frame at a time from a byte stream, without doing I/O: the caller reads into the
/// region `prepare()` returns and reports the count with `commit(n)`, or copies bytes it already
/// holds with `consume`. The header is checked as its bytes arrive (magic and format from the
/// first bytes, the limits once it is complete) before anything is allocated ([FRAME-3]); the
/// head and then the bulk are allocated at their exact sizes and read in place ([FRAME-6]).
///
/// Errors are sticky: once `error()` is set the reader hands out no more regions; header errors
/// are fatal for the connection ([FRAME-7]). End of stream while `mid_frame()` is a truncated
/// frame ([FRAME-8], the pseudo-error `truncated` of [ERR-5]).
class frame_reader {
public:
    frame_reader() = default;
    explicit frame_reader(const limits& receiver_limits) : limits_(receiver_limits) {}

    /// Limits for the frames whose header is not yet complete.
    void set_limits(const limits& receiver_limits) noexcept { limits_ = receiver_limits; }
    const limits& get_limits() const noexcept { return limits_; }

    /// The rest of the current part (header, head or bulk) of the frame; empty when the frame is
    /// complete or the reader has failed.
    SLICERBRIDGE_DECL mutable_bytes prepare() noexcept;

    /// Records that `n` bytes were written at the start of the last `prepare()` region.
    /// Precondition: n <= prepare().size. May allocate the next part (std::bad_alloc).
    SLICERBRIDGE_DECL void commit(std::size_t n);

    /// Copies up to `size` bytes from `data` into the frame and returns how many it took: it
    /// stops at the end of the frame (the rest belongs to the next one) or at an error.
    SLICERBRIDGE_DECL std::size_t consume(const void* data, std::size_t size);

    /// True when a whole frame has been received and awaits `release()`.
    bool done() const noexcept { return state_ == state::complete; }

    /// The error that stopped the reader, if any.
    const std::error_code& error() const noexcept { return error_; }

    /// True once some bytes of a frame have arrived and until it is complete: end of stream now
    /// means a truncated frame.
    bool mid_frame() const noexcept { return received_ != 0 && state_ != state::complete; }

    /// Bytes of the current frame received so far.
    std::uint64_t bytes_received() const noexcept { return received_; }

    /// The current frame's size (header, head and bulk) as its header announced it; 0 until the
    /// header is complete.
    std::uint64_t announced_size() const noexcept {
        return state_ == state::header || state_ == state::failed
                   ? 0
                   : frame_header_size + header_.head_length + header_.bulk_length;
    }

    /// Hands over the complete frame and makes the reader ready for the next one.
    /// Throws std::logic_error unless done().
    SLICERBRIDGE_DECL received_frame release();

    /// Forgets the current frame and any error.
    SLICERBRIDGE_DECL void reset() noexcept;

private:
    enum class state { header, head, bulk, complete, failed };

    SLICERBRIDGE_DECL void fail(std::error_code ec) noexcept;
    SLICERBRIDGE_DECL void header_progress();
    SLICERBRIDGE_DECL void enter_bulk();

    limits limits_;
    state state_ = state::header;
    std::error_code error_;
    std::byte header_bytes_[frame_header_size] = {};
    frame_header header_;
    buffer head_;
    buffer bulk_;
    std::size_t filled_ = 0;
    std::uint64_t received_ = 0;
};

} // namespace slicerbridge

#if defined(SLICERBRIDGE_HEADER_ONLY)
#include <slicerbridge/wire/impl/frame.ipp>
#endif

#endif
