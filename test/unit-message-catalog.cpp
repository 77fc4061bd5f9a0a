#include <slicerbridge/message/catalog.hpp>

#include "support/printers.hpp"

#include <doctest/doctest.h>

namespace sb = slicerbridge;
using sb::error;
using sb::processor_description;
using sb::slot;
using sb::slot_type;
using sb::value;

namespace {

slot make_slot(std::string name, slot_type type) {
    slot s;
    s.name = std::move(name);
    s.type = type;
    return s;
}

processor_description denoise() {
    processor_description d;
    d.name = "filters.denoise-v2";
    d.version = "2.1";
    d.title = "Denoise";
    d.description = "Non-local means";
    d.category = "Filtering.Denoising";
    d.contributor = "Lab";
    slot input = make_slot("volume", slot_type::image);
    input.image_kind = sb::image_kind::scalar;
    input.label = "Input volume";
    d.inputs = {input, make_slot("mask", slot_type::image)};
    d.inputs[1].optional = true;
    d.outputs = {make_slot("denoised", slot_type::image), make_slot("stats", slot_type::table)};
    slot sigma = make_slot("sigma", slot_type::floating);
    sigma.minimum = 0.0;
    sigma.maximum = 10.0;
    sigma.step = 0.1;
    sigma.default_value = 1.5;
    sigma.group = "Advanced";
    slot method = make_slot("method", slot_type::enumeration);
    method.choices = {"fast", "accurate"};
    method.default_value = "fast";
    slot radius = make_slot("radius", slot_type::int_vector);
    radius.length = 3;
    radius.minimum = 1;
    radius.default_value = std::vector<std::int64_t>{1, 1, 1};
    slot keep = make_slot("keep", slot_type::boolean);
    keep.optional = true;
    d.parameters = {sigma, method, radius, keep, make_slot("iterations", slot_type::integer),
                    make_slot("labels", slot_type::string_vector),
                    make_slot("weights", slot_type::float_vector),
                    make_slot("note", slot_type::string)};
    return d;
}

std::string invalid(const processor_description& d) {
    std::string what;
    CHECK(d.validate(what) == error::invalid_message);
    return what;
}

} // namespace

TEST_CASE("slot types have the names of section 11.6 [CAT-4]") {
    const char* names[] = {"image", "mesh",   "transform", "points",     "table",
                           "bool",  "int",    "float",     "string",     "enum",
                           "int_vector", "float_vector", "string_vector"};
    for (const char* name : names) {
        const auto t = sb::slot_type_from_name(name);
        REQUIRE(t.has_value());
        CHECK(sb::slot_type_name(*t) == name);
    }
    CHECK(sb::is_data_slot_type(slot_type::table));
    CHECK_FALSE(sb::is_data_slot_type(slot_type::boolean));
    CHECK_FALSE(sb::slot_type_from_name("double").has_value());
}

TEST_CASE("descriptions round-trip with every slot field [CAT-1] [CAT-6]") {
    const processor_description d = denoise();
    REQUIRE_FALSE(d.validate());
    const value v = sb::to_value(d);
    for (const char* key :
         {"name", "version", "title", "description", "category", "inputs", "outputs", "parameters"}) {
        CHECK(v.find(key) != nullptr);
    }
    std::error_code ec;
    std::string what;
    const auto back = processor_description::from_value(v, ec, what);
    INFO(what);
    REQUIRE_FALSE(ec);
    CHECK(back == d);
    REQUIRE(back.find_parameter("sigma") != nullptr);
    CHECK(back.find_parameter("sigma")->default_value == sb::parameter_value(1.5));
    CHECK(back.find_input("mask")->optional);
    CHECK(back.find_output("stats")->type == slot_type::table);
    CHECK(back.find_input("nothing") == nullptr);
}

TEST_CASE("a minimal description reads absent strings as empty [CAT-6]") {
    std::error_code ec;
    const auto d = processor_description::from_value(
        value::map{{"name", "p"},
                   {"inputs", value::array{value::map{{"name", "a"}, {"type", "mesh"}}}},
                   {"outputs", value::array{}},
                   {"parameters", value::array{}}},
        ec);
    REQUIRE_FALSE(ec);
    CHECK(d.title.empty());
    CHECK(d.inputs[0].label.empty());
    std::string what;
    processor_description::from_value(value::map{{"name", "p"}, {"inputs", value::array{}}}, ec,
                                      what);
    CHECK(ec == error::invalid_message);
    CHECK(what == "description.outputs: missing");
}

