#ifndef SLICERBRIDGE_TEST_STREAM_HPP
#define SLICERBRIDGE_TEST_STREAM_HPP
// An in-memory stream for tests, after Boost.Beast's `test::stream` and `test::fail_count`: two
// connected `test::stream`s carry bytes to each other with no socket, in pieces as small as a test
// asks, and a `fail_count` makes the Nth read or write fail with a chosen error, so that every I/O
// failure path of code over a stream (a `frame_stream`, a `basic_client<test::stream>`, a server
// session through `server::serve`) can be walked in turn:
//
//     for (std::size_t n = 0; n < 1000; ++n) {
//         test::fail_count fc(n);
//         asio::io_context io;
//         test::stream a(io.get_executor(), &fc), b(io.get_executor());
//         test::connect(a, b);
//         ... start an exchange over a and b; io.run() ...
//         if (fc.operations() <= n) break; // nothing failed: each operation has failed once
//         ... check that the exchange failed with fc.error(), and cleanly ...
//     }
//
// It has what the SDK's transports use of a stream (`write_some_now`, `close`), so the SDK takes
// it as it is. It ships with the SDK, rather than with the SDK's own tests, so that applications
// can test their clients and processors the same way.

#include <slicerbridge/detail/unique_function.hpp>

#include <asio/any_io_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/bind_executor.hpp>
#include <asio/buffer.hpp>
#include <asio/compose.hpp>
#include <asio/error.hpp>
#include <asio/execution_context.hpp>
#include <asio/post.hpp>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <deque>
#include <limits>
#include <memory>
#include <mutex>
#include <system_error>
#include <utility>
#include <vector>

namespace slicerbridge::test {

/// Counts operations and fails the one numbered `n` (from 0), and every one after it, as a
/// connection that breaks stays broken. One fail_count may be shared by several streams; it
/// must outlive them.
class fail_count {
public:
    /// By default the failure is `asio::error::connection_reset`, which nothing in a
    /// `test::stream` reports by itself.
    explicit fail_count(std::size_t n,
                        std::error_code ec = make_error_code(asio::error::connection_reset))
        : n_(n), ec_(ec) {}

    fail_count(const fail_count&) = delete;
    fail_count& operator=(const fail_count&) = delete;

    /// Counts one operation: true, with `ec` set to the failure, if it fails.
    bool fail(std::error_code& ec) noexcept {
        if (count_.fetch_add(1) < n_) {
            return false;
        }
        ec = ec_;
        return true;
    }

    /// The failure it injects.
    const std::error_code& error() const noexcept { return ec_; }

    /// The operations counted so far.
    std::size_t operations() const noexcept { return count_.load(); }

private:
    const std::size_t n_;
    const std::error_code ec_;
    std::atomic<std::size_t> count_{0};
};

namespace detail {

/// One end of a connection: the bytes written to it and not read yet, and its read in progress.
/// Its peer writes to it, so it is guarded by a mutex; no code holds two ends' mutexes at once.
struct stream_end {
    using read_completion =
        slicerbridge::detail::unique_function<void(std::error_code, std::size_t)>;

    /// A read that can complete, taken out of its end so that it completes without the lock.
    struct ready_read {
        read_completion complete;
        std::error_code ec;
        std::size_t transferred = 0;

        void operator()() {
            if (complete) {
                complete(ec, transferred);
            }
        }
    };

    std::mutex mutex;
    std::deque<std::byte> inbound;
    std::size_t read_size = std::numeric_limits<std::size_t>::max();
    bool closed = false;      // this end
    bool peer_closed = false; // reads end with eof once `inbound` is empty
    std::weak_ptr<stream_end> peer;

    // The read waiting for bytes: where they go, and what completes it.
    asio::mutable_buffer target;
    read_completion waiting_read;

    /// With the mutex held: moves what a read into `into` takes, or says how the stream ended;
    /// false if the read must wait.
    bool fill(asio::mutable_buffer into, std::error_code& ec, std::size_t& n) {
        n = 0;
        if (!inbound.empty()) {
            n = std::min({into.size(), read_size, inbound.size()});
            auto first = inbound.begin();
            auto last = first + static_cast<std::ptrdiff_t>(n);
            std::copy(first, last, static_cast<std::byte*>(into.data()));
            inbound.erase(first, last);
            ec.clear();
            return true;
        }
        if (peer_closed) {
            ec = asio::error::eof;
            return true;
        }
        return false;
    }

    /// With the mutex held: the waiting read, if what arrived completes it.
    ready_read take_ready_read() {
        ready_read ready;
        if (waiting_read && fill(target, ready.ec, ready.transferred)) {
            ready.complete = std::move(waiting_read);
        }
        return ready;
    }
};

/// Destroys the reads still waiting when their execution context shuts down, as Asio does with
/// a socket's: a read's handler may own its stream, which would otherwise never be freed.
class stream_service : public asio::execution_context::service {
public:
    static inline asio::execution_context::id id;

