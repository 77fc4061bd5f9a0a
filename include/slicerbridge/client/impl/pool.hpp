#ifndef SLICERBRIDGE_CLIENT_IMPL_POOL_HPP
#define SLICERBRIDGE_CLIENT_IMPL_POOL_HPP

#include <slicerbridge/client/reconnect.hpp>
#include <slicerbridge/client/resend.hpp>

#include <algorithm>
#include <utility>

namespace slicerbridge {
namespace detail {

class pool_category_impl : public std::error_category {
public:
    const char* name() const noexcept override { return "slicerbridge.pool"; }
    std::string message(int code) const override {
        switch (static_cast<pool_error>(code)) {
        case pool_error::connection_lost:
            return "the connection carrying the call was lost (not idempotent: not sent again)";
        case pool_error::retries_exhausted:
            return "the call lost its connection too many times";
        case pool_error::no_connection:
            return "no connection could be opened";
        case pool_error::closed:
            return "the pool was closed";
        }
        return "unknown pool error " + std::to_string(code);
    }
};

} // namespace detail

inline const std::error_category& pool_category() noexcept {
    static const detail::pool_category_impl instance;
    return instance;
}

// ---- connectors ---------------------------------------------------------------------------------

inline pool_connector connect_to(address where, asio::ssl::context* tls) {
    return [where = std::move(where),
            tls](const asio::any_io_executor& executor,
                 detail::unique_function<void(std::error_code, pool_connection)> done) mutable {
        if (where.kind == address::transport::unix_socket) {
            asio::local::stream_protocol::socket socket(executor);
            std::error_code ec;
            socket.connect(asio::local::stream_protocol::endpoint(where.path), ec);
            pool_connection c;
            c.peer = where.to_string();
            c.stream.emplace(std::move(socket));
            return done(ec, std::move(c));
        }
        if (where.kind == address::transport::tls && tls == nullptr) {
            return done(std::make_error_code(std::errc::invalid_argument), pool_connection{});
        }
        auto resolver = std::make_shared<asio::ip::tcp::resolver>(executor);
        auto shared_done = std::make_shared<decltype(done)>(std::move(done));
        resolver->async_resolve(
            where.host, where.port,
            [resolver, shared_done, where, tls,
             executor](std::error_code ec, asio::ip::tcp::resolver::results_type endpoints) {
                if (ec) {
                    return (*shared_done)(ec, pool_connection{});
                }
                auto socket = std::make_shared<asio::ip::tcp::socket>(executor);
                asio::async_connect(
                    *socket, endpoints,
                    [socket, shared_done, where, tls](std::error_code ec,
                                                      const asio::ip::tcp::endpoint& reached) {
                        pool_connection c;
                        if (ec) {
                            return (*shared_done)(ec, std::move(c));
                        }
                        const std::string reached_text =
                            reached.address().to_string() + ":" + std::to_string(reached.port());
                        c.peer = where.to_string();
                        if (reached_text != where.host + ":" + where.port) {
                            c.peer += " (" + reached_text + ")";
                        }
                        if (where.kind == address::transport::tcp) {
                            c.stream.emplace(std::move(*socket));
                            return (*shared_done)(ec, std::move(c));
                        }
                        detail::async_client_handshake(
                            std::move(*socket), *tls, where.host,
                            [shared_done, c = std::move(c)](std::error_code ec,
                                                            any_stream secure) mutable {
                                if (!ec) {
                                    c.stream.emplace(std::move(secure));
                                }
                                (*shared_done)(ec, std::move(c));
                            });
                    });
            });
    };
}

inline pool_connector launch_each(std::vector<std::string> argv) {
    return [argv = std::move(argv)](
               const asio::any_io_executor& executor,
               detail::unique_function<void(std::error_code, pool_connection)> done) {
        std::error_code ec;
        auto launched = launch_process(executor, argv, ec);
        pool_connection c;
        if (!ec) {
            c.peer = argv.empty() ? std::string("?") : argv[0];
            for (std::size_t i = 1; i < argv.size() && i < 6; ++i) {
                c.peer += " " + argv[i];
            }
            c.peer += std::string(argv.size() > 6 ? " ..." : "") + " (pid " +
                      std::to_string(launched.process.pid()) + ")";
            c.stream.emplace(std::move(launched.stream));
            c.child = std::move(launched.process);
        }
        done(ec, std::move(c));
    };
}

namespace detail {

struct pool_call {
    invoke_params params;
    invoke_options options;
    /// When the caller started it: each send carries what remains of its deadline ([LIMIT-13]).
    std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
    completion<void(std::error_code, pooled_reply)> done;
    pooled_reply reply;
    double last_fraction = -1.0;
};

/// The pool's state; lives on the pool's executor.
class pool_impl : public std::enable_shared_from_this<pool_impl> {
public:
    pool_impl(asio::any_io_executor executor, pool_connector connect, pool_options options)
        : executor_(std::move(executor)), connect_(std::move(connect)),
          options_(std::move(options)),
          reconnect_(options_.reconnect_delay, options_.max_reconnect_delay,
                     options_.connect_attempts) {
        options_.connections = std::max<std::size_t>(options_.connections, 1);
        options_.calls_per_connection = std::max<std::size_t>(options_.calls_per_connection, 1);
    }

