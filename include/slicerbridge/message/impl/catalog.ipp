#ifndef SLICERBRIDGE_MESSAGE_IMPL_CATALOG_IPP
#define SLICERBRIDGE_MESSAGE_IMPL_CATALOG_IPP

#include <slicerbridge/message/catalog.hpp>

#include <slicerbridge/detail/field_reader.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <tuple>
#include <unordered_set>
#include <variant>

namespace slicerbridge {
namespace detail {

struct slot_type_entry {
    slot_type type;
    std::string_view name;
};

inline constexpr std::array<slot_type_entry, 14> slot_type_table{{
    {slot_type::image, "image"},
    {slot_type::mesh, "mesh"},
    {slot_type::transform, "transform"},
    {slot_type::points, "points"},
    {slot_type::table, "table"},
    {slot_type::image_series, "image_series"},
    {slot_type::boolean, "bool"},
    {slot_type::integer, "int"},
    {slot_type::floating, "float"},
    {slot_type::string, "string"},
    {slot_type::enumeration, "enum"},
    {slot_type::int_vector, "int_vector"},
    {slot_type::float_vector, "float_vector"},
    {slot_type::string_vector, "string_vector"},
}};

SLICERBRIDGE_DECL bool matches_name_pattern(std::string_view name, bool allow_dot_dash) noexcept {
    if (name.empty() ||
        !((name[0] >= 'A' && name[0] <= 'Z') || (name[0] >= 'a' && name[0] <= 'z'))) {
        return false;
    }
    return std::all_of(name.begin() + 1, name.end(), [&](char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
               c == '_' || (allow_dot_dash && (c == '.' || c == '-'));
    });
}

SLICERBRIDGE_DECL bool is_numeric_slot(slot_type t) noexcept {
    return t == slot_type::integer || t == slot_type::floating || t == slot_type::int_vector ||
           t == slot_type::float_vector;
}

SLICERBRIDGE_DECL bool is_vector_slot(slot_type t) noexcept {
    return t == slot_type::int_vector || t == slot_type::float_vector ||
           t == slot_type::string_vector;
}

SLICERBRIDGE_DECL bool read_optional_number(field_reader& reader, const value& map,
                                            std::string_view field, std::optional<double>& out) {
    if (const value* v = map.find(field)) {
        double number = 0;
        if (!reader.to_double(*v, field, number)) {
            return false;
        }
        out = number;
    }
    return true;
}

/// [CAT-10]: a 1.0 sender wrote an integer slot's default as a float; an integral one in the
/// int64 range is read as the integer it stands for.
SLICERBRIDGE_DECL void integral_default(slot& s) {
    const auto integral = [](double x) {
        return std::isfinite(x) && std::floor(x) == x && x >= -9223372036854775808.0 &&
               x < 9223372036854775808.0;
    };
    auto& held = s.default_value->get();
    if (const auto* number = std::get_if<double>(&held);
        number != nullptr && s.type == slot_type::integer && integral(*number)) {
        held = static_cast<std::int64_t>(*number);
    } else if (const auto* numbers = std::get_if<std::vector<double>>(&held);
               numbers != nullptr && s.type == slot_type::int_vector &&
               std::all_of(numbers->begin(), numbers->end(), integral)) {
        held = std::vector<std::int64_t>(numbers->begin(), numbers->end());
    }
}

/// The requirement a catalog reading problem breaks ([CAT-12]): the id its message cites, else
/// [CAT-6] for a missing key and [CAT-11] for a mistyped one.
SLICERBRIDGE_DECL std::string catalog_requirement(std::string_view what) {
    const auto at = what.rfind("[CAT-");
    if (at != std::string_view::npos) {
        const auto end = what.find(']', at);
        if (end != std::string_view::npos) {
            return std::string(what.substr(at + 1, end - at - 1));
        }
    }
    constexpr std::string_view missing = ": missing";
    const bool is_missing =
        what.size() >= missing.size() && what.substr(what.size() - missing.size()) == missing;
    return is_missing ? "CAT-6" : "CAT-11";
}

SLICERBRIDGE_DECL bool read_slot(field_reader& reader, const value& v, slot& out) {
    std::string type;
    if (!reader.expect_map(v) || !reader.read_string(v, "name", out.name) ||
        !reader.read_string(v, "type", type)) {
        return false;
    }
    const auto parsed = slot_type_from_name(type);
    if (!parsed) {
        return reader.fail("type", "unknown slot type [CAT-11]");
    }
    out.type = *parsed;
    if (!reader.read_string(v, "label", out.label, false) ||
        !reader.read_string(v, "description", out.description, false) ||
        !reader.read_string(v, "group", out.group, false) ||
        !reader.read_bool(v, "optional", out.optional, false) ||
        !read_optional_number(reader, v, "minimum", out.minimum) ||
        !read_optional_number(reader, v, "maximum", out.maximum) ||
        !read_optional_number(reader, v, "step", out.step) ||
        !reader.read_strings(v, "choices", out.choices, false)) {
        return false;
    }
    if (const value* length = v.find("length")) {
        std::uint64_t n = 0;
        if (!reader.to_uint(*length, "length", n)) {
            return false;
        }
        out.length = n;
    }
    if (v.find("image_kind") != nullptr) {
        std::string kind;
        if (!reader.read_string(v, "image_kind", kind)) {
            return false;
        }
        const auto k = image_kind_from_name(kind);
        if (!k) {
            return reader.fail("image_kind",
                               "expected \"scalar\", \"label\" or \"vector\" [CAT-11]");
        }
        out.image_kind = *k;
    }
    if (const value* default_value = v.find("default")) {
        std::error_code ec;
        std::string what;
        out.default_value = parameter_value::from_value(*default_value, ec, what);
        if (ec) {
            return reader.fail("default", "not a parameter value [CAT-11]");
        }
        integral_default(out);
    }
    return true;
}

SLICERBRIDGE_DECL bool read_slots(field_reader& reader, const value& v, std::string_view field,
                                  std::vector<slot>& out) {
    const auto* entries = reader.read_array(v, field, true);
    if (entries == nullptr) {
        return false;
    }
    auto nested = reader.nested(field);
    for (const auto& entry : *entries) {
        slot s;
        if (!read_slot(nested, entry, s)) {
            return false;
        }
        out.push_back(std::move(s));
    }
    return true;
}

enum class slot_role { input, output, parameter };

SLICERBRIDGE_DECL bool check_slot(field_reader& reader, const slot& s, slot_role role) {
    const std::string field = s.name.empty() ? std::string("slot") : s.name;
    const bool parameter = role == slot_role::parameter;
    if (!matches_name_pattern(s.name, false)) {
        return reader.fail(field, "name must match [A-Za-z][A-Za-z0-9_]* [CAT-11]");
    }
    if (parameter && is_data_slot_type(s.type)) {
        return reader.fail(field, "parameters need a parameter type [CAT-5]");
    }
    if (role == slot_role::input && !is_data_slot_type(s.type)) {
        return reader.fail(field, "inputs need a data type [CAT-5]");
    }
    if (s.image_kind && s.type != slot_type::image) {
        return reader.fail(field, "image_kind applies to image slots only [CAT-9]");
    }
    if (!s.choices.empty() && s.type != slot_type::enumeration) {
        return reader.fail(field, "choices apply to enum parameters only [CAT-11]");
    }
    if (s.type == slot_type::enumeration && s.choices.empty()) {
        return reader.fail(field, "enum parameters need choices [CAT-11]");
    }
    if ((s.minimum || s.maximum || s.step) && !is_numeric_slot(s.type)) {
        return reader.fail(field,
                           "minimum, maximum and step apply to numeric parameters only [CAT-11]");
    }
    if (s.minimum && s.maximum && *s.minimum > *s.maximum) {
        return reader.fail(field, "minimum is above maximum [CAT-11]");
    }
    if (s.length && !is_vector_slot(s.type)) {
        return reader.fail(field, "length applies to vector parameters only [CAT-11]");
    }
    if (s.default_value) {
        if (!parameter) {
            return reader.fail(field, "only parameters have a default [CAT-5]");
        }
        parameter_value copy = *s.default_value;
        std::string what;
        if (!check_parameter(s, copy, what)) {
            return reader.fail(field, "default does not satisfy the slot [CAT-5]");
        }
    }
    return true;
}

} // namespace detail

SLICERBRIDGE_DECL std::string_view slot_type_name(slot_type t) noexcept {
    for (const auto& entry : detail::slot_type_table) {
        if (entry.type == t) {
            return entry.name;
        }
    }
    return {};
}

SLICERBRIDGE_DECL std::optional<slot_type> slot_type_from_name(std::string_view name) noexcept {
    for (const auto& entry : detail::slot_type_table) {
        if (entry.name == name) {
            return entry.type;
        }
    }
    return std::nullopt;
}

SLICERBRIDGE_DECL bool check_parameter(const slot& s, parameter_value& p, std::string& what) {
    const auto fail = [&](std::string_view problem) {
        what = "parameters." + s.name + ": " + std::string(problem);
        return false;
    };
    auto& held = p.get();
    const auto* integers = std::get_if<std::vector<std::int64_t>>(&held);
    switch (s.type) {
    case slot_type::boolean:
        if (!std::holds_alternative<bool>(held)) {
            return fail("expected a bool");
        }
        break;
    case slot_type::integer:
        if (!std::holds_alternative<std::int64_t>(held)) {
            return fail("expected an integer");
        }
        break;
    case slot_type::floating:
        if (const auto* number = std::get_if<std::int64_t>(&held)) {
            held = static_cast<double>(*number);
        } else if (!std::holds_alternative<double>(held)) {
            return fail("expected a number");
        }
        break;
    case slot_type::string:
        if (!std::holds_alternative<std::string>(held)) {
            return fail("expected a string");
        }
        break;
    case slot_type::enumeration: {
        const auto* text = std::get_if<std::string>(&held);
        if (text == nullptr) {
            return fail("expected a string");
        }
        if (std::find(s.choices.begin(), s.choices.end(), *text) == s.choices.end()) {
            return fail("not one of the choices");
        }
        break;
    }
    case slot_type::int_vector:
        if (integers == nullptr) {
            return fail("expected an array of integers");
        }
        break;
    case slot_type::float_vector:
        if (integers != nullptr) {
            held = std::vector<double>(integers->begin(), integers->end());
        } else if (!std::holds_alternative<std::vector<double>>(held)) {
            return fail("expected an array of numbers");
        }
        break;
    case slot_type::string_vector:
        if (integers != nullptr && integers->empty()) {
            held = std::vector<std::string>{};
        } else if (!std::holds_alternative<std::vector<std::string>>(held)) {
            return fail("expected an array of strings");
        }
        break;
    default:
        return fail("not a parameter slot");
    }
    const auto in_range = [&](double x) {
        return !(s.minimum && !(x >= *s.minimum)) && !(s.maximum && !(x <= *s.maximum));
    };
    bool within = true;
    std::size_t length = 0;
    std::visit(
        [&](const auto& v) {
            using held_type = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<held_type, std::int64_t> ||
                          std::is_same_v<held_type, double>) {
                within = in_range(static_cast<double>(v));
            } else if constexpr (std::is_same_v<held_type, std::vector<std::int64_t>> ||
                                 std::is_same_v<held_type, std::vector<double>>) {
                length = v.size();
                for (auto x : v) {
                    within = within && in_range(static_cast<double>(x));
                }
            } else if constexpr (std::is_same_v<held_type, std::vector<std::string>>) {
                length = v.size();
            }
        },
        held);
    if (!within) {
        return fail("outside [minimum, maximum]");
    }
    if (s.length && *s.length != length) {
        return fail("wrong number of elements");
    }
    return true;
}

