#ifndef SLICERBRIDGE_IMPL_CLI_MODULE_IPP
#define SLICERBRIDGE_IMPL_CLI_MODULE_IPP

#include <slicerbridge/cli_module.hpp>
#include <slicerbridge/message/impl/catalog.ipp> // is_vector_slot

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <iterator>
#include <set>
#include <utility>

namespace slicerbridge {
namespace detail {

/// XML text with the five special characters escaped and every character beyond ASCII as a
/// character reference: Slicer reads a module's XML file with the locale's codec.
SLICERBRIDGE_DECL void append_xml_text(std::string& out, std::string_view text) {
    for (std::size_t i = 0; i < text.size(); ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c == '&') {
            out += "&amp;";
        } else if (c == '<') {
            out += "&lt;";
        } else if (c == '>') {
            out += "&gt;";
        } else if (c == '"') {
            out += "&quot;";
        } else if (c < 0x80) {
            out += static_cast<char>(c);
        } else {
            // Valid UTF-8 ([HEAD-6] checked it on the way in): a lead byte and its continuations.
            const int extra = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : 1;
            std::uint32_t code = c & (0x3F >> extra);
            for (int k = 0; k < extra && i + 1 < text.size(); ++k) {
                code = (code << 6) | (static_cast<unsigned char>(text[++i]) & 0x3F);
            }
            out += "&#" + std::to_string(code) + ";";
        }
    }
}

/// Text for a `<description>`: SEM shows a line break as a literal "\n", so line breaks and
/// the white space around them become one space.
SLICERBRIDGE_DECL std::string one_line(std::string_view text) {
    std::string out;
    bool pending_space = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '\n' || text[i] == '\r') {
            while (!out.empty() && (out.back() == ' ' || out.back() == '\t')) {
                out.pop_back();
            }
            pending_space = !out.empty();
            while (i + 1 < text.size() &&
                   std::string_view(" \t\r\n").find(text[i + 1]) != std::string_view::npos) {
                ++i;
            }
            continue;
        }
        if (pending_space) {
            out += ' ';
            pending_space = false;
        }
        out += text[i];
    }
    return out;
}

SLICERBRIDGE_DECL std::string trimmed(std::string_view text) {
    const auto first = text.find_first_not_of(" \t\n");
    if (first == std::string_view::npos) {
        return {};
    }
    return std::string(text.substr(first, text.find_last_not_of(" \t\n") - first + 1));
}

// Slicer's widgets hold numbers exactly only in these ranges (qSlicerCLIModuleUIHelper): an
// integer spin box spans INT_MAX/100; a slider holds a double and sends it with 6 significant
// digits; the form reads float bounds as 32-bit floats.
inline constexpr std::int64_t spin_box_limit = 21474836;
inline constexpr double slider_integer_limit = 999999;
inline constexpr double float_limit = 1e15;

/// The shortest text that reads back as `x`, in plain decimals where a number field shows it:
/// Slicer's form takes its number of decimals from the digits after the point, so "1e-05" would
/// show, and send, 0.00. Larger numbers go to text fields (numeric_as_text), where 1e+30 reads
/// better than its 31 digits.
SLICERBRIDGE_DECL std::string plain_number(double x) {
    char text[400];
    const auto result = std::fabs(x) < float_limit
                            ? std::to_chars(text, text + sizeof text, x, std::chars_format::fixed)
                            : std::to_chars(text, text + sizeof text, x);
    return std::string(text, result.ptr);
}

SLICERBRIDGE_DECL bool shown_exactly(const slot& s, double x) {
    if (s.type == slot_type::integer) {
        return std::fabs(x) <= slider_integer_limit;
    }
    return std::isfinite(x) && std::fabs(x) < float_limit;
}

/// A number the form cannot hold: the slot becomes a text field that the module parses.
SLICERBRIDGE_DECL bool numeric_as_text(const slot& s) {
    if (!s.default_value) {
        return false;
    }
    if (const auto* integer = s.default_value->get_if<std::int64_t>()) {
        return s.type == slot_type::integer &&
               (*integer > spin_box_limit || *integer < -spin_box_limit);
    }
    if (const auto* number = s.default_value->get_if<double>()) {
        return s.type == slot_type::floating && !shown_exactly(s, *number);
    }
    return false;
}

/// The SEM element of a parameter slot (Appendix B).
SLICERBRIDGE_DECL std::string_view cli_parameter_tag(const slot& s) {
    if (numeric_as_text(s)) {
        return "string";
    }
    switch (s.type) {
    case slot_type::boolean:
        return "boolean";
    case slot_type::integer:
        return "integer";
    case slot_type::floating:
        return "double";
    case slot_type::enumeration:
        return "string-enumeration";
    case slot_type::int_vector:
        return "integer-vector";
    case slot_type::float_vector:
        return "double-vector";
    case slot_type::string_vector:
        return "string-vector";
    default:
        return "string";
    }
}

