#include <slicerbridge/message/invoke.hpp>

#include "support/printers.hpp"
#include "support/round_trip.hpp"

#include <doctest/doctest.h>

namespace sb = slicerbridge;
using sb::error;
using sb::invoke_params;
using sb::value;

namespace {

sb::processor_description threshold() {
    sb::processor_description d;
    d.name = "threshold";
    sb::slot volume;
    volume.name = "volume";
    volume.type = sb::slot_type::image;
    volume.image_kind = sb::image_kind::scalar;
    sb::slot points;
    points.name = "seeds";
    points.type = sb::slot_type::points;
    points.optional = true;
    d.inputs = {volume, points};
    sb::slot mask;
    mask.name = "mask";
    mask.type = sb::slot_type::image;
    sb::slot report;
    report.name = "report";
    report.type = sb::slot_type::table;
    report.optional = true;
    d.outputs = {mask, report};
    sb::slot level;
    level.name = "level";
    level.type = sb::slot_type::floating;
    level.minimum = -1000;
    level.maximum = 3000;
    sb::slot invert;
    invert.name = "invert";
    invert.type = sb::slot_type::boolean;
    invert.default_value = false;
    sb::slot label;
    label.name = "label";
    label.type = sb::slot_type::string;
    label.optional = true;
    d.parameters = {level, invert, label};
    return d;
}

sb::image volume() { return sb::image::adopt(std::vector<std::int16_t>(8, 100), {2, 2, 2}); }

value request_params() {
    return value::map{{"processor", "threshold"},
                      {"inputs", value::map{{"volume", sb::to_value(volume())}}},
                      {"parameters", value::map{{"level", 150}}},
                      {"deadline", 30}};
}

struct parsed_invoke {
    invoke_params params;
    std::error_code ec;
    std::string what;
    std::string name;
};

parsed_invoke parse_invoke(const value& v) {
    parsed_invoke p;
    p.params = invoke_params::from_value(v, p.ec, p.what, p.name);
    return p;
}

parsed_invoke validated(value v) {
    parsed_invoke p = parse_invoke(v);
    REQUIRE_FALSE(p.ec);
    sb::validate_invoke(threshold(), p.params, p.ec, p.name, p.what);
    return p;
}

} // namespace

TEST_CASE("invoke params round-trip with data inputs, parameters and deadline") {
    const parsed_invoke p = parse_invoke(test_support::through_frame(request_params()));
    REQUIRE_FALSE(p.ec);
    CHECK(p.params.processor == "threshold");
    CHECK(p.params.deadline == 30.0);
    REQUIRE(p.params.input_as<sb::image>("volume") != nullptr);
    CHECK(*p.params.input_as<sb::image>("volume") == volume());
    CHECK(p.params.input_as<sb::mesh>("volume") == nullptr);
    CHECK(p.params.parameter_as<std::int64_t>("level") != nullptr);
    const parsed_invoke again = parse_invoke(sb::to_value(p.params));
    REQUIRE_FALSE(again.ec);
    CHECK(sb::to_value(again.params) == sb::to_value(p.params));
}

TEST_CASE("absent inputs and parameters read as empty, processor is required [MSG-13]") {
    const parsed_invoke minimal = parse_invoke(value::map{{"processor", "threshold"}});
    REQUIRE_FALSE(minimal.ec);
    CHECK(minimal.params.inputs.empty());
    CHECK_FALSE(minimal.params.deadline.has_value());
    const parsed_invoke no_processor = parse_invoke(value::map{{"inputs", value::map{}}});
    CHECK(no_processor.ec == error::invalid_message);
    CHECK(no_processor.what == "params.processor: missing");
    CHECK(parse_invoke(value::map{{"processor", "t"}, {"inputs", value::array{}}}).ec ==
          error::invalid_message);
    CHECK(parse_invoke(value::map{{"processor", "t"}, {"parameters", "a=1"}}).ec == error::invalid_message);
}

TEST_CASE("a deadline is a finite number >= 0 [INV-7]") {
    for (const value& deadline : {value(-1.0), value(std::numeric_limits<double>::quiet_NaN()),
                                  value(std::numeric_limits<double>::infinity()), value("10s")}) {
        const parsed_invoke p = parse_invoke(value::map{{"processor", "t"}, {"deadline", deadline}});
        CHECK(p.ec == error::invalid_message);
    }
    CHECK(parse_invoke(value::map{{"processor", "t"}, {"deadline", 0}}).params.deadline == 0.0);
}

