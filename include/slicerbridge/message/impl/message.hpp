#ifndef SLICERBRIDGE_MESSAGE_IMPL_MESSAGE_HPP
#define SLICERBRIDGE_MESSAGE_IMPL_MESSAGE_HPP

namespace slicerbridge {
namespace detail {

inline bool read_params(field_reader& reader, const value& head, value& out) {
    const value* params = reader.get(head, "params", false);
    if (params == nullptr) {
        out = value::map{};
        return true;
    }
    if (!params->is_map()) {
        return reader.fail("params", "expected a map");
    }
    out = *params;
    return true;
}

inline bool read_id(field_reader& reader, const value& id, std::uint64_t& out) {
    return reader.to_uint(id, "id", out, 0, max_request_id);
}

inline message read_request(field_reader& reader, const value& head) {
    request r;
    const value* id = reader.get(head, "id", true);
    if (id == nullptr || !read_id(reader, *id, r.id) ||
        !reader.read_string(head, "method", r.method) || !read_params(reader, head, r.params)) {
        return message();
    }
    return r;
}

inline message read_response(field_reader& reader, const value& head) {
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
    const value* result = head.find("result");
    const value* error_value = head.find("error");
    if ((result == nullptr) == (error_value == nullptr)) {
        reader.fail({}, "expected exactly one of result and error");
        return message();
    }
    if (result != nullptr) {
        r.result = *result;
    } else {
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
    return r;
}

inline message read_notification(field_reader& reader, const value& head) {
    notification n;
    if (!reader.read_string(head, "method", n.method) || !read_params(reader, head, n.params)) {
        return message();
    }
    return n;
}

} // namespace detail

inline value to_value(const request& r) {
    return value::map{{"kind", "request"}, {"id", r.id}, {"method", r.method}, {"params", r.params}};
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

inline message decode_message(const value& head, bool expecting_hello, std::error_code& ec,
                              std::string& what) {
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