    const asio::any_io_executor& executor() const { return executor_; }

    void start() {
        if (started_ || closed_) {
            return;
        }
        started_ = true;
        for (std::size_t i = 0; i < options_.connections; ++i) {
            members_.push_back(std::make_unique<member>(executor_));
            open(i);
        }
    }

    void catalog(completion<void(std::error_code, std::vector<processor_description>)> done) {
        if (closed_) {
            return done(make_error_code(pool_error::closed), {});
        }
        if (catalog_) {
            return done({}, *catalog_);
        }
        catalog_waiters_.push_back(std::move(done));
        start();
    }

    void invoke(std::shared_ptr<pool_call> call) {
        if (closed_ || saying_goodbye_) {
            call->reply.what = "the pool is closed";
            return finish(call, make_error_code(pool_error::closed));
        }
        waiting_.push_back(std::move(call));
        start();
        dispatch();
    }

    void goodbye(completion<void(std::error_code)> done) {
        if (closed_) {
            return done({});
        }
        saying_goodbye_ = true;
        goodbye_waiters_.push_back(std::move(done));
        maybe_finish_goodbye();
    }

    void close() {
        if (closed_) {
            return;
        }
        closed_ = true;
        for (auto& m : members_) {
            m->timer.cancel();
            m->state = member_state::down;
            ++m->generation;
            if (m->client) {
                m->client->close();
            }
        }
        auto waiting = std::move(waiting_);
        waiting_.clear();
        for (auto& call : waiting) {
            call->reply.what = "the pool was closed";
            finish(call, make_error_code(pool_error::closed));
        }
        auto in_flight = std::move(in_flight_);
        in_flight_.clear();
        for (auto& entry : in_flight) {
            entry.second->reply.what = "the pool was closed";
            finish(entry.second, make_error_code(pool_error::closed));
        }
        fail_catalog_waiters(make_error_code(pool_error::closed));
        auto goodbyes = std::move(goodbye_waiters_);
        goodbye_waiters_.clear();
        for (auto& done : goodbyes) {
            done({});
        }
        publish();
    }

    pool_status status() const {
        pool_status s;
        s.open = open_.load();
        s.opened = opened_.load();
        s.lost = lost_.load();
        s.resent = resent_.load();
        s.waiting = waiting_count_.load();
        s.failed_connects = failed_connects_.load();
        return s;
    }

private:
    /// `draining`: its server refused a call with shutting_down; no new calls, the ones in
    /// flight finish, then the connection is replaced.
    enum class member_state { down, connecting, ready, draining };

    struct member {
        explicit member(const asio::any_io_executor& executor) : timer(executor) {}
        std::unique_ptr<basic_client<any_stream>> client;
        child_process child;
        std::string peer;
        member_state state = member_state::down;
        std::size_t in_flight = 0;
        std::uint64_t generation = 0;
        asio::steady_timer timer;
    };

    // ---- connections ----------------------------------------------------------------------

