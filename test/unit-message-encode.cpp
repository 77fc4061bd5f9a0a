#include <slicerbridge/message/message.hpp>

#include <slicerbridge/detail/msgpack_depth.hpp>
#include <slicerbridge/message/invoke.hpp>

#include "support/printers.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <optional>
#include <string>
#include <vector>

using namespace slicerbridge;

namespace {

std::vector<std::byte> through_value(const message& m, const encode_options& options = {}) {
    return encode_frame(to_value(m), options).to_bytes();
}

std::vector<std::byte> direct(const message& m, const encode_options& options = {}) {
    std::error_code ec;
    auto frame = encode_message(m, options, ec);
    REQUIRE(ec.value() == 0);
    return frame.to_bytes();
}

value bulk_of(std::size_t n, unsigned char fill) {
    std::vector<std::byte> bytes(n, std::byte{fill});
    return value(bulk{buffer::copy_of(bytes.data(), bytes.size())});
}

} // namespace

TEST_CASE("encode_message writes requests byte for byte as encode_frame of to_value [CANON-5] "
          "[CANON-6] [CANON-9]") {
    request plain{7, "ping", value::map{}};
    CHECK(direct(plain) == through_value(plain));

    request with_bulk{
        max_request_id, "invoke",
        value::map{{"processor", value("echo")},
                   {"inputs", value::map{{"a", bulk_of(13, 1)}, {"b", bulk_of(100000, 2)}}}}};
    CHECK(direct(with_bulk) == through_value(with_bulk));
    encode_options compressed;
    compressed.compression = codec::lz4;
    compressed.compress_min = 1024;
    CHECK(direct(with_bulk, compressed) == through_value(with_bulk, compressed));
}

TEST_CASE("encode_message writes responses and notifications byte for byte as encode_frame of "
          "to_value [CANON-2] [CANON-3] [CANON-5]") {
    response result;
    result.id = 42;
    result.result = value::map{{"outputs", value::map{{"x", bulk_of(9, 3)}}}};
    CHECK(direct(result) == through_value(result));

    result.timings = timings{1e-6, 0.0, std::numeric_limits<double>::quiet_NaN(), 3.5};
    CHECK(direct(result) == through_value(result));

    response failure;
    failure.id = 3;
    failure.error = error_info{-5, "negative code", value()};
    CHECK(direct(failure) == through_value(failure));

    response connection_level;
    connection_level.error =
        error_info{1004, std::string(300, 'w'), value::map{{"id", value(std::uint64_t{9})}}};
    CHECK(direct(connection_level) == through_value(connection_level));

    notification progress{"progress", value::map{{"id", value(std::uint64_t{1})},
                                                 {"fraction", value(0.25)},
                                                 {"message", value("a quarter")}}};
    CHECK(direct(progress) == through_value(progress));
}

TEST_CASE("encode_message writes hellos as encode_frame of to_value [HELLO-1]") {
    client_hello hello;
    hello.capabilities = {"progress", "codec.zstd"};
    CHECK(direct(hello) == through_value(hello));
}

