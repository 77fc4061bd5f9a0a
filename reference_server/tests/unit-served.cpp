// The reference processors served over loopback TCP and called with the SDK's client: data and
// geometry cross the wire intact, progress arrives, cancel and deadlines work.

#include "support.hpp"

#include <slicerbridge/message/invoke.hpp>
#include <slicerbridge/message/progress.hpp>
#include <slicerbridge/server.hpp>
#include <slicerbridge/sync_client.hpp>

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>

#include <future>
#include <thread>

using namespace test_support;

namespace {

/// The reference server on 127.0.0.1 with an I/O thread, shut down at the end. The I/O thread
/// runs until the shutdown has completed: a computation finishing after the last connection
/// closed still posts its answer to the I/O context.
class served {
public:
    served() : work_(asio::make_work_guard(io_)), server_(io_.get_executor()) {
        for (auto& p : reference::all_processors()) {
            server_.add(std::move(p));
        }
        const auto endpoint =
            server_.listen(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
        address_ = "127.0.0.1:" + std::to_string(endpoint.port());
        thread_ = std::thread([this] { io_.run(); });
    }
    ~served() {
        std::promise<void> closed;
        server_.shutdown(std::chrono::milliseconds(0), [&closed] { closed.set_value(); });
        closed.get_future().wait();
        work_.reset();
        io_.stop();
        thread_.join();
    }
    const std::string& address() const { return address_; }

private:
    asio::io_context io_;
    asio::executor_work_guard<asio::io_context::executor_type> work_;
    server server_;
    std::string address_;
    std::thread thread_;
};

} // namespace

TEST_CASE("served: an oblique LPS volume is thresholded and measured over TCP with its "
          "geometry [IMG-2] [IMG-5]") {
    served s;
    auto client = sync_client::connect(s.address());
    const matrix4 m = oblique_matrix();
    const auto centre = apply(m, 20, 18, 16);
    const image volume = sphere_phantom({40, 36, 32}, m, {{centre, 7.0, 100}}).in_space(space::lps);

    invoke_params threshold;
    threshold.processor = "threshold";
    threshold.inputs.emplace_back("volume", volume);
    threshold.parameters.emplace_back("lower", 50.0);
    std::vector<double> fractions;
    invoke_options options;
    options.on_progress = [&fractions](const progress_params& p) { fractions.push_back(p.fraction); };
    const auto labelled = client->invoke(threshold, options);
    const auto* labels = labelled.result.output_as<image>("labels");
    REQUIRE(labels != nullptr);
    CHECK(labels->space == space::lps);
    CHECK(labels->ijk_to_space == volume.ijk_to_space);
    CHECK(labelled.server_timings.has_value());
    CHECK(non_decreasing(fractions));

    invoke_params statistics;
    statistics.processor = "label_statistics";
    statistics.inputs.emplace_back("labels", *labels);
    const auto measured = client->invoke(statistics);
    const auto* t = measured.result.output_as<table>("statistics");
    REQUIRE(t != nullptr);
    const auto& r = std::get<typed_array>(t->find("centroid_r")->values);
    const auto& s_column = std::get<typed_array>(t->find("centroid_s")->values);
    CHECK(r.scalar<double>(0) == doctest::Approx(centre[0]).epsilon(0.01));
    CHECK(s_column.scalar<double>(0) == doctest::Approx(centre[2]).epsilon(0.01));
    client->goodbye();
}

TEST_CASE("served: a cancelled slow call answers cancelled [CANCEL-1] [CANCEL-2]") {
    served s;
    auto client = sync_client::connect(s.address());
    invoke_params slow;
    slow.processor = "slow";
    slow.parameters.emplace_back("seconds", 3600.0);
    slow.parameters.emplace_back("steps", std::int64_t{36000});
    std::promise<void> first_progress;
    bool progressed = false;
    invoke_options options;
    const call_id id = client->reserve_call_id();
    options.id = id;
    options.on_progress = [&](const progress_params&) {
        if (!progressed) {
            progressed = true;
            first_progress.set_value();
        }
    };
    auto call = std::async(std::launch::async, [&] {
        std::error_code ec;
        client->invoke(slow, options, ec);
        return ec;
    });
    first_progress.get_future().wait();
    client->cancel(id);
    CHECK(call.get() == error::cancelled);
}

TEST_CASE("served: a deadline ends a slow call with deadline_exceeded and fail keeps the "
          "connection [INV-5] [INV-6]") {
    served s;
    auto client = sync_client::connect(s.address());
    invoke_params slow;
    slow.processor = "slow";
    slow.parameters.emplace_back("seconds", 3600.0);
    invoke_options options;
    options.deadline = 0.05;
    std::error_code ec;
    client->invoke(slow, options, ec);
    CHECK(ec == error::deadline_exceeded);

    invoke_params fail;
    fail.processor = "fail";
    fail.parameters.emplace_back("code", std::int64_t{2000});
    client->invoke(fail, {}, ec);
    CHECK(ec.value() == 2000);
    CHECK(client->ping() >= 0.0);
}
