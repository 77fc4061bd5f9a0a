#ifndef SLICERBRIDGE_IMPL_VALUE_IPP
#define SLICERBRIDGE_IMPL_VALUE_IPP

#include <slicerbridge/value.hpp>

#include <limits>
#include <stdexcept>

namespace slicerbridge {

SLICERBRIDGE_DECL std::optional<bool> value::as_bool() const noexcept {
    if (const auto* b = std::get_if<bool>(&data_)) {
        return *b;
    }
    return std::nullopt;
}

SLICERBRIDGE_DECL std::optional<std::int64_t> value::as_int64() const noexcept {
    if (const auto* i = std::get_if<std::int64_t>(&data_)) {
        return *i;
    }
    return std::nullopt;
}

SLICERBRIDGE_DECL std::optional<std::uint64_t> value::as_uint64() const noexcept {
    if (const auto* i = std::get_if<std::int64_t>(&data_)) {
        if (*i >= 0) {
            return static_cast<std::uint64_t>(*i);
        }
        return std::nullopt;
    }
    if (const auto* u = std::get_if<std::uint64_t>(&data_)) {
        return *u;
    }
    return std::nullopt;
}

SLICERBRIDGE_DECL std::optional<double> value::as_double() const noexcept {
    if (const auto* d = std::get_if<double>(&data_)) {
        return *d;
    }
    if (const auto* i = std::get_if<std::int64_t>(&data_)) {
        return static_cast<double>(*i);
    }
    if (const auto* u = std::get_if<std::uint64_t>(&data_)) {
        return static_cast<double>(*u);
    }
    return std::nullopt;
}

SLICERBRIDGE_DECL const value* value::find(std::string_view key) const noexcept {
    if (const auto* entries = std::get_if<map>(&data_)) {
        for (const auto& entry : *entries) {
            if (detail::same_key(entry.first, key)) {
                return &entry.second;
            }
        }
    }
    return nullptr;
}

SLICERBRIDGE_DECL value* value::find(std::string_view key) noexcept {
    return const_cast<value*>(static_cast<const value&>(*this).find(key));
}

SLICERBRIDGE_DECL value& value::operator[](std::string_view key) {
    if (is_nil()) {
        data_ = map{};
    }
    auto* entries = std::get_if<map>(&data_);
    if (entries == nullptr) {
        throw std::logic_error("slicerbridge::value::operator[]: not a map");
    }
    for (auto& entry : *entries) {
        if (entry.first == key) {
            return entry.second;
        }
    }
    entries->emplace_back(std::string(key), value{});
    return entries->back().second;
}

SLICERBRIDGE_DECL value& value::insert_or_assign(std::string_view key, value v) {
    value& slot = (*this)[key];
    slot = std::move(v);
    return slot;
}

SLICERBRIDGE_DECL std::size_t value::size() const noexcept {
    if (const auto* elements = std::get_if<array>(&data_)) {
        return elements->size();
    }
    if (const auto* entries = std::get_if<map>(&data_)) {
        return entries->size();
    }
    return 0;
}

} // namespace slicerbridge

#endif
