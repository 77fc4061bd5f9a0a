#include <slicerbridge/value.hpp>

#include <doctest/doctest.h>

#include <cstdint>
#include <limits>
#include <stdexcept>

using slicerbridge::value;
using slicerbridge::value_kind;

TEST_CASE("value holds each kind") {
    CHECK(value().kind() == value_kind::nil);
    CHECK(value(nullptr).is_nil());
    CHECK(value(true).kind() == value_kind::boolean);
    CHECK(value(-3).kind() == value_kind::int64);
    CHECK(value(3.5).kind() == value_kind::float64);
    CHECK(value(1.5f).as_double() == 1.5);
    CHECK(value("text").kind() == value_kind::string);
    CHECK(value(std::string_view("view")).as_string() == "view");
    CHECK(value(value::binary{std::byte{1}}).kind() == value_kind::binary);
    CHECK(value(value::array{1, "a"}).kind() == value_kind::array);
    CHECK(value(value::map{{"k", 1}}).kind() == value_kind::map);
    CHECK(value(slicerbridge::buffer::copy_of("ab", 2)).kind() == value_kind::bulk);
}

TEST_CASE("integers are normalised so that equal numbers compare equal") {
    CHECK(value(5u) == value(5));
    CHECK(value(std::uint64_t{5}).kind() == value_kind::int64);
    CHECK(value(std::uint64_t{INT64_MAX}).kind() == value_kind::int64);
    const value big(std::uint64_t{INT64_MAX} + 1);
    CHECK(big.kind() == value_kind::uint64);
    CHECK(big.is_integer());
    CHECK(big.as_uint64() == std::uint64_t{INT64_MAX} + 1);
    CHECK_FALSE(big.as_int64().has_value());
    CHECK(value(1) != value(1.0));
}

TEST_CASE("integer helpers check ranges, as_double accepts integers [HEAD-3] [HEAD-4]") {
    CHECK(value(-1).as_int64() == -1);
    CHECK_FALSE(value(-1).as_uint64().has_value());
    CHECK(value(7).as_uint64() == 7u);
    CHECK(value(INT64_MIN).as_int64() == INT64_MIN);
    CHECK_FALSE(value(2.0).as_int64().has_value());
    CHECK(value(2).as_double() == 2.0);
    CHECK(value(UINT64_MAX).as_double() == static_cast<double>(UINT64_MAX));
    CHECK_FALSE(value("2").as_double().has_value());
    CHECK(value(true).as_bool() == true);
    CHECK_FALSE(value(1).as_bool().has_value());
}

TEST_CASE("maps keep insertion order and find the first entry of a key") {
    value m = value::map{{"z", 1}, {"a", 2}, {"m", 3}};
    REQUIRE(m.size() == 3);
    CHECK(m.as_map()[0].first == "z");
    CHECK(m.as_map()[2].first == "m");
    REQUIRE(m.find("a") != nullptr);
    CHECK(*m.find("a") == value(2));
    CHECK(m.find("b") == nullptr);
    CHECK(value(1).find("a") == nullptr);
    m.insert_or_assign("a", "two");
    CHECK(m.as_map()[1].second == value("two"));
    m["new"] = value::array{};
    CHECK(m.as_map().back().first == "new");
    CHECK(m.size() == 4);
}

TEST_CASE("operator[] builds maps from nil and refuses other kinds") {
    value v;
    v["kind"] = "request";
    v["id"] = 7;
    CHECK(v == value(value::map{{"kind", "request"}, {"id", 7}}));
    value number = 3;
    CHECK_THROWS_AS(number["x"], std::logic_error);
}

TEST_CASE("get_if returns the alternative or nullptr") {
    value v = "text";
    REQUIRE(v.get_if<std::string>() != nullptr);
    CHECK(*v.get_if<std::string>() == "text");
    CHECK(v.get_if<std::int64_t>() == nullptr);
    CHECK_THROWS_AS(v.as_map(), std::bad_variant_access);
    v.get_if<std::string>()->append("!");
    CHECK(v.as_string() == "text!");
}

TEST_CASE("equality is deep, bulk compares bytes and ignores the codec it travelled with") {
    using slicerbridge::bulk;
    using slicerbridge::buffer;
    using slicerbridge::codec;
    const value a = value::map{{"x", value::array{1, 2.5, nullptr, value::map{{"y", "z"}}}}};
    value b = a;
    CHECK(a == b);
    b["x"].as_array()[1] = 2.0;
    CHECK(a != b);
    const value raw = bulk{buffer::copy_of("abc", 3), codec::none};
    const value compressed = bulk{buffer::copy_of("abc", 3), codec::zstd};
    CHECK(raw == compressed);
    CHECK(raw != value(bulk{buffer::copy_of("abd", 3), codec::none}));
    CHECK(value(std::numeric_limits<double>::quiet_NaN()) !=
          value(std::numeric_limits<double>::quiet_NaN()));
}
