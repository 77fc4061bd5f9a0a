#ifndef SLICERBRIDGE_MESSAGE_IMPL_MESSAGE_HPP
#define SLICERBRIDGE_MESSAGE_IMPL_MESSAGE_HPP

namespace slicerbridge {
namespace detail {

/// A message's payload: moved out of a head that is given up, copied from one that is kept.
inline value take_payload(const value& v) {
    return v;
}
inline value take_payload(value& v) {
    return std::move(v);
}

// `Head` is `value` or `const value`. Payloads are taken last, once everything else is valid,
// so a head that fails to decode keeps all it had.

template <class Head>
bool read_params(field_reader& reader, Head& head, value& out) {
    auto* params = head.find("params");
    if (params == nullptr) {
        out = value::map{};
        return true;
    }
    if (!params->is_map()) {
        return reader.fail("params", "expected a map");
    }
    out = take_payload(*params);
    return true;
}

inline bool read_id(field_reader& reader, const value& id, std::uint64_t& out) {
    return reader.to_uint(id, "id", out, 0, max_request_id);
}

template <class Head>
message read_request(field_reader& reader, Head& head) {
    request r;
    const value* id = reader.get(head, "id", true);
    if (id == nullptr || !read_id(reader, *id, r.id) ||
        !reader.read_string(head, "method", r.method) || !read_params(reader, head, r.params)) {
        return message();
    }
    return r;
}

template <class Head>
message read_response(field_reader& reader, Head& head) {
    response r;
    const value* id = reader.get(head, "id", true);
    if (id == nullptr) {
        return message();
    }
    if (!id->is_nil()) {
        std::uint64_t number = 0;
        if (!read_id(reader, *id, number)) {
            return message();
        }
        r.id = number;
    }
    auto* result = head.find("result");
    const value* error_value = head.find("error");
    if ((result == nullptr) == (error_value == nullptr)) {
        reader.fail({}, "expected exactly one of result and error");
        return message();
    }
    if (result == nullptr) {
        std::error_code ec;
        std::string what;
        r.error = error_info::from_value(*error_value, ec, what);
        if (ec) {
            reader.fail("error", what);
            return message();
        }
    }
    if (const value* t = head.find("timings")) {
        std::error_code ec;
        std::string what;
        r.timings = timings::from_value(*t, ec, what);
        if (ec) {
            reader.fail("timings", what);
            return message();
        }
    }
    if (result != nullptr) {
        r.result = take_payload(*result);
    }
    return r;
}

template <class Head>
message read_notification(field_reader& reader, Head& head) {
    notification n;
    if (!reader.read_string(head, "method", n.method) || !read_params(reader, head, n.params)) {
        return message();
    }
    return n;
}

} // namespace detail

inline value to_value(const request& r) {
    return value::map{
        {"kind", "request"}, {"id", r.id}, {"method", r.method}, {"params", r.params}};
}

inline value to_value(const response& r) {
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

inline value to_value(const notification& n) {
    return value::map{{"kind", "notification"}, {"method", n.method}, {"params", n.params}};
}

inline value to_value(const message& m) {
    return std::visit([](const auto& held) { return to_value(held); }, m);
}

namespace detail {

inline bool write_text(frame_encoder& encoder, std::string_view text) {
    if (text.size() > std::numeric_limits<std::uint32_t>::max()) {
        return false;
    }
    encoder.writer().write_string(text);
    return true;
}

// Each writes what `to_value` of the same message builds, entry for entry ([CANON-5]).

inline bool write_message(frame_encoder& encoder, const request& r) {
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

inline bool write_message(frame_encoder& encoder, const error_info& e) {
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

inline void write_message(frame_encoder& encoder, const timings& t) {
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

inline bool write_message(frame_encoder& encoder, const response& r) {
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

inline bool write_message(frame_encoder& encoder, const notification& n) {
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

inline encoded_frame encode_message(const message& m, const encode_options& options,
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

namespace detail {

template <class Head>
message decode_message(Head& head, bool expecting_hello, std::error_code& ec, std::string& what) {
    ec.clear();
    detail::field_reader reader(ec, what, error::invalid_message, "message");
    std::string kind;
    if (!reader.expect_map(head) || !reader.read_string(head, "kind", kind)) {
        return message();
    }
    if (kind == "hello") {
        if (!expecting_hello) {
            reader.fail("kind", "hello after the handshake");
            return message();
        }
        if (head.find("min_version") != nullptr || head.find("version") == nullptr) {
            client_hello hello = client_hello_from_value(head, ec, what);
            return ec ? message() : message(std::move(hello));
        }
        server_hello hello = server_hello_from_value(head, ec, what);
        return ec ? message() : message(std::move(hello));
    }
    if (expecting_hello) {
        ec = error::handshake_required;
        what = "message.kind: expected \"hello\" first";
        return message();
    }
    if (kind == "request") {
        auto nested = reader.nested("request");
        return detail::read_request(nested, head);
    }
    if (kind == "response") {
        auto nested = reader.nested("response");
        return detail::read_response(nested, head);
    }
    if (kind == "notification") {
        auto nested = reader.nested("notification");
        return detail::read_notification(nested, head);
    }
    ec = error::unknown_kind;
    what = "message.kind: unknown kind";
    return message();
}

} // namespace detail

inline message decode_message(const value& head, bool expecting_hello, std::error_code& ec,
                              std::string& what) {
    return detail::decode_message(head, expecting_hello, ec, what);
}

inline message decode_message(value&& head, bool expecting_hello, std::error_code& ec,
                              std::string& what) {
    return detail::decode_message(head, expecting_hello, ec, what);
}

inline message decode_message(const value& head, bool expecting_hello, std::error_code& ec) {
    std::string what;
    return decode_message(head, expecting_hello, ec, what);
}

inline std::optional<std::uint64_t> request_id_of(const value& head) noexcept {
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
