#ifndef SLICERBRIDGE_TRANSPORT_ANY_STREAM_HPP
#define SLICERBRIDGE_TRANSPORT_ANY_STREAM_HPP
// One stream type for every transport (TCP, TLS, Unix socket, pipes), so that code written once
// against `any_stream` works over all of them. The cost is one virtual call per read or write:
// the handler of an operation is kept in a type-erased object without a heap allocation when it
// is small (as the SDK's own handlers are).

#include <slicerbridge/detail/buffer_span.hpp>
#include <slicerbridge/detail/stream_ops.hpp>
#include <slicerbridge/detail/unique_function.hpp>

#include <asio/any_io_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/buffer.hpp>
#include <asio/local/stream_protocol.hpp>

#include <cstddef>
#include <memory>
#include <system_error>
#include <type_traits>
#include <vector>

namespace slicerbridge {

namespace detail {
#if defined(ASIO_HAS_LOCAL_SOCKETS)
using any_stream_local_socket = asio::local::stream_protocol::socket;
#else
struct any_stream_local_socket {}; // no Unix sockets here: no stream is one
#endif
} // namespace detail

/// A type-erased Asio AsyncStream. Reads take one buffer; writes a sequence of buffers.
class any_stream {
public:
    using executor_type = asio::any_io_executor;
    /// An operation's handler: one the size of a few pointers is kept without an allocation.
    using io_handler = detail::unique_function<void(std::error_code, std::size_t), 160>;

    template <class Stream>
    explicit any_stream(Stream stream) {
        auto impl = std::make_unique<model<Stream>>(std::move(stream));
        if constexpr (std::is_same_v<Stream, detail::any_stream_local_socket>) {
            local_socket_ = &impl->stream;
        }
        impl_ = std::move(impl);
    }

    executor_type get_executor() const { return impl_->get_executor(); }

    template <class MutableBufferSequence, class ReadToken>
    auto async_read_some(const MutableBufferSequence& buffers, ReadToken&& token) {
        asio::mutable_buffer first = *asio::buffer_sequence_begin(buffers);
        return asio::async_initiate<ReadToken, void(std::error_code, std::size_t)>(
            [this](auto handler, asio::mutable_buffer target) {
                impl_->read_some(target, io_handler(std::move(handler)));
            },
            token, first);
    }

    /// As with any AsyncStream, one write at a time: the buffer list is copied into storage
    /// that each write reuses.
    template <class ConstBufferSequence, class WriteToken>
    auto async_write_some(const ConstBufferSequence& buffers, WriteToken&& token) {
        write_pieces_.assign(asio::buffer_sequence_begin(buffers),
                             asio::buffer_sequence_end(buffers));
        return asio::async_initiate<WriteToken, void(std::error_code, std::size_t)>(
            [this](auto handler) {
                impl_->write_some(
                    detail::const_buffer_span(write_pieces_.data(), write_pieces_.size()),
                    io_handler(std::move(handler)));
            },
            token);
    }

    /// Writes what the wrapped stream takes without waiting (see `detail::write_some_now`).
    template <class ConstBufferSequence>
    std::size_t write_some_now(const ConstBufferSequence& buffers, std::error_code& ec) {
        write_pieces_.assign(asio::buffer_sequence_begin(buffers),
                             asio::buffer_sequence_end(buffers));
        return impl_->write_some_now(
            detail::const_buffer_span(write_pieces_.data(), write_pieces_.size()), ec);
    }

    /// Turns Nagle's algorithm off if the wrapped stream is TCP (see `detail::disable_nagle`).
    void disable_nagle() { impl_->disable_nagle(); }

    /// The stream this one wraps, if it is a `Stream`.
    template <class Stream>
    Stream* target() noexcept {
        if constexpr (std::is_same_v<Stream, detail::any_stream_local_socket>) {
            // Asked on every read (is this a Unix socket, which passes descriptors?): answered
            // without a dynamic_cast.
            return local_socket_;
        } else {
            auto* typed = dynamic_cast<model<Stream>*>(impl_.get());
            return typed ? &typed->stream : nullptr;
        }
    }

    /// Closes the underlying stream; pending operations complete with operation_aborted.
    void close(std::error_code& ec) {
        ec.clear();
        impl_->close();
    }

private:
    struct concept_t {
        virtual ~concept_t() = default;
        virtual executor_type get_executor() const = 0;
        virtual void read_some(asio::mutable_buffer target, io_handler&& handler) = 0;
        virtual void write_some(detail::const_buffer_span sources, io_handler&& handler) = 0;
        virtual std::size_t write_some_now(detail::const_buffer_span sources,
                                           std::error_code& ec) = 0;
        virtual void disable_nagle() = 0;
        virtual void close() = 0;
    };

    template <class Stream>
    struct model final : concept_t {
        explicit model(Stream s) : stream(std::move(s)) {}
        executor_type get_executor() const override {
            return const_cast<Stream&>(stream).get_executor();
        }
        void read_some(asio::mutable_buffer target, io_handler&& handler) override {
            stream.async_read_some(target, std::move(handler));
        }
        void write_some(detail::const_buffer_span sources, io_handler&& handler) override {
            stream.async_write_some(sources, std::move(handler));
        }
        std::size_t write_some_now(detail::const_buffer_span sources,
                                   std::error_code& ec) override {
            return detail::write_some_now(stream, sources, ec);
        }
        void disable_nagle() override { detail::disable_nagle(stream); }
        void close() override { detail::close_stream(stream); }
        Stream stream;
    };

    std::unique_ptr<concept_t> impl_;
    detail::any_stream_local_socket* local_socket_ = nullptr; // impl_'s stream, if it is one
    std::vector<asio::const_buffer> write_pieces_;
};

} // namespace slicerbridge

#endif