    void open(std::size_t i) {
        member& m = *members_[i];
        const std::uint64_t generation = ++m.generation;
        m.state = member_state::connecting;
        m.in_flight = 0;
        connect_(executor_, [self = shared_from_this(), i, generation](std::error_code ec,
                                                                       pool_connection c) mutable {
            // The connector may answer inline; continue on the executor, never inside it.
            asio::post(self->executor_, [self, i, generation, ec, c = std::move(c)]() mutable {
                self->on_connected(i, generation, ec, std::move(c));
            });
        });
    }

    void on_connected(std::size_t i, std::uint64_t generation, std::error_code ec,
                      pool_connection c) {
        member& m = *members_[i];
        if (closed_ || generation != m.generation) {
            return;
        }
        if (ec || !c.stream) {
            return connect_failed(i, (c.peer.empty() ? std::string("connect") : c.peer) + ": " +
                                         ec.message());
        }
        m.peer = c.peer;
        m.child = std::move(c.child);
        client_options options = options_.client;
        options.on_close = [self = shared_from_this(), i, generation](std::error_code) {
            self->on_connection_closed(i, generation);
        };
        m.client = std::make_unique<basic_client<any_stream>>(std::move(*c.stream), options);
        m.client->async_handshake([self = shared_from_this(), i, generation](std::error_code ec) {
            self->on_handshake(i, generation, ec);
        });
    }

    void on_handshake(std::size_t i, std::uint64_t generation, std::error_code ec) {
        member& m = *members_[i];
        if (closed_ || generation != m.generation) {
            return;
        }
        if (ec) {
            return connect_failed(i, m.peer + ": the handshake failed: " + ec.message());
        }
        if (const auto& implementation = m.client->server_info().implementation) {
            m.peer += " [" + implementation->name + " " + implementation->version + "]";
        }
        if (catalog_) {
            return ready(i);
        }
        m.client->async_catalog([self = shared_from_this(), i, generation](
                                    std::error_code ec, std::vector<processor_description> list) {
            member& m = *self->members_[i];
            if (self->closed_ || generation != m.generation) {
                return;
            }
            if (ec) {
                return self->connect_failed(i, m.peer + ": the catalog failed: " + ec.message());
            }
            if (!self->catalog_) {
                for (const auto& d : list) {
                    self->idempotent_[d.name] = d.idempotent;
                }
                for (auto& d : m.client->dropped_processors()) { // [CAT-12]
                    if (!d.name.empty() && self->idempotent_.count(d.name) == 0) {
                        self->dropped_[d.name] = std::move(d); // no kept one has its name
                    }
                }
                self->catalog_ = std::move(list);
                auto waiters = std::move(self->catalog_waiters_);
                self->catalog_waiters_.clear();
                for (auto& done : waiters) {
                    done({}, *self->catalog_);
                }
            }
            self->ready(i);
        });
    }

    void ready(std::size_t i) {
        members_[i]->state = member_state::ready;
        reconnect_.connected();
        ++opened_;
        publish();
        dispatch();
    }

    void connect_failed(std::size_t i, std::string what) {
        member& m = *members_[i];
        retire(m);
        ++failed_connects_;
        last_connect_error_ = std::move(what);
        const bool none_open = std::none_of(members_.begin(), members_.end(), [](const auto& x) {
            return x->state == member_state::ready;
        });
        const auto next = reconnect_.failed(none_open);
        if (next.fail_waiting) {
            auto waiting = std::move(waiting_);
            waiting_.clear();
            for (auto& call : waiting) {
                call->reply.what = "no connection could be opened: " + last_connect_error_;
                finish(call, make_error_code(pool_error::no_connection));
            }
            fail_catalog_waiters(make_error_code(pool_error::no_connection));
            maybe_finish_goodbye();
        }
        publish();
        reopen_after(i, next.delay);
    }

    void reopen_after(std::size_t i, std::chrono::milliseconds delay) {
        member& m = *members_[i];
        if (closed_ || saying_goodbye_) {
            return;
        }
        const std::uint64_t generation = m.generation;
        m.timer.expires_after(delay);
        m.timer.async_wait([self = shared_from_this(), i, generation](std::error_code ec) {
            if (!ec && !self->closed_ && generation == self->members_[i]->generation) {
                self->open(i);
            }
        });
    }