TEST_CASE("a malformed input or parameter is invalid_argument naming it [INV-2] [DATA-1] "
          "[ERR-4]") {
    value v = request_params();
    v["inputs"]["volume"]["dims"] = value::array{2, 2, 3};
    parsed_invoke p = parse_invoke(v);
    CHECK(p.ec == error::invalid_argument);
    CHECK(p.name == "volume");
    CHECK(p.what == "params.inputs.volume: image.data: length 16 does not match dims (expected 24 bytes)");
    v = request_params();
    v["inputs"]["extra"] = value::map{{"type", "hologram"}};
    p = parse_invoke(v);
    CHECK(p.ec == error::invalid_argument);
    CHECK(p.name == "extra");
    v = request_params();
    v["parameters"]["level"] = value::map{};
    p = parse_invoke(v);
    CHECK(p.ec == error::invalid_argument);
    CHECK(p.name == "level");
}

TEST_CASE("validate_invoke fills defaults and converts parameters [INV-3]") {
    const parsed_invoke p = validated(request_params());
    REQUIRE_FALSE(p.ec);
    REQUIRE(p.params.parameter_as<double>("level") != nullptr);
    CHECK(*p.params.parameter_as<double>("level") == 150.0);
    REQUIRE(p.params.parameter_as<bool>("invert") != nullptr);
    CHECK(*p.params.parameter_as<bool>("invert") == false);
    CHECK(p.params.parameter("label") == nullptr);
}

TEST_CASE("validate_invoke refuses missing, unknown, mistyped and out-of-range arguments "
          "[INV-2] [CAT-9]") {
    struct reject_case {
        const char* what;
        void (*edit)(value&);
        const char* name;
    };
    const reject_case cases[] = {
        {"missing input", [](value& v) { v["inputs"] = value::map{}; }, "volume"},
        {"unknown input",
         [](value& v) { v["inputs"]["atlas"] = sb::to_value(volume()); }, "atlas"},
        {"input of the wrong type",
         [](value& v) { v["inputs"]["volume"] = sb::to_value(sb::transform{}); }, "volume"},
        {"image of the wrong kind",
         [](value& v) {
             sb::image labels = sb::image::adopt(std::vector<std::uint8_t>(8), {2, 2, 2},
                                                 sb::identity_matrix, sb::space::ras,
                                                 sb::image_kind::label);
             v["inputs"]["volume"] = sb::to_value(labels);
         },
         "volume"},
        {"missing parameter", [](value& v) { v["parameters"] = value::map{}; }, "level"},
        {"unknown parameter", [](value& v) { v["parameters"]["gamma"] = 1; }, "gamma"},
        {"parameter of the wrong type", [](value& v) { v["parameters"]["invert"] = 1; }, "invert"},
        {"parameter over its maximum", [](value& v) { v["parameters"]["level"] = 3000.5; },
         "level"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.what);
        value v = request_params();
        c.edit(v);
        const parsed_invoke p = validated(v);
        CHECK(p.ec == error::invalid_argument);
        CHECK(p.name == c.name);
        CHECK(p.what.find(c.name) != std::string::npos);
    }
}

TEST_CASE("validate_invoke checks the processor name [INV-1]") {
    value v = request_params();
    v["processor"] = "other";
    CHECK(validated(v).ec == error::unknown_processor);
}

TEST_CASE("results hold every required output of its declared type [INV-4]") {
    sb::invoke_result result;
    result.outputs.emplace_back("mask", volume());
    std::error_code ec;
    std::string name;
    sb::validate_invoke_result(threshold(), result, ec, name);
    CHECK_FALSE(ec);
    std::string what;
    const auto back = sb::invoke_result::from_value(
        test_support::through_frame(sb::to_value(result)), ec, what);
    REQUIRE_FALSE(ec);
    REQUIRE(back.output_as<sb::image>("mask") != nullptr);
    CHECK(*back.output_as<sb::image>("mask") == volume());

    sb::validate_invoke_result(threshold(), sb::invoke_result{}, ec, name);
    CHECK(ec == error::internal_error);
    CHECK(name == "mask");
    result.outputs.emplace_back("report", volume());
    sb::validate_invoke_result(threshold(), result, ec, name);
    CHECK(ec == error::internal_error);
    CHECK(name == "report");
}

