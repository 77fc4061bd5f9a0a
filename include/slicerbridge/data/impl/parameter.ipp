#ifndef SLICERBRIDGE_DATA_IMPL_PARAMETER_IPP
#define SLICERBRIDGE_DATA_IMPL_PARAMETER_IPP

#include <slicerbridge/data/parameter.hpp>

#include <slicerbridge/detail/field_reader.hpp>

namespace slicerbridge {

SLICERBRIDGE_DECL parameter_value parameter_value::from_value(const value& v, std::error_code& ec,
                                                              std::string& what) {
    ec.clear();
    detail::field_reader reader(ec, what, error::invalid_argument, "parameter");
    if (const auto b = v.as_bool()) {
        return *b;
    }
    if (v.is_integer()) {
        std::int64_t number = 0;
        return reader.to_int(v, {}, number) ? parameter_value(number) : parameter_value();
    }
    if (const auto* number = v.get_if<double>()) {
        return *number;
    }
    if (const auto* text = v.get_if<std::string>()) {
        return *text;
    }
    const auto* elements = v.get_if<value::array>();
    if (elements == nullptr) {
        reader.fail({}, "expected a bool, number, string or array");
        return parameter_value();
    }
    if (!elements->empty() && elements->front().is_string()) {
        std::vector<std::string> texts;
        texts.reserve(elements->size());
        for (const auto& element : *elements) {
            const auto* text = element.get_if<std::string>();
            if (text == nullptr) {
                reader.fail({}, "expected an array of strings");
                return parameter_value();
            }
            texts.push_back(*text);
        }
        return texts;
    }
    bool any_float = false;
    for (const auto& element : *elements) {
        if (element.is_float()) {
            any_float = true;
        } else if (!element.is_integer()) {
            reader.fail({}, "expected an array of numbers or of strings");
            return parameter_value();
        }
    }
    if (any_float) {
        std::vector<double> numbers;
        numbers.reserve(elements->size());
        for (const auto& element : *elements) {
            numbers.push_back(*element.as_double());
        }
        return numbers;
    }
    std::vector<std::int64_t> numbers;
    numbers.reserve(elements->size());
    for (const auto& element : *elements) {
        std::int64_t number = 0;
        if (!reader.to_int(element, {}, number)) {
            return parameter_value();
        }
        numbers.push_back(number);
    }
    return numbers;
}

SLICERBRIDGE_DECL parameter_value parameter_value::from_value(const value& v, std::error_code& ec) {
    std::string what;
    return from_value(v, ec, what);
}

SLICERBRIDGE_DECL value to_value(const parameter_value& p) {
    return std::visit(
        [](const auto& held) -> value {
            using held_type = std::decay_t<decltype(held)>;
            if constexpr (std::is_same_v<held_type, std::vector<std::int64_t>> ||
                          std::is_same_v<held_type, std::vector<double>> ||
                          std::is_same_v<held_type, std::vector<std::string>>) {
                return value::array(held.begin(), held.end());
            } else {
                return held;
            }
        },
        p.get());
}

} // namespace slicerbridge

#endif
