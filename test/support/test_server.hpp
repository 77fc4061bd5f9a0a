#ifndef SLICERBRIDGE_TEST_SUPPORT_TEST_SERVER_HPP
#define SLICERBRIDGE_TEST_SUPPORT_TEST_SERVER_HPP

// A server on loopback with processors made for testing the transport: echo (each input back as
// `<name>_out`, the conformance suite's convention), slow (progress,
// cooperative cancel), stubborn (ignores cancel), fail (processor error), throw (std exception),
// and watch (records that its call was cancelled, for dropped-connection tests).

#include <slicerbridge/server.hpp>

#include <asio/io_context.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <thread>

namespace test_support {

namespace sb = slicerbridge;

inline sb::slot data_slot(std::string name, sb::slot_type type, bool optional = true) {
    sb::slot s;
    s.name = std::move(name);
    s.type = type;
    s.label = s.name;
    s.optional = optional;
    return s;
}

inline sb::slot number_slot(std::string name, sb::slot_type type, sb::parameter_value fallback,
                            std::optional<double> minimum = {}, std::optional<double> maximum = {}) {
    sb::slot s;
    s.name = std::move(name);
    s.type = type;
    s.label = s.name;
    s.default_value = std::move(fallback);
    s.minimum = minimum;
    s.maximum = maximum;
    return s;
}

inline sb::processor_description describe(std::string name) {
    sb::processor_description d;
    d.name = std::move(name);
    d.version = "1.0";
    d.title = d.name;
    d.description = "test processor";
    d.category = "Testing";
    return d;
}

inline double parameter_double(const sb::invoke_params& params, std::string_view name) {
    const auto* p = params.parameter(name);
    if (const auto* d = p ? p->get_if<double>() : nullptr) {
        return *d;
    }
    const auto* i = p ? p->get_if<std::int64_t>() : nullptr;
    return i ? static_cast<double>(*i) : 0.0;
}

inline std::int64_t parameter_int(const sb::invoke_params& params, std::string_view name) {
    const auto* p = params.parameter(name);
    const auto* i = p ? p->get_if<std::int64_t>() : nullptr;
    return i ? *i : 0;
}

struct watch_record {
    std::atomic<bool> started{false};
    std::atomic<bool> saw_cancel{false};
};

/// Slow work in `steps` slices of `seconds / steps`, reporting progress and checking cancel.
inline sb::invoke_result run_slow(sb::call_context& ctx, double seconds, std::int64_t steps,
                                  bool honour_cancel) {
    auto slice = std::chrono::duration<double>(seconds / static_cast<double>(steps));
    for (std::int64_t i = 0; i < steps; ++i) {
        if (honour_cancel) {
            ctx.throw_if_cancelled();
        }
        std::this_thread::sleep_for(slice);
        ctx.report_progress(static_cast<double>(i + 1) / static_cast<double>(steps), "working");
    }
    return {};
}

inline void add_test_processors(sb::server& server, std::shared_ptr<watch_record> watch) {
    using sb::slot_type;
    {
        auto d = describe("echo");
        for (auto [name, type] : {std::pair{"image", slot_type::image},
                                  std::pair{"mesh", slot_type::mesh},
                                  std::pair{"transform", slot_type::transform},
                                  std::pair{"points", slot_type::points},
                                  std::pair{"table", slot_type::table}}) {
            d.inputs.push_back(data_slot(name, type));
            d.outputs.push_back(data_slot(std::string(name) + "_out", type));
        }
        server.add({d, [](sb::call_context&, const sb::invoke_params& params) {
                        sb::invoke_result result;
                        for (const auto& [name, data] : params.inputs) {
                            result.outputs.emplace_back(name + "_out", data);
                        }
                        return result;
                    }});
    }
    {
        auto d = describe("slow");
        d.parameters.push_back(number_slot("seconds", slot_type::floating, 1.0, 0.0, 60.0));
        d.parameters.push_back(number_slot("steps", slot_type::integer, 10, 1.0, 10000.0));
        server.add({d, [](sb::call_context& ctx, const sb::invoke_params& params) {
                        return run_slow(ctx, parameter_double(params, "seconds"),
                                        parameter_int(params, "steps"), true);
                    }});
        d.name = "stubborn";
        server.add({d, [](sb::call_context& ctx, const sb::invoke_params& params) {
                        return run_slow(ctx, parameter_double(params, "seconds"),
                                        parameter_int(params, "steps"), false);
                    }});
    }
    {
        auto d = describe("fail");
        d.parameters.push_back(number_slot("code", slot_type::integer, 1000, 1000.0, 65535.0));
        server.add({d, [](sb::call_context&, const sb::invoke_params& params) -> sb::invoke_result {
                        throw sb::processor_error(static_cast<int>(parameter_int(params, "code")),
                                                  "failed on purpose");
                    }});
        d = describe("throw");
        server.add({d, [](sb::call_context&, const sb::invoke_params&) -> sb::invoke_result {
                        throw std::runtime_error("unexpected failure");
                    }});
        d = describe("bad_output");
        d.outputs.push_back(data_slot("image", slot_type::image, false));
        server.add({d, [](sb::call_context&, const sb::invoke_params&) {
                        return sb::invoke_result{}; // misses its required output
                    }});
    }
    {
        auto d = describe("watch");
        server.add({d, [watch](sb::call_context& ctx, const sb::invoke_params&) {
                        watch->started = true;
                        auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
                        while (!ctx.cancelled() && std::chrono::steady_clock::now() < until) {
                            std::this_thread::sleep_for(std::chrono::milliseconds(5));
                        }
                        watch->saw_cancel = ctx.cancelled();
                        return sb::invoke_result{};
                    }});
    }
}

/// A server with the test processors on 127.0.0.1, run by its own I/O thread.
class test_server {
public:
    /// `more` registers further processors before the server listens; `concurrency_hint` is the
    /// io_context's (1: made for its one thread).
    explicit test_server(sb::server_options options = {},
                         const std::function<void(sb::server&)>& more = {},
                         int concurrency_hint = ASIO_CONCURRENCY_HINT_DEFAULT)
        : io_(concurrency_hint) {
        options.workers = std::max<std::size_t>(options.workers, 4);
        server_ = std::make_unique<sb::server>(io_.get_executor(), std::move(options));
        add_test_processors(*server_, watch_);
        if (more) {
            more(*server_);
        }
        endpoint_ = server_->listen({asio::ip::make_address("127.0.0.1"), 0});
        thread_ = std::thread([this] { io_.run(); });
    }
    ~test_server() {
        auto closed = std::make_shared<std::promise<void>>();
        server_->shutdown(std::chrono::milliseconds(0), [closed] { closed->set_value(); });
        closed->get_future().wait_for(std::chrono::seconds(5));
        work_.reset();
        io_.stop();
        thread_.join();
        server_.reset();
    }

    std::string address() const { return "127.0.0.1:" + std::to_string(endpoint_.port()); }
    unsigned short port() const { return endpoint_.port(); }
    sb::server& server() { return *server_; }
    asio::io_context& io() { return io_; }
    watch_record& watch() { return *watch_; }

private:
    asio::io_context io_;
    asio::executor_work_guard<asio::io_context::executor_type> work_{io_.get_executor()};
    std::shared_ptr<watch_record> watch_ = std::make_shared<watch_record>();
    std::unique_ptr<sb::server> server_;
    asio::ip::tcp::endpoint endpoint_;
    std::thread thread_;
};

/// Polls `condition` for up to `limit`; true if it became true. Bounded, never a timing check.
template <class Condition>
bool eventually(Condition condition, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
    auto until = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < until) {
        if (condition()) {
            return true;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return condition();
}

} // namespace test_support

#endif
