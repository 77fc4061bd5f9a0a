// slicerbridge-client-check ADDRESS [--token T] [--timeout S]
// slicerbridge-client-check [--token T] [--timeout S] --launch PROGRAM [ARGS...]
//
// With --launch, the server is PROGRAM ARGS started as a child, spoken to over its standard
// input and output.
// The C++ client's part in the conformance suite's client mode and in the client x server
// matrix: connects, pings, reads the catalog, echoes an oblique image and checks it bit for bit,
// cancels a slow call after its first progress and expects `cancelled`, says goodbye. Exits 0
// when every step went as the protocol says, 1 (with the reason on stderr) otherwise, always
// within a bounded time.

#include <slicerbridge.hpp>
#include <slicerbridge/client.hpp>
#include <slicerbridge/transport/connect.hpp>
#include <slicerbridge/transport/pipe_stream.hpp>

#include <asio/io_context.hpp>
#include <asio/use_future.hpp>

#include <atomic>
#include <chrono>
#include <cmath>
#include <future>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

using namespace slicerbridge;

namespace {

/// Ends the check at once: nothing is unwound while calls may still complete on the I/O thread.
[[noreturn]] void fail(const std::string& why) {
    std::cerr << "client-check: FAILED: " << why << std::endl;
    std::_Exit(1);
}

void step(const std::string& name) { std::cerr << "client-check: " << name << std::endl; }

image check_image() {
    std::vector<std::int16_t> voxels(5 * 4 * 3);
    for (std::size_t i = 0; i < voxels.size(); ++i) {
        voxels[i] = static_cast<std::int16_t>(static_cast<int>(i) * 1237 - 30000);
    }
    const double angle = 0.3;
    const matrix4 m{0.8 * std::cos(angle), -0.9 * std::sin(angle), 0.0, -12.5,
                    0.8 * std::sin(angle), 0.9 * std::cos(angle),  0.1, 40.25,
                    0.0,                   0.0,                    2.5, -7.0,
                    0.0,                   0.0,                    0.0, 1.0};
    return image::adopt(std::move(voxels), {5, 4, 3}, m, space::lps);
}

/// Every step is bounded: a server that stays silent fails the check, it does not hang it.
class checker {
public:
    checker(const std::string& where, const std::vector<std::string>& launch,
            std::optional<std::string> token, double timeout)
        : timeout_(timeout) {
        client_options options;
        options.token = std::move(token);
        options.on_protocol_violation = [this](std::string_view what) {
            std::lock_guard<std::mutex> lock(mutex_);
            if (violation_.empty()) {
                violation_ = std::string(what);
            }
        };
        client_.emplace(open(where, launch), std::move(options));
        runner_ = std::thread([this] { io_.run(); });
    }

    ~checker() {
        client_->close();
        work_.reset();
        io_.stop();
        runner_.join();
    }

    void run() {
        step("connect and handshake");
        wait(client_->async_handshake(asio::use_future), "handshake");
        step("ping");
        wait(client_->async_ping(asio::use_future), "ping");
        step("catalog");
        bool has_echo = false;
        bool has_slow = false;
        for (const auto& description : wait(client_->async_catalog(asio::use_future), "catalog")) {
            has_echo = has_echo || description.name == "echo";
            has_slow = has_slow || description.name == "slow";
        }
        if (!has_echo || !has_slow) {
            fail("the catalog lacks echo or slow");
        }
        check_echo();
        check_cancel();
        step("goodbye");
        wait(client_->async_goodbye(asio::use_future), "goodbye");
        check_violations();
    }

private:
    any_stream open(const std::string& where, const std::vector<std::string>& launch) {
        std::error_code ec;
        if (!launch.empty()) {
            auto launched = launch_process(io_.get_executor(), launch, ec);
            if (ec) {
                fail("cannot launch " + launch.front() + ": " + ec.message());
            }
            child_ = std::move(launched.process);
            return any_stream(std::move(launched.stream));
        }
        auto parsed = address::parse(where);
        if (!parsed) {
            fail("not an address: " + where);
        }
        auto stream = connect(io_.get_executor(), *parsed, ec);
        if (ec) {
            fail("cannot connect: " + ec.message());
        }
        return stream;
    }

