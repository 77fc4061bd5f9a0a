#include <slicerbridge/message/message.hpp>

#include <slicerbridge/message/invoke.hpp>

#include "support/printers.hpp"
#include "support/random_value.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

using namespace slicerbridge;

namespace {

received_frame usual_request_frame_of(const std::vector<std::byte>& head,
                                      const std::vector<std::byte>& bulk = {}) {
    received_frame frame;
    frame.head = buffer::copy_of(head.data(), head.size());
    frame.bulk = buffer::copy_of(bulk.data(), bulk.size());
    return frame;
}

received_frame usual_request_frame_of(const encoded_frame& encoded) {
    const std::vector<std::byte> all = encoded.to_bytes();
    const std::size_t head_size = encoded.head().size();
    return usual_request_frame_of(
        std::vector<std::byte>(all.begin() + 16, all.begin() + 16 + head_size),
        std::vector<std::byte>(all.begin() + 16 + head_size, all.end()));
}

received_frame usual_request_frame_of(const message& m, const encode_options& options = {}) {
    std::error_code ec;
    const encoded_frame encoded = encode_message(m, options, ec);
    REQUIRE_FALSE(ec);
    return usual_request_frame_of(encoded);
}

/// What the server's general path makes of the frame after the handshake: a request, or
/// nothing (an error it reports, or another kind of message).
std::optional<request> usual_request_general(const received_frame& frame, const limits& l,
                                             codec_set allowed = codec_set::all()) {
    std::error_code ec;
    value head = decode_frame(frame, l, allowed, ec);
    if (ec) {
        return std::nullopt;
    }
    std::string what;
    message decoded = decode_message(std::move(head), false, ec, what);
    auto* received = std::get_if<request>(&decoded);
    if (ec || received == nullptr) {
        return std::nullopt;
    }
    return *received;
}

/// The property the server relies on: the fast path answers only what the general path decodes
/// as a request without error, and then as it does.
void check_usual_request_agrees(const received_frame& frame, const limits& l = {},
                                codec_set allowed = codec_set::all()) {
    const auto fast = detail::decode_usual_request(frame, l, allowed);
    if (fast) {
        const auto general = usual_request_general(frame, l, allowed);
        REQUIRE(general.has_value());
        // By their bytes: a changed byte may make a NaN, which equals nothing.
        std::error_code ec;
        CHECK(encode_message(*fast, {}, ec).to_bytes() ==
              encode_message(*general, {}, ec).to_bytes());
    }
}

invoke_params usual_request_invoke_params(std::size_t inputs, bool with_parameters,
                                          std::optional<double> deadline) {
    invoke_params p;
    p.processor = "threshold";
    for (std::size_t i = 0; i < inputs; ++i) {
        const std::size_t n = 2 + 5 * i;
        p.inputs.emplace_back("in" + std::to_string(i),
                              image::adopt(std::vector<std::int16_t>(n * n * n, 3), {n, n, n}));
    }
    if (with_parameters) {
        p.parameters.emplace_back("level", parameter_value(0.5));
        p.parameters.emplace_back("name", parameter_value("\xc3\xa9t\xc3\xa9"));
    }
    p.deadline = deadline;
    return p;
}

} // namespace

TEST_CASE("decode_usual_request reads the requests write_request writes, as the general path "
          "does [MSG-1] [MSG-2]") {
    const std::uint64_t ids[] = {0,     1,     127,         128,        255,           256,
                                 65535, 65536, 4294967295u, 4294967296, max_request_id};
    const std::string methods[] = {"invoke",
                                   "ping",
                                   "",
                                   std::string(31, 'm'),
                                   std::string(32, 'm'),
                                   std::string(300, 'm'),
                                   "\xe2\x82\xac-method"};
    test_support::random_values values(20261206);
    for (std::uint64_t id : ids) {
        for (const auto& method : methods) {
            for (int i = 0; i < 6; ++i) {
                value params = values.make(3, true);
                if (!params.is_map()) {
                    params = value::map{{"held", std::move(params)}};
                }
                const request sent{id, method, std::move(params)};
                CAPTURE(id);
                CAPTURE(method);
                CAPTURE(i);
                const received_frame frame = usual_request_frame_of(sent);
                const auto fast = detail::decode_usual_request(frame, limits{}, codec_set::all());
                REQUIRE(fast.has_value());
                CHECK(*fast == sent);
                check_usual_request_agrees(frame);
            }
        }
    }
}