    explicit stream_service(asio::execution_context& context) : service(context) {}

    void add(const std::shared_ptr<stream_end>& end) {
        std::lock_guard<std::mutex> lock(mutex_);
        ends_.erase(
            std::remove_if(ends_.begin(), ends_.end(), [](const auto& e) { return e.expired(); }),
            ends_.end());
        ends_.push_back(end);
    }

private:
    void shutdown() override {
        std::vector<std::shared_ptr<stream_end>> alive;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            for (auto& weak : ends_) {
                if (auto end = weak.lock()) {
                    alive.push_back(std::move(end));
                }
            }
            ends_.clear();
        }
        for (auto& end : alive) {
            stream_end::read_completion abandoned;
            {
                std::lock_guard<std::mutex> lock(end->mutex);
                abandoned = std::move(end->waiting_read);
                end->closed = true;
            }
            // Destroyed without the lock: the handler may own a stream whose destructor locks.
        }
    }

    std::mutex mutex_;
    std::vector<std::weak_ptr<stream_end>> ends_;
};

} // namespace detail

/// One end of an in-memory connection: an Asio AsyncReadStream and AsyncWriteStream, with
/// `write_some_now` and `close` as the SDK's transports have them. Handlers never run inside
/// the initiating function; they run on their associated executor (by default the stream's).
///
/// Writes never wait: they append to the peer's unread bytes. A read waits until bytes arrive
/// or either end closes. Closing an end completes its waiting read with operation_aborted; the
/// peer then reads what was sent, then eof, and its writes fail with broken_pipe. Operations on
/// a closed end fail with bad_descriptor, as on a closed socket. Operations are cancelled by
/// closing, as the SDK cancels them; a read still waiting when its execution context shuts down
/// is destroyed with it, as a socket's would be.
///
/// As with a socket, one stream is used by one thread at a time; its peer may be used by another.
class stream {
public:
    using executor_type = asio::any_io_executor;

    /// An unconnected stream; `fc`, if given, counts its reads and writes and fails them.
    explicit stream(const executor_type& executor, fail_count* fc = nullptr)
        : executor_(executor), end_(std::make_shared<detail::stream_end>()), fail_count_(fc) {
        asio::use_service<detail::stream_service>(asio::query(executor_, asio::execution::context))
            .add(end_);
    }

    stream(stream&&) noexcept = default;
    stream& operator=(stream&& other) noexcept {
        if (this != &other) {
            close();
            executor_ = std::move(other.executor_);
            end_ = std::move(other.end_);
            fail_count_ = other.fail_count_;
            write_size_ = other.write_size_;
            write_now_limit_ = other.write_now_limit_;
        }
        return *this;
    }
    stream(const stream&) = delete;
    stream& operator=(const stream&) = delete;

    ~stream() { close(); }

    executor_type get_executor() const noexcept { return executor_; }

    /// The most bytes one read returns (default: no limit), so that reads come in pieces.
    void read_size(std::size_t n) {
        std::lock_guard<std::mutex> lock(end_->mutex);
        end_->read_size = std::max<std::size_t>(n, 1);
    }

    /// The most bytes one write takes (default: no limit), so that writes are partial.
    void write_size(std::size_t n) noexcept { write_size_ = std::max<std::size_t>(n, 1); }

    /// `write_some_now` takes nothing while the peer has this many bytes or more unread (default:
    /// no limit), as a socket whose send buffer is full: the rest goes by `async_write_some`.
    /// 0: `write_some_now` never takes anything, as over TLS.
    void write_now_limit(std::size_t n) noexcept { write_now_limit_ = n; }

    bool is_open() const {
        std::lock_guard<std::mutex> lock(end_->mutex);
        return !end_->closed;
    }

    /// Reads into the first buffer. Handler signature: `void(std::error_code, std::size_t)`.
    template <class MutableBufferSequence, class ReadToken>
    auto async_read_some(const MutableBufferSequence& buffers, ReadToken&& token) {
        return asio::async_compose<ReadToken, void(std::error_code, std::size_t)>(
            read_op{end_, first_of(buffers), fail_count_}, token, executor_);
    }

    /// Handler signature: `void(std::error_code, std::size_t)`.
    template <class ConstBufferSequence, class WriteToken>
    auto async_write_some(const ConstBufferSequence& buffers, WriteToken&& token) {
        return asio::async_compose<WriteToken, void(std::error_code, std::size_t)>(
            [this, buffers](auto& self) {
                std::error_code ec;
                const std::size_t n = write(buffers, std::numeric_limits<std::size_t>::max(), ec);
                complete_later(std::move(self), ec, n);
            },
            token, executor_);
    }

    /// Writes what the stream takes without waiting (see `write_now_limit`); the fail_count
    /// counts it as a write.
    template <class ConstBufferSequence>
    std::size_t write_some_now(const ConstBufferSequence& buffers, std::error_code& ec) {
        ec.clear();
        return write(buffers, write_now_limit_, ec);
    }

