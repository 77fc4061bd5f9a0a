#include <slicerbridge/message/message.hpp>

#include "support/printers.hpp"
#include "support/random_value.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <vector>

using namespace slicerbridge;

namespace {

received_frame usual_response_frame_of(const std::vector<std::byte>& head,
                                       const std::vector<std::byte>& bulk = {}) {
    received_frame frame;
    frame.head = buffer::copy_of(head.data(), head.size());
    frame.bulk = buffer::copy_of(bulk.data(), bulk.size());
    return frame;
}

received_frame usual_response_frame_of(const message& m, const encode_options& options = {}) {
    std::error_code ec;
    const encoded_frame encoded = encode_message(m, options, ec);
    REQUIRE_FALSE(ec);
    const std::vector<std::byte> all = encoded.to_bytes();
    const std::size_t head_size = encoded.head().size();
    return usual_response_frame_of(
        std::vector<std::byte>(all.begin() + 16, all.begin() + 16 + head_size),
        std::vector<std::byte>(all.begin() + 16 + head_size, all.end()));
}

/// What the general path makes of the frame: a response, or nothing with the error it reports.
std::optional<response> usual_response_general(const received_frame& frame, const limits& l,
                                               codec_set allowed = codec_set::all()) {
    std::error_code ec;
    value head = decode_frame(frame, l, allowed, ec);
    if (ec) {
        return std::nullopt;
    }
    std::string what;
    message decoded = decode_message(std::move(head), false, ec, what);
    auto* reply = std::get_if<response>(&decoded);
    if (ec || reply == nullptr) {
        return std::nullopt;
    }
    return *reply;
}

/// The property the client relies on: the fast path answers only what the general path decodes
/// without error, and then as it does.
void check_usual_response_agrees(const received_frame& frame, const limits& l = {},
                                 codec_set allowed = codec_set::all()) {
    const auto fast = detail::decode_usual_response(frame, l, allowed);
    if (fast) {
        const auto general = usual_response_general(frame, l, allowed);
        REQUIRE(general.has_value());
        CHECK(*fast == *general);
    }
}

} // namespace

TEST_CASE("decode_usual_response reads the responses write_message writes, as the general path "
          "does [MSG-7] [TIME-1]") {
    const std::uint64_t ids[] = {0,           1,          127,           128,
                                 255,         256,        65535,         65536,
                                 4294967295u, 4294967296, max_request_id};
    test_support::random_values values(20261205);
    for (std::uint64_t id : ids) {
        for (int i = 0; i < 20; ++i) {
            response reply = response::success(id, values.make(3, true));
            if (i % 2 == 0) {
                reply.timings = timings{1e-6 * i, 0.0, 3.5 * i, 1e300};
            }
            CAPTURE(id);
            CAPTURE(i);
            const received_frame frame = usual_response_frame_of(reply);
            const auto fast = detail::decode_usual_response(frame, limits{}, codec_set::all());
            REQUIRE(fast.has_value());
            CHECK(*fast == reply);
            check_usual_response_agrees(frame);
        }
    }
}

TEST_CASE("decode_usual_response reads compressed bulk in the result as the general path does "
          "[BULK-5]") {
    std::vector<std::byte> voxels(100000, std::byte{7});
    response reply = response::success(
        9, value::map{{"outputs", value::map{{"image", value(buffer::copy_of(voxels.data(),
                                                                             voxels.size()))}}}});
    encode_options compressed;
    compressed.compression = codec::lz4;
    compressed.compress_min = 1024;
    const received_frame frame = usual_response_frame_of(reply, compressed);
    const auto fast = detail::decode_usual_response(frame, limits{}, codec_set::all());
    REQUIRE(fast.has_value());
    CHECK(*fast == reply);
    // Not allowed: the general path reports unsupported_codec, so the fast one declines (a build
    // without lz4 sends the bulk as it is).
    if (codec_set::all().contains(codec::lz4)) {
        CHECK_FALSE(detail::decode_usual_response(frame, limits{}, codec_set{}).has_value());
    }
}

