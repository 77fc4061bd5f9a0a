// slicerbridge-igtl: an OpenIGTLink server in front of a SlicerBridge server.

#include "gateway.hpp"

#include <slicerbridge/version.hpp>

#include <asio/ssl/context.hpp>
#include <asio/ssl/host_name_verification.hpp>

#include <CLI/CLI.hpp>

#include <csignal>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <pthread.h>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace {

using namespace slicerbridge;
using namespace slicerbridge::igtl_gateway;

struct usage_error {
    std::string message;
};

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
            } else {
                word += c;
            }
        } else if (c == '\'' || c == '"') {
            quote = c;
            in_word = true;
        } else if (c == ' ' || c == '\t') {
            if (in_word) {
                words.push_back(word);
                word.clear();
                in_word = false;
            }
        } else {
            word += c;
            in_word = true;
        }
    }
    if (quote != 0) {
        throw usage_error{"--launch: unterminated quote"};
    }
    if (in_word) {
        words.push_back(word);
    }
    return words;
}

struct options {
    std::optional<std::string> server;
    std::optional<std::string> launch;
    std::optional<std::string> token;
    std::optional<std::string> tls_ca;
    gateway_options gateway;
};

/// "HOST:PORT" given to `flag`, IPv6 brackets removed from the host.
std::pair<std::string, int> host_and_port(const std::string& flag, const std::string& where) {
    const auto colon = where.rfind(':');
    if (colon == std::string::npos || colon == 0) {
        throw usage_error{flag + " expects HOST:PORT, not \"" + where + "\""};
    }
    std::string host = where.substr(0, colon);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);
    }
    try {
        return {host, std::stoi(where.substr(colon + 1))};
    } catch (const std::exception&) {
        throw usage_error{flag + ": bad port in \"" + where + "\""};
    }
}

