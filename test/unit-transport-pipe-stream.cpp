#include <slicerbridge/transport/pipe_stream.hpp>

#include "support/child_modes.hpp"
#include "support/test_server.hpp"

#include <slicerbridge/sync_client.hpp>

#include <doctest/doctest.h>

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/read.hpp>
#include <asio/read_until.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <numeric>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#if defined(_WIN32)
#include <windows.h>
#else
#include <spawn.h>
extern char** environ;
#endif

namespace sb = slicerbridge;

namespace {

/// This program with `sleep_flag`, inheriting this process's standard streams, as a launcher
/// script's interpreter would.
bool start_sleeper() {
    const std::string program = test_support::program_path();
    const std::string flag(test_support::sleep_flag);
#if defined(_WIN32)
    std::string line = "\"" + program + "\" " + flag;
    STARTUPINFOA startup{};
    startup.cb = sizeof(startup);
    startup.dwFlags = STARTF_USESTDHANDLES;
    startup.hStdInput = ::GetStdHandle(STD_INPUT_HANDLE);
    startup.hStdOutput = ::GetStdHandle(STD_OUTPUT_HANDLE);
    startup.hStdError = ::GetStdHandle(STD_ERROR_HANDLE);
    PROCESS_INFORMATION process{};
    if (!::CreateProcessA(nullptr, line.data(), nullptr, nullptr, TRUE, 0, nullptr, nullptr,
                          &startup, &process)) {
        return false;
    }
    ::CloseHandle(process.hThread);
    ::CloseHandle(process.hProcess);
    return true;
#else
    char* argv[] = {const_cast<char*>(program.c_str()), const_cast<char*>(flag.c_str()), nullptr};
    pid_t pid = 0;
    return ::posix_spawnp(&pid, program.c_str(), nullptr, nullptr, argv, environ) == 0;
#endif
}

} // namespace

int test_support::run_child_mode(std::string_view flag) {
    if (flag == serve_stdio_flag) {
        asio::io_context io;
        auto work = asio::make_work_guard(io);
        sb::server server(io.get_executor());
        add_test_processors(server, std::make_shared<watch_record>());
        server.serve(sb::pipe_stream::standard_streams(io.get_executor()),
                     [&] { server.shutdown(std::chrono::milliseconds(0), [&] { work.reset(); }); });
        io.run();
        return 0;
    }
    if (flag == sleep_flag) {
        std::this_thread::sleep_for(std::chrono::minutes(1));
        return 0;
    }
    if (flag == start_sleeper_flag) {
        if (!start_sleeper()) {
            return 1;
        }
        std::fputs("started\n", stdout);
        std::fflush(stdout);
        std::this_thread::sleep_for(std::chrono::minutes(1));
        return 0;
    }
    return -1;
}

namespace {

sb::image large_image() {
    // 4 MiB: larger than any pipe buffer, so both directions wait on a full pipe many times.
    std::vector<std::uint16_t> voxels(128 * 128 * 128);
    std::iota(voxels.begin(), voxels.end(), std::uint16_t{7});
    const sb::matrix4 m{0.5, 0.1, 0.0, -3.25, 0.0, 0.75, 0.2, 8.5,
                        0.1, 0.0, 1.5, 0.125, 0,   0,    0,   1};
    return sb::image::adopt(std::move(voxels), {128, 128, 128}, m, sb::space::lps);
}

} // namespace

TEST_CASE("a launched child serves over its standard streams, it exits when the client leaves") {
    std::unique_ptr<sb::sync_client> client = sb::sync_client::launch(
        {test_support::program_path(), std::string(test_support::serve_stdio_flag)});
    const sb::image sent = large_image();
    sb::invoke_params echo;
    echo.processor = "echo";
    echo.inputs = {{"image", sb::data_value(sent)}};
    const auto reply = client->invoke(echo);
    const auto* received = reply.result.output_as<sb::image>("image_out");
    REQUIRE(received != nullptr);
    CHECK(received->data == sent.data);
    CHECK(received->ijk_to_space == sent.ijk_to_space);
    CHECK(received->space == sb::space::lps);
    std::vector<double> fractions;
    sb::invoke_params slow;
    slow.processor = "slow";
    slow.parameters = {{"seconds", sb::parameter_value(0.01)},
                       {"steps", sb::parameter_value(std::int64_t{3})}};
    sb::invoke_options options;
    options.on_progress = [&](const sb::progress_params& p) { fractions.push_back(p.fraction); };
    client->invoke(slow, options);
    // A report that finds the last one unsent replaces it (the server keeps the latest), and
    // under load the three come faster than the child's I/O thread sends them; the last is
    // always sent before the answer.
    REQUIRE_FALSE(fractions.empty());
    CHECK(fractions.size() <= 3);
    CHECK(std::is_sorted(fractions.begin(), fractions.end()));
    CHECK(fractions.back() == 1.0);
    client->goodbye(); // waits for the child to exit: a hang here would time the test out
}

TEST_CASE(
    "launch_process: a child that will not stop outlasts wait_for, then is forced and reaped") {
    asio::io_context io;
    auto launched = sb::launch_process(
        io.get_executor(), {test_support::program_path(), std::string(test_support::sleep_flag)});
    REQUIRE(launched.process.running());
    CHECK(launched.process.pid() > 0);
    CHECK_FALSE(launched.process.wait_for(std::chrono::milliseconds(50)).has_value());
    CHECK(launched.process.running());
    const auto started = std::chrono::steady_clock::now();
    const int status = launched.process.terminate(200);
    CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(30));
    CHECK(status != 0); // killed: 128 + the signal on POSIX, 137 on Windows
    CHECK_FALSE(launched.process.running());
    CHECK(launched.process.wait() == -1);
}

TEST_CASE("launch_process: terminate ends what the child started with it [STDIO-3]") {
    asio::io_context io;
    auto launched =
        sb::launch_process(io.get_executor(), {test_support::program_path(),
                                               std::string(test_support::start_sleeper_flag)});
    std::string output;
    std::error_code ec;
    asio::read_until(launched.stream, asio::dynamic_buffer(output), '\n', ec);
    REQUIRE_FALSE(ec);
    REQUIRE(output.rfind("started", 0) == 0); // "\r\n" on Windows
    CHECK(launched.process.terminate(0) != 0);
    // The sleeper holds the same standard output: its end comes once both have ended.
    std::optional<std::error_code> end;
    asio::async_read(launched.stream, asio::dynamic_buffer(output),
                     [&](std::error_code e, std::size_t) { end = e; });
    io.run_for(std::chrono::seconds(30));
    REQUIRE(end.has_value());
    CHECK((*end == asio::error::eof || *end == asio::error::broken_pipe));
}

TEST_CASE("launch_process reports a program that does not exist, and an empty command") {
    asio::io_context io;
    std::error_code ec;
    auto launched = sb::launch_process(io.get_executor(), {"slicerbridge-no-such-program"}, ec);
    CHECK(ec);
    CHECK_FALSE(launched.process.running());
    sb::launch_process(io.get_executor(), {}, ec);
    CHECK(ec == std::errc::invalid_argument);
    CHECK_THROWS_AS(sb::launch_process(io.get_executor(), {"slicerbridge-no-such-program"}),
                    std::system_error);
}
