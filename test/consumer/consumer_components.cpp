// Uses the components tls and json (slicerbridge::tls, slicerbridge::json) with the separately
// compiled SDK: proof that each carries its definitions (tls_client.hpp refuses to compile
// without SLICERBRIDGE_TLS), include paths and libraries.
#include <slicerbridge/json.hpp>
#include <slicerbridge/transport/tls_client.hpp>

#include <cstdio>

int main() {
    using namespace slicerbridge;
    const value sent = value::map{{"a", value::array{1, 2.5, "three"}}};
    std::error_code ec;
    const value back = value_from_json(to_json(sent), ec);
    std::error_code tls_ec;
    const tls_client_context tls("localhost", std::nullopt, tls_ec); // links OpenSSL
    const bool same = !ec && back == sent && !tls_ec;
    std::printf("%s\n", same ? "components ok" : "components FAILED");
    return same ? 0 : 1;
}
