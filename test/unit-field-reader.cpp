#include <slicerbridge/detail/field_reader.hpp>

#include "support/printers.hpp"

#include <doctest/doctest.h>

#include <cstring>
#include <string>
#include <string_view>
#include <utility>

namespace sb = slicerbridge;
using sb::value;

namespace field_reader_test {

/// A reader's first failure, as its message and code.
struct failure {
    std::error_code ec;
    std::string what;
};

inline constexpr std::string_view keys[] = {"kind", "id", "method", "params", "receiving"};

} // namespace field_reader_test

TEST_CASE("field_reader names the failing field by its dotted path, spelled out only then") {
    field_reader_test::failure f;
    sb::detail::field_reader root(f.ec, f.what, sb::error::invalid_message, "message");
    CHECK(root.path() == "message");
    auto level1 = root.nested("response");
    CHECK(level1.path() == "message.response");
    {
        // A field that is not a literal is copied: the nested reader outlives the string.
        auto level2 = level1.nested(std::string("timings"));
        auto level3 = level2.nested(std::string_view("queued"));
        CHECK(level3.path() == "message.response.timings.queued");
        CHECK(f.what.empty());
        CHECK(level3.ok());
        CHECK_FALSE(level3.fail("x", "expected a number"));
        CHECK(f.ec == sb::error::invalid_message);
        CHECK(f.what == "message.response.timings.queued.x: expected a number");
    }
    // The first failure stays, whichever reader reports the next.
    CHECK_FALSE(root.fail("kind", "missing"));
    CHECK(f.what == "message.response.timings.queued.x: expected a number");
    CHECK_FALSE(root.ok());
}

TEST_CASE("field_reader paths: an empty field names the reader itself, an empty root only the "
          "field") {
    field_reader_test::failure f;
    sb::detail::field_reader named(f.ec, f.what, sb::error::invalid_argument, std::string("data"));
    auto inner = named.nested("points");
    inner.fail({}, "expected a map");
    CHECK(f.ec == sb::error::invalid_argument);
    CHECK(f.what == "data.points: expected a map");

    field_reader_test::failure g;
    sb::detail::field_reader unnamed(g.ec, g.what, sb::error::invalid_message, std::string());
    CHECK(unnamed.path().empty());
    CHECK(unnamed.nested("a").path() == "a");
    unnamed.fail("code", "missing");
    CHECK(g.what == "code: missing");
}

TEST_CASE("field_reader reads fields found beforehand as it reads them by name") {
    field_reader_test::failure f;
    sb::detail::field_reader reader(f.ec, f.what, sb::error::invalid_message, "params");
    const value text("p");
    const value number(3);
    const value map = value::map{};
    CHECK(reader.string_field(&text, "processor", true) == text.get_if<std::string>());
    CHECK(reader.string_field(nullptr, "processor", false) == nullptr);
    CHECK(reader.map_field(&map, "inputs", true) == &map);
    CHECK(reader.map_field(nullptr, "inputs", false) == nullptr);
    CHECK(reader.require(&number, "id") == &number);
    CHECK(reader.ok());

    CHECK(reader.string_field(&number, "processor", true) == nullptr);
    CHECK(f.what == "params.processor: expected a string");

    field_reader_test::failure g;
    sb::detail::field_reader other(g.ec, g.what, sb::error::invalid_message, "params");
    CHECK(other.map_field(&text, "inputs", false) == nullptr);
    CHECK(g.what == "params.inputs: expected a map");

    field_reader_test::failure h;
    sb::detail::field_reader third(h.ec, h.what, sb::error::invalid_message, "params");
    CHECK(third.require(nullptr, "id") == nullptr);
    CHECK(h.what == "params.id: missing");

    field_reader_test::failure i;
    sb::detail::field_reader fourth(i.ec, i.what, sb::error::invalid_message, "params");
    CHECK(fourth.string_field(nullptr, "processor", true) == nullptr);
    CHECK(i.what == "params.processor: missing");
    field_reader_test::failure j;
    sb::detail::field_reader fifth(j.ec, j.what, sb::error::invalid_message, "params");
    CHECK(fifth.map_field(nullptr, "outputs", true) == nullptr);
    CHECK(j.what == "params.outputs: missing");
}

TEST_CASE("find_fields finds each key's first entry in one pass, as value::find does") {
    using field_reader_test::keys;
    value head =
        value::map{{"id", 1},      {"extra", 2},    {"kind", "request"}, {"id", "second"},
                   {"methods", 3}, {"receivin", 4}, {"receiving", 5.5},  {"receivingg", 6}};
    const value* found[5];
    sb::detail::find_fields<5, keys>(static_cast<const value&>(head), found);
    for (std::size_t i = 0; i < 5; ++i) {
        CAPTURE(keys[i]);
        CHECK(found[i] == head.find(keys[i]));
    }
    CHECK(*found[1] == value(1));
    CHECK(found[2] == nullptr);
    CHECK(found[3] == nullptr);

    value* mutable_found[5];
    sb::detail::find_fields<5, keys>(head, mutable_found);
    CHECK(mutable_found[4] == head.find("receiving"));

    const value not_a_map = value::array{value::map{{"kind", 1}}};
    sb::detail::find_fields<5, keys>(not_a_map, found);
    for (const value* f : found) {
        CHECK(f == nullptr);
    }
}

namespace field_reader_test {

/// Checks same_key_bytes<Size> against every single differing byte, and bytes past the end.
template <std::size_t Size>
void check_same_key_bytes() {
    char a[40];
    char b[40];
    for (std::size_t i = 0; i < sizeof a; ++i) {
        a[i] = static_cast<char>('a' + i % 26);
    }
    std::memcpy(b, a, sizeof a);
    CAPTURE(Size);
    CHECK(sb::detail::same_key_bytes<Size>(a, b));
    for (std::size_t at = 0; at < Size; ++at) {
        CAPTURE(at);
        b[at] = 'Z';
        CHECK_FALSE(sb::detail::same_key_bytes<Size>(a, b));
        b[at] = a[at];
    }
    b[Size] = 'Z';
    CHECK(sb::detail::same_key_bytes<Size>(a, b));
}

template <std::size_t... Size>
void check_same_key_bytes_for(std::index_sequence<Size...>) {
    (check_same_key_bytes<Size>(), ...);
}

} // namespace field_reader_test

TEST_CASE("same_key_bytes agrees with memcmp for every length up to 33 and every differing byte") {
    field_reader_test::check_same_key_bytes_for(std::make_index_sequence<34>());
}
