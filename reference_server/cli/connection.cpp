#include "connection.hpp"
#include "token_file.hpp"

#include <slicerbridge/detail/did_you_mean.hpp>

#include <slicerbridge/transport/connect.hpp>

#include <iostream>

namespace slicerbridge {
namespace cli {

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

std::string read_token_file(const std::string& path) {
    std::string problem;
    auto token = token_from_file(path, problem);
    if (!token) {
        fail(exit_file, problem);
    }
    return std::move(*token);
}

bool is_loopback_host(const std::string& host) {
    if (host == "localhost") {
        return true;
    }
    std::error_code ec;
    const auto ip = asio::ip::make_address(host.substr(0, host.find('%')), ec);
    if (ec) {
        return false;
    }
    if (ip.is_v6() && ip.to_v6().is_v4_mapped()) {
        return asio::ip::make_address_v4(asio::ip::v4_mapped, ip.to_v6()).is_loopback();
    }
    return ip.is_loopback();
}

connection::connection(const server_options& where, const std::string& client_name) {
    client_options options;
    options.name = client_name;
    options.token = where.token;
    peer_ = where.launch ? *where.launch : where.server.value_or("");
    try {
        if (where.launch) {
            const auto argv = split_command(*where.launch);
            if (argv.empty()) {
                fail(exit_usage, "--launch: empty command");
            }
            client_ = sync_client::launch(argv, options);
            return;
        }
        const auto parsed = address::parse(peer_);
        if (!parsed) {
            fail(exit_usage, "the server address should be HOST:PORT, tls://HOST:PORT or "
                             "unix:PATH, not \"" +
                                 peer_ + "\"");
        }
        if (parsed->kind == address::transport::tcp && where.token &&
            !is_loopback_host(parsed->host)) {
            std::cerr << "warning: the token goes to " << parsed->host
                      << " in clear text: anyone on the path can read and reuse it; connect to "
                         "tls://"
                      << peer_ << " instead ([SEC-7])\n";
        }
        if (parsed->kind != address::transport::tls) {
            client_ = sync_client::connect(peer_, options);
            return;
        }
        client_ = connect_tls(peer_, parsed->host, where.tls_ca, options, tls_);
    } catch (const launch_error& e) {
        fail(exit_connection,
             e.what() + std::string(e.exit_status() ? " (its standard error is above)" : ""));
    } catch (const call_error& e) {
        if (e.code() == asio::error::eof || e.code() == asio::error::connection_reset ||
            e.code() == asio::error::broken_pipe) {
            fail(exit_connection,
                 peer_ + " closed the connection before its hello" +
                     (where.launch
                          ? std::string(" (did the command exit?)")
                          : std::string(" (a TLS server? then connect to tls://" + peer_ + ")")));
        }
        fail(exit_connection, "the server refused the connection: " + std::string(e.what()));
    } catch (const std::system_error& e) {
        fail(exit_connection, "cannot connect to " + peer_ + ": " + e.what());
    }
}

processor_description connection::describe(const std::string& processor) {
    auto described =
        checked("describe " + processor, [&]() -> std::optional<processor_description> {
            try {
                return client_->describe(processor);
            } catch (const call_error& e) {
                if (e.code() == error::unknown_processor) {
                    return std::nullopt;
                }
                throw;
            }
        });
    if (described) {
        return std::move(*described);
    }
    const auto catalog = checked("catalog", [&] { return client_->catalog(); });
    std::vector<std::string_view> names;
    for (const auto& d : catalog) {
        names.push_back(d.name);
    }
    fail(exit_call_failed, peer_ + " has no processor named \"" + processor + "\"" +
                               detail::did_you_mean(processor, names) +
                               " (slicerbridge list shows them)");
}

} // namespace cli
} // namespace slicerbridge
