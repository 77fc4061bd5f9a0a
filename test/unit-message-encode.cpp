#include <slicerbridge/message/message.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <limits>
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

    request with_bulk{max_request_id, "invoke",
                      value::map{{"processor", value("echo")},
                                 {"inputs", value::map{{"a", bulk_of(13, 1)},
                                                       {"b", bulk_of(100000, 2)}}}}};
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
