#ifndef SLICERBRIDGE_DATA_PARAMETER_HPP
#define SLICERBRIDGE_DATA_PARAMETER_HPP

// Parameter values (spec section 11.6): plain MessagePack values of the parameter types.

#include <slicerbridge/detail/config.hpp>
#include <slicerbridge/error.hpp>
#include <slicerbridge/value.hpp>

#include <cstdint>
#include <string>
#include <system_error>
#include <type_traits>
#include <variant>
#include <vector>

namespace slicerbridge {

/// A bool, int, float, string (also enum) or vector parameter value.
class parameter_value {
public:
    using storage = std::variant<bool, std::int64_t, double, std::string, std::vector<std::int64_t>,
                                 std::vector<double>, std::vector<std::string>>;

    parameter_value() noexcept : storage_(false) {}
    parameter_value(bool b) noexcept : storage_(b) {}
    template <class T, std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>, int> = 0>
    parameter_value(T number) noexcept : storage_(static_cast<std::int64_t>(number)) {}
    parameter_value(double number) noexcept : storage_(number) {}
    parameter_value(const char* text) : storage_(std::string(text)) {}
    parameter_value(std::string text) noexcept : storage_(std::move(text)) {}
    parameter_value(std::vector<std::int64_t> numbers) noexcept : storage_(std::move(numbers)) {}
    parameter_value(std::vector<double> numbers) noexcept : storage_(std::move(numbers)) {}
    parameter_value(std::vector<std::string> texts) noexcept : storage_(std::move(texts)) {}

    /// The held T or nullptr.
    template <class T>
    const T* get_if() const noexcept {
        return std::get_if<T>(&storage_);
    }

    const storage& get() const noexcept { return storage_; }
    storage& get() noexcept { return storage_; }

    /// Reads a parameter value by its MessagePack type: bool, integer (int64 range), float,
    /// string, or an array of integers (int vector), of numbers with a float among them (float
    /// vector) or of strings (string vector); an empty array is an empty int vector. Errors
    /// are `invalid_argument`. `validate_invoke` converts to the slot's type afterwards.
    SLICERBRIDGE_DECL static parameter_value from_value(const value& v, std::error_code& ec);
    SLICERBRIDGE_DECL static parameter_value from_value(const value& v, std::error_code& ec,
                                                        std::string& what);

    friend bool operator==(const parameter_value& a, const parameter_value& b) noexcept {
        return a.storage_ == b.storage_;
    }
    friend bool operator!=(const parameter_value& a, const parameter_value& b) noexcept {
        return !(a == b);
    }

private:
    storage storage_;
};

SLICERBRIDGE_DECL value to_value(const parameter_value& p);

} // namespace slicerbridge

#if defined(SLICERBRIDGE_HEADER_ONLY)
#include <slicerbridge/data/impl/parameter.ipp>
#endif

#endif
