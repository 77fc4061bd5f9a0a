// libFuzzer target: the catalog (message/catalog.hpp): processor descriptions and catalog
// results, read from a response's result or from the head itself. An accepted description must
// be valid, encode and decode back unchanged, stay valid as a 1.0 peer sees it, and be usable by
// validate_invoke: params with nothing in them must validate, the defaults filling in, unless
// a required input or a required parameter without a default is missing.

#include "common.hpp"

#include <slicerbridge/message/catalog.hpp>
#include <slicerbridge/message/invoke.hpp>
#include <slicerbridge/version.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

namespace {

namespace sb = slicerbridge;

void check_description(const sb::processor_description& d) {
    FUZZ_CHECK(!d.validate());
    const std::optional<std::vector<std::byte>> bytes = fuzz::check_round_trip(sb::to_value(d));
    if (!bytes) {
        return;
    }
    std::error_code ec;
    std::string what;
    const sb::processor_description again =
        sb::processor_description::from_value(fuzz::decode_encoded(*bytes), ec, what);
    FUZZ_CHECK(!ec);
    FUZZ_CHECK(fuzz::encode(sb::to_value(again)) == bytes);

    const sb::processor_description old = sb::description_for_version(d, sb::protocol_min);
    FUZZ_CHECK(!old.validate());
    FUZZ_CHECK(!old.idempotent);
    for (const auto& s : old.outputs) {
        FUZZ_CHECK(sb::is_data_slot_type(s.type));
    }

    sb::invoke_params params; // every input absent, every parameter absent
    params.processor = d.name;
    std::string offending;
    sb::validate_invoke(d, params, ec, offending, what);
    // Refused only for a required input or a required parameter without a default: defaults
    // satisfy their slots ([CAT-5]).
    bool satisfiable = true;
    for (const auto& s : d.inputs) {
        satisfiable = satisfiable && s.optional;
    }
    for (const auto& s : d.parameters) {
        satisfiable = satisfiable && (s.optional || s.default_value);
    }
    FUZZ_CHECK(ec ? ec == sb::error::invalid_argument && !satisfiable : satisfiable);
}

void read_catalog(const sb::value& v) {
    std::error_code ec;
    std::string what;
    const sb::catalog_result catalog = sb::catalog_result::from_value(v, ec, what);
    if (!ec) {
        for (const auto& d : catalog.processors) {
            check_description(d);
        }
        fuzz::check_round_trip(sb::to_value(catalog));
    } else {
        FUZZ_CHECK(ec == sb::error::invalid_message);
    }
    const sb::processor_description d = sb::processor_description::from_value(v, ec, what);
    if (!ec) {
        check_description(d);
    } else {
        FUZZ_CHECK(ec == sb::error::invalid_message);
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::optional<sb::value> head = fuzz::decode_input(data, size);
    if (!head) {
        return 0;
    }
    const sb::value* result = head->find("result");
    read_catalog(result != nullptr ? *result : *head);
    return 0;
}
