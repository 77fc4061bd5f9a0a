// slicerbridge-server: the reference processor server. Serves the processors of
// processors.hpp over TCP (optionally TLS), a Unix socket, or its own standard input and output.

#include "cli/token_file.hpp"
#include "processors.hpp"

#include <slicerbridge/server.hpp>
#include <slicerbridge/transport/connect.hpp>
#include <slicerbridge/transport/pipe_stream.hpp>
#include <slicerbridge/version.hpp>

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/signal_set.hpp>

#include <CLI/CLI.hpp>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <functional>
#include <iostream>
#include <limits>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <sys/stat.h>
#if defined(__linux__)
#include <asio/local/stream_protocol.hpp>

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>
#endif

namespace {

constexpr const char* program = "slicerbridge-server";

struct options {
    std::optional<std::string> listen;
    std::optional<std::string> unix_path;
    bool stdio = false;
    bool expose_errors = false;
    std::optional<std::string> token;
    std::optional<std::string> token_file;
    std::optional<std::string> tls_cert;
    std::optional<std::string> tls_key;
    std::size_t workers = 2;
    std::string name = program;
    double shutdown_grace = 5.0;
    std::optional<std::uint64_t> worker_spin_us;
    std::optional<std::uint64_t> max_frame;
    std::chrono::milliseconds cancel_grace{static_cast<std::int64_t>(
        slicerbridge::limits{}.cancel_grace * 1000.0)}; // limits::cancel_grace is in seconds
    slicerbridge::log_level level = slicerbridge::log_level::info;
    /// The timeouts, caps and budgets as given (the server's defaults otherwise).
    slicerbridge::server_options availability;
};

[[noreturn]] void usage_error(const std::string& message) {
    std::cerr << program << ": " << message << "\n(see " << program << " --help)\n";
    std::exit(2);
}

std::uint64_t parse_count(const std::string& flag, const std::string& text, std::uint64_t minimum) {
    try {
        std::size_t used = 0;
        const unsigned long long value = std::stoull(text, &used);
        if (used == text.size() && text.find('-') == std::string::npos && value >= minimum) {
            return value;
        }
    } catch (const std::exception&) {
    }
    usage_error(flag + " expects an integer >= " + std::to_string(minimum) + ", not \"" + text +
                "\"");
}

std::chrono::milliseconds parse_seconds(const std::string& flag, const std::string& text) {
    try {
        std::size_t used = 0;
        const double seconds = std::stod(text, &used);
        if (used == text.size() && seconds >= 0.0 && seconds <= 1e6) {
            return std::chrono::milliseconds(static_cast<std::int64_t>(seconds * 1000.0));
        }
    } catch (const std::exception&) {
    }
    usage_error(flag + " expects seconds between 0 and 1000000, not \"" + text + "\"");
}

/// "10", "0.5": a duration in seconds as --help shows a default.
std::string seconds_text(std::chrono::milliseconds duration) {
    std::ostringstream out;
    out << static_cast<double>(duration.count()) / 1000.0;
    return out.str();
}

options parse_options(int argc, char** argv) {
    options o;
    const slicerbridge::server_options defaults;
    CLI::App app("Serves the SlicerBridge reference processors: the conformance processors echo, "
                 "slow and fail, and the VTK filters in a build with VTK.",
                 program);
    app.set_version_flag("--version", std::string(program) + " " + SLICERBRIDGE_VERSION_STRING +
                                          " (protocol " +
                                          std::to_string(slicerbridge::protocol_max.major) + "." +
                                          std::to_string(slicerbridge::protocol_max.minor) + ")");
    app.footer("SIGINT or SIGTERM: stop accepting, answer new requests shutting_down, let running "
               "calls finish for up to --shutdown-grace seconds, say goodbye, then exit; a second "
               "signal exits at once.\n\nExit status: 0 after a clean shutdown, 1 if serving "
               "failed, 2 for a usage error.");
    // Each value is checked as it is parsed, with the messages of usage_error.
    auto count = [&](const char* flag, std::uint64_t minimum, std::uint64_t default_value,
                     const std::string& description, std::function<void(std::uint64_t)> store) {
        return app
            .add_option_function<std::string>(
                flag, [=](const std::string& text) { store(parse_count(flag, text, minimum)); },
                description)
            ->type_name("N")
            ->default_str(std::to_string(default_value));
    };
    auto seconds = [&](const char* flag, std::chrono::milliseconds default_value,
                       const std::string& description, std::chrono::milliseconds& store) {
        return app
            .add_option_function<std::string>(
                flag,
                [flag, &store](const std::string& text) { store = parse_seconds(flag, text); },
                description)
            ->type_name("SECONDS")
            ->default_str(seconds_text(default_value))
            ->group("Availability (0 disables a timeout or a per-address cap)");
    };

    const std::string where = "Where to listen (default: --listen 127.0.0.1:0)";
    app.add_option("--listen", o.listen,
                   "TCP address; port 0 picks a free port. The first line on standard output is "
                   "\"listening on HOST:PORT\". Addresses other than loopback need --token or TLS")
        ->type_name("HOST:PORT")
        ->group(where);
    app.add_option("--unix", o.unix_path,
                   "Unix domain socket (created with mode 0600); prints \"listening on "
                   "unix:PATH\"")
        ->type_name("PATH")
        ->group(where);
    app.add_flag("--stdio", o.stdio,
                 "Serve one client on standard input and output, then exit; nothing else is "
                 "written to standard output")
        ->group(where);

    const std::string security = "Security";
    auto* token_option =
        app.add_option("--token", o.token,
                       "Clients must present this token (default: $SLICERBRIDGE_TOKEN)")
            ->type_name("TOKEN")
            ->group(security);
    app.add_option("--token-file", o.token_file,
                   "Read that token from the first line of FILE (keeps it out of ps)")
        ->type_name("FILE")
        ->group(security)
        ->excludes(token_option);
    seconds("--failed-token-delay", defaults.failed_token_delay,
            "Answer a missing or wrong token after this long, doubling for each further failure "
            "from one address up to 5 seconds (0: at once)",
            o.availability.failed_token_delay)
        ->group(security);
    app.add_option("--tls-cert", o.tls_cert,
                   "Serve TLS on the --listen address with this certificate chain (PEM)...")
        ->type_name("FILE")
        ->group(security);
    app.add_option("--tls-key", o.tls_key, "...and this private key (PEM)")
        ->type_name("FILE")
        ->group(security);

    const std::string limits = "Limits and work";
    app.add_option_function<std::string>(
           "--name",
           [&o](const std::string& name) {
               if (name.empty()) {
                   usage_error("--name expects a non-empty name");
               }
               o.name = name;
           },
           "The implementation name in the hello, so that clients and operators tell the "
           "servers behind a load balancer apart (\"slicerbridge-server@node3\")")
        ->type_name("NAME")
        ->default_str(program)
        ->group(limits);
    app.add_option_function<std::string>(
           "--shutdown-grace",
           [&o](const std::string& text) {
               char* end = nullptr;
               o.shutdown_grace = std::strtod(text.c_str(), &end);
               if (text.empty() || end != text.c_str() + text.size() || !(o.shutdown_grace >= 0) ||
                   o.shutdown_grace > 86400) {
                   usage_error("--shutdown-grace expects seconds from 0 to 86400, not \"" + text +
                               "\"");
               }
           },
           "On SIGTERM, how long running calls may go on before they are answered shutting_down "
           "(a drain waits this long at most)")
        ->type_name("SECONDS")
        ->default_str("5")
        ->group(limits);
    count("--workers", 1, defaults.workers, "Threads running processors", [&o](std::uint64_t n) {
        o.workers = static_cast<std::size_t>(n);
    })->group(limits);
    count("--worker-spin-us", 0, static_cast<std::uint64_t>(defaults.worker_spin.count()),
          "How long an idle worker looks for the next call before it sleeps, yielding the CPU "
          "meanwhile, in microseconds (0: sleep at once)",
          [&o](std::uint64_t n) { o.worker_spin_us = n; })
        ->group(limits);
    count("--answer-wait-us", 0, static_cast<std::uint64_t>(defaults.answer_wait.count()),
          "How long the I/O thread waits for a worker's answer when no other call runs and no "
          "other connection sends, in microseconds (0: never)",
          [&o](std::uint64_t n) { o.availability.answer_wait = std::chrono::microseconds(n); })
        ->group(limits);
    count("--max-frame", slicerbridge::handshake_max_frame, defaults.receive_limits.max_frame,
          "Largest frame accepted, in bytes", [&o](std::uint64_t n) { o.max_frame = n; })
        ->type_name("BYTES")
        ->group(limits);
    count("--max-in-flight", 1, defaults.receive_limits.max_in_flight,
          "Requests one connection may have open at once, announced in the hello; more are "
          "answered too_many_in_flight",
          [&o](std::uint64_t n) {
              if (n > std::numeric_limits<std::uint32_t>::max()) {
                  usage_error("--max-in-flight expects at most 4294967295");
              }
              o.availability.receive_limits.max_in_flight = static_cast<std::uint32_t>(n);
          })
        ->group(limits);
    count("--max-pending-calls", 1, defaults.max_pending_calls,
          "Calls admitted and not yet computed across all connections; more are answered "
          "too_many_in_flight",
          [&o](std::uint64_t n) { o.availability.max_pending_calls = static_cast<std::size_t>(n); })
        ->group(limits);
    seconds("--cancel-grace", o.cancel_grace,
            "How long a cancelled call's computation may go on before the call is answered "
            "cancelled anyway, announced in the hello",
            o.cancel_grace)
        ->group(limits);

    const std::string availability = "Availability (0 disables a timeout or a per-address cap)";
    auto& a = o.availability;
    seconds("--hello-timeout", defaults.hello_timeout,
            "Seconds a connection has for its TLS handshake and its hello", a.hello_timeout);
    seconds("--idle-timeout", defaults.idle_timeout,
            "Close a connection with no open call and nothing received for this long",
            a.idle_timeout);
    seconds("--stall-timeout", defaults.stall_timeout,
            "Close a connection whose frame stops arriving, or whose answer stops leaving, for "
            "this long",
            a.stall_timeout);
    count("--max-connections", 1, defaults.max_connections,
          "Connections served at once; further ones are answered too_many_connections",
          [&a](std::uint64_t n) { a.max_connections = n; })
        ->group(availability);
    count("--max-connections-per-address", 0, defaults.max_connections_per_address,
          "The same, per client address (0: no cap but the total)",
          [&a](std::uint64_t n) { a.max_connections_per_address = n; })
        ->group(availability);
    count("--max-pending-handshakes", 1, defaults.max_pending_handshakes,
          "TLS handshakes in progress at once",
          [&a](std::uint64_t n) { a.max_pending_handshakes = n; })
        ->group(availability);
    count("--connection-budget", 1, defaults.connection_budget,
          "Bytes one connection may hold in frames being received, inputs of open calls and "
          "answers not yet sent; then its reading pauses",
          [&a](std::uint64_t n) { a.connection_budget = n; })
        ->type_name("BYTES")
        ->group(availability);
    count("--total-budget", 1, defaults.total_budget, "The same over all connections, in bytes",
          [&a](std::uint64_t n) { a.total_budget = n; })
        ->type_name("BYTES")
        ->group(availability);
    count("--block-cache", 0, defaults.block_cache_limit,
          "Released large buffers kept for reuse, in bytes",
          [&a](std::uint64_t n) { a.block_cache_limit = n; })
        ->type_name("BYTES")
        ->group(availability);
    app.add_option_function<std::string>(
           "--log-level",
           [&o](const std::string& level) {
               if (level == "error") {
                   o.level = slicerbridge::log_level::error;
               } else if (level == "warning") {
                   o.level = slicerbridge::log_level::warning;
               } else if (level == "info") {
                   o.level = slicerbridge::log_level::info;
               } else if (level == "debug") {
                   o.level = slicerbridge::log_level::debug;
               } else {
                   usage_error("--log-level expects error, warning, info or debug");
               }
           },
           "error, warning, info or debug; logs go to standard error")
        ->type_name("LEVEL")
        ->default_str("info")
        ->group(availability);
    app.add_flag("--expose-errors", o.expose_errors,
                 "Answer a processor's unexpected exception with its message, not only its type "
                 "(local development: messages may quote patient data; they are always in the "
                 "log)")
        ->group(availability);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& error) {
        if (error.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) {
            std::exit(app.exit(error)); // --help or --version
        }
        usage_error(error.what());
    }
    if (o.token_file) {
        std::string problem;
        o.token = slicerbridge::cli::token_from_file(*o.token_file, problem);
        if (!o.token) {
            usage_error(problem);
        }
    }
    if (!o.token) {
        if (const char* from_environment = std::getenv("SLICERBRIDGE_TOKEN")) {
            if (*from_environment != '\0') {
                o.token = from_environment;
            }
        }
    }
    if (o.token) {
        auto problem = slicerbridge::token_problem(*o.token);
        if (!problem.empty()) {
            usage_error(problem);
        }
    }
    if (o.tls_cert.has_value() != o.tls_key.has_value()) {
        usage_error("--tls-cert and --tls-key go together");
    }
    if (o.stdio && (o.listen || o.unix_path || o.tls_cert)) {
        usage_error("--stdio serves standard input and output only; drop --listen, --unix and TLS");
    }
    if (o.tls_cert && !o.listen) {
        o.listen = "127.0.0.1:0";
    }
    if (!o.stdio && !o.listen && !o.unix_path) {
        o.listen = "127.0.0.1:0";
    }
    return o;
}

