// decide_resend(), a pool's decision on a call its connection is done with, without a socket:
// every case of spec/vectors/decisions/resend_decisions.json (the Python pool runs them too).
#include <slicerbridge/client/resend.hpp>

#include "support/decision_tables.hpp"

#include <doctest/doctest.h>

#include <map>
#include <optional>
#include <string>

namespace d = slicerbridge::detail;

namespace {

const std::map<std::string, d::call_outcome> resend_outcomes{
    {"answered", d::call_outcome::answered},
    {"error", d::call_outcome::error},
    {"shutting_down", d::call_outcome::shutting_down},
    {"lost", d::call_outcome::lost}};

const std::map<std::string, d::resend_action> resend_actions{
    {"complete", d::resend_action::complete},
    {"resend", d::resend_action::resend},
    {"fail", d::resend_action::fail}};

const std::map<std::string, d::connection_fate> connection_fates{
    {"keep", d::connection_fate::keep},
    {"replace", d::connection_fate::replace},
    {"drain", d::connection_fate::drain}};

/// The table's `error` as the failure the pool reports: the call's own error when it completes.
d::resend_failure resend_failure_of(const nlohmann::json& v) {
    const auto& error = v.at("error");
    if (error.is_null() || v.at("action") == "complete") {
        return d::resend_failure::none;
    }
    const std::string name = error.get<std::string>();
    if (name == "connection_lost") {
        return d::resend_failure::connection_lost;
    }
    if (name == "retries_exhausted") {
        return d::resend_failure::retries_exhausted;
    }
    REQUIRE(name == "shutting_down");
    return d::resend_failure::refused;
}

} // namespace

TEST_CASE("client_pool's resend decision: every case of resend_decisions.json [RESEND-1] "
          "[RESEND-2] [RESEND-3] [RESEND-4] [RESEND-5]") {
    const auto table = test_support::decision_table("resend_decisions.json");
    for (const auto& v : table) {
        CAPTURE(v.at("id").get<std::string>());
        std::optional<bool> idempotent;
        if (!v.at("idempotent").is_null()) {
            idempotent = v.at("idempotent").get<bool>();
        }
        auto decision = d::decide_resend(resend_outcomes.at(v.at("outcome").get<std::string>()),
                                         idempotent, v.at("attempts").get<std::size_t>(),
                                         v.at("max_retries").get<std::size_t>());
        CHECK(decision.action == resend_actions.at(v.at("action").get<std::string>()));
        CHECK(decision.failure == resend_failure_of(v));
        CHECK(decision.connection == connection_fates.at(v.at("connection").get<std::string>()));
    }
}
