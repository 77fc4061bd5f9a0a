// detail::msgpack_depth counts nesting as the receiver's decoder does ([HEAD-5]), so that a
// sender can check a head against its peer's max_depth before sending it ([LIMIT-11]).

#include <slicerbridge/detail/msgpack_depth.hpp>

#include <slicerbridge/wire/codec.hpp>
#include <slicerbridge/wire/frame.hpp>

#include "support/printers.hpp"
#include "support/random_value.hpp"

#include <doctest/doctest.h>

#include <limits>
#include <system_error>

namespace sb = slicerbridge;

TEST_CASE("msgpack_depth agrees with the decoder's max_depth on random heads [LIMIT-11] "
          "[HEAD-5]") {
    std::size_t checked = 0;
    for (std::uint64_t seed = 1; seed <= 300; ++seed) {
        test_support::random_values random(seed);
        const sb::value head = sb::value::map{{"v", random.make(6, true)}};
        const auto frame = sb::encode_frame(head);
        const auto all = frame.to_bytes();
        const auto decodes_with = [&all](std::uint64_t max_depth) {
            sb::limits l;
            l.max_depth = static_cast<std::uint32_t>(max_depth);
            sb::frame_reader reader;
            REQUIRE(reader.consume(all.data(), all.size()) == all.size());
            REQUIRE(reader.done());
            std::error_code ec;
            sb::decode_frame(reader.release(), l, sb::codec_set{}, ec);
            return !ec;
        };
        if (!decodes_with(32)) {
            continue; // refused for another reason, such as a random map repeating a key [HEAD-7]
        }
        const std::uint64_t depth = sb::detail::msgpack_depth(frame.head());
        INFO("seed " << seed << ", depth " << depth);
        REQUIRE(depth >= 1);
        REQUIRE(depth < 16);
        CHECK(decodes_with(depth));
        CHECK_FALSE(decodes_with(depth - 1));
        ++checked;
    }
    CHECK(checked > 200);
}

TEST_CASE("msgpack_depth: scalars are depth 0, empty containers count, bad bytes never fit") {
    const auto depth_of = [](std::initializer_list<unsigned> values) {
        std::vector<std::byte> bytes;
        for (unsigned v : values) {
            bytes.push_back(static_cast<std::byte>(v));
        }
        return sb::detail::msgpack_depth(bytes);
    };
    constexpr auto never = std::numeric_limits<std::uint64_t>::max();
    CHECK(depth_of({0x01}) == 0);
    CHECK(depth_of({0x80}) == 1);
    CHECK(depth_of({0x91, 0x91, 0x90}) == 3);
    CHECK(depth_of({0x92, 0x90, 0x91, 0x80}) == 3);
    CHECK(depth_of({0xdc, 0x00, 0x01, 0x91, 0xc0}) == 2);                 // array 16
    CHECK(depth_of({0x81, 0xa1, 0x6b, 0xd8, 0x01}) == never);             // fixext 16 cut short
    CHECK(depth_of({0x91}) == never);                                     // element missing
    CHECK(depth_of({0x90, 0x90}) == never);                               // trailing bytes
    CHECK(depth_of({0xc1}) == never);                                     // never MessagePack
    CHECK(depth_of({0xdd, 0xff, 0xff, 0xff, 0xff}) == never);             // count beyond the bytes
}

namespace {

sb::value msgpack_depth_nested_maps(int depth) {
    sb::value v = 1;
    for (int i = 0; i < depth; ++i) {
        v = sb::value::map{{"k", std::move(v)}};
    }
    return v;
}

} // namespace

