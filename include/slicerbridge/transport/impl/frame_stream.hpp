#ifndef SLICERBRIDGE_TRANSPORT_IMPL_FRAME_STREAM_HPP
#define SLICERBRIDGE_TRANSPORT_IMPL_FRAME_STREAM_HPP

#include <slicerbridge/detail/stream_ops.hpp>

#include <asio/associated_allocator.hpp>
#include <asio/associated_cancellation_slot.hpp>
#include <asio/associated_executor.hpp>
#include <asio/compose.hpp>
#include <asio/error.hpp>
#include <asio/execution/context.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/post.hpp>
#include <asio/query.hpp>

#include <algorithm>
#include <cstddef>

namespace slicerbridge {

template <class NextLayer>
template <class... Args>
frame_stream<NextLayer>::frame_stream(Args&&... args)
    : next_(std::forward<Args>(args)...), staging_(staging_capacity),
      frames_read_(&asio::use_service<detail::frames_read_service>(
          asio::query(next_.get_executor(), asio::execution::context))),
      context_frames_at_last_(frames_read_->count()) {}

// Written out rather than made with async_compose: a composed operation's handlers are associated
// with an executor that tracks outstanding work, so that each read's completion is dispatched
// through it. This one's are associated with the handler's own executor, which is usually the
// stream's: its reads then complete straight into it.
template <class NextLayer>
template <class Handler>
class frame_stream<NextLayer>::read_frame_op {
public:
    read_frame_op(frame_stream& self, Handler handler)
        : self_(self), handler_(std::move(handler)) {}

    using executor_type = asio::associated_executor_t<Handler, frame_stream::executor_type>;
    using allocator_type = asio::associated_allocator_t<Handler>;
    using cancellation_slot_type = asio::associated_cancellation_slot_t<Handler>;

    executor_type get_executor() const noexcept {
        return asio::get_associated_executor(handler_, self_.get_executor());
    }
    allocator_type get_allocator() const noexcept {
        return asio::get_associated_allocator(handler_);
    }
    cancellation_slot_type get_cancellation_slot() const noexcept {
        return asio::get_associated_cancellation_slot(handler_);
    }

    void operator()(std::error_code ec = {}, std::size_t transferred = 0) {
        if (ec) {
            self_.reader_.reset();
            self_.incoming_.close_all();
            return complete(ec, received_frame{});
        }
        if (transferred > 0) {
            self_.bytes_received_ += transferred;
            self_.file_incoming_descriptors();
            note_arrival();
            if (reading_direct_) {
                self_.reader_.commit(transferred);
            } else {
                self_.staged_begin_ = 0;
                self_.staged_end_ = transferred;
            }
        }
        if (self_.transient_heads_ && take_staged_frame()) {
            return;
        }
        std::size_t chunk = self_.staged_begin_;
        while (!self_.reader_.done() && !self_.reader_.error() &&
               self_.staged_begin_ < self_.staged_end_) {
            note_arrival();
            chunk = self_.staged_begin_;
            self_.staged_begin_ +=
                self_.reader_.consume(self_.staging_.data() + self_.staged_begin_,
                                      self_.staged_end_ - self_.staged_begin_);
        }
        if (self_.reader_.error()) {
            auto failure = self_.reader_.error();
            self_.reader_.reset();
            if (failure == error::malformed_frame) {
                const auto* first = reinterpret_cast<const char*>(self_.staging_.data() + chunk);
                self_.rejected_.assign(first,
                                       std::min(rejected_quote_size, self_.staged_end_ - chunk));
            }
            return complete(failure, received_frame{});
        }
        if (self_.reader_.done()) {
            if (waits_for_gate(self_.reader_.announced_size())) {
                return;
            }
            arrival_.last_byte = std::chrono::steady_clock::now();
            received_frame frame = self_.reader_.release();
            self_.attach_descriptors(frame);
            self_.note_frame_read();
            return complete(std::error_code{}, std::move(frame));
        }
        if (waits_for_gate(self_.reader_.announced_size())) {
            return;
        }
        if (!started_ && self_.rounds_to_yield_ > 0) {
            // Asio tries a socket the moment a read starts, and right after a frame the next one
            // is seldom in: the try costs a system call, then the read waits in epoll. Started
            // two rounds of the executor's queue later (the handlers queued before it, then those
            // of its next look at epoll), the read mostly finds its frame and takes it at once.
            // One round was measured to be too soon (docs/performance-history.md).
            --self_.rounds_to_yield_;
            return asio::post(std::move(*this));
        }
        auto target = self_.reader_.prepare();
        target.size = std::min(target.size, max_read_size);
        // A large remainder (a bulk payload) is read straight into its final buffer.
        reading_direct_ = target.size >= staging_capacity;
        auto& self = self_;
        self.read_some(reading_direct_ ? asio::buffer(target.data, target.size)
                                       : asio::buffer(self.staging_),
                       std::move(*this));
    }

private:
    /// With transient heads: completes with the next frame if it has no bulk and is staged whole,
    /// its head viewed where it lies; false for any other, which the reader then takes (and
    /// refuses as it would, if it is invalid).
    bool take_staged_frame() {
        const std::size_t staged = self_.staged_end_ - self_.staged_begin_;
        if (staged < frame_header_size || self_.reader_.mid_frame() || self_.reader_.done()) {
            return false;
        }
        const std::byte* first = self_.staging_.data() + self_.staged_begin_;
        std::error_code ec;
        const frame_header header = parse_frame_header(first, self_.reader_.get_limits(), ec);
        if (ec || header.head_length == 0 || header.bulk_length != 0 ||
            staged - frame_header_size < header.head_length) {
            return false;
        }
        note_arrival();
        if (waits_for_gate(frame_header_size + header.head_length)) {
            return true; // taken again when reading resumes
        }
        self_.staged_begin_ += frame_header_size + header.head_length;
        // The whole frame came to light at once: its first and last bytes share one reading.
        arrival_.last_byte = arrival_.first_byte;
        received_frame frame;
        frame.header = header;
        frame.head = buffer::wrap({}, first + frame_header_size, header.head_length);
        self_.attach_descriptors(frame);
        self_.note_frame_read();
        complete(std::error_code{}, std::move(frame));
        return true;
    }