TEST_CASE("decode_usual_request reads the invoke requests the client writes, with bulk inputs, "
          "compressed or not [INV-1] [BULK-5]") {
    encode_options compressed;
    compressed.compression = codec::lz4;
    compressed.compress_min = 64;
    for (std::size_t inputs = 0; inputs <= 2; ++inputs) {
        for (bool with_parameters : {false, true}) {
            for (const auto& deadline : {std::optional<double>(), std::optional<double>(2.5)}) {
                const invoke_params p =
                    usual_request_invoke_params(inputs, with_parameters, deadline);
                for (const auto& options : {encode_options{}, compressed}) {
                    CAPTURE(inputs);
                    CAPTURE(with_parameters);
                    std::error_code ec;
                    const received_frame frame =
                        usual_request_frame_of(encode_request(77, p, options, ec));
                    REQUIRE_FALSE(ec);
                    const auto fast =
                        detail::decode_usual_request(frame, limits{}, codec_set::all());
                    REQUIRE(fast.has_value());
                    CHECK(*fast == request{77, "invoke", to_value(p)});
                    check_usual_request_agrees(frame);
                    const auto read = invoke_params::from_value(fast->params, ec);
                    CHECK_FALSE(ec);
                    CHECK(to_value(read) == to_value(p));
                    if (inputs > 0 && &options == &compressed) {
                        // Not allowed: the general path reports unsupported_codec.
                        CHECK_FALSE(
                            detail::decode_usual_request(frame, limits{}, codec_set{}).has_value());
                    }
                }
            }
        }
    }
}

TEST_CASE("decode_usual_request declines every other head, for the general path to report "
          "[MSG-1] [MSG-2] [HEAD-5] [LIMIT-2]") {
    auto declines = [](const received_frame& frame, const limits& l = {}) {
        return !detail::decode_usual_request(frame, l, codec_set::all()).has_value();
    };
    const request usual_sent{5, "invoke", value::map{{"processor", value("p")}}};
    const received_frame usual = usual_request_frame_of(usual_sent);
    REQUIRE_FALSE(declines(usual));

    // Other kinds of message, and requests the general path refuses.
    CHECK(declines(usual_request_frame_of(response::success(5, value::map{}))));
    CHECK(declines(usual_request_frame_of(notification{"cancel", value::map{{"id", value(5)}}})));
    client_hello hello;
    CHECK(declines(usual_request_frame_of(hello)));
    CHECK(declines(usual_request_frame_of(request{5, "invoke", value(3)})));
    CHECK(declines(usual_request_frame_of(request{5, "invoke", value()})));
    CHECK(declines(usual_request_frame_of(request{max_request_id + 1, "invoke", value::map{}})));

    // Valid, but not the usual form: another key order, no params, a method that is not a
    // string is not valid at all.
    value reordered = value::map{{"id", value(5)},
                                 {"kind", value("request")},
                                 {"method", value("invoke")},
                                 {"params", value::map{}}};
    CHECK(declines(usual_request_frame_of(encode_frame(reordered, {}).head())));
    value without_params =
        value::map{{"kind", value("request")}, {"id", value(5)}, {"method", value("ping")}};
    CHECK(declines(usual_request_frame_of(encode_frame(without_params, {}).head())));
    value number_method = to_value(usual_sent);
    number_method["method"] = value(1);
    CHECK(declines(usual_request_frame_of(encode_frame(number_method, {}).head())));

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
    CHECK(declines(usual_request_frame_of(trailing)));
    CHECK(declines(usual_request_frame_of(std::vector<std::byte>{})));
}

TEST_CASE("decode_usual_request answers a changed or cut usual head only as the general path "
          "does") {
    invoke_params p = usual_request_invoke_params(0, true, 1.5);
    p.inputs.emplace_back("small", image::adopt(std::vector<std::uint8_t>(8, 1), {2, 2, 2}));
    std::error_code ec;
    const received_frame usual = usual_request_frame_of(encode_request(300, p, {}, ec));
    REQUIRE_FALSE(ec);
    const std::vector<std::byte> head(usual.head.data(), usual.head.data() + usual.head.size());
    const std::vector<std::byte> bulk(usual.bulk.data(), usual.bulk.data() + usual.bulk.size());
    limits l;
    l.max_depth = 5;
    REQUIRE(detail::decode_usual_request(usual, l, codec_set::all()).has_value());
    check_usual_request_agrees(usual, l);
    for (std::size_t cut = 0; cut < head.size(); ++cut) {
        CAPTURE(cut);
        check_usual_request_agrees(
            usual_request_frame_of(std::vector<std::byte>(head.begin(), head.begin() + cut), bulk),
            l);
    }
    limits shallow = l;
    shallow.max_depth = 2;
    for (std::size_t at = 0; at < head.size(); ++at) {
        for (int replacement = 0; replacement <= 0xff; ++replacement) {
            std::vector<std::byte> changed = head;
            changed[at] = static_cast<std::byte>(replacement);
            CAPTURE(at);
            CAPTURE(replacement);
            const received_frame frame = usual_request_frame_of(changed, bulk);
            check_usual_request_agrees(frame, l);
            check_usual_request_agrees(frame, shallow);
        }
    }
}

