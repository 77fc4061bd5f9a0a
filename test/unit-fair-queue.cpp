#include <slicerbridge/detail/fair_queue.hpp>

#include "support/allocation_recorder.hpp"
#include "support/decision_tables.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

using slicerbridge::detail::fair_queue;

namespace {

/// The task a push or finish started, or -1 for none.
int started(const std::optional<fair_queue<int>::start>& s) {
    return s ? s->task : -1;
}

} // namespace

TEST_CASE("fair queue: every case of fair_queue_decisions.json [LIMIT-10]") {
    for (const auto& v : test_support::decision_table("fair_queue_decisions.json")) {
        CAPTURE(v.at("id").get<std::string>());
        fair_queue<int> queue(v.at("workers").get<std::size_t>());
        std::map<std::string, fair_queue<int>::owner_id> owners; // the table's connections
        std::map<fair_queue<int>::owner_id, std::string> names;
        auto owner_of = [&](const nlohmann::json& name) {
            auto added = owners.emplace(name.get<std::string>(), owners.size() + 1);
            names[added.first->second] = added.first->first;
            return added.first->second;
        };
        int call = 0;
        for (const auto& step : v.at("steps")) {
            CAPTURE(step.dump());
            const auto start = step.contains("push")
                                   ? queue.push(owner_of(step.at("push")), ++call)
                                   : queue.finished(owner_of(step.at("finished")));
            if (step.at("starts").is_null()) {
                CHECK_FALSE(start);
                continue;
            }
            REQUIRE(start);
            const auto& name = names.at(start->owner);
            CHECK(name == step.at("starts").get<std::string>());
            if (step.contains("starts_one_of")) {
                const auto allowed = step.at("starts_one_of").get<std::vector<std::string>>();
                CHECK(std::find(allowed.begin(), allowed.end(), name) != allowed.end());
            }
        }
    }
}

// Not in the table, whose connections stay: a gone connection's waiting calls leave the queue.
TEST_CASE("a gone connection's waiting calls are dropped, its running ones still finish") {
    fair_queue<int> queue(1);
    CHECK(started(queue.push(1, 1)) == 1);
    CHECK(started(queue.push(1, 2)) == -1);
    CHECK(started(queue.push(2, 3)) == -1);
    CHECK(queue.take_waiting(2).size() == 1);
    CHECK(started(queue.finished(1)) == 2);
    CHECK(started(queue.finished(1)) == -1);
    CHECK(queue.running() == 0);
    CHECK(queue.take_waiting(1).empty());
}

// Not in the table, whose calls of one connection are not told apart: they start in order.
TEST_CASE("a connection's calls start in the order they came") {
    fair_queue<int> queue(2);
    CHECK(started(queue.push(1, 10)) == 10);
    CHECK(started(queue.push(1, 11)) == 11);
    CHECK(started(queue.push(1, 12)) == -1);
    CHECK(started(queue.push(2, 20)) == -1);
    CHECK(started(queue.push(1, 13)) == -1);
    CHECK(started(queue.finished(1)) == 20);
    CHECK(started(queue.finished(1)) == 12);
    CHECK(started(queue.finished(2)) == 13);
    CHECK(queue.running() == 2);
}

TEST_CASE("a connection that makes one call at a time, once warmed up, queues and starts its "
          "calls without an allocation") {
    using task = std::vector<int>; // owns memory, as a server's call task does
    fair_queue<task> queue(1);
    auto cycle = [&queue] {
        auto start = queue.push(7, task{});
        REQUIRE(start);
        CHECK_FALSE(queue.push(7, task{})); // waits behind the running one
        REQUIRE(queue.finished(7));
        CHECK_FALSE(queue.finished(7));
    };
    cycle();
    test_support::allocation_recorder recorder;
    for (int i = 0; i < 100; ++i) {
        cycle();
    }
    CHECK(recorder.stats().count == 0);
}