TEST_CASE("slot names are unique across inputs, outputs and parameters [CAT-3]") {
    processor_description d = denoise();
    d.outputs[1].name = "sigma";
    CHECK(invalid(d) == "description.parameters.sigma: slot names must be unique [CAT-3]");
}

TEST_CASE("names follow their patterns") {
    processor_description d = denoise();
    d.name = "9lives";
    CHECK(invalid(d) == "description.name: must match [A-Za-z][A-Za-z0-9_.-]* [CAT-11]");
    d = denoise();
    d.parameters[0].name = "sig-ma";
    CHECK(invalid(d) == "description.parameters.sig-ma: name must match [A-Za-z][A-Za-z0-9_]* [CAT-11]");
}

TEST_CASE("data types for inputs and outputs, parameter types for parameters [CAT-5]") {
    processor_description d = denoise();
    d.inputs.push_back(make_slot("threshold", slot_type::floating));
    CHECK(invalid(d) == "description.inputs.threshold: inputs need a data type [CAT-5]");
    d = denoise();
    d.parameters.push_back(make_slot("reference", slot_type::image));
    CHECK(invalid(d) == "description.parameters.reference: parameters need a parameter type [CAT-5]");
}

TEST_CASE("outputs of parameter types are scalar outputs, without a default [CAT-7]") {
    processor_description d = denoise();
    slot volume = make_slot("volume_ml", slot_type::floating);
    volume.minimum = 0;
    d.outputs.push_back(volume);
    CHECK_FALSE(d.validate());
    CHECK(is_scalar_output(d.outputs.back()));
    CHECK_FALSE(is_scalar_output(d.outputs.front()));
    d.outputs.back().default_value = 1.0;
    CHECK(invalid(d) == "description.outputs.volume_ml: only parameters have a default [CAT-5]");
}

TEST_CASE("a 1.0 peer sees no scalar output and no idempotent key [CAT-7] [CAT-8] [VER-4]") {
    processor_description d = denoise();
    d.outputs.push_back(make_slot("volume_ml", slot_type::floating));
    d.idempotent = true;
    const value wire = to_value(d);
    CHECK(wire.find("idempotent") != nullptr);
    std::error_code ec;
    CHECK(processor_description::from_value(wire, ec) == d);
    CHECK_FALSE(ec);

    const processor_description older = description_for_version(d, {1, 0});
    CHECK_FALSE(older.idempotent);
    CHECK(older.outputs.size() == d.outputs.size() - 1);
    CHECK(older.find_output("volume_ml") == nullptr);
    CHECK(to_value(older).find("idempotent") == nullptr);
    CHECK(description_for_version(d, {1, 1}) == d);
}

TEST_CASE("constraints apply only where they mean something [CAT-5]") {
    processor_description d = denoise();
    d.parameters[7].minimum = 1;
    CHECK(invalid(d) ==
          "description.parameters.note: minimum, maximum and step apply to numeric parameters only "
          "[CAT-11]");
    d = denoise();
    d.parameters[1].choices.clear();
    CHECK(invalid(d) == "description.parameters.method: enum parameters need choices [CAT-11]");
    d = denoise();
    d.parameters[4].choices = {"a"};
    CHECK(invalid(d) == "description.parameters.iterations: choices apply to enum parameters only [CAT-11]");
    d = denoise();
    d.parameters[0].minimum = 20;
    CHECK(invalid(d) == "description.parameters.sigma: minimum is above maximum [CAT-11]");
    d = denoise();
    d.outputs[0].image_kind = sb::image_kind::label;
    CHECK_FALSE(d.validate());
    d.outputs[1].image_kind = sb::image_kind::label;
    CHECK(invalid(d) == "description.outputs.stats: image_kind applies to image slots only [CAT-9]");
    d = denoise();
    d.parameters[4].length = 2;
    CHECK(invalid(d) == "description.parameters.iterations: length applies to vector parameters only [CAT-11]");
}

