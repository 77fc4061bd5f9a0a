#ifndef SLICERBRIDGE_MESSAGE_IMPL_MESSAGE_HPP
#define SLICERBRIDGE_MESSAGE_IMPL_MESSAGE_HPP

#include <slicerbridge/detail/endian.hpp>
#include <slicerbridge/detail/field_reader.hpp>
#include <slicerbridge/detail/msgpack_writer.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <utility>
#include <variant>

namespace slicerbridge {
namespace detail {

/// A message's payload: moved out of a head that is given up, copied from one that is kept.
inline void take_payload(value& out, const value& v) {
    out = v;
}
inline void take_payload(value& out, value& v) {
    out = std::move(v);
}

/// The fields of a head that decode_message reads, found in one pass over it.
enum head_field : std::size_t {
    kind_field,
    id_field,
    method_field,
    params_field,
    result_field,
    error_field,
    timings_field,
    head_field_count
};
inline constexpr std::string_view head_field_names[head_field_count] = {
    "kind", "id", "method", "params", "result", "error", "timings"};

template <class Head>
using head_fields = Head* [head_field_count];

/// What request_id_of looks at.
inline constexpr std::string_view request_id_fields[] = {"kind", "id"};

// `Head` is `value` or `const value`. Payloads are taken last, once everything else is valid,
// so a head that fails to decode keeps all it had.

template <class Head>
bool read_params(field_reader& reader, Head* params, value& out) {
    if (params == nullptr) {
        out = value::map{};
        return true;
    }
    if (!params->is_map()) {
        return reader.fail("params", "expected a map");
    }
    take_payload(out, *params);
    return true;
}

inline bool read_id(field_reader& reader, const value& id, std::uint64_t& out) {
    return reader.to_uint(id, "id", out, 0, max_request_id);
}

template <class Head>
bool read_request(field_reader& reader, const head_fields<Head>& fields, request& r) {
    const value* id = reader.require(fields[id_field], "id");
    if (id == nullptr || !read_id(reader, *id, r.id)) {
        return false;
    }
    const std::string* method = reader.string_field(fields[method_field], "method", true);
    if (method == nullptr) {
        return false;
    }
    r.method = *method;
    return read_params(reader, fields[params_field], r.params);
}

template <class Head>
bool read_response(field_reader& reader, const head_fields<Head>& fields, response& r) {
    const value* id = reader.require(fields[id_field], "id");
    if (id == nullptr) {
        return false;
    }
    if (!id->is_nil()) {
        std::uint64_t number = 0;
        if (!read_id(reader, *id, number)) {
            return false;
        }
        r.id = number;
    }
    Head* result = fields[result_field];
    const value* error_value = fields[error_field];
    if ((result == nullptr) == (error_value == nullptr)) {
        return reader.fail({}, "expected exactly one of result and error");
    }
    if (result == nullptr) {
        std::error_code ec;
        std::string what;
        r.error = error_info::from_value(*error_value, ec, what);
        if (ec) {
            return reader.fail("error", what);
        }
    }
    if (const value* t = fields[timings_field]) {
        std::error_code ec;
        std::string what;
        r.timings = timings::from_value(*t, ec, what);
        if (ec) {
            return reader.fail("timings", what);
        }
    }
    if (result != nullptr) {
        take_payload(r.result, *result);
    }
    return true;
}

template <class Head>
bool read_notification(field_reader& reader, const head_fields<Head>& fields, notification& n) {
    const std::string* method = reader.string_field(fields[method_field], "method", true);
    if (method == nullptr) {
        return false;
    }
    n.method = *method;
    return read_params(reader, fields[params_field], n.params);
}

/// A request, response or notification read in place by `read(T&)`; an empty message if
/// that fails.
template <class T, class Read>
message read_body(Read&& read) {
    message out(std::in_place_type<T>);
    if (!read(*std::get_if<T>(&out))) {
        out = message();
    }
    return out;
}

template <class Head>
message decode_message(Head& head, bool expecting_hello, std::error_code& ec, std::string& what) {
    ec.clear();
    detail::field_reader reader(ec, what, error::invalid_message, "message");
    if (!reader.expect_map(head)) {
        return message();
    }
    head_fields<Head> fields;
    detail::find_fields<head_field_count, head_field_names>(head, fields);
    const std::string* found_kind = reader.string_field(fields[kind_field], "kind", true);
    if (found_kind == nullptr) {
        return message();
    }
    const std::string_view kind = *found_kind;
    if (is_literal(kind, "hello")) {
        if (!expecting_hello) {
            reader.fail("kind", "hello after the handshake");
            return message();
        }
        if (head.find("min_version") != nullptr || head.find("version") == nullptr) {
            client_hello hello = client_hello_from_value(head, ec, what);
            return ec ? message() : message(std::move(hello));
        }
        server_hello hello = server_hello_from_value(head, ec, what);
        return ec ? message() : message(std::move(hello));
    }
    if (expecting_hello) {
        ec = error::handshake_required;
        what = "message.kind: expected \"hello\" first";
        return message();
    }
    if (is_literal(kind, "request")) {
        auto nested = reader.nested("request");
        return read_body<request>(
            [&](request& out) { return read_request<Head>(nested, fields, out); });
    }
    if (is_literal(kind, "response")) {
        auto nested = reader.nested("response");
        return read_body<response>(
            [&](response& out) { return read_response<Head>(nested, fields, out); });
    }
    if (is_literal(kind, "notification")) {
        auto nested = reader.nested("notification");
        return read_body<notification>(
            [&](notification& out) { return read_notification<Head>(nested, fields, out); });
    }
    ec = error::unknown_kind;
    what = "message.kind: unknown kind";
    return message();
}

} // namespace detail

namespace detail {

/// Canonical MessagePack known at compile time (map headers, fixstr keys and values, float 64
/// tags with room for their bits), so that a message's fixed parts go to the writer in one
/// `write_raw` rather than piece by piece. Misuse (too small, a long key) fails to compile
/// where it is constexpr.
template <std::size_t Capacity, std::size_t Numbers = 0>
class packed_literal {
public:
    /// A map header for `n` <= 15 entries.
    constexpr packed_literal& map(std::size_t n) {
        if (n > 15) {
            throw std::length_error("packed_literal: not a fixmap");
        }
        put(0x80 | n);
        ++containers_;
        return *this;
    }

