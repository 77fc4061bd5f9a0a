#ifndef SLICERBRIDGE_IGTL_GATEWAY_XML_HPP
#define SLICERBRIDGE_IGTL_GATEWAY_XML_HPP

// The XML of OpenIGTLink version 2 commands (`<Command Name="..." .../>`), read with expat (the
// parser VTK's vtkXMLUtilities, which PLUS uses, is built on) and written with escaping.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace slicerbridge {
namespace igtl_gateway {

struct xml_element {
    std::string name;
    std::vector<std::pair<std::string, std::string>> attributes;
    std::vector<xml_element> children;

    /// The attribute of that name (exact case), or nullptr.
    const std::string* attribute(std::string_view key) const;
};

/// Parses one XML document. Text content is ignored; nesting deeper than `max_depth` is an
/// error. On failure returns nothing and sets `error` ("line 1, column 7: not well-formed").
std::optional<xml_element> parse_xml(const std::string& text, std::string& error,
                                     int max_depth = 16);

/// Escapes `& < > " '` for use in attribute values and text.
std::string xml_escape(std::string_view text);

/// ASCII case-insensitive comparison (PLUS compares command names so).
bool iequals(std::string_view a, std::string_view b);

/// Writes elements with attributes; children are added between `open` and `close`.
class xml_writer {
public:
    /// Starts `<name`; add attributes with `attribute`, then `open()` or `end()`.
    xml_writer& start(std::string_view name);
    xml_writer& attribute(std::string_view key, std::string_view value);
    /// Ends the start tag with `>`: children follow, then `close(name)`.
    xml_writer& open();
    /// Ends the element with ` />`.
    xml_writer& end();
    xml_writer& close(std::string_view name);
    const std::string& str() const { return text_; }

private:
    std::string text_;
};

} // namespace igtl_gateway
} // namespace slicerbridge

#endif
