#include "module_folder.hpp"

#include "this_process.hpp"

#include <slicerbridge/cli_module.hpp>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <system_error>

namespace slicerbridge {
namespace cli_module {

namespace fs = std::filesystem;
using cli::exit_file;
using cli::fail;

namespace {

/// Writes `text` to `path` through a temporary file in the same folder, renamed when complete.
void write_file_atomically(const fs::path& path, const std::string& text) {
    const fs::path temporary = path.string() + ".partial";
    {
        std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
        out << text;
        out.close();
        if (!out) {
            fail(exit_file, "cannot write " + temporary.string());
        }
    }
    std::error_code ec;
    fs::rename(temporary, path, ec);
    if (ec) {
        fs::remove(temporary, ec);
        fail(exit_file, "cannot write " + path.string() + ": " + ec.message());
    }
}

/// `entry` becomes `program` again: a hard link where the file system allows, else a copy.
void place_entry(const fs::path& program, const fs::path& entry) {
    const fs::path temporary = entry.string() + ".partial";
    std::error_code ec;
    fs::remove(temporary, ec);
    fs::create_hard_link(program, temporary, ec);
    if (ec) {
        ec.clear();
        fs::copy_file(program, temporary, fs::copy_options::overwrite_existing, ec);
    }
    if (!ec) {
        fs::permissions(temporary,
                        fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                            fs::perms::others_read | fs::perms::others_exec,
                        ec);
    }
    if (!ec) {
        fs::rename(temporary, entry, ec);
    }
    if (ec) {
        fs::remove(temporary, ec);
        fail(exit_file, "cannot place the module " + entry.string() + ": " + ec.message());
    }
}

std::optional<std::string> optional_string(const nlohmann::json& j, const char* key,
                                           const std::string& path) {
    const auto found = j.find(key);
    if (found == j.end() || found->is_null()) {
        return std::nullopt;
    }
    if (!found->is_string()) {
        fail(exit_file, path + ": \"" + key + "\" should be a string");
    }
    return found->get<std::string>();
}

} // namespace

cli::server_options folder_configuration::server_options() const {
    cli::server_options options;
    options.server = server;
    options.launch = launch;
    options.tls_ca = tls_ca;
    if (token_file) {
        options.token = cli::read_token_file(*token_file);
    }
    return options;
}

std::optional<folder_configuration> read_configuration(const std::string& folder) {
    const fs::path path = fs::path(folder) / configuration_name;
    std::ifstream in(path);
    if (!in) {
        return std::nullopt;
    }
    const std::string name = path.string();
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(in);
    } catch (const nlohmann::json::exception& e) {
        fail(exit_file, name + " is not valid JSON: " + e.what());
    }
    if (!j.is_object() || j.value("format", 0) != 1) {
        fail(exit_file, name + " is not a SlicerBridge module folder configuration (format 1)");
    }
    folder_configuration configuration;
    configuration.server = optional_string(j, "server", name);
    configuration.launch = optional_string(j, "launch", name);
    configuration.token_file = optional_string(j, "token_file", name);
    configuration.tls_ca = optional_string(j, "tls_ca", name);
    if (configuration.server.has_value() == configuration.launch.has_value()) {
        fail(exit_file, name + " should name either a \"server\" or a \"launch\" command");
    }
    const auto modules = j.find("modules");
    if (modules == j.end() || !modules->is_object()) {
        fail(exit_file, name + ": \"modules\" should map module names to processor names");
    }
    for (const auto& [module, processor] : modules->items()) {
        if (!processor.is_string()) {
            fail(exit_file, name + ": the processor of module " + module + " should be a string");
        }
        configuration.modules.emplace(module, processor.get<std::string>());
    }
    return configuration;
}

export_report export_modules(const std::string& folder, const std::string& program,
                             folder_configuration configuration,
                             const std::vector<processor_description>& catalog) {
    std::error_code ec;
    fs::create_directories(folder, ec);
    if (ec) {
        fail(exit_file, "cannot create the folder " + folder + ": " + ec.message());
    }
    const auto previous = read_configuration(folder);
    for (auto* path : {&configuration.token_file, &configuration.tls_ca}) {
        if (*path) {
            *path = fs::absolute(**path).lexically_normal().string();
        }
    }
    configuration.modules.clear();
    export_report report;
    for (const auto& description : catalog) {
        std::string what;
        const std::string xml = cli_module_xml(description, ec, what);
        if (ec) {
            report.skipped.push_back(what);
            continue;
        }
        const std::string module = cli_module_name(description.name);
        if (!configuration.modules.emplace(module, description.name).second) {
            report.skipped.push_back(description.name + ": its module name " + module +
                                     " is taken by " + configuration.modules[module]);
            continue;
        }
        write_file_atomically(fs::path(folder) / (module + ".xml"), xml);
        place_entry(program, fs::path(folder) / (module + entry_suffix));
        report.exported.push_back(description.name);
    }
    if (previous) {
        for (const auto& [module, processor] : previous->modules) {
            if (configuration.modules.count(module) == 0) {
                fs::remove(fs::path(folder) / (module + entry_suffix), ec);
                fs::remove(fs::path(folder) / (module + ".xml"), ec);
                report.removed.push_back(module);
            }
        }
    }
    nlohmann::ordered_json j;
    j["format"] = 1;
    const auto put = [&](const char* key, const std::optional<std::string>& text) {
        j[key] = text ? nlohmann::ordered_json(*text) : nlohmann::ordered_json(nullptr);
    };
    put("server", configuration.server);
    put("launch", configuration.launch);
    put("token_file", configuration.token_file);
    put("tls_ca", configuration.tls_ca);
    j["modules"] = configuration.modules;
    write_file_atomically(fs::path(folder) / configuration_name, j.dump(2) + "\n");
    return report;
}

} // namespace cli_module
} // namespace slicerbridge
