// The golden vectors of spec/vectors, run through the SDK's codec and message layer: every
// accept vector decodes to its `decoded` value (and re-encodes byte for byte when canonical),
// every reject vector is refused with exactly its error.

#include <slicerbridge.hpp>
#include <slicerbridge/json.hpp>

#include "support/bytes.hpp"
#include "support/printers.hpp"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

namespace sb = slicerbridge;
using json = nlohmann::ordered_json;

namespace {

struct vector_file {
    std::string name;
    json vectors;
};

std::vector<vector_file> load_vector_files() {
    std::vector<vector_file> files;
    const std::filesystem::path directory = SLICERBRIDGE_VECTORS_DIR;
    if (!std::filesystem::is_directory(directory)) {
        return files;
    }
    for (const auto& entry : std::filesystem::directory_iterator(directory)) {
        if (entry.path().extension() != ".json") {
            continue;
        }
        std::ifstream in(entry.path());
        json document = json::parse(in);
        files.push_back({entry.path().stem().string(), document.at("vectors")});
    }
    return files;
}

const std::vector<vector_file>& vector_files() {
    static const std::vector<vector_file> files = load_vector_files();
    return files;
}

sb::limits limits_of(const json& v) {
    sb::limits l;
    if (v.contains("limits")) {
        const auto& given = v["limits"];
        if (given.contains("max_frame")) {
            l.max_frame = given["max_frame"].get<std::uint64_t>();
        }
        if (given.contains("max_head")) {
            l.max_head = given["max_head"].get<std::uint64_t>();
        }
        if (given.contains("max_depth")) {
            l.max_depth = given["max_depth"].get<std::uint32_t>();
        }
    }
    return l;
}

sb::codec_set codecs_of(const json& v) {
    sb::codec_set codecs;
    if (v.contains("codecs")) {
        for (const auto& name : v["codecs"]) {
            codecs.insert(*sb::codec_from_name(name.get<std::string>()));
        }
    }
    return codecs;
}

/// Whether this build has the codecs (a vector for codecs it lacks is left out: the Windows cross
/// build has none).
bool built_with(sb::codec_set codecs) { return (codecs & sb::codec_set::all()) == codecs; }

/// What the codec makes of a frame: an error name ("truncated" for an incomplete frame) or the
/// decoded head.
struct codec_outcome {
    std::string error;
    sb::value head;
};

codec_outcome run_codec(const test_support::bytes& frame, const sb::limits& l,
                        sb::codec_set codecs) {
    sb::frame_reader reader(l);
    const std::size_t used = reader.consume(frame.data(), frame.size());
    if (reader.error()) {
        return {std::string(sb::error_name(static_cast<sb::error>(reader.error().value()))), {}};
    }
    if (!reader.done()) {
        // No byte at all is a clean end of stream for the reader, not mid-frame [FRAME-12]; a
        // vector asks for one frame, though, and that frame is missing: truncated [ERR-5].
        REQUIRE(reader.mid_frame() == !frame.empty());
        return {"truncated", {}};
    }
    REQUIRE(used == frame.size());
    std::error_code ec;
    sb::value head = sb::decode_frame(reader.release(), l, codecs, ec);
    if (ec) {
        return {std::string(sb::error_name(static_cast<sb::error>(ec.value()))), {}};
    }
    return {{}, head};
}

std::string error_name_of(const std::error_code& ec) {
    return std::string(sb::error_name(static_cast<sb::error>(ec.value())));
}

/// The value at `path` (keys and indexes) inside `root`.
const sb::value* at_path(const sb::value& root, const json& path) {
    const sb::value* current = &root;
    for (const auto& step : path) {
        if (current == nullptr) {
            return nullptr;
        }
        if (step.is_string()) {
            current = current->find(step.get<std::string>());
        } else {
            const auto index = step.get<std::size_t>();
            if (!current->is_array() || index >= current->size()) {
                return nullptr;
            }
            current = &current->as_array()[index];
        }
    }
    return current;
}

/// Checks `typed_values`: each typed array, read through the SDK, holds these numbers.
void check_typed_values(const json& v, const sb::value& head) {
    if (!v.contains("typed_values")) {
        return;
    }
    for (const auto& expected : v["typed_values"]) {
        const sb::value* array_value = at_path(head, expected["path"]);
        REQUIRE(array_value != nullptr);
        std::error_code ec;
        const auto array = sb::typed_array::from_value(*array_value, ec);
        REQUIRE_FALSE(ec);
        CHECK(sb::dtype_name(array.dtype) == expected["dtype"].get<std::string>());
        CHECK(array.components == expected["components"].get<std::uint32_t>());
        CHECK(sb::byte_order_name(array.byte_order) == expected["byte_order"].get<std::string>());
        const auto& values = expected["values"];
        REQUIRE(array.count() * array.components == values.size());
        const auto native = array.to_native_byte_order();
        for (std::size_t i = 0; i < values.size(); ++i) {
            const auto& want = values[i];
            switch (array.dtype) {
            case sb::dtype::int8:
                CHECK(array.scalar<std::int8_t>(i) == want.get<std::int64_t>());
                break;
            case sb::dtype::uint8:
                CHECK(array.scalar<std::uint8_t>(i) == want.get<std::uint64_t>());
                break;
            case sb::dtype::int16:
                CHECK(array.scalar<std::int16_t>(i) == want.get<std::int64_t>());
                CHECK(native.values<std::int16_t>()[i] == want.get<std::int64_t>());
                break;
            case sb::dtype::uint16:
                CHECK(array.scalar<std::uint16_t>(i) == want.get<std::uint64_t>());
                break;
            case sb::dtype::int32:
                CHECK(array.scalar<std::int32_t>(i) == want.get<std::int64_t>());
                break;
            case sb::dtype::uint32:
                CHECK(array.scalar<std::uint32_t>(i) == want.get<std::uint64_t>());
                break;
            case sb::dtype::int64:
                CHECK(array.scalar<std::int64_t>(i) == want.get<std::int64_t>());
                CHECK(native.values<std::int64_t>()[i] == want.get<std::int64_t>());
                break;
            case sb::dtype::uint64:
                CHECK(array.scalar<std::uint64_t>(i) == want.get<std::uint64_t>());
                break;
            case sb::dtype::float32: {
                const auto got = sb::value(array.scalar<float>(i));
                CHECK(sb::to_json<json>(got) == sb::to_json<json>(sb::value_from_json(want)));
                break;
            }
            case sb::dtype::float64: {
                const auto got = sb::value(array.scalar<double>(i));
                CHECK(sb::to_json<json>(got) == sb::to_json<json>(sb::value_from_json(want)));
                CHECK(sb::to_json<json>(sb::value(native.values<double>()[i])) ==
                      sb::to_json<json>(sb::value_from_json(want)));
                break;
            }
            }
        }
    }
}

sb::matrix4 matrix_from_json(const json& m) {
    sb::matrix4 result{};
    REQUIRE(m.size() == 16);
    for (std::size_t i = 0; i < 16; ++i) {
        result[i] = m[i].get<double>();
    }
    return result;
}

/// Checks what the SDK's data types make of `data_path` in an accept vector of data.json.
void check_data_value(const json& v, const sb::value& head) {
    const sb::value* data = at_path(head, v["data_path"]);
    REQUIRE(data != nullptr);
    std::error_code ec;
    std::string what;
    const sb::data_value parsed = sb::data_from_value(*data, ec, what);
    INFO(what);
    REQUIRE_FALSE(ec);
    // What the SDK writes back reads the same.
    const sb::data_value again = sb::data_from_value(sb::to_value(parsed), ec);
    REQUIRE_FALSE(ec);
    CHECK(again == parsed);
    if (v.contains("ijk_to_ras")) {
        const auto* img = std::get_if<sb::image>(&parsed);
        REQUIRE(img != nullptr);
        CHECK(img->in_space(sb::space::ras).ijk_to_space == matrix_from_json(v["ijk_to_ras"]));
    }
    if (v.contains("volumes_ijk_to_ras")) { // [SER-5]
        const auto* series = std::get_if<sb::image_series>(&parsed);
        REQUIRE(series != nullptr);
        const auto ras = series->in_space(sb::space::ras);
        REQUIRE(ras.volumes.size() == v["volumes_ijk_to_ras"].size());
        for (std::size_t i = 0; i < ras.volumes.size(); ++i) {
            CHECK(ras.volumes[i].ijk_to_space == matrix_from_json(v["volumes_ijk_to_ras"][i]));
        }
    }
    if (v.contains("matrix_ras")) {
        const auto* t = std::get_if<sb::transform>(&parsed);
        REQUIRE(t != nullptr);
        CHECK(t->in_space(sb::space::ras).matrix == matrix_from_json(v["matrix_ras"]));
    }
}

/// What a receiver answers to a decoded head: the error, and the id it answers under (nothing
/// for a connection-level error or for a client failing its own call).
struct receiver_outcome {
    std::error_code error;
    std::optional<std::uint64_t> response_id;
};

/// A description with one optional input named "input" of `type`, as data_invalid assumes.
sb::processor_description echo_description(const sb::invoke_params& params) {
    sb::processor_description d;
    d.name = params.processor;
    for (const auto& [name, input] : params.inputs) {
        sb::slot s;
        s.name = name;
        s.type = *sb::slot_type_from_name(sb::data_type_name(input));
        s.optional = true;
        d.inputs.push_back(s);
    }
    return d;
}

receiver_outcome receive(const sb::value& head, const std::string& role, bool awaiting_hello) {
    receiver_outcome outcome;
    std::error_code ec;
    std::string what;
    const sb::message m = sb::decode_message(head, awaiting_hello, ec, what);
    if (ec) {
        outcome.error = ec;
        if (ec == sb::error::invalid_message && !awaiting_hello && role == "server") {
            outcome.response_id = sb::request_id_of(head);
        }
        return outcome;
    }
    if (const auto* hello = std::get_if<sb::client_hello>(&m)) {
        if (!sb::choose_version(hello->min_version, hello->max_version, sb::protocol_min,
                                sb::protocol_max)) {
            outcome.error = sb::error::unsupported_version;
        }
        return outcome;
    }
    if (role == "server" && std::holds_alternative<sb::response>(m)) {
        outcome.error = sb::error::invalid_message; // [MSG-3]
        return outcome;
    }
    const auto* r = std::get_if<sb::request>(&m);
    if (r == nullptr) {
        return outcome;
    }
    if (r->method == sb::methods::describe) {
        sb::describe_params::from_value(r->params, ec);
    } else if (r->method == sb::methods::invoke) {
        std::string offending;
        sb::invoke_params params = sb::invoke_params::from_value(r->params, ec, what, offending);
        if (!ec) {
            sb::validate_invoke(echo_description(params), params, ec, offending);
        }
    } else if (r->method != sb::methods::catalog && r->method != sb::methods::ping &&
               r->method != sb::methods::goodbye) {
        ec = sb::error::method_not_found;
    }
    if (ec) {
        outcome.error = ec;
        outcome.response_id = r->id;
    }
    return outcome;
}

/// Reads what an accept message carries with the SDK's message types.
void check_accepted_message(const json& v, const sb::value& head, bool hello) {
    std::error_code ec;
    std::string what;
    const sb::message m = sb::decode_message(head, hello, ec, what);
    INFO(what);
    REQUIRE_FALSE(ec);
    if (hello) {
        if (v["sender"] == "client") {
            CHECK(std::holds_alternative<sb::client_hello>(m));
        } else {
            CHECK(std::holds_alternative<sb::server_hello>(m));
        }
        CHECK(sb::decode_message(sb::to_value(m), true, ec) == m);
        return;
    }
    CHECK(sb::decode_message(sb::to_value(m), false, ec) == m);
    if (const auto* r = std::get_if<sb::request>(&m)) {
        if (r->method == sb::methods::describe) {
            sb::describe_params::from_value(r->params, ec, what);
        } else if (r->method == sb::methods::invoke) {
            std::string offending;
            sb::invoke_params::from_value(r->params, ec, what, offending);
        }
        CHECK_FALSE(ec);
    } else if (const auto* n = std::get_if<sb::notification>(&m)) {
        if (n->method == sb::methods::progress) {
            sb::progress_params::from_value(n->params, ec, what);
        } else if (n->method == sb::methods::cancel) {
            sb::cancel_params::from_value(n->params, ec, what);
        }
        CHECK_FALSE(ec);
    } else if (const auto* response = std::get_if<sb::response>(&m);
               response != nullptr && v.contains("result_of") && !response->is_error()) {
        const auto method = v["result_of"].get<std::string>();
        if (method == sb::methods::catalog) {
            sb::catalog_result::from_value(response->result, ec, what);
        } else if (method == sb::methods::describe) {
            sb::processor_description::from_value(response->result, ec, what);
        } else if (method == sb::methods::invoke) {
            sb::invoke_result::from_value(response->result, ec, what);
        } else {
            CHECK(response->result == sb::value(sb::value::map{}));
        }
        CHECK_FALSE(ec);
    }
}

} // namespace

