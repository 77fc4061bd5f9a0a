#ifndef SLICERBRIDGE_TRANSPORT_FRAME_STREAM_HPP
#define SLICERBRIDGE_TRANSPORT_FRAME_STREAM_HPP
// Frames over any Asio AsyncStream: TCP, TLS, a Unix socket or a child process's pipes.

#include <slicerbridge/detail/buffer_span.hpp>
#include <slicerbridge/detail/descriptor_io.hpp>
#include <slicerbridge/detail/frames_read_service.hpp>
#include <slicerbridge/detail/unique_function.hpp>
#include <slicerbridge/limits.hpp>
#include <slicerbridge/wire/codec.hpp>
#include <slicerbridge/wire/frame.hpp>

#include <asio/async_result.hpp>
#include <asio/buffer.hpp>
#include <asio/error.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <limits>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

namespace slicerbridge {

/// When the bytes of a received frame arrived: `receiving` timings are measured from these.
struct frame_arrival {
    std::chrono::steady_clock::time_point first_byte;
    std::chrono::steady_clock::time_point last_byte;
};

/// Reads and writes SlicerBridge frames on a stream it owns.
///
/// Reading goes through a small staging buffer for headers and small heads, and straight into the
/// frame's final bulk buffer for large payloads, so voxels are never copied on the way in.
/// Writing gathers the header, head and bulk pieces (which reference the caller's buffers) into
/// one scatter-gather write. As with Asio streams, at most one read and one write may be
/// outstanding at a time; callers serialise them. On an execution context that reads frames for
/// several connections, a read that must wait for the next layer starts there two rounds of its
/// executor's queue after it is asked for, by which time a busy peer's frame has mostly come.
template <class NextLayer>
class frame_stream {
public:
    using next_layer_type = NextLayer;
    using executor_type = typename NextLayer::executor_type;

    template <class... Args>
    explicit frame_stream(Args&&... args);

    next_layer_type& next_layer() noexcept { return next_; }
    const next_layer_type& next_layer() const noexcept { return next_; }
    executor_type get_executor() noexcept { return next_.get_executor(); }

    /// The limits that incoming frames are checked against, before anything is allocated.
    void set_receive_limits(const limits& l) { reader_.set_limits(l); }

    /// Asked before each read from the next layer with the current frame's size as announced
    /// (0 until its header is complete), and with its size before a frame is handed over, even
    /// one that arrived whole in an earlier read: while it returns false, reading waits, until
    /// `resume_reading()`. Lets a server pause a connection when its byte budget is spent, and
    /// count every frame it holds.
    void set_read_gate(std::function<bool(std::uint64_t announced_size)> gate) {
        read_gate_ = std::move(gate);
    }

    /// True while a read waits for the read gate.
    bool reading_paused() const noexcept { return static_cast<bool>(paused_read_); }

    /// Asks the read gate again for a read that waits for it; call from the stream's executor.
    void resume_reading() { run_paused_read({}); }

    /// Completes a read that waits for the read gate with `asio::error::operation_aborted`.
    void abandon_paused_read() { run_paused_read(asio::error::operation_aborted); }

    /// Lets a received frame without bulk whose bytes all arrived in one read view its head in
    /// the stream's own buffer rather than in a copy of its own: the head (`received_frame::head`,
    /// which then owns nothing) is valid only until the next `async_read_frame` starts. For a
    /// reader that is done with each head when it starts the next read, as the client is; off by
    /// default.
    void set_transient_heads(bool transient) noexcept { transient_heads_ = transient; }

    /// Bytes read from the next layer so far.
    std::uint64_t bytes_received() const noexcept { return bytes_received_; }

    /// True once some bytes of a frame have arrived and until the frame is complete.
    bool mid_frame() const noexcept { return reader_.mid_frame(); }

    /// The first bytes of the read in which a frame header was refused as `malformed_frame`:
    /// what the peer sent instead of a frame, for diagnostics (a print on a launched
    /// processor's standard output, a TLS or HTTP answer).
    const std::string& rejected_bytes() const noexcept { return rejected_; }

    /// Whether the next layer is a Unix stream socket, over which descriptors can pass beside
    /// frames (section 3.5, [FD-1]; Linux only).
    bool can_pass_descriptors() noexcept { return detail::unix_socket_of(next_) != nullptr; }

    /// Puts transfer.memfd in force for the frames read from now on: their descriptor
    /// references are resolved ([FD-4]). False, and nothing changes, if the next layer cannot
    /// pass descriptors. Descriptors that arrive while it is not in force make their frame
    /// invalid ([FD-6]).
    bool enable_descriptor_passing() noexcept {
        descriptors_in_force_ = can_pass_descriptors();
        return descriptors_in_force_;
    }

