// slicerbridge-cli-module: SlicerBridge processors as Slicer CLI modules, MATLABBridge-style.
//
// One program, two roles, chosen by the name it is run under:
// - an entry of an exported folder (its name is a module of the folder's configuration): it is
//   that processor as a CLI module. `--xml` prints the module's XML; otherwise it takes the
//   command line Slicer builds from that XML, reads the input files, runs the processor on the
//   folder's server, reports progress in the Execution Model's tags, writes the outputs, and
//   cancels the call when Slicer kills it (SIGTERM; a SIGKILL drops the connection, and the
//   server cancels the calls of a dropped connection).
// - under any other name: the exporter, itself a CLI module (`--xml`), that writes every
//   processor of a server into a folder for Slicer's "Additional module paths".

#include "connection.hpp"
#include "exit_status.hpp"
#include "file_io.hpp"
#include "interrupt.hpp"
#include "module_folder.hpp"
#include "parameters.hpp"
#include "this_process.hpp"

#include <slicerbridge/cli_module.hpp>
#include <slicerbridge/message/progress.hpp>
#include <slicerbridge/sync_client.hpp>
#include <slicerbridge/version.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace {

using namespace slicerbridge;
using namespace slicerbridge::cli;
using namespace slicerbridge::cli_module;
namespace fs = std::filesystem;

constexpr const char* program = "slicerbridge-cli-module";

// The exporter's own module. Flags follow the Execution Model's name rule (no dashes inside).
constexpr const char* exporter_xml = R"(<?xml version="1.0" encoding="utf-8"?>
<executable>
  <category>SlicerBridge</category>
  <title>SlicerBridge Export</title>
  <description>Writes every processor of a SlicerBridge server into a folder as CLI modules. Add the folder to Settings, Modules, Additional module paths and restart Slicer: each processor then appears as a module of its own.</description>
  <version>)" SLICERBRIDGE_VERSION_STRING R"(</version>
  <contributor>SlicerBridge contributors</contributor>
  <parameters>
    <label>Server</label>
    <description>Where the processors are</description>
    <string>
      <name>server</name>
      <longflag>server</longflag>
      <description>HOST:PORT, tls://HOST:PORT or unix:PATH. Leave empty to launch a command instead.</description>
      <label>Server address</label>
    </string>
    <string>
      <name>launch</name>
      <longflag>launch</longflag>
      <description>A command that serves processors over its standard input and output, with absolute paths, for example /opt/conda/envs/seg/bin/python -m slicerbridge serve --stdio</description>
      <label>Or launch command</label>
    </string>
    <file>
      <name>token_file</name>
      <longflag>token_file</longflag>
      <description>A file whose first line is the server's token (the token never appears on a command line)</description>
      <label>Token file</label>
      <channel>input</channel>
    </file>
    <file>
      <name>tls_ca</name>
      <longflag>tls_ca</longflag>
      <description>CA certificates that sign a tls:// server's certificate (default: the system's)</description>
      <label>CA certificates</label>
      <channel>input</channel>
    </file>
    <directory>
      <name>output_directory</name>
      <longflag>output_directory</longflag>
      <description>The folder to write the modules into; exporting again updates it</description>
      <label>Module folder</label>
      <channel>output</channel>
    </directory>
  </parameters>
</executable>
)";

constexpr const char* usage_text = R"(Usage:
  slicerbridge-cli-module (--server ADDR | --launch "CMD ARGS") [--token_file FILE]
                          [--tls_ca FILE] --output_directory DIR
  slicerbridge-cli-module --xml

Writes every processor of a SlicerBridge server into DIR as a 3D Slicer CLI module: per
processor an entry that Slicer runs and its XML, and slicerbridge-modules.json, which says where
the server is (the token stays in its file). Add DIR to Slicer's Settings > Modules > Additional
module paths. Exporting again updates the folder. Under an exported entry's name this program is
that processor's module, and takes the command line Slicer builds from its XML.

