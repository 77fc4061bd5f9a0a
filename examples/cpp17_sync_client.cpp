// A blocking client: connect, list the processors, run one on an image made here, check it.
//
//   cpp17_sync_client ADDRESS        (HOST:PORT, tls://HOST:PORT or unix:PATH)
//
// Talks to cpp17_minimal_server (add_constant) or the reference server (which has no
// add_constant: it then runs threshold).

#include <slicerbridge/message/invoke.hpp>
#include <slicerbridge/message/progress.hpp>
#include <slicerbridge/sync_client.hpp>

#include <iostream>
#include <vector>

namespace sb = slicerbridge;

int main(int argc, char** argv) {
    if (argc != 2) {
        std::cerr << "usage: cpp17_sync_client ADDRESS\n";
        return 2;
    }
    try {
        auto client = sb::sync_client::connect(argv[1]);
        const auto& hello = client->server_info();
        std::cout << "connected to "
                  << (hello.implementation ? hello.implementation->name : "a server") << ", protocol "
                  << hello.version.major << "." << hello.version.minor << "\n";

        bool has_add_constant = false;
        for (const auto& d : client->catalog()) {
            std::cout << "  " << d.name << ": " << d.title << "\n";
            has_add_constant = has_add_constant || d.name == "add_constant";
        }

        // A 32^3 float volume, 2 mm voxels, first voxel centred at (-31, -31, -31) mm RAS.
        std::vector<float> voxels(32 * 32 * 32, 10.0f);
        sb::matrix4 ijk_to_ras = {2, 0, 0, -31, 0, 2, 0, -31, 0, 0, 2, -31, 0, 0, 0, 1};
        sb::image volume = sb::image::adopt(std::move(voxels), {32, 32, 32}, ijk_to_ras);

        sb::invoke_params params;
        params.processor = has_add_constant ? "add_constant" : "threshold";
        params.inputs.emplace_back("volume", volume);
        params.parameters.emplace_back(has_add_constant ? "constant" : "lower", 5.0);

        sb::invoke_options options;
        options.on_progress = [](const sb::progress_params& p) {
            std::cout << "  progress " << static_cast<int>(p.fraction * 100) << "%\n";
        };
        const sb::invoke_reply reply = client->invoke(params, options);
        const auto& out = reply.result.outputs.front();
        const auto& result = std::get<sb::image>(out.second);
        std::cout << params.processor << " returned " << out.first << ": " << result.dims[0] << "x"
                  << result.dims[1] << "x" << result.dims[2] << " "
                  << sb::dtype_name(result.dtype) << ", same geometry: "
                  << (result.ijk_to_space == ijk_to_ras ? "yes" : "no") << "\n";
        if (reply.server_timings) {
            std::cout << "computing took " << reply.server_timings->computing << " s of "
                      << reply.round_trip << " s\n";
        }
        client->goodbye();
        return result.ijk_to_space == ijk_to_ras ? 0 : 1;
    } catch (const sb::call_error& e) {
        std::cerr << "call failed: " << e.what() << "\n";
        return 1;
    } catch (const std::exception& e) {
        std::cerr << "error: " << e.what() << "\n";
        return 1;
    }
}