SLICERBRIDGE_DECL const slot*
processor_description::find_input(std::string_view slot_name) const noexcept {
    for (const auto& s : inputs) {
        if (s.name == slot_name) {
            return &s;
        }
    }
    return nullptr;
}

SLICERBRIDGE_DECL const slot*
processor_description::find_output(std::string_view slot_name) const noexcept {
    for (const auto& s : outputs) {
        if (s.name == slot_name) {
            return &s;
        }
    }
    return nullptr;
}

SLICERBRIDGE_DECL const slot*
processor_description::find_parameter(std::string_view slot_name) const noexcept {
    for (const auto& s : parameters) {
        if (s.name == slot_name) {
            return &s;
        }
    }
    return nullptr;
}

SLICERBRIDGE_DECL std::error_code processor_description::validate(std::string& what) const {
    std::error_code ec;
    detail::field_reader reader(ec, what, error::invalid_message, "description");
    if (!detail::matches_name_pattern(name, true)) {
        reader.fail("name", "must match [A-Za-z][A-Za-z0-9_.-]* [CAT-11]");
        return ec;
    }
    std::unordered_set<std::string_view> names;
    using detail::slot_role;
    const std::tuple<const std::vector<slot>*, std::string_view, slot_role> groups[] = {
        {&inputs, "inputs", slot_role::input},
        {&outputs, "outputs", slot_role::output},
        {&parameters, "parameters", slot_role::parameter}};
    for (const auto& [slots, field, role] : groups) {
        auto nested = reader.nested(field);
        for (const auto& s : *slots) {
            if (!detail::check_slot(nested, s, role)) {
                return ec;
            }
            if (!names.insert(s.name).second) {
                nested.fail(s.name, "slot names must be unique [CAT-3]");
                return ec;
            }
        }
    }
    return ec;
}

