#include "describe.hpp"

#include <iomanip>
#include <sstream>
#include <type_traits>
#include <variant>
#include <vector>

namespace slicerbridge {
namespace cli {

namespace {

std::string slot_type_text(const slot& s) {
    std::string text(slot_type_name(s.type));
    if (s.image_kind) {
        text += " (" + std::string(image_kind_name(*s.image_kind)) + ")";
    }
    return text;
}

void print_slots(std::ostream& out, const char* heading, const std::vector<slot>& slots) {
    out << heading << ":";
    if (slots.empty()) {
        out << " none\n";
        return;
    }
    out << "\n";
    std::string group;
    for (const auto& s : slots) {
        if (s.group != group && !s.group.empty()) {
            out << "  [" << s.group << "]\n";
        }
        group = s.group;
        std::ostringstream line;
        line << "  " << std::left << std::setw(22) << s.name << ' ' << std::setw(16)
             << slot_type_text(s);
        if (s.optional) {
            line << " optional";
        }
        if (s.default_value) {
            line << " = " << value_text(*s.default_value);
        }
        if (s.minimum || s.maximum) {
            line << " in [";
            if (s.minimum) {
                line << *s.minimum;
            }
            line << ", ";
            if (s.maximum) {
                line << *s.maximum;
            }
            line << "]";
        }
        if (!s.choices.empty()) {
            line << " one of";
            for (const auto& choice : s.choices) {
                line << ' ' << choice;
            }
        }
        std::string text = line.str();
        text.erase(text.find_last_not_of(' ') + 1);
        out << text << "\n";
        if (!s.label.empty() || !s.description.empty()) {
            out << "      " << s.label << (s.label.empty() || s.description.empty() ? "" : ": ")
                << s.description << "\n";
        }
    }
}

} // namespace

std::string value_text(const parameter_value& p) {
    return std::visit(
        [](const auto& held) -> std::string {
            using T = std::decay_t<decltype(held)>;
            std::ostringstream out;
            if constexpr (std::is_same_v<T, bool>) {
                out << (held ? "true" : "false");
            } else if constexpr (std::is_same_v<T, std::string>) {
                out << held;
            } else if constexpr (std::is_arithmetic_v<T>) {
                out << held;
            } else {
                for (std::size_t i = 0; i < held.size(); ++i) {
                    out << (i == 0 ? "" : ",") << held[i];
                }
            }
            return out.str();
        },
        p.get());
}

void print_description(std::ostream& out, const processor_description& d) {
    out << d.name << " " << d.version << ": " << d.title << "\n";
    if (!d.category.empty()) {
        out << "Category: " << d.category << "\n";
    }
    if (!d.contributor.empty()) {
        out << "Contributor: " << d.contributor << "\n";
    }
    if (!d.description.empty()) {
        out << "\n" << d.description << "\n";
    }
    out << "\n";
    print_slots(out, "Inputs", d.inputs);
    print_slots(out, "Outputs", d.outputs);
    print_slots(out, "Parameters", d.parameters);
}

} // namespace cli
} // namespace slicerbridge