TEST_CASE("integer slots send their bounds as integers, float slots as floats [CAT-10]") {
    processor_description d = denoise();
    d.parameters[4].minimum = -3;
    d.parameters[4].maximum = 9007199254740992.0; // 2^53
    d.parameters[4].step = 2;
    value v = sb::to_value(d);
    value& iterations = v["parameters"].as_array()[4];
    CHECK(iterations["minimum"].is_integer());
    CHECK(iterations["minimum"] == value(std::int64_t{-3}));
    CHECK(iterations["maximum"] == value(std::int64_t{9007199254740992}));
    CHECK(iterations["step"].is_integer());
    CHECK(v["parameters"].as_array()[2]["minimum"].is_integer()); // int_vector
    CHECK(v["parameters"].as_array()[0]["minimum"].is_float());   // float
    // A 1.0 peer's float bounds on an integer slot are still read.
    iterations["minimum"] = -3.0;
    std::error_code ec;
    std::string what;
    const processor_description read = processor_description::from_value(v, ec, what);
    INFO(what);
    REQUIRE_FALSE(ec);
    CHECK(read.parameters[4].minimum == -3.0);
    CHECK(read.parameters[4].maximum == 9007199254740992.0);
}

TEST_CASE("a default must satisfy its slot's type and constraints [CAT-5]") {
    processor_description d = denoise();
    d.parameters[0].default_value = 11.0;
    CHECK(invalid(d) == "description.parameters.sigma: default does not satisfy the slot [CAT-5]");
    d = denoise();
    d.parameters[1].default_value = "slow";
    CHECK(invalid(d) == "description.parameters.method: default does not satisfy the slot [CAT-5]");
    d = denoise();
    d.parameters[2].default_value = std::vector<std::int64_t>{1, 1};
    CHECK(invalid(d) == "description.parameters.radius: default does not satisfy the slot [CAT-5]");
    d = denoise();
    d.parameters[0].default_value = std::int64_t{2};
    CHECK_FALSE(d.validate());
    d = denoise();
    d.inputs[0].default_value = 1.0;
    CHECK(invalid(d) == "description.inputs.volume: only parameters have a default [CAT-5]");
}

TEST_CASE("check_parameter converts to the slot type and checks constraints [INV-2] "
          "[HEAD-4]") {
    const processor_description d = denoise();
    std::string what;
    sb::parameter_value p = std::int64_t{3};
    CHECK(sb::check_parameter(*d.find_parameter("sigma"), p, what));
    CHECK(p == sb::parameter_value(3.0));
    p = 2.0;
    CHECK_FALSE(sb::check_parameter(*d.find_parameter("iterations"), p, what));
    CHECK(what == "parameters.iterations: expected an integer");
    p = std::vector<std::int64_t>{};
    CHECK(sb::check_parameter(*d.find_parameter("labels"), p, what));
    CHECK(p == sb::parameter_value(std::vector<std::string>{}));
    p = std::vector<std::int64_t>{1, 2};
    CHECK(sb::check_parameter(*d.find_parameter("weights"), p, what));
    CHECK(p == sb::parameter_value(std::vector<double>{1.0, 2.0}));
    p = std::vector<std::int64_t>{1, 0, 1};
    CHECK_FALSE(sb::check_parameter(*d.find_parameter("radius"), p, what));
    CHECK(what == "parameters.radius: outside [minimum, maximum]");
    p = std::numeric_limits<double>::quiet_NaN();
    CHECK_FALSE(sb::check_parameter(*d.find_parameter("sigma"), p, what));
    p = true;
    CHECK_FALSE(sb::check_parameter(*d.find_parameter("note"), p, what));
    CHECK(what == "parameters.note: expected a string");
}

TEST_CASE("catalog and describe payloads [CAT-1] [CAT-2] [MSG-13]") {
    sb::catalog_result catalog;
    catalog.processors = {denoise()};
    std::error_code ec;
    std::string what;
    const auto back = sb::catalog_result::from_value(sb::to_value(catalog), ec, what);
    REQUIRE_FALSE(ec);
    REQUIRE(back.processors.size() == 1);
    CHECK(back.processors[0] == denoise());
    sb::catalog_result::from_value(value::map{}, ec, what);
    CHECK(what == "catalog.processors: missing");
    CHECK(sb::describe_params::from_value(value::map{{"processor", "x"}}, ec).processor == "x");
    sb::describe_params::from_value(value::map{{"processor", 3}}, ec, what);
    CHECK(ec == error::invalid_message);
    CHECK(what == "params.processor: expected a string");
}
