#include <slicerbridge/wire/codec.hpp>

#include "support/allocation_recorder.hpp"
#include "support/bytes.hpp"
#include "support/features.hpp"
#include "support/printers.hpp"
#include "support/random_value.hpp"

#include <doctest/doctest.h>

#include <msgpack.hpp>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>

using slicerbridge::buffer;
using slicerbridge::codec;
using slicerbridge::codec_set;
using slicerbridge::encode_options;
using slicerbridge::error;
using slicerbridge::limits;
using slicerbridge::value;
using test_support::bytes;
using test_support::from_hex;
using test_support::to_hex;

namespace {

struct decode_outcome {
    value head;
    std::error_code ec;
};

decode_outcome decode(const bytes& head, const bytes& bulk = {}, const limits& l = {},
               codec_set allowed = {}) {
    decode_outcome result;
    result.head = slicerbridge::decode_head(test_support::to_buffer(head),
                                            test_support::to_buffer(bulk), l, allowed, result.ec);
    return result;
}

std::string head_hex(const value& v) {
    return to_hex(slicerbridge::encode_frame(v).head());
}

bytes nested_arrays(int depth) {
    bytes head(static_cast<std::size_t>(depth), std::byte{0x91});
    head.back() = std::byte{0x90};
    return head;
}

buffer pattern(std::size_t n, unsigned seed = 1) {
    buffer b = buffer::allocate(n);
    for (std::size_t i = 0; i < n; ++i) {
        b.mutable_data()[i] = static_cast<std::byte>((i * 7 + seed) % 13);
    }
    return b;
}

buffer noise(std::size_t n) {
    std::mt19937 engine(42);
    buffer b = buffer::allocate(n);
    for (std::size_t i = 0; i < n; ++i) {
        b.mutable_data()[i] = static_cast<std::byte>(engine() & 0xff);
    }
    return b;
}

} // namespace

TEST_CASE("integers take the smallest format, non-negative never signed [CANON-2]") {
    CHECK(head_hex(0) == "00");
    CHECK(head_hex(127) == "7f");
    CHECK(head_hex(128) == "cc80");
    CHECK(head_hex(255) == "ccff");
    CHECK(head_hex(256) == "cd0100");
    CHECK(head_hex(65535) == "cdffff");
    CHECK(head_hex(65536) == "ce00010000");
    CHECK(head_hex(4294967295ll) == "ceffffffff");
    CHECK(head_hex(4294967296ll) == "cf0000000100000000");
    CHECK(head_hex(UINT64_MAX) == "cfffffffffffffffff");
    CHECK(head_hex(-1) == "ff");
    CHECK(head_hex(-32) == "e0");
    CHECK(head_hex(-33) == "d0df");
    CHECK(head_hex(-128) == "d080");
    CHECK(head_hex(-129) == "d1ff7f");
    CHECK(head_hex(-32768) == "d18000");
    CHECK(head_hex(-32769) == "d2ffff7fff");
    CHECK(head_hex(-2147483648ll) == "d280000000");
    CHECK(head_hex(-2147483649ll) == "d3ffffffff7fffffff");
    CHECK(head_hex(INT64_MIN) == "d38000000000000000");
}

TEST_CASE("floats are always float 64, NaN is 0x7ff8000000000000 [CANON-3]") {
    CHECK(head_hex(1.0) == "cb3ff0000000000000");
    CHECK(head_hex(1.5f) == "cb3ff8000000000000");
    CHECK(head_hex(-0.0) == "cb8000000000000000");
    CHECK(head_hex(std::numeric_limits<double>::infinity()) == "cb7ff0000000000000");
    CHECK(head_hex(-std::numeric_limits<double>::quiet_NaN()) == "cb7ff8000000000000");
}

TEST_CASE("strings, binaries, arrays and maps take their smallest formats [CANON-4]") {
    CHECK(head_hex("") == "a0");
    CHECK(head_hex(std::string(31, 'a')).substr(0, 2) == "bf");
    CHECK(head_hex(std::string(32, 'a')).substr(0, 4) == "d920");
    CHECK(head_hex(std::string(255, 'a')).substr(0, 4) == "d9ff");
    CHECK(head_hex(std::string(256, 'a')).substr(0, 6) == "da0100");
    CHECK(head_hex(std::string(65536, 'a')).substr(0, 10) == "db00010000");
    CHECK(head_hex(value::binary{}) == "c400");
    CHECK(head_hex(value::binary(256)).substr(0, 6) == "c50100");
    CHECK(head_hex(value::binary(65536)).substr(0, 10) == "c600010000");
    CHECK(head_hex(value::array{}) == "90");
    CHECK(head_hex(value::array(15)).substr(0, 2) == "9f");
    CHECK(head_hex(value::array(16)).substr(0, 6) == "dc0010");
    CHECK(head_hex(value::array(65536)).substr(0, 10) == "dd00010000");
    CHECK(head_hex(value::map{}) == "80");
    value::map sixteen;
    for (int i = 0; i < 16; ++i) {
        sixteen.emplace_back(std::string(1, static_cast<char>('a' + i)), nullptr);
    }
    CHECK(head_hex(sixteen).substr(0, 6) == "de0010");
    CHECK(head_hex(nullptr) == "c0");
    CHECK(head_hex(true) == "c3");
    CHECK(head_hex(false) == "c2");
}

