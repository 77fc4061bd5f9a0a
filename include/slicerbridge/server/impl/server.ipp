#ifndef SLICERBRIDGE_SERVER_IMPL_SERVER_IPP
#define SLICERBRIDGE_SERVER_IMPL_SERVER_IPP

#include <slicerbridge/server.hpp>

namespace slicerbridge {
namespace detail {

/// `options`, unless its token is too short ([SEC-8]).
SLICERBRIDGE_DECL server_options checked_options(server_options options) {
    if (options.token) {
        auto problem = token_problem(*options.token);
        if (!problem.empty()) {
            throw std::invalid_argument(problem);
        }
    }
    return options;
}

SLICERBRIDGE_DECL bool is_loopback(const asio::ip::address& address) {
    if (address.is_v6() && address.to_v6().is_v4_mapped()) {
        return asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6()).is_loopback();
    }
    return address.is_loopback();
}

} // namespace detail

SLICERBRIDGE_DECL server::server(asio::any_io_executor io_executor, server_options options)
    : state_(std::make_shared<detail::server_state>(std::move(io_executor),
                                                    detail::checked_options(std::move(options)))) {
    state_->catalog_value = value(value::map{{"processors", value(value::array{})}});
    state_->catalog_value_1_0 = state_->catalog_value;
}

SLICERBRIDGE_DECL server::~server() {
    shutdown(std::chrono::milliseconds(0));
    state_->workers.stop();
    state_->workers.join();
}

SLICERBRIDGE_DECL void server::add(processor p, processor_execution execution) {
    std::string problem;
    if (p.description.validate(problem)) {
        throw std::invalid_argument("invalid processor description: " + problem);
    }
    if (!p.run) {
        throw std::invalid_argument("processor " + p.description.name + " has nothing to run");
    }
    auto name = p.description.name;
    if (!state_->processors.emplace(name, detail::registered_processor{std::move(p), execution})
             .second) {
        throw std::invalid_argument("a processor named " + name + " is already registered");
    }
    value::array descriptions;
    value::array descriptions_1_0;
    for (const auto& entry : state_->processors) {
        const auto& d = entry.second.proc.description;
        descriptions.push_back(to_value(d));
        if (offered_at_version(d, {1, 0})) { // [SER-6]
            descriptions_1_0.push_back(to_value(description_for_version(d, {1, 0})));
        }
    }
    state_->catalog_value = value(value::map{{"processors", value(std::move(descriptions))}});
    state_->catalog_value_1_0 =
        value(value::map{{"processors", value(std::move(descriptions_1_0))}});
}

SLICERBRIDGE_DECL asio::ip::tcp::endpoint server::listen(const asio::ip::tcp::endpoint& endpoint,
                                                         std::error_code& ec) {
    ec.clear();
    if (!detail::is_loopback(endpoint.address()) && !state_->options.token) {
        ec = std::make_error_code(std::errc::permission_denied); // [SEC-2]
        return {};
    }
    asio::ip::tcp::endpoint bound;
    auto acceptor = detail::open_tcp_acceptor(state_, endpoint, bound, ec);
    if (ec) {
        return {};
    }
    detail::start_accepting(state_, acceptor, [state = state_](asio::ip::tcp::socket socket) {
        detail::serve_stream(state, std::move(socket), {});
    });
    return bound;
}

SLICERBRIDGE_DECL asio::ip::tcp::endpoint server::listen(const asio::ip::tcp::endpoint& endpoint) {
    std::error_code ec;
    auto bound = listen(endpoint, ec);
    if (ec) {
        throw std::system_error(ec, "listening on " + endpoint.address().to_string() + ":" +
                                        std::to_string(endpoint.port()));
    }
    return bound;
}

SLICERBRIDGE_DECL void server::listen_unix(const std::string& path, std::error_code& ec) {
    ec.clear();
    std::remove(path.c_str());
    auto acceptor = std::make_shared<asio::local::stream_protocol::acceptor>(
        asio::make_strand(state_->io_executor));
    asio::local::stream_protocol::endpoint endpoint(path);
    acceptor->open(endpoint.protocol(), ec);
    if (!ec) {
        acceptor->bind(endpoint, ec);
    }
    // Only this user may connect ([SEC-10]); nobody can before listen(), so there is no window.
    if (!ec) {
        detail::platform::restrict_to_owner(path, ec);
    }
    if (!ec) {
        acceptor->listen(asio::socket_base::max_listen_connections, ec);
    }
    if (ec) {
        return;
    }
    {
        std::lock_guard<std::mutex> lock(state_->sessions_mutex);
        state_->stop_listening.push_back([acceptor, path] {
            std::remove(path.c_str());
            detail::close_on_own_strand(acceptor);
        });
    }
    detail::start_accepting(state_, acceptor,
                            [state = state_](asio::local::stream_protocol::socket socket) {
                                detail::serve_stream(state, std::move(socket), {});
                            });
}

SLICERBRIDGE_DECL void server::shutdown(std::chrono::milliseconds grace,
                                        std::function<void()> on_done) {
    std::vector<std::shared_ptr<detail::session_base>> open;
    std::vector<std::function<void()>> closers;
    {
        std::lock_guard<std::mutex> lock(state_->sessions_mutex);
        state_->shutting_down = true;
        closers.swap(state_->stop_listening);
        for (auto& weak : state_->sessions) {
            if (auto session = weak.lock()) {
                open.push_back(std::move(session));
            }
        }
        state_->on_all_closed = std::move(on_done);
    }
    for (auto& close : closers) {
        close();
    }
    for (auto& session : open) {
        session->begin_shutdown(grace);
    }
    open.clear();
    state_->notify_if_all_closed();
}

SLICERBRIDGE_DECL std::size_t server::connection_count() const {
    std::lock_guard<std::mutex> lock(state_->sessions_mutex);
    std::size_t count = 0;
    for (const auto& weak : state_->sessions) {
        count += weak.expired() ? 0 : 1;
    }
    return count;
}

SLICERBRIDGE_DECL std::size_t server::pending_call_count() const {
    return state_->pending_calls.load();
}

SLICERBRIDGE_DECL std::uint64_t server::bytes_held() const {
    return state_->budget.held();
}

} // namespace slicerbridge

#endif
