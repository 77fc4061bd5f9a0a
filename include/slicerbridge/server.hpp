#ifndef SLICERBRIDGE_SERVER_HPP
#define SLICERBRIDGE_SERVER_HPP
// A processor server: serves registered processors to any number of clients over TCP, TLS, Unix
// sockets or standard input/output.

#include <slicerbridge/detail/config.hpp>
#include <slicerbridge/detail/tls.hpp>
#include <slicerbridge/processor.hpp>
#include <slicerbridge/server/options.hpp>

#include <asio/any_io_executor.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/local/stream_protocol.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

namespace slicerbridge {

namespace detail {
struct server_state;
}

/// Serves processors. Register them with `add`, then listen on endpoints or serve streams; the
/// I/O runs on the executor given at construction (run its io_context on one or more threads),
/// processors on the server's own worker threads. Each connection's handlers take turns on a
/// strand, except over an io_context made for one thread (`asio::io_context io(1)`), which
/// serialises them already at less cost: run such a context on one thread only.
///
/// Thread safety: `add` before serving; everything else may be called from any thread.
class server {
public:
    SLICERBRIDGE_DECL explicit server(asio::any_io_executor io_executor,
                                      server_options options = {});
    SLICERBRIDGE_DECL ~server();
    server(const server&) = delete;
    server& operator=(const server&) = delete;

    /// Registers a processor, to run where `execution` says. Throws std::invalid_argument if its
    /// description is invalid or its name is taken.
    SLICERBRIDGE_DECL void add(processor p,
                               processor_execution execution = processor_execution::worker_pool);

    /// Starts accepting TCP connections and returns the bound endpoint (port 0 picks one). A
    /// non-loopback address needs a token ([SEC-1], [SEC-2]): without one, fails with
    /// `std::errc::permission_denied`.
    SLICERBRIDGE_DECL asio::ip::tcp::endpoint listen(const asio::ip::tcp::endpoint& endpoint,
                                                     std::error_code& ec);
    SLICERBRIDGE_DECL asio::ip::tcp::endpoint listen(const asio::ip::tcp::endpoint& endpoint);

    /// Starts accepting TLS connections; with TLS, a token is not required off loopback. In a
    /// build without TLS (`detail::tls_available`), fails with `operation_not_supported`.
    asio::ip::tcp::endpoint listen_tls(const asio::ip::tcp::endpoint& endpoint,
                                       std::shared_ptr<asio::ssl::context> tls,
                                       std::error_code& ec);

    /// A context for `listen_tls`: TLS 1.2 or later with the certificate chain and private key
    /// of these PEM files. In a build without TLS, fails with `operation_not_supported`.
    static std::shared_ptr<asio::ssl::context>
    make_tls_context(const std::string& certificate_chain_file, const std::string& private_key_file,
                     std::error_code& ec) {
        return detail::server_context(certificate_chain_file, private_key_file, ec);
    }

    /// Starts accepting connections on a Unix domain socket at `path` (replacing a stale one).
    SLICERBRIDGE_DECL void listen_unix(const std::string& path, std::error_code& ec);

    /// Serves one already connected stream (a socket, or `pipe_stream::standard_streams` for a
    /// processor launched by its client). `on_closed` runs when the connection ends.
    template <class Stream>
    void serve(Stream stream, std::function<void()> on_closed = {});

    /// Stops accepting, lets calls in flight finish for up to `grace`, then cancels the rest and
    /// closes every connection. `on_done` runs once everything is closed.
    SLICERBRIDGE_DECL void shutdown(std::chrono::milliseconds grace,
                                    std::function<void()> on_done = {});

    /// Number of open connections.
    SLICERBRIDGE_DECL std::size_t connection_count() const;

    /// Calls admitted and not yet computed, running or waiting for a worker: what
    /// `server_options::max_pending_calls` bounds.
    SLICERBRIDGE_DECL std::size_t pending_call_count() const;

    /// Bytes held in the byte budget: frames being received, inputs of open calls, answers
    /// waiting to be sent ([LIMIT-9]).
    SLICERBRIDGE_DECL std::uint64_t bytes_held() const;

private:
    std::shared_ptr<detail::server_state> state_;
};

} // namespace slicerbridge

#include <slicerbridge/server/impl/server.hpp>
#if defined(SLICERBRIDGE_HEADER_ONLY)
#include <slicerbridge/server/impl/server.ipp>
#endif

#endif
