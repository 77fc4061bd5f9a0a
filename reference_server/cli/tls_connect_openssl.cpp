// connect_tls (connection.hpp) in a build with TLS.
#include "connection.hpp"

#include <slicerbridge/transport/tls_client.hpp>

namespace slicerbridge {
namespace cli {

std::unique_ptr<sync_client> connect_tls(const std::string& peer, const std::string& host,
                                         const std::optional<std::string>& ca,
                                         const client_options& options,
                                         std::shared_ptr<void>& context) {
    std::error_code ec;
    auto tls = std::make_shared<tls_client_context>(host, ca, ec);
    if (ec) {
        fail(exit_file,
             "cannot read the CA certificates in " + ca.value_or("") + ": " + ec.message());
    }
    context = tls;
    try {
        return sync_client::connect(peer, options, &tls->context());
    } catch (const std::system_error& e) {
        if (e.code().category() == category()) {
            throw;
        }
        fail(exit_connection, "cannot connect to " + peer + ": " + tls->explain(e.code()));
    }
}

} // namespace cli
} // namespace slicerbridge
