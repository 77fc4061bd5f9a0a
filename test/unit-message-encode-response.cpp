#include <slicerbridge/message/invoke.hpp>

#include <slicerbridge/message/message.hpp>

#include "support/printers.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

using namespace slicerbridge;

namespace {

std::vector<std::byte> invoke_response_through_value(std::uint64_t id, const invoke_result& r,
                                                     const std::optional<timings>& t,
                                                     const encode_options& options,
                                                     std::uint32_t& depth) {
    response reply = response::success(id, to_value(r));
    reply.timings = t;
    std::error_code ec;
    const encoded_frame frame = encode_frame(to_value(reply), options, ec);
    REQUIRE_FALSE(ec);
    depth = 0;
    while (!frame.head_depth_within(depth)) {
        ++depth;
    }
    CHECK(encode_message(reply, options, ec).to_bytes() == frame.to_bytes());
    return frame.to_bytes();
}

invoke_result invoke_response_result(std::size_t outputs, int scalars, std::size_t name_length) {
    invoke_result r;
    for (std::size_t i = 0; i < outputs; ++i) {
        const std::size_t n = 2 + 6 * i;
        r.outputs.emplace_back(std::string(name_length, 'o') + std::to_string(i),
                               image::adopt(std::vector<float>(n * n * n, 0.25f), {n, n, n}));
    }
    if (outputs >= 2) {
        r.outputs.emplace_back("moved", transform{});
    }
    if (scalars >= 1) {
        r.scalars.emplace_back("volume", parameter_value(1e300));
        r.scalars.emplace_back("count", parameter_value(std::int64_t{-40}));
    }
    if (scalars >= 2) {
        r.scalars.emplace_back("label", parameter_value("\xe2\x82\xac"));
        r.scalars.emplace_back(std::string(40, 'k'),
                               parameter_value(std::vector<std::int64_t>{1, 300, 70000}));
        for (int i = 0; i < 20; ++i) { // the outputs map beyond a fixmap
            r.scalars.emplace_back("s" + std::to_string(i), parameter_value(i % 2 == 0));
        }
    }
    return r;
}

} // namespace

TEST_CASE("encode_response writes an invoke answer byte for byte as the response of to_value, "
          "and bounds its depth as it [CANON-2] [CANON-3] [TIME-1] [LIMIT-11]") {
    const std::optional<timings> all_timings[] = {
        std::nullopt, timings{}, timings{1e-6, 0.5, 3, 1e300},
        timings{std::numeric_limits<double>::quiet_NaN(), 0, 0, 0}};
    encode_options compressed;
    compressed.compression = codec::lz4;
    compressed.compress_min = 64;
    for (std::size_t outputs = 0; outputs <= 2; ++outputs) {
        for (int scalars = 0; scalars <= 2; ++scalars) {
            for (std::size_t name_length : {0, 31, 300}) {
                const invoke_result r = invoke_response_result(outputs, scalars, name_length);
                for (const auto& t : all_timings) {
                    for (const auto& options : {encode_options{}, compressed}) {
                        for (std::uint64_t id :
                             {std::uint64_t{0}, std::uint64_t{127}, std::uint64_t{128},
                              std::uint64_t{65536}, max_request_id}) {
                            CAPTURE(outputs);
                            CAPTURE(scalars);
                            CAPTURE(name_length);
                            CAPTURE(id);
                            std::uint32_t depth = 0;
                            const auto expected =
                                invoke_response_through_value(id, r, t, options, depth);
                            std::error_code ec;
                            const encoded_frame frame = encode_response(id, r, t, options, ec);
                            REQUIRE_FALSE(ec);
                            CHECK(frame.to_bytes() == expected);
                            CHECK(frame.head_depth_within(depth));
                            CHECK_FALSE(frame.head_depth_within(depth - 1));
                        }
                    }
                }
            }
        }
    }
}
