#ifndef SLICERBRIDGE_REFERENCE_PROCESSORS_BASICS_HPP
#define SLICERBRIDGE_REFERENCE_PROCESSORS_BASICS_HPP

// What every reference processor uses, VTK or not: slot builders and typed access to parameters
// and inputs. The conformance processors (echo, slow, fail) need nothing else, so they build
// where VTK is not at hand (the Windows cross build).

#include <slicerbridge/processor.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace slicerbridge {
namespace reference {

inline constexpr const char* processors_version = "1.0.0";
inline constexpr const char* contributor = "SlicerBridge reference server (VTK)";

// ---- slots -------------------------------------------------------------------------------------

inline slot data_slot(std::string name, slot_type type, std::string label, std::string description,
                      bool optional = false, std::optional<image_kind> kind = std::nullopt) {
    slot s;
    s.name = std::move(name);
    s.type = type;
    s.label = std::move(label);
    s.description = std::move(description);
    s.optional = optional;
    s.image_kind = kind;
    return s;
}

inline slot number_parameter(std::string name, slot_type type, std::string label,
                             std::string description, std::string group, parameter_value fallback,
                             std::optional<double> minimum = std::nullopt,
                             std::optional<double> maximum = std::nullopt,
                             std::optional<double> step = std::nullopt) {
    slot s;
    s.name = std::move(name);
    s.type = type;
    s.label = std::move(label);
    s.description = std::move(description);
    s.group = std::move(group);
    s.default_value = std::move(fallback);
    s.minimum = minimum;
    s.maximum = maximum;
    s.step = step;
    return s;
}

inline slot bool_parameter(std::string name, std::string label, std::string description,
                           std::string group, bool fallback) {
    return number_parameter(std::move(name), slot_type::boolean, std::move(label),
                            std::move(description), std::move(group), fallback);
}

inline slot enum_parameter(std::string name, std::string label, std::string description,
                           std::string group, std::vector<std::string> choices,
                           std::string fallback) {
    slot s = number_parameter(std::move(name), slot_type::enumeration, std::move(label),
                              std::move(description), std::move(group), std::move(fallback));
    s.choices = std::move(choices);
    return s;
}

// ---- parameters and inputs ---------------------------------------------------------------------

/// The parameter `name` as T. The server has checked it against its slot and filled in the
/// default ([INV-2], [INV-3]), so only a processor registered with a mismatched description can
/// miss it.
template <class T>
const T& parameter(const invoke_params& params, std::string_view name) {
    const T* found = params.parameter_as<T>(name);
    if (found == nullptr) {
        throw processor_error(error::internal_error,
                              "parameter " + std::string(name) + " is missing or mistyped",
                              value::map{{"name", std::string(name)}});
    }
    return *found;
}

template <class T>
const T& input(const invoke_params& params, std::string_view name) {
    const T* found = params.input_as<T>(name);
    if (found == nullptr) {
        throw processor_error(error::invalid_argument, "input " + std::string(name) + " is missing",
                              value::map{{"name", std::string(name)}});
    }
    return *found;
}

/// Fails the call with invalid_argument naming `name` ([INV-2]).
[[noreturn]] inline void reject(std::string_view name, const std::string& problem) {
    throw processor_error(error::invalid_argument, std::string(name) + ": " + problem,
                          value::map{{"name", std::string(name)}});
}

/// A one-output result.
inline invoke_result single_output(std::string name, data_value output) {
    invoke_result result;
    result.outputs.emplace_back(std::move(name), std::move(output));
    return result;
}

} // namespace reference
} // namespace slicerbridge

#endif
