#ifndef SLICERBRIDGE_DESCRIPTION_BUILDER_HPP
#define SLICERBRIDGE_DESCRIPTION_BUILDER_HPP
// Declaring a processor's description in a few lines: slots by name, type and description, with
// labels (and the title) derived from names; a parameter's type follows its default.

#include <slicerbridge/message/catalog.hpp>

#include <array>
#include <cctype>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace slicerbridge {

/// A form label from a slot or processor name: words split at `_` and at lower-to-upper case
/// changes, the first capitalised, a trailing unit in parentheses: "sigma_mm" -> "Sigma (mm)",
/// "inside_value" -> "Inside value", "maxIterations" -> "Max iterations".
inline std::string label_from_name(std::string_view name) {
    std::vector<std::string> words(1);
    for (std::size_t i = 0; i < name.size(); ++i) {
        const char c = name[i];
        const bool upper = std::isupper(static_cast<unsigned char>(c)) != 0;
        const bool after_lower =
            i > 0 && std::islower(static_cast<unsigned char>(name[i - 1])) != 0;
        if (c == '_' || c == '-' || c == '.' || (upper && after_lower)) {
            if (!words.back().empty()) {
                words.emplace_back();
            }
            if (!upper) {
                continue;
            }
        }
        const bool acronym =
            upper &&
            ((i + 1 < name.size() && std::isupper(static_cast<unsigned char>(name[i + 1])) != 0) ||
             (i > 0 && std::isupper(static_cast<unsigned char>(name[i - 1])) != 0));
        words.back() +=
            upper && !acronym ? static_cast<char>(std::tolower(static_cast<unsigned char>(c))) : c;
    }
    if (words.back().empty()) {
        words.pop_back();
    }
    static constexpr std::array<std::string_view, 14> units = {
        "mm", "cm", "um", "nm", "m", "ms", "s", "min", "deg", "rad", "hz", "px", "voxels", "ras"};
    std::string unit;
    if (words.size() > 1) {
        for (std::string_view u : units) {
            if (words.back() == u) {
                unit = words.back() == "ras" ? "RAS" : words.back();
                words.pop_back();
                break;
            }
        }
    }
    std::string label;
    for (const auto& word : words) {
        label += label.empty() ? "" : " ";
        label += word;
    }
    if (!label.empty()) {
        label[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(label[0])));
    }
    if (!unit.empty()) {
        label += " (" + unit + ")";
    }
    return label;
}

/// Builds a `processor_description`. Each `input`, `output` and `parameter` adds a slot whose
/// label comes from its name; the modifiers after it (`label`, `range`, `step`, `optional`,
/// `group`, `choices`, `length`) change that slot. `build` checks the result ([CAT-3], [CAT-5])
/// and throws `std::invalid_argument` saying what is wrong.
///
///     description_builder("gaussian_smoothing", "1.2")
///         .describe("Smooths a volume").category("Filtering")
///         .input("volume", image_kind::scalar, "Volume to smooth")
///         .output("smoothed", image_kind::scalar, "The smoothed volume")
///         .parameter("sigma_mm", 1.0, "Standard deviation").range(0.0, 50.0)
///         .build();
class description_builder {
public:
    explicit description_builder(std::string name, std::string version = "1.0") {
        description_.title = label_from_name(name);
        description_.name = std::move(name);
        description_.version = std::move(version);
    }

    description_builder& title(std::string text) {
        description_.title = std::move(text);
        return *this;
    }
    description_builder& describe(std::string text) {
        description_.description = std::move(text);
        return *this;
    }
    description_builder& category(std::string dotted) {
        description_.category = std::move(dotted);
        return *this;
    }
    description_builder& contributor(std::string who) {
        description_.contributor = std::move(who);
        return *this;
    }
    /// [CAT-8]: a client may send the same call again after a lost connection.
    description_builder& idempotent(bool is = true) {
        description_.idempotent = is;
        return *this;
    }

    /// A data input (image, mesh, transform, points, table).
    description_builder& input(std::string name, slot_type type, std::string text = {}) {
        return add(&processor_description::inputs, std::move(name), type, std::move(text));
    }
    /// An image input of that kind.
    description_builder& input(std::string name, slicerbridge::image_kind kind,
                               std::string text = {}) {
        input(std::move(name), slot_type::image, std::move(text));
        last().image_kind = kind;
        return *this;
    }
    /// A data output, or from version 1.1 a scalar one of a parameter type ([CAT-7]).
    description_builder& output(std::string name, slot_type type, std::string text = {}) {
        return add(&processor_description::outputs, std::move(name), type, std::move(text));
    }
    description_builder& output(std::string name, slicerbridge::image_kind kind,
                                std::string text = {}) {
        output(std::move(name), slot_type::image, std::move(text));
        last().image_kind = kind;
        return *this;
    }
    /// A parameter whose type follows its default: bool, an integer, a floating-point number,
    /// a string, or a vector of integers, numbers or strings.
    description_builder& parameter(std::string name, parameter_value default_value,
                                   std::string text = {}) {
        add(&processor_description::parameters, std::move(name), type_of(default_value),
            std::move(text));
        last().default_value = std::move(default_value);
        return *this;
    }
    /// An enum parameter: one of `choices`, `default_choice` by default.
    description_builder& choice(std::string name, std::vector<std::string> choices,
                                std::string default_choice, std::string text = {}) {
        add(&processor_description::parameters, std::move(name), slot_type::enumeration,
            std::move(text));
        last().choices = std::move(choices);
        last().default_value = parameter_value(std::move(default_choice));
        return *this;
    }

    // ---- the last slot ----
    description_builder& label(std::string text) {
        return change([&](slot& s) { s.label = std::move(text); });
    }
    description_builder& group(std::string name) {
        return change([&](slot& s) { s.group = std::move(name); });
    }
    description_builder& optional(bool is = true) {
        return change([&](slot& s) { s.optional = is; });
    }
    description_builder& range(double minimum, double maximum) {
        return change([&](slot& s) {
            s.minimum = minimum;
            s.maximum = maximum;
        });
    }
    description_builder& step(double size) {
        return change([&](slot& s) { s.step = size; });
    }
    description_builder& length(std::uint64_t elements) {
        return change([&](slot& s) { s.length = elements; });
    }

    /// The description; throws `std::invalid_argument` when it breaks a rule of section 10.
    processor_description build() const {
        std::string what;
        if (description_.validate(what)) {
            throw std::invalid_argument("description of " + description_.name + ": " + what);
        }
        return description_;
    }

private:
    static slot_type type_of(const parameter_value& v) {
        static constexpr std::array<slot_type, 7> by_index = {
            slot_type::boolean,      slot_type::integer,    slot_type::floating,
            slot_type::string,       slot_type::int_vector, slot_type::float_vector,
            slot_type::string_vector};
        return by_index[v.get().index()];
    }

    using slot_list = std::vector<slot> processor_description::*;

    description_builder& add(slot_list list, std::string name, slot_type type, std::string text) {
        slot s;
        s.label = label_from_name(name);
        s.name = std::move(name);
        s.type = type;
        s.description = std::move(text);
        (description_.*list).push_back(std::move(s));
        last_list_ = list;
        return *this;
    }

    slot& last() { return (description_.*last_list_).back(); }

    template <class Change>
    description_builder& change(Change&& apply) {
        if (last_list_ == nullptr) {
            throw std::logic_error("description_builder: no slot to change yet");
        }
        apply(last());
        return *this;
    }

    processor_description description_;
    slot_list last_list_ = nullptr; // the list the last slot went to
};

} // namespace slicerbridge

#endif
