// Codec adapter of the C++ SDK for the conformance suite's codec mode (conformance/README.md).
// Requests and replies on stdin/stdout: a 4-byte big-endian length, then UTF-8 JSON.
//   decode:  frame -> {"accepted", "decoded", "reencoded"} or {"accepted": false, "error"}
//   data:    the data value at data_path through the SDK's data types, typed values, RAS matrix
//   message: the SDK's message layer, as a server or client in a given handshake state

#include <slicerbridge.hpp>
#include <slicerbridge/json.hpp>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <iostream>
#include <optional>
#include <string>
#include <system_error>
#include <variant>
#include <vector>

namespace sb = slicerbridge;
using json = nlohmann::ordered_json;

namespace {

std::string name_of(const std::error_code& ec) {
    return std::string(sb::error_name(static_cast<sb::error>(ec.value())));
}

json rejected(const std::string& error) { return {{"accepted", false}, {"error", error}}; }

std::string to_hex(const std::vector<std::byte>& bytes) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string hex;
    hex.reserve(bytes.size() * 2);
    for (const std::byte b : bytes) {
        hex.push_back(digits[std::to_integer<unsigned>(b) >> 4]);
        hex.push_back(digits[std::to_integer<unsigned>(b) & 15]);
    }
    return hex;
}

bool from_hex(const std::string& hex, std::vector<std::byte>& out) {
    auto digit = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    if (hex.size() % 2) {
        return false;
    }
    out.clear();
    for (std::size_t i = 0; i < hex.size(); i += 2) {
        const int high = digit(hex[i]);
        const int low = digit(hex[i + 1]);
        if (high < 0 || low < 0) {
            return false;
        }
        out.push_back(static_cast<std::byte>(high * 16 + low));
    }
    return true;
}

sb::limits limits_of(const json& request) {
    sb::limits l;
    const json given = request.value("limits", json::object());
    l.max_frame = given.value("max_frame", l.max_frame);
    l.max_head = given.value("max_head", l.max_head);
    l.max_depth = given.value("max_depth", l.max_depth);
    return l;
}

/// Decodes the request's frame; on failure sets `error` to the spec's name ("truncated" for an
/// incomplete frame, [ERR-5]).
std::optional<sb::value> decode(const json& request, std::string& error) {
    std::vector<std::byte> bytes;
    if (!from_hex(request.at("hex").get<std::string>(), bytes)) {
        error = "invalid_message";
        return std::nullopt;
    }
    sb::codec_set codecs;
    for (const auto& name : request.value("codecs", json::array())) {
        if (auto c = sb::codec_from_name(name.get<std::string>())) {
            codecs.insert(*c);
        }
    }
    const sb::limits l = limits_of(request);
    sb::frame_reader reader(l);
    reader.consume(bytes.data(), bytes.size());
    if (reader.error()) {
        error = name_of(reader.error());
        return std::nullopt;
    }
    if (!reader.done()) {
        error = "truncated";
        return std::nullopt;
    }
    std::error_code ec;
    sb::value head = sb::decode_frame(reader.release(), l, codecs, ec);
    if (!ec && !head.is_map()) {
        // The SDK's codec decodes any MessagePack object; its message layer refuses heads that
        // are not maps ([HEAD-1]), which is where a receiver meets them.
        sb::decode_message(head, false, ec);
    }
    if (ec) {
        error = name_of(ec);
        return std::nullopt;
    }
    return head;
}

const sb::value* at_path(const sb::value& root, const json& path) {
    const sb::value* current = &root;
    for (const auto& step : path) {
        if (current == nullptr) {
            return nullptr;
        }
        if (step.is_string()) {
            current = current->find(step.get<std::string>());
        } else if (current->is_array() && step.get<std::size_t>() < current->size()) {
            current = &current->as_array()[step.get<std::size_t>()];
        } else {
            return nullptr;
        }
    }
    return current;
}