TEST_CASE("encode_message writes ids of every width and timings of every kind of number as "
          "encode_frame of to_value [CANON-2] [CANON-3]") {
    const double numbers[] = {0.0,
                              -0.0,
                              1e-300,
                              5e-324,
                              1e300,
                              std::numeric_limits<double>::infinity(),
                              -std::numeric_limits<double>::infinity(),
                              std::numeric_limits<double>::quiet_NaN(),
                              -std::numeric_limits<double>::quiet_NaN()};
    for (std::uint64_t id : {0ull, 127ull, 128ull, 255ull, 256ull, 65535ull, 65536ull,
                             4294967295ull, 4294967296ull, 0x7fffffffffffffffull}) {
        CAPTURE(id);
        request r{id, "invoke", value::map{{"processor", value("p")}}};
        CHECK(direct(r) == through_value(r));
        for (double number : numbers) {
            CAPTURE(number);
            response answer;
            answer.id = id;
            answer.result = value::map{{"outputs", value::map{}}};
            answer.timings = timings{number, 1.0, number, 0.5};
            CHECK(direct(answer) == through_value(answer));
            answer.error = error_info{1003, "bad", value()};
            CHECK(direct(answer) == through_value(answer));
        }
    }
    response connection_level;
    connection_level.error = error_info{1004, "w", value()};
    connection_level.timings = timings{};
    CHECK(direct(connection_level) == through_value(connection_level));
    notification empty{"", value::map{}};
    CHECK(direct(empty) == through_value(empty));
    // Methods up to 31 bytes join the head's fixed bytes; longer ones are written on their own.
    for (std::size_t length : {0, 1, 30, 31, 32, 255, 256, 70000}) {
        CAPTURE(length);
        const std::string method(length, 'm');
        request r{300, method, value::map{}};
        CHECK(direct(r) == through_value(r));
        notification n{method, value::map{{"id", value(1)}}};
        CHECK(direct(n) == through_value(n));
    }
}

TEST_CASE("packed_literal holds the bytes msgpack_writer writes for the same keys") {
    static constexpr auto packed = detail::packed_literal<64, 2>()
                                       .map(2)
                                       .str("kind")
                                       .number()
                                       .str("")
                                       .str("thirty-one bytes long, exactly.")
                                       .number();
    std::vector<std::byte> expected;
    detail::msgpack_writer writer(expected);
    writer.write_map_header(2);
    writer.write_string("kind");
    writer.write_double(0.0);
    writer.write_string("");
    writer.write_string("thirty-one bytes long, exactly.");
    writer.write_double(0.0);
    REQUIRE(packed.size() == expected.size());
    CHECK(std::vector<std::byte>(packed.data(), packed.data() + packed.size()) == expected);
    CHECK(packed.number_offset(0) == 7);
    CHECK(packed.number_offset(1) == packed.size() - 8);

    std::vector<std::byte> written;
    detail::msgpack_writer out(written);
    packed.write_to(out);
    CHECK(written == expected);
    CHECK(packed.containers() == 1);
    CHECK(out.containers_written() == writer.containers_written());
}

TEST_CASE("encode_message counts the maps it writes as raw bytes: the depth check a sender "
          "skips still holds [LIMIT-11] [HEAD-5]") {
    const auto nested = [](int levels) {
        value v = value::map{};
        for (int i = 0; i < levels; ++i) {
            v = value::map{{"n", v}};
        }
        return v;
    };
    for (int levels = 0; levels <= 6; ++levels) {
        CAPTURE(levels);
        response answer;
        answer.id = 9;
        answer.result = nested(levels);
        answer.timings = timings{0.5, 0.25, 1.0, 0.125};
        request call{9, "invoke", nested(levels)};
        notification note{"progress", nested(levels)};
        response failure;
        failure.id = 9;
        failure.error = error_info{1003, "bad", nested(levels)};
        failure.timings = timings{};
        for (const message& m : {message(answer), message(call), message(note), message(failure)}) {
            std::error_code ec;
            const auto frame = encode_message(m, encode_options{}, ec);
            REQUIRE_FALSE(ec);
            const std::uint64_t depth = detail::msgpack_depth(frame.head());
            for (std::uint32_t max = 0; max <= 10; ++max) {
                CAPTURE(max);
                CHECK(frame.head_depth_within(max) == (depth <= max));
            }
        }
    }
}

namespace {

std::vector<std::byte> invoke_request_bytes(std::uint64_t id, const invoke_params& p,
                                            const encode_options& options, std::uint32_t& depth) {
    std::error_code ec;
    const auto frame = encode_request(id, p, options, ec);
    REQUIRE_FALSE(ec);
    depth = 0;
    while (!frame.head_depth_within(depth)) {
        ++depth;
    }
    return frame.to_bytes();
}

std::vector<std::byte> invoke_request_through_value(std::uint64_t id, const invoke_params& p,
                                                    const encode_options& options) {
    const auto bytes = through_value(request{id, "invoke", to_value(p)}, options);
    std::error_code ec;
    CHECK(encode_request(id, "invoke", to_value(p), options, ec).to_bytes() == bytes);
    return bytes;
}

} // namespace

