#ifndef SLICERBRIDGE_DETAIL_FIELD_READER_HPP
#define SLICERBRIDGE_DETAIL_FIELD_READER_HPP

// Reads typed fields out of value maps for the from_value functions: the first problem sets the
// error code and a message naming the field ("image.dims: expected ..."), never data values
// ([ERR-3]).

#include <slicerbridge/error.hpp>
#include <slicerbridge/value.hpp>

#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace slicerbridge {
namespace detail {

class field_reader {
public:
    field_reader(std::error_code& ec, std::string& what, error failure, std::string path)
        : ec_(ec), what_(what), failure_(failure), path_(std::move(path)) {}

    /// A reader for a nested field, reporting into the same error and message.
    field_reader nested(std::string_view field) const {
        return field_reader(ec_, what_, failure_, join(field));
    }

    bool ok() const noexcept { return !ec_; }
    error failure() const noexcept { return failure_; }
    const std::string& path() const noexcept { return path_; }

    /// Records a problem with `field` (empty: the value itself); returns false.
    bool fail(std::string_view field, std::string_view problem) {
        if (!ec_) {
            ec_ = failure_;
            what_ = join(field) + ": " + std::string(problem);
        }
        return false;
    }

    bool expect_map(const value& v) { return v.is_map() || fail({}, "expected a map"); }

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
    std::string join(std::string_view field) const {
        if (field.empty()) {
            return path_;
        }
        if (path_.empty()) {
            return std::string(field);
        }
        return path_ + "." + std::string(field);
    }

    std::error_code& ec_;
    std::string& what_;
    error failure_;
    std::string path_;
};

} // namespace detail
} // namespace slicerbridge

#endif
