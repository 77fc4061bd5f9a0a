// libFuzzer target: validate_invoke and validate_invoke_result (message/invoke.hpp), on the
// invoke params the input holds (a request's params, or the head itself) against a set of
// descriptions: those of the golden vectors' catalog and describe responses, and an echo
// processor for each data type. Validated params must satisfy what they were checked for, and
// validating them again must change nothing.

#include "common.hpp"

#include <slicerbridge/message/catalog.hpp>
#include <slicerbridge/message/invoke.hpp>

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

namespace {

namespace sb = slicerbridge;

std::vector<sb::processor_description> descriptions;

void add_description(const sb::value& v) {
    std::error_code ec;
    sb::processor_description d = sb::processor_description::from_value(v, ec);
    if (!ec) {
        descriptions.push_back(std::move(d));
    }
}

/// The descriptions in the vectors' catalog and describe responses.
void load_vector_descriptions() {
    const std::filesystem::path directory = SLICERBRIDGE_VECTORS_DIR;
    std::error_code fs_ec;
    for (const auto& entry : std::filesystem::directory_iterator(directory, fs_ec)) {
        if (entry.path().extension() != ".json") {
            continue;
        }
        std::ifstream in(entry.path());
        const nlohmann::json document = nlohmann::json::parse(in, nullptr, false);
        if (!document.is_object() || !document.contains("vectors")) {
            continue;
        }
        for (const auto& vector : document["vectors"]) {
            if (!vector.contains("hex") || vector.value("class", "") != "accept") {
                continue;
            }
            const std::string hex = vector["hex"].get<std::string>();
            std::vector<std::uint8_t> bytes;
            for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
                bytes.push_back(
                    static_cast<std::uint8_t>(std::stoul(hex.substr(i, 2), nullptr, 16)));
            }
            const std::optional<sb::value> head = fuzz::decode_input(bytes.data(), bytes.size());
            const sb::value* result = head ? head->find("result") : nullptr;
            if (result == nullptr) {
                continue;
            }
            std::error_code ec;
            const sb::catalog_result catalog = sb::catalog_result::from_value(*result, ec);
            if (!ec) {
                descriptions.insert(descriptions.end(), catalog.processors.begin(),
                                    catalog.processors.end());
            } else {
                add_description(*result);
            }
        }
    }
}

/// "vectors.echo": one input and one output of each data type (and image kind) in turn.
void add_echo_descriptions() {
    const sb::slot_type types[] = {sb::slot_type::image, sb::slot_type::mesh,
                                   sb::slot_type::transform, sb::slot_type::points,
                                   sb::slot_type::table};
    for (const sb::slot_type type : types) {
        for (int kind = -1; kind < (type == sb::slot_type::image ? 3 : 0); ++kind) {
            sb::processor_description d;
            d.name = "vectors.echo";
            sb::slot input;
            input.name = "input";
            input.type = type;
            if (kind >= 0) {
                input.image_kind = static_cast<sb::image_kind>(kind);
            }
            sb::slot output = input;
            output.name = "output";
            d.inputs.push_back(input);
            d.outputs.push_back(output);
            FUZZ_CHECK(!d.validate());
            descriptions.push_back(std::move(d));
        }
    }
}

void check_valid(const sb::processor_description& d, const sb::invoke_params& p) {
    for (const auto& [name, value] : p.inputs) {
        FUZZ_CHECK(d.find_input(name) != nullptr);
    }
    for (const auto& s : d.inputs) {
        FUZZ_CHECK(s.optional || p.input(s.name) != nullptr);
    }
    for (const auto& [name, value] : p.parameters) {
        const sb::slot* s = d.find_parameter(name);
        FUZZ_CHECK(s != nullptr);
        // Already of its slot's type and within its constraints: checking changes nothing.
        sb::parameter_value copy = value;
        std::string what;
        FUZZ_CHECK(sb::check_parameter(*s, copy, what));
        FUZZ_CHECK(fuzz::encode(sb::to_value(copy)) == fuzz::encode(sb::to_value(value)));
    }
    for (const auto& s : d.parameters) { // [INV-3]: absent parameters took their default
        FUZZ_CHECK(p.parameter(s.name) != nullptr || (s.optional && !s.default_value));
    }
}

void validate_against(const sb::processor_description& d, const sb::invoke_params& original) {
    sb::invoke_params p = original;
    p.processor = d.name;
    std::error_code ec;
    std::string offending;
    std::string what;
    sb::validate_invoke(d, p, ec, offending, what);
    if (ec) {
        FUZZ_CHECK(ec == sb::error::invalid_argument);
        FUZZ_CHECK(!what.empty());
    } else {
        check_valid(d, p);
        sb::invoke_params again = p;
        sb::validate_invoke(d, again, ec, offending, what);
        FUZZ_CHECK(!ec);
        FUZZ_CHECK(fuzz::encode(sb::to_value(again)) == fuzz::encode(sb::to_value(p)));
    }
    // The same values as a processor's result.
    sb::invoke_result result;
    result.outputs = p.inputs;
    result.scalars = p.parameters;
    sb::validate_invoke_result(d, result, ec, offending);
    FUZZ_CHECK(!ec || ec == sb::error::internal_error);
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    load_vector_descriptions();
    add_echo_descriptions();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::optional<sb::value> head = fuzz::decode_input(data, size);
    if (!head) {
        return 0;
    }
    const sb::value* params = head->find("params");
    std::error_code ec;
    std::string what;
    std::string offending;
    const sb::invoke_params p =
        sb::invoke_params::from_value(params != nullptr ? *params : *head, ec, what, offending);
    if (ec) {
        return 0;
    }
    for (const auto& d : descriptions) {
        validate_against(d, p);
    }
    return 0;
}
