#ifndef SLICERBRIDGE_WIRE_IMPL_CODEC_IPP
#define SLICERBRIDGE_WIRE_IMPL_CODEC_IPP

#include <slicerbridge/wire/codec.hpp>

namespace slicerbridge {

SLICERBRIDGE_DECL std::vector<const_bytes> encoded_frame::buffers() const {
    std::vector<const_bytes> result;
    result.reserve(2 + 2 * segments().size());
    for_each_buffer([&result](const_bytes region) { result.push_back(region); });
    return result;
}

SLICERBRIDGE_DECL std::vector<std::byte> encoded_frame::to_bytes() const {
    std::vector<std::byte> bytes;
    bytes.reserve(static_cast<std::size_t>(total_size()));
    for (const auto& region : buffers()) {
        bytes.insert(bytes.end(), region.data, region.data + region.size);
    }
    return bytes;
}

SLICERBRIDGE_DECL encoded_frame encode_frame(const value& head, const encode_options& options,
                                             std::error_code& ec) {
    return detail::encode_frame_with(options, ec,
                                     [&head](detail::frame_encoder& e) { return e.write(head); });
}

SLICERBRIDGE_DECL encoded_frame encode_frame(const value& head, const encode_options& options) {
    std::error_code ec;
    encoded_frame frame = encode_frame(head, options, ec);
    if (ec) {
        throw std::system_error(ec, "slicerbridge::encode_frame");
    }
    return frame;
}

SLICERBRIDGE_DECL value decode_head(const buffer& head, const buffer& bulk,
                                    const limits& receiver_limits, const codec_set& allowed,
                                    std::error_code& ec) {
    if (head.size() > receiver_limits.max_head) {
        ec = error::frame_too_large;
        return value();
    }
    return detail::head_decoder(head, bulk, receiver_limits, allowed).decode(ec);
}

SLICERBRIDGE_DECL value decode_head(const buffer& head, const buffer& bulk,
                                    const frame_descriptors& descriptors,
                                    const limits& receiver_limits, const codec_set& allowed,
                                    std::error_code& ec) {
    if (head.size() > receiver_limits.max_head) {
        ec = error::frame_too_large;
        return value();
    }
    return detail::head_decoder(head, bulk, receiver_limits, allowed, &descriptors).decode(ec);
}

SLICERBRIDGE_DECL value decode_head(const buffer& head, const buffer& bulk,
                                    const limits& receiver_limits, const codec_set& allowed) {
    std::error_code ec;
    value result = decode_head(head, bulk, receiver_limits, allowed, ec);
    if (ec) {
        throw std::system_error(ec, "slicerbridge::decode_head");
    }
    return result;
}

} // namespace slicerbridge

#endif