TEST_CASE("the worked ping example encodes to the spec's 46 bytes [CANON-5] [CANON-8]") {
    const value ping = value::map{{"kind", "request"}, {"id", 1}, {"method", "ping"}};
    const auto frame = slicerbridge::encode_frame(ping);
    CHECK(to_hex(frame.to_bytes()) == "53420100"
                                      "0000001e"
                                      "0000000000000000"
                                      "83a46b696e64a772657175657374a26964"
                                      "01a66d6574686f64a470696e67");
    CHECK(frame.total_size() == 46);
    CHECK(decode(frame.head()).head == ping);
}

TEST_CASE("non-minimal encodings are accepted [HEAD-3]") {
    const auto d = decode(from_hex("de0002"     // map 16 with 2 entries
                                   "d9026964"   // str 8 "id"
                                   "ce00000005" // uint 32 holding 5
                                   "da0001"
                                   "78"            // str 16 "x"
                                   "ca3fc00000")); // float 32 holding 1.5
    REQUIRE_FALSE(d.ec);
    CHECK(d.head == value(value::map{{"id", 5}, {"x", 1.5}}));
    const auto negative = decode(from_hex("d3ffffffffffffffff"));
    CHECK(negative.head == value(-1));
    const auto unsigned_max = decode(from_hex("cfffffffffffffffff"));
    CHECK(unsigned_max.head.as_uint64() == UINT64_MAX);
}

TEST_CASE("bulk segments are laid out in walk order, 8-aligned, zero-padded [CANON-6] "
          "[CANON-7] [BULK-2]") {
    const buffer a = test_support::to_buffer("abc");
    const buffer b;
    const buffer c = test_support::to_buffer("0123456789");
    const value head = value::map{
        {"x", value::array{a, value::map{{"y", b}}}},
        {"z", c},
    };
    const auto frame = slicerbridge::encode_frame(head);
    CHECK(frame.header().bulk_length == 18);
    CHECK(to_hex(frame.head()) == "82a178"
                                  "92"
                                  "d801"
                                  "0000000000000000"
                                  "0000000000000003"
                                  "81a179"
                                  "d801"
                                  "0000000000000008"
                                  "0000000000000000"
                                  "a17a"
                                  "d801"
                                  "0000000000000008"
                                  "000000000000000a");
    const auto all = frame.to_bytes();
    const bytes bulk(all.end() - 18, all.end());
    CHECK(to_hex(bulk) == "6162630000000000"
                          "30313233343536373839");
    CHECK(frame.total_size() == all.size());
}

TEST_CASE("encoding references the caller's bulk bytes without copying them") {
    const buffer voxels = pattern(1 << 20);
    const auto frame = slicerbridge::encode_frame(value::map{{"data", voxels}});
    const auto regions = frame.buffers();
    REQUIRE(regions.size() == 3);
    CHECK(regions[2].data == voxels.data());
    CHECK(regions[2].size == voxels.size());
    std::uint64_t total = 0;
    for (const auto& region : regions) {
        total += region.size;
    }
    CHECK(total == frame.total_size());
}

TEST_CASE("decoded bulk values are slices of the received bulk (zero copy) [FRAME-6]") {
    const bytes head = test_support::concat({from_hex("82a161"), test_support::bulk_reference(8, 4),
                                             from_hex("a162"), test_support::bulk_reference(0, 3)});
    const buffer bulk = test_support::to_buffer(from_hex("6162630000000000"
                                                         "64656667"));
    std::error_code ec;
    const value v =
        slicerbridge::decode_head(test_support::to_buffer(head), bulk, limits{}, codec_set{}, ec);
    REQUIRE_FALSE(ec);
    const auto& first = v.find("a")->as_bulk();
    CHECK(first.data.data() == bulk.data() + 8);
    CHECK(first.data.size() == 4);
    CHECK(first.compression == codec::none);
    CHECK(v.find("b")->as_bulk().data.data() == bulk.data());
}

