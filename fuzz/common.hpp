#ifndef SLICERBRIDGE_FUZZ_COMMON_HPP
#define SLICERBRIDGE_FUZZ_COMMON_HPP

// What the libFuzzer targets share: how an input becomes a head and a bulk, the limits they
// decode under, and the checks that turn a wrong answer (not only a memory error) into a crash.
//
// Every target takes a whole frame as its input, as the golden vectors hold them (the seed
// corpus is the vectors' bytes, fuzz/make_corpus.py). The targets past the frame reader split
// the input leniently, so that most mutations still reach the code they are about:
//   bytes 4..8   head length (big-endian), clamped to the bytes there are;
//   byte 3       (the frame's flags, ignored by the protocol, [FRAME-2]) picks the receiver's
//                settings: bit 0 no codec in force (else zstd and lz4), bit 1 max_depth 4,
//                bit 2 max_elements 8;
//   the rest     the bulk, whatever the header's bulk length says.

#include <slicerbridge/buffer.hpp>
#include <slicerbridge/compression.hpp>
#include <slicerbridge/limits.hpp>
#include <slicerbridge/value.hpp>
#include <slicerbridge/wire/codec.hpp>
#include <slicerbridge/wire/frame.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <system_error>
#include <vector>

namespace fuzz {

namespace sb = slicerbridge;

[[noreturn]] inline void check_failed(const char* condition, const char* file, int line) {
    std::fprintf(stderr, "%s:%d: fuzz check failed: %s\n", file, line, condition);
    std::abort();
}

} // namespace fuzz

/// Crashes (so libFuzzer keeps the input) when a property of the SDK does not hold.
#define FUZZ_CHECK(condition)                                                                      \
    ((condition) ? static_cast<void>(0) : ::fuzz::check_failed(#condition, __FILE__, __LINE__))

namespace fuzz {

/// The receiver's limits for fuzzing: the defaults, but frames (and so decompressed segments,
/// whose `raw_length` is checked against `max_frame`) of at most 16 MiB, so that no input can
/// make a target allocate more than libFuzzer's memory limit allows.
inline sb::limits base_limits() {
    sb::limits l;
    l.max_frame = std::uint64_t{16} << 20;
    l.max_head = std::uint64_t{1} << 20;
    return l;
}

struct receiver_settings {
    sb::limits limits = base_limits();
    sb::codec_set codecs = sb::codec_set::all();
};

inline receiver_settings settings_from_flags(std::uint8_t flags) {
    receiver_settings s;
    if ((flags & 1u) != 0) {
        s.codecs = {};
    }
    if ((flags & 2u) != 0) {
        s.limits.max_depth = 4;
    }
    if ((flags & 4u) != 0) {
        s.limits.max_elements = 8;
    }
    return s;
}

struct frame_input {
    sb::buffer head;
    sb::buffer bulk;
    receiver_settings settings;
};

/// The input as a head and a bulk (see the top of this file); nothing for fewer than 16 bytes.
inline std::optional<frame_input> split_input(const std::uint8_t* data, std::size_t size) {
    if (size < sb::frame_header_size) {
        return std::nullopt;
    }
    std::uint32_t head_length = 0;
    for (int i = 4; i < 8; ++i) {
        head_length = (head_length << 8) | data[i];
    }
    const std::size_t rest = size - sb::frame_header_size;
    const std::size_t head_size = head_length < rest ? head_length : rest;
    frame_input in;
    in.settings = settings_from_flags(data[3]);
    in.head = sb::buffer::copy_of(data + sb::frame_header_size, head_size);
    in.bulk = sb::buffer::copy_of(data + sb::frame_header_size + head_size, rest - head_size);
    return in;
}

/// The input's head, decoded; nothing if the codec refuses it.
inline std::optional<sb::value> decode_input(const std::uint8_t* data, std::size_t size,
                                             receiver_settings* settings = nullptr) {
    std::optional<frame_input> in = split_input(data, size);
    if (!in) {
        return std::nullopt;
    }
    if (settings != nullptr) {
        *settings = in->settings;
    }
    std::error_code ec;
    sb::value head =
        sb::decode_head(in->head, in->bulk, in->settings.limits, in->settings.codecs, ec);
    if (ec) {
        return std::nullopt;
    }
    return head;
}

/// Decodes bytes that `encode_frame` wrote; they must decode.
inline sb::value decode_encoded(const std::vector<std::byte>& bytes) {
    sb::frame_reader reader(sb::limits{}); // default limits: what we encoded must pass them
    const std::size_t taken = reader.consume(bytes.data(), bytes.size());
    FUZZ_CHECK(!reader.error());
    FUZZ_CHECK(reader.done());
    FUZZ_CHECK(taken == bytes.size());
    sb::received_frame frame = reader.release();
    std::error_code ec;
    sb::value head = sb::decode_frame(frame, sb::limits{}, sb::codec_set::all(), ec);
    FUZZ_CHECK(!ec);
    return head;
}

/// Encodes `v` canonically, or nothing if the encoder refuses it (too large).
inline std::optional<std::vector<std::byte>> encode(const sb::value& v) {
    std::error_code ec;
    sb::encoded_frame frame = sb::encode_frame(v, {}, ec);
    if (ec) {
        return std::nullopt;
    }
    return frame.to_bytes();
}

/// Checks that encoding `v`, decoding that and encoding again gives the same bytes: whatever
/// the decoder accepted, the encoder writes in a form the decoder reads back unchanged (compared
/// as bytes, since NaN != NaN as values). Returns the first encoding.
inline std::optional<std::vector<std::byte>> check_round_trip(const sb::value& v) {
    std::optional<std::vector<std::byte>> first = encode(v);
    if (!first) {
        return std::nullopt;
    }
    const sb::value again = decode_encoded(*first);
    std::optional<std::vector<std::byte>> second = encode(again);
    FUZZ_CHECK(second.has_value());
    FUZZ_CHECK(*first == *second);
    return first;
}

} // namespace fuzz

#endif