Exit status: 0 success, 1 the call failed, 2 usage error, 3 connection or protocol failure,
4 a file could not be read or written, 130 cancelled.
)";

/// The Execution Model's progress tags on standard output, each flushed at once: Slicer reads
/// them while the module runs.
class sem_progress {
public:
    explicit sem_progress(std::string name) : name_(std::move(name)) {}

    void start(const std::string& comment) {
        std::lock_guard<std::mutex> lock(mutex_);
        started_ = std::chrono::steady_clock::now();
        std::cout << "<filter-start>\n<filter-name>" << name_ << "</filter-name>\n"
                  << "<filter-comment>" << comment << "</filter-comment>\n</filter-start>\n"
                  << std::flush;
    }

    void report(double fraction, const std::string& message) {
        std::lock_guard<std::mutex> lock(mutex_);
        if (!message.empty() && message != last_message_) {
            std::cout << "<filter-comment>" << escaped(message) << "</filter-comment>\n";
            last_message_ = message;
        }
        std::cout << "<filter-progress>" << fraction << "</filter-progress>\n" << std::flush;
    }

    void end() {
        std::lock_guard<std::mutex> lock(mutex_);
        const std::chrono::duration<double> took = std::chrono::steady_clock::now() - started_;
        std::cout << "<filter-end>\n<filter-name>" << name_ << "</filter-name>\n<filter-time>"
                  << took.count() << "</filter-time>\n</filter-end>\n"
                  << std::flush;
    }

private:
    static std::string escaped(const std::string& text) {
        std::string out;
        for (const char c : text) {
            out += c == '<'   ? std::string("&lt;")
                   : c == '>' ? std::string("&gt;")
                              : std::string(1, c);
        }
        return out;
    }

    std::string name_;
    std::mutex mutex_;
    std::string last_message_;
    std::chrono::steady_clock::time_point started_;
};

/// A command line as flags (`--flag value`, `--flag=value`, a bare `--flag` where
/// `takes_value(flag)` says so) and positional arguments, in order.
struct parsed_arguments {
    std::vector<std::pair<std::string, std::optional<std::string>>> flags;
    std::vector<std::string> positional;
    bool xml = false;
    bool help = false;
};

template <class TakesValue>
parsed_arguments parse_arguments(int argc, char** argv, TakesValue takes_value) {
    parsed_arguments parsed;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--xml") {
            parsed.xml = true;
        } else if (arg == "--help" || arg == "-h") {
            parsed.help = true;
        } else if (arg.rfind("--", 0) != 0 || arg.size() == 2) {
            parsed.positional.push_back(arg);
        } else {
            std::string flag = arg.substr(2);
            std::optional<std::string> attached;
            if (const auto equals = flag.find('='); equals != std::string::npos) {
                attached = flag.substr(equals + 1);
                flag.erase(equals);
            }
            if (!takes_value(flag)) {
                if (attached) {
                    fail(exit_usage, "--" + flag + " takes no value");
                }
                parsed.flags.emplace_back(flag, std::nullopt);
            } else if (attached) {
                parsed.flags.emplace_back(flag, attached);
            } else if (i + 1 < argc) {
                parsed.flags.emplace_back(flag, std::string(argv[++i]));
            } else {
                fail(exit_usage, "--" + flag + " needs a value");
            }
        }
    }
    return parsed;
}

/// Fails unless `path`'s folder exists and can be written, before the computation does.
void check_output_folder(const std::string& name, const std::string& path) {
    const fs::path parent = fs::absolute(path).parent_path();
    if (!can_write_into(parent.string())) {
        fail(exit_file, "output " + name + ": cannot write into " + parent.string());
    }
}

// ---- one processor as a module ---------------------------------------------------------------

struct module_call {
    invoke_params params;
    std::vector<std::pair<std::string, std::string>> output_files; // slot, path
    std::optional<std::string> return_parameter_file;
};

std::string trim(const std::string& text, const char* blanks = " \t\r\n") {
    const auto first = text.find_first_not_of(blanks);
    return first == std::string::npos
               ? std::string()
               : text.substr(first, text.find_last_not_of(blanks) - first + 1);
}

