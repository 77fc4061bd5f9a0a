#ifndef SLICERBRIDGE_REFERENCE_CLI_PARAMETERS_HPP
#define SLICERBRIDGE_REFERENCE_CLI_PARAMETERS_HPP

// Parameter values from command-line text: numbers, booleans, choices, comma-separated vectors.

#include <slicerbridge/message/catalog.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace slicerbridge {
namespace cli {

/// Each of these fails with exit_usage and a message naming the parameter `name`.
std::int64_t parse_int(const std::string& name, const std::string& text);
double parse_float(const std::string& name, const std::string& text);

/// Comma-separated items; "" is no item, a trailing comma an empty last item.
std::vector<std::string> split_list(const std::string& text);

/// The value of parameter slot `s` written as `text`: true/false (also 1/0, yes/no, on/off),
/// numbers, a choice, or comma-separated vector elements. Fails with exit_usage.
parameter_value parse_parameter(const slot& s, const std::string& text);

/// The slot of `slots` named `name`, or null.
const slot* find_slot(const std::vector<slot>& slots, const std::string& name);

/// "sigma, radius and mode" from the names of `slots`, or "none".
std::string slot_names(const std::vector<slot>& slots);

} // namespace cli
} // namespace slicerbridge

#endif