namespace {

/// What the server's general path makes of an invoke's frame after the handshake: the request's
/// id and its params read without error, or nothing.
std::optional<std::pair<std::uint64_t, invoke_params>>
usual_invoke_general(const received_frame& frame, const limits& l) {
    const auto received = usual_request_general(frame, l);
    if (!received || received->method != "invoke") {
        return std::nullopt;
    }
    std::error_code ec;
    std::string what;
    std::string offending;
    invoke_params params = invoke_params::from_value(received->params, ec, what, offending);
    if (ec) {
        return std::nullopt;
    }
    return std::make_pair(received->id, std::move(params));
}

/// The invoke request of `id` and `p`, as bytes (a NaN equals nothing).
std::vector<std::byte> usual_invoke_bytes(std::uint64_t id, const invoke_params& p) {
    std::error_code ec;
    return encode_request(id, p, {}, ec).to_bytes();
}

/// The property the server relies on: decode_usual_invoke reads only what the general path reads
/// without error, and as it does. Returns whether it read the frame.
bool check_usual_invoke_agrees(const received_frame& frame, const limits& l = {}) {
    std::uint64_t id = 0;
    invoke_params fast;
    if (!detail::decode_usual_invoke(frame, l, codec_set::all(), id, fast)) {
        return false;
    }
    const auto general = usual_invoke_general(frame, l);
    REQUIRE(general.has_value());
    CHECK(id == general->first);
    CHECK(usual_invoke_bytes(id, fast) == usual_invoke_bytes(general->first, general->second));
    return true;
}

invoke_params usual_invoke_scalars(std::optional<double> deadline) {
    invoke_params p;
    p.processor = "th\xc3\xa9reshold";
    p.parameters.emplace_back("on", parameter_value(true));
    p.parameters.emplace_back("count", parameter_value(std::int64_t{-7}));
    p.parameters.emplace_back("big", parameter_value(std::int64_t{1} << 40));
    p.parameters.emplace_back("level", parameter_value(0.25));
    p.parameters.emplace_back("name", parameter_value("\xc3\xa9t\xc3\xa9"));
    p.parameters.emplace_back("sizes", parameter_value(std::vector<std::int64_t>{1, 2, 3}));
    p.parameters.emplace_back("weights", parameter_value(std::vector<double>{0.5, 1.5}));
    p.parameters.emplace_back("labels", parameter_value(std::vector<std::string>{"a", "b"}));
    p.deadline = deadline;
    return p;
}

} // namespace

TEST_CASE("decode_usual_invoke reads the invoke requests without inputs the client writes, as "
          "the general path does [INV-1] [INV-7]") {
    std::vector<invoke_params> sent(4);
    sent[0].processor = "empty";
    sent[1].processor = std::string(40, 'p'); // not a short string
    sent[2] = usual_invoke_scalars(std::nullopt);
    sent[3] = usual_invoke_scalars(0.0);
    for (const auto& p : sent) {
        for (std::uint64_t id : {std::uint64_t{0}, std::uint64_t{300}, max_request_id}) {
            CAPTURE(p.processor);
            CAPTURE(id);
            std::error_code ec;
            const received_frame frame = usual_request_frame_of(encode_request(id, p, {}, ec));
            REQUIRE_FALSE(ec);
            std::uint64_t read_id = 0;
            invoke_params read;
            REQUIRE(detail::decode_usual_invoke(frame, limits{}, codec_set::all(), read_id, read));
            CHECK(read_id == id);
            CHECK(to_value(read) == to_value(p));
            CHECK(check_usual_invoke_agrees(frame));
        }
    }
}

