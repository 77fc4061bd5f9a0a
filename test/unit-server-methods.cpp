// What the server does with each method (handle_request) and with what a processor does
// (run_processor), without a socket or a thread of the server's own.
#include <slicerbridge/server/methods.hpp>
#include <slicerbridge/server/run_processor.hpp>

#include <slicerbridge/description_builder.hpp>

#include <asio/io_context.hpp>

#include <doctest/doctest.h>

#include <new>
#include <stdexcept>
#include <string>
#include <vector>

namespace sb = slicerbridge;
namespace sbd = slicerbridge::detail;

namespace {

sb::processor methods_counting_processor() {
    sb::processor proc;
    proc.description = sb::description_builder("count")
                           .parameter("n", 3)
                           .output("total", sb::slot_type::integer)
                           .build();
    proc.run = [](sb::call_context&, const sb::invoke_params& params) {
        sb::invoke_result result;
        result.scalars.emplace_back("total", *params.parameter_as<std::int64_t>("n"));
        return result;
    };
    return proc;
}

struct methods_fixture {
    methods_fixture(std::size_t max_pending = 16)
        : state(io.get_executor(), options_for(max_pending)) {
        auto proc = methods_counting_processor();
        state.processors.emplace(
            "count", sbd::registered_processor{proc, sb::processor_execution::worker_pool});
        state.catalog_value = sb::value(sb::value::map{{"processors", sb::value("1.1")}});
        state.catalog_value_1_0 = sb::value(sb::value::map{{"processors", sb::value("1.0")}});
    }

    static sb::server_options options_for(std::size_t max_pending) {
        sb::server_options options;
        options.workers = 1;
        options.max_pending_calls = max_pending;
        return options;
    }

    sbd::request_outcome handle(std::string method, sb::value params = sb::value(sb::value::map{}),
                                sb::protocol_version version = sb::protocol_max,
                                std::size_t open_calls = 0, std::size_t unsent = 0) {
        sb::request req;
        req.id = 7;
        req.method = std::move(method);
        req.params = std::move(params);
        sbd::request_outcome out;
        sbd::handle_request(req, state, version, open_calls, unsent, out, recent);
        return out;
    }

    asio::io_context io;
    sbd::server_state state;
    /// The connection's processor called last: kept from one request to the next, as a session
    /// keeps it.
    const sbd::registered_processor* recent = nullptr;
};

sb::value methods_invoke_of(std::string processor, std::int64_t n) {
    sb::invoke_params params;
    params.processor = std::move(processor);
    params.parameters.emplace_back("n", sb::parameter_value(n));
    return sb::to_value(params);
}

const sb::response& methods_reply(const sbd::request_outcome& out) {
    REQUIRE(out.action == sbd::request_action::answer);
    const auto* reply = std::get_if<sb::response>(&out.reply);
    REQUIRE(reply != nullptr);
    REQUIRE(reply->id == std::optional<std::uint64_t>(7));
    return *reply;
}

int methods_error_code(const sbd::request_outcome& out) {
    const auto& reply = methods_reply(out);
    REQUIRE(reply.error.has_value());
    return reply.error->code;
}

} // namespace

TEST_CASE("ping, catalog and an unknown method are answered at once [MSG-1] [VER-4]") {
    methods_fixture f;
    CHECK(methods_reply(f.handle("ping")).result == sb::value(sb::value::map{}));
    CHECK(methods_reply(f.handle("catalog")).result == f.state.catalog_value);
    CHECK(methods_reply(f.handle("catalog", sb::value(sb::value::map{}), {1, 0})).result ==
          f.state.catalog_value_1_0);
    CHECK(methods_error_code(f.handle("shutdown")) ==
          static_cast<int>(sb::error::method_not_found));
    CHECK(f.handle("goodbye").action == sbd::request_action::goodbye);
}

TEST_CASE("describe answers the description, or unknown_processor with the name [MSG-13]") {
    methods_fixture f;
    auto described = methods_reply(
        f.handle("describe", sb::value(sb::value::map{{"processor", sb::value("count")}})));
    CHECK(described.result.find("name") != nullptr);
    auto unknown =
        f.handle("describe", sb::value(sb::value::map{{"processor", sb::value("cuont")}}));
    CHECK(methods_error_code(unknown) == static_cast<int>(sb::error::unknown_processor));
    const auto& error = *methods_reply(unknown).error;
    CHECK(error.message.find("count") != std::string::npos); // did you mean
    CHECK(error.details == sb::value(sb::value::map{{"processor", sb::value("cuont")}}));
    CHECK(methods_error_code(f.handle("describe", sb::value(sb::value::map{}))) ==
          static_cast<int>(sb::error::invalid_message));
}

