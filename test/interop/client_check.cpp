// slicerbridge-client-check ADDRESS [--token T] [--timeout S]
//
// The C++ client's part in the conformance suite's client mode and in the client x server
// matrix: connects, pings, reads the catalog, echoes an oblique image and checks it bit for bit,
// cancels a slow call after its first progress and expects `cancelled`, says goodbye. Exits 0
// when every step went as the protocol says, 1 (with the reason on stderr) otherwise, always
// within a bounded time.

#include <slicerbridge.hpp>
#include <slicerbridge/sync_client.hpp>

#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>

using namespace slicerbridge;

namespace {

struct check_failed : std::runtime_error {
    using std::runtime_error::runtime_error;
};

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

void check_cancel(sync_client& client, double timeout) {
    step("invoke slow, cancel after the first progress");
    std::mutex mutex;
    std::condition_variable progressed;
    bool any_progress = false;
    call_id id = 0;
    invoke_options options;
    options.on_id = [&](call_id assigned) { id = assigned; };
    options.on_progress = [&](const progress_params&) {
        std::lock_guard<std::mutex> lock(mutex);
        any_progress = true;
        progressed.notify_all();
    };
    invoke_params params;
    params.processor = "slow";
    params.parameters = {{"seconds", parameter_value(timeout * 2)},
                         {"steps", parameter_value(std::int64_t{200})}};
    std::error_code ec;
    std::thread canceller([&] {
        std::unique_lock<std::mutex> lock(mutex);
        progressed.wait_for(lock, std::chrono::duration<double>(timeout),
                            [&] { return any_progress; });
        client.cancel(id);
    });
    client.invoke(params, options, ec);
    canceller.join();
    const auto& capabilities = client.server_info().capabilities;
    bool has_progress =
        std::find(capabilities.begin(), capabilities.end(), "progress") != capabilities.end();
    if (has_progress && !any_progress) {
        throw check_failed("no progress from slow");
    }
    if (ec != error::cancelled) {
        throw check_failed("slow answered " + ec.message() + ", expected cancelled");
    }
}

int run(const std::string& where, std::optional<std::string> token, double timeout) {
    std::string violation;
    std::mutex violation_mutex;
    client_options options;
    options.token = std::move(token);
    options.on_protocol_violation = [&](std::string_view what) {
        std::lock_guard<std::mutex> lock(violation_mutex);
        if (violation.empty()) {
            violation = std::string(what);
        }
    };
    auto check_violations = [&] {
        std::lock_guard<std::mutex> lock(violation_mutex);
        if (!violation.empty()) {
            throw check_failed("protocol violation: " + violation);
        }
    };
    step("connect and handshake");
    auto client = sync_client::connect(where, options);
    step("ping");
    client->ping();
    step("catalog");
    bool has_echo = false;
    bool has_slow = false;
    for (const auto& description : client->catalog()) {
        has_echo = has_echo || description.name == "echo";
        has_slow = has_slow || description.name == "slow";
    }
    if (!has_echo || !has_slow) {
        throw check_failed("the catalog lacks echo or slow");
    }
    step("invoke echo with an image");
    auto sent = check_image();
    invoke_params echo;
    echo.processor = "echo";
    echo.inputs = {{"image", data_value(sent)}};
    invoke_options echo_options;
    echo_options.deadline = timeout;
    auto reply = client->invoke(echo, echo_options);
    const image* received = nullptr;
    for (const auto& [name, data] : reply.result.outputs) {
        if (const auto* img = std::get_if<image>(&data)) {
            if (received != nullptr) {
                throw check_failed("echo returned more than one image");
            }
            received = img;
        }
    }
    if (received == nullptr || *received != sent) {
        throw check_failed("echo returned a different image");
    }
    check_violations();
    check_cancel(*client, timeout);
    check_violations();
    step("goodbye");
    client->goodbye();
    check_violations();
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    std::string where;
    std::optional<std::string> token;
    double timeout = 10.0;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg == "--token" && i + 1 < argc) {
            token = argv[++i];
        } else if (arg == "--timeout" && i + 1 < argc) {
            timeout = std::atof(argv[++i]);
        } else if (where.empty() && arg.rfind("--", 0) != 0) {
            where = arg;
        } else {
            std::cerr << "usage: slicerbridge-client-check ADDRESS [--token T] [--timeout S]\n";
            return 2;
        }
    }
    if (where.empty() || !(timeout > 0)) {
        std::cerr << "usage: slicerbridge-client-check ADDRESS [--token T] [--timeout S]\n";
        return 2;
    }
    // Whatever blocks, the process ends: a silent server must not hang the suite.
    std::thread([timeout] {
        std::this_thread::sleep_for(std::chrono::duration<double>(timeout * 6));
        std::cerr << "client-check: FAILED: overall time limit reached" << std::endl;
        std::_Exit(1);
    }).detach();
    try {
        run(where, token, timeout);
    } catch (const std::exception& e) {
        std::cerr << "client-check: FAILED: " << e.what() << std::endl;
        return 1;
    }
    std::cerr << "client-check: OK" << std::endl;
    return 0;
}