TEST_CASE("the golden vectors exist") {
    REQUIRE_MESSAGE(!vector_files().empty(), "no vectors under " SLICERBRIDGE_VECTORS_DIR);
    std::size_t count = 0;
    for (const auto& file : vector_files()) {
        count += file.vectors.size();
    }
    CHECK(count > 100);
}

TEST_CASE("accept vectors decode to their decoded value and canonical ones re-encode exactly "
          "[HEAD-3] [CANON-9] [FRAME-1] [BULK-3]") {
    std::size_t checked = 0;
    for (const auto& file : vector_files()) {
        if (file.name == "descriptors") {
            continue; // decoded with their descriptors by unit-memfd.cpp
        }
        for (const auto& v : file.vectors) {
            if (v["class"] != "accept") {
                continue;
            }
            if (!built_with(codecs_of(v))) {
                continue;
            }
            const auto id = v["id"].get<std::string>();
            CAPTURE(id);
            const auto frame = test_support::from_hex(v["hex"].get<std::string>());
            const codec_outcome decoded = run_codec(frame, limits_of(v), codecs_of(v));
            REQUIRE(decoded.error.empty());
            CHECK(sb::to_json<json>(decoded.head).dump() == v["decoded"].dump());
            const sb::value expected = sb::value_from_json(v["decoded"]);
            CHECK(sb::encode_frame(decoded.head).to_bytes() == sb::encode_frame(expected).to_bytes());
            const bool canonical = v["canonical"].get<bool>();
            CHECK((sb::encode_frame(expected).to_bytes() == frame) == canonical);
            const bool hello = file.name == "handshake";
            if (file.name != "handshake" || v["decoded"]["kind"] == "hello") {
                check_accepted_message(v, decoded.head, hello);
            }
            check_typed_values(v, decoded.head);
            if (v.contains("data_path")) {
                check_data_value(v, decoded.head);
            }
            ++checked;
        }
    }
    CHECK(checked > 50);
}

