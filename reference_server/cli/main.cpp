// slicerbridge: the batch command line. Lists and describes a server's processors and runs one
// on files, keeping their geometry.

#include "file_io.hpp"

#include <slicerbridge/json.hpp>
#include <slicerbridge/message/invoke.hpp>
#include <slicerbridge/message/progress.hpp>
#include <slicerbridge/sync_client.hpp>
#include <slicerbridge/version.hpp>

#include <asio/signal_set.hpp>
#include <asio/ssl/context.hpp>
#include <asio/ssl/host_name_verification.hpp>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iomanip>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

namespace {

using namespace slicerbridge;

constexpr const char* program = "slicerbridge";

constexpr int exit_ok = 0;
constexpr int exit_call_failed = 1;
constexpr int exit_usage = 2;
constexpr int exit_connection = 3;
constexpr int exit_file = 4;
constexpr int exit_cancelled = 130;

constexpr const char* usage_text = R"(Usage: slicerbridge [--server ADDR | --launch "CMD ARGS"] [options] COMMAND ...

Runs SlicerBridge processors from the command line.

Commands:
  list                           The server's processors.
  describe PROCESSOR [--json]    A processor's inputs, outputs and parameters.
  run PROCESSOR [run options]    Runs a processor on files.
  ping                           Round trip of an empty request.

Run options:
  --input NAME=FILE              An input read from FILE (repeatable).
  --param NAME=VALUE             A parameter (repeatable). Vectors: comma-separated values;
                                 bools: true/false.
  --output NAME=FILE             Where to write an output (repeatable); a table may go to "-"
                                 (standard output, CSV).
  --deadline SECONDS             Ask the server to give up after this long.
  --timings                      Print where the time went (server: receiving, queued,
                                 computing, sending; client: round trip) on standard output.
  --progress MODE                auto (a bar when standard error is a terminal), bar, lines
                                 ("progress: 45% message" lines on standard error) or none.
  --quiet                        No progress and no summary of the outputs.

Connection:
  --server ADDR                  HOST:PORT, tls://HOST:PORT or unix:PATH
                                 (default: $SLICERBRIDGE_SERVER).
  --launch "CMD ARGS"            Start CMD ARGS and talk to it over its standard input and output
                                 (for example --launch "slicerbridge-server --stdio").
  --token TOKEN                  Token the server requires (default: $SLICERBRIDGE_TOKEN).
  --tls-ca FILE                  CA certificates to verify a tls:// server with (default: the
                                 system's).
  --help, --version

Files (the format follows the extension; files without a space of their own are LPS):
  %FORMATS%

Progress goes to standard error. Ctrl-C during run asks the server to
cancel the call and waits for its answer; a second Ctrl-C exits at once.

Exit status:
  0    success
  1    the call failed (the server's error is printed)
  2    usage error
  3    connection or protocol failure
  4    a file could not be read or written
  130  the call was cancelled
)";

/// A failure that ends the program with `status` after printing `message`.
struct exit_failure {
    int status;
    std::string message;
};

[[noreturn]] void fail(int status, std::string message) {
    throw exit_failure{status, std::move(message)};
}

struct options {
    std::optional<std::string> server;
    std::optional<std::string> launch;
    std::optional<std::string> token;
    std::optional<std::string> tls_ca;
    std::string command;
    std::vector<std::string> arguments;
};

options parse_global(int argc, char** argv) {
    options o;
    int i = 1;
    for (; i < argc; ++i) {
        const std::string arg = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) {
                fail(exit_usage, arg + " needs a value");
            }
            return argv[++i];
        };
        if (arg == "--help" || arg == "-h") {
            std::string text = usage_text;
            text.replace(text.find("%FORMATS%"), 9, files::supported_formats());
            std::cout << text;
            std::exit(exit_ok);
        } else if (arg == "--version") {
            std::cout << program << " " << SLICERBRIDGE_VERSION_STRING << " (protocol "
                      << protocol_max.major << "." << protocol_max.minor << ")\n";
            std::exit(exit_ok);
        } else if (arg == "--server") {
            o.server = value();
        } else if (arg == "--launch") {
            o.launch = value();
        } else if (arg == "--token") {
            o.token = value();
        } else if (arg == "--tls-ca") {
            o.tls_ca = value();
        } else if (!arg.empty() && arg[0] == '-') {
            fail(exit_usage, "unknown option \"" + arg + "\"");
        } else {
            break;
        }
    }
    if (i >= argc) {
        fail(exit_usage, "no command given");
    }
    o.command = argv[i++];
    o.arguments.assign(argv + i, argv + argc);
    if (o.server && o.launch) {
        fail(exit_usage, "give either --server or --launch");
    }
    if (!o.server && !o.launch) {
        if (const char* from_environment = std::getenv("SLICERBRIDGE_SERVER")) {
            o.server = from_environment;
        } else {
            fail(exit_usage, "no server: give --server ADDR, --launch \"CMD\" or set "
                             "SLICERBRIDGE_SERVER");
        }
    }
    if (!o.token) {
        if (const char* from_environment = std::getenv("SLICERBRIDGE_TOKEN")) {
            if (*from_environment != '\0') {
                o.token = from_environment;
            }
        }
    }
    return o;
}

