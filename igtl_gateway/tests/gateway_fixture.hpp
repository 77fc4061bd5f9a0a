#ifndef SLICERBRIDGE_IGTL_GATEWAY_TESTS_GATEWAY_FIXTURE_HPP
#define SLICERBRIDGE_IGTL_GATEWAY_TESTS_GATEWAY_FIXTURE_HPP

// A gateway on 127.0.0.1 (port chosen by the system) in front of either the reference server,
// launched over its standard streams, or an in-process server with test processors over TCP.

#include "gateway.hpp"
#include "support.hpp"

#include <slicerbridge/server.hpp>

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>

#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

namespace test_support {

#ifdef SLICERBRIDGE_SERVER_PATH
inline std::unique_ptr<sync_client> reference_server() {
    return sync_client::launch({SLICERBRIDGE_SERVER_PATH, "--stdio"});
}
#endif

/// A gate a processor waits at until the test opens it; `wait_entered` awaits a processor's
/// arrival at the gate.
class gate {
public:
    void pass() {
        std::unique_lock<std::mutex> lock(mutex_);
        ++entered_;
        changed_.notify_all();
        changed_.wait_for(lock, std::chrono::seconds(30), [&] { return open_; });
    }
    bool wait_entered(int count) {
        std::unique_lock<std::mutex> lock(mutex_);
        return changed_.wait_for(lock, std::chrono::seconds(30), [&] { return entered_ >= count; });
    }
    void open() {
        std::lock_guard<std::mutex> lock(mutex_);
        open_ = true;
        changed_.notify_all();
    }

private:
    std::mutex mutex_;
    std::condition_variable changed_;
    int entered_ = 0;
    bool open_ = false;
};

inline slot image_slot(const char* name) {
    slot s;
    s.name = name;
    s.type = slot_type::image;
    return s;
}

/// An in-process SlicerBridge server on 127.0.0.1 with:
///   hold:  returns its image `frame` as `result`, after passing `held` (the test's gate)
///   huge:  returns a 70000 x 1 x 1 image, which OpenIGTLink cannot carry
///   same:  returns its image `frame` as `result` at once
///   tracked: returns its image `frame` moved by its transform `probe`
class in_process_server {
public:
    in_process_server() {
        server_options options;
        options.workers = 4;
        server_ = std::make_unique<server>(io_.get_executor(), options);
        add_image_processor("hold", [this](const image& in) {
            held.pass();
            return in;
        });
        add_image_processor("huge", [](const image&) {
            image big = image::allocate({70000, 1, 1}, dtype::uint8);
            std::memset(big.data.mutable_data(), 0, big.data.size());
            return big;
        });
        add_image_processor("same", [](const image& in) { return in; });
        // tracked: an image and a transform; returns the image moved by the transform.
        processor tracked;
        tracked.description.name = "tracked";
        tracked.description.version = "1";
        tracked.description.inputs.push_back(image_slot("frame"));
        slot probe;
        probe.name = "probe";
        probe.type = slot_type::transform;
        tracked.description.inputs.push_back(probe);
        tracked.description.outputs.push_back(image_slot("result"));
        tracked.run = [](call_context&, const invoke_params& params) {
            image moved = *params.input_as<image>("frame");
            const transform* t = params.input_as<transform>("probe");
            matrix4 m{};
            for (int r = 0; r < 4; ++r) {
                for (int c = 0; c < 4; ++c) {
                    for (int k = 0; k < 4; ++k) {
                        m[r * 4 + c] += t->matrix[r * 4 + k] * moved.ijk_to_space[k * 4 + c];
                    }
                }
            }
            moved.ijk_to_space = m;
            return invoke_result{{{"result", data_value(moved)}}};
        };
        server_->add(std::move(tracked));
        endpoint_ = server_->listen({asio::ip::make_address("127.0.0.1"), 0});
        thread_ = std::thread([this] { io_.run(); });
    }
    ~in_process_server() {
        held.open();
        auto closed = std::make_shared<std::promise<void>>();
        server_->shutdown(std::chrono::milliseconds(0), [closed] { closed->set_value(); });
        closed->get_future().wait_for(std::chrono::seconds(5));
        work_.reset();
        io_.stop();
        thread_.join();
        server_.reset();
    }
    std::unique_ptr<sync_client> connect() {
        return sync_client::connect("127.0.0.1:" + std::to_string(endpoint_.port()));
    }

    gate held;

private:
    void add_image_processor(const char* name, std::function<image(const image&)> f) {
        processor p;
        p.description.name = name;
        p.description.version = "1";
        p.description.title = name;
        p.description.inputs.push_back(image_slot("frame"));
        p.description.outputs.push_back(image_slot("result"));
        p.run = [f](call_context&, const invoke_params& params) {
            const image* in = params.input_as<image>("frame");
            return invoke_result{{{"result", data_value(f(*in))}}};
        };
        server_->add(std::move(p));
    }

    asio::io_context io_;
    asio::executor_work_guard<asio::io_context::executor_type> work_{io_.get_executor()};
    std::unique_ptr<server> server_;
    asio::ip::tcp::endpoint endpoint_;
    std::thread thread_;
};

/// A started gateway; its log lines are kept.
class running_gateway {
public:
    running_gateway(std::unique_ptr<sync_client> client, gateway_options options = {})
        : client_(std::move(client)) {
        options.host = "127.0.0.1";
        options.port = 0;
        options.report_interval = std::chrono::milliseconds(0);
        options.log = [this](const std::string& line) {
            std::lock_guard<std::mutex> lock(log_mutex_);
            log_.push_back(line);
        };
        gateway_ = std::make_unique<gateway>(*client_, std::move(options));
        gateway_->start();
    }
    ~running_gateway() { gateway_->stop(); }

    int port() const { return gateway_->port(); }
    gateway& get() { return *gateway_; }

private:
    std::unique_ptr<sync_client> client_;
    std::mutex log_mutex_;
    std::vector<std::string> log_;
    std::unique_ptr<gateway> gateway_;
};

/// Polls `condition` every millisecond for at most 10 s: for states no event announces.
template <class Condition>
bool eventually(Condition condition) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < until) {
        if (condition()) {
            return true;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return condition();
}

/// An IMAGE message of uint8 voxels all equal to `value`, packed by the library from our image.
inline igtl::ImageMessage::Pointer image_message(const std::string& device,
                                                 std::array<std::uint64_t, 3> dims,
                                                 const matrix4& m, std::uint8_t value,
                                                 unsigned seconds = 0) {
    image img = image::allocate(dims, dtype::uint8);
    std::memset(img.data.mutable_data(), value, img.data.size());
    img.ijk_to_space = m;
    mapping_error error;
    auto message = image_to_igtl(img, device, {seconds, 0}, error);
    REQUIRE(message);
    return message;
}

} // namespace test_support

#endif
