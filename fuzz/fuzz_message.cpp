// libFuzzer target: message decoding (message/message.hpp and the params of each method), on
// the head the input decodes to. A head read as a message must encode back to the same message:
// encode_message writes the same bytes as encode_frame(to_value(m)), and decoding those gives a
// message that encodes to them again. The client's fast path for the usual response, and the
// server's for the usual request and the usual invoke's params, agree with the general one.

#include "common.hpp"

#include <slicerbridge/message/catalog.hpp>
#include <slicerbridge/message/invoke.hpp>
#include <slicerbridge/message/message.hpp>
#include <slicerbridge/message/progress.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <system_error>
#include <variant>
#include <vector>

namespace {

namespace sb = slicerbridge;

std::vector<std::byte> encode_message(const sb::message& m) {
    std::error_code ec;
    const sb::encoded_frame frame = sb::encode_message(m, {}, ec);
    FUZZ_CHECK(!ec); // what was decoded is small enough to encode
    std::vector<std::byte> bytes = frame.to_bytes();
    std::optional<std::vector<std::byte>> generic = fuzz::encode(sb::to_value(m));
    FUZZ_CHECK(generic.has_value() && *generic == bytes);
    return bytes;
}

/// The params of each method, read as a server or a client reads them.
void read_payload(const sb::message& m) {
    std::error_code ec;
    std::string what;
    if (const auto* r = std::get_if<sb::request>(&m)) {
        if (r->method == sb::methods::invoke) {
            std::string offending;
            (void)sb::invoke_params::from_value(r->params, ec, what, offending);
        } else if (r->method == sb::methods::describe) {
            (void)sb::describe_params::from_value(r->params, ec, what);
        }
    } else if (const auto* n = std::get_if<sb::notification>(&m)) {
        if (n->method == sb::methods::progress) {
            (void)sb::progress_params::from_value(n->params, ec, what);
        } else if (n->method == sb::methods::cancel) {
            (void)sb::cancel_params::from_value(n->params, ec);
        }
    } else if (const auto* s = std::get_if<sb::response>(&m)) {
        if (!s->is_error()) { // the client knows the method; try each result
            (void)sb::invoke_result::from_value(s->result, ec, what);
            (void)sb::catalog_result::from_value(s->result, ec, what);
            (void)sb::processor_description::from_value(s->result, ec, what);
        }
    }
}

void decode_as(const sb::value& head, bool expecting_hello) {
    std::error_code ec;
    std::string what;
    const sb::message m = sb::decode_message(head, expecting_hello, ec, what);
    // The moving overload decides the same, and leaves a head it refuses as it was.
    sb::value copy = head;
    std::error_code moved_ec;
    std::string moved_what;
    const sb::message moved =
        sb::decode_message(std::move(copy), expecting_hello, moved_ec, moved_what);
    FUZZ_CHECK(ec == moved_ec && what == moved_what);
    if (ec) {
        FUZZ_CHECK(fuzz::encode(copy) == fuzz::encode(head));
        if (const std::optional<std::uint64_t> id = sb::request_id_of(head)) {
            FUZZ_CHECK(*id <= sb::max_request_id);
        }
        return;
    }
    FUZZ_CHECK(m.index() == moved.index());
    const std::vector<std::byte> bytes = encode_message(m);
    FUZZ_CHECK(encode_message(moved) == bytes);
    read_payload(m);
    const sb::value again = fuzz::decode_encoded(bytes);
    const sb::message m2 = sb::decode_message(again, expecting_hello, ec, what);
    FUZZ_CHECK(!ec);
    FUZZ_CHECK(m2.index() == m.index());
    FUZZ_CHECK(encode_message(m2) == bytes);
}

/// The client's fast path for the usual response answers only what the general path decodes
/// without error, and as it does (compared by their bytes: a NaN in the result equals nothing).
void check_usual_response(const std::uint8_t* data, std::size_t size) {
    const std::optional<fuzz::frame_input> in = fuzz::split_input(data, size);
    if (!in) {
        return;
    }
    sb::received_frame frame;
    frame.head = in->head;
    frame.bulk = in->bulk;
    const std::optional<sb::response> fast =
        sb::detail::decode_usual_response(frame, in->settings.limits, in->settings.codecs);
    if (!fast) {
        return;
    }
    std::error_code ec;
    const sb::value head =
        sb::decode_head(in->head, in->bulk, in->settings.limits, in->settings.codecs, ec);
    FUZZ_CHECK(!ec);
    std::string what;
    const sb::message m = sb::decode_message(head, false, ec, what);
    FUZZ_CHECK(!ec && std::holds_alternative<sb::response>(m));
    FUZZ_CHECK(encode_message(m) == encode_message(sb::message(*fast)));
}

/// The client's fast path for an invoke's usual response, its result read without a value,
/// answers only what the general path decodes without error, with a result that
/// invoke_result::from_value takes, and as they do (compared by the bytes of the response).
void check_usual_invoke_response(const std::uint8_t* data, std::size_t size) {
    const std::optional<fuzz::frame_input> in = fuzz::split_input(data, size);
    if (!in) {
        return;
    }
    sb::received_frame frame;
    frame.head = in->head;
    frame.bulk = in->bulk;
    std::uint64_t id = 0;
    std::optional<sb::timings> timings;
    sb::invoke_result fast;
    if (!sb::detail::read_usual_response_with(
            frame, in->settings.limits, in->settings.codecs, id, timings,
            [&](sb::detail::head_decoder& decoder, std::uint64_t) {
                return sb::detail::read_usual_invoke_result(decoder, in->settings.limits, fast);
            })) {
        return;
    }
    std::error_code ec;
    const sb::value head =
        sb::decode_head(in->head, in->bulk, in->settings.limits, in->settings.codecs, ec);
    FUZZ_CHECK(!ec);
    std::string what;
    const sb::message m = sb::decode_message(head, false, ec, what);
    const auto* general = std::get_if<sb::response>(&m);
    FUZZ_CHECK(!ec && general != nullptr && !general->error && general->id == id &&
               general->timings == timings);
    const sb::invoke_result slow = sb::invoke_result::from_value(general->result, ec);
    FUZZ_CHECK(!ec);
    std::error_code fast_ec;
    std::error_code slow_ec;
    const auto fast_bytes = sb::encode_response(id, fast, timings, {}, fast_ec).to_bytes();
    const auto slow_bytes = sb::encode_response(id, slow, timings, {}, slow_ec).to_bytes();
    FUZZ_CHECK(!fast_ec && !slow_ec && fast_bytes == slow_bytes);
}

/// The server's fast path for the usual request answers only what the general path decodes,
/// after the handshake, as a request without error, and as it does (compared by their bytes: a
/// NaN in the params equals nothing).
void check_usual_request(const std::uint8_t* data, std::size_t size) {
    const std::optional<fuzz::frame_input> in = fuzz::split_input(data, size);
    if (!in) {
        return;
    }
    sb::received_frame frame;
    frame.head = in->head;
    frame.bulk = in->bulk;
    const std::optional<sb::request> fast =
        sb::detail::decode_usual_request(frame, in->settings.limits, in->settings.codecs);
    if (!fast) {
        return;
    }
    std::error_code ec;
    const sb::value head =
        sb::decode_head(in->head, in->bulk, in->settings.limits, in->settings.codecs, ec);
    FUZZ_CHECK(!ec);
    std::string what;
    const sb::message m = sb::decode_message(head, false, ec, what);
    FUZZ_CHECK(!ec && std::holds_alternative<sb::request>(m));
    FUZZ_CHECK(encode_message(m) == encode_message(sb::message(*fast)));
}

/// The server's fast path for the usual invoke reads only what the general path decodes as an
/// invoke request whose params invoke_params::from_value reads without error, and reads the same
/// id and params (compared by the bytes of their request: a NaN equals nothing).
void check_usual_invoke(const std::uint8_t* data, std::size_t size) {
    const std::optional<fuzz::frame_input> in = fuzz::split_input(data, size);
    if (!in) {
        return;
    }
    sb::received_frame frame;
    frame.head = in->head;
    frame.bulk = in->bulk;
    std::uint64_t id = 0;
    sb::invoke_params fast;
    if (!sb::detail::decode_usual_invoke(frame, in->settings.limits, in->settings.codecs, id,
                                         fast)) {
        return;
    }
    std::error_code ec;
    const sb::value head =
        sb::decode_head(in->head, in->bulk, in->settings.limits, in->settings.codecs, ec);
    FUZZ_CHECK(!ec);
    std::string what;
    const sb::message m = sb::decode_message(head, false, ec, what);
    const auto* r = std::get_if<sb::request>(&m);
    FUZZ_CHECK(!ec && r != nullptr && r->id == id && r->method == sb::methods::invoke);
    std::string offending;
    const sb::invoke_params general = sb::invoke_params::from_value(r->params, ec, what, offending);
    FUZZ_CHECK(!ec);
    std::error_code fast_ec;
    std::error_code general_ec;
    FUZZ_CHECK(sb::encode_request(id, fast, {}, fast_ec).to_bytes() ==
               sb::encode_request(id, general, {}, general_ec).to_bytes());
    FUZZ_CHECK(!fast_ec && !general_ec);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    check_usual_response(data, size);
    check_usual_invoke_response(data, size);
    check_usual_request(data, size);
    check_usual_invoke(data, size);
    const std::optional<sb::value> head = fuzz::decode_input(data, size);
    if (!head) {
        return 0;
    }
    decode_as(*head, true);
    decode_as(*head, false);
    return 0;
}
