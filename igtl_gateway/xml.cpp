#include "xml.hpp"

#include <expat.h>

#include <memory>

namespace slicerbridge {
namespace igtl_gateway {

const std::string* xml_element::attribute(std::string_view key) const {
    for (const auto& [k, v] : attributes) {
        if (k == key) {
            return &v;
        }
    }
    return nullptr;
}

namespace {

struct parse_state {
    std::vector<xml_element*> stack;
    std::optional<xml_element> root;
    int max_depth = 16;
    std::string error;
    XML_Parser parser = nullptr;
};

void XMLCALL on_start(void* user, const XML_Char* name, const XML_Char** attributes) {
    auto* s = static_cast<parse_state*>(user);
    if (static_cast<int>(s->stack.size()) >= s->max_depth) {
        s->error = "nesting deeper than " + std::to_string(s->max_depth) + " elements";
        XML_StopParser(s->parser, XML_FALSE);
        return;
    }
    xml_element element;
    element.name = name;
    for (const XML_Char** a = attributes; a[0] != nullptr; a += 2) {
        element.attributes.emplace_back(a[0], a[1]);
    }
    xml_element* placed = nullptr;
    if (s->stack.empty()) {
        s->root = std::move(element);
        placed = &*s->root;
    } else {
        s->stack.back()->children.push_back(std::move(element));
        placed = &s->stack.back()->children.back();
    }
    s->stack.push_back(placed);
}

void XMLCALL on_end(void* user, const XML_Char*) {
    auto* s = static_cast<parse_state*>(user);
    s->stack.pop_back();
}

} // namespace

std::optional<xml_element> parse_xml(const std::string& text, std::string& error, int max_depth) {
    std::unique_ptr<XML_ParserStruct, void (*)(XML_Parser)> parser(XML_ParserCreate("UTF-8"),
                                                                   XML_ParserFree);
    if (!parser) {
        error = "out of memory";
        return std::nullopt;
    }
    parse_state state;
    state.max_depth = max_depth;
    state.parser = parser.get();
    XML_SetUserData(parser.get(), &state);
    XML_SetElementHandler(parser.get(), on_start, on_end);
    // Children are stored by value: reserve nothing, but never hold pointers across pushes to
    // the same vector (the stack points only at the last child of each open element).
    const auto status =
        XML_Parse(parser.get(), text.data(), static_cast<int>(text.size()), XML_TRUE);
    if (!state.error.empty()) {
        error = state.error;
        return std::nullopt;
    }
    if (status != XML_STATUS_OK) {
        error = "line " + std::to_string(XML_GetCurrentLineNumber(parser.get())) + ", column " +
                std::to_string(XML_GetCurrentColumnNumber(parser.get())) + ": " +
                XML_ErrorString(XML_GetErrorCode(parser.get()));
        return std::nullopt;
    }
    if (!state.root) {
        error = "no element";
        return std::nullopt;
    }
    return std::move(state.root);
}

std::string xml_escape(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (char c : text) {
        switch (c) {
        case '&':
            out += "&amp;";
            break;
        case '<':
            out += "&lt;";
            break;
        case '>':
            out += "&gt;";
            break;
        case '"':
            out += "&quot;";
            break;
        case '\'':
            out += "&apos;";
            break;
        case '\n':
            out += "&#10;";
            break;
        default:
            out += c;
        }
    }
    return out;
}

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
        auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c; };
        if (lower(a[i]) != lower(b[i])) {
            return false;
        }
    }
    return true;
}

xml_writer& xml_writer::start(std::string_view name) {
    text_ += '<';
    text_ += name;
    return *this;
}

xml_writer& xml_writer::attribute(std::string_view key, std::string_view value) {
    text_ += ' ';
    text_ += key;
    text_ += "=\"";
    text_ += xml_escape(value);
    text_ += '"';
    return *this;
}

xml_writer& xml_writer::open() {
    text_ += '>';
    return *this;
}

xml_writer& xml_writer::end() {
    text_ += " />";
    return *this;
}

xml_writer& xml_writer::close(std::string_view name) {
    text_ += "</";
    text_ += name;
    text_ += '>';
    return *this;
}

} // namespace igtl_gateway
} // namespace slicerbridge