    /// A string of at most 31 bytes (fixstr).
    constexpr packed_literal& str(std::string_view text) {
        if (text.size() > 31) {
            throw std::length_error("packed_literal: not a fixstr");
        }
        put(0xa0 | text.size());
        for (char c : text) {
            put(static_cast<unsigned char>(c));
        }
        return *this;
    }

    /// A float 64 whose 8 bytes are filled in later at `number_offset(i)`.
    constexpr packed_literal& number() {
        put(0xcb);
        offsets_[numbers_++] = size_;
        for (int i = 0; i < 8; ++i) {
            put(0);
        }
        return *this;
    }

    constexpr std::size_t size() const noexcept { return size_; }
    constexpr std::size_t number_offset(std::size_t i) const { return offsets_[i]; }
    const std::byte* data() const noexcept { return bytes_; }
    /// The map headers among the bytes, for msgpack_writer's count ([LIMIT-11]).
    constexpr std::uint64_t containers() const noexcept { return containers_; }

    void write_to(msgpack_writer& out) const { out.write_raw(bytes_, size_, containers_); }

private:
    constexpr void put(std::size_t byte) { bytes_[size_++] = static_cast<std::byte>(byte); }

    std::byte bytes_[Capacity] = {};
    std::size_t size_ = 0;
    std::size_t offsets_[Numbers == 0 ? 1 : Numbers] = {};
    std::size_t numbers_ = 0;
    std::uint64_t containers_ = 0;
};

/// The bits of a float 64 as write_double writes them: NaN canonical ([CANON-3]).
inline std::uint64_t canonical_double_bits(double number) noexcept {
    std::uint64_t bits = 0x7ff8000000000000ull;
    if (!std::isnan(number)) {
        std::memcpy(&bits, &number, sizeof bits);
    }
    return bits;
}

/// The leading parts of a head (packed literals, the id, a short method) gathered on the stack
/// and written with one `write_raw`, in the bytes msgpack_writer writes for them ([CANON-2]).
class head_prefix {
public:
    template <std::size_t Capacity, std::size_t Numbers>
    void append(const packed_literal<Capacity, Numbers>& literal) noexcept {
        std::memcpy(bytes_ + size_, literal.data(), literal.size());
        size_ += literal.size();
        containers_ += literal.containers();
    }