TEST_CASE("an invoke starts a call only when valid and within both caps, and a refusal names "
          "the cap [INV-2] [LIMIT-2] [LIMIT-12]") {
    methods_fixture f(1);
    auto started = f.handle("invoke", methods_invoke_of("count", 4));
    REQUIRE(started.action == sbd::request_action::start_call);
    CHECK(started.called == f.state.find("count"));
    CHECK(*started.params.parameter_as<std::int64_t>("n") == 4);
    CHECK(f.state.pending_calls == 1);

    // the server's cap (max_pending_calls 1) is spent until the call finishes
    auto over_server = f.handle("invoke", methods_invoke_of("count", 4));
    CHECK(methods_error_code(over_server) == static_cast<int>(sb::error::too_many_in_flight));
    CHECK(methods_reply(over_server).error->details ==
          sb::value(sb::value::map{{"max_pending_calls", sb::value(1)}}));
    f.state.finish_call();
    // the connection's cap: open calls and answers not yet sent count against max_in_flight
    const auto in_flight = f.state.options.receive_limits.max_in_flight;
    auto over_connection =
        f.handle("invoke", methods_invoke_of("count", 4), sb::protocol_max, in_flight - 1, 1);
    CHECK(methods_error_code(over_connection) == static_cast<int>(sb::error::too_many_in_flight));
    CHECK(methods_reply(over_connection).error->details ==
          sb::value(sb::value::map{{"max_in_flight", sb::value(in_flight)}}));
    CHECK(f.state.pending_calls == 0); // a refusal takes nothing

    CHECK(methods_error_code(f.handle("invoke", methods_invoke_of("nope", 4))) ==
          static_cast<int>(sb::error::unknown_processor));
    auto mistyped = sb::invoke_params{};
    mistyped.processor = "count";
    mistyped.parameters.emplace_back("n", sb::parameter_value(std::string("four")));
    auto refused = f.handle("invoke", sb::to_value(mistyped));
    CHECK(methods_error_code(refused) == static_cast<int>(sb::error::invalid_argument));
    CHECK(methods_reply(refused).error->details ==
          sb::value(sb::value::map{{"name", sb::value("n")}}));
    CHECK(methods_error_code(f.handle("invoke", sb::value(42))) ==
          static_cast<int>(sb::error::invalid_message));
    CHECK(f.state.pending_calls == 0);
}

TEST_CASE("a connection full of calls still has ping, catalog, describe and goodbye answered, "
          "and only an invoke refused [LIMIT-2]") {
    methods_fixture f;
    const auto full = f.state.options.receive_limits.max_in_flight;
    const auto handle_full = [&](std::string method, sb::value params = {}) {
        return f.handle(std::move(method), std::move(params), sb::protocol_max, full - 1, 1);
    };
    CHECK(methods_reply(handle_full("ping")).result == sb::value(sb::value::map{}));
    CHECK(methods_reply(handle_full("catalog")).result == f.state.catalog_value);
    CHECK(methods_reply(
              handle_full("describe", sb::value(sb::value::map{{"processor", sb::value("count")}})))
              .result.find("name") != nullptr);
    CHECK(handle_full("goodbye").action == sbd::request_action::goodbye);
    CHECK(methods_error_code(handle_full("invoke", methods_invoke_of("count", 4))) ==
          static_cast<int>(sb::error::too_many_in_flight));
}

TEST_CASE("an invoke finds the processor it names whichever the connection called before") {
    methods_fixture f;
    auto other = methods_counting_processor();
    other.description.name = "counter";
    f.state.processors.emplace(
        "counter", sbd::registered_processor{other, sb::processor_execution::worker_pool});
    for (const char* name : {"count", "count", "counter", "nope", "counter", "count"}) {
        CAPTURE(name);
        auto out = f.handle("invoke", methods_invoke_of(name, 2));
        if (std::string(name) == "nope") {
            CHECK(methods_error_code(out) == static_cast<int>(sb::error::unknown_processor));
            continue;
        }
        REQUIRE(out.action == sbd::request_action::start_call);
        CHECK(out.called == f.state.find(name));
        CHECK(out.called->proc.description.name == name);
        f.state.finish_call();
    }
}

