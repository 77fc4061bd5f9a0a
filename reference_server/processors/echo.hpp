#ifndef SLICERBRIDGE_REFERENCE_PROCESSORS_ECHO_HPP
#define SLICERBRIDGE_REFERENCE_PROCESSORS_ECHO_HPP

// Conformance: returns every input unchanged ([IMG-5]), and from version 1.1 image series
// ([PROC-6]) and its `number` parameter as the scalar output `number_out` ([CAT-7]).

#include "basics.hpp"

#include <algorithm>
#include <chrono>
#include <thread>

namespace slicerbridge {
namespace reference {

inline processor echo_processor() {
    processor p;
    auto& d = p.description;
    d.name = "echo";
    d.version = processors_version;
    d.title = "Echo";
    d.description = "Returns every input it is given, unchanged, as the output of the same type "
                    "named after it with the suffix _out (slot names are unique across inputs "
                    "and outputs), and the parameter number as the number output number_out. "
                    "Used by the conformance suite.";
    d.category = "Testing";
    d.contributor = contributor;
    d.idempotent = true; // the same inputs give the same outputs, and nothing else happens
    const std::pair<const char*, slot_type> kinds[] = {
        {"image", slot_type::image},         {"mesh", slot_type::mesh},
        {"transform", slot_type::transform}, {"points", slot_type::points},
        {"table", slot_type::table},         {"image_series", slot_type::image_series},
    };
    for (const auto& [name, type] : kinds) {
        d.inputs.push_back(data_slot(name, type, std::string("Input ") + name,
                                     std::string("Any ") + name + ", returned unchanged", true));
        d.outputs.push_back(data_slot(std::string(name) + "_out", type,
                                      std::string("Output ") + name,
                                      std::string("The input ") + name + ", unchanged", true));
    }
    slot number;
    number.name = "number";
    number.type = slot_type::floating;
    number.label = "Number";
    number.description = "Any number, returned as number_out";
    number.group = "Echo";
    number.optional = true;
    d.parameters.push_back(number);
    slot delay = number;
    delay.name = "delay";
    delay.label = "Delay (s)";
    delay.description = "Seconds to wait before answering (stops when cancelled), for tests of "
                        "load balancing and fail-over";
    delay.minimum = 0.0;
    delay.maximum = 3600.0;
    d.parameters.push_back(delay);
    number.name = "number_out";
    number.label = "Number out";
    number.description = "The parameter number, unchanged";
    number.group.clear();
    d.outputs.push_back(number);
    p.run = [](call_context& ctx, const invoke_params& params) {
        if (const double* delay = params.parameter_as<double>("delay")) {
            using clock = std::chrono::steady_clock;
            const auto end = clock::now() + std::chrono::duration_cast<clock::duration>(
                                                std::chrono::duration<double>(*delay));
            for (auto now = clock::now(); now < end; now = clock::now()) {
                ctx.throw_if_cancelled();
                std::this_thread::sleep_for(
                    std::min<clock::duration>(std::chrono::milliseconds(10), end - now));
            }
            ctx.throw_if_cancelled();
        }
        invoke_result result;
        for (const auto& [name, data] : params.inputs) {
            result.outputs.emplace_back(name + "_out", data);
        }
        if (const parameter_value* given = params.parameter("number")) {
            result.scalars.emplace_back("number_out", *given);
        }
        return result;
    };
    return p;
}

} // namespace reference
} // namespace slicerbridge

#endif
