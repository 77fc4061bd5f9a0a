#ifndef SLICERBRIDGE_JSON_HPP
#define SLICERBRIDGE_JSON_HPP

// value <-> JSON (nlohmann), in the convention of the golden vectors (spec/vectors):
// map -> object, array -> array, string, bool, nil -> null, integers -> JSON integers,
// floats -> JSON numbers with a fraction or exponent (non-finite ones as
// {"$float": "nan" | "inf" | "-inf"}), binary -> {"$bin": "<hex>"}, bulk ->
// {"$bulk": {"hex": "<hex of the raw bytes>", "codec": "zstd" | "lz4"}} ("codec" only when the
// segment travelled compressed). An object whose only key is "$float", "$bin" or "$bulk" is
// always read as that special value.

#include <slicerbridge/buffer.hpp>
#include <slicerbridge/compression.hpp>
#include <slicerbridge/detail/field_reader.hpp>
#include <slicerbridge/error.hpp>
#include <slicerbridge/value.hpp>

#include <nlohmann/json.hpp>

#include <cmath>
#include <limits>
#include <string>
#include <system_error>

namespace slicerbridge {

/// The JSON form of `v`. With nlohmann::ordered_json, maps keep their order.
template <class Json = nlohmann::json>
Json to_json(const value& v);

/// The value of a JSON document in the convention above; malformed special objects (bad hex,
/// unknown codec or float name) are `invalid_message`, with `what` naming the place.
template <class Json>
value value_from_json(const Json& j, std::error_code& ec, std::string& what);

template <class Json>
value value_from_json(const Json& j, std::error_code& ec) {
    std::string what;
    return value_from_json(j, ec, what);
}

/// As above; throws std::system_error.
template <class Json>
value value_from_json(const Json& j) {
    std::error_code ec;
    std::string what;
    value result = value_from_json(j, ec, what);
    if (ec) {
        throw std::system_error(ec, what);
    }
    return result;
}

/// nlohmann's conversion hooks: `nlohmann::json j = v;` and `j.get<value>()`.
template <class Json, std::enable_if_t<nlohmann::detail::is_basic_json<Json>::value, int> = 0>
void to_json(Json& j, const value& v) {
    j = to_json<Json>(v);
}

template <class Json, std::enable_if_t<nlohmann::detail::is_basic_json<Json>::value, int> = 0>
void from_json(const Json& j, value& v) {
    v = value_from_json(j);
}

namespace detail {

inline std::string hex_encode(const std::byte* data, std::size_t size) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(size * 2);
    for (std::size_t i = 0; i < size; ++i) {
        const auto b = std::to_integer<unsigned>(data[i]);
        out.push_back(digits[b >> 4]);
        out.push_back(digits[b & 15]);
    }
    return out;
}

inline bool hex_decode(const std::string& hex, std::vector<std::byte>& out) {
    if (hex.size() % 2 != 0) {
        return false;
    }
    const auto nibble = [](char c) -> int {
        if (c >= '0' && c <= '9') {
            return c - '0';
        }
        if (c >= 'a' && c <= 'f') {
            return c - 'a' + 10;
        }
        if (c >= 'A' && c <= 'F') {
            return c - 'A' + 10;
        }
        return -1;
    };
    out.resize(hex.size() / 2);
    for (std::size_t i = 0; i < out.size(); ++i) {
        const int high = nibble(hex[2 * i]);
        const int low = nibble(hex[2 * i + 1]);
        if (high < 0 || low < 0) {
            return false;
        }
        out[i] = static_cast<std::byte>(high << 4 | low);
    }
    return true;
}

template <class Json>
value from_json_at(const Json& j, field_reader& reader, const std::string& path);

template <class Json>
value special_from_json(const std::string& key, const Json& body, field_reader& reader,
                        const std::string& path) {
    if (key == "$float") {
        if (body == "nan") {
            return std::numeric_limits<double>::quiet_NaN();
        }
        if (body == "inf") {
            return std::numeric_limits<double>::infinity();
        }
        if (body == "-inf") {
            return -std::numeric_limits<double>::infinity();
        }
        reader.fail(path, "$float must be \"nan\", \"inf\" or \"-inf\"");
        return value();
    }
    const Json* hex = &body;
    codec compression = codec::none;
    if (key == "$bulk") {
        if (!body.is_object() || !body.contains("hex")) {
            reader.fail(path, "$bulk needs an object with \"hex\"");
            return value();
        }
        hex = &body["hex"];
        if (body.contains("codec")) {
            const auto& name = body["codec"];
            const auto parsed =
                name.is_string() ? codec_from_name(name.template get<std::string>()) : std::nullopt;
            if (!parsed) {
                reader.fail(path, "$bulk codec must be \"zstd\" or \"lz4\"");
                return value();
            }
            compression = *parsed;
        }
    }
    std::vector<std::byte> bytes;
    if (!hex->is_string() || !hex_decode(hex->template get<std::string>(), bytes)) {
        reader.fail(path, "expected a string of hex digits");
        return value();
    }
    if (key == "$bin") {
        return value(std::move(bytes));
    }
    return value(bulk{buffer::copy_of(bytes.data(), bytes.size()), compression});
}

template <class Json>
value from_json_at(const Json& j, field_reader& reader, const std::string& path) {
    switch (j.type()) {
    case nlohmann::json::value_t::null:
        return value();
    case nlohmann::json::value_t::boolean:
        return j.template get<bool>();
    case nlohmann::json::value_t::number_integer:
        return j.template get<std::int64_t>();
    case nlohmann::json::value_t::number_unsigned:
        return j.template get<std::uint64_t>();
    case nlohmann::json::value_t::number_float:
        return j.template get<double>();
    case nlohmann::json::value_t::string:
        return j.template get<std::string>();
    case nlohmann::json::value_t::binary: {
        const auto& bytes = j.get_binary();
        const auto* p = reinterpret_cast<const std::byte*>(bytes.data());
        return value::binary(p, p + bytes.size());
    }
    case nlohmann::json::value_t::array: {
        value::array elements;
        elements.reserve(j.size());
        std::size_t index = 0;
        for (const auto& element : j) {
            elements.push_back(
                from_json_at(element, reader, path + "[" + std::to_string(index++) + "]"));
            if (!reader.ok()) {
                return value();
            }
        }
        return elements;
    }
    case nlohmann::json::value_t::object: {
        if (j.size() == 1) {
            const auto& key = j.begin().key();
            if (key == "$float" || key == "$bin" || key == "$bulk") {
                return special_from_json(key, j.begin().value(), reader, path);
            }
        }
        value::map entries;
        entries.reserve(j.size());
        for (auto it = j.begin(); it != j.end(); ++it) {
            entries.emplace_back(
                it.key(),
                from_json_at(it.value(), reader, path.empty() ? it.key() : path + "." + it.key()));
            if (!reader.ok()) {
                return value();
            }
        }
        return entries;
    }
    case nlohmann::json::value_t::discarded:
        break;
    }
    reader.fail(path, "not a JSON value");
    return value();
}

} // namespace detail

