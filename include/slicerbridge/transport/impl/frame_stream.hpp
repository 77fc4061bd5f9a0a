#ifndef SLICERBRIDGE_TRANSPORT_IMPL_FRAME_STREAM_HPP
#define SLICERBRIDGE_TRANSPORT_IMPL_FRAME_STREAM_HPP

#include <asio/compose.hpp>
#include <asio/error.hpp>

#include <algorithm>

namespace slicerbridge {

template <class NextLayer>
template <class... Args>
frame_stream<NextLayer>::frame_stream(Args&&... args)
    : next_(std::forward<Args>(args)...), staging_(staging_capacity) {}

template <class NextLayer>
struct frame_stream<NextLayer>::read_frame_op {
    frame_stream& self;
    frame_arrival arrival{};
    bool started = false;

    template <class Self>
    void operator()(Self& op, std::error_code ec = {}, std::size_t transferred = 0,
                    bool direct = false) {
        if (ec) {
            self.reader_.reset();
            return op.complete(ec, received_frame{}, arrival);
        }
        if (transferred > 0) {
            note_arrival();
            if (direct) {
                self.reader_.commit(transferred);
            } else {
                self.staged_begin_ = 0;
                self.staged_end_ = transferred;
            }
        }
        while (!self.reader_.done() && !self.reader_.error() &&
               self.staged_begin_ < self.staged_end_) {
            note_arrival();
            self.staged_begin_ += self.reader_.consume(self.staging_.data() + self.staged_begin_,
                                                       self.staged_end_ - self.staged_begin_);
        }
        if (self.reader_.error()) {
            auto failure = self.reader_.error();
            self.reader_.reset();
            return op.complete(failure, received_frame{}, arrival);
        }
        if (self.reader_.done()) {
            arrival.last_byte = std::chrono::steady_clock::now();
            return op.complete(std::error_code{}, self.reader_.release(), arrival);
        }
        auto target = self.reader_.prepare();
        if (target.size >= staging_capacity) {
            // Large remainder (a bulk payload): read straight into its final buffer.
            self.next_.async_read_some(
                asio::buffer(target.data, target.size),
                [op = std::move(op)](std::error_code e, std::size_t n) mutable {
                    op(e, n, true);
                });
        } else {
            self.next_.async_read_some(asio::buffer(self.staging_), std::move(op));
        }
    }

    void note_arrival() {
        if (!started) {
            started = true;
            arrival.first_byte = std::chrono::steady_clock::now();
        }
    }
};

template <class NextLayer>
template <class CompletionToken>
auto frame_stream<NextLayer>::async_read_frame(CompletionToken&& token) {
    return asio::async_compose<CompletionToken,
                               void(std::error_code, received_frame, frame_arrival)>(
        read_frame_op{*this}, token, next_);
}

template <class NextLayer>
struct frame_stream<NextLayer>::write_frame_op {
    // asio passes at most this many buffers to one gather write (and so does the kernel's iovec).
    static constexpr std::size_t max_gather = 64;

    frame_stream& self;
    std::size_t total = 0;
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
            consume(transferred);
        }
        started = true;
        if (written == total) {
            return op.complete(std::error_code{}, written);
        }
        auto& pieces = self.write_pieces_;
        auto count = std::min(max_gather, pieces.size() - next_piece);
        self.next_.async_write_some(detail::const_buffer_span(pieces.data() + next_piece, count),
                                    std::move(op));
    }

    void consume(std::size_t n) {
        auto& pieces = self.write_pieces_;
        while (n > 0) {
            auto& piece = pieces[next_piece];
            if (n < piece.size()) {
                piece += n;
                return;
            }
            n -= piece.size();
            ++next_piece;
        }
    }
};

template <class NextLayer>
template <class CompletionToken>
auto frame_stream<NextLayer>::async_write_frame(const encoded_frame& frame,
                                                CompletionToken&& token) {
    // Only one write is outstanding at a time, so the pieces of this one can reuse the storage of
    // the previous one.
    write_pieces_.clear();
    std::size_t total = 0;
    frame.for_each_buffer([&](const_bytes piece) {
        write_pieces_.emplace_back(piece.data, piece.size);
        total += piece.size;
    });
    return asio::async_compose<CompletionToken, void(std::error_code, std::size_t)>(
        write_frame_op{*this, total}, token, next_);
}

} // namespace slicerbridge

#endif