/// The typed array's scalars in the JSON convention, read in its byte order ([ARRAY-2]).
json scalars(const sb::typed_array& array) {
    json values = json::array();
    const std::size_t n = static_cast<std::size_t>(array.count()) * array.components;
    for (std::size_t i = 0; i < n; ++i) {
        switch (array.dtype) {
        case sb::dtype::int8: values.push_back(array.scalar<std::int8_t>(i)); break;
        case sb::dtype::uint8: values.push_back(array.scalar<std::uint8_t>(i)); break;
        case sb::dtype::int16: values.push_back(array.scalar<std::int16_t>(i)); break;
        case sb::dtype::uint16: values.push_back(array.scalar<std::uint16_t>(i)); break;
        case sb::dtype::int32: values.push_back(array.scalar<std::int32_t>(i)); break;
        case sb::dtype::uint32: values.push_back(array.scalar<std::uint32_t>(i)); break;
        case sb::dtype::int64: values.push_back(array.scalar<std::int64_t>(i)); break;
        case sb::dtype::uint64: values.push_back(array.scalar<std::uint64_t>(i)); break;
        case sb::dtype::float32:
            values.push_back(sb::to_json<json>(sb::value(static_cast<double>(array.scalar<float>(i)))));
            break;
        case sb::dtype::float64: values.push_back(sb::to_json<json>(sb::value(array.scalar<double>(i)))); break;
        }
    }
    return values;
}

json data(const json& request, const sb::value& head) {
    const sb::value* value = at_path(head, request.at("data_path"));
    if (value == nullptr) {
        return rejected("invalid_argument");
    }
    std::error_code ec;
    std::string what;
    const sb::data_value parsed = sb::data_from_value(*value, ec, what);
    if (ec) {
        return rejected(name_of(ec));
    }
    json reply = {{"accepted", true}, {"typed_values", json::array()}};
    for (const auto& path : request.value("typed_paths", json::array())) {
        const sb::value* array_value = at_path(head, path);
        const auto array = array_value ? sb::typed_array::from_value(*array_value, ec) : sb::typed_array{};
        if (array_value == nullptr || ec) {
            return rejected("invalid_argument");
        }
        reply["typed_values"].push_back({{"path", path}, {"values", scalars(array)}});
    }
    if (!request.value("geometry", json()).is_null()) {
        if (const auto* image = std::get_if<sb::image>(&parsed)) {
            reply["matrix_ras"] = image->in_space(sb::space::ras).ijk_to_space;
        } else if (const auto* transform = std::get_if<sb::transform>(&parsed)) {
            reply["matrix_ras"] = transform->in_space(sb::space::ras).matrix;
        }
    }
    return reply;
}

/// A description with one optional input per given input, of its type: data_invalid vectors
/// assume such a processor.
sb::processor_description accepting_description(const sb::invoke_params& params) {
    sb::processor_description description;
    description.name = params.processor;
    for (const auto& [name, input] : params.inputs) {
        sb::slot s;
        s.name = name;
        s.type = *sb::slot_type_from_name(sb::data_type_name(input));
        s.optional = true;
        description.inputs.push_back(s);
    }
    return description;
}

