#ifndef SLICERBRIDGE_REFERENCE_CLI_CONNECTION_HPP
#define SLICERBRIDGE_REFERENCE_CLI_CONNECTION_HPP

// Where a command-line program finds its server, and the connection to it: an address (TCP,
// TLS, Unix socket) or a command launched over its standard input and output, with a token read
// from a file or the environment, never from the command line that `ps` shows.

#include "exit_status.hpp"

#include <slicerbridge/sync_client.hpp>

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace slicerbridge {
namespace cli {

struct server_options {
    std::optional<std::string> server; ///< HOST:PORT, tls://HOST:PORT or unix:PATH
    std::optional<std::string> launch; ///< a command line, split by split_command
    std::optional<std::string> token;
    std::optional<std::string> tls_ca; ///< CA certificates for tls://; else the system's
};

/// Splits a command line on white space, honouring single and double quotes and backslashes.
/// Fails (exit_usage) on an unterminated quote.
std::vector<std::string> split_command(const std::string& text);

/// Whether `host` (from an address) is a loopback IP address or `localhost`. Other names are not
/// resolved and count as not: a token sent to them without TLS gets a warning ([SEC-7]).
bool is_loopback_host(const std::string& host);

/// The first line of `path`, without its line end: a token file. Fails with exit_file when the
/// file cannot be read or is empty.
std::string read_token_file(const std::string& path);

/// A connected, handshaken client. Fails with exit_usage for a malformed address, exit_file for
/// unreadable CA certificates, exit_connection when the server cannot be reached or refuses.
class connection {
public:
    connection(const server_options& where, const std::string& client_name);

    sync_client& client() { return *client_; }
    /// The processor's description; a name the server does not know fails with the likeliest
    /// one meant.
    processor_description describe(const std::string& processor);
    /// The server's address or the launched command, for messages.
    const std::string& peer() const { return peer_; }

private:
    std::shared_ptr<void> tls_; // a tls:// connection's context (tls_connect.hpp), outlives client_
    std::unique_ptr<sync_client> client_;
    std::string peer_;
};

/// Connects to a tls:// address (`host` from it) and performs the handshake; `context` receives
/// what the client uses and must outlive it. Fails like connection. One file per build:
/// tls_connect_openssl.cpp, or tls_connect_none.cpp where the SDK has no TLS.
std::unique_ptr<sync_client> connect_tls(const std::string& peer, const std::string& host,
                                         const std::optional<std::string>& ca,
                                         const client_options& options,
                                         std::shared_ptr<void>& context);

/// Calls `f`; a failure of the call (a code of 100 and above) becomes exit_call_failed, any
/// other failure of the call or the connection exit_connection, each with `what` in front.
template <class F>
auto checked(const std::string& what, F&& f) {
    try {
        return f();
    } catch (const call_error& e) {
        const int code = e.code().category() == category() ? e.code().value() : 0;
        fail(code >= 100 ? exit_call_failed : exit_connection, what + " failed: " + e.what());
    } catch (const std::system_error& e) {
        fail(exit_connection, what + " failed: " + e.what());
    }
}

} // namespace cli
} // namespace slicerbridge

#endif
