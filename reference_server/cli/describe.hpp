#ifndef SLICERBRIDGE_REFERENCE_CLI_DESCRIBE_HPP
#define SLICERBRIDGE_REFERENCE_CLI_DESCRIBE_HPP

// A processor's description and its values as the command line prints them.

#include <slicerbridge/message/catalog.hpp>

#include <ostream>
#include <string>

namespace slicerbridge {
namespace cli {

/// A parameter value as it is written on the command line: "true", "1.5", "a,b,c".
std::string value_text(const parameter_value& p);

/// The description's name, title, inputs, outputs and parameters, one slot per line.
void print_description(std::ostream& out, const processor_description& d);

} // namespace cli
} // namespace slicerbridge

#endif
