#include <slicerbridge/detail/byte_budget.hpp>

#include "support/decision_tables.hpp"

#include <doctest/doctest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

using slicerbridge::detail::byte_budget;
using slicerbridge::detail::connection_budget;

TEST_CASE("byte budgets: every case of budget_decisions.json [LIMIT-9]") {
    for (const auto& v : test_support::decision_table("budget_decisions.json")) {
        CAPTURE(v.at("id").get<std::string>());
        byte_budget total(v.at("total").get<std::size_t>());
        std::map<std::string, std::unique_ptr<connection_budget>> connections;
        for (const auto& entry : v.at("connections").items()) {
            connections.emplace(entry.key(), std::make_unique<connection_budget>(
                                                 total, entry.value().get<std::size_t>()));
        }
        std::map<std::string, std::uint64_t> waiting; // frames whose reservation was refused
        // Through the read gate, as the server's sessions ask: a frame it admits is received
        // at once, and its reservation goes to the call that keeps its bytes.
        auto reserve = [&connections](const std::string& name, std::uint64_t size) {
            auto& gate = *connections.at(name);
            if (!gate.admit_read(size)) {
                return false;
            }
            CHECK(gate.take_frame_reservation() == size);
            return true;
        };
        for (const auto& step : v.at("steps")) {
            CAPTURE(step.dump());
            const auto name = step.at("connection").get<std::string>();
            auto& budget = *connections.at(name);
            if (step.contains("reserve_frame")) {
                const auto size = step.at("reserve_frame").get<std::uint64_t>();
                const bool admitted = reserve(name, size);
                CHECK(admitted == (step.at("expect") == "admitted"));
                if (!admitted) {
                    waiting[name] = size;
                }
            } else if (step.contains("add")) {
                budget.add(step.at("add").get<std::uint64_t>());
            } else if (step.contains("release")) {
                budget.release(step.at("release").get<std::uint64_t>());
                std::vector<std::string> admits; // sorted, as the map is
                for (auto it = waiting.begin(); it != waiting.end();) {
                    if (reserve(it->first, it->second)) {
                        admits.push_back(it->first);
                        it = waiting.erase(it);
                    } else {
                        ++it;
                    }
                }
                CHECK(admits == step.at("admits").get<std::vector<std::string>>());
            } else {
                REQUIRE(step.at("observe") == "next_frame");
                CHECK(budget.admit_read(0) == (step.at("expect") == "reads"));
            }
        }
        CHECK(waiting.empty());
        CHECK(total.held() == v.at("held").at("total").get<std::uint64_t>());
        for (const auto& entry : connections) {
            CHECK(entry.second->held() == v.at("held").at(entry.first).get<std::uint64_t>());
        }
    }
}

// Not in the table, which has no closing connections: what a connection holds goes back to
// the server's budget when it closes.
TEST_CASE("a closed connection returns what it held [LIMIT-9]") {
    byte_budget total(1000);
    {
        connection_budget first(total, 600);
        CHECK(first.try_reserve_frame(500));
        first.add(300);
        CHECK(total.held() == 800);
    }
    CHECK(total.held() == 0);
    CHECK(total.has_room());
}

// Not in the table, which receives every admitted frame at once: the gate reserves a frame
// once, however often it is asked while the frame arrives.
TEST_CASE("the read gate reserves a frame at its first announced size, once [LIMIT-9]") {
    byte_budget total(1000);
    connection_budget gate(total, 600);
    CHECK(gate.admit_read(0)); // nothing held: a new frame may start
    CHECK(gate.admit_read(400));
    CHECK(gate.held() == 400);
    CHECK(gate.admit_read(400)); // the same frame: reserved already, nothing more held
    CHECK(gate.admit_read(0));
    CHECK(gate.held() == 400);
    CHECK(gate.take_frame_reservation() == 400);
    CHECK(gate.take_frame_reservation() == 0);
    CHECK_FALSE(gate.admit_read(300)); // 400 held by whoever took it: over the share of 600
    CHECK(gate.held() == 400);
    gate.release(400);
    CHECK(gate.admit_read(300));
    CHECK(gate.take_frame_reservation() == 300);
    gate.release(300);
}
