#ifndef SLICERBRIDGE_WIRE_IMPL_FRAME_IPP
#define SLICERBRIDGE_WIRE_IMPL_FRAME_IPP

#include <slicerbridge/wire/frame.hpp>

#include <slicerbridge/detail/endian.hpp>

#include <algorithm>
#include <cstring>
#include <limits>
#include <stdexcept>

namespace slicerbridge {

SLICERBRIDGE_DECL void write_frame_header(const frame_header& header, std::byte* out) noexcept {
    out[0] = frame_magic[0];
    out[1] = frame_magic[1];
    out[2] = frame_format;
    out[3] = std::byte{0};
    detail::store_big_endian(header.head_length, out + 4);
    detail::store_big_endian(header.bulk_length, out + 8);
}

SLICERBRIDGE_DECL frame_header parse_frame_header(const std::byte* in,
                                                  const limits& receiver_limits,
                                                  std::error_code& ec) noexcept {
    ec.clear();
    frame_header header;
    if (in[0] != frame_magic[0] || in[1] != frame_magic[1] || in[2] != frame_format) {
        ec = error::malformed_frame;
        return header;
    }
    header.head_length = detail::load_big_endian<std::uint32_t>(in + 4);
    header.bulk_length = detail::load_big_endian<std::uint64_t>(in + 8);
    // Checked sum: 16 + head_length + bulk_length may exceed 2^64 - 1 ([FRAME-9]).
    const std::uint64_t fixed = frame_header_size + std::uint64_t{header.head_length};
    const bool overflows = header.bulk_length > std::numeric_limits<std::uint64_t>::max() - fixed;
    if (header.head_length > receiver_limits.max_head || overflows ||
        fixed + header.bulk_length > receiver_limits.max_frame ||
        header.bulk_length > std::numeric_limits<std::size_t>::max()) {
        ec = error::frame_too_large;
    }
    return header;
}

SLICERBRIDGE_DECL mutable_bytes frame_reader::prepare() noexcept {
    switch (state_) {
    case state::header:
        return {header_bytes_ + filled_, frame_header_size - filled_};
    case state::head:
        return {head_.mutable_data() + filled_, head_.size() - filled_};
    case state::bulk:
        return {bulk_.mutable_data() + filled_, bulk_.size() - filled_};
    case state::complete:
    case state::failed:
        break;
    }
    return {};
}

SLICERBRIDGE_DECL void frame_reader::commit(std::size_t n) {
    if (n == 0) {
        return;
    }
    filled_ += n;
    received_ += n;
    switch (state_) {
    case state::header:
        header_progress();
        break;
    case state::head:
        if (filled_ == head_.size()) {
            enter_bulk();
        }
        break;
    case state::bulk:
        if (filled_ == bulk_.size()) {
            state_ = state::complete;
        }
        break;
    case state::complete:
    case state::failed:
        break;
    }
}

SLICERBRIDGE_DECL void frame_reader::header_progress() {
    // Reject a stranger early: magic and format are known from the first three bytes.
    const std::size_t known = std::min<std::size_t>(filled_, 3);
    const std::byte expected[3] = {frame_magic[0], frame_magic[1], frame_format};
    if (std::memcmp(header_bytes_, expected, known) != 0) {
        fail(slicerbridge::error::malformed_frame);
        return;
    }
    if (filled_ < frame_header_size) {
        return;
    }
    std::error_code ec;
    header_ = parse_frame_header(header_bytes_, limits_, ec);
    if (ec) {
        fail(ec);
        return;
    }
    filled_ = 0;
    if (header_.head_length != 0) {
        head_ = buffer::allocate(header_.head_length);
        state_ = state::head;
    } else {
        enter_bulk();
    }
}

SLICERBRIDGE_DECL void frame_reader::enter_bulk() {
    filled_ = 0;
    if (header_.bulk_length != 0) {
        bulk_ = buffer::allocate(static_cast<std::size_t>(header_.bulk_length));
        state_ = state::bulk;
    } else {
        state_ = state::complete;
    }
}

SLICERBRIDGE_DECL std::size_t frame_reader::consume(const void* data, std::size_t size) {
    const auto* source = static_cast<const std::byte*>(data);
    std::size_t taken = 0;
    while (taken < size) {
        const mutable_bytes region = prepare();
        if (region.size == 0) {
            break;
        }
        const std::size_t n = std::min(region.size, size - taken);
        std::memcpy(region.data, source + taken, n);
        taken += n;
        commit(n);
    }
    return taken;
}

SLICERBRIDGE_DECL received_frame frame_reader::release() {
    if (state_ != state::complete) {
        throw std::logic_error("slicerbridge::frame_reader::release: no complete frame");
    }
    received_frame frame{header_, std::move(head_), std::move(bulk_)};
    reset();
    return frame;
}

SLICERBRIDGE_DECL void frame_reader::reset() noexcept {
    state_ = state::header;
    error_.clear();
    header_ = frame_header{};
    head_ = buffer();
    bulk_ = buffer();
    filled_ = 0;
    received_ = 0;
}

SLICERBRIDGE_DECL void frame_reader::fail(std::error_code ec) noexcept {
    error_ = ec;
    state_ = state::failed;
    head_ = buffer();
    bulk_ = buffer();
}

} // namespace slicerbridge

#endif
