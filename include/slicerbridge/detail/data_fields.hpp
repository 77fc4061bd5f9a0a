#ifndef SLICERBRIDGE_DETAIL_DATA_FIELDS_HPP
#define SLICERBRIDGE_DETAIL_DATA_FIELDS_HPP

// Field helpers shared by the data types.

#include <slicerbridge/data/space.hpp>
#include <slicerbridge/detail/field_reader.hpp>
#include <slicerbridge/value.hpp>

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

namespace slicerbridge {
namespace detail {

inline std::optional<std::uint64_t> checked_multiply(std::uint64_t a, std::uint64_t b) noexcept {
    if (a != 0 && b > std::numeric_limits<std::uint64_t>::max() / a) {
        return std::nullopt;
    }
    return a * b;
}

inline bool read_space(field_reader& reader, const value& map, space& out) {
    std::string text;
    if (!reader.read_string(map, "space", text)) {
        return false;
    }
    const auto parsed = space_from_name(text);
    if (!parsed) {
        return reader.fail("space", "expected \"RAS\" or \"LPS\"");
    }
    out = *parsed;
    return true;
}

/// Checks that a data value's `type` key names `expected`.
inline bool expect_type(field_reader& reader, const value& map, std::string_view expected) {
    std::string type;
    if (!reader.expect_map(map) || !reader.read_string(map, "type", type)) {
        return false;
    }
    if (type != expected) {
        return reader.fail("type", "expected \"" + std::string(expected) + "\"");
    }
    return true;
}

inline value matrix_to_value(const matrix4& m) {
    return value::array(m.begin(), m.end());
}

} // namespace detail
} // namespace slicerbridge

#endif