    /// Asks the read gate for the frame's `announced` bytes (0: its header is not complete).
    /// When it refuses, this operation moves into paused_read_, to run again on
    /// resume_reading(), and the caller returns at once. Nothing of the read is pending in the
    /// next layer meanwhile: the work guard keeps the executor's io_context running.
    bool waits_for_gate(std::uint64_t announced) {
        if (!self_.read_gate_ || self_.read_gate_(announced)) {
            return false;
        }
        frame_stream& self = self_;
        self.paused_read_ = [op = std::move(*this),
                             work = asio::make_work_guard(self.get_executor())](
                                std::error_code e) mutable { op(e); };
        return true;
    }

    void note_arrival() {
        if (!started_) {
            started_ = true;
            arrival_.first_byte = std::chrono::steady_clock::now();
        }
    }

    void complete(std::error_code ec, received_frame frame) {
        std::move(handler_)(ec, std::move(frame), arrival_);
    }

    frame_stream& self_;
    Handler handler_;
    frame_arrival arrival_{};
    bool started_ = false;
    bool reading_direct_ = false; // into the frame's buffer rather than the staging buffer
};

template <class NextLayer>
template <class Handler>
void frame_stream<NextLayer>::read_some(asio::mutable_buffer target, Handler&& handler) {
#if defined(__linux__)
    if (auto* socket = detail::unix_socket_of(next_)) {
        return detail::async_receive_some(*socket, target, incoming_,
                                          std::forward<Handler>(handler));
    }
#endif
    next_.async_read_some(target, std::forward<Handler>(handler));
}

template <class NextLayer>
void frame_stream<NextLayer>::file_incoming_descriptors() {
    if (!incoming_.empty()) {
        descriptor_batches_.push_back({bytes_received_ - 1, std::move(incoming_)});
    }
}

template <class NextLayer>
void frame_stream<NextLayer>::attach_descriptors(received_frame& frame) {
    const std::uint64_t frame_end = bytes_received_ - (staged_end_ - staged_begin_);
    while (!descriptor_batches_.empty() && descriptor_batches_.front().last_byte < frame_end) {
        frame.descriptors.append(std::move(descriptor_batches_.front().descriptors));
        descriptor_batches_.pop_front();
    }
    frame.descriptors.set_in_force(descriptors_in_force_);
}

template <class NextLayer>
void frame_stream<NextLayer>::note_frame_read() {
    const std::uint64_t count = frames_read_->count_one();
    rounds_to_yield_ = count - context_frames_at_last_ > 1 ? 2 : 0;
    context_frames_at_last_ = count;
}

template <class NextLayer>
template <class CompletionToken>
auto frame_stream<NextLayer>::async_read_frame(CompletionToken&& token) {
    return asio::async_initiate<CompletionToken,
                                void(std::error_code, received_frame, frame_arrival)>(
        [this](auto handler) { read_frame_op<decltype(handler)>(*this, std::move(handler))(); },
        token);
}

template <class NextLayer>
struct frame_stream<NextLayer>::write_frame_op {
    // asio passes at most this many buffers to one gather write (and so does the kernel's iovec).
    static constexpr std::size_t max_gather = 64;