TEST_CASE("codec reject vectors are refused with exactly their error [FRAME-3] [FRAME-4] "
          "[FRAME-9] [HEAD-5] [HEAD-8] [BULK-1] [BULK-5] [ERR-5] [MSG-11]") {
    std::size_t checked = 0;
    for (const auto& file : vector_files()) {
        if (file.name == "messages_invalid" || file.name == "data_invalid" ||
            file.name == "descriptors") {
            continue;
        }
        for (const auto& v : file.vectors) {
            if (v["class"] != "reject") {
                continue;
            }
            if (!built_with(codecs_of(v))) {
                continue;
            }
            CAPTURE(v["id"].get<std::string>());
            const auto frame = test_support::from_hex(v["hex"].get<std::string>());
            codec_outcome outcome = run_codec(frame, limits_of(v), codecs_of(v));
            if (outcome.error.empty()) {
                std::error_code ec;
                sb::decode_message(outcome.head, false, ec);
                outcome.error = ec ? error_name_of(ec) : std::string();
            }
            CHECK(outcome.error == v["error"].get<std::string>());
            CHECK((outcome.error == "truncated") == v.value("truncated", false));
            ++checked;
        }
    }
    CHECK(checked > 30);
}

TEST_CASE("message and data reject vectors get their error under their response id [MSG-3] "
          "[MSG-10] [MSG-12] [MSG-13] [HELLO-2] [HELLO-3] [HELLO-5] [HELLO-7] [INV-2] "
          "[DATA-1] [DATA-3]") {
    std::size_t checked = 0;
    for (const auto& file : vector_files()) {
        if (file.name != "messages_invalid" && file.name != "data_invalid") {
            continue;
        }
        for (const auto& v : file.vectors) {
            CAPTURE(v["id"].get<std::string>());
            const auto frame = test_support::from_hex(v["hex"].get<std::string>());
            const codec_outcome decoded = run_codec(frame, limits_of(v), codecs_of(v));
            REQUIRE(decoded.error.empty());
            CHECK(sb::to_json<json>(decoded.head).dump() == v["decoded"].dump());
            const receiver_outcome outcome =
                receive(decoded.head, v["receiver"].get<std::string>(),
                        v["state"] == "awaiting_hello");
            CHECK(error_name_of(outcome.error) == v["error"].get<std::string>());
            if (v.contains("response_id")) {
                const auto& id = v["response_id"];
                if (id.is_null()) {
                    CHECK_FALSE(outcome.response_id.has_value());
                } else {
                    CHECK(outcome.response_id == id.get<std::uint64_t>());
                }
            }
            ++checked;
        }
    }
    CHECK(checked > 30);
}