TEST_CASE("decode_usual_response declines every other head, for the general path to report "
          "[MSG-1] [MSG-7] [TIME-1] [HEAD-5] [LIMIT-2]") {
    auto declines = [](const received_frame& frame, const limits& l = {}) {
        return !detail::decode_usual_response(frame, l, codec_set::all()).has_value();
    };
    response reply = response::success(5, value::map{{"outputs", value::map{}}});
    reply.timings = timings{};

    response failure = response::failure(5, error_info{3, "bad", value()});
    CHECK(declines(usual_response_frame_of(failure)));
    response connection_level = reply;
    connection_level.id.reset();
    CHECK(declines(usual_response_frame_of(connection_level)));
    response nan_timing = reply;
    nan_timing.timings->queued = std::numeric_limits<double>::quiet_NaN();
    CHECK(declines(usual_response_frame_of(nan_timing)));
    response negative_timing = reply;
    negative_timing.timings->sending = -1;
    CHECK(declines(usual_response_frame_of(negative_timing)));
    response infinite_timing = reply;
    infinite_timing.timings->computing = std::numeric_limits<double>::infinity();
    CHECK(declines(usual_response_frame_of(infinite_timing)));

    // The same content in another key order, or with integer timings: valid, but not the usual
    // form.
    value reordered = value::map{{"id", value(5)},
                                 {"kind", value("response")},
                                 {"result", value::map{{"outputs", value::map{}}}}};
    CHECK(declines(usual_response_frame_of(encode_frame(reordered, {}).head())));
    value integer_timings = to_value(reply);
    integer_timings["timings"]["queued"] = value(0);
    CHECK(declines(usual_response_frame_of(encode_frame(integer_timings, {}).head())));

    const received_frame usual = usual_response_frame_of(reply);
    limits shallow;
    shallow.max_depth = 1;
    CHECK(declines(usual, shallow));
    limits few_elements;
    few_elements.max_elements = 3;
    CHECK(declines(usual, few_elements));
    limits small_head;
    small_head.max_head = usual.head.size() - 1;
    CHECK(declines(usual, small_head));

    std::vector<std::byte> head(usual.head.data(), usual.head.data() + usual.head.size());
    std::vector<std::byte> trailing = head;
    trailing.push_back(std::byte{0xc0});
    CHECK(declines(usual_response_frame_of(trailing)));
    CHECK(declines(usual_response_frame_of(std::vector<std::byte>{})));
}

TEST_CASE("decode_usual_response answers a changed or cut usual head only as the general path "
          "does") {
    response reply = response::success(
        300, value::map{{"outputs", value::map{{"x", value("text")}, {"n", value(-7)}}}});
    reply.timings = timings{0.25, 0, 1, 2};
    const received_frame usual = usual_response_frame_of(reply);
    const std::vector<std::byte> head(usual.head.data(), usual.head.data() + usual.head.size());
    limits l;
    l.max_depth = 3; // the result's maps reach depth 3
    check_usual_response_agrees(usual, l);
    for (std::size_t cut = 0; cut < head.size(); ++cut) {
        CAPTURE(cut);
        check_usual_response_agrees(
            usual_response_frame_of(std::vector<std::byte>(head.begin(), head.begin() + cut)), l);
    }
    const std::uint8_t replacements[] = {0x00, 0x01, 0x7f, 0x80, 0x83, 0x84, 0x85, 0xa0, 0xc0,
                                         0xc1, 0xca, 0xcb, 0xcc, 0xcf, 0xd3, 0xde, 0xff};
    for (std::size_t at = 0; at < head.size(); ++at) {
        for (std::uint8_t replacement : replacements) {
            std::vector<std::byte> changed = head;
            changed[at] = std::byte{replacement};
            CAPTURE(at);
            CAPTURE(replacement);
            check_usual_response_agrees(usual_response_frame_of(changed), l);
            limits shallow = l;
            shallow.max_depth = 2;
            check_usual_response_agrees(usual_response_frame_of(changed), shallow);
        }
    }
}

// Found by fuzz_message: its check compared the two decodings with ==, at which a NaN equals
// nothing, so a result holding one failed the check though both paths read it alike.
TEST_CASE("decode_usual_response reads a NaN in the result as the general path does [MSG-7]") {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    const response reply =
        response::success(7, value::map{{"maximum", value(nan)}, {"default", value(11.0)}});
    const received_frame frame = usual_response_frame_of(reply);
    const auto fast = detail::decode_usual_response(frame, limits{}, codec_set::all());
    REQUIRE(fast.has_value());
    const auto general = usual_response_general(frame, limits{});
    REQUIRE(general.has_value());
    std::error_code ec;
    const auto fast_bytes = encode_message(message(*fast), {}, ec).to_bytes();
    REQUIRE_FALSE(ec);
    CHECK(fast_bytes == encode_message(message(*general), {}, ec).to_bytes());
    const value* maximum = fast->result.find("maximum");
    REQUIRE(maximum != nullptr);
    REQUIRE(maximum->is_float());
    CHECK(std::isnan(maximum->as_double().value()));
}