    /// Forgets the member's connection (its calls are completed by the client, with its error).
    void retire(member& m) {
        m.state = member_state::down;
        ++m.generation;
        m.in_flight = 0;
        if (m.client) {
            m.client->close();
            // Destroyed later: the client may be inside one of its handlers now.
            asio::post(executor_, [client = std::shared_ptr<basic_client<any_stream>>(
                                       std::move(m.client))] {});
        }
        if (m.child.running()) {
            auto child = std::make_shared<child_process>(std::move(m.child));
            asio::post(executor_, [child] { child->terminate(500); });
        }
    }

    void on_connection_closed(std::size_t i, std::uint64_t generation) {
        member& m = *members_[i];
        if (closed_ || generation != m.generation) {
            return;
        }
        const bool was_ready = m.state == member_state::ready;
        const bool was_draining = m.state == member_state::draining;
        retire(m);
        if (was_draining && !saying_goodbye_) {
            publish();
            return reopen_after(i, std::chrono::milliseconds(0)); // counted as lost already
        }
        if (saying_goodbye_) {
            return; // the server's answer to goodbye ends the connection
        }
        if (was_ready) {
            ++lost_;
            publish();
            if (!saying_goodbye_) {
                reopen_after(i, std::chrono::milliseconds(0));
            }
        } else {
            connect_failed(i, m.peer + ": closed during the handshake");
        }
    }

    // ---- calls ----------------------------------------------------------------------------

    /// What the catalog says; nullopt for a processor it does not list.
    std::optional<bool> idempotent(const std::string& processor) const {
        auto found = idempotent_.find(processor);
        return found == idempotent_.end() ? std::nullopt : std::optional<bool>(found->second);
    }

    /// Calls a ready connection may carry at once: never more than its server admits, so
    /// that a call beyond waits here, where any connection can take it, and not in one
    /// connection's table, where it would be lost with that connection ([LIMIT-13]).
    std::size_t room(const member& m) const {
        return static_cast<std::size_t>(std::min<std::uint64_t>(
            options_.calls_per_connection, m.client->server_info().limits.max_in_flight));
    }

    void dispatch() {
        while (!waiting_.empty() && !closed_) {
            member* best = nullptr;
            std::size_t best_index = 0;
            for (std::size_t i = 0; i < members_.size(); ++i) {
                member& m = *members_[i];
                if (m.state == member_state::ready && m.in_flight < room(m) &&
                    (best == nullptr || m.in_flight < best->in_flight)) {
                    best = &m;
                    best_index = i;
                }
            }
            if (best == nullptr) {
                break;
            }
            auto call = std::move(waiting_.front());
            waiting_.pop_front();
            if (auto dropped = dropped_.find(call->params.processor); dropped != dropped_.end()) {
                // [CAT-12]: the catalog dropped this processor; the call fails here, unsent.
                call->reply.what = "processor " + call->params.processor +
                                   " was dropped from the catalog: " + dropped->second.reason;
                call->reply.error =
                    error_info::from(make_error_code(error::invalid_message), call->reply.what,
                                     value::map{{"processor", call->params.processor},
                                                {"requirement", dropped->second.requirement}});
                finish(call, make_error_code(error::invalid_message));
                continue;
            }
            send(std::move(call), best_index);
        }
        publish();
    }

    void send(std::shared_ptr<pool_call> call, std::size_t i) {
        member& m = *members_[i];
        ++m.in_flight;
        ++call->reply.attempts;
        const std::uint64_t key = next_key_++;
        in_flight_.emplace(key, call);
        invoke_options options;
        if (call->options.deadline) { // after waiting in the pool, or sent again ([LIMIT-13])
            const std::chrono::duration<double> waited =
                std::chrono::steady_clock::now() - call->started;
            options.deadline = remaining_deadline(*call->options.deadline, waited.count());
        }
        if (call->options.on_progress) {
            options.on_progress = [call](const progress_params& p) {
                if (p.fraction >= call->last_fraction) { // a resend starts again from 0
                    call->last_fraction = p.fraction;
                    call->options.on_progress(p);
                }
            };
        }
        const std::uint64_t generation = m.generation;
        m.client->async_invoke(call->params, std::move(options),
                               [self = shared_from_this(), key, i, generation](std::error_code ec,
                                                                               invoke_reply reply) {
                                   self->on_answer(key, i, generation, ec, std::move(reply));
                               });
    }

