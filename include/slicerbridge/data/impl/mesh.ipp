#ifndef SLICERBRIDGE_DATA_IMPL_MESH_IPP
#define SLICERBRIDGE_DATA_IMPL_MESH_IPP

#include <slicerbridge/data/impl/typed_array.ipp> // its detail helpers
#include <slicerbridge/data/mesh.hpp>

#include <slicerbridge/detail/data_fields.hpp>
#include <slicerbridge/detail/field_reader.hpp>

#include <algorithm>
#include <cstring>
#include <unordered_set>

namespace slicerbridge {
namespace detail {

inline constexpr std::string_view cell_kinds[] = {"verts", "lines", "polys", "strips"};

SLICERBRIDGE_DECL bool read_named_arrays(field_reader& reader, const value& map,
                                         std::string_view field, std::vector<named_array>& out) {
    const auto* entries = reader.read_array(map, field, false);
    if (entries == nullptr) {
        return reader.ok();
    }
    auto nested = reader.nested(field);
    std::unordered_set<std::string> names;
    for (const auto& entry : *entries) {
        named_array named;
        if (!nested.expect_map(entry) || !nested.read_string(entry, "name", named.name) ||
            !read_typed_array(nested, entry, named.array)) {
            return false;
        }
        if (!names.insert(named.name).second) {
            return nested.fail("name", "names must be unique");
        }
        out.push_back(std::move(named));
    }
    return true;
}

SLICERBRIDGE_DECL value named_array_to_value(const named_array& named) {
    value::map entries;
    entries.emplace_back("name", named.name);
    write_typed_array(entries, named.array);
    return entries;
}

SLICERBRIDGE_DECL bool check_cell_array(field_reader& reader, std::string_view field,
                                        const cell_array& cells, std::uint64_t point_count) {
    if (cells.offsets.dtype != dtype::int64 || cells.offsets.components != 1 ||
        cells.connectivity.dtype != dtype::int64 || cells.connectivity.components != 1) {
        return reader.fail(field, "offsets and connectivity must be int64 with one component");
    }
    const std::uint64_t offsets = cells.offsets.count();
    const std::uint64_t connectivity = cells.connectivity.count();
    if (offsets == 0 || cells.offsets.scalar<std::int64_t>(0) != 0) {
        return reader.fail(field, "offsets must start at 0");
    }
    std::int64_t previous = 0;
    for (std::uint64_t i = 1; i < offsets; ++i) {
        const auto offset = cells.offsets.scalar<std::int64_t>(static_cast<std::size_t>(i));
        if (offset < previous) {
            return reader.fail(field, "offsets must not decrease");
        }
        previous = offset;
    }
    if (static_cast<std::uint64_t>(previous) != connectivity) {
        return reader.fail(field, "offsets must end at the connectivity length");
    }
    for (std::uint64_t i = 0; i < connectivity; ++i) {
        const auto index = cells.connectivity.scalar<std::int64_t>(static_cast<std::size_t>(i));
        if (index < 0 || static_cast<std::uint64_t>(index) >= point_count) {
            return reader.fail(field, "connectivity holds an invalid point index");
        }
    }
    return true;
}

} // namespace detail

SLICERBRIDGE_DECL cell_array cell_array::adopt(std::vector<std::int64_t>&& offsets,
                                               std::vector<std::int64_t>&& connectivity) {
    return {typed_array::adopt(std::move(offsets)), typed_array::adopt(std::move(connectivity))};
}

SLICERBRIDGE_DECL std::uint64_t mesh::cell_count() const noexcept {
    std::uint64_t total = 0;
    for (const auto* cells : {&verts, &lines, &polys, &strips}) {
        if (*cells) {
            total += (*cells)->cell_count();
        }
    }
    return total;
}

SLICERBRIDGE_DECL std::error_code mesh::validate(std::string& what) const {
    std::error_code ec;
    detail::field_reader reader(ec, what, error::invalid_argument, "mesh");
    if ((points.dtype != slicerbridge::dtype::float32 &&
         points.dtype != slicerbridge::dtype::float64) ||
        points.components != 3) {
        reader.fail("points", "expected float32 or float64 with 3 components");
        return ec;
    }
    const std::optional<cell_array>* kinds[] = {&verts, &lines, &polys, &strips};
    for (std::size_t i = 0; i < 4; ++i) {
        if (*kinds[i] &&
            !detail::check_cell_array(reader, detail::cell_kinds[i], **kinds[i], point_count())) {
            return ec;
        }
    }
    std::unordered_set<std::string> names;
    for (const auto& named : point_data) {
        if (!names.insert(named.name).second) {
            reader.fail("point_data", "names must be unique");
            return ec;
        }
        if (named.array.count() != point_count()) {
            reader.fail("point_data", "array \"" + named.name + "\" needs one tuple per point");
            return ec;
        }
    }
    names.clear();
    for (const auto& named : cell_data) {
        if (!names.insert(named.name).second) {
            reader.fail("cell_data", "names must be unique");
            return ec;
        }
        if (named.array.count() != cell_count()) {
            reader.fail("cell_data", "array \"" + named.name + "\" needs one tuple per cell");
            return ec;
        }
    }
    return ec;
}

SLICERBRIDGE_DECL std::error_code mesh::validate() const {
    std::string what;
    return validate(what);
}

SLICERBRIDGE_DECL mesh mesh::in_space(slicerbridge::space target) const {
    mesh result = *this;
    if (target != space) {
        result.points = detail::points_in_other_space(points);
        result.space = target;
    }
    return result;
}

SLICERBRIDGE_DECL mesh mesh::from_value(const value& v, std::error_code& ec, std::string& what) {
    ec.clear();
    detail::field_reader reader(ec, what, error::invalid_argument, "mesh");
    mesh result;
    if (!detail::expect_type(reader, v, "mesh") || !detail::read_space(reader, v, result.space)) {
        return mesh();
    }
    const value* points = reader.read_map(v, "points", true);
    if (points == nullptr) {
        return mesh();
    }
    auto points_reader = reader.nested("points");
    if (!detail::read_typed_array(points_reader, *points, result.points)) {
        return mesh();
    }
    std::optional<cell_array>* kinds[] = {&result.verts, &result.lines, &result.polys,
                                          &result.strips};
    for (std::size_t i = 0; i < 4; ++i) {
        const value* cells = reader.read_map(v, detail::cell_kinds[i], false);
        if (cells == nullptr) {
            if (!reader.ok()) {
                return mesh();
            }
            continue;
        }
        auto cells_reader = reader.nested(detail::cell_kinds[i]);
        cell_array parsed;
        const value* offsets = cells_reader.read_map(*cells, "offsets", true);
        const value* connectivity =
            offsets == nullptr ? nullptr : cells_reader.read_map(*cells, "connectivity", true);
        if (connectivity == nullptr) {
            return mesh();
        }
        auto offsets_reader = cells_reader.nested("offsets");
        auto connectivity_reader = cells_reader.nested("connectivity");
        if (!detail::read_typed_array(offsets_reader, *offsets, parsed.offsets) ||
            !detail::read_typed_array(connectivity_reader, *connectivity, parsed.connectivity)) {
            return mesh();
        }
        *kinds[i] = std::move(parsed);
    }
    if (!detail::read_named_arrays(reader, v, "point_data", result.point_data) ||
        !detail::read_named_arrays(reader, v, "cell_data", result.cell_data)) {
        return mesh();
    }
    if (auto invalid = result.validate(what)) {
        ec = invalid;
        return mesh();
    }
    return result;
}

SLICERBRIDGE_DECL mesh mesh::from_value(const value& v, std::error_code& ec) {
    std::string what;
    return from_value(v, ec, what);
}

SLICERBRIDGE_DECL value to_value(const mesh& m) {
    value::map entries;
    entries.emplace_back("type", "mesh");
    entries.emplace_back("space", std::string(space_name(m.space)));
    entries.emplace_back("points", to_value(m.points));
    const std::optional<cell_array>* kinds[] = {&m.verts, &m.lines, &m.polys, &m.strips};
    for (std::size_t i = 0; i < 4; ++i) {
        if (*kinds[i]) {
            entries.emplace_back(std::string(detail::cell_kinds[i]),
                                 value::map{{"offsets", to_value((*kinds[i])->offsets)},
                                            {"connectivity", to_value((*kinds[i])->connectivity)}});
        }
    }
    for (const auto* data : {&m.point_data, &m.cell_data}) {
        if (!data->empty()) {
            value::array arrays;
            for (const auto& named : *data) {
                arrays.push_back(detail::named_array_to_value(named));
            }
            entries.emplace_back(data == &m.point_data ? "point_data" : "cell_data",
                                 std::move(arrays));
        }
    }
    return entries;
}

} // namespace slicerbridge

#endif