namespace {

struct methods_silent_context final : sb::call_context {
    void report_progress(double, std::string_view) override {}
    bool cancelled() const noexcept override { return false; }
};

sb::response methods_run(sb::processor_function run, sbd::run_settings settings = {}) {
    auto proc = methods_counting_processor();
    if (run) {
        proc.run = std::move(run);
    }
    sb::invoke_params params;
    params.processor = "count";
    params.parameters.emplace_back("n", sb::parameter_value(std::int64_t{5}));
    methods_silent_context context;
    return sbd::run_processor(proc, context, 11, params, settings);
}

} // namespace

TEST_CASE("run_processor: a result, in the form the negotiated version reads [SER-6] [CAT-7]") {
    auto reply = methods_run({});
    CHECK(reply.id == std::optional<std::uint64_t>(11));
    REQUIRE_FALSE(reply.is_error());
    CHECK(*reply.result.find("outputs") ==
          sb::value(sb::value::map{{"total", sb::value(std::int64_t{5})}}));
    sbd::run_settings old;
    old.version = {1, 0};
    auto for_1_0 = methods_run({}, old);
    REQUIRE_FALSE(for_1_0.is_error());
    CHECK(*for_1_0.result.find("outputs") == sb::value(sb::value::map{}));
}

TEST_CASE("run_processor: outputs the description does not declare fail the call [INV-4]") {
    auto reply = methods_run([](sb::call_context&, const sb::invoke_params&) {
        sb::invoke_result result;
        result.scalars.emplace_back("surprise", sb::parameter_value(std::int64_t{1}));
        return result;
    });
    REQUIRE(reply.error);
    CHECK(reply.error->code == static_cast<int>(sb::error::processor_failed));
    CHECK(reply.error->message.find("surprise") != std::string::npos);
}

TEST_CASE("run_processor: what a processor throws becomes the call's error [ERR-3] [CANCEL-2]") {
    std::vector<std::string> logged;
    sbd::run_settings settings;
    settings.log = [&](const std::string& line) { logged.push_back(line); };

    auto domain = methods_run(
        [](sb::call_context&, const sb::invoke_params&) -> sb::invoke_result {
            throw sb::processor_error(sb::error::invalid_argument, "empty mask",
                                      sb::value(sb::value::map{{"name", sb::value("mask")}}));
        },
        settings);
    REQUIRE(domain.error);
    CHECK(domain.error->code == static_cast<int>(sb::error::invalid_argument));
    CHECK(domain.error->message == "empty mask");
    CHECK(domain.error->details == sb::value(sb::value::map{{"name", sb::value("mask")}}));
    CHECK(logged.empty());

    const auto leaky = [](sb::call_context&, const sb::invoke_params&) -> sb::invoke_result {
        throw std::runtime_error("patient DOE^JOHN not found");
    };
    auto hidden = methods_run(leaky, settings);
    REQUIRE(hidden.error);
    CHECK(hidden.error->code == static_cast<int>(sb::error::processor_failed));
    CHECK(hidden.error->message.find("DOE") == std::string::npos);
    CHECK(hidden.error->message.find("runtime_error") != std::string::npos);
    REQUIRE(logged.size() == 1);
    CHECK(logged[0].find("call 11 to count") != std::string::npos);
    CHECK(logged[0].find("DOE^JOHN") != std::string::npos);

    settings.expose_errors = true;
    auto exposed = methods_run(leaky, settings);
    CHECK(exposed.error->message.find("DOE^JOHN") != std::string::npos);

    auto cancelled =
        methods_run([](sb::call_context&, const sb::invoke_params&) -> sb::invoke_result {
            throw sb::call_cancelled();
        });
    CHECK(cancelled.error->code == static_cast<int>(sb::error::cancelled));
    auto exhausted =
        methods_run([](sb::call_context&, const sb::invoke_params&) -> sb::invoke_result {
            throw std::bad_alloc();
        });
    CHECK(exhausted.error->code == static_cast<int>(sb::error::internal_error));
    auto odd = methods_run(
        [](sb::call_context&, const sb::invoke_params&) -> sb::invoke_result { throw 42; },
        settings);
    CHECK(odd.error->code == static_cast<int>(sb::error::processor_failed));
    CHECK(odd.error->message == "the processor failed");
    CHECK(logged.back().find("not an exception") != std::string::npos);
}