    static bool connection_level(std::error_code ec) {
        return ec && ec.category() != category() && ec.category() != pool_category();
    }

    void on_answer(std::uint64_t key, std::size_t i, std::uint64_t generation, std::error_code ec,
                   invoke_reply reply) {
        auto found = in_flight_.find(key);
        if (found == in_flight_.end()) {
            return; // the pool was closed and the call answered
        }
        auto call = found->second;
        in_flight_.erase(found);
        member& m = *members_[i];
        const std::string peer = m.peer;
        if (generation == m.generation && m.in_flight > 0) {
            --m.in_flight;
        }
        const call_outcome outcome = ec == error::shutting_down ? call_outcome::shutting_down
                                     : connection_level(ec)     ? call_outcome::lost
                                     : ec                       ? call_outcome::error
                                                                : call_outcome::answered;
        const resend_decision decision = decide_resend(outcome, idempotent(call->params.processor),
                                                       call->reply.attempts, options_.max_retries);
        // A connection to replace is replaced when its client closes (on_closed).
        if (decision.connection == connection_fate::drain && generation == m.generation &&
            m.state == member_state::ready) {
            // No more calls for this connection, but the calls its server still runs finish
            // there; the connection is replaced once they have.
            m.state = member_state::draining;
            ++lost_;
        }
        if (generation == m.generation && m.state == member_state::draining && m.in_flight == 0) {
            retire(m);
            reopen_after(i, std::chrono::milliseconds(0));
        }
        if (decision.action != resend_action::complete) {
            call->reply.lost.push_back(peer);
        }
        switch (decision.action) {
        case resend_action::resend:
            ++resent_;
            waiting_.push_front(std::move(call));
            return dispatch();
        case resend_action::fail: {
            const std::string how = outcome == call_outcome::lost
                                        ? "the connection to " + peer + " was lost (" +
                                              ec.message() + ") while it carried the call"
                                        : peer + " is shutting down and refused the call";
            if (decision.failure == resend_failure::retries_exhausted) {
                call->reply.what = how + "; sent " + std::to_string(call->reply.attempts) +
                                   " times, every connection lost";
                finish(call, make_error_code(pool_error::retries_exhausted));
                return dispatch();
            }
            call->reply.what =
                how + "; " + call->params.processor +
                " is not idempotent, so it was not sent again" +
                (outcome == call_outcome::lost ? ": it may or may not have run" : "");
            call->reply.error = reply.error;
            finish(call, decision.failure == resend_failure::connection_lost
                             ? make_error_code(pool_error::connection_lost)
                             : ec);
            return dispatch();
        }
        case resend_action::complete:
            break;
        }
        static_cast<invoke_reply&>(call->reply) = std::move(reply);
        call->reply.peer = peer;
        if (ec) {
            call->reply.what = call->reply.error ? call->reply.error->message : ec.message();
            call->reply.what += " (" + peer + ")";
        }
        finish(call, ec);
        dispatch();
    }

    void finish(const std::shared_ptr<pool_call>& call, std::error_code ec) {
        if (call->done) {
            auto done = std::move(call->done);
            done(ec, std::move(call->reply));
        }
        maybe_finish_goodbye();
    }

    void fail_catalog_waiters(std::error_code ec) {
        auto waiters = std::move(catalog_waiters_);
        catalog_waiters_.clear();
        for (auto& done : waiters) {
            done(ec, {});
        }
    }

    void maybe_finish_goodbye() {
        if (!saying_goodbye_ || closed_ || !waiting_.empty() || !in_flight_.empty() ||
            goodbye_waiters_.empty() || goodbyes_open_ > 0) {
            return;
        }
        for (auto& m : members_) {
            m->timer.cancel();
            if (m->state != member_state::ready) {
                ++m->generation;
                retire(*m);
                continue;
            }
            ++goodbyes_open_;
            m->client->async_goodbye([self = shared_from_this()](std::error_code) {
                if (--self->goodbyes_open_ == 0) {
                    self->close();
                }
            });
        }
        if (goodbyes_open_ == 0) {
            close();
        }
    }