TEST_CASE("decode then encode reproduces a canonical frame byte for byte [CANON-9]") {
    for (std::uint64_t seed = 1; seed <= 200; ++seed) {
        test_support::random_values random(seed);
        const value original = random.make(4, true);
        const auto frame = slicerbridge::encode_frame(original);
        const bytes all = frame.to_bytes();
        slicerbridge::frame_reader reader;
        REQUIRE(reader.consume(all.data(), all.size()) == all.size());
        REQUIRE(reader.done());
        const auto received = reader.release();
        std::error_code ec;
        const value again = slicerbridge::decode_frame(received, limits{}, codec_set{}, ec);
        INFO("seed " << seed);
        REQUIRE_FALSE(ec);
        CHECK(again == original);
        CHECK(slicerbridge::encode_frame(again).to_bytes() == all);
    }
}

TEST_CASE("zstd and lz4 segments round-trip and are marked with their codec [BULK-5] "
          "[CODEC-2]" * test_support::skip_without_codecs()) {
    for (codec c : {codec::zstd, codec::lz4}) {
        const buffer small = pattern(100);
        const buffer large = pattern(300000, 3);
        const value head = value::map{{"small", small}, {"large", large}};
        encode_options options;
        options.compression = c;
        options.compress_min = 1000;
        const auto frame = slicerbridge::encode_frame(head, options);
        CHECK(frame.header().bulk_length < 104 + 300000 / 4);
        const auto all = frame.to_bytes();
        slicerbridge::frame_reader reader;
        reader.consume(all.data(), all.size());
        REQUIRE(reader.done());
        std::error_code ec;
        const value back = slicerbridge::decode_frame(reader.release(), limits{}, codec_set{c}, ec);
        REQUIRE_FALSE(ec);
        CHECK(back == head);
        CHECK(back.find("small")->as_bulk().compression == codec::none);
        CHECK(back.find("large")->as_bulk().compression == c);
        CHECK(to_hex(frame.head()).find("c71901") != std::string::npos);
    }
}

TEST_CASE("a segment that compression would not shrink is sent raw [CODEC-2]") {
    const buffer random_bytes = noise(100000);
    encode_options options;
    options.compression = codec::zstd;
    options.compress_min = 0;
    const auto frame = slicerbridge::encode_frame(value::map{{"noise", random_bytes}}, options);
    CHECK(frame.buffers().back().data == random_bytes.data());
    CHECK(frame.header().bulk_length == 100000);
}

TEST_CASE("malformed heads are invalid_message [FRAME-4] [MSG-11]") {
    CHECK(decode({}).ec == error::invalid_message);                   // empty head
    CHECK(decode(from_hex("82a16101")).ec == error::invalid_message); // truncated map
    CHECK(decode(from_hex("a56869")).ec == error::invalid_message);   // truncated str
    CHECK(decode(from_hex("cd01")).ec == error::invalid_message);     // truncated uint16
    CHECK(decode(from_hex("80c0")).ec == error::invalid_message);     // trailing bytes
    CHECK(decode(from_hex("c1")).ec == error::invalid_message);       // never used
    CHECK(decode(from_hex("81a161c1")).ec == error::invalid_message); // c1 inside
    CHECK_FALSE(decode(from_hex("80")).ec);
}

TEST_CASE("nesting is bounded by max_depth while decoding [HEAD-5] [SEC-4]") {
    CHECK_FALSE(decode(nested_arrays(32)).ec);
    CHECK(decode(nested_arrays(33)).ec == error::invalid_message);
    CHECK(decode(nested_arrays(1000)).ec == error::invalid_message);
    limits shallow;
    shallow.max_depth = 2;
    CHECK_FALSE(decode(from_hex("81a16191c0"), {}, shallow).ec);
    CHECK(decode(from_hex("81a1619190"), {}, shallow).ec == error::invalid_message);
    CHECK_FALSE(decode(from_hex("81a161d8010000000000000000"
                                "0000000000000000"),
                       {}, shallow)
                    .ec);
}

TEST_CASE("declared lengths beyond the head are invalid_message, without allocating [HEAD-8] "
          "[SEC-4]") {
    const bytes cases[] = {
        from_hex("ddffffffff"),       // array 32 of 2^32-1
        from_hex("dfffffffff"),       // map 32 of 2^32-1
        from_hex("dbffffffff6162"),   // str 32
        from_hex("c6ffffffff00"),     // bin 32
        from_hex("c9ffffffff0100"),   // ext 32
        from_hex("dc0003c0c0"),       // array 16 of 3 with 2 elements
        from_hex("de0002a161c0a162"), // map with 2 entries and 3 of 4 items
    };
    for (const auto& head : cases) {
        test_support::allocation_recorder recorder;
        const auto d = decode(head);
        CHECK(d.ec == error::invalid_message);
        CHECK(recorder.stats().largest < 4096);
    }
}