SLICERBRIDGE_DECL std::string number_text(double x, bool integer) {
    return integer ? std::to_string(static_cast<std::int64_t>(x)) : plain_number(x);
}

/// A parameter value as Slicer's form holds it: true/false, numbers, vectors comma-separated.
SLICERBRIDGE_DECL std::string cli_value_text(const parameter_value& p) {
    return std::visit(
        [](const auto& held) -> std::string {
            using T = std::decay_t<decltype(held)>;
            if constexpr (std::is_same_v<T, bool>) {
                return held ? "true" : "false";
            } else if constexpr (std::is_same_v<T, std::int64_t>) {
                return std::to_string(held);
            } else if constexpr (std::is_same_v<T, double>) {
                return plain_number(held);
            } else if constexpr (std::is_same_v<T, std::string>) {
                return held;
            } else {
                std::string text;
                for (const auto& item : held) {
                    text += text.empty() ? "" : ",";
                    if constexpr (std::is_same_v<T, std::vector<std::int64_t>>) {
                        text += std::to_string(item);
                    } else if constexpr (std::is_same_v<T, std::vector<double>>) {
                        text += plain_number(item);
                    } else {
                        text += item;
                    }
                }
                return text;
            }
        },
        p.get());
}

/// The slider's step when the slot has none: 1 for integers; for floats a hundredth of the
/// range rounded down to a power of ten, else 0.1.
SLICERBRIDGE_DECL double cli_default_step(const slot& s) {
    if (s.step) {
        return *s.step;
    }
    if (s.type == slot_type::integer) {
        return 1;
    }
    if (s.minimum && s.maximum && *s.maximum > *s.minimum) {
        return std::pow(10.0, std::floor(std::log10((*s.maximum - *s.minimum) / 100.0)));
    }
    return 0.1;
}

/// What Slicer's form cannot show of a slot, said in words after its description: a vector's
/// length and range, a range the form does not enforce, a number given as text.
SLICERBRIDGE_DECL std::string rule_text(const slot& s, bool constrained) {
    std::string range;
    if (s.minimum && s.maximum) {
        range = "from " + plain_number(*s.minimum) + " to " + plain_number(*s.maximum);
    } else if (s.minimum) {
        range = "at least " + plain_number(*s.minimum);
    } else if (s.maximum) {
        range = "at most " + plain_number(*s.maximum);
    }
    if (is_vector_slot(s.type)) {
        std::string text = s.length ? std::to_string(*s.length) + " values" : "Values";
        text += ", separated by commas";
        return text + (range.empty() ? "" : ", each " + range) + ".";
    }
    std::string text;
    if (numeric_as_text(s)) {
        text = s.type == slot_type::integer ? "An integer" : "A number";
        return text + (range.empty() ? "" : ", " + range) + ".";
    }
    if (!constrained && !range.empty()) {
        return "Allowed: " + range + ".";
    }
    return "";
}

class xml_writer {
public:
    explicit xml_writer(std::string& out) : out_(out) {}

    void
    open(std::string_view tag,
         std::initializer_list<std::pair<std::string_view, std::string_view>> attributes = {}) {
        indent();
        out_ += '<';
        out_ += tag;
        for (const auto& [key, text] : attributes) {
            out_ += ' ';
            out_ += key;
            out_ += "=\"";
            append_xml_text(out_, text);
            out_ += '"';
        }
        out_ += ">\n";
        ++depth_;
    }

    void close(std::string_view tag) {
        --depth_;
        indent();
        out_ += "</";
        out_ += tag;
        out_ += ">\n";
    }

    void element(std::string_view tag, std::string_view text) {
        indent();
        out_ += '<';
        out_ += tag;
        out_ += '>';
        append_xml_text(out_, text);
        out_ += "</";
        out_ += tag;
        out_ += ">\n";
    }

private:
    void indent() { out_.append(static_cast<std::size_t>(depth_) * 2, ' '); }

    std::string& out_;
    int depth_ = 0;
};