json message(const json& request, const sb::value& head) {
    const bool server = request.at("receiver") == "server";
    const bool awaiting_hello = request.at("state") == "awaiting_hello";
    std::error_code ec;
    std::string what;
    std::optional<std::uint64_t> response_id;
    const sb::message m = sb::decode_message(head, awaiting_hello, ec, what);
    if (ec) {
        if (ec == sb::error::invalid_message && server && !awaiting_hello) {
            response_id = sb::request_id_of(head);
        }
    } else if (const auto* hello = std::get_if<sb::client_hello>(&m)) {
        if (!sb::choose_version(hello->min_version, hello->max_version, sb::protocol_min, sb::protocol_max)) {
            ec = sb::error::unsupported_version;
        }
    } else if (server && std::holds_alternative<sb::response>(m)) {
        ec = sb::error::invalid_message; // [MSG-3]
    } else if (const auto* r = std::get_if<sb::request>(&m)) {
        if (r->method == sb::methods::describe) {
            sb::describe_params::from_value(r->params, ec);
        } else if (r->method == sb::methods::invoke) {
            std::string offending;
            sb::invoke_params params = sb::invoke_params::from_value(r->params, ec, what, offending);
            if (!ec) {
                sb::validate_invoke(accepting_description(params), params, ec, offending);
            }
        } else if (r->method != sb::methods::catalog && r->method != sb::methods::ping &&
                   r->method != sb::methods::goodbye) {
            ec = sb::error::method_not_found;
        }
        if (ec) {
            response_id = r->id;
        }
    }
    if (!ec) {
        return {{"accepted", true}};
    }
    json reply = rejected(name_of(ec));
    if (server) {
        reply["response_id"] = response_id ? json(*response_id) : json(nullptr);
    }
    return reply;
}

/// What the SDK's client keeps of a catalog response, and what it drops with the rule ([CAT-12]).
json catalog(const sb::value& head) {
    std::error_code ec;
    const sb::message m = sb::decode_message(head, false, ec);
    const auto* reply = std::get_if<sb::response>(&m);
    if (ec || reply == nullptr) {
        return rejected(ec ? name_of(ec) : "invalid_message");
    }
    const sb::catalog_result result = sb::catalog_result::from_value(reply->result, ec);
    if (ec) {
        return rejected(name_of(ec));
    }
    json kept = json::array();
    for (const auto& description : result.processors) {
        kept.push_back(description.name);
    }
    json dropped = json::array();
    for (const auto& d : result.dropped) {
        dropped.push_back({{"index", d.index},
                           {"name", d.name.empty() ? json(nullptr) : json(d.name)},
                           {"requirement", d.requirement}});
    }
    return {{"accepted", true}, {"kept", kept}, {"dropped", dropped}};
}

json handle(const json& request) {
    const std::string op = request.value("op", "");
    if (op != "decode" && op != "data" && op != "message" && op != "catalog") {
        return {{"unsupported", "op " + op}};
    }
    std::string error;
    const std::optional<sb::value> head = decode(request, error);
    if (!head) {
        return rejected(error);
    }
    if (op == "data") {
        return data(request, *head);
    }
    if (op == "message") {
        return message(request, *head);
    }
    if (op == "catalog") {
        return catalog(*head);
    }
    const auto bytes = sb::encode_frame(*head).to_bytes();
    return {{"accepted", true}, {"decoded", sb::to_json<json>(*head)},
            {"reencoded", to_hex(bytes)}};
}

bool read_exactly(std::string& out, std::size_t size) {
    out.resize(size);
    return static_cast<bool>(std::cin.read(out.data(), static_cast<std::streamsize>(size)));
}

} // namespace

int main() {
    std::ios::sync_with_stdio(false);
    std::string header;
    std::string body;
    while (read_exactly(header, 4)) {
        const auto* b = reinterpret_cast<const unsigned char*>(header.data());
        const std::size_t size = (std::size_t{b[0]} << 24) | (std::size_t{b[1]} << 16) | (std::size_t{b[2]} << 8) | b[3];
        if (!read_exactly(body, size)) {
            return 1;
        }
        json reply;
        try {
            reply = handle(json::parse(body));
        } catch (const std::exception& e) {
            // A request the adapter cannot read is the runner's fault, not the SDK's.
            reply = {{"unsupported", std::string("adapter: ") + e.what()}};
        }
        const std::string out = reply.dump(-1, ' ', false, json::error_handler_t::replace);
        const char length[4] = {static_cast<char>(out.size() >> 24), static_cast<char>(out.size() >> 16),
                                static_cast<char>(out.size() >> 8), static_cast<char>(out.size())};
        std::cout.write(length, 4).write(out.data(), static_cast<std::streamsize>(out.size())).flush();
    }
    return 0;
}
