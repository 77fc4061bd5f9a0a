#ifndef SLICERBRIDGE_DETAIL_MEMFD_TRANSFER_HPP
#define SLICERBRIDGE_DETAIL_MEMFD_TRANSFER_HPP
// Negotiating transfer.memfd (spec sections 3.5 and 4.3) for a connection's frame_stream: the
// one place where the server session and the client decide whether segments pass as
// descriptors.

#include <slicerbridge/detail/capabilities.hpp>
#include <slicerbridge/version.hpp>
#include <slicerbridge/wire/codec.hpp>

#include <string>
#include <vector>

namespace slicerbridge::detail {

inline const std::string memfd_capability = "transfer.memfd";

/// Whether a peer offers transfer.memfd on this stream: wanted, a Unix socket ([FD-1]).
template <class FrameStream>
bool can_offer_memfd(bool wanted, FrameStream& stream) {
    return wanted && stream.can_pass_descriptors();
}

/// Puts transfer.memfd in force on `stream` when the other side listed it, the version is 1.1
/// or later ([VER-4]) and this side wants it; true when it is.
template <class FrameStream>
bool accept_memfd(bool wanted, const std::vector<std::string>& listed, protocol_version version,
                  FrameStream& stream) {
    return wanted && !(version < protocol_version{1, 1}) &&
           has_capability(listed, memfd_capability) && stream.enable_descriptor_passing();
}

/// `options`, passing large segments as descriptors when transfer.memfd is in force on `stream`.
template <class FrameStream>
encode_options with_memfd(encode_options options, const FrameStream& stream) {
    options.descriptors = stream.descriptor_passing();
    return options;
}

} // namespace slicerbridge::detail

#endif
