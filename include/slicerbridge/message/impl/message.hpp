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

namespace detail {

// Each writes what `to_value` of the same message builds, entry for entry ([CANON-5]).

} // namespace detail

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

} // namespace slicerbridge

#endif
