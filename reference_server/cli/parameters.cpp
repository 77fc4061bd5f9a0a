#include "parameters.hpp"

#include "exit_status.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <sstream>

namespace slicerbridge {
namespace cli {

std::int64_t parse_int(const std::string& name, const std::string& text) {
    std::int64_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
        fail(exit_usage, "parameter " + name + " expects an integer, not \"" + text + "\"");
    }
    return value;
}

double parse_float(const std::string& name, const std::string& text) {
    char* end = nullptr;
    errno = 0;
    const double value = std::strtod(text.c_str(), &end);
    if (text.empty() || end != text.c_str() + text.size() || errno == ERANGE) {
        fail(exit_usage, "parameter " + name + " expects a number, not \"" + text + "\"");
    }
    return value;
}

std::vector<std::string> split_list(const std::string& text) {
    std::vector<std::string> items;
    if (text.empty()) {
        return items;
    }
    std::stringstream in(text);
    std::string item;
    while (std::getline(in, item, ',')) {
        items.push_back(item);
    }
    if (text.back() == ',') {
        items.emplace_back();
    }
    return items;
}

parameter_value parse_parameter(const slot& s, const std::string& text) {
    switch (s.type) {
    case slot_type::boolean:
        if (text == "true" || text == "1" || text == "yes" || text == "on") {
            return true;
        }
        if (text == "false" || text == "0" || text == "no" || text == "off") {
            return false;
        }
        fail(exit_usage, "parameter " + s.name + " expects true or false, not \"" + text + "\"");
    case slot_type::integer:
        return parse_int(s.name, text);
    case slot_type::floating:
        return parse_float(s.name, text);
    case slot_type::enumeration:
        if (!s.choices.empty() &&
            std::find(s.choices.begin(), s.choices.end(), text) == s.choices.end()) {
            std::string choices;
            for (const auto& c : s.choices) {
                choices += (choices.empty() ? "" : ", ") + c;
            }
            fail(exit_usage,
                 "parameter " + s.name + " expects one of " + choices + ", not \"" + text + "\"");
        }
        return text;
    case slot_type::int_vector: {
        std::vector<std::int64_t> values;
        for (const auto& item : split_list(text)) {
            values.push_back(parse_int(s.name, item));
        }
        return values;
    }
    case slot_type::float_vector: {
        std::vector<double> values;
        for (const auto& item : split_list(text)) {
            values.push_back(parse_float(s.name, item));
        }
        return values;
    }
    case slot_type::string_vector:
        return split_list(text);
    default:
        return text;
    }
}

const slot* find_slot(const std::vector<slot>& slots, const std::string& name) {
    for (const auto& s : slots) {
        if (s.name == name) {
            return &s;
        }
    }
    return nullptr;
}

std::string slot_names(const std::vector<slot>& slots) {
    std::string names;
    for (const auto& s : slots) {
        names += (names.empty() ? "" : ", ") + s.name;
    }
    return names.empty() ? "none" : names;
}

} // namespace cli
} // namespace slicerbridge
