#ifndef SLICERBRIDGE_MESSAGE_IMPL_INVOKE_IPP
#define SLICERBRIDGE_MESSAGE_IMPL_INVOKE_IPP

#include <slicerbridge/detail/head_decoder.hpp>
#include <slicerbridge/detail/utf8.hpp>
#include <slicerbridge/message/invoke.hpp>
#include <slicerbridge/message/message.hpp>

#include <cassert>
#include <cmath>
#include <cstring>
#include <iterator>

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

namespace detail {

inline constexpr auto invoke_method_literal = packed_literal<8>().str("invoke");

/// Whether the next bytes are `Literal`'s, taking them if so (compared inline: a known size).
template <const auto& Literal>
bool take_invoke_literal(head_decoder& decoder) noexcept {
    const std::byte* bytes = nullptr;
    return decoder.take_bytes(Literal.size(), bytes) &&
           std::memcmp(bytes, Literal.data(), Literal.size()) == 0;
}

/// The next byte, if there is one.
inline bool take_tag(head_decoder& decoder, std::uint8_t& tag) noexcept {
    const std::byte* byte = nullptr;
    if (!decoder.take_bytes(1, byte)) {
        return false;
    }
    tag = std::to_integer<std::uint8_t>(*byte);
    return true;
}

/// A map of at most 15 entries (its one-byte header form); false for anything else.
inline bool take_short_map(head_decoder& decoder, std::uint32_t& count) noexcept {
    std::uint8_t tag = 0;
    if (!take_tag(decoder, tag) || (tag & 0xf0u) != 0x80u) {
        return false;
    }
    count = tag & 0x0fu;
    return true;
}

/// [HEAD-9]: ASCII, the usual case, recognised a word at a time; anything else fully checked.
inline bool valid_text(const std::byte* bytes, std::size_t length) noexcept {
    std::uint64_t high = 0;
    std::size_t i = 0;
    for (; length - i >= 8; i += 8) {
        std::uint64_t word = 0;
        std::memcpy(&word, bytes + i, sizeof word);
        high |= word;
    }
    for (; i < length; ++i) {
        high |= std::to_integer<std::uint8_t>(bytes[i]);
    }
    return (high & 0x8080808080808080ull) == 0 || is_valid_utf8(bytes, length);
}

/// A valid UTF-8 string of at most 255 bytes (a one-byte header, or str 8), viewed in the head;
/// false for anything else.
inline bool take_short_string(head_decoder& decoder, std::string_view& text) noexcept {
    std::uint8_t tag = 0;
    if (!take_tag(decoder, tag)) {
        return false;
    }
    std::size_t length = tag & 0x1fu;
    if ((tag & 0xe0u) != 0xa0u) {
        std::uint8_t long_length = 0;
        if (tag != 0xd9u || !take_tag(decoder, long_length)) {
            return false;
        }
        length = long_length;
    }
    const std::byte* bytes = nullptr;
    if (!decoder.take_bytes(length, bytes) || !valid_text(bytes, length)) {
        return false;
    }
    text = std::string_view(reinterpret_cast<const char*>(bytes), length);
    return true;
}

/// The index in invoke_params_fields of the next key, a name in its one-byte-header form;
/// the size of invoke_params_fields for anything else. (Equal to an ASCII name, the key is
/// valid UTF-8.)
inline std::size_t take_invoke_params_field(head_decoder& decoder) noexcept {
    constexpr std::size_t none = std::size(invoke_params_fields);
    std::uint8_t tag = 0;
    const std::byte* bytes = nullptr;
    if (!take_tag(decoder, tag) || (tag & 0xe0u) != 0xa0u ||
        !decoder.take_bytes(tag & 0x1fu, bytes)) {
        return none;
    }
    const auto is = [bytes](const auto& name) {
        return std::memcmp(bytes, name, sizeof name - 1) == 0;
    };
    switch (tag & 0x1fu) { // the four names have four lengths
    case 9:
        return is("processor") ? 0 : none;
    case 8:
        return is("deadline") ? 1 : none;
    case 6:
        return is("inputs") ? 2 : none;
    case 10:
        return is("parameters") ? 3 : none;
    default:
        return none;
    }
}

/// The `parameters` map of decode_usual_invoke, at depth 2 of the head, into `out` (empty).
inline bool read_usual_parameters(head_decoder& decoder, const limits& receiver_limits,
                                  std::vector<std::pair<std::string, parameter_value>>& out) {
    std::uint32_t count = 0;
    if (!take_short_map(decoder, count) || count > receiver_limits.max_elements) {
        return false;
    }
    out.reserve(count);
    for (std::uint32_t i = 0; i < count; ++i) {
        std::string_view name;
        if (!take_short_string(decoder, name) || find_named(out, name) != nullptr) {
            return false; // [HEAD-7]: the general path reports a repeated name
        }
        value read;
        if (!decoder.read_nested(read, 3) || read.is_map()) {
            return false;
        }
        std::error_code ec;
        std::string what;
        parameter_value parsed = parameter_value::from_value(read, ec, what);
        if (ec) {
            return false;
        }
        out.emplace_back(std::piecewise_construct, std::forward_as_tuple(name),
                         std::forward_as_tuple(std::move(parsed)));
    }
    return true;
}

/// decode_usual_invoke: reads the request's parts in their usual form, as decode_frame,
/// decode_message and invoke_params::from_value would read them, and declines anything they
/// might not accept.
inline bool read_usual_invoke(const received_frame& frame, const limits& receiver_limits,
                              const codec_set& allowed, std::uint64_t& id, invoke_params& out) {
    // What decode_head checks first, and the limits on the maps read here: the head (depth 0,
    // 4 entries), the params (depth 1, at most 4) and `inputs` and `parameters` (depth 2).
    const buffer& head = frame.head;
    if (head.empty() || head.size() > receiver_limits.max_head || !frame.descriptors.empty() ||
        receiver_limits.max_depth < 3 || receiver_limits.max_elements < 4) {
        return false;
    }
    head_decoder decoder(head, frame.bulk, receiver_limits, allowed);
    std::uint32_t count = 0;
    if (!take_invoke_literal<request_head>(decoder) || !decoder.take_uint(id) ||
        id > max_request_id || !take_invoke_literal<method_key>(decoder) ||
        !take_invoke_literal<invoke_method_literal>(decoder) ||
        !take_invoke_literal<params_key>(decoder) || !take_short_map(decoder, count) || count > 4) {
        return false;
    }
    unsigned seen = 0; // bits of invoke_params_fields
    for (std::uint32_t i = 0; i < count; ++i) {
        const std::size_t field = take_invoke_params_field(decoder);
        if (field == std::size(invoke_params_fields) || (seen & (1u << field)) != 0) {
            return false; // another key, or one repeated ([HEAD-7])
        }
        seen |= 1u << field;
        std::string_view processor;
        std::uint32_t inputs = 0;
        switch (field) {
        case 0:
            if (!take_short_string(decoder, processor)) {
                return false;
            }
            out.processor.assign(processor.data(), processor.size());
            break;
        case 1: { // deadline, as read_invoke_params checks it ([INV-7])
            value read;
            if (!decoder.read_nested(read, 2)) {
                return false;
            }
            const auto seconds = read.as_double();
            if (!seconds || !(std::isfinite(*seconds) && *seconds >= 0)) {
                return false;
            }
            out.deadline = *seconds;
            break;
        }
        case 2: // inputs: none (data values take the general path)
            if (!take_short_map(decoder, inputs) || inputs != 0) {
                return false;
            }
            break;
        default: // parameters
            if (!read_usual_parameters(decoder, receiver_limits, out.parameters)) {
                return false;
            }
            break;
        }
    }
    return (seen & 1u) != 0 && decoder.at_end();
}

SLICERBRIDGE_DECL bool decode_usual_invoke(const received_frame& frame,
                                           const limits& receiver_limits, const codec_set& allowed,
                                           std::uint64_t& id, invoke_params& params) {
    return read_usual_invoke(frame, receiver_limits, allowed, id, params);
}

} // namespace detail

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

SLICERBRIDGE_DECL void set_request_deadline(encoded_frame& request, double seconds) {
    auto& head = request.head_;
    assert(head.size() > 9 && head[head.size() - 9] == std::byte{0xcb}); // a float 64 last
    detail::store_big_endian(detail::canonical_double_bits(seconds), head.data() + head.size() - 8);
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
                                                const encode_options& options, std::error_code& ec,
                                                std::vector<std::byte>&& head_storage) {
    return detail::encode_frame_with(
        options, ec,
        [&](detail::frame_encoder& encoder) {
            return detail::write_invoke_response(encoder, id, result, timings);
        },
        std::move(head_storage));
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