/// The value of parameter slot `s` as Slicer writes it, checked against the slot: an integer
/// from a slider comes as a double ("1e+06"); vectors from slicer.cli's Python come as
/// "1, 2, 3" or "'a', 'b'"; a choice comes trimmed.
parameter_value module_parameter(const slot& s, const std::string& flag, const std::string& text) {
    std::string normal = text;
    if (s.type == slot_type::integer) {
        std::int64_t exact = 0;
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), exact);
        if (ec != std::errc() || end != text.data() + text.size()) {
            const double number = parse_float(s.name, text);
            if (number != std::floor(number) || std::fabs(number) > 9007199254740992.0) {
                fail(exit_usage, "--" + flag + " expects an integer, not \"" + text + "\"");
            }
            normal = std::to_string(static_cast<std::int64_t>(number));
        }
    } else if (s.type == slot_type::enumeration) {
        for (const auto& choice : s.choices) {
            if (choice != text && trim(choice) == text) {
                normal = choice;
            }
        }
    } else if (s.type == slot_type::int_vector || s.type == slot_type::float_vector ||
               s.type == slot_type::string_vector) {
        normal.clear();
        for (auto item : split_list(text)) {
            item = trim(item);
            if (s.type == slot_type::string_vector && item.size() >= 2 &&
                (item.front() == '\'' || item.front() == '"') && item.back() == item.front()) {
                item = item.substr(1, item.size() - 2);
            }
            normal += (normal.empty() ? "" : ",") + item;
        }
    }
    parameter_value p = parse_parameter(s, normal);
    std::string what;
    if (!check_parameter(s, p, what)) {
        fail(exit_usage, "--" + flag + " " + text + ": " + what);
    }
    return p;
}

module_call parse_module_arguments(const processor_description& d, int argc, char** argv) {
    const auto arguments = cli_module_arguments(d);
    std::map<std::string, const cli_module_argument*> by_flag;
    std::vector<const cli_module_argument*> positional;
    for (const auto& a : arguments) {
        if (a.index) {
            positional.push_back(&a);
        } else if (!a.returned()) {
            by_flag[a.flag] = &a;
        }
    }
    const auto parsed = parse_arguments(argc, argv, [&](const std::string& flag) {
        const auto found = by_flag.find(flag);
        return found == by_flag.end() || found->second->s->type != slot_type::boolean;
    });
    if (parsed.positional.size() != positional.size()) {
        std::string names;
        for (const auto* a : positional) {
            names += (names.empty() ? "" : ", ") + a->s->name;
        }
        fail(exit_usage, d.name + " takes " + std::to_string(positional.size()) +
                             " positional input file(s) (" + (names.empty() ? "none" : names) +
                             "), not " + std::to_string(parsed.positional.size()));
    }

    module_call call;
    call.params.processor = d.name;
    std::map<std::string, bool> given;
    const auto take = [&](const cli_module_argument& a, const std::string& shown,
                          const std::optional<std::string>& text) {
        const slot& s = *a.s;
        if (!given.emplace(s.name, true).second) {
            fail(exit_usage, shown + " is given twice");
        }
        if (a.r == cli_module_argument::role::input) {
            try {
                call.params.inputs.emplace_back(s.name,
                                                files::read_data(*text, s.type, s.image_kind));
            } catch (const files::file_error& e) {
                fail(exit_file, "input " + s.name + ": " + e.what());
            }
        } else if (a.r == cli_module_argument::role::output) {
            check_output_folder(s.name, *text);
            call.output_files.emplace_back(s.name, *text);
        } else if (s.type == slot_type::boolean) {
            call.params.parameters.emplace_back(s.name, true);
        } else if (!text->empty()) { // Slicer sends an empty number or choice it has no value for
            call.params.parameters.emplace_back(s.name, module_parameter(s, a.flag, *text));
        }
    };
    for (std::size_t i = 0; i < positional.size(); ++i) {
        take(*positional[i], positional[i]->s->name, parsed.positional[i]);
    }
    for (const auto& [flag, text] : parsed.flags) {
        if (flag == "returnparameterfile") {
            call.return_parameter_file = text;
            continue;
        }
        if (flag == "processinformationaddress") {
            continue; // Slicer's shared-memory channel for modules loaded as libraries
        }
        const auto found = by_flag.find(flag);
        if (found == by_flag.end()) {
            std::string flags;
            for (const auto& entry : by_flag) {
                flags += (flags.empty() ? "--" : ", --") + entry.first;
            }
            fail(exit_usage, d.name + " has no flag --" + flag +
                                 " (its flags: " + (flags.empty() ? "none" : flags) + ")");
        }
        take(*found->second, "--" + flag, text);
    }
    // A check box Slicer leaves unticked is an absent flag: false, whatever the default.
    for (const auto& s : d.parameters) {
        if (s.type == slot_type::boolean && given.count(s.name) == 0) {
            call.params.parameters.emplace_back(s.name, false);
        }
    }
    return call;
}

