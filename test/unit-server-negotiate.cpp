// negotiate(), the server's side of the handshake, without a socket: every case of
// spec/vectors/decisions/handshake_decisions.json, and what the reply carries besides.
#include <slicerbridge/server/negotiate.hpp>

#include "support/decision_tables.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

namespace sb = slicerbridge;
using table_json = nlohmann::json;

namespace {

sb::protocol_version version_of(const table_json& pair) {
    return sb::protocol_version{pair.at(0).get<std::uint16_t>(), pair.at(1).get<std::uint16_t>()};
}

sb::client_hello hello_of(const table_json& j) {
    sb::client_hello hello;
    hello.min_version = version_of(j.at("min_version"));
    hello.max_version = version_of(j.at("max_version"));
    hello.capabilities = j.at("capabilities").get<std::vector<std::string>>();
    if (j.contains("token")) {
        hello.token = j.at("token").get<std::string>();
    }
    return hello;
}

sb::server_options options_of(const table_json& j) {
    sb::server_options options;
    if (!j.at("token").is_null()) {
        options.token = j.at("token").get<std::string>();
    }
    options.codecs = sb::codec_set{};
    for (const auto& name : j.at("codecs")) {
        if (auto c = sb::codec_from_name(name.get<std::string>())) {
            options.codecs.insert(*c);
        }
    }
    return options;
}

std::vector<std::string> sorted(std::vector<std::string> names) {
    std::sort(names.begin(), names.end());
    return names;
}

} // namespace

TEST_CASE("negotiate: every case of handshake_decisions.json [HELLO-3] [CAP-4] [CODEC-1] "
          "[SEC-3] [HELLO-8]") {
    const table_json table = test_support::decision_table("handshake_decisions.json");
    for (const auto& v : table) {
        const auto options = options_of(v.at("server"));
        // A codec this build lacks cannot be in force: such a case is not this build's to check.
        bool codecs_available = true;
        for (const auto& name : v.at("server").at("codecs")) {
            auto c = sb::codec_from_name(name.get<std::string>());
            codecs_available = codecs_available && c && sb::codec_set::all().contains(*c);
        }
        if (!codecs_available) {
            continue;
        }
        CAPTURE(v.at("id").get<std::string>());
        auto result = sb::detail::negotiate(hello_of(v.at("hello")), options);
        if (v.at("outcome") == "refuse") {
            REQUIRE(result.refusal.has_value());
            CHECK(result.refusal->code == test_support::table_error(v.at("error")));
            continue;
        }
        REQUIRE_FALSE(result.refusal.has_value());
        CHECK(result.reply.version == version_of(v.at("version")));
        CHECK(sorted(result.reply.capabilities) ==
              sorted(v.at("capabilities").get<std::vector<std::string>>()));
        CHECK(result.progress == v.at("progress").get<bool>());
    }
}

TEST_CASE("negotiate: the reply carries the server's limits and implementation, the peer's "
          "limits are kept [LIMIT-1]") {
    sb::server_options options;
    options.name = "test-server";
    options.version = "9.9";
    options.receive_limits.max_frame = 12345;
    sb::client_hello hello;
    hello.limits.max_head = 777;
    auto result = sb::detail::negotiate(hello, options);
    REQUIRE_FALSE(result.refusal.has_value());
    CHECK(result.reply.limits.max_frame == 12345);
    REQUIRE(result.reply.implementation.has_value());
    CHECK(result.reply.implementation->name == "test-server");
    CHECK(result.reply.implementation->version == "9.9");
    CHECK(result.peer_limits.max_head == 777);
}

TEST_CASE("negotiate: an unsupported_version refusal names the server's range [HELLO-3]") {
    sb::client_hello hello;
    hello.min_version = {2, 0};
    hello.max_version = {2, 3};
    auto result = sb::detail::negotiate(hello, sb::server_options{});
    REQUIRE(result.refusal.has_value());
    CHECK(result.refusal->code == sb::error::unsupported_version);
    REQUIRE(result.refusal->details.is_map());
    CHECK(result.refusal->details.find("min_version") != nullptr);
    CHECK(result.refusal->details.find("max_version") != nullptr);
}