    template <class T>
    T wait(std::future<T> future, const char* what) {
        if (future.wait_for(std::chrono::duration<double>(timeout_)) != std::future_status::ready) {
            fail(std::string("no answer to ") + what + " in time");
        }
        try {
            return future.get();
        } catch (const std::system_error& e) {
            fail(std::string(what) + " failed: " + e.code().message());
        }
    }

    void check_violations() {
        std::lock_guard<std::mutex> lock(mutex_);
        if (!violation_.empty()) {
            fail("protocol violation: " + violation_);
        }
    }

    void check_echo() {
        step("invoke echo with an image");
        auto sent = check_image();
        invoke_params echo;
        echo.processor = "echo";
        echo.inputs = {{"image", data_value(sent)}};
        auto reply = wait(client_->async_invoke(echo, {}, asio::use_future), "echo");
        const image* received = nullptr;
        for (const auto& [name, data] : reply.result.outputs) {
            if (const auto* img = std::get_if<image>(&data)) {
                if (received != nullptr) {
                    fail("echo returned more than one image");
                }
                received = img;
            }
        }
        // The server may answer in either byte order ([ARRAY-2]): compare values, not bytes.
        if (received == nullptr || received->to_native_byte_order() != sent) {
            fail("echo returned a different image");
        }
        check_violations();
    }

    void check_cancel() {
        step("invoke slow, cancel after the first progress");
        std::promise<void> first_progress;
        auto progressed = first_progress.get_future();
        std::atomic<bool> any_progress{false};
        const call_id id = client_->reserve_call_id();
        invoke_options options;
        options.id = id;
        options.on_progress = [&](const progress_params&) {
            if (!any_progress.exchange(true)) {
                first_progress.set_value();
            }
        };
        invoke_params params;
        params.processor = "slow";
        params.parameters = {{"seconds", parameter_value(timeout_ * 2)},
                             {"steps", parameter_value(std::int64_t{200})}};
        std::promise<std::error_code> outcome;
        auto answered = outcome.get_future();
        client_->async_invoke(params, options, [&](std::error_code ec, invoke_reply) {
            outcome.set_value(ec);
        });
        const auto& capabilities = client_->server_info().capabilities;
        bool has_progress =
            std::find(capabilities.begin(), capabilities.end(), "progress") != capabilities.end();
        if (progressed.wait_for(std::chrono::duration<double>(timeout_)) !=
                std::future_status::ready &&
            has_progress) {
            fail("no progress from slow");
        }
        client_->cancel(id);
        auto ec = wait(std::move(answered), "the cancelled call");
        if (ec != error::cancelled) {
            fail("slow answered " + ec.message() + ", expected cancelled");
        }
        check_violations();
    }

    double timeout_;
    child_process child_; // after the client (destroyed first), so the child sees its input end
    asio::io_context io_;
    asio::executor_work_guard<asio::io_context::executor_type> work_{io_.get_executor()};
    std::optional<basic_client<any_stream>> client_;
    std::thread runner_;
    std::mutex mutex_;
    std::string violation_;
};

} // namespace

int main(int argc, char** argv) {
    constexpr const char* usage = "usage: slicerbridge-client-check ADDRESS [--token T] [--timeout "
                                  "S]\n       slicerbridge-client-check [--token T] [--timeout S] "
                                  "--launch PROGRAM [ARGS...]\n";
    std::string where;
    std::vector<std::string> launch;
    std::optional<std::string> token;
    double timeout = 10.0;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg == "--token" && i + 1 < argc) {
            token = argv[++i];
        } else if (arg == "--timeout" && i + 1 < argc) {
            timeout = std::atof(argv[++i]);
        } else if (arg == "--launch" && i + 1 < argc) {
            launch.assign(argv + i + 1, argv + argc);
            break;
        } else if (where.empty() && arg.rfind("--", 0) != 0) {
            where = arg;
        } else {
            std::cerr << usage;
            return 2;
        }
    }
    if (where.empty() == launch.empty() || !(timeout > 0)) {
        std::cerr << usage;
        return 2;
    }
    try {
        checker(where, launch, token, timeout).run();
    } catch (const std::exception& e) {
        fail(e.what());
    }
    std::cerr << "client-check: OK" << std::endl;
    return 0;
}
