// The server half of consumer_compiled: a processor server on a loopback port, in a translation
// unit of its own, built against slicerbridge::compiled like the client half.
#include "compiled_server.hpp"

#include <slicerbridge/description_builder.hpp>
#include <slicerbridge/server.hpp>

#include <asio/ip/address.hpp>

namespace {

slicerbridge::processor consumer_compiled_doubler() {
    using namespace slicerbridge;
    processor p;
    p.description = description_builder("double")
                        .title("Double")
                        .describe("Doubles every voxel of an int16 volume.")
                        .input("volume", image_kind::scalar, "An int16 volume")
                        .output("result", image_kind::scalar, "Twice the volume")
                        .build();
    p.run = [](call_context&, const invoke_params& params) {
        const image in = params.input_as<image>("volume")->to_native_byte_order();
        image out = image::allocate(in.dims, dtype::int16);
        const std::uint64_t count = in.dims[0] * in.dims[1] * in.dims[2];
        for (std::uint64_t i = 0; i < count; ++i) {
            out.mutable_voxels<std::int16_t>()[i] =
                static_cast<std::int16_t>(2 * in.voxels<std::int16_t>()[i]);
        }
        invoke_result r;
        r.outputs.emplace_back("result", std::move(out));
        return r;
    };
    return p;
}

} // namespace

struct consumer_compiled_server::state {
    explicit state(asio::io_context& io) : server(io.get_executor()) {}
    slicerbridge::server server;
};

consumer_compiled_server::consumer_compiled_server(asio::io_context& io)
    : state_(std::make_unique<state>(io)) {
    state_->server.add(consumer_compiled_doubler());
    port_ = state_->server.listen({asio::ip::make_address("127.0.0.1"), 0}).port();
}

consumer_compiled_server::~consumer_compiled_server() = default;