TEST_CASE("head_depth_within: a head at the peer's max_depth fits, one level deeper does not, "
          "however many containers it holds [LIMIT-11] [HEAD-5]") {
    for (int depth = 1; depth <= 6; ++depth) {
        CAPTURE(depth);
        const auto frame = sb::encode_frame(msgpack_depth_nested_maps(depth));
        const auto max = static_cast<std::uint32_t>(depth);
        CHECK(frame.head_depth_within(max));
        CHECK(frame.head_depth_within(max + 1));
        CHECK_FALSE(frame.head_depth_within(max - 1));
    }
    // Wide and shallow: more containers than max_depth, so the head is scanned.
    sb::value::map wide;
    for (int i = 0; i < 40; ++i) {
        wide.emplace_back("k" + std::to_string(i), sb::value::map{{"a", sb::value::array{}}});
    }
    const auto frame = sb::encode_frame(sb::value(std::move(wide)));
    CHECK(frame.head_depth_within(3));
    CHECK(frame.head_depth_within(32));
    CHECK_FALSE(frame.head_depth_within(2));
    CHECK(sb::encode_frame(sb::value(7)).head_depth_within(0)); // a scalar head: depth 0
    CHECK_FALSE(sb::encode_frame(sb::value::map{}).head_depth_within(0));
    CHECK_FALSE(sb::encoded_frame().head_depth_within(32)); // no head at all never fits
}

TEST_CASE("head_depth_within counts the containers a head writer writes directly [LIMIT-11]") {
    std::error_code ec;
    const auto frame = sb::detail::encode_frame_with(
        sb::encode_options{}, ec, [](sb::detail::frame_encoder& encoder) {
            auto& out = encoder.writer();
            out.write_map_header(2);
            out.write_string("a");
            out.write_array_header(1);
            out.write_array_header(0);
            out.write_string("b");
            return encoder.write(sb::value::map{{"c", sb::value::map{}}});
        });
    REQUIRE_FALSE(ec);
    REQUIRE(sb::detail::msgpack_depth(frame.head()) == 3);
    CHECK(frame.head_depth_within(3));
    CHECK_FALSE(frame.head_depth_within(2));
}

TEST_CASE("head_depth_within agrees with msgpack_depth on random heads [LIMIT-11]") {
    for (std::uint64_t seed = 1; seed <= 200; ++seed) {
        test_support::random_values random(seed);
        const auto frame = sb::encode_frame(sb::value::map{{"v", random.make(5, true)}});
        const std::uint64_t depth = sb::detail::msgpack_depth(frame.head());
        for (std::uint32_t max = 0; max <= 8; ++max) {
            INFO("seed " << seed << ", depth " << depth << ", max " << max);
            CHECK(frame.head_depth_within(max) == (depth <= max));
        }
    }
}

TEST_CASE("msgpack_depth counts deep nesting, past the levels it keeps in place") {
    constexpr auto never = std::numeric_limits<std::uint64_t>::max();
    for (std::size_t levels : {1, 15, 16, 17, 18, 33, 200}) {
        CAPTURE(levels);
        // Arrays of one element, then maps of one entry ({"k": ...}), alternating, around nil.
        std::vector<std::byte> bytes;
        for (std::size_t i = 0; i < levels; ++i) {
            if (i % 2 == 0) {
                bytes.push_back(std::byte{0x91});
            } else {
                bytes.push_back(std::byte{0x81});
                bytes.push_back(std::byte{0xa1});
                bytes.push_back(std::byte{0x6b});
            }
        }
        bytes.push_back(std::byte{0xc0});
        CHECK(sb::detail::msgpack_depth(bytes) == levels);
        // A sibling after the deepest level closes: [[...[nil], nil]...]
        std::vector<std::byte> wide;
        for (std::size_t i = 0; i < levels; ++i) {
            wide.push_back(std::byte{0x92});
        }
        for (std::size_t i = 0; i < levels; ++i) {
            wide.push_back(std::byte{0xc0});
        }
        wide.push_back(std::byte{0xc0});
        CHECK(sb::detail::msgpack_depth(wide) == levels);
        bytes.pop_back();
        CHECK(sb::detail::msgpack_depth(bytes) == never); // the innermost element missing
    }
}
