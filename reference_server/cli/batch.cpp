// `slicerbridge batch`: one processor over many files, with N calls in flight over a pool of
// connections (N servers, or a load balancer in front of them), idempotent calls sent again when
// a server is lost, one progress display, a summary, and resume. Its exit status: exit_ok when
// every item succeeded or was already done, exit_call_failed when any failed, exit_connection
// when no server could be reached, exit_cancelled after Ctrl-C.

#include "commands.hpp"

#include "exit_status.hpp"
#include "file_io.hpp"
#include "parameters.hpp"

#include <slicerbridge/json.hpp>
#include <slicerbridge/sync_pool.hpp>
#include <slicerbridge/transport/tls_client.hpp>

#include <asio/signal_set.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include <glob.h>
#include <unistd.h>

namespace slicerbridge {
namespace cli {

namespace {

struct batch_options {
    std::string processor;
    std::vector<std::pair<std::string, std::string>> inputs;
    std::vector<std::pair<std::string, std::string>> parameters;
    std::vector<std::pair<std::string, std::string>> outputs;
    std::string output_dir;
    std::size_t jobs = 4;
    std::size_t retries = 2;
    std::optional<double> deadline;
    bool resume = true;
    std::optional<std::string> summary_json;
    std::string progress = "auto";
    bool quiet = false;
};

enum class item_status { pending, skipped, ok, failed, cancelled };

const char* status_name(item_status s) {
    switch (s) {
    case item_status::pending:
        return "pending";
    case item_status::skipped:
        return "skipped";
    case item_status::ok:
        return "ok";
    case item_status::failed:
        return "FAILED";
    case item_status::cancelled:
        return "cancelled";
    }
    return "?";
}

struct item {
    std::string name;
    std::vector<std::pair<std::string, std::string>> inputs;  // slot, path
    std::vector<std::pair<std::string, std::string>> outputs; // slot, path
    item_status status = item_status::pending;
    std::string what;
    std::string server;
    std::string values; // scalar outputs, "name=value; ..."
    std::size_t attempts = 0;
    double seconds = 0.0;
    bool no_connection = false;
};

std::size_t parse_count(const std::string& flag, const std::string& text, std::size_t minimum) {
    const std::int64_t n = parse_int(flag, text);
    if (n < static_cast<std::int64_t>(minimum) || n > 4096) {
        fail(exit_usage, flag + " expects an integer from " + std::to_string(minimum) +
                             " to 4096, not \"" + text + "\"");
    }
    return static_cast<std::size_t>(n);
}

/// The options as given, checked into batch_options before connecting.
struct batch_flags {
    std::string processor;
    std::vector<std::string> inputs;
    std::vector<std::string> parameters;
    std::vector<std::string> outputs;
    std::string output_dir;
    std::string jobs = "4";
    std::string retries = "2";
    std::optional<std::string> deadline;
    bool no_resume = false;
    std::optional<std::string> summary_json;
    std::string progress = "auto";
    bool quiet = false;
};

batch_options checked_options(const batch_flags& f) {
    batch_options o;
    o.processor = f.processor;
    o.inputs = split_assignments("--input", f.inputs);
    o.parameters = split_assignments("--param", f.parameters);
    o.outputs = split_assignments("--output", f.outputs);
    o.output_dir = f.output_dir;
    o.jobs = parse_count("--jobs", f.jobs, 1);
    o.retries = parse_count("--retries", f.retries, 0);
    if (f.deadline) {
        o.deadline = parse_seconds("--deadline", *f.deadline);
    }
    o.resume = !f.no_resume;
    o.summary_json = f.summary_json;
    o.progress = f.progress;
    o.quiet = f.quiet;
    return o;
}

std::vector<std::string> expand(const std::string& pattern) {
    glob_t found{};
    const int status = ::glob(pattern.c_str(), GLOB_ERR, nullptr, &found);
    std::vector<std::string> paths;
    if (status == 0) {
        for (std::size_t i = 0; i < found.gl_pathc; ++i) {
            paths.emplace_back(found.gl_pathv[i]);
        }
    }
    ::globfree(&found);
    if (status != 0 && status != GLOB_NOMATCH) {
        fail(exit_file, "cannot read the folders of \"" + pattern + "\"");
    }
    std::sort(paths.begin(), paths.end());
    return paths;
}

/// "case01" from "/data/case01.nii.gz".
std::string item_name(const std::string& path) {
    std::string name = std::filesystem::path(path).filename().string();
    for (const char* doubled : {".nii.gz", ".mrk.json"}) {
        const std::string suffix = doubled;
        if (name.size() > suffix.size() &&
            name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
            return name.substr(0, name.size() - suffix.size());
        }
    }
    const auto dot = name.rfind('.');
    return dot == std::string::npos || dot == 0 ? name : name.substr(0, dot);
}

std::string default_extension(const slot& s, const std::string& first_image_input) {
    switch (s.type) {
    case slot_type::image: {
        const std::string ext =
            first_image_input.empty() ? std::string() : files::extension_of(first_image_input);
        for (const char* kept : {".nrrd", ".nhdr", ".nii", ".nii.gz", ".mha", ".mhd", ".vti"}) {
            if (ext == kept) {
                return ext == ".nhdr" ? ".nrrd" : ext;
            }
        }
        return ".nrrd";
    }
    case slot_type::mesh:
        return ".vtp";
    case slot_type::table:
        return ".csv";
    case slot_type::transform:
        return ".tfm";
    case slot_type::image_series:
        return ".nrrd"; // a MultiVolume NRRD file
    default:
        return ".mrk.json";
    }
}

std::string replace_all(std::string text, const std::string& what, const std::string& with) {
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at)) {
        text.replace(at, what.size(), with);
        at += with.size();
    }
    return text;
}

std::string scalar_text(const parameter_value& p) {
    return std::visit(
        [](const auto& held) -> std::string {
            using T = std::decay_t<decltype(held)>;
            std::ostringstream out;
            if constexpr (std::is_same_v<T, bool>) {
                out << (held ? "true" : "false");
            } else if constexpr (std::is_same_v<T, std::string> || std::is_arithmetic_v<T>) {
                out << held;
            } else {
                for (std::size_t i = 0; i < held.size(); ++i) {
                    out << (i == 0 ? "" : ",") << held[i];
                }
            }
            return out.str();
        },
        p.get());
}

/// The whole batch on standard error: a bar redrawn in place, or a line per finished item.
class batch_progress {
public:
    enum class mode { none, bar, lines };