TEST_CASE("a container over max_elements is frame_too_large [HEAD-5]") {
    limits l;
    l.max_elements = 4;
    CHECK_FALSE(decode(from_hex("94c0c0c0c0"), {}, l).ec);
    CHECK(decode(from_hex("95c0c0c0c0c0"), {}, l).ec == error::frame_too_large);
    CHECK(decode(from_hex("85a161c0a162c0a163c0a164c0a165c0"), {}, l).ec == error::frame_too_large);
}

TEST_CASE("a head over max_head is frame_too_large") {
    limits l;
    l.max_head = 2;
    CHECK(decode(from_hex("a26869"), {}, l).ec == error::frame_too_large);
}

TEST_CASE("map keys must be strings [HEAD-6]") {
    CHECK(decode(from_hex("8101c0")).ec == error::invalid_message);
    CHECK(decode(from_hex("81c401"
                          "61"
                          "c0"))
              .ec == error::invalid_message);
    CHECK(decode(from_hex("8190c0")).ec == error::invalid_message);
    CHECK(decode(from_hex("91"
                          "81c0c0"))
              .ec == error::invalid_message);
    CHECK_FALSE(decode(from_hex("81d90161c0")).ec);
}

TEST_CASE("duplicate keys are invalid_message, in small and large maps [HEAD-7]") {
    CHECK(decode(from_hex("82a16101a16102")).ec == error::invalid_message);
    CHECK(decode(from_hex("91"
                          "82a16101d9016102"))
              .ec == error::invalid_message);
    bytes large = from_hex("de0014");
    for (int i = 0; i < 20; ++i) {
        large.push_back(std::byte{0xa2});
        large.push_back(std::byte{'k'});
        large.push_back(static_cast<std::byte>('a' + (i == 19 ? 3 : i)));
        large.push_back(std::byte{0xc0});
    }
    CHECK(decode(large).ec == error::invalid_message);
    large[large.size() - 2] = std::byte{'z'};
    CHECK_FALSE(decode(large).ec);
}

TEST_CASE("strings must be valid UTF-8, keys included [HEAD-9]") {
    CHECK_FALSE(decode(from_hex("a4f09f9880")).ec); // U+1F600
    CHECK_FALSE(decode(from_hex("a3e282ac")).ec);   // U+20AC
    CHECK(decode(from_hex("a1ff")).ec == error::invalid_message);
    CHECK(decode(from_hex("a2c0af")).ec == error::invalid_message);     // overlong '/'
    CHECK(decode(from_hex("a3eda080")).ec == error::invalid_message);   // surrogate
    CHECK(decode(from_hex("a4f4908080")).ec == error::invalid_message); // above U+10FFFF
    CHECK(decode(from_hex("a2e282")).ec == error::invalid_message);     // cut sequence
    CHECK(decode(from_hex("a180")).ec == error::invalid_message);       // lone continuation
    CHECK(decode(from_hex("81a1ffc0")).ec == error::invalid_message);   // in a key
    CHECK_FALSE(decode(from_hex("c401ff")).ec);                         // bin is not text
}

TEST_CASE("UTF-8 is checked wherever the first non-ASCII byte falls, in strings and keys "
          "[HEAD-9]") {
    // ASCII is passed a word (8 bytes) at a time: each sequence goes at every offset across two
    // words, with ASCII after it or not.
    struct sequence_case {
        bytes sequence;
        bool valid;
    };
    const sequence_case cases[] = {
        {from_hex("c3a9"), true},      {from_hex("e282ac"), true},   {from_hex("f09f9880"), true},
        {from_hex("7f"), true},        {from_hex("ff"), false},      {from_hex("c0af"), false},
        {from_hex("eda080"), false},   {from_hex("f4908080"), false}, {from_hex("e282"), false},
        {from_hex("80"), false},       {from_hex("c3a9ff"), false},  {from_hex("c3"), false},
    };
    for (const auto& c : cases) {
        for (std::size_t before = 0; before <= 17; ++before) {
            for (std::size_t after : {std::size_t{0}, std::size_t{1}, std::size_t{9}}) {
                bytes text(before, std::byte{'a'});
                text.insert(text.end(), c.sequence.begin(), c.sequence.end());
                text.insert(text.end(), after, std::byte{'b'});
                INFO(to_hex(text));
                bytes as_string = {std::byte{0xd9}, static_cast<std::byte>(text.size())};
                as_string.insert(as_string.end(), text.begin(), text.end());
                bytes as_key = from_hex("81");
                as_key.insert(as_key.end(), as_string.begin(), as_string.end());
                as_key.push_back(std::byte{0xc0});
                const auto string_outcome = decode(as_string);
                const auto key_outcome = decode(as_key);
                if (c.valid) {
                    REQUIRE_FALSE(string_outcome.ec);
                    CHECK(string_outcome.head.as_string() ==
                          std::string(reinterpret_cast<const char*>(text.data()), text.size()));
                    REQUIRE_FALSE(key_outcome.ec);
                    CHECK(key_outcome.head.as_map().at(0).first == string_outcome.head.as_string());
                } else {
                    CHECK(string_outcome.ec == error::invalid_message);
                    CHECK(key_outcome.ec == error::invalid_message);
                }
            }
        }
    }
}

