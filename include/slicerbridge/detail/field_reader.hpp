#ifndef SLICERBRIDGE_DETAIL_FIELD_READER_HPP
#define SLICERBRIDGE_DETAIL_FIELD_READER_HPP

// Reads typed fields out of value maps for the from_value functions: the first problem sets the
// error code and a message naming the field ("image.dims: expected ..."), never data values
// ([ERR-3]).

#include <slicerbridge/error.hpp>
#include <slicerbridge/value.hpp>

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

namespace slicerbridge {
namespace detail {

class field_reader {
public:
    /// A reader whose messages start with `path`; a string literal is used where it is, without
    /// a copy.
    template <std::size_t N>
    field_reader(std::error_code& ec, std::string& what, error failure, const char (&path)[N])
        : ec_(ec), what_(what), failure_(failure), literal_(path, N - 1) {}
    field_reader(std::error_code& ec, std::string& what, error failure, std::string path)
        : ec_(ec), what_(what), failure_(failure), owned_(std::move(path)), is_owned_(true) {}

    /// A reader for a nested field, reporting into the same error and message. It refers to
    /// this reader, which must outlive it; its path is only spelled out when a problem is
    /// recorded.
    template <std::size_t N>
    field_reader nested(const char (&field)[N]) const {
        field_reader inner(ec_, what_, failure_, field);
        inner.parent_ = this;
        return inner;
    }
    field_reader nested(std::string_view field) const {
        field_reader inner(ec_, what_, failure_, std::string(field));
        inner.parent_ = this;
        return inner;
    }

    bool ok() const noexcept { return !ec_; }
    error failure() const noexcept { return failure_; }
    /// The dotted path of the field this reader reads ("message.request").
    std::string path() const { return join({}); }

    /// Records a problem with `field` (empty: the value itself); returns false.
    bool fail(std::string_view field, std::string_view problem) {
        if (!ec_) {
            ec_ = failure_;
            what_ = join(field) + ": " + std::string(problem);
        }
        return false;
    }

    bool expect_map(const value& v) { return v.is_map() || fail({}, "expected a map"); }

    /// A field found beforehand (find_fields) or nullptr: as `get`.
    const value* require(const value* found, std::string_view field) {
        if (found == nullptr) {
            fail(field, "missing");
        }
        return found;
    }

    /// As read_string, on a field found beforehand (nullptr: absent), without copying: the
    /// string, or nullptr when absent or on failure (then `ok()` tells them apart).
    const std::string* string_field(const value* found, std::string_view field, bool required) {
        if (found == nullptr) {
            if (required) {
                fail(field, "missing");
            }
            return nullptr;
        }
        if (const auto* text = found->get_if<std::string>()) {
            return text;
        }
        fail(field, "expected a string");
        return nullptr;
    }

    /// As read_map, on a field found beforehand (nullptr: absent).
    const value* map_field(const value* found, std::string_view field, bool required) {
        if (found == nullptr) {
            if (required) {
                fail(field, "missing");
            }
            return nullptr;
        }
        if (found->is_map()) {
            return found;
        }
        fail(field, "expected a map");
        return nullptr;
    }

    /// The field's value, or nullptr when absent (a failure if `required`).
    const value* get(const value& map, std::string_view field, bool required) {
        const value* found = map.find(field);
        if (found == nullptr && required) {
            fail(field, "missing");
        }
        return found;
    }

    bool read_string(const value& map, std::string_view field, std::string& out,
                     bool required = true) {
        const value* v = get(map, field, required);
        if (v == nullptr) {
            return ok();
        }
        if (const auto* text = v->get_if<std::string>()) {
            out = *text;
            return true;
        }
        return fail(field, "expected a string");
    }

    bool read_bool(const value& map, std::string_view field, bool& out, bool required = true) {
        const value* v = get(map, field, required);
        if (v == nullptr) {
            return ok();
        }
        if (const auto b = v->as_bool()) {
            out = *b;
            return true;
        }
        return fail(field, "expected a bool");
    }

    /// An integer in [minimum, maximum] ([HEAD-4]).
    bool read_uint(const value& map, std::string_view field, std::uint64_t& out,
                   std::uint64_t minimum = 0,
                   std::uint64_t maximum = std::numeric_limits<std::uint64_t>::max(),
                   bool required = true) {
        const value* v = get(map, field, required);
        if (v == nullptr) {
            return ok();
        }
        return to_uint(*v, field, out, minimum, maximum);
    }

    bool to_uint(const value& v, std::string_view field, std::uint64_t& out,
                 std::uint64_t minimum = 0,
                 std::uint64_t maximum = std::numeric_limits<std::uint64_t>::max()) {
        const auto number = v.as_uint64();
        if (!v.is_integer()) {
            return fail(field, "expected an integer");
        }
        if (!number || *number < minimum || *number > maximum) {
            return fail(field, "integer out of range");
        }
        out = *number;
        return true;
    }

    bool to_int(const value& v, std::string_view field, std::int64_t& out) {
        if (!v.is_integer()) {
            return fail(field, "expected an integer");
        }
        const auto number = v.as_int64();
        if (!number) {
            return fail(field, "integer out of range");
        }
        out = *number;
        return true;
    }

    /// A number (integers accepted, [HEAD-3]); `finite_non_negative` also requires >= 0.
    bool to_double(const value& v, std::string_view field, double& out,
                   bool finite_non_negative = false) {
        const auto number = v.as_double();
        if (!number) {
            return fail(field, "expected a number");
        }
        if (finite_non_negative && !(std::isfinite(*number) && *number >= 0)) {
            return fail(field, "expected a finite number >= 0");
        }
        out = *number;
        return true;
    }