TEST_CASE("scalar outputs travel beside data outputs and are checked like parameters "
          "[CAT-7] [INV-4]") {
    sb::processor_description d = threshold();
    sb::slot count;
    count.name = "count";
    count.type = sb::slot_type::integer;
    count.minimum = 0;
    d.outputs.push_back(count);
    sb::invoke_result result;
    result.outputs.emplace_back("mask", volume());
    result.scalars.emplace_back("count", std::int64_t{42});
    std::error_code ec;
    std::string name;
    sb::validate_invoke_result(d, result, ec, name);
    CHECK_FALSE(ec);
    std::string what;
    const auto back = sb::invoke_result::from_value(
        test_support::through_frame(sb::to_value(result)), ec, what);
    REQUIRE_FALSE(ec);
    REQUIRE(back.scalar("count") != nullptr);
    CHECK(*back.scalar("count") == sb::parameter_value(std::int64_t{42}));
    CHECK(back.output_as<sb::image>("mask") != nullptr);
    CHECK(back.scalars.size() == 1);

    result.scalars[0].second = std::int64_t{-1}; // below its minimum
    sb::validate_invoke_result(d, result, ec, name);
    CHECK(ec == error::internal_error);
    CHECK(name == "count");
    result.scalars[0].second = std::string("many"); // not an integer
    sb::validate_invoke_result(d, result, ec, name);
    CHECK(name == "count");
    result.scalars[0] = {"mask", std::int64_t{1}}; // a value for a data output
    sb::validate_invoke_result(d, result, ec, name);
    CHECK(ec == error::internal_error);
    CHECK(name == "mask");
}

TEST_CASE("a client reads malformed outputs as invalid_message [ERR-4] [MSG-15]") {
    std::error_code ec;
    std::string what;
    sb::invoke_result::from_value(
        value::map{{"outputs", value::map{{"mask", value::map{{"type", "image"}}}}}}, ec, what);
    CHECK(ec == error::invalid_message);
    CHECK(what == "result.outputs.mask: image.dims: missing");
    sb::invoke_result::from_value(value::map{}, ec, what);
    CHECK(what == "result.outputs: missing");
}

TEST_CASE("malformed invoke params name the field at fault, a repeated key counts once, first "
          "[MSG-13] [INV-7]") {
    const parsed_invoke not_map = parse_invoke(value::array{});
    CHECK(not_map.what == "params: expected a map");
    const parsed_invoke bad_processor = parse_invoke(value::map{{"processor", 1}});
    CHECK(bad_processor.what == "params.processor: expected a string");
    const parsed_invoke bad_deadline =
        parse_invoke(value::map{{"processor", "t"}, {"deadline", -1.0}});
    CHECK(bad_deadline.what == "params.deadline: expected a finite number >= 0");
    // Structure before contents: a bad parameters map is reported over a bad input.
    const parsed_invoke both = parse_invoke(value::map{
        {"processor", "t"},
        {"inputs", value::map{{"volume", value::map{{"type", "hologram"}}}}},
        {"parameters", 7}});
    CHECK(both.ec == error::invalid_message);
    CHECK(both.what == "params.parameters: expected a map");
    CHECK(both.name.empty());
    const parsed_invoke bad_parameter = parse_invoke(
        value::map{{"processor", "t"}, {"parameters", value::map{{"level", value::map{}}}}});
    CHECK(bad_parameter.ec == error::invalid_argument);
    CHECK(bad_parameter.what == "params.parameters.level: not a parameter value");

    const parsed_invoke repeated = parse_invoke(value::map{{"processor", "first"},
                                                           {"deadline", 2},
                                                           {"processor", 2},
                                                           {"deadline", -1.0}});
    REQUIRE_FALSE(repeated.ec);
    CHECK(repeated.params.processor == "first");
    CHECK(repeated.params.deadline == 2.0);
}
