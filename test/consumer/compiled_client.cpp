// A consumer of slicerbridge::compiled (the SDK's non-template functions in a library, built
// from <slicerbridge/src.hpp>): a blocking client calls the server of compiled_server.cpp over
// loopback. Proof that the two translation units link against the library alone.
#include "compiled_server.hpp"

#include <slicerbridge/sync_client.hpp>

#include <asio/executor_work_guard.hpp>

#include <cstdio>
#include <thread>

int main() {
    using namespace slicerbridge;
    asio::io_context io;
    auto work = asio::make_work_guard(io);
    consumer_compiled_server server(io);
    std::thread server_thread([&io] { io.run(); });
    bool same = false;
    try {
        auto client = sync_client::connect("127.0.0.1:" + std::to_string(server.port()));
        invoke_params params;
        params.processor = "double";
        params.inputs.emplace_back("volume",
                                   image::adopt(std::vector<std::int16_t>{1, 2, 3, 4}, {2, 2, 1}));
        const invoke_reply reply = client->invoke(std::move(params));
        const image* result = reply.result.output_as<image>("result");
        same = result != nullptr &&
               *result == image::adopt(std::vector<std::int16_t>{2, 4, 6, 8}, {2, 2, 1});
        client->goodbye();
    } catch (const std::exception& e) {
        std::printf("%s\n", e.what());
    }
    work.reset();
    io.stop();
    server_thread.join();
    std::printf("%s\n", same ? "compiled round trip ok" : "compiled round trip FAILED");
    return same ? 0 : 1;
}
