// client_pool: calls spread over connections, a lost connection replaced, calls to idempotent
// processors resent on another connection (section 6.8, [CAT-8]), others failing with
// pool_error::connection_lost. Servers are in-process on loopback; a server is "lost" by shutting
// down the client's end of the sockets connected to it (the pool sees the connection end, the
// server sees a dropped connection). Every wait is bounded; nothing asserts how long anything took.

#include <slicerbridge/client/pool.hpp>
#include <slicerbridge/sync_pool.hpp>

#include "support/scripted_server.hpp"
#include "support/test_server.hpp"

#include <doctest/doctest.h>

#include <asio/detail/socket_ops.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>

#include <algorithm>
#include <condition_variable>
#include <future>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace sb = slicerbridge;
using namespace std::chrono_literals;
using test_support::eventually;
using test_support::test_server;

namespace {

constexpr auto wait_limit = std::chrono::seconds(20);

/// Shared by the processors of every server of a test: counts calls, and holds them while
/// `hold` is set until `release`.
struct counted {
    std::mutex mutex;
    std::condition_variable changed;
    int doubles = 0;
    int appends = 0;
    int entered = 0;
    std::vector<std::optional<double>> deadlines; // of `append` calls, as they arrived
    bool hold = false;
    bool released = false;

    void enter(int& counter) {
        std::unique_lock<std::mutex> lock(mutex);
        ++counter;
        ++entered;
        changed.notify_all();
        if (hold) {
            changed.wait_for(lock, wait_limit, [this] { return released; });
        }
    }
    bool wait_entered(int count) {
        std::unique_lock<std::mutex> lock(mutex);
        return changed.wait_for(lock, wait_limit, [&] { return entered >= count; });
    }
    void release() {
        std::lock_guard<std::mutex> lock(mutex);
        released = true;
        changed.notify_all();
    }
    int calls(const int& counter) {
        std::lock_guard<std::mutex> lock(mutex);
        return counter;
    }
};

sb::slot scalar_output(std::string name, sb::slot_type type) {
    sb::slot s;
    s.name = std::move(name);
    s.type = type;
    s.label = s.name;
    return s;
}

/// `double` (idempotent: twice `value`; progress 0.5 on the test's first call, 0.25 on the
/// others) and `append` (not idempotent).
void add_counted(sb::server& server, const std::shared_ptr<counted>& shared) {
    auto d = test_support::describe("double");
    d.idempotent = true;
    d.parameters.push_back(test_support::number_slot("value", sb::slot_type::floating, 0.0));
    d.outputs.push_back(scalar_output("doubled", sb::slot_type::floating));
    server.add({d, [shared](sb::call_context& ctx, const sb::invoke_params& params) {
                    // Once per call: 0.5 on the first call of the test, 0.25 on later ones.
                    ctx.report_progress(shared->calls(shared->doubles) == 0 ? 0.5 : 0.25, "");
                    shared->enter(shared->doubles);
                    sb::invoke_result result;
                    result.scalars.emplace_back(
                        "doubled", 2.0 * test_support::parameter_double(params, "value"));
                    return result;
                }});
    d = test_support::describe("append");
    d.parameters.push_back(test_support::number_slot("value", sb::slot_type::floating, 0.0));
    d.outputs.push_back(scalar_output("count", sb::slot_type::integer));
    server.add({d, [shared](sb::call_context&, const sb::invoke_params& params) {
                    {
                        std::lock_guard<std::mutex> lock(shared->mutex);
                        shared->deadlines.push_back(params.deadline);
                    }
                    shared->enter(shared->appends);
                    sb::invoke_result result;
                    result.scalars.emplace_back("count", std::int64_t{1});
                    return result;
                }});
}

struct outcome {
    std::error_code ec;
    sb::pooled_reply reply;
};

/// A server admitting one call at a time, and a pool that would give its one connection two:
/// the second call waits in the pool ([LIMIT-13]).
sb::server_options one_call_at_a_time() {
    sb::server_options options;
    options.receive_limits.max_in_flight = 1;
    return options;
}
sb::pool_options one_connection_for_two_calls() {
    sb::pool_options options;
    options.connections = 1;
    options.calls_per_connection = 2;
    return options;
}

/// `n` servers sharing one `counted`; a pool whose connector goes to them in turn, as a balancer
/// would, and remembers each socket so that a test can cut the connections to one server.
class cluster {
public:
    explicit cluster(std::size_t n, const sb::server_options& options = {}) {
        for (std::size_t i = 0; i < n; ++i) {
            servers.push_back(std::make_unique<test_server>(
                options, [this](sb::server& s) { add_counted(s, shared); }));
        }
        thread_ = std::thread([this] { io_.run(); });
    }
    ~cluster() { stop(); }
    cluster(const cluster&) = delete;
    cluster& operator=(const cluster&) = delete;