/// The scalar outputs as Slicer reads them back: `name = value` lines, no blank line (Slicer's
/// reader throws on one), a line break inside a value replaced by a space.
void write_return_parameters(const std::string& path, const processor_description& d,
                             const invoke_result& result) {
    std::string text;
    for (const auto& a : cli_module_arguments(d)) {
        if (!a.returned()) {
            continue;
        }
        if (const parameter_value* p = result.scalar(a.s->name)) {
            std::string shown = cli_module_value_text(*p);
            std::replace(shown.begin(), shown.end(), '\n', ' ');
            std::replace(shown.begin(), shown.end(), '\r', ' ');
            text += a.name + " = " + shown + "\n";
        }
    }
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
    out.close();
    if (!out) {
        fail(exit_file, "cannot write the return parameter file " + path);
    }
}

int run_module(const folder_configuration& folder, const fs::path& self, const std::string& module,
               const std::string& processor, int argc, char** argv) {
    const bool xml_only = std::any_of(argv + 1, argv + argc,
                                      [](const char* arg) { return std::string(arg) == "--xml"; });
    if (xml_only) {
        // The exported XML, without the network: Slicer gives `--xml` five seconds.
        std::ifstream exported(self.parent_path() / (module + ".xml"), std::ios::binary);
        if (exported) {
            std::cout << exported.rdbuf() << std::flush;
            return exit_ok;
        }
    }
    connection connected(folder.server_options(), program);
    sync_client& client = connected.client();
    const processor_description d =
        connected.describe(processor);
    if (xml_only) {
        std::cout << cli_module_xml(d) << std::flush;
        return exit_ok;
    }

    module_call call = parse_module_arguments(d, argc, argv);
    sem_progress progress(d.name);
    progress.start(d.title.empty() ? d.name : d.title);
    cancel_on_interrupt interrupt(client, program, client.reserve_call_id());
    invoke_options options;
    options.id = interrupt.id();
    options.on_progress = [&progress](const progress_params& p) {
        progress.report(p.fraction, p.message.value_or(""));
    };
    std::error_code ec;
    const invoke_reply reply = client.invoke(std::move(call.params), std::move(options), ec);
    if (ec == error::cancelled) {
        fail(exit_cancelled, d.name + " was cancelled");
    }
    if (ec) {
        const std::string message = reply.error ? reply.error->message : ec.message();
        fail(ec.category() == category() && ec.value() >= 100 ? exit_call_failed : exit_connection,
             d.name + " failed: " + message + " (" + std::to_string(ec.value()) + " " +
                 std::error_code(ec.value(), category()).message() + ")");
    }
    for (const auto& [name, path] : call.output_files) {
        const data_value* data = reply.result.output(name);
        if (data == nullptr) {
            fail(exit_call_failed, d.name + " returned no output " + name);
        }
        try {
            files::write_data(*data, path);
        } catch (const files::file_error& e) {
            fail(exit_file, "output " + name + ": " + e.what());
        }
    }
    if (call.return_parameter_file) {
        write_return_parameters(*call.return_parameter_file, d, reply.result);
    }
    progress.report(1.0, "");
    progress.end();
    client.goodbye();
    return exit_ok;
}

