#ifndef SLICERBRIDGE_MESSAGE_IMPL_HELLO_IPP
#define SLICERBRIDGE_MESSAGE_IMPL_HELLO_IPP

#include <slicerbridge/message/hello.hpp>

#include <algorithm>
#include <limits>

namespace slicerbridge {
namespace detail {

SLICERBRIDGE_DECL value version_to_value(protocol_version v) {
    return value::array{v.major, v.minor};
}

SLICERBRIDGE_DECL bool read_version(field_reader& reader, const value& map, std::string_view field,
                                    protocol_version& out) {
    const value* v = reader.get(map, field, true);
    if (v == nullptr) {
        return false;
    }
    const auto* pair = v->get_if<value::array>();
    if (pair == nullptr || pair->size() != 2) {
        return reader.fail(field, "expected [major, minor]");
    }
    std::uint64_t major = 0;
    std::uint64_t minor = 0;
    if (!reader.to_uint((*pair)[0], field, major, 0, 65535) ||
        !reader.to_uint((*pair)[1], field, minor, 0, 65535)) {
        return false;
    }
    out = {static_cast<std::uint16_t>(major), static_cast<std::uint16_t>(minor)};
    return true;
}

SLICERBRIDGE_DECL bool read_limits(field_reader& reader, const value& v, limits& out) {
    limits result = out;
    std::uint64_t max_in_flight = result.max_in_flight;
    std::uint64_t max_depth = result.max_depth;
    constexpr auto u32 = std::uint64_t{std::numeric_limits<std::uint32_t>::max()};
    if (!reader.expect_map(v) ||
        !reader.read_uint(v, "max_frame", result.max_frame, 1, UINT64_MAX, false) ||
        !reader.read_uint(v, "max_head", result.max_head, 1, u32, false) ||
        !reader.read_uint(v, "max_in_flight", max_in_flight, 1, UINT64_MAX, false) ||
        !reader.read_uint(v, "max_depth", max_depth, 1, UINT64_MAX, false) ||
        !reader.read_double(v, "cancel_grace", result.cancel_grace, false, true)) {
        return false;
    }
    result.max_in_flight = static_cast<std::uint32_t>(std::min(max_in_flight, u32));
    result.max_depth = static_cast<std::uint32_t>(std::min(max_depth, u32));
    out = result;
    return true;
}

SLICERBRIDGE_DECL bool read_hello_common(field_reader& reader, const value& v,
                                         std::vector<std::string>& capabilities, limits& l,
                                         std::optional<implementation_info>& implementation) {
    std::string kind;
    std::string protocol;
    if (!reader.expect_map(v) || !reader.read_string(v, "kind", kind) ||
        !reader.read_string(v, "protocol", protocol)) {
        return false;
    }
    if (kind != "hello") {
        return reader.fail("kind", "expected \"hello\"");
    }
    if (protocol != protocol_name) {
        return reader.fail("protocol", "expected \"slicerbridge\"");
    }
    if (!reader.read_strings(v, "capabilities", capabilities, false)) {
        return false;
    }
    if (const value* limits_value = reader.read_map(v, "limits", false)) {
        auto nested = reader.nested("limits");
        if (!read_limits(nested, *limits_value, l)) {
            return false;
        }
    } else if (!reader.ok()) {
        return false;
    }
    if (const value* info = reader.read_map(v, "implementation", false)) {
        auto nested = reader.nested("implementation");
        implementation_info parsed;
        if (!nested.read_string(*info, "name", parsed.name, false) ||
            !nested.read_string(*info, "version", parsed.version, false)) {
            return false;
        }
        implementation = std::move(parsed);
    }
    return reader.ok();
}

SLICERBRIDGE_DECL void
write_hello_common(value::map& entries, const std::vector<std::string>& capabilities,
                   const limits& l, const std::optional<implementation_info>& implementation) {
    entries.emplace_back("capabilities", value::array(capabilities.begin(), capabilities.end()));
    entries.emplace_back("limits", to_value(l));
    if (implementation) {
        entries.emplace_back("implementation", value::map{{"name", implementation->name},
                                                          {"version", implementation->version}});
    }
}

} // namespace detail

SLICERBRIDGE_DECL value to_value(const limits& l) {
    return value::map{{"max_frame", l.max_frame},
                      {"max_head", l.max_head},
                      {"max_in_flight", l.max_in_flight},
                      {"max_depth", l.max_depth},
                      {"cancel_grace", l.cancel_grace}};
}

SLICERBRIDGE_DECL limits limits_from_value(const value& v, std::error_code& ec, std::string& what) {
    ec.clear();
    detail::field_reader reader(ec, what, error::invalid_message, "limits");
    limits result;
    if (!detail::read_limits(reader, v, result)) {
        return limits();
    }
    return result;
}

SLICERBRIDGE_DECL value to_value(const client_hello& hello) {
    value::map entries{{"kind", "hello"},
                       {"protocol", std::string(protocol_name)},
                       {"min_version", detail::version_to_value(hello.min_version)},
                       {"max_version", detail::version_to_value(hello.max_version)}};
    detail::write_hello_common(entries, hello.capabilities, hello.limits, hello.implementation);
    if (hello.token) {
        entries.emplace_back("token", *hello.token);
    }
    return entries;
}

SLICERBRIDGE_DECL value to_value(const server_hello& hello) {
    value::map entries{{"kind", "hello"},
                       {"protocol", std::string(protocol_name)},
                       {"version", detail::version_to_value(hello.version)}};
    detail::write_hello_common(entries, hello.capabilities, hello.limits, hello.implementation);
    return entries;
}

SLICERBRIDGE_DECL client_hello client_hello_from_value(const value& v, std::error_code& ec,
                                                       std::string& what) {
    ec.clear();
    detail::field_reader reader(ec, what, error::invalid_message, "hello");
    client_hello result;
    if (!detail::read_hello_common(reader, v, result.capabilities, result.limits,
                                   result.implementation) ||
        !detail::read_version(reader, v, "min_version", result.min_version) ||
        !detail::read_version(reader, v, "max_version", result.max_version)) {
        return client_hello();
    }
    if (v.find("token") != nullptr) {
        std::string token;
        if (!reader.read_string(v, "token", token)) {
            return client_hello();
        }
        result.token = std::move(token);
    }
    return result;
}

SLICERBRIDGE_DECL server_hello server_hello_from_value(const value& v, std::error_code& ec,
                                                       std::string& what) {
    ec.clear();
    detail::field_reader reader(ec, what, error::invalid_message, "hello");
    server_hello result;
    if (!detail::read_hello_common(reader, v, result.capabilities, result.limits,
                                   result.implementation) ||
        !detail::read_version(reader, v, "version", result.version)) {
        return server_hello();
    }
    return result;
}

} // namespace slicerbridge

#endif