SLICERBRIDGE_DECL std::error_code processor_description::validate() const {
    std::string what;
    return validate(what);
}

SLICERBRIDGE_DECL processor_description processor_description::from_value(const value& v,
                                                                          std::error_code& ec,
                                                                          std::string& what) {
    ec.clear();
    detail::field_reader reader(ec, what, error::invalid_message, "description");
    processor_description result;
    if (!reader.expect_map(v) || !reader.read_string(v, "name", result.name) ||
        !reader.read_string(v, "version", result.version, false) ||
        !reader.read_string(v, "title", result.title, false) ||
        !reader.read_string(v, "description", result.description, false) ||
        !reader.read_string(v, "category", result.category, false) ||
        !reader.read_string(v, "contributor", result.contributor, false) ||
        !detail::read_slots(reader, v, "inputs", result.inputs) ||
        !detail::read_slots(reader, v, "outputs", result.outputs) ||
        !detail::read_slots(reader, v, "parameters", result.parameters) ||
        !reader.read_bool(v, "idempotent", result.idempotent, false)) {
        return processor_description();
    }
    if (auto invalid = result.validate(what)) {
        ec = invalid;
        return processor_description();
    }
    return result;
}

SLICERBRIDGE_DECL processor_description processor_description::from_value(const value& v,
                                                                          std::error_code& ec) {
    std::string what;
    return from_value(v, ec, what);
}

