// slicerbridge-igtl: an OpenIGTLink server in front of a SlicerBridge server.

#include "gateway.hpp"

#include <slicerbridge/version.hpp>

#include <asio/ssl/context.hpp>
#include <asio/ssl/host_name_verification.hpp>

#include <csignal>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <pthread.h>
#include <string>

namespace {

using namespace slicerbridge;
using namespace slicerbridge::igtl_gateway;

constexpr const char* usage_text =
    R"(Usage: slicerbridge-igtl (--server ADDR | --launch "CMD ARGS") [options]

An OpenIGTLink (protocol version 2) server whose peers - Slicer's OpenIGTLinkIF, PLUS, any
OpenIGTLink tool - run SlicerBridge processors: by streaming rules, and by commands
(STRING CMD_<id> with <Command Name="ListProcessors|DescribeProcessor|InvokeProcessor|
GetStreamStats" .../>, answered under ACK_<id>).

SlicerBridge side:
  --server ADDR          HOST:PORT, tls://HOST:PORT or unix:PATH (default: $SLICERBRIDGE_SERVER)
  --launch "CMD ARGS"    Start CMD ARGS and talk to it over its standard input and output
                         (for example --launch "slicerbridge-server --stdio").
  --token TOKEN          Token the server requires (default: $SLICERBRIDGE_TOKEN).
  --tls-ca FILE          CA certificates for a tls:// server (default: the system's).

OpenIGTLink side:
  --listen HOST:PORT     Default 127.0.0.1:18944; port 0 picks a free port. The first line on
                         standard output is "listening on HOST:PORT".
  --allow-remote         Allow a non-loopback address (OpenIGTLink has no authentication).
  --max-message BYTES    Largest message body accepted (default 1073741824); larger messages
                         are skipped and answered with STATUS.
  --no-crc               Do not check the CRC-64 of received messages.
  --connect HOST:PORT    Also connect to this OpenIGTLink server (e.g. PlusServer) and handle
                         its messages like a peer's (repeatable); stream results go to the
                         gateway's own peers. Retried every second while it is down.

Streaming rules (repeatable; see docs/openigtlink.md):
  --rule "device=US processor=gaussian_smoothing to=US_smooth sigma=1.5"
  --rules FILE           One rule per line; '#' starts a comment line.
  --report SECONDS       A rate and latency line per rule this often (default 5; 0: never).
                         The same figures are printed on exit.

  --help, --version

Ctrl-C or SIGTERM stops the gateway.
)";

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

options parse(int argc, char** argv) {
    options o;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) {
                throw usage_error{arg + " needs a value"};
            }
            return argv[++i];
        };
        if (arg == "--help" || arg == "-h") {
            std::cout << usage_text;
            std::exit(0);
        } else if (arg == "--version") {
            std::cout << "slicerbridge-igtl " << SLICERBRIDGE_VERSION_STRING
                      << " (OpenIGTLink protocol 2, SlicerBridge protocol " << protocol_max.major
                      << "." << protocol_max.minor << ")\n";
            std::exit(0);
        } else if (arg == "--server") {
            o.server = value();
        } else if (arg == "--launch") {
            o.launch = value();
        } else if (arg == "--token") {
            o.token = value();
        } else if (arg == "--tls-ca") {
            o.tls_ca = value();
        } else if (arg == "--listen") {
            const std::string where = value();
            const auto colon = where.rfind(':');
            if (colon == std::string::npos || colon == 0) {
                throw usage_error{"--listen expects HOST:PORT, not \"" + where + "\""};
            }
            std::string host = where.substr(0, colon);
            if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
                host = host.substr(1, host.size() - 2);
            }
            o.gateway.host = host;
            try {
                o.gateway.port = std::stoi(where.substr(colon + 1));
            } catch (const std::exception&) {
                throw usage_error{"--listen: bad port in \"" + where + "\""};
            }
        } else if (arg == "--connect") {
            const std::string where = value();
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
        } else if (arg == "--allow-remote") {
            o.gateway.allow_remote = true;
        } else if (arg == "--max-message") {
            o.gateway.max_message = std::stoull(value());
        } else if (arg == "--no-crc") {
            o.gateway.check_crc = false;
        } else if (arg == "--rule") {
            o.gateway.rules.push_back(parse_rule(value()));
        } else if (arg == "--rules") {
            for (auto& rule : read_rules_file(value())) {
                o.gateway.rules.push_back(std::move(rule));
            }
        } else if (arg == "--report") {
            o.gateway.report_interval =
                std::chrono::milliseconds(static_cast<long long>(std::stod(value()) * 1000));
        } else {
            throw usage_error{"unknown option \"" + arg + "\""};
        }
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