TEST_CASE("encode_request writes invoke params byte for byte as the request of to_value, and "
          "bounds their depth as it [CANON-2] [CANON-3] [CANON-6] [LIMIT-11]") {
    const auto voxels = [](std::size_t n) {
        return image::adopt(std::vector<std::int16_t>(n * n * n, 7), {n, n, n});
    };
    const std::optional<double> deadlines[] = {std::nullopt, 0.0, 2.5,
                                               std::numeric_limits<double>::quiet_NaN()};
    encode_options compressed;
    compressed.compression = codec::lz4;
    compressed.compress_min = 64;
    for (std::size_t processor_length : {0, 5, 31, 32, 300}) {
        for (std::size_t inputs = 0; inputs <= 2; ++inputs) {
            for (int parameters = 0; parameters <= 2; ++parameters) {
                for (const auto& deadline : deadlines) {
                    invoke_params p;
                    p.processor.assign(processor_length, 'p');
                    for (std::size_t i = 0; i < inputs; ++i) {
                        p.inputs.emplace_back("in" + std::to_string(i), voxels(2 + 6 * i));
                    }
                    if (parameters >= 1) {
                        p.parameters.emplace_back("flag", parameter_value(true));
                        p.parameters.emplace_back("count", parameter_value(std::int64_t{-40}));
                    }
                    if (parameters >= 2) {
                        p.parameters.emplace_back("name", parameter_value("text"));
                        p.parameters.emplace_back("sizes",
                                                  parameter_value(std::vector<double>{0.5, 1e300}));
                        p.parameters.emplace_back(std::string(40, 'k'),
                                                  parameter_value(std::vector<std::string>{"a"}));
                    }
                    p.deadline = deadline;
                    CAPTURE(processor_length);
                    CAPTURE(inputs);
                    CAPTURE(parameters);
                    for (const auto& options : {encode_options{}, compressed}) {
                        for (std::uint64_t id : {0ull, 300ull, 0x7fffffffffffffffull}) {
                            std::uint32_t depth = 0;
                            const auto bytes = invoke_request_bytes(id, p, options, depth);
                            CHECK(bytes == invoke_request_through_value(id, p, options));
                            std::error_code ec;
                            const auto frame =
                                encode_message(request{id, "invoke", to_value(p)}, options, ec);
                            CHECK_FALSE(frame.head_depth_within(depth - 1));
                            CHECK(frame.head_depth_within(depth));
                        }
                    }
                }
            }
        }
    }
}

TEST_CASE("set_request_deadline makes the bytes encode_request writes with that deadline, and "
          "nothing else changes [LIMIT-13]") {
    encode_options compressed;
    compressed.compression = codec::lz4;
    compressed.compress_min = 64;
    for (std::size_t processor_length : {0, 31, 300}) {
        for (int parameters = 0; parameters <= 1; ++parameters) {
            invoke_params p;
            p.processor.assign(processor_length, 'p');
            p.inputs.emplace_back("in", image::adopt(std::vector<std::int16_t>(512, 7), {8, 8, 8}));
            if (parameters == 1) { // a float last among them: the deadline comes after it
                p.parameters.emplace_back("sigma", parameter_value(1.5));
            }
            for (double sent : {0.0, 2.5, 1e9}) {
                for (double remaining : {0.0, 7.25}) {
                    CAPTURE(processor_length);
                    CAPTURE(sent);
                    CAPTURE(remaining);
                    for (const auto& options : {encode_options{}, compressed}) {
                        p.deadline = sent;
                        std::error_code ec;
                        auto held = encode_request(42, p, options, ec);
                        REQUIRE_FALSE(ec);
                        set_request_deadline(held, remaining);
                        p.deadline = remaining;
                        CHECK(held.to_bytes() == encode_request(42, p, options, ec).to_bytes());
                    }
                }
            }
        }
    }
}
