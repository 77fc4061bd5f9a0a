#ifndef SLICERBRIDGE_REFERENCE_PROCESSORS_FAIL_HPP
#define SLICERBRIDGE_REFERENCE_PROCESSORS_FAIL_HPP

// Conformance: fails on purpose ([INV-5]).

#include "basics.hpp"

#include <stdexcept>

namespace slicerbridge {
namespace reference {

inline processor fail_processor() {
    processor p;
    auto& d = p.description;
    d.name = "fail";
    d.version = processors_version;
    d.title = "Fail";
    d.description = "Fails on purpose: mode error raises a processor error with `code` and "
                    "`message`; mode exception throws an ordinary C++ exception, answered as "
                    "processor_failed. Used by the conformance suite.";
    d.category = "Testing";
    d.contributor = contributor;
    d.parameters.push_back(number_parameter("code", slot_type::integer, "Error code",
                                            "Code in the processor range", "Failure",
                                            std::int64_t{1000}, 1000.0, 65535.0, 1.0));
    slot message;
    message.name = "message";
    message.type = slot_type::string;
    message.label = "Message";
    message.description = "Message of the error";
    message.group = "Failure";
    message.default_value = std::string("requested failure");
    d.parameters.push_back(std::move(message));
    d.parameters.push_back(enum_parameter("mode", "How to fail",
                                          "error: a processor error with the code; exception: "
                                          "an unexpected exception",
                                          "Failure", {"error", "exception"}, "error"));
    p.run = [](call_context&, const invoke_params& params) -> invoke_result {
        const auto& text = parameter<std::string>(params, "message");
        if (parameter<std::string>(params, "mode") == "exception") {
            throw std::runtime_error(text);
        }
        throw processor_error(static_cast<int>(parameter<std::int64_t>(params, "code")), text);
    };
    return p;
}

} // namespace reference
} // namespace slicerbridge

#endif