SLICERBRIDGE_DECL void open_slot_element(xml_writer& xml, const slot& s) {
    const std::string_view extension = cli_module_file_extension(s.type);
    switch (s.type) {
    case slot_type::image:
        xml.open("image", {{"type", s.image_kind ? image_kind_name(*s.image_kind) : "any"},
                           {"fileExtensions", extension}});
        break;
    case slot_type::mesh:
        xml.open("geometry", {{"type", "model"}, {"fileExtensions", extension}});
        break;
    case slot_type::transform:
        xml.open("transform", {{"type", "linear"}, {"fileExtensions", extension}});
        break;
    case slot_type::points:
        xml.open("pointfile", {{"fileExtensions", extension}, {"coordinateSystem", "lps"}});
        break;
    case slot_type::table:
        xml.open("table", {{"fileExtensions", extension}});
        break;
    case slot_type::image_series: // a MultiVolume node (Appendix B)
        xml.open("image", {{"type", "dynamic-contrast-enhanced"}, {"fileExtensions", extension}});
        break;
    default:
        xml.open(cli_parameter_tag(s));
    }
}

SLICERBRIDGE_DECL std::string_view slot_element_tag(const slot& s) {
    switch (s.type) {
    case slot_type::image:
    case slot_type::image_series:
        return "image";
    case slot_type::mesh:
        return "geometry";
    case slot_type::transform:
        return "transform";
    case slot_type::points:
        return "pointfile";
    case slot_type::table:
        return "table";
    default:
        return cli_parameter_tag(s);
    }
}

SLICERBRIDGE_DECL void write_cli_slot(xml_writer& xml, const cli_module_argument& a) {
    const slot& s = *a.s;
    const bool integer = s.type == slot_type::integer;
    const bool numeric = (integer || s.type == slot_type::floating) && !numeric_as_text(s);
    // A slider only where every bound and the default are shown exactly; bounds it cannot show
    // are left to the module, which checks them.
    const bool constrained =
        numeric && (s.minimum || s.maximum || s.step) &&
        (!s.minimum || shown_exactly(s, *s.minimum)) &&
        (!s.maximum || shown_exactly(s, *s.maximum)) &&
        (!s.default_value || !integer ||
         shown_exactly(s, static_cast<double>(*s.default_value->get_if<std::int64_t>())));
    std::string label = s.label.empty() ? s.name : s.label;
    if (s.optional && a.r == cli_module_argument::role::input) {
        label += " (optional)";
    }
    std::string description = s.description.empty() ? label : s.description;
    if (const std::string rules = rule_text(s, constrained); !rules.empty()) {
        const char last = description.back();
        description += (last == '.' || last == '!' || last == '?' ? " " : ". ") + rules;
    }

    open_slot_element(xml, s);
    xml.element("name", a.name);
    if (a.index) {
        xml.element("index", std::to_string(*a.index));
    } else if (!a.returned()) {
        xml.element("longflag", a.flag);
    }
    xml.element("description", one_line(description));
    xml.element("label", label);
    if (s.default_value) {
        xml.element("default", cli_value_text(*s.default_value));
    } else if (s.type == slot_type::enumeration && !s.choices.empty()) {
        xml.element("default", s.choices.front()); // else Slicer would send an empty choice
    }
    if (a.r != cli_module_argument::role::parameter) {
        xml.element("channel", a.r == cli_module_argument::role::input ? "input" : "output");
    }
    if (constrained) {
        xml.open("constraints");
        if (s.minimum) {
            xml.element("minimum", number_text(*s.minimum, integer));
        }
        if (s.maximum) {
            xml.element("maximum", number_text(*s.maximum, integer));
        }
        xml.element("step",
                    number_text(std::max(cli_default_step(s), integer ? 1.0 : 0.0), integer));
        xml.close("constraints");
    }
    for (const auto& choice : s.choices) {
        xml.element("element", choice);
    }
    xml.close(slot_element_tag(s));
}

} // namespace detail

SLICERBRIDGE_DECL std::vector<cli_module_argument>
cli_module_arguments(const processor_description& d) {
    std::vector<cli_module_argument> arguments;
    std::size_t next_index = 0;
    const auto add = [&](const std::vector<slot>& slots, cli_module_argument::role r) {
        for (const auto& s : slots) {
            cli_module_argument a;
            a.s = &s;
            a.r = r;
            const bool reserved = std::find(std::begin(cli_module_reserved_flags),
                                            std::end(cli_module_reserved_flags),
                                            s.name) != std::end(cli_module_reserved_flags);
            a.name = reserved ? "slot_" + s.name : s.name;
            if (r == cli_module_argument::role::input && !s.optional) {
                a.index = next_index++;
            } else if (r != cli_module_argument::role::output || !is_scalar_output(s)) {
                a.flag = a.name;
            }
            arguments.push_back(std::move(a));
        }
    };
    add(d.inputs, cli_module_argument::role::input);
    add(d.outputs, cli_module_argument::role::output);
    add(d.parameters, cli_module_argument::role::parameter);
    return arguments;
}

