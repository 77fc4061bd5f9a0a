#ifndef SLICERBRIDGE_DETAIL_PLATFORM_MEMFD_NONE_HPP
#define SLICERBRIDGE_DETAIL_PLATFORM_MEMFD_NONE_HPP

#include <slicerbridge/buffer.hpp>
#include <slicerbridge/error.hpp>

#include <cstddef>
#include <optional>
#include <system_error>

namespace slicerbridge::detail::platform {

inline constexpr bool has_memfd = false;

inline void close_descriptor(int) noexcept {}

template <class Fill>
buffer sealed_memfd_buffer(std::size_t, Fill&&, std::error_code& ec) {
    ec = std::make_error_code(std::errc::function_not_supported);
    return buffer();
}

inline std::optional<memfd_location> memfd_location_of(const buffer&) noexcept {
    return std::nullopt;
}

inline std::optional<buffer> map_sealed_memfd(int, error& why) noexcept {
    why = error::invalid_message;
    return std::nullopt;
}

} // namespace slicerbridge::detail::platform

#endif
