#include "connection.hpp"

#include <doctest/doctest.h>

using slicerbridge::cli::is_loopback_host;

TEST_CASE("a token goes to loopback hosts without a warning, to others with one [SEC-7]") {
    for (const char* host : {"127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1", "localhost",
                             "::1%lo"}) {
        CAPTURE(host);
        CHECK(is_loopback_host(host));
    }
    for (const char* host :
         {"192.0.2.10", "::ffff:192.0.2.10", "2001:db8::1", "example.org", "localhost.", ""}) {
        CAPTURE(host);
        CHECK_FALSE(is_loopback_host(host));
    }
}