    /// Closes this end (see the class comment).
    void close() {
        if (!end_) {
            return; // moved from
        }
        detail::stream_end::read_completion aborted;
        std::shared_ptr<detail::stream_end> peer;
        {
            std::lock_guard<std::mutex> lock(end_->mutex);
            if (end_->closed) {
                return;
            }
            end_->closed = true;
            aborted = std::move(end_->waiting_read);
            peer = end_->peer.lock();
        }
        if (aborted) {
            aborted(make_error_code(asio::error::operation_aborted), 0);
        }
        if (peer) {
            detail::stream_end::ready_read ended;
            {
                std::lock_guard<std::mutex> lock(peer->mutex);
                peer->peer_closed = true;
                ended = peer->take_ready_read();
            }
            ended();
        }
    }

    void close(std::error_code& ec) {
        ec.clear();
        close();
    }

    /// Connects two unconnected streams to each other.
    friend void connect(stream& a, stream& b) {
        {
            std::lock_guard<std::mutex> lock(a.end_->mutex);
            a.end_->peer = b.end_;
        }
        std::lock_guard<std::mutex> lock(b.end_->mutex);
        b.end_->peer = a.end_;
    }

private:
    template <class MutableBufferSequence>
    static asio::mutable_buffer first_of(const MutableBufferSequence& buffers) {
        auto first = asio::buffer_sequence_begin(buffers);
        return first == asio::buffer_sequence_end(buffers) ? asio::mutable_buffer()
                                                           : asio::mutable_buffer(*first);
    }

    /// Completes a composed operation from a fresh handler on its associated executor.
    template <class Self>
    static void complete_later(Self self, std::error_code ec, std::size_t n) {
        auto target = asio::get_associated_executor(self); // the handler's, or the stream's
        asio::post(asio::bind_executor(
            target, [self = std::move(self), ec, n]() mutable { self.complete(ec, n); }));
    }

    struct read_op {
        std::shared_ptr<detail::stream_end> end;
        asio::mutable_buffer target;
        fail_count* fc;

        template <class Self>
        void operator()(Self& self) {
            std::error_code ec;
            if (fc != nullptr && fc->fail(ec)) {
                return complete_later(std::move(self), ec, 0);
            }
            // Moving `self` below moves this operation too: it works on its own copy of `end`.
            const auto state = end;
            std::size_t n = 0;
            {
                std::lock_guard<std::mutex> lock(state->mutex);
                if (state->closed) {
                    ec = asio::error::bad_descriptor;
                } else if (target.size() != 0 && !state->fill(target, ec, n)) {
                    // Completed by the peer's write or close, or by a close of this end.
                    state->target = target;
                    state->waiting_read = [self = std::move(self)](std::error_code e,
                                                                   std::size_t got) mutable {
                        complete_later(std::move(self), e, got);
                    };
                    return;
                }
            }
            complete_later(std::move(self), ec, n);
        }
    };

    /// Appends to the peer's unread bytes up to `write_size_` bytes, and as many as keep them
    /// under `limit`.
    template <class ConstBufferSequence>
    std::size_t write(const ConstBufferSequence& buffers, std::size_t limit, std::error_code& ec) {
        if (fail_count_ != nullptr && fail_count_->fail(ec)) {
            return 0;
        }
        std::shared_ptr<detail::stream_end> peer;
        {
            std::lock_guard<std::mutex> lock(end_->mutex);
            if (end_->closed) {
                ec = asio::error::bad_descriptor;
                return 0;
            }
            if (end_->peer_closed) {
                ec = asio::error::broken_pipe;
                return 0;
            }
            peer = end_->peer.lock();
        }
        if (!peer) {
            ec = asio::error::not_connected;
            return 0;
        }
        detail::stream_end::ready_read filled;
        std::size_t written = 0;
        {
            std::lock_guard<std::mutex> lock(peer->mutex);
            if (peer->closed) {
                ec = asio::error::broken_pipe;
                return 0;
            }
            const std::size_t unread = peer->inbound.size();
            std::size_t wanted = std::min(write_size_, unread < limit ? limit - unread : 0);
            for (auto it = asio::buffer_sequence_begin(buffers);
                 it != asio::buffer_sequence_end(buffers) && wanted > 0; ++it) {
                asio::const_buffer piece(*it);
                const auto* bytes = static_cast<const std::byte*>(piece.data());
                const std::size_t n = std::min(wanted, piece.size());
                peer->inbound.insert(peer->inbound.end(), bytes, bytes + n);
                written += n;
                wanted -= n;
            }
            filled = peer->take_ready_read();
        }
        filled();
        return written;
    }

    executor_type executor_;
    std::shared_ptr<detail::stream_end> end_;
    fail_count* fail_count_ = nullptr;
    std::size_t write_size_ = std::numeric_limits<std::size_t>::max();
    std::size_t write_now_limit_ = std::numeric_limits<std::size_t>::max();
};

void connect(stream& a, stream& b);

} // namespace slicerbridge::test

#endif
