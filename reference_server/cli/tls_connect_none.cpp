// connect_tls (connection.hpp) in a build without TLS (no OpenSSL, hence no slicerbridge::tls,
// as in the Windows cross build).
#include "connection.hpp"

namespace slicerbridge {
namespace cli {

std::unique_ptr<sync_client> connect_tls(const std::string& peer, const std::string&,
                                         const std::optional<std::string>&, const client_options&,
                                         std::shared_ptr<void>&) {
    fail(exit_usage, "cannot connect to " + peer +
                         ": this build has no TLS (it was built without OpenSSL); connect to a "
                         "plain TCP address or launch the server instead");
}

} // namespace cli
} // namespace slicerbridge