/// Splits a command line on white space, honouring single and double quotes and backslashes.
std::vector<std::string> split_command(const std::string& text) {
    std::vector<std::string> words;
    std::string word;
    bool in_word = false;
    char quote = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (quote != 0) {
            if (c == quote) {
                quote = 0;
            } else if (c == '\\' && quote == '"' && i + 1 < text.size()) {
                word += text[++i];
            } else {
                word += c;
            }
        } else if (c == '\'' || c == '"') {
            quote = c;
            in_word = true;
        } else if (c == '\\' && i + 1 < text.size()) {
            word += text[++i];
            in_word = true;
        } else if (c == ' ' || c == '\t' || c == '\n') {
            if (in_word) {
                words.push_back(std::move(word));
                word.clear();
                in_word = false;
            }
        } else {
            word += c;
            in_word = true;
        }
    }
    if (quote != 0) {
        fail(exit_usage, "--launch: unterminated quote");
    }
    if (in_word) {
        words.push_back(std::move(word));
    }
    return words;
}

/// Connects as `o` says. A TLS context goes to `tls`, which must outlive the client.
std::unique_ptr<sync_client> connect(const options& o, std::unique_ptr<asio::ssl::context>& tls) {
    client_options client_options;
    client_options.name = program;
    client_options.token = o.token;
    try {
        if (o.launch) {
            const auto argv = split_command(*o.launch);
            if (argv.empty()) {
                fail(exit_usage, "--launch: empty command");
            }
            return sync_client::launch(argv, client_options);
        }
        const auto where = address::parse(*o.server);
        if (!where) {
            fail(exit_usage, "--server expects HOST:PORT, tls://HOST:PORT or unix:PATH, not \"" +
                                 *o.server + "\"");
        }
        if (where->kind != address::transport::tls) {
            return sync_client::connect(*o.server, client_options);
        }
        tls = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
        tls->set_verify_mode(asio::ssl::verify_peer); // [SEC-6]
        if (o.tls_ca) {
            std::error_code ec;
            tls->load_verify_file(*o.tls_ca, ec);
            if (ec) {
                fail(exit_file, "cannot read the CA certificates in " + *o.tls_ca + ": " +
                                    ec.message());
            }
        } else {
            tls->set_default_verify_paths();
        }
        tls->set_verify_callback(asio::ssl::host_name_verification(where->host));
        return sync_client::connect(*o.server, client_options, tls.get());
    } catch (const call_error& e) {
        fail(exit_connection, "the server refused the connection: " + std::string(e.what()));
    } catch (const std::system_error& e) {
        fail(exit_connection, "cannot connect to " + (o.launch ? *o.launch : *o.server) + ": " +
                                  e.what());
    }
}

/// Calls `f`; a failure of the call or the connection becomes an exit_failure.
template <class F>
auto checked(const std::string& what, F&& f) {
    try {
        return f();
    } catch (const call_error& e) {
        const int code = e.code().category() == category() ? e.code().value() : 0;
        if (code >= 100) {
            fail(exit_call_failed, what + " failed: " + e.what());
        }
        fail(exit_connection, what + " failed: " + e.what());
    } catch (const std::system_error& e) {
        fail(exit_connection, what + " failed: " + e.what());
    }
}

// ---- describe ----------------------------------------------------------------------------------

std::string slot_type_text(const slot& s) {
    std::string text(slot_type_name(s.type));
    if (s.image_kind) {
        text += " (" + std::string(image_kind_name(*s.image_kind)) + ")";
    }
    return text;
}