TEST_CASE("integers decode as value's constructor holds them: int64 whenever they fit [HEAD-3]") {
    const auto decoded = [](const char* hex) {
        const auto d = decode(from_hex(hex));
        REQUIRE_FALSE(d.ec);
        return d.head;
    };
    using slicerbridge::value_kind;
    CHECK(decoded("7f") == value(127));
    CHECK(decoded("e0") == value(-32));
    CHECK(decoded("ccff") == value(255));
    CHECK(decoded("ccff").kind() == value_kind::int64);
    CHECK(decoded("cdffff") == value(65535));
    CHECK(decoded("ceffffffff") == value(std::uint32_t{0xffffffff}));
    CHECK(decoded("cf7fffffffffffffff").kind() == value_kind::int64);
    CHECK(decoded("cf7fffffffffffffff") == value(std::numeric_limits<std::int64_t>::max()));
    CHECK(decoded("cf8000000000000000").kind() == value_kind::uint64);
    CHECK(decoded("cf8000000000000000") == value(std::uint64_t{1} << 63));
    CHECK(decoded("cfffffffffffffffff") == value(std::numeric_limits<std::uint64_t>::max()));
    CHECK(decoded("d080") == value(-128));
    CHECK(decoded("d17fff") == value(32767));
    CHECK(decoded("d280000000") == value(std::numeric_limits<std::int32_t>::min()));
    CHECK(decoded("d38000000000000000") == value(std::numeric_limits<std::int64_t>::min()));
    CHECK(decoded("d300000000000000ff").kind() == value_kind::int64);
    CHECK(decoded("ca3fc00000") == value(1.5));
    CHECK(decoded("cb3ff8000000000000") == value(1.5));
    CHECK(decoded("c0").is_nil());
    CHECK(decoded("c2") == value(false));
    CHECK(decoded("c3") == value(true));
    CHECK(decoded("c40201ff") == value(value::binary{std::byte{1}, std::byte{0xff}}));
    CHECK(decoded("92a0c0") == value(value::array{value(""), value()}));
    CHECK(decoded("82a16180a16290") ==
          value(value::map{{"a", value::map{}}, {"b", value::array{}}}));
}

TEST_CASE("bulk references are checked against bulk_length without overflow [BULK-1]") {
    const bytes bulk = from_hex("00112233445566778899");
    CHECK_FALSE(decode(test_support::bulk_reference(0, 10), bulk).ec);
    CHECK_FALSE(decode(test_support::bulk_reference(10, 0), bulk).ec);
    CHECK(decode(test_support::bulk_reference(0, 11), bulk).ec == error::invalid_message);
    CHECK(decode(test_support::bulk_reference(11, 0), bulk).ec == error::invalid_message);
    CHECK(decode(test_support::bulk_reference(2, UINT64_MAX), bulk).ec == error::invalid_message);
    CHECK(decode(test_support::bulk_reference(UINT64_MAX, 2), bulk).ec == error::invalid_message);
    CHECK(decode(test_support::compressed_bulk_reference(4, 7, 1, 100), bulk, {}, codec_set::all())
              .ec == error::invalid_message);
}

TEST_CASE("a bad bulk reference still yields the head, for its id [BULK-9]") {
    // {"kind": "request", "id": 7, "x": <reference past the bulk>, "y": 1}
    const bytes head =
        test_support::concat({from_hex("84a46b696e64a772657175657374a2696407a178"),
                              test_support::bulk_reference(0, 11), from_hex("a17901")});
    const auto d = decode(head, from_hex("00112233445566778899"));
    CHECK(d.ec == error::invalid_message);
    REQUIRE(d.head.is_map());
    CHECK(d.head.find("id")->as_uint64() == std::uint64_t{7});
    CHECK(d.head.find("x")->is_nil());
    CHECK(d.head.find("y")->as_uint64() == std::uint64_t{1});
    // broken MessagePack yields nothing
    CHECK(decode(from_hex("82a46b696e64")).head.is_nil());
}

