#ifndef SLICERBRIDGE_MESSAGE_IMPL_INVOKE_HPP
#define SLICERBRIDGE_MESSAGE_IMPL_INVOKE_HPP

#include <slicerbridge/detail/field_reader.hpp>

#include <algorithm>
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

} // namespace detail
} // namespace slicerbridge

#endif