template <class Json>
Json to_json(const value& v) {
    switch (v.kind()) {
    case value_kind::nil:
        return nullptr;
    case value_kind::boolean:
        return *v.get_if<bool>();
    case value_kind::int64:
        return *v.get_if<std::int64_t>();
    case value_kind::uint64:
        return *v.get_if<std::uint64_t>();
    case value_kind::float64: {
        const double number = *v.get_if<double>();
        if (std::isnan(number)) {
            return Json{{"$float", "nan"}};
        }
        if (std::isinf(number)) {
            return Json{{"$float", number > 0 ? "inf" : "-inf"}};
        }
        return number;
    }
    case value_kind::string:
        return v.as_string();
    case value_kind::binary:
        return Json{{"$bin", detail::hex_encode(v.as_binary().data(), v.as_binary().size())}};
    case value_kind::array: {
        Json elements = Json::array();
        for (const auto& element : v.as_array()) {
            elements.push_back(to_json<Json>(element));
        }
        return elements;
    }
    case value_kind::map: {
        Json entries = Json::object();
        for (const auto& [key, element] : v.as_map()) {
            entries[key] = to_json<Json>(element);
        }
        return entries;
    }
    case value_kind::bulk: {
        const auto& segment = v.as_bulk();
        Json body = Json::object();
        body["hex"] = detail::hex_encode(segment.data.data(), segment.data.size());
        if (segment.compression != codec::none) {
            body["codec"] = std::string(codec_name(segment.compression));
        }
        Json wrapper = Json::object();
        wrapper["$bulk"] = std::move(body);
        return wrapper;
    }
    }
    return nullptr;
}

template <class Json>
value value_from_json(const Json& j, std::error_code& ec, std::string& what) {
    ec.clear();
    detail::field_reader reader(ec, what, error::invalid_message, "json");
    value result = detail::from_json_at(j, reader, std::string());
    return ec ? value() : result;
}

} // namespace slicerbridge

#endif
