#ifndef SLICERBRIDGE_MESSAGE_IMPL_MESSAGE_IPP
#define SLICERBRIDGE_MESSAGE_IMPL_MESSAGE_IPP

#include <slicerbridge/message/message.hpp>

namespace slicerbridge {

SLICERBRIDGE_DECL value to_value(const request& r) {
    return value::map{
        {"kind", "request"}, {"id", r.id}, {"method", r.method}, {"params", r.params}};
}

SLICERBRIDGE_DECL value to_value(const response& r) {
    value::map entries{{"kind", "response"}};
    entries.emplace_back("id", r.id ? value(*r.id) : value());
    if (r.error) {
        entries.emplace_back("error", to_value(*r.error));
    } else {
        entries.emplace_back("result", r.result);
    }
    if (r.timings) {
        entries.emplace_back("timings", to_value(*r.timings));
    }
    return entries;
}

SLICERBRIDGE_DECL value to_value(const notification& n) {
    return value::map{{"kind", "notification"}, {"method", n.method}, {"params", n.params}};
}

SLICERBRIDGE_DECL value to_value(const message& m) {
    return std::visit([](const auto& held) { return to_value(held); }, m);
}

namespace detail {

SLICERBRIDGE_DECL bool write_text(frame_encoder& encoder, std::string_view text) {
    if (text.size() > std::numeric_limits<std::uint32_t>::max()) {
        return false;
    }
    encoder.writer().write_string(text);
    return true;
}

SLICERBRIDGE_DECL bool write_message(frame_encoder& encoder, const request& r) {
    auto& out = encoder.writer();
    out.write_map_header(4);
    out.write_string("kind");
    out.write_string("request");
    out.write_string("id");
    out.write_uint(r.id);
    out.write_string("method");
    if (!write_text(encoder, r.method)) {
        return false;
    }
    out.write_string("params");
    return encoder.write(r.params);
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

SLICERBRIDGE_DECL void write_message(frame_encoder& encoder, const timings& t) {
    auto& out = encoder.writer();
    out.write_map_header(4);
    out.write_string("receiving");
    out.write_double(t.receiving);
    out.write_string("queued");
    out.write_double(t.queued);
    out.write_string("computing");
    out.write_double(t.computing);
    out.write_string("sending");
    out.write_double(t.sending);
}

SLICERBRIDGE_DECL bool write_message(frame_encoder& encoder, const response& r) {
    auto& out = encoder.writer();
    out.write_map_header(r.timings ? 4 : 3);
    out.write_string("kind");
    out.write_string("response");
    out.write_string("id");
    if (r.id) {
        out.write_uint(*r.id);
    } else {
        out.write_nil();
    }
    if (r.error) {
        out.write_string("error");
        if (!write_message(encoder, *r.error)) {
            return false;
        }
    } else {
        out.write_string("result");
        if (!encoder.write(r.result)) {
            return false;
        }
    }
    if (r.timings) {
        out.write_string("timings");
        write_message(encoder, *r.timings);
    }
    return true;
}

SLICERBRIDGE_DECL bool write_message(frame_encoder& encoder, const notification& n) {
    auto& out = encoder.writer();
    out.write_map_header(3);
    out.write_string("kind");
    out.write_string("notification");
    out.write_string("method");
    if (!write_text(encoder, n.method)) {
        return false;
    }
    out.write_string("params");
    return encoder.write(n.params);
}

} // namespace detail

SLICERBRIDGE_DECL encoded_frame encode_message(const message& m, const encode_options& options,
                                               std::error_code& ec) {
    return detail::encode_frame_with(options, ec, [&m](detail::frame_encoder& encoder) {
        return std::visit(
            [&encoder](const auto& held) {
                using held_type = std::decay_t<decltype(held)>;
                if constexpr (std::is_same_v<held_type, request> ||
                              std::is_same_v<held_type, response> ||
                              std::is_same_v<held_type, notification>) {
                    return detail::write_message(encoder, held);
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
    const value* kind = head.find("kind");
    const value* id = head.find("id");
    if (kind == nullptr || id == nullptr || kind->get_if<std::string>() == nullptr ||
        *kind->get_if<std::string>() != "request") {
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