    void publish() {
        open_ = static_cast<std::size_t>(
            std::count_if(members_.begin(), members_.end(),
                          [](const auto& m) { return m->state == member_state::ready; }));
        waiting_count_ = waiting_.size();
    }

    asio::any_io_executor executor_;
    pool_connector connect_;
    pool_options options_;
    bool started_ = false;
    bool closed_ = false;
    bool saying_goodbye_ = false;
    std::size_t goodbyes_open_ = 0;
    std::vector<std::unique_ptr<member>> members_;
    std::deque<std::shared_ptr<pool_call>> waiting_;
    std::map<std::uint64_t, std::shared_ptr<pool_call>> in_flight_;
    std::uint64_t next_key_ = 0;
    std::optional<std::vector<processor_description>> catalog_;
    std::map<std::string, bool> idempotent_;
    std::map<std::string, dropped_description> dropped_;
    std::vector<completion<void(std::error_code, std::vector<processor_description>)>>
        catalog_waiters_;
    std::vector<completion<void(std::error_code)>> goodbye_waiters_;
    reconnect_schedule reconnect_;
    std::string last_connect_error_;
    std::atomic<std::size_t> open_{0};
    std::atomic<std::size_t> opened_{0};
    std::atomic<std::size_t> lost_{0};
    std::atomic<std::size_t> resent_{0};
    std::atomic<std::size_t> waiting_count_{0};
    std::atomic<std::size_t> failed_connects_{0};
};

} // namespace detail

inline client_pool::client_pool(executor_type executor, pool_connector connect,
                                pool_options options)
    : impl_(std::make_shared<detail::pool_impl>(std::move(executor), std::move(connect),
                                                std::move(options))) {}

inline client_pool::~client_pool() {
    if (impl_) {
        asio::post(impl_->executor(), [impl = impl_] { impl->close(); });
    }
}

inline client_pool::executor_type client_pool::get_executor() const {
    return impl_->executor();
}

inline void client_pool::start() {
    asio::post(impl_->executor(), [impl = impl_] { impl->start(); });
}

inline void client_pool::close() {
    asio::post(impl_->executor(), [impl = impl_] { impl->close(); });
}

inline pool_status client_pool::status() const {
    return impl_->status();
}

template <class CompletionToken>
auto client_pool::async_catalog(CompletionToken&& token) {
    return asio::async_initiate<CompletionToken,
                                void(std::error_code, std::vector<processor_description>)>(
        [impl = impl_](auto handler) {
            auto done = detail::make_completion<decltype(handler), asio::any_io_executor,
                                                std::vector<processor_description>>(
                std::move(handler), impl->executor());
            asio::post(impl->executor(), [impl, done = std::move(done)]() mutable {
                impl->catalog(std::move(done));
            });
        },
        token);
}

template <class CompletionToken>
auto client_pool::async_invoke(invoke_params params, invoke_options options,
                               CompletionToken&& token) {
    return asio::async_initiate<CompletionToken, void(std::error_code, pooled_reply)>(
        [impl = impl_](auto handler, invoke_params p, invoke_options o) {
            auto call = std::make_shared<detail::pool_call>();
            call->params = std::move(p);
            call->options = std::move(o);
            call->done =
                detail::make_completion<decltype(handler), asio::any_io_executor, pooled_reply>(
                    std::move(handler), impl->executor());
            asio::post(impl->executor(), [impl, call] { impl->invoke(call); });
        },
        token, std::move(params), std::move(options));
}

template <class CompletionToken>
auto client_pool::async_goodbye(CompletionToken&& token) {
    return asio::async_initiate<CompletionToken, void(std::error_code)>(
        [impl = impl_](auto handler) {
            auto done = detail::make_completion<decltype(handler), asio::any_io_executor>(
                std::move(handler), impl->executor());
            asio::post(impl->executor(), [impl, done = std::move(done)]() mutable {
                impl->goodbye(std::move(done));
            });
        },
        token);
}

} // namespace slicerbridge

#endif