    bool read_double(const value& map, std::string_view field, double& out, bool required = true,
                     bool finite_non_negative = false) {
        const value* v = get(map, field, required);
        if (v == nullptr) {
            return ok();
        }
        return to_double(*v, field, out, finite_non_negative);
    }

    const value::array* read_array(const value& map, std::string_view field, bool required) {
        const value* v = get(map, field, required);
        if (v == nullptr) {
            return nullptr;
        }
        if (const auto* elements = v->get_if<value::array>()) {
            return elements;
        }
        fail(field, "expected an array");
        return nullptr;
    }

    const value* read_map(const value& map, std::string_view field, bool required) {
        const value* v = get(map, field, required);
        if (v == nullptr) {
            return nullptr;
        }
        if (v->is_map()) {
            return v;
        }
        fail(field, "expected a map");
        return nullptr;
    }

    bool read_strings(const value& map, std::string_view field, std::vector<std::string>& out,
                      bool required = true) {
        const value* v = get(map, field, required);
        if (v == nullptr) {
            return ok();
        }
        const auto* elements = v->get_if<value::array>();
        if (elements == nullptr) {
            return fail(field, "expected an array of strings");
        }
        std::vector<std::string> strings;
        strings.reserve(elements->size());
        for (const auto& element : *elements) {
            const auto* text = element.get_if<std::string>();
            if (text == nullptr) {
                return fail(field, "expected an array of strings");
            }
            strings.push_back(*text);
        }
        out = std::move(strings);
        return true;
    }

    /// Exactly `n` numbers.
    template <std::size_t N>
    bool read_doubles(const value& map, std::string_view field, std::array<double, N>& out,
                      bool required = true) {
        const value* v = get(map, field, required);
        if (v == nullptr) {
            return ok();
        }
        const auto* elements = v->get_if<value::array>();
        if (elements == nullptr || elements->size() != N) {
            return fail(field, "expected an array of " + std::to_string(N) + " numbers");
        }
        for (std::size_t i = 0; i < N; ++i) {
            const auto number = (*elements)[i].as_double();
            if (!number) {
                return fail(field, "expected an array of " + std::to_string(N) + " numbers");
            }
            out[i] = *number;
        }
        return true;
    }

private:
    std::string_view name() const noexcept {
        return is_owned_ ? std::string_view(owned_) : literal_;
    }

    std::string join(std::string_view field) const {
        std::string joined;
        if (parent_ != nullptr) {
            joined = parent_->join(name());
        } else {
            joined = name();
        }
        if (field.empty()) {
            return joined;
        }
        if (!joined.empty()) {
            joined += '.';
        }
        joined += field;
        return joined;
    }

    std::error_code& ec_;
    std::string& what_;
    error failure_;
    std::string_view literal_;
    std::string owned_;
    bool is_owned_ = false;
    const field_reader* parent_ = nullptr;
};

/// Whether two keys of `Size` bytes are equal: short keys (as a head's are) in one or two word
/// loads each rather than a call to memcmp.
template <std::size_t Size>
bool same_key_bytes(const char* a, const char* b) noexcept {
    if constexpr (Size == 0) {
        return true;
    } else if constexpr (Size < 4) {
        for (std::size_t i = 0; i < Size; ++i) {
            if (a[i] != b[i]) {
                return false;
            }
        }
        return true;
    } else if constexpr (Size <= 16) {
        using word = std::conditional_t<(Size < 8), std::uint32_t, std::uint64_t>;
        constexpr std::size_t last = Size - sizeof(word);
        word x = 0;
        word y = 0;
        std::memcpy(&x, a, sizeof x);
        std::memcpy(&y, b, sizeof y);
        word u = 0;
        word w = 0;
        std::memcpy(&u, a + last, sizeof u);
        std::memcpy(&w, b + last, sizeof w);
        return x == y && u == w;
    } else {
        return std::memcmp(a, b, Size) == 0;
    }
}

/// Whether `text` is the string literal `literal`, compared as same_key_bytes does.
template <std::size_t N>
bool is_literal(std::string_view text, const char (&literal)[N]) noexcept {
    return text.size() == N - 1 && same_key_bytes<N - 1>(text.data(), literal);
}

/// Points `found[I]` at `v` if `key` is `Keys[I]` and `found[I]` is still empty; true if `key`
/// is `Keys[I]`.
template <std::size_t N, const std::string_view (&Keys)[N], std::size_t I, class Value>
bool match_key(std::string_view key, Value& v, Value* (&found)[N]) noexcept {
    constexpr std::string_view wanted = Keys[I];
    if (key.size() != wanted.size() || !same_key_bytes<wanted.size()>(key.data(), wanted.data())) {
        return false;
    }
    if (found[I] == nullptr) {
        found[I] = &v;
    }
    return true;
}

template <std::size_t N, const std::string_view (&Keys)[N], class Value, std::size_t... I>
void match_keys(std::string_view key, Value& v, Value* (&found)[N],
                std::index_sequence<I...>) noexcept {
    static_cast<void>((match_key<N, Keys, I>(key, v, found) || ...));
}

/// Finds the keys `Keys` of a map in one pass over its entries: `found[i]` is the value of the
/// first entry keyed `Keys[i]` (as `value::find`), nullptr if there is none or `map` is not a
/// map. `Value` is `value` or `const value`; `Keys` an array with static storage.
template <std::size_t N, const std::string_view (&Keys)[N], class Value>
void find_fields(Value& map, Value* (&found)[N]) noexcept {
    for (auto& slot : found) {
        slot = nullptr;
    }
    auto* entries = map.template get_if<value::map>();
    if (entries == nullptr) {
        return;
    }
    for (auto& entry : *entries) {
        match_keys<N, Keys>(entry.first, entry.second, found, std::make_index_sequence<N>());
    }
}

} // namespace detail
} // namespace slicerbridge

#endif