std::string value_text(const parameter_value& p) {
    return std::visit(
        [](const auto& held) -> std::string {
            using T = std::decay_t<decltype(held)>;
            std::ostringstream out;
            if constexpr (std::is_same_v<T, bool>) {
                out << (held ? "true" : "false");
            } else if constexpr (std::is_same_v<T, std::string>) {
                out << held;
            } else if constexpr (std::is_arithmetic_v<T>) {
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

void print_slots(std::ostream& out, const char* heading, const std::vector<slot>& slots) {
    out << heading << ":";
    if (slots.empty()) {
        out << " none\n";
        return;
    }
    out << "\n";
    std::string group;
    for (const auto& s : slots) {
        if (s.group != group && !s.group.empty()) {
            out << "  [" << s.group << "]\n";
        }
        group = s.group;
        std::ostringstream line;
        line << "  " << std::left << std::setw(22) << s.name << ' ' << std::setw(16)
             << slot_type_text(s);
        if (s.optional) {
            line << " optional";
        }
        if (s.default_value) {
            line << " = " << value_text(*s.default_value);
        }
        if (s.minimum || s.maximum) {
            line << " in [";
            if (s.minimum) {
                line << *s.minimum;
            }
            line << ", ";
            if (s.maximum) {
                line << *s.maximum;
            }
            line << "]";
        }
        if (!s.choices.empty()) {
            line << " one of";
            for (const auto& choice : s.choices) {
                line << ' ' << choice;
            }
        }
        std::string text = line.str();
        text.erase(text.find_last_not_of(' ') + 1);
        out << text << "\n";
        if (!s.label.empty() || !s.description.empty()) {
            out << "      " << s.label << (s.label.empty() || s.description.empty() ? "" : ": ")
                << s.description << "\n";
        }
    }
}

void print_description(std::ostream& out, const processor_description& d) {
    out << d.name << " " << d.version << ": " << d.title << "\n";
    if (!d.category.empty()) {
        out << "Category: " << d.category << "\n";
    }
    if (!d.contributor.empty()) {
        out << "Contributor: " << d.contributor << "\n";
    }
    if (!d.description.empty()) {
        out << "\n" << d.description << "\n";
    }
    out << "\n";
    print_slots(out, "Inputs", d.inputs);
    print_slots(out, "Outputs", d.outputs);
    print_slots(out, "Parameters", d.parameters);
}

// ---- run ---------------------------------------------------------------------------------------

std::pair<std::string, std::string> split_assignment(const std::string& flag,
                                                     const std::string& text) {
    const auto equals = text.find('=');
    if (equals == std::string::npos || equals == 0) {
        fail(exit_usage, flag + " expects NAME=VALUE, not \"" + text + "\"");
    }
    return {text.substr(0, equals), text.substr(equals + 1)};
}

const slot* find_slot(const std::vector<slot>& slots, const std::string& name) {
    for (const auto& s : slots) {
        if (s.name == name) {
            return &s;
        }
    }
    return nullptr;
}

[[noreturn]] void unknown_slot(const std::string& kind, const std::string& name,
                               const processor_description& d, const std::vector<slot>& slots) {
    std::string known;
    for (const auto& s : slots) {
        known += (known.empty() ? "" : ", ") + s.name;
    }
    fail(exit_usage, d.name + " has no " + kind + " named \"" + name + "\" (its " + kind +
                         "s: " + (known.empty() ? "none" : known) + ")");
}

std::int64_t parse_int(const std::string& name, const std::string& text) {
    std::int64_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
        fail(exit_usage, "parameter " + name + " expects an integer, not \"" + text + "\"");
    }
    return value;
}

double parse_float(const std::string& name, const std::string& text) {
    char* end = nullptr;
    errno = 0;
    const double value = std::strtod(text.c_str(), &end);
    if (text.empty() || end != text.c_str() + text.size() || errno == ERANGE) {
        fail(exit_usage, "parameter " + name + " expects a number, not \"" + text + "\"");
    }
    return value;
}

std::vector<std::string> split_list(const std::string& text) {
    std::vector<std::string> items;
    if (text.empty()) {
        return items;
    }
    std::stringstream in(text);
    std::string item;
    while (std::getline(in, item, ',')) {
        items.push_back(item);
    }
    if (text.back() == ',') {
        items.emplace_back();
    }
    return items;
}

parameter_value parse_parameter(const slot& s, const std::string& text) {
    switch (s.type) {
    case slot_type::boolean:
        if (text == "true" || text == "1" || text == "yes" || text == "on") {
            return true;
        }
        if (text == "false" || text == "0" || text == "no" || text == "off") {
            return false;
        }
        fail(exit_usage, "parameter " + s.name + " expects true or false, not \"" + text + "\"");
    case slot_type::integer:
        return parse_int(s.name, text);
    case slot_type::floating:
        return parse_float(s.name, text);
    case slot_type::enumeration:
        if (!s.choices.empty() &&
            std::find(s.choices.begin(), s.choices.end(), text) == s.choices.end()) {
            std::string choices;
            for (const auto& c : s.choices) {
                choices += (choices.empty() ? "" : ", ") + c;
            }
            fail(exit_usage, "parameter " + s.name + " expects one of " + choices + ", not \"" +
                                 text + "\"");
        }
        return text;
    case slot_type::int_vector: {
        std::vector<std::int64_t> values;
        for (const auto& item : split_list(text)) {
            values.push_back(parse_int(s.name, item));
        }
        return values;
    }
    case slot_type::float_vector: {
        std::vector<double> values;
        for (const auto& item : split_list(text)) {
            values.push_back(parse_float(s.name, item));
        }
        return values;
    }
    case slot_type::string_vector:
        return split_list(text);
    default:
        return text;
    }
}

std::string data_summary(const data_value& data) {
    std::ostringstream out;
    if (const auto* img = std::get_if<image>(&data)) {
        out << "image " << img->dims[0] << "x" << img->dims[1] << "x" << img->dims[2] << " "
            << dtype_name(img->dtype) << " " << image_kind_name(img->kind);
        if (img->components > 1) {
            out << " (" << img->components << " components)";
        }
    } else if (const auto* m = std::get_if<mesh>(&data)) {
        out << "mesh of " << m->point_count() << " points and " << m->cell_count() << " cells";
    } else if (const auto* t = std::get_if<table>(&data)) {
        out << "table of " << t->row_count() << " rows and " << t->columns.size() << " columns";
    } else if (std::holds_alternative<transform>(data)) {
        out << "linear transform";
    } else {
        out << "list of " << std::get<point_list>(data).point_count() << " points";
    }
    return out.str();
}

/// Progress on standard error: a bar redrawn in place, or one line per notification.
class progress_display {
public:
    enum class mode { none, bar, lines };

    explicit progress_display(mode m) : mode_(m) {}

    void show(double fraction, const std::string& message) {
        std::lock_guard<std::mutex> lock(mutex_);
        const int percent = static_cast<int>(fraction * 100);
        if (mode_ == mode::lines) {
            std::cerr << "progress: " << percent << "%" << (message.empty() ? "" : " ")
                      << message << std::endl;
        } else if (mode_ == mode::bar) {
            constexpr int width = 30;
            const auto filled = static_cast<std::size_t>(std::lround(fraction * width));
            char text[8];
            std::snprintf(text, sizeof text, "%3d%%", percent);
            std::cerr << "\r[" << std::string(filled, '#')
                      << std::string(static_cast<std::size_t>(width) - filled, ' ') << "] " << text
                      << (message.empty() ? "" : " ") << message.substr(0, 40) << "\x1b[K"
                      << std::flush;
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
    bool drawn_ = false;
    std::mutex mutex_;
};

/// Turns SIGINT and SIGTERM into a cancel of the running call; a second signal exits at once.
class cancel_on_interrupt {
public:
    explicit cancel_on_interrupt(sync_client& client)
        : client_(client), signals_(client.async_client().get_executor(), SIGINT, SIGTERM) {
        wait();
    }

    ~cancel_on_interrupt() {
        std::error_code ignored;
        signals_.cancel(ignored);
    }

    void started(call_id id) {
        std::lock_guard<std::mutex> lock(mutex_);
        id_ = id;
        if (requested_) {
            client_.cancel(id);
        }
    }

    bool requested() const {
        std::lock_guard<std::mutex> lock(mutex_);
        return requested_;
    }

private:
    void wait() {
        signals_.async_wait([this](std::error_code ec, int) {
            if (ec) {
                return;
            }
            std::lock_guard<std::mutex> lock(mutex_);
            if (requested_) {
                std::cerr << "\n" << program << ": interrupted again, exiting\n";
                std::_Exit(exit_cancelled);
            }
            requested_ = true;
            std::cerr << "\n" << program << ": cancelling the call (Ctrl-C again to exit now)\n";
            if (id_) {
                client_.cancel(*id_);
            }
            wait();
        });
    }

    sync_client& client_;
    asio::signal_set signals_;
    mutable std::mutex mutex_;
    std::optional<call_id> id_;
    bool requested_ = false;
};

int run(sync_client& client, const std::vector<std::string>& arguments) {
    if (arguments.empty()) {
        fail(exit_usage, "run needs a processor name");
    }
    const std::string& name = arguments[0];
    std::vector<std::pair<std::string, std::string>> inputs;
    std::vector<std::pair<std::string, std::string>> parameters;
    std::vector<std::pair<std::string, std::string>> outputs;
    std::optional<double> deadline;
    bool timings = false;
    bool quiet = false;
    std::string progress = "auto";
    for (std::size_t i = 1; i < arguments.size(); ++i) {
        const std::string& arg = arguments[i];
        auto value = [&]() -> const std::string& {
            if (i + 1 >= arguments.size()) {
                fail(exit_usage, arg + " needs a value");
            }
            return arguments[++i];
        };
        if (arg == "--input") {
            inputs.push_back(split_assignment(arg, value()));
        } else if (arg == "--param") {
            parameters.push_back(split_assignment(arg, value()));
        } else if (arg == "--output") {
            outputs.push_back(split_assignment(arg, value()));
        } else if (arg == "--deadline") {
            const std::string& text = value();
            deadline = parse_float("--deadline", text);
            if (!std::isfinite(*deadline) || *deadline < 0) {
                fail(exit_usage, "--deadline expects a number of seconds >= 0");
            }
        } else if (arg == "--timings") {
            timings = true;
        } else if (arg == "--quiet") {
            quiet = true;
        } else if (arg == "--progress") {
            progress = value();
            if (progress != "auto" && progress != "bar" && progress != "lines" &&
                progress != "none") {
                fail(exit_usage, "--progress expects auto, bar, lines or none");
            }
        } else {
            fail(exit_usage, "run: unknown argument \"" + arg + "\"");
        }
    }

    const processor_description description =
        checked("describe " + name, [&] { return client.describe(name); });
    invoke_params params;
    params.processor = name;
    for (const auto& [input_name, path] : inputs) {
        const slot* s = find_slot(description.inputs, input_name);
        if (s == nullptr) {
            unknown_slot("input", input_name, description, description.inputs);
        }
        try {
            params.inputs.emplace_back(input_name, files::read_data(path, s->type, s->image_kind));
        } catch (const files::file_error& e) {
            fail(exit_file, e.what());
        }
    }
    for (const auto& [parameter_name, text] : parameters) {
        const slot* s = find_slot(description.parameters, parameter_name);
        if (s == nullptr) {
            unknown_slot("parameter", parameter_name, description, description.parameters);
        }
        params.parameters.emplace_back(parameter_name, parse_parameter(*s, text));
    }
    for (const auto& [output_name, path] : outputs) {
        if (find_slot(description.outputs, output_name) == nullptr) {
            unknown_slot("output", output_name, description, description.outputs);
        }
    }

    auto display_mode = progress_display::mode::none;
    if (!quiet && (progress == "bar" || (progress == "auto" && ::isatty(STDERR_FILENO) == 1))) {
        display_mode = progress_display::mode::bar;
    } else if (!quiet && progress == "lines") {
        display_mode = progress_display::mode::lines;
    }
    progress_display bar(display_mode);
    cancel_on_interrupt interrupt(client);
    invoke_options invoke_opts;
    invoke_opts.deadline = deadline;
    invoke_opts.on_id = [&interrupt](call_id id) { interrupt.started(id); };
    invoke_opts.on_progress = [&bar](const progress_params& p) {
        bar.show(p.fraction, p.message.value_or(""));
    };
    std::error_code ec;
    invoke_reply reply = client.invoke(std::move(params), std::move(invoke_opts), ec);
    bar.clear();
    if (ec == error::cancelled) {
        fail(exit_cancelled, name + " was cancelled");
    }
    if (ec) {
        std::string message = reply.error ? reply.error->message : ec.message();
        std::string code_text = " (" + std::to_string(ec.value()) + " " +
                                std::error_code(ec.value(), category()).message() + ")";
        if (reply.error) {
            if (const auto* offending = reply.error->details.find("name")) {
                if (offending->is_string()) {
                    message += " [" + offending->as_string() + "]";
                }
            }
        }
        if (ec.category() == category() && ec.value() >= 100) {
            fail(exit_call_failed, name + " failed: " + message + code_text);
        }
        fail(exit_connection, name + ": " + message);
    }

    int status = exit_ok;
    for (const auto& [output_name, path] : outputs) {
        const data_value* data = reply.result.output(output_name);
        if (data == nullptr) {
            std::cerr << program << ": " << name << " produced no output " << output_name << "\n";
            status = exit_call_failed;
            continue;
        }
        try {
            files::write_data(*data, path);
        } catch (const files::file_error& e) {
            fail(exit_file, e.what());
        }
        if (!quiet) {
            std::cerr << "wrote " << output_name << " (" << data_summary(*data) << ") to " << path
                      << "\n";
        }
    }
    if (!quiet) {
        for (const auto& [output_name, data] : reply.result.outputs) {
            const bool saved =
                std::any_of(outputs.begin(), outputs.end(),
                            [&](const auto& o) { return o.first == output_name; });
            if (!saved) {
                std::cerr << "not saved: " << output_name << " (" << data_summary(data)
                          << "); add --output " << output_name << "=FILE\n";
            }
        }
    }
    if (timings) {
        std::cout << std::fixed << std::setprecision(4) << "timings " << name << ":";
        if (reply.server_timings) {
            const auto& t = *reply.server_timings;
            std::cout << " receiving " << t.receiving << " s, queued " << t.queued
                      << " s, computing " << t.computing << " s, sending " << t.sending << " s,";
        } else {
            std::cout << " (the server sent no timings)";
        }
        std::cout << " round trip " << reply.round_trip << " s\n" << std::flush;
    }
    if (interrupt.requested() && status == exit_ok && !quiet) {
        std::cerr << program << ": the call finished before the cancel reached it\n";
    }
    return status;
}

int execute(const options& o) {
    const auto& args = o.arguments;
    if (o.command != "list" && o.command != "describe" && o.command != "run" &&
        o.command != "ping") {
        fail(exit_usage, "unknown command \"" + o.command + "\"");
    }
    if (o.command == "list" && !args.empty()) {
        fail(exit_usage, "list takes no arguments");
    }
    if (o.command == "describe" &&
        (args.empty() || args.size() > 2 || (args.size() == 2 && args[1] != "--json"))) {
        fail(exit_usage, "usage: describe PROCESSOR [--json]");
    }
    std::unique_ptr<asio::ssl::context> tls;
    auto client = connect(o, tls);
    int status = exit_ok;
    if (o.command == "list") {
        const auto processors = checked("catalog", [&] { return client->catalog(); });
        std::size_t width = 4;
        for (const auto& d : processors) {
            width = std::max(width, d.name.size());
        }
        for (const auto& d : processors) {
            std::cout << std::left << std::setw(static_cast<int>(width) + 2) << d.name << d.title;
            if (!d.category.empty()) {
                std::cout << " (" << d.category << ")";
            }
            std::cout << "\n";
        }
    } else if (o.command == "describe") {
        const auto d = checked("describe " + args[0], [&] { return client->describe(args[0]); });
        if (args.size() == 2) {
            std::cout << to_json<nlohmann::ordered_json>(to_value(d)).dump(2) << "\n";
        } else {
            print_description(std::cout, d);
        }
    } else if (o.command == "ping") {
        const double seconds = checked("ping", [&] { return client->ping(); });
        std::cout << "pong in " << std::fixed << std::setprecision(3) << seconds * 1000 << " ms\n";
    } else {
        status = run(*client, args);
    }
    checked("goodbye", [&] {
        client->goodbye();
        return 0;
    });
    return status;
}

} // namespace

int main(int argc, char** argv) {
    std::signal(SIGPIPE, SIG_IGN);
    try {
        return execute(parse_global(argc, argv));
    } catch (const exit_failure& failure) {
        std::cerr << program << ": " << failure.message << "\n";
        if (failure.status == exit_usage) {
            std::cerr << "(see " << program << " --help)\n";
        }
        return failure.status;
    } catch (const std::exception& e) {
        std::cerr << program << ": " << e.what() << "\n";
        return exit_connection;
    }
}
