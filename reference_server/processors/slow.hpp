#ifndef SLICERBRIDGE_REFERENCE_PROCESSORS_SLOW_HPP
#define SLICERBRIDGE_REFERENCE_PROCESSORS_SLOW_HPP

// Conformance: takes its time, reports monotonic progress and stops promptly when cancelled.

#include "basics.hpp"

#include <algorithm>
#include <chrono>
#include <thread>

namespace slicerbridge {
namespace reference {

inline processor slow_processor() {
    processor p;
    auto& d = p.description;
    d.name = "slow";
    d.version = processors_version;
    d.title = "Slow";
    d.description = "Waits `seconds` in `steps` equal steps, reporting progress after each; "
                    "stops within about 10 ms, with the error cancelled, when the call is "
                    "cancelled. Used by the conformance suite.";
    d.category = "Testing";
    d.contributor = contributor;
    d.idempotent = true; // the same inputs give the same outputs, and nothing else happens
    d.parameters.push_back(number_parameter("seconds", slot_type::floating, "Duration (s)",
                                            "Total time to take", "Timing", 2.0, 0.0, 3600.0,
                                            0.1));
    d.parameters.push_back(number_parameter("steps", slot_type::integer, "Steps",
                                            "Number of progress steps", "Timing",
                                            std::int64_t{20}, 1.0, 100000.0, 1.0));
    p.run = [](call_context& ctx, const invoke_params& params) {
        using clock = std::chrono::steady_clock;
        const double seconds = parameter<double>(params, "seconds");
        const auto steps = parameter<std::int64_t>(params, "steps");
        const auto start = clock::now();
        constexpr auto slice = std::chrono::milliseconds(10);
        for (std::int64_t step = 1; step <= steps; ++step) {
            const auto step_end =
                start + std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(
                            seconds * static_cast<double>(step) / static_cast<double>(steps)));
            for (auto now = clock::now(); now < step_end; now = clock::now()) {
                ctx.throw_if_cancelled();
                std::this_thread::sleep_for(std::min<clock::duration>(slice, step_end - now));
            }
            ctx.throw_if_cancelled();
            ctx.report_progress(static_cast<double>(step) / static_cast<double>(steps),
                                "step " + std::to_string(step) + " of " + std::to_string(steps));
        }
        return invoke_result{};
    };
    return p;
}

} // namespace reference
} // namespace slicerbridge

#endif
