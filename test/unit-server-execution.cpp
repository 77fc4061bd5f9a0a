#include <slicerbridge/server.hpp>

#include "support/test_server.hpp"

#include <slicerbridge/sync_client.hpp>

#include <doctest/doctest.h>

#include <atomic>
#include <thread>

using namespace slicerbridge;
using test_support::describe;
using test_support::test_server;

namespace {

/// Records the thread each call of a processor ran on.
struct thread_record {
    std::thread::id io_thread;
    std::atomic<int> calls_on_io_thread{0};
    std::atomic<int> calls_elsewhere{0};
};

processor recording(std::string name, std::shared_ptr<thread_record> record) {
    return {describe(std::move(name)), [record](call_context&, const invoke_params&) {
                if (std::this_thread::get_id() == record->io_thread) {
                    ++record->calls_on_io_thread;
                } else {
                    ++record->calls_elsewhere;
                }
                return invoke_result{};
            }};
}

std::thread::id io_thread_of(test_server& srv) {
    std::promise<std::thread::id> id;
    asio::post(srv.io(), [&id] { id.set_value(std::this_thread::get_id()); });
    return id.get_future().get();
}

invoke_params named_call(std::string processor) {
    invoke_params p;
    p.processor = std::move(processor);
    return p;
}

} // namespace

TEST_CASE("processors run on the worker pool by default and on the I/O thread when asked") {
    test_server srv;
    auto record = std::make_shared<thread_record>();
    record->io_thread = io_thread_of(srv);
    srv.server().add(recording("pooled", record));
    srv.server().add(recording("inline", record), processor_execution::io_thread);
    auto client = sync_client::connect(srv.address());

    CHECK_FALSE(client->invoke(named_call("pooled")).error.has_value());
    CHECK(record->calls_elsewhere == 1);
    CHECK(record->calls_on_io_thread == 0);
    for (int i = 0; i < 3; ++i) {
        CHECK_FALSE(client->invoke(named_call("inline")).error.has_value());
    }
    CHECK(record->calls_on_io_thread == 3);
    CHECK(record->calls_elsewhere == 1);
}

TEST_CASE("a call on the I/O thread answers with its outputs, failures and timings [INV-3] "
          "[INV-5]") {
    test_server srv;
    auto d = describe("inline_echo");
    d.inputs.push_back(test_support::data_slot("transform", slot_type::transform));
    d.outputs.push_back(test_support::data_slot("transform_out", slot_type::transform));
    srv.server().add({d,
                      [](call_context&, const invoke_params& params) {
                          invoke_result result;
                          result.outputs.emplace_back("transform_out",
                                                      *params.input("transform"));
                          return result;
                      }},
                     processor_execution::io_thread);
    srv.server().add({describe("inline_fail"),
                      [](call_context&, const invoke_params&) -> invoke_result {
                          throw processor_error(4321, "failed inline");
                      }},
                     processor_execution::io_thread);
    auto client = sync_client::connect(srv.address());

    auto p = named_call("inline_echo");
    transform sent;
    sent.matrix[3] = 12.5;
    p.inputs.emplace_back("transform", data_value(sent));
    auto reply = client->invoke(p);
    REQUIRE_FALSE(reply.error.has_value());
    const auto* echoed = reply.result.output_as<transform>("transform_out");
    REQUIRE(echoed != nullptr);
    CHECK(echoed->matrix == sent.matrix);
    CHECK(reply.server_timings.has_value());

    std::error_code ec;
    reply = client->invoke(named_call("inline_fail"), {}, ec);
    CHECK(ec.value() == 4321);
    REQUIRE(reply.error.has_value());
    CHECK(reply.error->message == "failed inline");
    CHECK(client->ping() > 0.0);
}

TEST_CASE("a call on the I/O thread that returns after its deadline is answered "
          "deadline_exceeded [INV-6]") {
    test_server srv;
    srv.server().add({describe("inline_sleeper"),
                      [](call_context&, const invoke_params&) {
                          std::this_thread::sleep_for(std::chrono::milliseconds(50));
                          return invoke_result{};
                      }},
                     processor_execution::io_thread);
    auto client = sync_client::connect(srv.address());
    invoke_options options;
    options.deadline = 0.001;
    std::error_code ec;
    client->invoke(named_call("inline_sleeper"), options, ec);
    CHECK(ec == error::deadline_exceeded);
    CHECK(client->ping() > 0.0);
}