TEST_CASE("decode_usual_invoke declines every other invoke, for the general path to decide "
          "[INV-2] [INV-7] [HEAD-5] [HEAD-7] [MSG-13]") {
    auto declines = [](const message& m, const limits& l = {}) {
        const received_frame frame = usual_request_frame_of(m);
        std::uint64_t id = 0;
        invoke_params read;
        const bool declined = !detail::decode_usual_invoke(frame, l, codec_set::all(), id, read);
        check_usual_invoke_agrees(frame, l);
        return declined;
    };
    const auto invoke = [](value::map params) {
        return message(request{9, "invoke", value(std::move(params))});
    };
    REQUIRE_FALSE(declines(invoke({{"processor", value("p")}})));
    REQUIRE_FALSE(declines(invoke({{"parameters", value::map{{"a", value(1)}}},
                                   {"processor", value("p")},
                                   {"inputs", value::map{}}})));

    // Other methods and params that are not a map.
    CHECK(declines(request{9, "describe", value::map{{"processor", value("p")}}}));
    CHECK(declines(request{9, "invoke", value(3)}));
    // Params the general path refuses, or reads with more than this path reads.
    CHECK(declines(invoke({})));
    CHECK(declines(invoke({{"processor", value(3)}})));
    CHECK(declines(invoke({{"processor", value("p")}, {"deadline", value(-1.0)}})));
    CHECK(declines(invoke({{"processor", value("p")}, {"deadline", value(std::nan(""))}})));
    CHECK(declines(invoke({{"processor", value("p")}, {"deadline", value("soon")}})));
    CHECK(declines(invoke({{"processor", value("p")}, {"deadline", value()}})));
    CHECK(declines(invoke({{"processor", value("p")}, {"inputs", value()}})));
    CHECK(declines(invoke({{"processor", value("p")}, {"inputs", value::map{{"a", value(1)}}}})));
    CHECK(declines(invoke({{"processor", value("p")}, {"parameters", value(1)}})));
    CHECK(declines(
        invoke({{"processor", value("p")}, {"parameters", value::map{{"a", value::map{}}}}})));
    CHECK(declines(invoke(
        {{"processor", value("p")}, {"parameters", value::map{{"a", value::array{value()}}}}})));
    CHECK(declines(invoke({{"processor", value("p")}, {"other", value(1)}})));
    CHECK(declines(invoke({{"processor", value("p")},
                           {"parameters", value::map{{"a", value(std::uint64_t{1} << 63)}}}})));
    CHECK(declines(invoke({{"processor", value("p")}}), [] {
        limits shallow;
        shallow.max_depth = 2;
        return shallow;
    }()));

    // Repeated keys, written by hand: the general path refuses them ([HEAD-7]).
    const auto raw = [](std::vector<std::uint8_t> params) {
        const encoded_frame encoded =
            encode_frame(to_value(request{9, "invoke", value::map{}}), {});
        std::vector<std::byte> head(encoded.head().data(),
                                    encoded.head().data() + encoded.head().size());
        head.pop_back(); // the empty params map
        for (auto byte : params) {
            head.push_back(std::byte{byte});
        }
        return usual_request_frame_of(head);
    };
    const received_frame twice_processor =
        raw({0x82, 0xa9, 'p', 'r', 'o', 'c', 'e', 's', 's', 'o', 'r', 0xa1, 'p', 0xa9, 'p', 'r',
             'o', 'c', 'e', 's', 's', 'o', 'r', 0xa1, 'q'});
    const received_frame twice_parameter =
        raw({0x82, 0xa9, 'p', 'r', 'o', 'c', 'e', 's', 's', 'o', 'r', 0xa1, 'p', 0xaa, 'p', 'a',
             'r', 'a', 'm', 'e', 't', 'e', 'r', 's', 0x82, 0xa1, 'a', 0x01, 0xa1, 'a', 0x02});
    const received_frame once = raw({0x81, 0xa9, 'p', 'r', 'o', 'c', 'e', 's', 's', 'o', 'r', 0xa1,
                                     'p'});
    for (const auto* frame : {&twice_processor, &twice_parameter, &once}) {
        std::uint64_t id = 0;
        invoke_params read;
        const bool fast = detail::decode_usual_invoke(*frame, limits{}, codec_set::all(), id, read);
        CHECK(fast == (frame == &once));
        CHECK(fast == usual_invoke_general(*frame, limits{}).has_value());
    }
}

TEST_CASE("decode_usual_invoke answers a changed or cut usual invoke only as the general path "
          "does") {
    const invoke_params p = usual_invoke_scalars(1.5);
    std::error_code ec;
    const received_frame usual = usual_request_frame_of(encode_request(300, p, {}, ec));
    REQUIRE_FALSE(ec);
    const std::vector<std::byte> head(usual.head.data(), usual.head.data() + usual.head.size());
    REQUIRE(check_usual_invoke_agrees(usual));
    for (std::size_t cut = 0; cut < head.size(); ++cut) {
        CAPTURE(cut);
        CHECK_FALSE(check_usual_invoke_agrees(
            usual_request_frame_of(std::vector<std::byte>(head.begin(), head.begin() + cut))));
    }
    limits shallow;
    shallow.max_depth = 3;
    std::size_t read = 0;
    for (std::size_t at = 0; at < head.size(); ++at) {
        for (int replacement = 0; replacement <= 0xff; ++replacement) {
            std::vector<std::byte> changed = head;
            changed[at] = static_cast<std::byte>(replacement);
            CAPTURE(at);
            CAPTURE(replacement);
            const received_frame frame = usual_request_frame_of(changed);
            read += check_usual_invoke_agrees(frame) ? 1 : 0;
            check_usual_invoke_agrees(frame, shallow);
        }
    }
    CHECK(read > head.size()); // the unchanged bytes at least, and some changed ones
}