    sb::client_pool& start_pool(sb::pool_options options) {
        options.reconnect_delay = 10ms;
        pool = std::make_unique<sb::client_pool>(io_.get_executor(), connector(), options);
        pool->start();
        return *pool;
    }

    /// Resets every connection the pool opened to server `index`.
    void cut(std::size_t index) {
        std::lock_guard<std::mutex> lock(mutex_);
        for (auto it = sockets_.begin(); it != sockets_.end();) {
            if (it->first == index) {
                std::error_code ignored; // Asio's portable shutdown(2) / Winsock shutdown
                asio::detail::socket_ops::shutdown(it->second, asio::socket_base::shutdown_both,
                                                   ignored);
                it = sockets_.erase(it);
            } else {
                ++it;
            }
        }
    }

    std::future<outcome> invoke(const std::string& processor, double value,
                                std::optional<double> deadline = std::nullopt) {
        auto promise = std::make_shared<std::promise<outcome>>();
        auto future = promise->get_future();
        sb::invoke_params params;
        params.processor = processor;
        params.parameters = {{"value", sb::parameter_value(value)}};
        sb::invoke_options options;
        options.deadline = deadline;
        options.on_progress = [this](const sb::progress_params& p) {
            progress.push_back(p.fraction); // on the pool's executor, read after the answer
            if (p.fraction == 0.5) {
                halfway = true;
            }
        };
        pool->async_invoke(std::move(params), std::move(options),
                           [this, promise](std::error_code ec, sb::pooled_reply reply) {
                               ++answers;
                               promise->set_value({ec, std::move(reply)});
                           });
        return future;
    }

    static outcome get(std::future<outcome>& future) {
        REQUIRE(future.wait_for(wait_limit) == std::future_status::ready);
        return future.get();
    }

    /// Closes the pool and ends its thread; answers counted so far are final afterwards.
    void stop() {
        if (!thread_.joinable()) {
            return;
        }
        shared->release();
        if (pool) {
            pool->close();
            pool.reset();
        }
        work_.reset();
        auto ended = std::async(std::launch::async, [this] { thread_.join(); });
        if (ended.wait_for(wait_limit) != std::future_status::ready) {
            io_.stop();
        }
        ended.wait();
    }

    std::shared_ptr<counted> shared = std::make_shared<counted>();
    std::vector<std::unique_ptr<test_server>> servers;
    std::unique_ptr<sb::client_pool> pool;
    std::vector<double> progress;
    std::atomic<int> answers{0};
    std::atomic<bool> halfway{false};

private:
    sb::pool_connector connector() {
        return
            [this](const asio::any_io_executor& executor,
                   sb::detail::unique_function<void(std::error_code, sb::pool_connection)> done) {
                const std::size_t index = turn_++ % servers.size();
                asio::ip::tcp::socket socket(executor);
                std::error_code ec;
                socket.connect({asio::ip::make_address("127.0.0.1"), servers[index]->port()}, ec);
                sb::pool_connection c;
                c.peer = servers[index]->address();
                if (!ec) {
                    std::lock_guard<std::mutex> lock(mutex_);
                    sockets_.emplace_back(index, socket.native_handle());
                    c.stream.emplace(std::move(socket));
                }
                done(ec, std::move(c));
            };
    }