// ---- the exporter ----------------------------------------------------------------------------

int run_exporter(const std::string& self, int argc, char** argv) {
    const auto parsed = parse_arguments(argc, argv, [](const std::string&) { return true; });
    if (!parsed.positional.empty()) {
        fail(exit_usage, "unexpected argument \"" + parsed.positional.front() + "\"");
    }
    if (parsed.help) {
        std::cout << usage_text;
        return exit_ok;
    }
    if (parsed.xml) {
        std::cout << exporter_xml << std::flush;
        return exit_ok;
    }
    folder_configuration configuration;
    std::optional<std::string> folder;
    for (auto [flag, text] : parsed.flags) {
        std::replace(flag.begin(), flag.end(), '-', '_');
        if (text->empty()) {
            continue; // Slicer passes an empty string for an empty text field
        }
        if (flag == "server") {
            configuration.server = *text;
        } else if (flag == "launch") {
            configuration.launch = *text;
        } else if (flag == "token_file") {
            configuration.token_file = *text;
        } else if (flag == "tls_ca") {
            configuration.tls_ca = *text;
        } else if (flag == "output_directory") {
            folder = *text;
        } else {
            fail(exit_usage, "unknown option --" + flag);
        }
    }
    if (configuration.server.has_value() == configuration.launch.has_value()) {
        fail(exit_usage, "give either --server ADDR or --launch \"CMD ARGS\"");
    }
    if (!folder) {
        fail(exit_usage, "give the folder to export into: --output_directory DIR");
    }
    connection connected(configuration.server_options(), program);
    const auto catalog = checked("catalog", [&] { return connected.client().catalog(); });
    const auto report = export_modules(*folder, self, configuration, catalog);
    connected.client().goodbye();
    for (const auto& skipped : report.skipped) {
        std::cerr << program << ": skipped " << skipped << "\n";
    }
    for (const auto& removed : report.removed) {
        std::cout << "removed " << removed << " (no longer served)\n";
    }
    std::cout << "exported " << report.exported.size() << " processors of " << connected.peer()
              << " to " << fs::absolute(*folder).string()
              << "\nadd that folder to Slicer's Settings > Modules > Additional module paths\n";
    return report.skipped.empty() ? exit_ok : exit_call_failed;
}

/// The module an entry named `file_name` is: its name without the suffix Slicer requires of
/// programs (".exe" on Windows, compared without case as Windows names are).
std::string module_of(const std::string& file_name) {
    const std::string suffix = entry_suffix;
    if (suffix.empty() || file_name.size() <= suffix.size()) {
        return file_name;
    }
    std::string tail = file_name.substr(file_name.size() - suffix.size());
    std::transform(tail.begin(), tail.end(), tail.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return tail == suffix ? file_name.substr(0, file_name.size() - suffix.size()) : file_name;
}

int execute(int argc, char** argv) {
    // Slicer runs its modules with its own Python's environment; a processor launched from here
    // (a conda environment's Python, say) must not import Slicer's packages instead of its own.
    forget_python_environment();
    const fs::path self = own_path(argv[0]);
    if (const auto folder = read_configuration(self.parent_path().string())) {
        const auto module = folder->modules.find(module_of(self.filename().string()));
        if (module != folder->modules.end()) {
            return run_module(*folder, self, module->first, module->second, argc, argv);
        }
    }
    return run_exporter(self.string(), argc, argv);
}

} // namespace

int main(int argc, char** argv) {
    prepare_standard_output();
    try {
        return execute(argc, argv);
    } catch (const exit_failure& failure) {
        std::cerr << program << ": " << failure.message << "\n";
        return failure.status;
    } catch (const std::exception& e) {
        std::cerr << program << ": " << e.what() << "\n";
        return exit_connection;
    }
}
