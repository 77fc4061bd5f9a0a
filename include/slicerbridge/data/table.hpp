#ifndef SLICERBRIDGE_DATA_TABLE_HPP
#define SLICERBRIDGE_DATA_TABLE_HPP

// Tables (spec section 11.5): named columns of numbers, strings or bools.

#include <slicerbridge/data/typed_array.hpp>
#include <slicerbridge/detail/config.hpp>
#include <slicerbridge/error.hpp>
#include <slicerbridge/value.hpp>

#include <string>
#include <system_error>
#include <variant>
#include <vector>

namespace slicerbridge {

struct column {
    std::string name;
    /// A numeric column (one component), strings or bools.
    std::variant<typed_array, std::vector<std::string>, std::vector<bool>> values;

    SLICERBRIDGE_DECL std::uint64_t row_count() const noexcept;

    friend bool operator==(const column& a, const column& b) noexcept {
        return a.name == b.name && a.values == b.values;
    }
    friend bool operator!=(const column& a, const column& b) noexcept { return !(a == b); }
};

struct table {
    std::vector<column> columns;

    /// Rows of the first column (0 without columns).
    std::uint64_t row_count() const noexcept {
        return columns.empty() ? 0 : columns.front().row_count();
    }

    /// The column named `name`, or nullptr.
    SLICERBRIDGE_DECL const column* find(std::string_view name) const noexcept;

    /// Checks [TBL-1] and one-component numeric columns. Errors are `invalid_argument`.
    SLICERBRIDGE_DECL std::error_code validate() const;
    SLICERBRIDGE_DECL std::error_code validate(std::string& what) const;

    SLICERBRIDGE_DECL static table from_value(const value& v, std::error_code& ec);
    SLICERBRIDGE_DECL static table from_value(const value& v, std::error_code& ec,
                                              std::string& what);

    friend bool operator==(const table& a, const table& b) noexcept {
        return a.columns == b.columns;
    }
    friend bool operator!=(const table& a, const table& b) noexcept { return !(a == b); }
};

/// `{type: "table", columns: [...]}`.
SLICERBRIDGE_DECL value to_value(const table& t);

} // namespace slicerbridge

#if defined(SLICERBRIDGE_HEADER_ONLY)
#include <slicerbridge/data/impl/table.ipp>
#endif

#endif
