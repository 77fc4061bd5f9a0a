// The smallest useful processor server: one processor, "add_constant", which adds a number to
// every voxel of a float32 image, reporting progress per slice and stopping when cancelled.
//
//   cpp17_minimal_server [HOST:PORT]       (default 127.0.0.1:0)
//
// Prints "listening on HOST:PORT" first; Ctrl-C stops it.

#include <slicerbridge/description_builder.hpp>
#include <slicerbridge/server.hpp>
#include <slicerbridge/transport/connect.hpp>

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>

#include <iostream>
#include <string>

namespace sb = slicerbridge;

sb::processor add_constant() {
    sb::processor p;
    p.description = sb::description_builder("add_constant")
                        .title("Add a constant")
                        .describe("Adds `constant` to every voxel of a float32 volume.")
                        .category("Examples")
                        .input("volume", sb::image_kind::scalar, "A float32 scalar volume")
                        .output("result", sb::image_kind::scalar, "The volume plus the constant")
                        .parameter("constant", 1.0, "Added to every voxel")
                        .build();

    p.run = [](sb::call_context& ctx, const sb::invoke_params& params) {
        const sb::image& in = *params.input_as<sb::image>("volume");
        const double constant = *params.parameter_as<double>("constant");
        const sb::image native = in.to_native_byte_order();
        const float* voxels = native.voxels<float>();
        if (voxels == nullptr) {
            throw sb::processor_error(sb::error::invalid_argument, "volume must be float32",
                                      sb::value::map{{"name", "volume"}});
        }
        sb::image out = sb::image::allocate(in.dims, sb::dtype::float32);
        out.ijk_to_space = in.ijk_to_space; // same grid, same place in space
        out.space = in.space;
        float* target = out.mutable_voxels<float>();
        const std::uint64_t slice = in.dims[0] * in.dims[1];
        for (std::uint64_t k = 0; k < in.dims[2]; ++k) {
            ctx.throw_if_cancelled();
            for (std::uint64_t i = k * slice; i < (k + 1) * slice; ++i) {
                target[i] = static_cast<float>(voxels[i] + constant);
            }
            ctx.report_progress(static_cast<double>(k + 1) / static_cast<double>(in.dims[2]));
        }
        sb::invoke_result r;
        r.outputs.emplace_back("result", std::move(out));
        return r;
    };
    return p;
}

int main(int argc, char** argv) {
    const auto where = sb::address::parse(argc > 1 ? argv[1] : "127.0.0.1:0");
    if (!where || where->kind != sb::address::transport::tcp) {
        std::cerr << "usage: cpp17_minimal_server [HOST:PORT]\n";
        return 2;
    }
    asio::io_context io;
    auto work = asio::make_work_guard(io);
    sb::server server(io.get_executor());
    server.add(add_constant());

    const asio::ip::tcp::endpoint endpoint(asio::ip::make_address(where->host),
                                           static_cast<unsigned short>(std::stoi(where->port)));
    std::error_code ec;
    const auto bound = server.listen(endpoint, ec); // loopback unless a token is configured
    if (ec) {
        std::cerr << "cannot listen: " << ec.message() << "\n";
        return 1;
    }
    std::cout << "listening on " << bound.address().to_string() << ":" << bound.port()
              << std::endl;

    asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](std::error_code, int) {
        server.shutdown(std::chrono::seconds(2), [&] {
            work.reset();
            io.stop();
        });
    });
    io.run();
}