    frame_stream& self;
    std::size_t total = 0;
    const std::vector<int>* descriptors = nullptr; // still to pass, with the next write
    std::size_t next_piece = 0;
    std::size_t written = 0;
    bool started = false;

    template <class Self>
    void operator()(Self& op, std::error_code ec = {}, std::size_t transferred = 0) {
        if (ec) {
            return op.complete(ec, written);
        }
        if (started) {
            written += transferred;
            next_piece = consume(self.write_pieces_, next_piece, transferred);
        }
        if (!started && descriptors != nullptr && !detail::unix_socket_of(self.next_)) {
            return asio::post(self.next_.get_executor(), [op = std::move(op)]() mutable {
                op.complete(std::make_error_code(std::errc::operation_not_supported),
                            std::size_t{0});
            });
        }
        started = true;
        if (written == total) {
            return op.complete(std::error_code{}, written);
        }
#if defined(__linux__)
        if (descriptors != nullptr) {
            const auto& fds = *descriptors;
            descriptors = nullptr;
            return detail::async_send_some(*detail::unix_socket_of(self.next_),
                                           pieces_from(self.write_pieces_, next_piece), fds,
                                           std::move(op));
        }
#endif
        self.next_.async_write_some(pieces_from(self.write_pieces_, next_piece), std::move(op));
    }

    static detail::const_buffer_span pieces_from(std::vector<asio::const_buffer>& pieces,
                                                 std::size_t first) {
        return detail::const_buffer_span(pieces.data() + first,
                                         std::min(max_gather, pieces.size() - first));
    }

    /// Drops `n` written bytes from the pieces from `first` on; returns the first piece left.
    static std::size_t consume(std::vector<asio::const_buffer>& pieces, std::size_t first,
                               std::size_t n) {
        while (n > 0) {
            auto& piece = pieces[first];
            if (n < piece.size()) {
                piece += n;
                return first;
            }
            n -= piece.size();
            ++first;
        }
        return first;
    }
};

template <class NextLayer>
std::size_t frame_stream<NextLayer>::gather(const encoded_frame& frame, std::size_t skip) {
    // Only one write is outstanding at a time, so the pieces of this one can reuse the storage of
    // the previous one.
    write_pieces_.clear();
    std::size_t total = 0;
    frame.for_each_buffer([&](const_bytes piece) {
        write_pieces_.emplace_back(piece.data, piece.size);
        total += piece.size;
    });
    skip = std::min(skip, total);
    auto first = write_frame_op::consume(write_pieces_, 0, skip);
    write_pieces_.erase(write_pieces_.begin(),
                        write_pieces_.begin() + static_cast<std::ptrdiff_t>(first));
    return total - skip;
}

template <class NextLayer>
template <class CompletionToken>
auto frame_stream<NextLayer>::async_write_frame(const encoded_frame& frame,
                                                CompletionToken&& token) {
    return async_write_frame(frame, 0, std::forward<CompletionToken>(token));
}

template <class NextLayer>
template <class CompletionToken>
auto frame_stream<NextLayer>::async_write_frame(const encoded_frame& frame,
                                                std::size_t already_written,
                                                CompletionToken&& token) {
    std::size_t remaining = gather(frame, already_written);
    const auto* descriptors =
        already_written == 0 && !frame.descriptors().empty() ? &frame.descriptors() : nullptr;
    return asio::async_compose<CompletionToken, void(std::error_code, std::size_t)>(
        write_frame_op{*this, remaining, descriptors}, token, next_);
}

template <class NextLayer>
std::size_t frame_stream<NextLayer>::write_frame_now(const encoded_frame& frame,
                                                     std::error_code& ec) {
    ec.clear();
    std::size_t remaining = gather(frame, 0);
    std::size_t written = 0;
    std::size_t next_piece = 0;
    if (!frame.descriptors().empty()) {
#if defined(__linux__)
        if (auto* socket = detail::unix_socket_of(next_)) {
            written = detail::send_some_now(socket->native_handle(),
                                            write_frame_op::pieces_from(write_pieces_, 0),
                                            frame.descriptors(), ec);
            if (detail::would_block(ec)) {
                ec.clear();
            }
            if (ec || written == 0) {
                return 0;
            }
            next_piece = write_frame_op::consume(write_pieces_, 0, written);
        }
#endif
        if (written == 0) {
            ec = std::make_error_code(std::errc::operation_not_supported);
            return 0;
        }
    }
    while (written < remaining) {
        std::size_t n = detail::write_some_now(
            next_, write_frame_op::pieces_from(write_pieces_, next_piece), ec);
        if (ec || n == 0) {
            break;
        }
        written += n;
        next_piece = write_frame_op::consume(write_pieces_, next_piece, n);
    }
    return written;
}

} // namespace slicerbridge

#endif
