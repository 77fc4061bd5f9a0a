// libFuzzer target: the frame reader (wire/frame.hpp), given the input as a byte stream that
// may hold several frames. The stream is fed twice, all at once through consume() and in small
// uneven pieces through prepare()/commit(), as a socket delivers it: both must see the same
// frames and stop at the same error, and the reader's counters must stay consistent (how many bytes
// a failed header took may differ: consume() copies a whole header before checking it). Each
// complete frame's head is decoded too.

#include "common.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <system_error>
#include <vector>

namespace {

namespace sb = slicerbridge;

struct outcome {
    std::vector<std::vector<std::byte>> frames; // head then bulk bytes, with the sizes first
    std::error_code error;
    bool mid_frame = false;
};

void check_counters(sb::frame_reader& reader) {
    if (reader.announced_size() != 0) {
        FUZZ_CHECK(reader.bytes_received() <= reader.announced_size());
    }
    if (reader.error()) {
        FUZZ_CHECK(reader.prepare().size == 0); // errors are sticky
        FUZZ_CHECK(!reader.done());
    }
    if (reader.done()) {
        FUZZ_CHECK(reader.prepare().size == 0);
        FUZZ_CHECK(reader.bytes_received() == reader.announced_size());
    }
}

void take_frame(sb::frame_reader& reader, const sb::limits& limits, outcome& out) {
    const std::uint64_t announced = reader.announced_size();
    sb::received_frame frame = reader.release();
    FUZZ_CHECK(frame.head.size() == frame.header.head_length);
    FUZZ_CHECK(frame.bulk.size() == frame.header.bulk_length);
    FUZZ_CHECK(announced == sb::frame_header_size + frame.head.size() + frame.bulk.size());
    FUZZ_CHECK(!reader.done() && !reader.mid_frame() && reader.bytes_received() == 0);
    std::vector<std::byte> bytes(sb::frame_header_size);
    sb::write_frame_header(frame.header, bytes.data());
    bytes.insert(bytes.end(), frame.head.data(), frame.head.data() + frame.head.size());
    bytes.insert(bytes.end(), frame.bulk.data(), frame.bulk.data() + frame.bulk.size());
    out.frames.push_back(std::move(bytes));
    std::error_code ec;
    (void)sb::decode_frame(frame, limits, sb::codec_set::all(), ec); // anything but a crash
}

outcome feed_at_once(const std::uint8_t* data, std::size_t size, const sb::limits& limits) {
    outcome out;
    sb::frame_reader reader(limits);
    std::size_t position = 0;
    // Each round takes bytes or ends: at most one round per byte, and one more.
    for (std::size_t round = 0; round <= size && position < size; ++round) {
        const std::size_t taken = reader.consume(data + position, size - position);
        position += taken;
        check_counters(reader);
        if (reader.done()) {
            take_frame(reader, limits, out);
        } else if (taken == 0) {
            break;
        }
    }
    FUZZ_CHECK(position == size || reader.error());
    out.error = reader.error();
    out.mid_frame = reader.mid_frame();
    return out;
}

outcome feed_in_pieces(const std::uint8_t* data, std::size_t size, const sb::limits& limits) {
    static constexpr std::array<std::size_t, 6> pieces = {1, 7, 2, 64, 3, 4096};
    outcome out;
    sb::frame_reader reader(limits);
    std::size_t position = 0;
    for (std::size_t round = 0; round <= size && position < size; ++round) {
        const sb::mutable_bytes region = reader.prepare();
        if (region.size == 0) {
            break; // failed (a complete frame is taken below, before the next round)
        }
        std::size_t n = pieces[round % pieces.size()];
        n = std::min({n, region.size, size - position});
        std::memcpy(region.data, data + position, n);
        reader.commit(n);
        position += n;
        check_counters(reader);
        if (reader.done()) {
            take_frame(reader, limits, out);
        }
    }
    out.error = reader.error();
    out.mid_frame = reader.mid_frame();
    reader.reset();
    FUZZ_CHECK(!reader.error() && !reader.mid_frame() && reader.prepare().size == 16);
    return out;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    sb::limits limits = fuzz::base_limits();
    if (size % 2 == 1) {
        limits.max_frame = sb::handshake_max_frame; // as before the hellos ([HELLO-4])
    }
    const outcome at_once = feed_at_once(data, size, limits);
    const outcome in_pieces = feed_in_pieces(data, size, limits);
    FUZZ_CHECK(at_once.frames == in_pieces.frames);
    FUZZ_CHECK(at_once.error == in_pieces.error);
    FUZZ_CHECK(at_once.mid_frame == in_pieces.mid_frame);
    // The frames taken are the input's bytes, in order.
    std::size_t offset = 0;
    for (const auto& frame : at_once.frames) {
        FUZZ_CHECK(offset + frame.size() <= size);
        // The header is compared without its flags byte, which the reader does not keep.
        FUZZ_CHECK(std::memcmp(frame.data(), data + offset, 3) == 0);
        FUZZ_CHECK(std::memcmp(frame.data() + 4, data + offset + 4, frame.size() - 4) == 0);
        offset += frame.size();
    }
    return 0;
}
