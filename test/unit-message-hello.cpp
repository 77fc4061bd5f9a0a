#include <slicerbridge/message/hello.hpp>

#include "support/printers.hpp"

#include <doctest/doctest.h>

namespace sb = slicerbridge;
using sb::error;
using sb::value;

namespace {

value minimal_client_hello() {
    return value::map{{"kind", "hello"},
                      {"protocol", "slicerbridge"},
                      {"min_version", value::array{1, 0}},
                      {"max_version", value::array{1, 0}}};
}

} // namespace

TEST_CASE("hellos round-trip with every field [HELLO-1]") {
    sb::client_hello client;
    client.min_version = {1, 0};
    client.max_version = {1, 3};
    client.capabilities = {"progress", "codec.zstd", "x-grease-5a"};
    client.limits.max_frame = 1ull << 34;
    client.limits.max_depth = 16;
    client.implementation = sb::implementation_info{"slicerbridge-cpp", "1.0.0"};
    client.token = "secret-token-for-the-tests-0123456789";
    std::error_code ec;
    std::string what;
    CHECK(sb::client_hello_from_value(sb::to_value(client), ec, what) == client);
    CHECK_FALSE(ec);

    sb::server_hello server;
    server.version = {1, 0};
    server.capabilities = {"progress", "cancel"};
    server.limits.max_in_flight = 8;
    server.limits.cancel_grace = 2.5;
    CHECK(sb::server_hello_from_value(sb::to_value(server), ec, what) == server);
    CHECK_FALSE(ec);
    CHECK(sb::to_value(server).find("token") == nullptr);
}

TEST_CASE("a minimal hello takes default limits and no capabilities [HELLO-5] [CAP-1]") {
    std::error_code ec;
    std::string what;
    const auto hello = sb::client_hello_from_value(minimal_client_hello(), ec, what);
    REQUIRE_FALSE(ec);
    CHECK(hello.capabilities.empty());
    CHECK(hello.limits == sb::limits{});
    CHECK_FALSE(hello.implementation.has_value());
    CHECK_FALSE(hello.token.has_value());
}

TEST_CASE("unknown keys, limit keys and capabilities are ignored [HEAD-2] [CAP-1] [LIMIT-4]") {
    value v = minimal_client_hello();
    v["x-vendor"] = value::map{{"a", 1}};
    v["capabilities"] = value::array{"future.thing", "x-grease-7"};
    v["limits"] = value::map{{"max_frame", 100000}, {"max_future", "whatever"}};
    std::error_code ec;
    std::string what;
    const auto hello = sb::client_hello_from_value(v, ec, what);
    REQUIRE_FALSE(ec);
    CHECK(hello.limits.max_frame == 100000);
    CHECK(hello.capabilities.size() == 2);
}

TEST_CASE("limits outside their ranges are invalid_message [LIMIT-4]") {
    const auto reject = [](value limits) {
        value v = minimal_client_hello();
        v["limits"] = std::move(limits);
        std::error_code ec;
        std::string what;
        sb::client_hello_from_value(v, ec, what);
        CHECK(ec == error::invalid_message);
        return what;
    };
    CHECK(reject(value::map{{"max_frame", 0}}) == "hello.limits.max_frame: integer out of range");
    CHECK(reject(value::map{{"max_head", 4294967296ll}}) ==
          "hello.limits.max_head: integer out of range");
    CHECK(reject(value::map{{"max_depth", -1}}) == "hello.limits.max_depth: integer out of range");
    CHECK(reject(value::map{{"cancel_grace", -0.5}}) ==
          "hello.limits.cancel_grace: expected a finite number >= 0");
    CHECK(reject(value::map{{"max_frame", 1.5}}) == "hello.limits.max_frame: expected an integer");
    CHECK(reject(value::array{}) == "hello.limits: expected a map");
}

TEST_CASE("limits beyond 32 bits are kept as the largest 32-bit value [LIMIT-4]") {
    std::error_code ec;
    std::string what;
    const auto l = sb::limits_from_value(
        value::map{{"max_in_flight", UINT64_MAX}, {"max_depth", 1ull << 40},
                   {"max_frame", UINT64_MAX}, {"cancel_grace", 0}},
        ec, what);
    REQUIRE_FALSE(ec);
    CHECK(l.max_in_flight == UINT32_MAX);
    CHECK(l.max_depth == UINT32_MAX);
    CHECK(l.max_frame == UINT64_MAX);
    CHECK(l.cancel_grace == 0.0);
}

TEST_CASE("a hello of another protocol, or with missing or mistyped keys, is invalid_message "
          "[HELLO-5]") {
    const auto reject = [](auto edit) {
        value v = minimal_client_hello();
        edit(v);
        std::error_code ec;
        std::string what;
        sb::client_hello_from_value(v, ec, what);
        CHECK(ec == error::invalid_message);
        return what;
    };
    CHECK(reject([](value& v) { v["protocol"] = "openigtlink"; }) ==
          "hello.protocol: expected \"slicerbridge\"");
    CHECK(reject([](value& v) { v.as_map().erase(v.as_map().begin() + 1); }) ==
          "hello.protocol: missing");
    CHECK(reject([](value& v) { v["min_version"] = "1.0"; }) ==
          "hello.min_version: expected [major, minor]");
    CHECK(reject([](value& v) { v["max_version"] = value::array{1, 65536}; }) ==
          "hello.max_version: integer out of range");
    CHECK(reject([](value& v) { v["capabilities"] = value::array{1}; }) ==
          "hello.capabilities: expected an array of strings");
    CHECK(reject([](value& v) { v["implementation"] = "cpp"; }) ==
          "hello.implementation: expected a map");
    CHECK(reject([](value& v) { v["token"] = 1234; }) == "hello.token: expected a string");
}
