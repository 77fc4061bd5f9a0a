// The asynchronous client with C++20 coroutines: the same operations as the callback example,
// written as straight-line code with co_await. Errors arrive as exceptions.
//
//   cpp20_coroutine_client HOST:PORT

#include <slicerbridge/client.hpp>
#include <slicerbridge/message/invoke.hpp>
#include <slicerbridge/message/progress.hpp>
#include <slicerbridge/transport/any_stream.hpp>
#include <slicerbridge/transport/connect.hpp>

#include <asio/awaitable.hpp>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/use_awaitable.hpp>

#include <iostream>

namespace sb = slicerbridge;

asio::awaitable<int> run(sb::any_stream stream) {
    sb::basic_client<sb::any_stream> client(std::move(stream));
    co_await client.async_handshake(asio::use_awaitable);

    const auto processors = co_await client.async_catalog(asio::use_awaitable);
    std::cout << processors.size() << " processors\n";

    // echo on the reference server, add_constant on the minimal one.
    const bool echo = std::any_of(processors.begin(), processors.end(),
                                  [](const auto& d) { return d.name == "echo"; });
    const sb::matrix4 ijk_to_lps = {0.5, 0, 0, 10, 0, 0.5, 0, 20, 0, 0, 3, 30, 0, 0, 0, 1};
    sb::image volume = sb::image::adopt(std::vector<float>(8 * 8 * 4, 2.5f), {8, 8, 4},
                                        ijk_to_lps, sb::space::lps);
    sb::invoke_params params;
    params.processor = echo ? "echo" : "add_constant";
    params.inputs.emplace_back(echo ? "image" : "volume", volume);

    sb::invoke_options options;
    options.on_progress = [](const sb::progress_params& p) {
        std::cout << "progress " << p.fraction << "\n";
    };
    const sb::invoke_reply reply =
        co_await client.async_invoke(std::move(params), std::move(options), asio::use_awaitable);
    const auto& out = std::get<sb::image>(reply.result.outputs.front().second);
    std::cout << reply.result.outputs.front().first << ": " << out.dims[0] << "x" << out.dims[1]
              << "x" << out.dims[2] << " in " << sb::space_name(out.space) << ", round trip "
              << reply.round_trip << " s\n";

    co_await client.async_goodbye(asio::use_awaitable);
    co_return out.ijk_to_space == ijk_to_lps && out.space == sb::space::lps ? 0 : 1;
}

int main(int argc, char** argv) {
    const auto where = argc == 2 ? sb::address::parse(argv[1]) : std::nullopt;
    if (!where) {
        std::cerr << "usage: cpp20_coroutine_client HOST:PORT|unix:PATH\n";
        return 2;
    }
    asio::io_context io;
    std::error_code ec;
    auto stream = sb::connect(io.get_executor(), *where, ec);
    if (ec) {
        std::cerr << "cannot connect: " << ec.message() << "\n";
        return 1;
    }
    int status = 1;
    asio::co_spawn(io, run(std::move(stream)), [&status](std::exception_ptr error, int result) {
        if (error) {
            try {
                std::rethrow_exception(error);
            } catch (const std::exception& e) {
                std::cerr << "failed: " << e.what() << "\n";
            }
            return;
        }
        status = result;
    });
    io.run();
    return status;
}