SLICERBRIDGE_DECL value to_value(const slot& s) {
    value::map entries{{"name", s.name}, {"type", std::string(slot_type_name(s.type))}};
    const std::pair<std::string_view, const std::string*> texts[] = {
        {"label", &s.label}, {"description", &s.description}, {"group", &s.group}};
    for (const auto& [key, text] : texts) {
        if (!text->empty()) {
            entries.emplace_back(std::string(key), *text);
        }
    }
    if (s.optional) {
        entries.emplace_back("optional", true);
    }
    if (s.default_value) {
        entries.emplace_back("default", to_value(*s.default_value));
    }
    const std::pair<std::string_view, const std::optional<double>*> numbers[] = {
        {"minimum", &s.minimum}, {"maximum", &s.maximum}, {"step", &s.step}};
    // [CAT-10]: an integer slot's bounds and step go as integers (they are held as doubles, so
    // exactly up to 2^53; an integral double in the int64 range converts exactly).
    const bool integral = s.type == slot_type::integer || s.type == slot_type::int_vector;
    for (const auto& [key, number] : numbers) {
        if (!*number) {
            continue;
        }
        const double x = **number;
        if (integral && x == std::trunc(x) && x >= -0x1p63 && x < 0x1p63) {
            entries.emplace_back(std::string(key), static_cast<std::int64_t>(x));
        } else {
            entries.emplace_back(std::string(key), x);
        }
    }
    if (!s.choices.empty()) {
        entries.emplace_back("choices", value::array(s.choices.begin(), s.choices.end()));
    }
    if (s.length) {
        entries.emplace_back("length", *s.length);
    }
    if (s.image_kind) {
        entries.emplace_back("image_kind", std::string(image_kind_name(*s.image_kind)));
    }
    return entries;
}