TEST_CASE("catalog vectors: the client keeps the valid descriptions and drops each bad one with "
          "the rule it breaks [CAT-12] [CAT-3] [CAT-5] [CAT-6] [CAT-9] [CAT-10] [CAT-11]") {
    std::size_t checked = 0;
    std::size_t dropped = 0;
    for (const auto& file : vector_files()) {
        if (file.name != "catalog") {
            continue;
        }
        for (const auto& v : file.vectors) {
            CAPTURE(v["id"].get<std::string>());
            const auto frame = test_support::from_hex(v["hex"].get<std::string>());
            const codec_outcome decoded = run_codec(frame, limits_of(v), codecs_of(v));
            REQUIRE(decoded.error.empty());
            std::error_code ec;
            const sb::message m = sb::decode_message(decoded.head, false, ec);
            REQUIRE_FALSE(ec);
            const auto* reply = std::get_if<sb::response>(&m);
            REQUIRE(reply != nullptr);
            std::string what;
            const sb::catalog_result catalog = sb::catalog_result::from_value(reply->result, ec, what);
            INFO(what);
            REQUIRE_FALSE(ec);
            std::vector<std::string> kept;
            for (const auto& d : catalog.processors) {
                kept.push_back(d.name);
            }
            CHECK(json(kept) == v["kept"]);
            REQUIRE(catalog.dropped.size() == v["dropped"].size());
            for (std::size_t i = 0; i < catalog.dropped.size(); ++i) {
                const auto& got = catalog.dropped[i];
                const auto& want = v["dropped"][i];
                INFO(got.reason);
                CHECK(got.index == want["index"].get<std::size_t>());
                CHECK(got.name == (want["name"].is_null() ? "" : want["name"].get<std::string>()));
                CHECK(got.requirement == want["requirement"].get<std::string>());
                CHECK(got.reason.find(got.requirement) != std::string::npos);
                ++dropped;
            }
            ++checked;
        }
    }
    CHECK(checked > 30);
    CHECK(dropped > 25);
}