SLICERBRIDGE_DECL std::string cli_module_name(std::string_view processor) {
    std::string name = "SlicerBridge_";
    for (const char c : processor) {
        const bool allowed =
            (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
        name += allowed ? c : '_';
    }
    const auto ends_with = [&](std::string_view tail) {
        return name.size() >= tail.size() &&
               std::string_view(name).substr(name.size() - tail.size()) == tail;
    };
    if (ends_with("Test") || ends_with("Tests")) {
        name += '_';
    }
    return name;
}

SLICERBRIDGE_DECL std::string cli_module_value_text(const parameter_value& p) {
    return detail::cli_value_text(p);
}

SLICERBRIDGE_DECL std::string_view cli_module_file_extension(slot_type t) noexcept {
    switch (t) {
    case slot_type::image:
    case slot_type::image_series:
        return ".nrrd";
    case slot_type::mesh:
        return ".vtk";
    case slot_type::transform:
        return ".tfm";
    case slot_type::points:
        return ".mrk.json";
    case slot_type::table:
        return ".csv";
    default:
        return "";
    }
}

SLICERBRIDGE_DECL std::string cli_module_xml(const processor_description& d, std::error_code& ec,
                                             std::string& what) {
    ec.clear();
    const auto fail = [&](std::string reason) {
        ec = make_error_code(error::invalid_argument);
        what = d.name + ": " + std::move(reason);
        return std::string();
    };
    const auto arguments = cli_module_arguments(d);
    if (arguments.empty()) {
        return fail("a CLI module needs at least one input, output or parameter");
    }
    std::set<std::string> names;
    for (const auto& a : arguments) {
        if (!names.insert(a.name).second) {
            return fail("two slots take the name " + a.name);
        }
        const auto* texts =
            a.s->default_value ? a.s->default_value->get_if<std::vector<std::string>>() : nullptr;
        if (texts != nullptr && std::any_of(texts->begin(), texts->end(), [](const auto& t) {
                return t.find(',') != std::string::npos;
            })) {
            return fail("the default of " + a.s->name +
                        " holds a comma, which a CLI module's string vector cannot");
        }
        std::set<std::string> choices;
        for (const auto& choice : a.s->choices) {
            if (!choices.insert(detail::trimmed(choice)).second) {
                return fail("the choices of " + a.s->name +
                            " differ only in white space at their ends, which Slicer trims");
            }
        }
    }
    // Groups in order of first appearance: inputs, outputs, then parameters.
    std::vector<std::pair<std::string, std::vector<const cli_module_argument*>>> groups;
    for (const auto& a : arguments) {
        std::string group = a.s->group;
        if (group.empty()) {
            group = a.r == cli_module_argument::role::input    ? "Inputs"
                    : a.r == cli_module_argument::role::output ? "Outputs"
                                                               : "Parameters";
        }
        auto found = std::find_if(groups.begin(), groups.end(),
                                  [&](const auto& g) { return g.first == group; });
        if (found == groups.end()) {
            groups.emplace_back(group, std::vector<const cli_module_argument*>{});
            found = std::prev(groups.end());
        }
        found->second.push_back(&a);
    }

    std::string out = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n";
    detail::xml_writer xml(out);
    xml.open("executable");
    xml.element("category", d.category.empty() ? "SlicerBridge" : d.category);
    const std::string& title = d.title.empty() ? d.name : d.title;
    xml.element("title", title);
    xml.element("description", detail::one_line(d.description.empty() ? title : d.description));
    if (!d.version.empty()) {
        xml.element("version", d.version);
    }
    if (!d.contributor.empty()) {
        xml.element("contributor", d.contributor);
    }
    for (const auto& [group, members] : groups) {
        std::string lower = group;
        std::transform(lower.begin(), lower.end(), lower.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        if (lower.find("advanced") != std::string::npos) {
            xml.open("parameters", {{"advanced", "true"}}); // starts collapsed in the form
        } else {
            xml.open("parameters");
        }
        xml.element("label", group);
        xml.element("description", group);
        for (const auto* a : members) {
            detail::write_cli_slot(xml, *a);
        }
        xml.close("parameters");
    }
    xml.close("executable");
    return out;
}

SLICERBRIDGE_DECL std::string cli_module_xml(const processor_description& d) {
    std::error_code ec;
    std::string what;
    std::string xml = cli_module_xml(d, ec, what);
    if (ec) {
        throw std::system_error(ec, what);
    }
    return xml;
}

} // namespace slicerbridge

#endif
