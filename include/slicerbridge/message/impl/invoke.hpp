#ifndef SLICERBRIDGE_MESSAGE_IMPL_INVOKE_HPP
#define SLICERBRIDGE_MESSAGE_IMPL_INVOKE_HPP

#include <slicerbridge/detail/field_reader.hpp>
#include <slicerbridge/detail/utf8.hpp>
#include <slicerbridge/message/message.hpp>

#include <algorithm>
#include <string_view>
#include <variant>

namespace slicerbridge {
namespace detail {

template <class Entry>
const auto* find_named(const std::vector<Entry>& entries, std::string_view name) noexcept {
    for (const auto& entry : entries) {
        if (entry.first == name) {
            return &entry.second;
        }
    }
    return static_cast<const typename Entry::second_type*>(nullptr);
}

/// Reads the result of an invoke response, `{"outputs": {name: value, ...}}` as
/// write_invoke_response writes it (at most 15 outputs, names of at most 255 bytes), straight
/// into `out`, which is empty, without building a value for the whole: what
/// `invoke_result::from_value` gives for the value `read_nested(v, 1)` would read. False for any
/// other result, valid or not, and for one that from_value refuses: the caller then reads the
/// result as a value, so that every error is reported as before.
inline bool read_usual_invoke_result(head_decoder& decoder, const limits& receiver_limits,
                                     invoke_result& out) {
    static constexpr auto outputs_key = packed_literal<16>().map(1).str("outputs");
    const std::byte* tag = nullptr;
    if (!take_literal(decoder, outputs_key) || !decoder.take_bytes(1, tag)) {
        return false;
    }
    const auto map_tag = std::to_integer<std::uint8_t>(*tag);
    const std::uint32_t count = map_tag & 0x0fu;
    // The outputs map lies at depth 2 ([HEAD-5]) and holds at most max_elements entries.
    if ((map_tag & 0xf0u) != 0x80u || receiver_limits.max_depth < 3 ||
        count > receiver_limits.max_elements) {
        return false;
    }
    for (std::uint32_t i = 0; i < count; ++i) {
        const std::byte* bytes = nullptr;
        if (!decoder.take_bytes(1, tag)) {
            return false;
        }
        const auto key_tag = std::to_integer<std::uint8_t>(*tag);
        std::size_t length = key_tag & 0x1fu;
        if (key_tag == 0xd9 && decoder.take_bytes(1, bytes)) {
            length = std::to_integer<std::uint8_t>(*bytes);
        } else if ((key_tag & 0xe0u) != 0xa0u) {
            return false;
        }
        if (!decoder.take_bytes(length, bytes) || !is_valid_utf8(bytes, length)) {
            return false;
        }
        const std::string_view name(reinterpret_cast<const char*>(bytes), length);
        if (find_named(out.outputs, name) != nullptr || find_named(out.scalars, name) != nullptr) {
            return false; // a duplicate key ([HEAD-7])
        }
        value v;
        if (!decoder.read_nested(v, 3)) {
            return false;
        }
        std::error_code ec;
        std::string what;
        if (v.is_map()) {
            data_value d = data_from_value(v, ec, what);
            if (ec) {
                return false;
            }
            out.outputs.emplace_back(std::string(name), std::move(d));
        } else {
            parameter_value p = parameter_value::from_value(v, ec, what);
            if (ec) {
                return false;
            }
            out.scalars.emplace_back(std::string(name), std::move(p));
        }
    }
    return true;
}

} // namespace detail
} // namespace slicerbridge

#endif
