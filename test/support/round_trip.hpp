#ifndef SLICERBRIDGE_TEST_SUPPORT_ROUND_TRIP_HPP
#define SLICERBRIDGE_TEST_SUPPORT_ROUND_TRIP_HPP

// Sends a value through a whole frame: encode, receive with frame_reader, decode.

#include <slicerbridge/limits.hpp>
#include <slicerbridge/value.hpp>
#include <slicerbridge/wire/codec.hpp>
#include <slicerbridge/wire/frame.hpp>

#include <doctest/doctest.h>

namespace test_support {

inline slicerbridge::value through_frame(const slicerbridge::value& v,
                                         const slicerbridge::encode_options& options = {},
                                         slicerbridge::codec_set codecs = {}) {
    const auto frame = slicerbridge::encode_frame(v, options);
    const auto bytes = frame.to_bytes();
    slicerbridge::frame_reader reader;
    REQUIRE(reader.consume(bytes.data(), bytes.size()) == bytes.size());
    REQUIRE(reader.done());
    std::error_code ec;
    const auto decoded =
        slicerbridge::decode_frame(reader.release(), slicerbridge::limits{}, codecs, ec);
    REQUIRE_FALSE(ec);
    return decoded;
}

} // namespace test_support

#endif
