#ifndef SLICERBRIDGE_DATA_IMPL_TABLE_IPP
#define SLICERBRIDGE_DATA_IMPL_TABLE_IPP

#include <slicerbridge/data/impl/typed_array.ipp> // its detail helpers
#include <slicerbridge/data/table.hpp>

#include <slicerbridge/detail/data_fields.hpp>

#include <unordered_set>

namespace slicerbridge {

SLICERBRIDGE_DECL std::uint64_t column::row_count() const noexcept {
    if (const auto* numbers = std::get_if<typed_array>(&values)) {
        return numbers->count();
    }
    if (const auto* strings = std::get_if<std::vector<std::string>>(&values)) {
        return strings->size();
    }
    return std::get<std::vector<bool>>(values).size();
}

SLICERBRIDGE_DECL const column* table::find(std::string_view name) const noexcept {
    for (const auto& c : columns) {
        if (c.name == name) {
            return &c;
        }
    }
    return nullptr;
}

SLICERBRIDGE_DECL std::error_code table::validate(std::string& what) const {
    std::error_code ec;
    detail::field_reader reader(ec, what, error::invalid_argument, "table");
    std::unordered_set<std::string> names;
    for (const auto& c : columns) {
        if (!names.insert(c.name).second) {
            reader.fail("columns", "column names must be unique");
            return ec;
        }
        const auto* numbers = std::get_if<typed_array>(&c.values);
        if (numbers != nullptr && numbers->components != 1) {
            reader.fail("columns", "numeric column \"" + c.name + "\" must have one component");
            return ec;
        }
        if (c.row_count() != row_count()) {
            reader.fail("columns", "every column must have the same number of rows");
            return ec;
        }
    }
    return ec;
}

SLICERBRIDGE_DECL std::error_code table::validate() const {
    std::string what;
    return validate(what);
}

SLICERBRIDGE_DECL table table::from_value(const value& v, std::error_code& ec, std::string& what) {
    ec.clear();
    detail::field_reader reader(ec, what, error::invalid_argument, "table");
    table result;
    if (!detail::expect_type(reader, v, "table")) {
        return table();
    }
    const auto* columns = reader.read_array(v, "columns", true);
    if (columns == nullptr) {
        return table();
    }
    auto columns_reader = reader.nested("columns");
    for (const auto& entry : *columns) {
        column c;
        std::string dtype_text;
        if (!columns_reader.expect_map(entry) ||
            !columns_reader.read_string(entry, "name", c.name) ||
            !columns_reader.read_string(entry, "dtype", dtype_text)) {
            return table();
        }
        if (dtype_text == "string") {
            std::vector<std::string> strings;
            if (!columns_reader.read_strings(entry, "values", strings)) {
                return table();
            }
            c.values = std::move(strings);
        } else if (dtype_text == "bool") {
            const auto* values = columns_reader.read_array(entry, "values", true);
            if (values == nullptr) {
                return table();
            }
            std::vector<bool> bools;
            bools.reserve(values->size());
            for (const auto& element : *values) {
                const auto b = element.as_bool();
                if (!b) {
                    columns_reader.fail("values", "expected an array of bools");
                    return table();
                }
                bools.push_back(*b);
            }
            c.values = std::move(bools);
        } else {
            typed_array numbers;
            if (!detail::read_typed_array(columns_reader, entry, numbers)) {
                return table();
            }
            c.values = std::move(numbers);
        }
        result.columns.push_back(std::move(c));
    }
    if (auto invalid = result.validate(what)) {
        ec = invalid;
        return table();
    }
    return result;
}

SLICERBRIDGE_DECL table table::from_value(const value& v, std::error_code& ec) {
    std::string what;
    return from_value(v, ec, what);
}

SLICERBRIDGE_DECL value to_value(const table& t) {
    value::array columns;
    for (const auto& c : t.columns) {
        value::map entries;
        entries.emplace_back("name", c.name);
        if (const auto* numbers = std::get_if<typed_array>(&c.values)) {
            detail::write_typed_array(entries, *numbers);
        } else if (const auto* strings = std::get_if<std::vector<std::string>>(&c.values)) {
            entries.emplace_back("dtype", "string");
            entries.emplace_back("values", value::array(strings->begin(), strings->end()));
        } else {
            const auto& bools = std::get<std::vector<bool>>(c.values);
            value::array elements;
            elements.reserve(bools.size());
            for (bool b : bools) {
                elements.emplace_back(b);
            }
            entries.emplace_back("dtype", "bool");
            entries.emplace_back("values", std::move(elements));
        }
        columns.push_back(std::move(entries));
    }
    return value::map{{"type", "table"}, {"columns", std::move(columns)}};
}

} // namespace slicerbridge

#endif
