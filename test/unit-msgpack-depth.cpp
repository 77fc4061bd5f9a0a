// detail::msgpack_depth counts nesting as the receiver's decoder does ([HEAD-5]), so that a
// sender can check a head against its peer's max_depth before sending it ([LIMIT-11]).

#include <slicerbridge/detail/msgpack_depth.hpp>

#include <slicerbridge/wire/codec.hpp>
#include <slicerbridge/wire/frame.hpp>

#include "support/random_value.hpp"

#include <doctest/doctest.h>

#include <limits>

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
