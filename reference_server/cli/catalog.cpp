// `list`, `describe` and `ping`.

#include "commands.hpp"
#include "describe.hpp"

#include <slicerbridge/json.hpp>

#include <algorithm>
#include <iomanip>
#include <iostream>
#include <memory>

namespace slicerbridge {
namespace cli {

command add_list_command(CLI::App& app) {
    auto* list = app.add_subcommand("list", "The server's processors.");
    return {list, [](const server_options& where) {
                return with_connection(where, [](connection& connected) {
                    const auto processors =
                        checked("catalog", [&] { return connected.client().catalog(); });
                    std::size_t width = 4;
                    for (const auto& d : processors) {
                        width = std::max(width, d.name.size());
                    }
                    for (const auto& d : processors) {
                        std::cout << std::left << std::setw(static_cast<int>(width) + 2) << d.name
                                  << d.title;
                        if (!d.category.empty()) {
                            std::cout << " (" << d.category << ")";
                        }
                        std::cout << "\n";
                    }
                    return exit_ok;
                });
            }};
}

command add_describe_command(CLI::App& app) {
    struct options {
        std::string processor;
        bool json = false;
    };
    auto o = std::make_shared<options>();
    auto* describe =
        app.add_subcommand("describe", "A processor's inputs, outputs and parameters.");
    describe->add_option("PROCESSOR", o->processor, "The processor's name")->required();
    describe->add_flag("--json", o->json, "The description as JSON");
    return {describe, [o](const server_options& where) {
                return with_connection(where, [&o](connection& connected) {
                    const auto d = connected.describe(o->processor);
                    if (o->json) {
                        std::cout << to_json<nlohmann::ordered_json>(to_value(d)).dump(2) << "\n";
                    } else {
                        print_description(std::cout, d);
                    }
                    return exit_ok;
                });
            }};
}

command add_ping_command(CLI::App& app) {
    auto* ping = app.add_subcommand("ping", "Round trip of an empty request.");
    return {ping, [](const server_options& where) {
                return with_connection(where, [](connection& connected) {
                    const double seconds =
                        checked("ping", [&] { return connected.client().ping(); });
                    std::cout << "pong in " << std::fixed << std::setprecision(3) << seconds * 1000
                              << " ms\n";
                    return exit_ok;
                });
            }};
}

} // namespace cli
} // namespace slicerbridge
