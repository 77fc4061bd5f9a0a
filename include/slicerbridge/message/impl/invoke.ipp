#ifndef SLICERBRIDGE_MESSAGE_IMPL_INVOKE_IPP
#define SLICERBRIDGE_MESSAGE_IMPL_INVOKE_IPP

#include <slicerbridge/message/invoke.hpp>

namespace slicerbridge {
namespace detail {

/// The slot type matching a data value.
inline slot_type slot_type_of(const data_value& d) noexcept {
    constexpr slot_type types[] = {slot_type::image,  slot_type::mesh,  slot_type::transform,
                                   slot_type::points, slot_type::table, slot_type::image_series};
    return types[d.index()];
}

/// Reads the data values of a `{name: data value}` map; problems take the reader's error code.
inline bool read_data_map(field_reader& reader, const value& params, std::string_view field,
                          std::vector<std::pair<std::string, data_value>>& out,
                          std::string& offending_name) {
    const value* entries = reader.read_map(params, field, false);
    if (entries == nullptr) {
        return reader.ok();
    }
    for (const auto& [name, v] : entries->as_map()) {
        std::error_code ec;
        std::string what;
        data_value d = data_from_value(v, ec, what);
        if (ec) {
            offending_name = name;
            return reader.fail(std::string(field) + "." + name, what);
        }
        out.emplace_back(name, std::move(d));
    }
    return true;
}

} // namespace detail

SLICERBRIDGE_DECL const data_value* invoke_params::input(std::string_view name) const noexcept {
    return detail::find_named(inputs, name);
}

SLICERBRIDGE_DECL const parameter_value*
invoke_params::parameter(std::string_view name) const noexcept {
    return detail::find_named(parameters, name);
}

SLICERBRIDGE_DECL const data_value* invoke_result::output(std::string_view name) const noexcept {
    return detail::find_named(outputs, name);
}

SLICERBRIDGE_DECL const parameter_value*
invoke_result::scalar(std::string_view name) const noexcept {
    return detail::find_named(scalars, name);
}

SLICERBRIDGE_DECL invoke_params invoke_params::from_value(const value& v, std::error_code& ec,
                                                          std::string& what,
                                                          std::string& offending_name) {
    ec.clear();
    offending_name.clear();
    detail::field_reader reader(ec, what, error::invalid_message, "params");
    invoke_params result;
    if (!reader.expect_map(v) || !reader.read_string(v, "processor", result.processor)) {
        return invoke_params();
    }
    if (v.find("deadline") != nullptr) {
        double deadline = 0;
        if (!reader.read_double(v, "deadline", deadline, true, true)) {
            return invoke_params();
        }
        result.deadline = deadline;
    }
    // Structure first (invalid_message), then contents (invalid_argument).
    const value* inputs = reader.read_map(v, "inputs", false);
    const value* parameters = reader.read_map(v, "parameters", false);
    if (!reader.ok()) {
        return invoke_params();
    }
    detail::field_reader arguments(ec, what, error::invalid_argument, "params");
    if (inputs != nullptr &&
        !detail::read_data_map(arguments, v, "inputs", result.inputs, offending_name)) {
        return invoke_params();
    }
    if (parameters != nullptr) {
        for (const auto& [name, p] : parameters->as_map()) {
            std::error_code parameter_ec;
            std::string parameter_what;
            parameter_value parsed = parameter_value::from_value(p, parameter_ec, parameter_what);
            if (parameter_ec) {
                offending_name = name;
                arguments.fail("parameters." + name, "not a parameter value");
                return invoke_params();
            }
            result.parameters.emplace_back(name, std::move(parsed));
        }
    }
    return result;
}

SLICERBRIDGE_DECL invoke_params invoke_params::from_value(const value& v, std::error_code& ec) {
    std::string what;
    std::string offending_name;
    return from_value(v, ec, what, offending_name);
}

SLICERBRIDGE_DECL value to_value(const invoke_params& p) {
    value::map inputs;
    for (const auto& [name, d] : p.inputs) {
        inputs.emplace_back(name, to_value(d));
    }
    value::map parameters;
    for (const auto& [name, parameter] : p.parameters) {
        parameters.emplace_back(name, to_value(parameter));
    }
    value::map entries{{"processor", p.processor},
                       {"inputs", std::move(inputs)},
                       {"parameters", std::move(parameters)}};
    if (p.deadline) {
        entries.emplace_back("deadline", *p.deadline);
    }
    return entries;
}

SLICERBRIDGE_DECL invoke_result invoke_result::from_value(const value& v, std::error_code& ec,
                                                          std::string& what) {
    ec.clear();
    detail::field_reader reader(ec, what, error::invalid_message, "result");
    invoke_result result;
    const value* outputs = reader.expect_map(v) ? reader.read_map(v, "outputs", true) : nullptr;
    if (outputs == nullptr) {
        return invoke_result();
    }
    for (const auto& [name, output] : outputs->as_map()) {
        std::error_code output_ec;
        std::string output_what;
        if (output.is_map()) {
            data_value d = data_from_value(output, output_ec, output_what);
            if (!output_ec) {
                result.outputs.emplace_back(name, std::move(d));
            }
        } else {
            parameter_value p = parameter_value::from_value(output, output_ec, output_what);
            if (!output_ec) {
                result.scalars.emplace_back(name, std::move(p));
            }
        }
        if (output_ec) {
            reader.fail("outputs." + name, output_what);
            return invoke_result();
        }
    }
    return result;
}

SLICERBRIDGE_DECL invoke_result invoke_result::from_value(const value& v, std::error_code& ec) {
    std::string what;
    return from_value(v, ec, what);
}

SLICERBRIDGE_DECL invoke_result result_for_version(invoke_result r, protocol_version v) {
    if (v >= protocol_version{1, 1}) {
        return r;
    }
    r.scalars.clear();
    r.outputs.erase(std::remove_if(r.outputs.begin(), r.outputs.end(),
                                   [](const auto& output) {
                                       return std::holds_alternative<image_series>(output.second);
                                   }),
                    r.outputs.end());
    return r;
}

SLICERBRIDGE_DECL value to_value(const invoke_result& r) {
    value::map outputs;
    for (const auto& [name, d] : r.outputs) {
        outputs.emplace_back(name, to_value(d));
    }
    for (const auto& [name, p] : r.scalars) {
        outputs.emplace_back(name, to_value(p));
    }
    return value::map{{"outputs", std::move(outputs)}};
}

SLICERBRIDGE_DECL void validate_invoke(const processor_description& description,
                                       invoke_params& params, std::error_code& ec,
                                       std::string& offending_name, std::string& what) {
    ec.clear();
    offending_name.clear();
    const auto fail = [&](error e, const std::string& name, std::string problem) {
        ec = e;
        offending_name = name;
        what = std::move(problem);
    };
    if (params.processor != description.name) {
        fail(error::unknown_processor, {}, "params.processor: not this processor");
        return;
    }
    for (const auto& [name, d] : params.inputs) {
        const slot* s = description.find_input(name);
        if (s == nullptr) {
            fail(error::invalid_argument, name, "inputs." + name + ": unknown input");
            return;
        }
        if (detail::slot_type_of(d) != s->type) {
            fail(error::invalid_argument, name,
                 "inputs." + name + ": expected " + std::string(slot_type_name(s->type)));
            return;
        }
        // [CAT-9]: an input slot's image_kind is a constraint
        if (const auto* img = std::get_if<image>(&d);
            img && s->image_kind && img->kind != *s->image_kind) {
            fail(error::invalid_argument, name,
                 "inputs." + name + ": expected a " + std::string(image_kind_name(*s->image_kind)) +
                     " image");
            return;
        }
    }
    for (const auto& s : description.inputs) {
        if (!s.optional && params.input(s.name) == nullptr) {
            fail(error::invalid_argument, s.name, "inputs." + s.name + ": missing");
            return;
        }
    }
    for (auto& [name, p] : params.parameters) {
        const slot* s = description.find_parameter(name);
        if (s == nullptr) {
            fail(error::invalid_argument, name, "parameters." + name + ": unknown parameter");
            return;
        }
        std::string problem;
        if (!check_parameter(*s, p, problem)) {
            fail(error::invalid_argument, name, problem);
            return;
        }
    }
    for (const auto& s : description.parameters) {
        if (params.parameter(s.name) != nullptr) {
            continue;
        }
        if (s.default_value) {
            parameter_value filled = *s.default_value;
            std::string problem;
            if (!check_parameter(s, filled, problem)) {
                fail(error::invalid_argument, s.name, problem);
                return;
            }
            params.parameters.emplace_back(s.name, std::move(filled));
        } else if (!s.optional) {
            fail(error::invalid_argument, s.name, "parameters." + s.name + ": missing");
            return;
        }
    }
}

SLICERBRIDGE_DECL void validate_invoke(const processor_description& description,
                                       invoke_params& params, std::error_code& ec,
                                       std::string& offending_name) {
    std::string what;
    validate_invoke(description, params, ec, offending_name, what);
}

SLICERBRIDGE_DECL void validate_invoke_result(const processor_description& description,
                                              const invoke_result& result, std::error_code& ec,
                                              std::string& offending_name) {
    ec.clear();
    offending_name.clear();
    const auto fail = [&](const std::string& name) {
        ec = error::internal_error;
        offending_name = name;
    };
    for (const auto& [name, d] : result.outputs) {
        const slot* s = description.find_output(name);
        if (s == nullptr || detail::slot_type_of(d) != s->type) {
            return fail(name);
        }
    }
    for (const auto& [name, p] : result.scalars) {
        const slot* s = description.find_output(name);
        parameter_value checked = p;
        std::string what;
        if (s == nullptr || !is_scalar_output(*s) || !check_parameter(*s, checked, what)) {
            return fail(name);
        }
    }
    for (const auto& s : description.outputs) {
        if (!s.optional && result.output(s.name) == nullptr && result.scalar(s.name) == nullptr) {
            ec = error::internal_error;
            offending_name = s.name;
            return;
        }
    }
}

} // namespace slicerbridge

#endif