TEST_CASE("overlapping, empty and uncovered segments are accepted [BULK-3]") {
    const bytes head = test_support::concat({from_hex("93"), test_support::bulk_reference(0, 6),
                                             test_support::bulk_reference(2, 6),
                                             test_support::bulk_reference(5, 0)});
    const auto d = decode(head, from_hex("000102030405060708090a0b"));
    REQUIRE_FALSE(d.ec);
    CHECK(to_hex(d.head.as_array()[1].as_bulk().data) == "020304050607");
    CHECK(d.head.as_array()[2].as_bulk().data.empty());
}

TEST_CASE("ext values other than 16/25-byte type 1 are invalid_message [BULK-4]") {
    const bytes bulk(64, std::byte{0});
    CHECK(decode(from_hex("c70f01"
                          "000000000000000000000000000000"),
                 bulk)
              .ec == error::invalid_message);
    CHECK(decode(from_hex("c71101"
                          "0000000000000000000000000000000000"),
                 bulk)
              .ec == error::invalid_message);
    CHECK(decode(from_hex("c71801"
                          "000000000000000000000000000000000000000000000000"),
                 bulk)
              .ec == error::invalid_message);
    CHECK(decode(from_hex("d702"
                          "0000000000000000"),
                 bulk)
              .ec == error::invalid_message);
    CHECK(decode(from_hex("d6ff"
                          "00000000"),
                 bulk)
              .ec == error::invalid_message); // timestamp
    CHECK(decode(from_hex("d802"
                          "00000000000000000000000000000000"),
                 bulk)
              .ec == error::invalid_message);
    // ext 16 holding a 16-byte reference: non-minimal but valid
    CHECK_FALSE(decode(from_hex("c8001001"
                                "00000000000000000000000000000000"),
                       bulk)
                    .ec);
}

TEST_CASE("compressed segments need a codec in force, 1 or 2 [BULK-5] [BULK-7] [CAP-2]" *
          test_support::skip_without_codecs()) {
    const buffer raw = pattern(5000);
    const auto compressed = slicerbridge::detail::compress(codec::zstd, raw, 0);
    REQUIRE(compressed.has_value());
    const bytes bulk(compressed->begin(), compressed->end());
    const auto reference = [&](std::uint8_t c) {
        return test_support::compressed_bulk_reference(0, bulk.size(), c, raw.size());
    };
    CHECK_FALSE(decode(reference(1), bulk, {}, codec_set{codec::zstd}).ec);
    CHECK(decode(reference(1), bulk, {}, codec_set{}).ec == error::unsupported_codec);
    CHECK(decode(reference(1), bulk, {}, codec_set{codec::lz4}).ec == error::unsupported_codec);
    CHECK(decode(reference(0), bulk, {}, codec_set::all()).ec == error::unsupported_codec);
    CHECK(decode(reference(3), bulk, {}, codec_set::all()).ec == error::unsupported_codec);
    CHECK(decode(reference(255), bulk, {}, codec_set::all()).ec == error::unsupported_codec);
}

TEST_CASE("raw_length is checked against max_frame before decompressing [BULK-6] [SEC-4]" *
          test_support::skip_without_codecs()) {
    const buffer raw = pattern(5000);
    for (codec c : {codec::zstd, codec::lz4}) {
        const auto compressed = slicerbridge::detail::compress(c, raw, 0);
        REQUIRE(compressed.has_value());
        const bytes bulk(compressed->begin(), compressed->end());
        limits l;
        l.max_frame = 4096;
        test_support::allocation_recorder recorder;
        const auto d = decode(test_support::compressed_bulk_reference(
                                  0, bulk.size(), static_cast<std::uint8_t>(c), raw.size()),
                              bulk, l, codec_set::all());
        CHECK(d.ec == error::frame_too_large);
        CHECK(recorder.stats().largest < 4096);
        const auto huge = decode(test_support::compressed_bulk_reference(
                                     0, bulk.size(), static_cast<std::uint8_t>(c), UINT64_MAX),
                                 bulk, {}, codec_set::all());
        CHECK(huge.ec == error::frame_too_large);
    }
}

TEST_CASE("decompressed bytes count against max_frame in total [BULK-6]" *
          test_support::skip_without_codecs()) {
    const buffer raw = pattern(3000);
    const auto compressed = slicerbridge::detail::compress(codec::lz4, raw, 0);
    REQUIRE(compressed.has_value());
    const bytes bulk(compressed->begin(), compressed->end());
    const bytes reference = test_support::compressed_bulk_reference(0, bulk.size(), 2, raw.size());
    limits l;
    l.max_frame = 5000;
    CHECK_FALSE(
        decode(test_support::concat({from_hex("91"), reference}), bulk, l, codec_set::all()).ec);
    CHECK(decode(test_support::concat({from_hex("92"), reference, reference}), bulk, l,
                 codec_set::all())
              .ec == error::frame_too_large);
}