    batch_progress(mode m, std::size_t total) : mode_(m), total_(total) {}

    void finished(const item& it, std::size_t done, std::size_t ok, std::size_t failed,
                  std::size_t running, const pool_status& pool) {
        std::lock_guard<std::mutex> lock(mutex_);
        if (mode_ == mode::lines) {
            std::cerr << "batch: " << done << "/" << total_ << " " << it.name << " "
                      << status_name(it.status);
            if (!it.server.empty()) {
                std::cerr << " on " << it.server;
            }
            if (it.attempts > 1) {
                std::cerr << " (sent " << it.attempts << " times)";
            }
            std::cerr << std::endl;
        } else if (mode_ == mode::bar) {
            constexpr std::size_t width = 30;
            const std::size_t filled = total_ == 0 ? width : done * width / total_;
            std::cerr << "\r[" << std::string(filled, '#') << std::string(width - filled, ' ')
                      << "] " << done << "/" << total_ << "  ok " << ok << "  failed " << failed
                      << "  running " << running << "  connections " << pool.open << "  lost "
                      << pool.lost << "  resent " << pool.resent << "\x1b[K" << std::flush;
            drawn_ = true;
        }
    }

    void clear() {
        std::lock_guard<std::mutex> lock(mutex_);
        if (drawn_) {
            std::cerr << "\r\x1b[K" << std::flush;
            drawn_ = false;
        }
    }

private:
    mode mode_;
    std::size_t total_;
    bool drawn_ = false;
    std::mutex mutex_;
};

pool_connector make_connector(const server_options& where,
                              std::unique_ptr<tls_client_context>& tls) {
    if (where.launch) {
        auto argv = split_command(*where.launch);
        if (argv.empty()) {
            fail(exit_usage, "--launch: empty command");
        }
        return launch_each(std::move(argv));
    }
    const std::string text = where.server.value_or("");
    const auto parsed = address::parse(text);
    if (!parsed) {
        fail(exit_usage, "the server address should be HOST:PORT, tls://HOST:PORT or unix:PATH, "
                         "not \"" +
                             text + "\"");
    }
    if (parsed->kind == address::transport::tls) {
        std::error_code ec;
        tls = std::make_unique<tls_client_context>(parsed->host, where.tls_ca, ec);
        if (ec) {
            fail(exit_file, "cannot read the CA certificates in " + where.tls_ca.value_or("") +
                                ": " + ec.message());
        }
        return connect_to(*parsed, &tls->context());
    }
    return connect_to(*parsed);
}

void write_json_summary(const std::string& path, const batch_options& o,
                        const std::vector<item>& items, const pool_status& pool) {
    nlohmann::ordered_json out;
    out["processor"] = o.processor;
    auto& list = out["items"] = nlohmann::ordered_json::array();
    for (const auto& it : items) {
        nlohmann::ordered_json entry;
        entry["item"] = it.name;
        entry["status"] = it.status == item_status::failed ? "failed" : status_name(it.status);
        entry["attempts"] = it.attempts;
        entry["seconds"] = it.seconds;
        entry["server"] = it.server;
        entry["values"] = it.values;
        entry["error"] = it.what;
        auto& outputs = entry["outputs"] = nlohmann::ordered_json::object();
        for (const auto& [name, file] : it.outputs) {
            outputs[name] = file;
        }
        list.push_back(std::move(entry));
    }
    out["connections"] = {{"opened", pool.opened},
                          {"lost", pool.lost},
                          {"resent", pool.resent},
                          {"failed_connects", pool.failed_connects}};
    std::ofstream file(path);
    file << out.dump(2) << "\n";
    if (!file) {
        fail(exit_file, "cannot write the summary " + path);
    }
}

int batch(const server_options& where, const batch_options& o) {

    // Items: inputs matching several files are paired in sorted order.
    std::vector<std::pair<std::string, std::vector<std::string>>> matched;
    std::size_t count = 1;
    std::string per_item_input;
    for (const auto& [name, pattern] : o.inputs) {
        auto paths = expand(pattern);
        if (paths.empty()) {
            fail(exit_file, "no file matches --input " + name + "=" + pattern);
        }
        if (paths.size() > 1) {
            if (per_item_input.empty()) {
                per_item_input = name;
                count = paths.size();
            } else if (paths.size() != count) {
                fail(exit_usage, "--input " + name + " matches " + std::to_string(paths.size()) +
                                     " files and --input " + per_item_input + " " +
                                     std::to_string(count) + ": they cannot be paired");
            }
        }
        matched.emplace_back(name, std::move(paths));
    }
    std::vector<item> items(count);
    std::set<std::string> names;
    for (std::size_t i = 0; i < count; ++i) {
        for (const auto& [name, paths] : matched) {
            const std::string& path = paths.size() == 1 ? paths[0] : paths[i];
            items[i].inputs.emplace_back(name, path);
            if (name == per_item_input || (per_item_input.empty() && items[i].name.empty())) {
                items[i].name = item_name(path);
            }
        }
        if (!names.insert(items[i].name).second) {
            fail(exit_usage, "two inputs give the item name \"" + items[i].name +
                                 "\": outputs would overwrite each other");
        }
    }

    std::unique_ptr<tls_client_context> tls;
    pool_options pool_opts;
    pool_opts.connections = o.jobs;
    pool_opts.calls_per_connection = 1;
    pool_opts.max_retries = o.retries;
    pool_opts.client.name = program;
    pool_opts.client.token = where.token;
    sync_pool pool(make_connector(where, tls), pool_opts);
    const std::string peer = where.launch ? *where.launch : where.server.value_or("");

    std::vector<processor_description> catalog;
    try {
        catalog = pool.catalog();
    } catch (const std::system_error& e) {
        fail(exit_connection, "cannot reach " + peer + ": " + e.what());
    }
    const auto described = std::find_if(catalog.begin(), catalog.end(),
                                        [&](const auto& d) { return d.name == o.processor; });
    if (described == catalog.end()) {
        fail(exit_call_failed, "the server has no processor \"" + o.processor + "\"");
    }
    const processor_description& d = *described;

    invoke_params common;
    common.processor = d.name;
    common.deadline = o.deadline;
    for (const auto& [name, text] : o.parameters) {
        const slot* s = find_slot(d.parameters, name);
        if (s == nullptr) {
            fail(exit_usage, d.name + " has no parameter named \"" + name +
                                 "\" (its parameters: " + slot_names(d.parameters) + ")");
        }
        common.parameters.emplace_back(name, parse_parameter(*s, text));
    }
    std::string first_image_input;
    std::map<std::string, const slot*> input_slots;
    for (const auto& [name, paths] : matched) {
        const slot* s = find_slot(d.inputs, name);
        if (s == nullptr) {
            fail(exit_usage, d.name + " has no input named \"" + name +
                                 "\" (its inputs: " + slot_names(d.inputs) + ")");
        }
        input_slots[name] = s;
        if (s->type == slot_type::image && first_image_input.empty()) {
            first_image_input = paths[0];
        }
    }
    // Outputs: the ones asked for, else every output that is not optional.
    std::vector<std::pair<const slot*, std::string>> wanted;
    for (const auto& [name, pattern] : o.outputs) {
        const slot* s = find_slot(d.outputs, name);
        if (s == nullptr) {
            fail(exit_usage, d.name + " has no output named \"" + name +
                                 "\" (its outputs: " + slot_names(d.outputs) + ")");
        }
        if (is_scalar_output(*s)) {
            fail(exit_usage, name + " is a value, listed in the summary, not a file");
        }
        wanted.emplace_back(s, pattern);
    }
    if (o.outputs.empty()) {
        for (const auto& s : d.outputs) {
            if (!is_scalar_output(s) && !s.optional) {
                wanted.emplace_back(&s,
                                    "{item}_" + s.name + default_extension(s, first_image_input));
            }
        }
    }
    std::error_code dir_ec;
    std::filesystem::create_directories(o.output_dir, dir_ec);
    if (dir_ec) {
        fail(exit_file,
             "cannot create the output folder " + o.output_dir + ": " + dir_ec.message());
    }
    std::set<std::string> targets;
    std::size_t skipped = 0;
    for (auto& it : items) {
        bool all_there = !wanted.empty();
        for (const auto& [s, pattern] : wanted) {
            const std::string path =
                (std::filesystem::path(o.output_dir) / replace_all(pattern, "{item}", it.name))
                    .string();
            if (!targets.insert(path).second) {
                fail(exit_usage, "two outputs would be written to " + path +
                                     " (put {item} in --output patterns)");
            }
            it.outputs.emplace_back(s->name, path);
            all_there = all_there && std::filesystem::exists(path);
        }
        if (o.resume && all_there) {
            it.status = item_status::skipped;
            ++skipped;
        }
    }
    for (std::size_t k = 0; k < wanted.size(); ++k) { // a typo fails before any computation
        try {
            files::check_writable(items[0].outputs[k].second, wanted[k].first->type);
        } catch (const files::file_error& e) {
            fail(exit_file, e.what());
        }
    }

    // Inputs that every item shares are read once.
    std::mutex file_mutex; // ITK and VTK readers and writers, one at a time
    std::map<std::string, data_value> shared_inputs;
    for (const auto& [name, paths] : matched) {
        if (paths.size() == 1 && count > 1) {
            try {
                shared_inputs.emplace(name, files::read_data(paths[0], input_slots[name]->type,
                                                             input_slots[name]->image_kind));
            } catch (const files::file_error& e) {
                fail(exit_file, e.what());
            }
        }
    }

    auto mode = batch_progress::mode::none;
    if (!o.quiet &&
        (o.progress == "bar" || (o.progress == "auto" && ::isatty(STDERR_FILENO) == 1))) {
        mode = batch_progress::mode::bar;
    } else if (!o.quiet && o.progress == "lines") {
        mode = batch_progress::mode::lines;
    }
    batch_progress display(mode, items.size());

    std::atomic<bool> interrupted{false};
    asio::signal_set signals(pool.async_pool().get_executor(), SIGINT, SIGTERM);
    std::function<void(std::error_code, int)> on_signal = [&](std::error_code ec, int) {
        if (ec) {
            return;
        }
        if (interrupted.exchange(true)) {
            std::_Exit(exit_cancelled);
        }
        std::cerr << "\n" << program << ": stopping the batch (Ctrl-C again to exit now)\n";
        pool.close();
        signals.async_wait(on_signal);
    };
    signals.async_wait(on_signal);

    std::atomic<std::size_t> next{0};
    std::mutex progress_mutex;
    std::size_t done = skipped;
    std::size_t ok = 0;
    std::size_t failed = 0;
    std::size_t running = 0;
    const auto started = std::chrono::steady_clock::now();

    auto work = [&] {
        for (std::size_t i = next++; i < items.size(); i = next++) {
            item& it = items[i];
            if (it.status == item_status::skipped) {
                continue;
            }
            if (interrupted) {
                it.status = item_status::cancelled;
                continue;
            }
            {
                std::lock_guard<std::mutex> lock(progress_mutex);
                ++running;
            }
            const auto item_started = std::chrono::steady_clock::now();
            invoke_params params = common;
            bool readable = true;
            for (const auto& [name, path] : it.inputs) {
                if (auto shared = shared_inputs.find(name); shared != shared_inputs.end()) {
                    params.inputs.emplace_back(name, shared->second);
                    continue;
                }
                try {
                    std::lock_guard<std::mutex> lock(file_mutex);
                    params.inputs.emplace_back(name,
                                               files::read_data(path, input_slots[name]->type,
                                                                input_slots[name]->image_kind));
                } catch (const files::file_error& e) {
                    it.status = item_status::failed;
                    it.what = e.what();
                    readable = false;
                    break;
                }
            }
            if (readable) {
                std::error_code ec;
                pooled_reply reply = pool.invoke(std::move(params), {}, ec);
                it.attempts = reply.attempts;
                it.server = reply.peer;
                if (ec == pool_error::closed && interrupted) {
                    it.status = item_status::cancelled;
                } else if (ec) {
                    it.status = item_status::failed;
                    it.no_connection = ec == pool_error::no_connection;
                    it.what = (reply.what.empty() ? ec.message() : reply.what) + " (" +
                              ec.category().name() + " " + std::to_string(ec.value()) + ")";
                } else {
                    it.status = item_status::ok;
                    for (const auto& [name, path] : it.outputs) {
                        const data_value* data = reply.result.output(name);
                        if (data == nullptr) {
                            it.status = item_status::failed;
                            it.what = d.name + " returned no output " + name;
                            break;
                        }
                        try {
                            std::lock_guard<std::mutex> lock(file_mutex);
                            files::write_data(*data, path);
                        } catch (const files::file_error& e) {
                            it.status = item_status::failed;
                            it.what = e.what();
                            break;
                        }
                    }
                    for (const auto& [name, scalar] : reply.result.scalars) {
                        it.values +=
                            (it.values.empty() ? "" : "; ") + name + "=" + scalar_text(scalar);
                    }
                }
            }
            it.seconds =
                std::chrono::duration<double>(std::chrono::steady_clock::now() - item_started)
                    .count();
            std::lock_guard<std::mutex> lock(progress_mutex);
            --running;
            ++done;
            if (it.status == item_status::ok) {
                ++ok;
            } else if (it.status == item_status::failed) {
                ++failed;
            }
            display.finished(it, done, ok, failed, running, pool.status());
        }
    };
    std::vector<std::thread> workers;
    for (std::size_t j = 0; j < std::min(o.jobs, items.size()); ++j) {
        workers.emplace_back(work);
    }
    for (auto& t : workers) {
        t.join();
    }
    display.clear();
    std::error_code ignored;
    signals.cancel(ignored);
    if (!interrupted) {
        pool.goodbye();
    }
    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    const pool_status status = pool.status();

    // The summary: a table on standard output, the failures again on standard error.
    std::size_t width = 4;
    for (const auto& it : items) {
        width = std::max(width, it.name.size());
    }
    std::cout << std::left << std::setw(static_cast<int>(width) + 2) << "item" << std::setw(11)
              << "status" << std::setw(9) << "attempts" << std::setw(10) << "seconds"
              << "server / error\n";
    std::size_t cancelled = 0;
    for (const auto& it : items) {
        cancelled += it.status == item_status::cancelled || it.status == item_status::pending;
        if (o.quiet && it.status != item_status::failed) {
            continue;
        }
        std::cout << std::left << std::setw(static_cast<int>(width) + 2) << it.name << std::setw(11)
                  << status_name(it.status) << std::setw(9) << it.attempts << std::setw(10)
                  << std::fixed << std::setprecision(3) << it.seconds
                  << (it.status == item_status::failed ? it.what : it.server)
                  << (it.values.empty() ? "" : "  " + it.values) << "\n";
    }
    std::cout << "batch " << d.name << ": " << items.size() << " items, " << ok << " ok, "
              << skipped << " skipped (outputs already written), " << failed << " failed";
    if (cancelled > 0) {
        std::cout << ", " << cancelled << " not run (interrupted)";
    }
    std::cout << "; " << std::fixed << std::setprecision(2) << elapsed
              << " s; connections: " << status.opened << " opened, " << status.lost << " lost, "
              << status.resent << " calls sent again\n"
              << std::flush;
    for (const auto& it : items) {
        if (it.status == item_status::failed) {
            std::cerr << program << ": " << it.name << " failed: " << it.what << "\n";
        }
    }
    if (o.summary_json) {
        write_json_summary(*o.summary_json, o, items, status);
    }
    if (interrupted) {
        return exit_cancelled;
    }
    if (failed > 0) {
        const bool unreachable = std::all_of(items.begin(), items.end(), [](const item& it) {
            return it.status != item_status::failed || it.no_connection;
        });
        return unreachable && ok == 0 ? exit_connection : exit_call_failed;
    }
    return exit_ok;
}

} // namespace

