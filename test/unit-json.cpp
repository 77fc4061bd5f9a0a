#include <slicerbridge/json.hpp>

#include "support/printers.hpp"

#include <doctest/doctest.h>

namespace sb = slicerbridge;
using sb::value;
using ordered = nlohmann::ordered_json;

TEST_CASE("values map to the golden-vector JSON convention") {
    const value v = value::map{
        {"z", 1},
        {"a", value::array{nullptr, true, -5, std::uint64_t{18446744073709551615ull}, 1.0, "t"}},
        {"bin", value::binary{std::byte{0x00}, std::byte{0xff}}},
        {"raw", sb::buffer::copy_of("ab", 2)},
        {"packed", sb::bulk{sb::buffer::copy_of("cd", 2), sb::codec::zstd}},
        {"nan", std::numeric_limits<double>::quiet_NaN()},
        {"inf", -std::numeric_limits<double>::infinity()},
    };
    CHECK(sb::to_json<ordered>(v).dump() ==
          R"({"z":1,"a":[null,true,-5,18446744073709551615,1.0,"t"],"bin":{"$bin":"00ff"},)"
          R"("raw":{"$bulk":{"hex":"6162"}},"packed":{"$bulk":{"hex":"6364","codec":"zstd"}},)"
          R"("nan":{"$float":"nan"},"inf":{"$float":"-inf"}})");
}

TEST_CASE("JSON reads back to the same value, integers and floats kept apart") {
    const auto j = ordered::parse(
        R"({"i":1,"f":1.0,"neg":-0.0,"big":18446744073709551615,"b":{"$bin":"0A0b"},)"
        R"("k":{"$bulk":{"hex":"ff","codec":"lz4"}},"n":{"$float":"inf"},"m":{"x":[1,{"y":null}]}})");
    const value v = sb::value_from_json(j);
    CHECK(v.find("i")->is_integer());
    CHECK(v.find("f")->is_float());
    CHECK(std::signbit(*v.find("neg")->get_if<double>()));
    CHECK(v.find("big")->as_uint64() == UINT64_MAX);
    CHECK(v.find("b")->as_binary() == value::binary{std::byte{0x0a}, std::byte{0x0b}});
    CHECK(v.find("k")->as_bulk().compression == sb::codec::lz4);
    CHECK(v.find("k")->as_bulk().data.size() == 1);
    CHECK(std::isinf(*v.find("n")->get_if<double>()));
    CHECK(v.as_map()[0].first == "i");
    CHECK(v.as_map()[7].first == "m");
    std::string expected = j.dump();
    expected.replace(expected.find("0A0b"), 4, "0a0b"); // hex is written in lowercase
    CHECK(sb::to_json<ordered>(v).dump() == expected);
}

TEST_CASE("nlohmann's conversion hooks use the convention") {
    const value v = value::map{{"x", value::binary{std::byte{1}}}};
    const nlohmann::json j = v;
    CHECK(j.dump() == R"({"x":{"$bin":"01"}})");
    CHECK(j.get<value>() == v);
}

TEST_CASE("malformed special objects are refused, naming the place") {
    std::error_code ec;
    std::string what;
    sb::value_from_json(ordered::parse(R"({"a":[{"$bin":"abc"}]})"), ec, what);
    CHECK(ec == sb::error::invalid_message);
    CHECK(what == "json.a[0]: expected a string of hex digits");
    sb::value_from_json(ordered::parse(R"({"$float":"NaN"})"), ec, what);
    CHECK(what == "json: $float must be \"nan\", \"inf\" or \"-inf\"");
    sb::value_from_json(ordered::parse(R"({"$bulk":{"hex":"00","codec":"gzip"}})"), ec, what);
    CHECK(what == "json: $bulk codec must be \"zstd\" or \"lz4\"");
    const value plain = sb::value_from_json(ordered::parse(R"({"$bin":"00","other":1})"));
    CHECK(plain.is_map());
}