SLICERBRIDGE_DECL value to_value(const processor_description& d) {
    const auto slots = [](const std::vector<slot>& list) {
        value::array out;
        for (const auto& s : list) {
            out.push_back(to_value(s));
        }
        return out;
    };
    value::map entries{{"name", d.name},
                       {"version", d.version},
                       {"title", d.title},
                       {"description", d.description},
                       {"category", d.category}};
    if (!d.contributor.empty()) {
        entries.emplace_back("contributor", d.contributor);
    }
    entries.emplace_back("inputs", slots(d.inputs));
    entries.emplace_back("outputs", slots(d.outputs));
    entries.emplace_back("parameters", slots(d.parameters));
    if (d.idempotent) {
        entries.emplace_back("idempotent", true);
    }
    return entries;
}

SLICERBRIDGE_DECL processor_description description_for_version(const processor_description& d,
                                                                protocol_version v) {
    if (v >= protocol_version{1, 1}) {
        return d;
    }
    processor_description older = d;
    older.idempotent = false;
    const auto newer = [](const slot& s) {
        return is_scalar_output(s) || s.type == slot_type::image_series;
    };
    older.outputs.erase(std::remove_if(older.outputs.begin(), older.outputs.end(), newer),
                        older.outputs.end());
    older.inputs.erase(std::remove_if(older.inputs.begin(), older.inputs.end(), newer),
                       older.inputs.end());
    return older;
}

SLICERBRIDGE_DECL bool offered_at_version(const processor_description& d, protocol_version v) {
    return v >= protocol_version{1, 1} ||
           std::none_of(d.inputs.begin(), d.inputs.end(), [](const slot& s) {
               return s.type == slot_type::image_series && !s.optional;
           });
}

SLICERBRIDGE_DECL catalog_result catalog_result::from_value(const value& v, std::error_code& ec,
                                                            std::string& what) {
    ec.clear();
    detail::field_reader reader(ec, what, error::invalid_message, "catalog");
    catalog_result result;
    if (!reader.expect_map(v)) {
        return catalog_result();
    }
    const auto* processors = reader.read_array(v, "processors", true);
    if (processors == nullptr) {
        return catalog_result();
    }
    // [CAT-12]: a description that breaks a rule is dropped, and reported; the others stay.
    std::unordered_set<std::string> names;
    for (std::size_t index = 0; index < processors->size(); ++index) {
        const value& entry = (*processors)[index];
        std::error_code problem;
        std::string reason;
        processor_description d = processor_description::from_value(entry, problem, reason);
        if (!problem && !names.insert(d.name).second) {
            reason = "description.name: used by an earlier description [CAT-11]";
            problem = make_error_code(error::invalid_message);
        }
        if (!problem) {
            result.processors.push_back(std::move(d));
            continue;
        }
        dropped_description drop;
        drop.index = index;
        if (const value* name = entry.is_map() ? entry.find("name") : nullptr) {
            if (const auto* text = name->get_if<std::string>()) {
                drop.name = *text;
            }
        }
        drop.requirement = detail::catalog_requirement(reason);
        if (reason.find("[CAT-") == std::string::npos) {
            reason += " [" + drop.requirement + "]";
        }
        drop.reason = std::move(reason);
        result.dropped.push_back(std::move(drop));
    }
    return result;
}

SLICERBRIDGE_DECL catalog_result catalog_result::from_value(const value& v, std::error_code& ec) {
    std::string what;
    return from_value(v, ec, what);
}

SLICERBRIDGE_DECL value to_value(const catalog_result& r) {
    value::array processors;
    for (const auto& d : r.processors) {
        processors.push_back(to_value(d));
    }
    return value::map{{"processors", std::move(processors)}};
}

SLICERBRIDGE_DECL describe_params describe_params::from_value(const value& v, std::error_code& ec,
                                                              std::string& what) {
    ec.clear();
    detail::field_reader reader(ec, what, error::invalid_message, "params");
    describe_params result;
    if (!reader.expect_map(v) || !reader.read_string(v, "processor", result.processor)) {
        return describe_params();
    }
    return result;
}

SLICERBRIDGE_DECL describe_params describe_params::from_value(const value& v, std::error_code& ec) {
    std::string what;
    return from_value(v, ec, what);
}

} // namespace slicerbridge

#endif