const char* level_name(slicerbridge::log_level level) {
    switch (level) {
    case slicerbridge::log_level::error:
        return "error";
    case slicerbridge::log_level::warning:
        return "warning";
    case slicerbridge::log_level::info:
        return "info";
    case slicerbridge::log_level::debug:
        break;
    }
    return "debug";
}

/// Log lines on standard error: "2024-01-01T12:00:00Z slicerbridge-server info: ...".
slicerbridge::log_function make_logger(slicerbridge::log_level threshold) {
    auto mutex = std::make_shared<std::mutex>();
    return [threshold, mutex](slicerbridge::log_level level, std::string_view line) {
        if (static_cast<int>(level) > static_cast<int>(threshold)) {
            return;
        }
        std::lock_guard<std::mutex> lock(*mutex); // also guards std::gmtime's static result
        char stamp[32];
        const std::time_t now = std::time(nullptr);
        std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
        std::cerr << stamp << ' ' << program << ' ' << level_name(level) << ": " << line
                  << std::endl;
    };
}

asio::ip::tcp::endpoint resolve_listen_address(asio::io_context& io, const std::string& text) {
    const auto parsed = slicerbridge::address::parse(text);
    if (!parsed || parsed->kind != slicerbridge::address::transport::tcp) {
        usage_error("--listen expects HOST:PORT, not \"" + text + "\"");
    }
    std::error_code ec;
    asio::ip::tcp::resolver resolver(io);
    auto results =
        resolver.resolve(parsed->host, parsed->port, asio::ip::tcp::resolver::passive, ec);
    if (ec || results.empty()) {
        usage_error("cannot resolve \"" + parsed->host + "\": " + ec.message());
    }
    return results.begin()->endpoint();
}