    /// As msgpack_writer::write_uint: the shortest form.
    void append_uint(std::uint64_t number) noexcept {
        if (number <= 0x7f) {
            put(static_cast<std::uint8_t>(number));
        } else if (number <= UINT8_MAX) {
            put(0xcc);
            put(static_cast<std::uint8_t>(number));
        } else if (number <= UINT16_MAX) {
            put(0xcd);
            put_big_endian(static_cast<std::uint16_t>(number));
        } else if (number <= UINT32_MAX) {
            put(0xce);
            put_big_endian(static_cast<std::uint32_t>(number));
        } else {
            put(0xcf);
            put_big_endian(number);
        }
    }

    void append_nil() noexcept { put(0xc0); }

    /// As msgpack_writer::write_double.
    void append_double(double number) noexcept {
        put(0xcb);
        put_big_endian(canonical_double_bits(number));
    }

    /// As msgpack_writer::write_string for a fixstr (at most 31 bytes); false for a longer one,
    /// which the caller writes after `flush`.
    bool append_short_string(std::string_view text) noexcept {
        if (text.size() > 31) {
            return false;
        }
        put(static_cast<std::uint8_t>(0xa0 | text.size()));
        std::memcpy(bytes_ + size_, text.data(), text.size());
        size_ += text.size();
        return true;
    }

    void flush(msgpack_writer& out) {
        out.write_raw(bytes_, size_, containers_);
        size_ = 0;
        containers_ = 0;
    }

    /// Room for every use below: the largest literal run, an id, a fixstr and a key.
    static constexpr std::size_t capacity = 96;

private:
    void put(std::uint8_t byte) noexcept { bytes_[size_++] = static_cast<std::byte>(byte); }

    template <class UInt>
    void put_big_endian(UInt number) noexcept {
        store_big_endian(number, bytes_ + size_);
        size_ += sizeof(UInt);
    }

