#ifndef SLICERBRIDGE_SERVER_IMPL_SERVER_HPP
#define SLICERBRIDGE_SERVER_IMPL_SERVER_HPP

#include <slicerbridge/detail/platform/owner_only.hpp>
#include <slicerbridge/detail/tls.hpp>
#include <slicerbridge/server/session.hpp>
#include <slicerbridge/server/state.hpp>

#include <asio/io_context.hpp>
#include <asio/strand.hpp>

#include <cstdio>
#include <stdexcept>

namespace slicerbridge {

namespace detail {

/// The executor for a new connection, on which its handlers take turns: a strand, or, over an
/// io_context that one thread runs, that context's own executor, whose handlers take turns
/// already (a strand would only add its queue and locks to every handler). Over an io_context the
/// strand holds that context's executor type, so that every handler of the connection goes
/// through one level of type erasure (the socket's any_io_executor) instead of two.
template <class Accept>
void accept_on_connection_executor(const asio::any_io_executor& io, Accept accept) {
    if (const auto* context_executor = io.target<asio::io_context::executor_type>()) {
        if (runs_on_one_thread(context_executor->context())) {
            accept(*context_executor);
        } else {
            accept(asio::make_strand(*context_executor));
        }
    } else {
        accept(asio::make_strand(io));
    }
}

template <class Acceptor, class OnSocket, class ConnectionExecutor>
void accept_once(std::shared_ptr<server_state> state, std::shared_ptr<Acceptor> acceptor,
                 OnSocket on_socket, const ConnectionExecutor& executor,
                 std::shared_ptr<accept_backoff> backoff);

/// The network address of a TCP peer (under any layering), or empty.
template <class Stream>
std::string peer_address(Stream& stream) {
    auto& lowest = lowest_layer(stream);
    if constexpr (is_tcp_socket<std::remove_reference_t<decltype(lowest)>>::value) {
        std::error_code ec;
        auto endpoint = lowest.remote_endpoint(ec);
        if (!ec) {
            return endpoint.address().to_string();
        }
    }
    return {};
}

/// Starts a session on `stream`, or refuses it: closed at once while shutting down, answered
/// too_many_connections when a connection cap is reached ([LIMIT-8]). Takes the server's state,
/// not the server: an accept or a TLS handshake may complete after the server is gone.
template <class Stream>
void serve_stream(const std::shared_ptr<server_state>& state, Stream stream,
                  std::function<void()> on_closed) {
    using session_type = server_session<Stream>;
    std::shared_ptr<session_type> session;
    std::string address = peer_address(stream);
    {
        std::lock_guard<std::mutex> lock(state->sessions_mutex);
        auto& sessions = state->sessions;
        sessions.erase(std::remove_if(sessions.begin(), sessions.end(),
                                      [](const auto& s) { return s.expired(); }),
                       sessions.end());
        const auto& options = state->options;
        if (state->shutting_down) {
            close_stream(stream);
            return;
        }
        std::optional<std::string> refusal;
        if (sessions.size() >= options.max_connections) {
            refusal = "the server serves " + std::to_string(options.max_connections) +
                      " connections at most";
        } else if (!address.empty() && options.max_connections_per_address != 0 &&
                   state->connections_per_address[address] >= options.max_connections_per_address) {
            refusal = "the server serves " + std::to_string(options.max_connections_per_address) +
                      " connections from one address at most";
        }
        if (refusal) {
            // Not counted: it only says why, then closes.
            session = std::make_shared<session_type>(state, std::move(stream), std::move(on_closed),
                                                     std::string(), std::move(refusal));
        } else {
            if (!address.empty()) {
                ++state->connections_per_address[address];
            }
            session = std::make_shared<session_type>(state, std::move(stream), std::move(on_closed),
                                                     std::move(address));
            sessions.push_back(session);
        }
    }
    asio::post(session->get_executor(), [session] { session->start(); });
}

// An acceptor's executor is a strand of its own: its accept handlers, and the closing that a
// shutdown asks for from any thread, take turns there.

template <class Acceptor>
void close_on_own_strand(const std::shared_ptr<Acceptor>& acceptor) {
    asio::post(acceptor->get_executor(), [acceptor] {
        std::error_code ignored;
        acceptor->close(ignored);
    });
}

/// A TCP acceptor listening on `endpoint` (its address in `bound`) that a shutdown closes.
inline std::shared_ptr<asio::ip::tcp::acceptor>
open_tcp_acceptor(const std::shared_ptr<server_state>& state,
                  const asio::ip::tcp::endpoint& endpoint, asio::ip::tcp::endpoint& bound,
                  std::error_code& ec) {
    auto acceptor =
        std::make_shared<asio::ip::tcp::acceptor>(asio::make_strand(state->io_executor));
    acceptor->open(endpoint.protocol(), ec);
    if (!ec) {
        acceptor->set_option(asio::socket_base::reuse_address(true), ec);
    }
    if (!ec) {
        acceptor->bind(endpoint, ec);
    }
    if (!ec) {
        acceptor->listen(asio::socket_base::max_listen_connections, ec);
    }
    if (!ec) {
        bound = acceptor->local_endpoint(ec);
    }
    if (ec) {
        return nullptr;
    }
    std::lock_guard<std::mutex> lock(state->sessions_mutex);
    state->stop_listening.push_back([acceptor] { close_on_own_strand(acceptor); });
    return acceptor;
}

template <class Acceptor, class OnSocket>
void accept_loop(std::shared_ptr<server_state> state, std::shared_ptr<Acceptor> acceptor,
                 OnSocket on_socket, std::shared_ptr<accept_backoff> backoff) {
    accept_on_connection_executor(state->io_executor, [&](auto executor) {
        accept_once(state, acceptor, on_socket, executor, backoff);
    });
}

template <class Acceptor, class OnSocket>
void start_accepting(std::shared_ptr<server_state> state, std::shared_ptr<Acceptor> acceptor,
                     OnSocket on_socket) {
    asio::post(acceptor->get_executor(), [state, acceptor, on_socket]() mutable {
        auto backoff = std::make_shared<accept_backoff>(std::chrono::milliseconds(10),
                                                        std::chrono::seconds(1));
        accept_loop(std::move(state), std::move(acceptor), std::move(on_socket),
                    std::move(backoff));
    });
}

template <class Acceptor, class OnSocket, class ConnectionExecutor>
void accept_once(std::shared_ptr<server_state> state, std::shared_ptr<Acceptor> acceptor,
                 OnSocket on_socket, const ConnectionExecutor& executor,
                 std::shared_ptr<accept_backoff> backoff) {
    acceptor->async_accept(executor, [state, acceptor, on_socket, backoff](std::error_code ec,
                                                                           auto socket) mutable {
        if (!acceptor->is_open() || ec == asio::error::operation_aborted) {
            return;
        }
        if (!ec) {
            backoff->succeeded();
            on_socket(std::move(socket));
            return accept_loop(std::move(state), std::move(acceptor), std::move(on_socket),
                               std::move(backoff));
        }
        // Out of descriptors or memory, every accept fails at once: wait before the next one,
        // and log the failures at a bounded rate.
        state->log_limited(log_level::warning, "accept", "accept failed: " + ec.message());
        auto timer = std::make_shared<asio::steady_timer>(acceptor->get_executor());
        timer->expires_after(backoff->failed());
        timer->async_wait([state, acceptor, on_socket, backoff, timer](std::error_code) mutable {
            if (acceptor->is_open()) {
                accept_loop(std::move(state), std::move(acceptor), std::move(on_socket),
                            std::move(backoff));
            }
        });
    });
}

/// A TLS handshake, counted among the pending ones (at most max_pending_handshakes: further
/// connections are closed at once) and closed when it takes longer than hello_timeout
/// ([LIMIT-5]). A finished handshake serves the connection.
inline void start_tls_handshake(const std::shared_ptr<server_state>& state,
                                asio::ip::tcp::socket socket,
                                const std::shared_ptr<asio::ssl::context>& tls) {
    if (state->pending_handshakes.fetch_add(1) >= state->options.max_pending_handshakes) {
        state->pending_handshakes.fetch_sub(1);
        state->log_limited(log_level::warning, "handshakes",
                           "refused a connection: too many TLS handshakes in progress");
        std::error_code ignored;
        socket.close(ignored);
        return;
    }
    server_handshake(std::move(socket), tls, state->options.hello_timeout,
                     [state](std::error_code handshake_error, auto stream) {
                         state->pending_handshakes.fetch_sub(1);
                         if (!handshake_error) {
                             serve_stream(state, std::move(stream), {});
                         }
                     });
}

} // namespace detail

inline asio::ip::tcp::endpoint server::listen_tls(const asio::ip::tcp::endpoint& endpoint,
                                                  std::shared_ptr<asio::ssl::context> tls,
                                                  std::error_code& ec) {
    ec.clear();
    if (!detail::tls_available) {
        ec = std::make_error_code(std::errc::operation_not_supported);
        return {};
    }
    asio::ip::tcp::endpoint bound;
    auto acceptor = detail::open_tcp_acceptor(state_, endpoint, bound, ec);
    if (ec) {
        return {};
    }
    detail::start_accepting(state_, acceptor, [state = state_, tls](asio::ip::tcp::socket socket) {
        detail::start_tls_handshake(state, std::move(socket), tls);
    });
    return bound;
}

template <class Stream>
void server::serve(Stream stream, std::function<void()> on_closed) {
    detail::serve_stream(state_, std::move(stream), std::move(on_closed));
}

} // namespace slicerbridge

#endif