    bool descriptor_passing() const noexcept { return descriptors_in_force_; }

    /// Reads one complete frame.
    ///
    /// Handler signature: `void(std::error_code, received_frame, frame_arrival)`.
    /// The error is `asio::error::eof` when the peer closed the stream, also in the middle of a
    /// frame (which is then discarded, [FRAME-8]), or the frame's own error (`malformed_frame`,
    /// `frame_too_large`). Cancel by closing the next layer: a read waiting in it completes
    /// with `asio::error::operation_aborted`, one not started in it yet with the error of a read
    /// on a closed stream (`asio::error::bad_descriptor`), as a composed Asio read does.
    template <class CompletionToken>
    auto async_read_frame(CompletionToken&& token);

    /// Writes a frame. `frame`, and the buffers its bulk pieces reference, must stay alive until
    /// the operation completes. A frame with descriptors passes them beside its first byte
    /// ([FD-2]); on a next layer that cannot pass them it fails with operation_not_supported.
    ///
    /// Handler signature: `void(std::error_code, std::size_t bytes_written)`.
    template <class CompletionToken>
    auto async_write_frame(const encoded_frame& frame, CompletionToken&& token);

    /// Writes the rest of a frame whose first `already_written` bytes `write_frame_now` sent.
    template <class CompletionToken>
    auto async_write_frame(const encoded_frame& frame, std::size_t already_written,
                           CompletionToken&& token);

    /// Writes as much of `frame` as the next layer takes without waiting, and returns how many
    /// bytes that was: usually all of a small frame, which then costs one system call and no
    /// completion handler. A next layer that cannot write without waiting (TLS) takes none.
    std::size_t write_frame_now(const encoded_frame& frame, std::error_code& ec);

private:
    template <class Handler>
    class read_frame_op;
    struct write_frame_op;

    /// Lists the frame's pieces in `write_pieces_`, less the first `skip` bytes; returns the
    /// bytes left to write.
    std::size_t gather(const encoded_frame& frame, std::size_t skip);

    static constexpr std::size_t staging_capacity = 64 * 1024;
#if defined(_WIN32)
    /// The most one read asks for. A receive on Windows (Wine's, measured: about 6 ms per MiB)
    /// costs in proportion to the buffer it is given, not to the bytes that arrive: a large bulk
    /// read whole would make every partial read cost its full size, and stall the thread.
    static constexpr std::size_t max_read_size = staging_capacity;
#else
    static constexpr std::size_t max_read_size = std::numeric_limits<std::size_t>::max();
#endif

    /// async_read_some on the next layer, or, on a Unix socket, a read that also takes the
    /// descriptors passed beside the bytes into `incoming_`.
    template <class Handler>
    void read_some(asio::mutable_buffer target, Handler&& handler);

    /// Files the descriptors of the read that just ended, whose last byte is the last one
    /// received ([FD-3]).
    void file_incoming_descriptors();

    /// Gives `frame` the descriptors filed for it: those of the reads whose last byte lies
    /// before the frame's end.
    void attach_descriptors(received_frame& frame);

    /// Counts a frame read whole, and decides whether the next read yields to the executor
    /// first: when other streams on its execution context read frames since this one's last,
    /// the context serves several busy connections, and the next frame is seldom in when this
    /// one is done.
    void note_frame_read();

    void run_paused_read(std::error_code ec) {
        if (paused_read_) {
            auto read = std::move(paused_read_);
            paused_read_ = {};
            read(ec);
        }
    }

    NextLayer next_;
    frame_reader reader_;
    std::function<bool(std::uint64_t)> read_gate_;
    detail::unique_function<void(std::error_code)> paused_read_;
    std::uint64_t bytes_received_ = 0;
    std::vector<std::byte> staging_;
    std::size_t staged_begin_ = 0;
    std::size_t staged_end_ = 0;
    static constexpr std::size_t rejected_quote_size = 48;
    std::string rejected_;
    std::vector<asio::const_buffer> write_pieces_; // of the write in progress
    bool descriptors_in_force_ = false;
    bool transient_heads_ = false;
    detail::frames_read_service* frames_read_; // by the streams of the next layer's context
    std::uint64_t context_frames_at_last_;
    unsigned rounds_to_yield_ = 0; // before the next read tries the next layer
    frame_descriptors incoming_;
    std::deque<detail::descriptor_batch> descriptor_batches_;
};

} // namespace slicerbridge

#include <slicerbridge/transport/impl/frame_stream.hpp>

#endif
