#ifndef SLICERBRIDGE_MESSAGE_IMPL_INVOKE_IPP
#define SLICERBRIDGE_MESSAGE_IMPL_INVOKE_IPP

#include <slicerbridge/message/invoke.hpp>
#include <slicerbridge/message/message.hpp>

namespace slicerbridge {
namespace detail {

/// The slot type matching a data value.
inline slot_type slot_type_of(const data_value& d) noexcept {
    constexpr slot_type types[] = {slot_type::image,  slot_type::mesh,  slot_type::transform,
                                   slot_type::points, slot_type::table, slot_type::image_series};
    return types[d.index()];
}

/// Reads the data values of `entries`, the `{name: data value}` map under `field`; problems
/// take the reader's error code.
inline bool read_data_entries(field_reader& reader, const value& entries, std::string_view field,
                              std::vector<std::pair<std::string, data_value>>& out,
                              std::string& offending_name) {
    const auto& map = entries.as_map();
    out.reserve(out.size() + map.size());
    for (const auto& [name, v] : map) {
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

namespace detail {

inline constexpr std::string_view invoke_params_fields[] = {"processor", "deadline", "inputs",
                                                            "parameters"};

/// invoke_params::from_value into `result`, which is left part-read on failure.
inline bool read_invoke_params(const value& v, invoke_params& result, std::error_code& ec,
                               std::string& what, std::string& offending_name) {
    field_reader reader(ec, what, error::invalid_message, "params");
    if (!reader.expect_map(v)) {
        return false;
    }
    const value* found[4];
    find_fields<4, invoke_params_fields>(v, found);
    const std::string* processor = reader.string_field(found[0], "processor", true);
    if (processor == nullptr) {
        return false;
    }
    if (found[1] != nullptr) {
        double deadline = 0;
        if (!reader.to_double(*found[1], "deadline", deadline, true)) {
            return false;
        }
        result.deadline = deadline;
    }
    // Structure first (invalid_message), then contents (invalid_argument).
    const value* inputs = reader.map_field(found[2], "inputs", false);
    const value* parameters = reader.map_field(found[3], "parameters", false);
    if (!reader.ok()) {
        return false;
    }
    result.processor = *processor;
    field_reader arguments(ec, what, error::invalid_argument, "params");
    if (inputs != nullptr && !inputs->as_map().empty() &&
        !read_data_entries(arguments, *inputs, "inputs", result.inputs, offending_name)) {
        return false;
    }
    if (parameters != nullptr && !parameters->as_map().empty()) {
        const auto& entries = parameters->as_map();
        result.parameters.reserve(entries.size());
        for (const auto& [name, p] : entries) {
            std::error_code parameter_ec;
            std::string parameter_what;
            parameter_value parsed = parameter_value::from_value(p, parameter_ec, parameter_what);
            if (parameter_ec) {
                offending_name = name;
                return arguments.fail("parameters." + name, "not a parameter value");
            }
            result.parameters.emplace_back(name, std::move(parsed));
        }
    }
    return true;
}

} // namespace detail

SLICERBRIDGE_DECL invoke_params invoke_params::from_value(const value& v, std::error_code& ec,
                                                          std::string& what,
                                                          std::string& offending_name) {
    ec.clear();
    offending_name.clear();
    invoke_params result;
    if (!detail::read_invoke_params(v, result, ec, what, offending_name)) {
        result = invoke_params();
    }
    return result;
}

SLICERBRIDGE_DECL invoke_params invoke_params::from_value(const value& v, std::error_code& ec) {
    std::string what;
    std::string offending_name;
    return from_value(v, ec, what, offending_name);
}

SLICERBRIDGE_DECL value to_value(const invoke_params& p) {
    using namespace std::string_view_literals; // keys made without strlen
    // Built in place: no map is made aside and moved in.
    value result{value::map{}};
    auto& entries = *result.get_if<value::map>();
    entries.reserve(p.deadline ? 4 : 3);
    entries.emplace_back("processor"sv, p.processor);
    auto& inputs = *entries.emplace_back("inputs"sv, value::map{}).second.get_if<value::map>();
    if (!p.inputs.empty()) {
        inputs.reserve(p.inputs.size());
        for (const auto& [name, d] : p.inputs) {
            inputs.emplace_back(name, to_value(d));
        }
    }
    auto& parameters =
        *entries.emplace_back("parameters"sv, value::map{}).second.get_if<value::map>();
    if (!p.parameters.empty()) {
        parameters.reserve(p.parameters.size());
        for (const auto& [name, parameter] : p.parameters) {
            parameters.emplace_back(name, to_value(parameter));
        }
    }
    if (p.deadline) {
        entries.emplace_back("deadline"sv, *p.deadline);
    }
    return result;
}

namespace detail {

/// The entries `name: to_value(v)` of a map whose header is written.
template <class Entries>
bool write_named_entries(frame_encoder& encoder, const Entries& entries) {
    for (const auto& [name, v] : entries) {
        if (!write_text(encoder, name) || !encoder.write(to_value(v))) {
            return false;
        }
    }
    return true;
}

/// `{name: to_value(v), ...}`, written as `frame_encoder::write` writes that map.
template <class Entries>
bool write_named_values(frame_encoder& encoder, const Entries& entries) {
    if (entries.size() > std::numeric_limits<std::uint32_t>::max()) {
        return false;
    }
    encoder.writer().write_map_header(entries.size());
    return write_named_entries(encoder, entries);
}

/// `to_value(p)`, written without building it: the fixed parts, a short processor name and
/// empty maps gathered and written at once.
inline bool write_invoke_params(frame_encoder& encoder, const invoke_params& p) {
    static constexpr auto head3 = packed_literal<16>().map(3).str("processor");
    static constexpr auto head4 = packed_literal<16>().map(4).str("processor");
    static constexpr auto inputs_key = packed_literal<8>().str("inputs");
    static constexpr auto parameters_key = packed_literal<16>().str("parameters");
    static constexpr auto deadline_key = packed_literal<16>().str("deadline");
    static constexpr auto empty_map = packed_literal<1>().map(0);
    static_assert(head4.size() + 32 + inputs_key.size() + parameters_key.size() +
                      2 * empty_map.size() + deadline_key.size() + 9 <=
                  head_prefix::capacity);
    auto& out = encoder.writer();
    head_prefix prefix;
    prefix.append(p.deadline ? head4 : head3);
    if (!prefix.append_short_string(p.processor)) {
        prefix.flush(out);
        if (!write_text(encoder, p.processor)) {
            return false;
        }
    }
    prefix.append(inputs_key);
    if (p.inputs.empty()) {
        prefix.append(empty_map);
    } else {
        prefix.flush(out);
        if (!write_named_values(encoder, p.inputs)) {
            return false;
        }
    }
    prefix.append(parameters_key);
    if (p.parameters.empty()) {
        prefix.append(empty_map);
    } else {
        prefix.flush(out);
        if (!write_named_values(encoder, p.parameters)) {
            return false;
        }
    }
    if (p.deadline) {
        prefix.append(deadline_key);
        prefix.append_double(*p.deadline);
    }
    prefix.flush(out);
    return true;
}

} // namespace detail

SLICERBRIDGE_DECL encoded_frame encode_request(std::uint64_t id, const invoke_params& params,
                                               const encode_options& options, std::error_code& ec,
                                               std::vector<std::byte>&& head_storage) {
    return detail::encode_frame_with(
        options, ec,
        [&](detail::frame_encoder& encoder) {
            return detail::write_request(encoder, id, methods::invoke,
                                         [&params](detail::frame_encoder& e) {
                                             return detail::write_invoke_params(e, params);
                                         });
        },
        std::move(head_storage));
}

namespace detail {

inline constexpr std::string_view invoke_result_fields[] = {"outputs"};

/// invoke_result::from_value into `result`, which is left part-read on failure.
inline bool read_invoke_result(const value& v, invoke_result& result, std::error_code& ec,
                               std::string& what) {
    field_reader reader(ec, what, error::invalid_message, "result");
    if (!reader.expect_map(v)) {
        return false;
    }
    const value* found[1];
    find_fields<1, invoke_result_fields>(v, found);
    const value* outputs = reader.map_field(found[0], "outputs", true);
    if (outputs == nullptr) {
        return false;
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
            return reader.fail("outputs." + name, output_what);
        }
    }
    return true;
}

} // namespace detail

SLICERBRIDGE_DECL invoke_result invoke_result::from_value(const value& v, std::error_code& ec,
                                                          std::string& what) {
    ec.clear();
    invoke_result result;
    if (!detail::read_invoke_result(v, result, ec, what)) {
        result = invoke_result();
    }
    return result;
}

SLICERBRIDGE_DECL invoke_result invoke_result::from_value(const value& v, std::error_code& ec) {
    std::string what;
    return from_value(v, ec, what);
}

namespace detail {

/// The response `{id, to_value(r)}` with `t`, written as write_message writes it, without
/// building the result: the fixed parts up to an empty or the outputs map header gathered and
/// written at once.
inline bool write_invoke_response(frame_encoder& encoder, std::uint64_t id, const invoke_result& r,
                                  const std::optional<timings>& t) {
    static constexpr auto outputs_key = packed_literal<16>().map(1).str("outputs");
    static constexpr auto empty_map = packed_literal<1>().map(0);
    static_assert(response_head4.size() + 9 + result_key.size() + outputs_key.size() +
                      empty_map.size() <=
                  head_prefix::capacity);
    const std::size_t count = r.outputs.size() + r.scalars.size();
    if (count > std::numeric_limits<std::uint32_t>::max()) {
        return false;
    }
    auto& out = encoder.writer();
    head_prefix prefix;
    prefix.append(t ? response_head4 : response_head3);
    prefix.append_uint(id);
    prefix.append(result_key);
    prefix.append(outputs_key);
    if (count == 0) {
        prefix.append(empty_map);
        prefix.flush(out);
    } else {
        prefix.flush(out);
        out.write_map_header(static_cast<std::uint32_t>(count));
        if (!write_named_entries(encoder, r.outputs) || !write_named_entries(encoder, r.scalars)) {
            return false;
        }
    }
    if (t) {
        write_timings_entry(encoder, *t);
    }
    return true;
}

} // namespace detail

SLICERBRIDGE_DECL encoded_frame encode_response(std::uint64_t id, const invoke_result& result,
                                                const std::optional<timings>& timings,
                                                const encode_options& options,
                                                std::error_code& ec) {
    return detail::encode_frame_with(options, ec, [&](detail::frame_encoder& encoder) {
        return detail::write_invoke_response(encoder, id, result, timings);
    });
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
    value result{value::map{}};
    auto& entries = *result.get_if<value::map>();
    entries.reserve(1);
    auto& outputs = *entries.emplace_back(std::string_view("outputs"), value::map{})
                         .second.get_if<value::map>();
    if (!r.outputs.empty() || !r.scalars.empty()) {
        outputs.reserve(r.outputs.size() + r.scalars.size());
        for (const auto& [name, d] : r.outputs) {
            outputs.emplace_back(name, to_value(d));
        }
        for (const auto& [name, p] : r.scalars) {
            outputs.emplace_back(name, to_value(p));
        }
    }
    return result;
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
