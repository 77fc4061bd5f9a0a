#ifndef SLICERBRIDGE_MESSAGE_IMPL_MESSAGE_IPP
#define SLICERBRIDGE_MESSAGE_IMPL_MESSAGE_IPP

#include <slicerbridge/message/message.hpp>

namespace slicerbridge {

SLICERBRIDGE_DECL value to_value(const request& r) {
    value::map entries;
    entries.reserve(4);
    entries.emplace_back("kind", "request");
    entries.emplace_back("id", r.id);
    entries.emplace_back("method", r.method);
    entries.emplace_back("params", r.params);
    return value(std::move(entries));
}

SLICERBRIDGE_DECL value to_value(const response& r) {
    value::map entries;
    entries.reserve(r.timings ? 4 : 3);
    entries.emplace_back("kind", "response");
    entries.emplace_back("id", r.id ? value(*r.id) : value());
    if (r.error) {
        entries.emplace_back("error", to_value(*r.error));
    } else {
        entries.emplace_back("result", r.result);
    }
    if (r.timings) {
        entries.emplace_back("timings", to_value(*r.timings));
    }
    return value(std::move(entries));
}

SLICERBRIDGE_DECL value to_value(const notification& n) {
    value::map entries;
    entries.reserve(3);
    entries.emplace_back("kind", "notification");
    entries.emplace_back("method", n.method);
    entries.emplace_back("params", n.params);
    return value(std::move(entries));
}

SLICERBRIDGE_DECL value to_value(const message& m) {
    return std::visit(
        [](const auto& held) {
            if constexpr (std::is_same_v<std::decay_t<decltype(held)>, std::monostate>) {
                return value();
            } else {
                return to_value(held);
            }
        },
        m);
}

namespace detail {

SLICERBRIDGE_DECL bool write_message(frame_encoder& encoder, const request& r) {
    return write_request(encoder, r.id, r.method,
                         [&r](frame_encoder& e) { return e.write(r.params); });
}

SLICERBRIDGE_DECL bool write_message(frame_encoder& encoder, const error_info& e) {
    auto& out = encoder.writer();
    const bool has_details = !e.details.is_nil();
    out.write_map_header(has_details ? 3 : 2);
    out.write_string("code");
    out.write_int(e.code);
    out.write_string("message");
    if (!write_text(encoder, e.message)) {
        return false;
    }
    if (has_details) {
        out.write_string("details");
        return encoder.write(e.details);
    }
    return true;
}

SLICERBRIDGE_DECL void write_timings_entry(frame_encoder& encoder, const timings& t) {
    std::byte bytes[timings_entry.size()];
    std::memcpy(bytes, timings_entry.data(), timings_entry.size());
    const double numbers[] = {t.receiving, t.queued, t.computing, t.sending};
    for (std::size_t i = 0; i < 4; ++i) {
        store_big_endian(canonical_double_bits(numbers[i]), bytes + timings_entry.number_offset(i));
    }
    encoder.writer().write_raw(bytes, timings_entry.size(), timings_entry.containers());
}

SLICERBRIDGE_DECL bool write_message(frame_encoder& encoder, const response& r) {
    static constexpr auto error_key = packed_literal<8>().str("error");
    static_assert(response_head4.size() + 9 + result_key.size() <= head_prefix::capacity);
    auto& out = encoder.writer();
    head_prefix prefix;
    prefix.append(r.timings ? response_head4 : response_head3);
    if (r.id) {
        prefix.append_uint(*r.id);
    } else {
        prefix.append_nil();
    }
    prefix.append(r.error ? error_key : result_key);
    prefix.flush(out);
    if (r.error) {
        if (!write_message(encoder, *r.error)) {
            return false;
        }
    } else if (!encoder.write(r.result)) {
        return false;
    }
    if (r.timings) {
        write_timings_entry(encoder, *r.timings);
    }
    return true;
}

SLICERBRIDGE_DECL bool write_message(frame_encoder& encoder, const notification& n) {
    static constexpr auto head =
        packed_literal<32>().map(3).str("kind").str("notification").str("method");
    static_assert(head.size() + 32 + params_key.size() <= head_prefix::capacity);
    auto& out = encoder.writer();
    head_prefix prefix;
    prefix.append(head);
    if (!prefix.append_short_string(n.method)) {
        prefix.flush(out);
        if (!write_text(encoder, n.method)) {
            return false;
        }
    }
    prefix.append(params_key);
    prefix.flush(out);
    return encoder.write(n.params);
}

} // namespace detail

namespace detail {

/// The response of decode_usual_response, read into `out`; false for any other head.
inline bool read_usual_response(const received_frame& frame, const limits& receiver_limits,
                                const codec_set& allowed, response& out) {
    std::uint64_t id = 0;
    if (!read_usual_response_with(frame, receiver_limits, allowed, id, out.timings,
                                  [&out](head_decoder& decoder, std::uint64_t) {
                                      return decoder.read_nested(out.result, 1);
                                  })) {
        return false;
    }
    out.id = id;
    return true;
}

SLICERBRIDGE_DECL std::optional<response> decode_usual_response(const received_frame& frame,
                                                                const limits& receiver_limits,
                                                                const codec_set& allowed) {
    std::optional<response> reply(std::in_place);
    if (!read_usual_response(frame, receiver_limits, allowed, *reply)) {
        reply.reset();
    }
    return reply;
}

/// The request of decode_usual_request, read into `out`; false for any other head.
inline bool read_usual_request(const received_frame& frame, const limits& receiver_limits,
                               const codec_set& allowed, request& out) {
    // What decode_head checks first, and the limits on the two maps read here.
    const buffer& head = frame.head;
    if (head.empty() || head.size() > receiver_limits.max_head || !frame.descriptors.empty() ||
        receiver_limits.max_depth < 2 || receiver_limits.max_elements < 4) {
        return false;
    }
    head_decoder decoder(head, frame.bulk, receiver_limits, allowed);
    value method;
    out.params = value(); // read_nested reads into nil
    if (!take_literal(decoder, request_head) || !decoder.take_uint(out.id) ||
        out.id > max_request_id || !take_literal(decoder, method_key) ||
        !decoder.read_nested(method, 1) || !method.is_string() ||
        !take_literal(decoder, params_key) || !decoder.read_nested(out.params, 1) ||
        !out.params.is_map() || !decoder.at_end()) {
        return false;
    }
    out.method = std::move(*method.get_if<std::string>());
    return true;
}

SLICERBRIDGE_DECL std::optional<request> decode_usual_request(const received_frame& frame,
                                                              const limits& receiver_limits,
                                                              const codec_set& allowed) {
    std::optional<request> received(std::in_place);
    if (!read_usual_request(frame, receiver_limits, allowed, *received)) {
        received.reset();
    }
    return received;
}

} // namespace detail

SLICERBRIDGE_DECL encoded_frame encode_request(std::uint64_t id, std::string_view method,
                                               const value& params, const encode_options& options,
                                               std::error_code& ec) {
    return detail::encode_frame_with(options, ec, [&](detail::frame_encoder& encoder) {
        return detail::write_request(
            encoder, id, method, [&params](detail::frame_encoder& e) { return e.write(params); });
    });
}

SLICERBRIDGE_DECL encoded_frame encode_message(const message& m, const encode_options& options,
                                               std::error_code& ec) {
    if (std::holds_alternative<std::monostate>(m)) {
        ec = error::invalid_message;
        return encoded_frame();
    }
    return detail::encode_frame_with(options, ec, [&m](detail::frame_encoder& encoder) {
        return std::visit(
            [&encoder](const auto& held) {
                using held_type = std::decay_t<decltype(held)>;
                if constexpr (std::is_same_v<held_type, request> ||
                              std::is_same_v<held_type, response> ||
                              std::is_same_v<held_type, notification>) {
                    return detail::write_message(encoder, held);
                } else if constexpr (std::is_same_v<held_type, std::monostate>) {
                    return false; // refused above
                } else {
                    return encoder.write(to_value(held)); // hellos: once per connection
                }
            },
            m);
    });
}

SLICERBRIDGE_DECL message decode_message(const value& head, bool expecting_hello,
                                         std::error_code& ec, std::string& what) {
    return detail::decode_message(head, expecting_hello, ec, what);
}

SLICERBRIDGE_DECL message decode_message(value&& head, bool expecting_hello, std::error_code& ec,
                                         std::string& what) {
    return detail::decode_message(head, expecting_hello, ec, what);
}

SLICERBRIDGE_DECL message decode_message(const value& head, bool expecting_hello,
                                         std::error_code& ec) {
    std::string what;
    return decode_message(head, expecting_hello, ec, what);
}

SLICERBRIDGE_DECL std::optional<std::uint64_t> request_id_of(const value& head) noexcept {
    const value* found[2];
    detail::find_fields<2, detail::request_id_fields>(head, found);
    const value* kind = found[0];
    const value* id = found[1];
    if (kind == nullptr || id == nullptr || kind->get_if<std::string>() == nullptr ||
        !detail::is_literal(*kind->get_if<std::string>(), "request")) {
        return std::nullopt;
    }
    const auto number = id->as_uint64();
    if (!id->is_integer() || !number || *number > max_request_id) {
        return std::nullopt;
    }
    return number;
}

} // namespace slicerbridge

#endif
