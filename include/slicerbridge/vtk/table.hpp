#ifndef SLICERBRIDGE_VTK_TABLE_HPP
#define SLICERBRIDGE_VTK_TABLE_HPP

// Tables <-> vtkTable (what a table node holds): numeric columns as data arrays, strings as
// vtkStringArray, bools as vtkBitArray.

#include <slicerbridge/data/table.hpp>
#include <slicerbridge/vtk/array.hpp>

#include <vtkBitArray.h>
#include <vtkStringArray.h>
#include <vtkTable.h>
#include <vtkVariantArray.h>

#include <stdexcept>
#include <string>
#include <vector>

namespace slicerbridge {

/// `t` as a vtkTable, numeric columns viewing their values in place where `to_vtk_array` can.
/// Throws std::invalid_argument if `t` is invalid.
inline vtkSmartPointer<vtkTable> to_vtk_table(const table& t) {
    std::string problem;
    if (t.validate(problem)) {
        throw std::invalid_argument("slicerbridge::to_vtk_table: " + problem);
    }
    auto result = vtkSmartPointer<vtkTable>::New();
    for (const auto& c : t.columns) {
        if (const auto* numbers = std::get_if<typed_array>(&c.values)) {
            result->AddColumn(to_vtk_array(*numbers, c.name));
        } else if (const auto* strings = std::get_if<std::vector<std::string>>(&c.values)) {
            auto column = vtkSmartPointer<vtkStringArray>::New();
            column->SetName(c.name.c_str());
            column->SetNumberOfValues(static_cast<vtkIdType>(strings->size()));
            for (std::size_t i = 0; i < strings->size(); ++i) {
                column->SetValue(static_cast<vtkIdType>(i), (*strings)[i]);
            }
            result->AddColumn(column);
        } else {
            const auto& bools = std::get<std::vector<bool>>(c.values);
            auto column = vtkSmartPointer<vtkBitArray>::New();
            column->SetName(c.name.c_str());
            column->SetNumberOfValues(static_cast<vtkIdType>(bools.size()));
            for (std::size_t i = 0; i < bools.size(); ++i) {
                column->SetValue(static_cast<vtkIdType>(i), bools[i] ? 1 : 0);
            }
            result->AddColumn(column);
        }
    }
    return result;
}

/// A table of `t`'s columns: numeric one-component arrays (viewed in place), vtkBitArray as
/// bools, vtkStringArray and vtkVariantArray as strings. Throws std::invalid_argument for a null
/// table, a column with several components, or a table that is not valid (duplicate names).
inline table from_vtk_table(vtkTable* t) {
    if (t == nullptr) {
        throw std::invalid_argument("slicerbridge::from_vtk_table: null table");
    }
    table result;
    for (vtkIdType i = 0; i < t->GetNumberOfColumns(); ++i) {
        vtkAbstractArray* array = t->GetColumn(i);
        column c;
        c.name = array->GetName() != nullptr ? array->GetName() : "";
        if (array->GetNumberOfComponents() != 1) {
            throw std::invalid_argument("slicerbridge::from_vtk_table: column " + c.name +
                                        " has several components");
        }
        if (auto* bits = vtkBitArray::SafeDownCast(array)) {
            std::vector<bool> bools(static_cast<std::size_t>(bits->GetNumberOfValues()));
            for (std::size_t row = 0; row < bools.size(); ++row) {
                bools[row] = bits->GetValue(static_cast<vtkIdType>(row)) != 0;
            }
            c.values = std::move(bools);
        } else if (auto* numbers = vtkDataArray::SafeDownCast(array)) {
            c.values = from_vtk_array(numbers);
        } else {
            std::vector<std::string> strings(static_cast<std::size_t>(array->GetNumberOfValues()));
            for (std::size_t row = 0; row < strings.size(); ++row) {
                strings[row] = array->GetVariantValue(static_cast<vtkIdType>(row)).ToString();
            }
            c.values = std::move(strings);
        }
        result.columns.push_back(std::move(c));
    }
    std::string problem;
    if (result.validate(problem)) {
        throw std::invalid_argument("slicerbridge::from_vtk_table: " + problem);
    }
    return result;
}

} // namespace slicerbridge

#endif