    asio::io_context io_;
    asio::executor_work_guard<asio::io_context::executor_type> work_{io_.get_executor()};
    std::thread thread_;
    std::mutex mutex_;
    std::vector<std::pair<std::size_t, asio::ip::tcp::socket::native_handle_type>> sockets_;
    std::size_t turn_ = 0;
};

double doubled(const outcome& o) {
    const auto* v = o.reply.result.scalar("doubled");
    const auto* d = v != nullptr ? v->get_if<double>() : nullptr;
    return d != nullptr ? *d : -1.0;
}

bool mentions(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

} // namespace

TEST_CASE("client_pool spreads calls over its connections, one call per connection") {
    cluster c(3);
    c.shared->hold = true;
    sb::pool_options options;
    options.connections = 3;
    auto& pool = c.start_pool(options);
    std::vector<std::future<outcome>> calls;
    for (double v : {1.0, 2.0, 3.0}) {
        calls.push_back(c.invoke("double", v));
    }
    // Three calls held at once with one call per connection: three connections carry them.
    REQUIRE(c.shared->wait_entered(3));
    c.shared->release();
    std::multiset<double> results;
    std::set<std::string> peers;
    for (auto& f : calls) {
        auto o = cluster::get(f);
        CHECK_FALSE(o.ec);
        CHECK(o.reply.attempts == 1);
        results.insert(doubled(o));
        peers.insert(o.reply.peer);
    }
    CHECK(results == std::multiset<double>{2.0, 4.0, 6.0});
    CHECK(peers.size() == 3); // the connector gave each connection its own server
    CHECK(pool.status().opened == 3);
    CHECK(pool.status().resent == 0);
}

TEST_CASE("client_pool replaces a connection lost while idle, the next call is not affected") {
    cluster c(1);
    sb::pool_options options;
    options.connections = 1;
    auto& pool = c.start_pool(options);
    auto first = c.invoke("append", 1.0);
    CHECK_FALSE(cluster::get(first).ec);
    c.cut(0);
    REQUIRE(eventually([&] { return pool.status().lost == 1 && pool.status().open == 1; }));
    auto second = c.invoke("append", 2.0);
    auto o = cluster::get(second);
    CHECK_FALSE(o.ec);
    CHECK(o.reply.attempts == 1);
    CHECK(o.reply.lost.empty());
    CHECK(pool.status().opened == 2);
    CHECK(c.shared->calls(c.shared->appends) == 2);
}

TEST_CASE("client_pool resends an idempotent call whose server is lost mid-call: one answer, "
          "correct, on another connection [RESEND-1] [RESEND-2] [RESEND-4] [CAT-8]") {
    cluster c(2);
    c.shared->hold = true;
    sb::pool_options options;
    options.connections = 1;
    options.max_retries = 2;
    auto& pool = c.start_pool(options);
    auto call = c.invoke("double", 21.0);
    REQUIRE(c.shared->wait_entered(1));                    // on server 0
    REQUIRE(eventually([&] { return c.halfway.load(); })); // its progress reached the caller
    c.cut(0);
    REQUIRE(c.shared->wait_entered(2)); // sent again, to server 1
    c.shared->release();
    auto o = cluster::get(call);
    CHECK_FALSE(o.ec);
    CHECK(doubled(o) == 42.0);
    CHECK(o.reply.attempts == 2);
    REQUIRE(o.reply.lost.size() == 1);
    CHECK(mentions(o.reply.lost[0], c.servers[0]->address()));
    CHECK(mentions(o.reply.peer, c.servers[1]->address()));
    CHECK(pool.status().resent == 1);
    CHECK(c.shared->calls(c.shared->doubles) == 2);
    c.stop();
    CHECK(c.answers == 1);
    // Server 1 reports 0.25, below what the caller saw: dropped.
    CAPTURE(c.progress.size());
    CHECK(c.progress == std::vector<double>{0.5});
}

TEST_CASE("client_pool fails a non-idempotent call whose server is lost with connection_lost "
          "naming it, and does not send it again [RESEND-5] [CAT-8]") {
    cluster c(2);
    c.shared->hold = true;
    sb::pool_options options;
    options.connections = 1;
    auto& pool = c.start_pool(options);
    auto call = c.invoke("append", 1.0);
    REQUIRE(c.shared->wait_entered(1));
    c.cut(0);
    auto o = cluster::get(call);
    CHECK(o.ec == sb::pool_error::connection_lost);
    CHECK(mentions(o.reply.what, c.servers[0]->address()));
    CHECK(mentions(o.reply.what, "not idempotent"));
    CHECK(o.reply.attempts == 1);
    REQUIRE(o.reply.lost.size() == 1);
    CHECK(mentions(o.reply.lost[0], c.servers[0]->address()));
    // A later call goes through: a resend, had one been queued, would have gone before it.
    c.shared->release();
    auto later = c.invoke("double", 1.0);
    CHECK_FALSE(cluster::get(later).ec);
    CHECK(c.shared->calls(c.shared->appends) == 1);
    CHECK(pool.status().resent == 0);
    c.stop();
    CHECK(c.answers == 2);
}

TEST_CASE("client_pool gives a connection no more calls than its server's max_in_flight: the "
          "next waits in the pool and survives the loss of that connection [LIMIT-13]") {
    cluster c(1, one_call_at_a_time());
    c.shared->hold = true;
    auto& pool = c.start_pool(one_connection_for_two_calls());
    auto running = c.invoke("append", 1.0);
    REQUIRE(c.shared->wait_entered(1));
    auto next = c.invoke("append", 2.0); // not idempotent: it must not be lost with `running`
    REQUIRE(eventually([&] { return pool.status().waiting == 1; }));
    {
        std::lock_guard<std::mutex> lock(c.shared->mutex);
        c.shared->hold = false;
    }
    c.cut(0);
    CHECK(cluster::get(running).ec == sb::pool_error::connection_lost);
    c.shared->release(); // the worker `running` held
    auto o = cluster::get(next);
    CHECK_FALSE(o.ec);
    CHECK(o.reply.attempts == 1);
    CHECK(o.reply.lost.empty());
    c.stop();
    CHECK(c.answers == 2);
}

TEST_CASE("client_pool sends a call that waited in it with what remains of its deadline "
          "[LIMIT-13]") {
    cluster c(1, one_call_at_a_time());
    c.shared->hold = true;
    auto& pool = c.start_pool(one_connection_for_two_calls());
    const auto started = std::chrono::steady_clock::now();
    auto running = c.invoke("append", 1.0, 30.0);
    REQUIRE(c.shared->wait_entered(1));
    auto waiting = c.invoke("append", 2.0, 10.0);
    REQUIRE(eventually([&] { return pool.status().waiting == 1; }));
    constexpr auto waited_at_least = 300ms;
    std::this_thread::sleep_for(waited_at_least);
    {
        std::lock_guard<std::mutex> lock(c.shared->mutex);
        c.shared->hold = false;
    }
    c.shared->release();
    for (auto* call : {&running, &waiting}) {
        CHECK_FALSE(cluster::get(*call).ec);
    }
    const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - started;
    c.stop();
    std::lock_guard<std::mutex> lock(c.shared->mutex);
    const auto& deadlines = c.shared->deadlines;
    REQUIRE(deadlines.size() == 2);
    REQUIRE(deadlines[0].has_value());
    CHECK(*deadlines[0] <= 30.0);
    CHECK(*deadlines[0] >= 30.0 - elapsed.count());
    REQUIRE(deadlines[1].has_value());
    CHECK(*deadlines[1] <= 10.0 - std::chrono::duration<double>(waited_at_least).count());
    CHECK(*deadlines[1] >= 10.0 - elapsed.count());
}

TEST_CASE("client_pool sends an idempotent call at most max_retries + 1 times [RESEND-3]") {
    cluster c(1);
    c.shared->hold = true;
    sb::pool_options options;
    options.connections = 1;
    options.max_retries = 2;
    auto& pool = c.start_pool(options);
    auto call = c.invoke("double", 1.0);
    for (int sent = 1; sent <= 3; ++sent) {
        REQUIRE(c.shared->wait_entered(sent));
        c.cut(0);
    }
    auto o = cluster::get(call);
    CHECK(o.ec == sb::pool_error::retries_exhausted);
    CHECK(o.reply.attempts == 3);
    CHECK(o.reply.lost.size() == 3);
    CHECK(pool.status().resent == 2);
    CHECK(c.shared->calls(c.shared->doubles) == 3);
    c.stop();
    CHECK(c.answers == 1);
}

TEST_CASE("client_pool and a server shutting down: an idempotent call is resent elsewhere, "
          "another fails with shutting_down [RESEND-1] [RESEND-5]") {
    for (const bool idempotent : {true, false}) {
        CAPTURE(idempotent);
        cluster c(2);
        c.shared->hold = true;
        sb::pool_options options;
        options.connections = 1;
        auto& pool = c.start_pool(options);
        auto call = c.invoke(idempotent ? "double" : "append", 5.0);
        REQUIRE(c.shared->wait_entered(1));
        // No grace: the server answers its open call shutting_down, then closes.
        c.servers[0]->server().shutdown(0ms);
        if (idempotent) {
            REQUIRE(c.shared->wait_entered(2));
            c.shared->release();
            auto o = cluster::get(call);
            CHECK_FALSE(o.ec);
            CHECK(doubled(o) == 10.0);
            CHECK(o.reply.attempts == 2);
            CHECK(mentions(o.reply.peer, c.servers[1]->address()));
            CHECK(pool.status().resent == 1);
        } else {
            auto o = cluster::get(call);
            CHECK(o.ec == sb::error::shutting_down);
            CHECK(mentions(o.reply.what, c.servers[0]->address()));
            CHECK(mentions(o.reply.what, "not idempotent"));
            CHECK(pool.status().resent == 0);
            CHECK(c.shared->calls(c.shared->appends) == 1);
        }
        c.stop();
        CHECK(c.answers == 1);
    }
}

TEST_CASE("client_pool: a call refused by a draining server does not end the calls still running "
          "on that connection [RESEND-1]") {
    cluster c(2);
    c.shared->hold = true;
    sb::pool_options options;
    options.connections = 1;
    options.calls_per_connection = 2;
    auto& pool = c.start_pool(options);
    auto running = c.invoke("append", 1.0);
    REQUIRE(c.shared->wait_entered(1)); // on server 0
    // Server 0 drains: it lets its open call finish, and refuses new ones with shutting_down.
    c.servers[0]->server().shutdown(std::chrono::milliseconds(wait_limit));
    auto refused = c.invoke("double", 3.0);
    // The refused call waits for another connection; releasing lets the first call finish.
    REQUIRE(eventually([&] { return pool.status().lost == 1; }));
    c.shared->release();
    auto first = cluster::get(running);
    CHECK_FALSE(first.ec);
    CHECK(mentions(first.reply.peer, c.servers[0]->address()));
    auto second = cluster::get(refused);
    CHECK_FALSE(second.ec);
    CHECK(doubled(second) == 6.0);
    CHECK(second.reply.attempts == 2);
    CHECK(mentions(second.reply.peer, c.servers[1]->address()));
    CHECK(c.shared->calls(c.shared->appends) == 1);
    c.stop();
    CHECK(c.answers == 2);
}

TEST_CASE("client_pool fails a call to a processor its catalog dropped without sending it, and "
          "serves the others [CAT-12]") {
    // A scripted server whose catalog holds a valid processor and one with a parameter of a data
    // type ([CAT-5]).
    const sb::value good = sb::value::map{{"name", "good"},
                                          {"inputs", sb::value::array{}},
                                          {"outputs", sb::value::array{}},
                                          {"parameters", sb::value::array{}}};
    const sb::value bad = sb::value::map{
        {"name", "bad"},
        {"inputs", sb::value::array{}},
        {"outputs", sb::value::array{}},
        {"parameters", sb::value::array{sb::value::map{{"name", "p"}, {"type", "mesh"}}}}};
    std::vector<std::string> received; // "method processor" for each request, in order
    test_support::scripted_server server(sb::server_hello{}, [&](test_support::raw_peer& peer) {
        for (int i = 0; i < 3; ++i) { // catalog, the invoke of good, goodbye
            const auto head = peer.read_head();
            if (!head || head->find("method") == nullptr || head->find("id") == nullptr) {
                return;
            }
            const std::string method = head->find("method")->as_string();
            const sb::value* params = head->find("params");
            const sb::value* processor = params != nullptr ? params->find("processor") : nullptr;
            received.push_back(method + (processor != nullptr ? " " + processor->as_string() : ""));
            sb::value result = sb::value::map{};
            if (method == "catalog") {
                result = sb::value::map{{"processors", sb::value::array{good, bad}}};
            } else if (method == "invoke") {
                result = sb::value::map{{"outputs", sb::value::map{}}};
            }
            peer.write_head(sb::value::map{
                {"kind", "response"}, {"id", *head->find("id")}, {"result", result}});
        }
    });
    {
        sb::pool_connector connect =
            [port = server.port()](
                const asio::any_io_executor& executor,
                sb::detail::unique_function<void(std::error_code, sb::pool_connection)> done) {
                asio::ip::tcp::socket socket(executor);
                std::error_code ec;
                socket.connect({asio::ip::make_address("127.0.0.1"), port}, ec);
                sb::pool_connection c;
                c.peer = "scripted";
                if (!ec) {
                    c.stream.emplace(std::move(socket));
                }
                done(ec, std::move(c));
            };
        sb::pool_options options;
        options.connections = 1;
        sb::sync_pool pool(std::move(connect), options);
        const auto catalog = pool.catalog();
        REQUIRE(catalog.size() == 1);
        CHECK(catalog[0].name == "good");
        sb::invoke_params call;
        call.processor = "bad";
        std::error_code ec;
        auto reply = pool.invoke(call, {}, ec);
        CHECK(ec == sb::error::invalid_message);
        REQUIRE(reply.error);
        CHECK(mentions(reply.error->message, "[CAT-5]"));
        CHECK(reply.attempts == 0);
        call.processor = "good";
        reply = pool.invoke(call, {}, ec);
        CHECK_FALSE(ec);
        pool.goodbye();
    }
    server.join();
    CHECK(received == std::vector<std::string>{"catalog", "invoke good", "goodbye"});
}