TEST_CASE("corrupt or mis-sized compressed data is invalid_message [BULK-5] [BULK-8]" *
          test_support::skip_without_codecs()) {
    const buffer raw = pattern(5000);
    for (codec c : {codec::zstd, codec::lz4}) {
        const auto compressed = slicerbridge::detail::compress(c, raw, 0);
        REQUIRE(compressed.has_value());
        const bytes good(compressed->begin(), compressed->end());
        const auto code = static_cast<std::uint8_t>(c);
        const auto run = [&](const bytes& bulk, std::uint64_t length, std::uint64_t raw_length) {
            return decode(test_support::compressed_bulk_reference(0, length, code, raw_length),
                          bulk, {}, codec_set{c})
                .ec;
        };
        INFO("codec " << slicerbridge::codec_name(c));
        CHECK_FALSE(run(good, good.size(), raw.size()));
        CHECK(run(good, good.size(), raw.size() - 1) == error::invalid_message);
        CHECK(run(good, good.size(), raw.size() + 1) == error::invalid_message);
        CHECK(run(good, good.size() - 1, raw.size()) == error::invalid_message);
        bytes trailing = good;
        trailing.push_back(std::byte{0});
        CHECK(run(trailing, trailing.size(), raw.size()) == error::invalid_message);
        bytes twice = test_support::concat({good, good});
        CHECK(run(twice, twice.size(), 2 * raw.size()) == error::invalid_message);
        bytes corrupt = good;
        for (std::size_t i = good.size() / 2; i < good.size(); ++i) {
            corrupt[i] = std::byte{0xff};
        }
        CHECK(run(corrupt, corrupt.size(), raw.size()) == error::invalid_message);
        const bytes garbage = from_hex("00112233445566778899aabbccddeeff");
        CHECK(run(garbage, garbage.size(), raw.size()) == error::invalid_message);
    }
}

#if !defined(SLICERBRIDGE_NO_ZSTD) // calls zstd itself, to make a frame without a size
TEST_CASE("a zstd frame without a content size decompresses, bounded by raw_length [CODEC-4]") {
    const buffer raw = pattern(20000);
    std::vector<std::byte> out(ZSTD_compressBound(raw.size()));
    ZSTD_CCtx* context = ZSTD_createCCtx();
    ZSTD_CCtx_setParameter(context, ZSTD_c_contentSizeFlag, 0);
    const std::size_t n = ZSTD_compress2(context, out.data(), out.size(), raw.data(), raw.size());
    ZSTD_freeCCtx(context);
    REQUIRE(ZSTD_isError(n) == 0);
    out.resize(n);
    const auto d = decode(test_support::compressed_bulk_reference(0, n, 1, raw.size()), out, {},
                          codec_set{codec::zstd});
    REQUIRE_FALSE(d.ec);
    CHECK(d.head.as_bulk().data == raw);
    CHECK(decode(test_support::compressed_bulk_reference(0, n, 1, raw.size() - 1), out, {},
                 codec_set{codec::zstd})
              .ec == error::invalid_message);
}
#endif

TEST_CASE("throwing overloads report the error code") {
    try {
        slicerbridge::decode_head(test_support::to_buffer(from_hex("c1")), buffer(), limits{},
                                  codec_set{});
        FAIL("no exception");
    } catch (const std::system_error& e) {
        CHECK(e.code() == error::invalid_message);
    }
}