    std::byte bytes_[capacity];
    std::size_t size_ = 0;
    std::uint64_t containers_ = 0;
};

/// Writes `text` as a string; false if it is too long for one (2^32 bytes or more).
inline bool write_text(frame_encoder& encoder, std::string_view text) {
    if (text.size() > std::numeric_limits<std::uint32_t>::max()) {
        return false;
    }
    encoder.writer().write_string(text);
    return true;
}

inline constexpr auto request_head =
    packed_literal<32>().map(4).str("kind").str("request").str("id");
inline constexpr auto method_key = packed_literal<8>().str("method");
inline constexpr auto params_key = packed_literal<8>().str("params");
static_assert(request_head.size() + 9 + method_key.size() + 32 + params_key.size() <=
              head_prefix::capacity);

/// A request whose params `write_params(encoder)` writes (false: a length over 2^32 - 1).
template <class WriteParams>
bool write_request(frame_encoder& encoder, std::uint64_t id, std::string_view method,
                   WriteParams&& write_params) {
    auto& out = encoder.writer();
    head_prefix prefix;
    prefix.append(request_head);
    prefix.append_uint(id);
    prefix.append(method_key);
    if (!prefix.append_short_string(method)) {
        prefix.flush(out);
        if (!write_text(encoder, method)) {
            return false;
        }
    }
    prefix.append(params_key);
    prefix.flush(out);
    return write_params(encoder);
}

/// The fixed parts of a response with a result, as write_message writes them and
/// decode_usual_response expects them.
inline constexpr auto response_head3 =
    packed_literal<32>().map(3).str("kind").str("response").str("id");
inline constexpr auto response_head4 =
    packed_literal<32>().map(4).str("kind").str("response").str("id");
inline constexpr auto result_key = packed_literal<8>().str("result");
/// `"timings": {...}`, a key and its map, the numbers left to fill in.
inline constexpr auto timings_entry = packed_literal<96, 4>()
                                          .str("timings")
                                          .map(4)
                                          .str("receiving")
                                          .number()
                                          .str("queued")
                                          .number()
                                          .str("computing")
                                          .number()
                                          .str("sending")
                                          .number();

/// Writes the `timings_entry` holding the numbers of `t`.
SLICERBRIDGE_DECL void write_timings_entry(frame_encoder& encoder, const timings& t);

/// Whether the next bytes are `literal`'s, taking them if so.
template <std::size_t Capacity, std::size_t Numbers>
bool take_literal(head_decoder& decoder, const packed_literal<Capacity, Numbers>& literal) {
    const std::byte* bytes = nullptr;
    return decoder.take_bytes(literal.size(), bytes) &&
           std::memcmp(bytes, literal.data(), literal.size()) == 0;
}

/// The numbers of a `timings_entry`, if the bytes are one with numbers timings accepts.
inline std::optional<timings> take_timings_entry(head_decoder& decoder) {
    const std::byte* bytes = nullptr;
    if (!decoder.take_bytes(timings_entry.size(), bytes)) {
        return std::nullopt;
    }
    std::byte layout[timings_entry.size()];
    std::memcpy(layout, bytes, sizeof layout);
    timings t;
    double* const numbers[] = {&t.receiving, &t.queued, &t.computing, &t.sending};
    for (std::size_t i = 0; i < 4; ++i) {
        std::byte* number = layout + timings_entry.number_offset(i);
        const auto bits = load_big_endian<std::uint64_t>(number);
        std::memcpy(numbers[i], &bits, sizeof bits);
        if (!(std::isfinite(*numbers[i]) && *numbers[i] >= 0)) {
            return std::nullopt; // [TIME-1]
        }
        std::memset(number, 0, sizeof bits);
    }
    if (std::memcmp(layout, timings_entry.data(), sizeof layout) != 0) {
        return std::nullopt;
    }
    return t;
}

/// Reads a response in the form write_message gives it (its keys in that order, the timings as
/// float 64) with a result, without building a value for the head: its id into `id`, then its
/// result by `read_result(head_decoder&, id)` (at depth 1, as `read_nested(out, 1)` reads it;
/// false if it is not one the caller takes), then its timings into `t`. False for any other
/// head, and for a result `read_result` does not take: the caller then decodes the frame with
/// decode_frame and decode_message, so that every error is reported as they report it.
template <class ReadResult>
bool read_usual_response_with(const received_frame& frame, const limits& receiver_limits,
                              const codec_set& allowed, std::uint64_t& id,
                              std::optional<timings>& t, ReadResult&& read_result) {
    // What decode_head checks first, and the limits on the two maps read here.
    const buffer& head = frame.head;
    if (head.empty() || head.size() > receiver_limits.max_head || !frame.descriptors.empty() ||
        receiver_limits.max_depth < 2 || receiver_limits.max_elements < 4) {
        return false;
    }
    const bool with_timings = head.data()[0] == response_head4.data()[0];
    head_decoder decoder(head, frame.bulk, receiver_limits, allowed);
    if (!take_literal(decoder, with_timings ? response_head4 : response_head3) ||
        !decoder.take_uint(id) || id > max_request_id || !take_literal(decoder, result_key) ||
        !read_result(decoder, id)) {
        return false;
    }
    if (with_timings) {
        t = take_timings_entry(decoder);
        if (!t) {
            return false;
        }
    }
    return decoder.at_end();
}

} // namespace detail

} // namespace slicerbridge

#endif
