#include <slicerbridge/compression.hpp>

#include <doctest/doctest.h>

using slicerbridge::codec;
using slicerbridge::codec_set;

TEST_CASE("codec bytes and names follow section 3.2 [BULK-5]") {
    CHECK(static_cast<int>(codec::zstd) == 1);
    CHECK(static_cast<int>(codec::lz4) == 2);
    CHECK(slicerbridge::codec_name(codec::zstd) == "zstd");
    CHECK(slicerbridge::codec_name(codec::lz4) == "lz4");
    CHECK(slicerbridge::codec_from_name("lz4") == codec::lz4);
    CHECK_FALSE(slicerbridge::codec_from_name("gzip").has_value());
    CHECK(slicerbridge::codec_capability(codec::zstd) == "codec.zstd");
}

TEST_CASE("codecs in force come from capabilities, unknown strings are ignored [CAP-1] [CAP-2]") {
    const auto client = codec_set::from_capabilities(
        {"progress", "codec.zstd", "codec.lz4", "codec.brotli", "x-grease-7a7a", "codec."});
    const auto server = codec_set::from_capabilities({"cancel", "codec.zstd"});
    CHECK(client == (codec_set{codec::zstd, codec::lz4}));
    const auto in_force = client & server;
    CHECK(in_force.contains(codec::zstd));
    CHECK_FALSE(in_force.contains(codec::lz4));
    CHECK_FALSE(in_force.contains(codec::none));
    CHECK(in_force.to_capabilities() == std::vector<std::string>{"codec.zstd"});
    codec_set set{codec::lz4, codec::none};
    CHECK_FALSE(set.contains(codec::none));
    set.erase(codec::lz4);
    CHECK(set.empty());
}