options parse(int argc, char** argv) {
    options o;
    CLI::App app("An OpenIGTLink (protocol version 2) server whose peers - Slicer's "
                 "OpenIGTLinkIF, PLUS, any OpenIGTLink tool - run SlicerBridge processors: by "
                 "streaming rules, and by commands (STRING CMD_<id> with <Command "
                 "Name=\"ListProcessors|DescribeProcessor|InvokeProcessor|GetStreamStats\" .../>, "
                 "answered under ACK_<id>).",
                 "slicerbridge-igtl");
    app.set_version_flag("--version", std::string("slicerbridge-igtl ") +
                                          SLICERBRIDGE_VERSION_STRING +
                                          " (OpenIGTLink protocol 2, SlicerBridge protocol " +
                                          std::to_string(protocol_max.major) + "." +
                                          std::to_string(protocol_max.minor) + ")");
    app.footer("Ctrl-C or SIGTERM stops the gateway.");

    const std::string slicerbridge_side = "SlicerBridge side";
    auto* server = app.add_option("--server", o.server,
                                  "HOST:PORT, tls://HOST:PORT or unix:PATH (default: "
                                  "$SLICERBRIDGE_SERVER)")
                       ->type_name("ADDR")
                       ->group(slicerbridge_side);
    app.add_option("--launch", o.launch,
                   "Start CMD ARGS and talk to it over its standard input and output (for "
                   "example --launch \"slicerbridge-server --stdio\")")
        ->type_name("\"CMD ARGS\"")
        ->group(slicerbridge_side)
        ->excludes(server);
    app.add_option("--token", o.token, "Token the server requires (default: $SLICERBRIDGE_TOKEN)")
        ->type_name("TOKEN")
        ->group(slicerbridge_side);
    app.add_option("--tls-ca", o.tls_ca,
                   "CA certificates for a tls:// server (default: the system's)")
        ->type_name("FILE")
        ->group(slicerbridge_side);

    const std::string igtl_side = "OpenIGTLink side";
    app.add_option_function<std::string>(
           "--listen",
           [&o](const std::string& where) {
               std::tie(o.gateway.host, o.gateway.port) = host_and_port("--listen", where);
           },
           "Port 0 picks a free port. The first line on standard output is \"listening on "
           "HOST:PORT\"")
        ->type_name("HOST:PORT")
        ->default_str(o.gateway.host + ":" + std::to_string(o.gateway.port))
        ->group(igtl_side);
    app.add_flag("--allow-remote", o.gateway.allow_remote,
                 "Allow a non-loopback address (OpenIGTLink has no authentication)")
        ->group(igtl_side);
    app.add_option("--max-message", o.gateway.max_message,
                   "Largest message body accepted, in bytes; larger messages are skipped and "
                   "answered with STATUS")
        ->type_name("BYTES")
        ->capture_default_str()
        ->group(igtl_side);
    app.add_flag_callback(
           "--no-crc", [&o] { o.gateway.check_crc = false; },
           "Do not check the CRC-64 of received messages")
        ->group(igtl_side);
    app.add_option_function<std::vector<std::string>>(
           "--connect",
           [&o](const std::vector<std::string>& addresses) {
               for (const auto& where : addresses) {
                   const auto colon = where.rfind(':');
                   if (colon == std::string::npos || colon == 0) {
                       throw usage_error{"--connect expects HOST:PORT, not \"" + where + "\""};
                   }
                   try {
                       o.gateway.upstream.emplace_back(where.substr(0, colon),
                                                       std::stoi(where.substr(colon + 1)));
                   } catch (const std::exception&) {
                       throw usage_error{"--connect: bad port in \"" + where + "\""};
                   }
               }
           },
           "Also connect to this OpenIGTLink server (e.g. PlusServer) and handle its messages "
           "like a peer's (repeatable); stream results go to the gateway's own peers. Retried "
           "every second while it is down")
        ->type_name("HOST:PORT")
        ->allow_extra_args(false)
        ->group(igtl_side);

    const std::string streaming = "Streaming rules (repeatable; see docs/openigtlink.md)";
    app.add_option_function<std::vector<std::string>>(
           "--rule",
           [&o](const std::vector<std::string>& rules) {
               for (const auto& rule : rules) {
                   o.gateway.rules.push_back(parse_rule(rule));
               }
           },
           "For example --rule \"device=US processor=gaussian_smoothing to=US_smooth "
           "sigma=1.5\"")
        ->type_name("RULE")
        ->allow_extra_args(false)
        ->group(streaming);
    app.add_option_function<std::vector<std::string>>(
           "--rules",
           [&o](const std::vector<std::string>& files) {
               for (const auto& file : files) {
                   for (auto& rule : read_rules_file(file)) {
                       o.gateway.rules.push_back(std::move(rule));
                   }
               }
           },
           "One rule per line; '#' starts a comment line")
        ->type_name("FILE")
        ->allow_extra_args(false)
        ->group(streaming);
    app.add_option_function<double>(
           "--report",
           [&o](double seconds) {
               o.gateway.report_interval =
                   std::chrono::milliseconds(static_cast<long long>(seconds * 1000));
           },
           "A rate and latency line per rule this often (0: never). The same figures are "
           "printed on exit")
        ->type_name("SECONDS")
        ->check(CLI::Range(0.0, 1e6))
        ->default_str(std::to_string(
            std::chrono::duration_cast<std::chrono::seconds>(o.gateway.report_interval).count()))
        ->group(streaming);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& error) {
        if (error.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) {
            std::exit(app.exit(error)); // --help or --version
        }
        throw usage_error{error.what()};
    }
    if (o.server && o.launch) {
        throw usage_error{"give either --server or --launch"};
    }
    if (!o.server && !o.launch) {
        if (const char* from_environment = std::getenv("SLICERBRIDGE_SERVER")) {
            o.server = from_environment;
        } else {
            throw usage_error{"no SlicerBridge server: give --server ADDR or --launch \"CMD\""};
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

std::unique_ptr<sync_client> connect(const options& o, std::unique_ptr<asio::ssl::context>& tls) {
    client_options client;
    client.name = "slicerbridge-igtl";
    client.token = o.token;
    if (o.launch) {
        const auto argv = split_command(*o.launch);
        if (argv.empty()) {
            throw usage_error{"--launch: empty command"};
        }
        return sync_client::launch(argv, client);
    }
    const auto where = address::parse(*o.server);
    if (!where) {
        throw usage_error{"--server expects HOST:PORT, tls://HOST:PORT or unix:PATH, not \"" +
                          *o.server + "\""};
    }
    if (where->kind != address::transport::tls) {
        return sync_client::connect(*o.server, client);
    }
    tls = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
    tls->set_verify_mode(asio::ssl::verify_peer); // [SEC-6]
    if (o.tls_ca) {
        tls->load_verify_file(*o.tls_ca);
    } else {
        tls->set_default_verify_paths();
    }
    tls->set_verify_callback(asio::ssl::host_name_verification(where->host));
    return sync_client::connect(*o.server, client, tls.get());
}

} // namespace

int main(int argc, char** argv) {
    options o;
    try {
        o = parse(argc, argv);
    } catch (const usage_error& e) {
        std::cerr << "slicerbridge-igtl: " << e.message << " (see --help)\n";
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "slicerbridge-igtl: " << e.what() << "\n";
        return 2;
    }
    // Signals are taken by sigwait below; block them before any thread starts.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);

    std::unique_ptr<asio::ssl::context> tls;
    std::unique_ptr<sync_client> client;
    try {
        client = connect(o, tls);
    } catch (const usage_error& e) {
        std::cerr << "slicerbridge-igtl: " << e.message << " (see --help)\n";
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "slicerbridge-igtl: cannot reach the SlicerBridge server: " << e.what()
                  << "\n";
        return 3;
    }
    gateway g(*client, o.gateway);
    try {
        g.start();
    } catch (const std::exception& e) {
        std::cerr << "slicerbridge-igtl: " << e.what() << "\n";
        return 2;
    }
    const std::string host =
        o.gateway.host.find(':') != std::string::npos ? "[" + o.gateway.host + "]" : o.gateway.host;
    std::cout << "listening on " << host << ":" << g.port() << std::endl;
    int received = 0;
    sigwait(&signals, &received);
    g.stop();
    return 0;
}