std::string endpoint_text(const asio::ip::tcp::endpoint& endpoint) {
    const auto host = endpoint.address().to_string();
    return (endpoint.address().is_v6() ? "[" + host + "]" : host) + ":" +
           std::to_string(endpoint.port());
}

#if defined(__linux__)
// Standard input is one end of a Unix socket pair (a client that launched this server with a
// socket pair in place of the pipes): it is served as a Unix socket, over which volumes can pass
// as memory files (transfer.memfd, protocol section 3.5).
std::optional<asio::local::stream_protocol::socket> standard_input_socket(asio::io_context& io) {
    sockaddr_storage address{};
    socklen_t length = sizeof address;
    if (::getsockname(STDIN_FILENO, reinterpret_cast<sockaddr*>(&address), &length) != 0 ||
        address.ss_family != AF_UNIX) {
        return std::nullopt;
    }
    const int fd = ::fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 0);
    if (fd < 0) {
        return std::nullopt;
    }
    asio::local::stream_protocol::socket socket(io);
    std::error_code ec;
    socket.assign(asio::local::stream_protocol(), fd, ec);
    if (ec) {
        ::close(fd);
        return std::nullopt;
    }
    return socket;
}
#endif

} // namespace

int main(int argc, char** argv) {
    const options o = parse_options(argc, argv);
#ifdef SIGPIPE
    std::signal(SIGPIPE, SIG_IGN); // a peer gone away is an error code, not a signal
#endif
    slicerbridge::reference::show_library_warnings(o.level == slicerbridge::log_level::debug);

    asio::io_context io(1); // run by this thread alone: its connections need no strands
    // Runs the I/O until the shutdown completes, even while no socket is open: computations
    // still running post their answers to it.
    auto work = asio::make_work_guard(io);
    slicerbridge::server_options server_options = o.availability;
    server_options.name = o.name;
    server_options.workers = o.workers;
    if (o.worker_spin_us) {
        server_options.worker_spin = std::chrono::microseconds(*o.worker_spin_us);
    }
    server_options.token = o.token;
    server_options.expose_errors = o.expose_errors;
    server_options.log = make_logger(o.level);
    if (o.max_frame) {
        server_options.receive_limits.max_frame = *o.max_frame;
    }
    server_options.receive_limits.cancel_grace =
        std::chrono::duration<double>(o.cancel_grace).count();
    const auto log = server_options.log;
    slicerbridge::server server(io.get_executor(), server_options);
    for (auto& p : slicerbridge::reference::all_processors()) {
        server.add(std::move(p));
    }

    auto stop = [&server, &io, &work](std::chrono::milliseconds grace) {
        server.shutdown(grace, [&io, &work] {
            work.reset();
            io.stop();
        });
    };

    if (o.stdio) {
        auto on_closed = [&] { stop(std::chrono::milliseconds(0)); };
#if defined(__linux__)
        if (auto socket = standard_input_socket(io)) {
            server.serve(std::move(*socket), on_closed);
        } else
#endif
        {
            server.serve(slicerbridge::pipe_stream::standard_streams(io.get_executor()), on_closed);
        }
        log(slicerbridge::log_level::info, "serving one client on standard input and output");
    }
    if (o.listen) {
        const auto endpoint = resolve_listen_address(io, *o.listen);
        std::error_code ec;
        asio::ip::tcp::endpoint bound;
        if (o.tls_cert) {
            auto tls = slicerbridge::server::make_tls_context(*o.tls_cert, *o.tls_key, ec);
            if (ec == std::errc::operation_not_supported) {
                std::cerr << program << ": this build has no TLS (it was built without OpenSSL)\n";
                return 1;
            }
            if (ec) {
                std::cerr << program << ": cannot load the TLS certificate or key: " << ec.message()
                          << "\n";
                return 1;
            }
            bound = server.listen_tls(endpoint, tls, ec);
        } else {
            bound = server.listen(endpoint, ec);
        }
        if (ec == std::errc::permission_denied && !o.tls_cert) {
            std::cerr << program << ": refusing to listen on " << endpoint_text(endpoint)
                      << " without --token or TLS: it is not a loopback address and anyone who "
                         "can reach it could run processors on your data\n";
            return 2;
        }
        if (ec) {
            std::cerr << program << ": cannot listen on " << endpoint_text(endpoint) << ": "
                      << ec.message() << "\n";
            return 1;
        }
        std::cout << "listening on " << (o.tls_cert ? "tls://" : "") << endpoint_text(bound)
                  << std::endl;
    }
    if (o.unix_path) {
        std::error_code ec;
        const mode_t previous_mask = ::umask(0177); // the socket: its owner only ([SEC-10])
        server.listen_unix(*o.unix_path, ec);
        ::umask(previous_mask);
        if (ec) {
            std::cerr << program << ": cannot listen on unix:" << *o.unix_path << ": "
                      << ec.message() << "\n";
            return 1;
        }
        std::cout << "listening on unix:" << *o.unix_path << std::endl;
    }

    asio::signal_set signals(io, SIGINT, SIGTERM);
    std::function<void(std::error_code, int)> on_signal;
    int signals_seen = 0;
    on_signal = [&](std::error_code ec, int signal_number) {
        if (ec) {
            return;
        }
        if (++signals_seen > 1) {
            log(slicerbridge::log_level::warning, "second signal: exiting at once");
            std::_Exit(128 + signal_number);
        }
        log(slicerbridge::log_level::info, std::string("received ") +
                                               (signal_number == SIGINT ? "SIGINT" : "SIGTERM") +
                                               ": shutting down");
        stop(std::chrono::milliseconds(static_cast<std::int64_t>(o.shutdown_grace * 1000)));
        signals.async_wait(on_signal);
    };
    signals.async_wait(on_signal);

    io.run();
    log(slicerbridge::log_level::info, "stopped");
    return 0;
}