// msgpack-cxx as an independent oracle: what one writes the other reads back identically.
namespace {

value from_msgpack(const msgpack::object& o) {
    switch (o.type) {
    case msgpack::type::NIL:
        return nullptr;
    case msgpack::type::BOOLEAN:
        return o.via.boolean;
    case msgpack::type::POSITIVE_INTEGER:
        return o.via.u64;
    case msgpack::type::NEGATIVE_INTEGER:
        return o.via.i64;
    case msgpack::type::FLOAT32:
    case msgpack::type::FLOAT64:
        return o.via.f64;
    case msgpack::type::STR:
        return std::string(o.via.str.ptr, o.via.str.size);
    case msgpack::type::BIN: {
        const auto* p = reinterpret_cast<const std::byte*>(o.via.bin.ptr);
        return value::binary(p, p + o.via.bin.size);
    }
    case msgpack::type::ARRAY: {
        value::array elements;
        for (std::uint32_t i = 0; i < o.via.array.size; ++i) {
            elements.push_back(from_msgpack(o.via.array.ptr[i]));
        }
        return elements;
    }
    case msgpack::type::MAP: {
        value::map entries;
        for (std::uint32_t i = 0; i < o.via.map.size; ++i) {
            const auto& kv = o.via.map.ptr[i];
            entries.emplace_back(std::string(kv.key.via.str.ptr, kv.key.via.str.size),
                                 from_msgpack(kv.val));
        }
        return entries;
    }
    default:
        throw std::runtime_error("unexpected msgpack type");
    }
}

void to_msgpack(msgpack::packer<msgpack::sbuffer>& packer, const value& v) {
    switch (v.kind()) {
    case slicerbridge::value_kind::nil:
        packer.pack_nil();
        break;
    case slicerbridge::value_kind::boolean:
        *v.get_if<bool>() ? packer.pack_true() : packer.pack_false();
        break;
    case slicerbridge::value_kind::int64:
        packer.pack_int64(*v.get_if<std::int64_t>());
        break;
    case slicerbridge::value_kind::uint64:
        packer.pack_uint64(*v.get_if<std::uint64_t>());
        break;
    case slicerbridge::value_kind::float64:
        packer.pack_double(*v.get_if<double>());
        break;
    case slicerbridge::value_kind::string:
        packer.pack(v.as_string());
        break;
    case slicerbridge::value_kind::binary:
        packer.pack_bin(static_cast<std::uint32_t>(v.as_binary().size()));
        packer.pack_bin_body(reinterpret_cast<const char*>(v.as_binary().data()),
                             static_cast<std::uint32_t>(v.as_binary().size()));
        break;
    case slicerbridge::value_kind::array:
        packer.pack_array(static_cast<std::uint32_t>(v.size()));
        for (const auto& element : v.as_array()) {
            to_msgpack(packer, element);
        }
        break;
    case slicerbridge::value_kind::map:
        packer.pack_map(static_cast<std::uint32_t>(v.size()));
        for (const auto& entry : v.as_map()) {
            packer.pack(entry.first);
            to_msgpack(packer, entry.second);
        }
        break;
    case slicerbridge::value_kind::bulk:
        throw std::runtime_error("bulk has no plain MessagePack form");
    }
}

} // namespace

TEST_CASE("msgpack-cxx reads what we write and we read what it writes [HEAD-3]") {
    for (std::uint64_t seed = 1; seed <= 300; ++seed) {
        INFO("seed " << seed);
        test_support::random_values random(seed);
        const value original = random.make(4, false);
        const auto ours = slicerbridge::encode_frame(original).head();
        const auto handle =
            msgpack::unpack(reinterpret_cast<const char*>(ours.data()), ours.size());
        CHECK(from_msgpack(handle.get()) == original);

        msgpack::sbuffer theirs;
        msgpack::packer<msgpack::sbuffer> packer(theirs);
        to_msgpack(packer, original);
        const bytes their_bytes(reinterpret_cast<const std::byte*>(theirs.data()),
                                reinterpret_cast<const std::byte*>(theirs.data()) + theirs.size());
        const auto d = decode(their_bytes);
        REQUIRE_FALSE(d.ec);
        CHECK(d.head == original);
        CHECK(their_bytes == ours);
    }
}

TEST_CASE("random corruption never crashes the decoder and is reported as an error [SEC-4]") {
    std::mt19937_64 engine(7);
    for (std::uint64_t seed = 1; seed <= 300; ++seed) {
        test_support::random_values random(seed);
        const auto frame = slicerbridge::encode_frame(random.make(3, true));
        bytes head = frame.head();
        const auto all = frame.to_bytes();
        const bytes bulk(all.end() - static_cast<std::ptrdiff_t>(frame.header().bulk_length),
                         all.end());
        const std::size_t flips = 1 + engine() % 4;
        for (std::size_t i = 0; i < flips && !head.empty(); ++i) {
            head[engine() % head.size()] = static_cast<std::byte>(engine() & 0xff);
        }
        if (engine() % 3 == 0 && !head.empty()) {
            head.resize(engine() % head.size());
        }
        const auto d = decode(head, bulk, limits{}, codec_set::all());
        if (d.ec && !d.head.is_nil()) {
            // Well-formed MessagePack with a bad bulk reference: the rest of the head, with nil
            // in the reference's place, for answering under its id ([BULK-9]).
            const auto rest =
                decode(slicerbridge::encode_frame(d.head).head(), bulk, limits{}, codec_set::all());
            CHECK_FALSE(rest.ec);
        } else if (!d.ec) {
            // Whatever was accepted re-encodes to a canonical head that decodes to itself.
            const auto canonical = slicerbridge::encode_frame(d.head).head();
            const auto again = decode(canonical, bulk, limits{}, codec_set::all());
            REQUIRE_FALSE(again.ec);
            CHECK(slicerbridge::encode_frame(again.head).head() == canonical);
        }
    }
}
