#include <slicerbridge/server.hpp>

#include "support/allocation_recorder.hpp"
#include "support/test_server.hpp"

#include <slicerbridge/sync_client.hpp>

#include <doctest/doctest.h>

#include <atomic>
#include <future>
#include <thread>
#include <vector>

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

TEST_CASE("over an io_context made for one thread, connections take turns without strands") {
    asio::io_context one_thread(1);
    asio::io_context unsafe_io(ASIO_CONCURRENCY_HINT_UNSAFE_IO);
    asio::io_context any_threads;
    asio::io_context two_threads(2);
    CHECK(detail::runs_on_one_thread(one_thread));
    CHECK(detail::runs_on_one_thread(unsafe_io));
    CHECK_FALSE(detail::runs_on_one_thread(any_threads));
    CHECK_FALSE(detail::runs_on_one_thread(two_threads));

    // Workers still hand their progress and answers over to the I/O thread, from several
    // connections at once.
    test_server srv(
        {},
        [](server& s) {
            s.add({describe("inline_nothing"),
                   [](call_context&, const invoke_params&) { return invoke_result{}; }},
                  processor_execution::io_thread);
        },
        1);
    auto calls_with_progress = [&srv] {
        auto client = sync_client::connect(srv.address());
        std::size_t failures = 0;
        std::atomic<std::size_t> progressed{0};
        for (int i = 0; i < 5; ++i) {
            auto slow = named_call("slow");
            slow.parameters = {{"seconds", parameter_value(0.01)},
                               {"steps", parameter_value(std::int64_t{2})}};
            invoke_options options;
            options.on_progress = [&progressed](const progress_params&) { ++progressed; };
            failures += client->invoke(slow, options).error.has_value() ? 1 : 0;
            failures += client->invoke(named_call("inline_nothing")).error.has_value() ? 1 : 0;
        }
        return std::make_pair(failures, progressed.load());
    };
    auto first = std::async(std::launch::async, calls_with_progress);
    auto second = std::async(std::launch::async, calls_with_progress);
    for (auto* outcome : {&first, &second}) {
        auto [failures, progressed] = outcome->get();
        CHECK(failures == 0);
        CHECK(progressed > 0);
    }
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
                          result.outputs.emplace_back("transform_out", *params.input("transform"));
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

TEST_CASE("over an io_context made for one thread, every call's progress arrives before its "
          "answer while several connections' answers are handed over together [PROG-2]") {
    test_server srv({}, {}, 1);
    // Each call reports progress once, right before it returns: the progress and the answer
    // reach the I/O thread back to back, the answer often in a batch with other connections'.
    auto calls = [&srv] {
        auto client = sync_client::connect(srv.address());
        std::size_t failures = 0;
        std::size_t wrong_progress = 0;
        for (int i = 0; i < 50; ++i) {
            auto quick = named_call("slow");
            quick.parameters = {{"seconds", parameter_value(0.0)},
                                {"steps", parameter_value(std::int64_t{1})}};
            std::atomic<int> progressed{0};
            invoke_options options;
            options.on_progress = [&progressed](const progress_params&) { ++progressed; };
            failures += client->invoke(quick, options).error.has_value() ? 1 : 0;
            wrong_progress += progressed.load() == 1 ? 0 : 1;
        }
        return std::make_pair(failures, wrong_progress);
    };
    std::vector<std::future<std::pair<std::size_t, std::size_t>>> clients;
    for (int c = 0; c < 4; ++c) {
        clients.push_back(std::async(std::launch::async, calls));
    }
    for (auto& outcome : clients) {
        auto [failures, wrong_progress] = outcome.get();
        CHECK(failures == 0);
        CHECK(wrong_progress == 0);
    }
}

TEST_CASE("a connection's small calls on the I/O thread, once it has warmed up, allocate nothing "
          "there: each head is read where it arrived, each answer encoded into a written one's "
          "storage and queued in a written one's place") {
    // (On the pool, a call's state is freed by whichever thread lets go of it last, so whether
    // the I/O thread's next one comes from its cache depends on timing; the queues a pooled call
    // passes through are checked in unit-fair-queue.cpp and unit-server-outbox.cpp.)
    test_server srv({}, {}, 1);
    srv.server().add(
        {describe("nothing"), [](call_context&, const invoke_params&) { return invoke_result{}; }},
        processor_execution::io_thread);
    auto client = sync_client::connect(srv.address());
    auto call = [&client](int count) {
        for (int i = 0; i < count; ++i) {
            REQUIRE_FALSE(client->invoke(named_call("nothing")).error.has_value());
        }
    };
    call(50);
    test_support::allocation_recorder* recorder = nullptr;
    std::promise<void> recording;
    asio::post(srv.io(), [&] {
        recorder = new test_support::allocation_recorder; // counts what follows, not itself
        recording.set_value();
    });
    recording.get_future().wait();
    call(200);
    std::promise<test_support::allocation_stats> recorded;
    asio::post(srv.io(), [&] {
        const auto stats = recorder->stats();
        delete recorder;
        recorded.set_value(stats);
    });
    CHECK(recorded.get_future().get().count == 0);
}