command add_batch_command(CLI::App& app) {
    auto f = std::make_shared<batch_flags>();
    auto* batch_command = app.add_subcommand(
        "batch", "Runs a processor on many files, N calls at a time, over N connections (to one "
                 "server, or to a load balancer in front of many).");
    batch_command->add_option("PROCESSOR", f->processor, "The processor's name")->required();
    batch_command
        ->add_option("--input", f->inputs,
                     "Files for input NAME (repeatable; quote the pattern). Inputs matching "
                     "several files must match as many each: they are paired in sorted order, "
                     "one item per file; an input matching one file is given to every item")
        ->type_name("NAME=GLOB")
        ->allow_extra_args(false)
        ->required();
    batch_command->add_option("--param", f->parameters, "A parameter for every item (repeatable)")
        ->type_name("NAME=VALUE")
        ->allow_extra_args(false);
    batch_command
        ->add_option("--output", f->outputs,
                     "Where output NAME goes, in --output-dir; {item} is the item's name (the "
                     "first multi-file input's file name without its extension). Default: every "
                     "output that is not optional, as {item}_NAME.EXT (an image keeps its "
                     "input's format)")
        ->type_name("NAME=PATTERN")
        ->allow_extra_args(false);
    batch_command->add_option("--output-dir", f->output_dir, "Created if missing")
        ->type_name("DIR")
        ->required();
    batch_command->add_option("--jobs", f->jobs, "Connections, and calls in flight (1 to 4096)")
        ->type_name("N")
        ->capture_default_str();
    batch_command
        ->add_option("--retries", f->retries,
                     "How many times a call to an idempotent processor is sent again after "
                     "losing its server (0 to 4096). Other calls are not sent again: they fail, "
                     "naming the lost server")
        ->type_name("N")
        ->capture_default_str();
    batch_command
        ->add_option("--deadline", f->deadline,
                     "Ask the server to give up on each call after this long")
        ->type_name("SECONDS");
    batch_command->add_flag("--no-resume", f->no_resume,
                            "Run every item; by default an item whose output files all exist is "
                            "skipped (outputs are renamed into place when complete, so an "
                            "existing file is a whole one)");
    batch_command->add_option("--summary-json", f->summary_json, "Also write the summary as JSON")
        ->type_name("FILE");
    add_progress_option(*batch_command, f->progress, "a line per item on standard error");
    batch_command->add_flag("--quiet", f->quiet,
                            "No progress; the summary table only lists failures");
    return {batch_command,
            [f](const server_options& where) { return batch(where, checked_options(*f)); }};
}

} // namespace cli
} // namespace slicerbridge
