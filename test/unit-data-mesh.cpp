#include <slicerbridge/data/mesh.hpp>

#include "support/printers.hpp"
#include "support/round_trip.hpp"

#include <doctest/doctest.h>

namespace sb = slicerbridge;
using sb::cell_array;
using sb::error;
using sb::mesh;
using sb::typed_array;
using sb::value;

namespace {

// Six points; a vertex, a line, a triangle and a quad, and a strip of two triangles.
mesh full_mesh(sb::dtype point_type = sb::dtype::float32) {
    mesh m;
    m.space = sb::space::lps;
    const std::vector<double> xyz = {0, 0, 0, 1, 0, 0, 1, 1, 0, 0, 1, 0, 0.5, 0.5, 1, -2, 3.5, 4};
    if (point_type == sb::dtype::float32) {
        m.points = typed_array::adopt(std::vector<float>(xyz.begin(), xyz.end()), 3);
    } else {
        m.points = typed_array::adopt(std::vector<double>(xyz), 3);
    }
    m.verts = cell_array::adopt({0, 1}, {4});
    m.lines = cell_array::adopt({0, 2}, {0, 5});
    m.polys = cell_array::adopt({0, 3, 7}, {0, 1, 4, 0, 1, 2, 3});
    m.strips = cell_array::adopt({0, 4}, {0, 1, 3, 2});
    m.point_data.push_back({"temperature", typed_array::adopt(std::vector<float>(6, 36.5f))});
    m.point_data.push_back({"normals", typed_array::adopt(std::vector<double>(18, 0.0), 3)});
    m.cell_data.push_back({"region", typed_array::adopt(std::vector<std::int32_t>{1, 2, 3, 4, 5})});
    return m;
}

mesh mesh_from(const value& v) {
    std::error_code ec;
    std::string what;
    mesh result = mesh::from_value(v, ec, what);
    INFO(what);
    REQUIRE_FALSE(ec);
    return result;
}

std::string rejection(const mesh& m) {
    std::error_code ec;
    std::string what;
    mesh::from_value(sb::to_value(m), ec, what);
    CHECK(ec == error::invalid_argument);
    return what;
}

} // namespace

TEST_CASE("a mesh with all four cell kinds and point and cell data round-trips [MESH-1] "
          "[MESH-2]") {
    for (auto type : {sb::dtype::float32, sb::dtype::float64}) {
        const mesh m = full_mesh(type);
        REQUIRE_FALSE(m.validate());
        CHECK(m.point_count() == 6);
        CHECK(m.cell_count() == 5);
        CHECK(mesh_from(test_support::through_frame(sb::to_value(m))) == m);
    }
}

TEST_CASE("a mesh without cells or data is valid, absent cell kinds stay absent") {
    mesh m;
    m.points = typed_array::adopt(std::vector<float>{1, 2, 3}, 3);
    const value v = sb::to_value(m);
    CHECK(v.find("polys") == nullptr);
    CHECK(v.find("point_data") == nullptr);
    const mesh back = mesh_from(v);
    CHECK_FALSE(back.polys.has_value());
    CHECK(back == m);
}

TEST_CASE("offsets start at 0, never decrease and end at the connectivity length [MESH-1]") {
    mesh m = full_mesh();
    m.polys = cell_array::adopt({1, 3, 7}, {0, 1, 4, 0, 1, 2, 3});
    CHECK(rejection(m) == "mesh.polys: offsets must start at 0");
    m.polys = cell_array::adopt({0, 4, 3, 7}, {0, 1, 4, 0, 1, 2, 3});
    CHECK(rejection(m) == "mesh.polys: offsets must not decrease");
    m.polys = cell_array::adopt({0, 3, 6}, {0, 1, 4, 0, 1, 2, 3});
    CHECK(rejection(m) == "mesh.polys: offsets must end at the connectivity length");
    m.polys = cell_array::adopt({}, {});
    CHECK(rejection(m) == "mesh.polys: offsets must start at 0");
    m.polys = cell_array::adopt({0}, {});
    m.cell_data.clear();
    CHECK_FALSE(m.validate());
    CHECK(m.cell_count() == 3);
}

TEST_CASE("every connectivity value is a valid point index [MESH-1]") {
    mesh m = full_mesh();
    m.lines = cell_array::adopt({0, 2}, {0, 6});
    CHECK(rejection(m) == "mesh.lines: connectivity holds an invalid point index");
    m.lines = cell_array::adopt({0, 2}, {-1, 0});
    CHECK(rejection(m) == "mesh.lines: connectivity holds an invalid point index");
}

TEST_CASE("cell arrays are int64 with one component") {
    mesh m = full_mesh();
    m.verts = cell_array{typed_array::adopt(std::vector<std::int32_t>{0, 1}),
                         typed_array::adopt(std::vector<std::int32_t>{4})};
    CHECK(rejection(m) == "mesh.verts: offsets and connectivity must be int64 with one component");
}

TEST_CASE("big-endian offsets and connectivity are read in their byte order [ARRAY-2]") {
    mesh m = full_mesh();
    const auto to_big = [](const typed_array& a) {
        typed_array big = a;
        std::vector<std::byte> bytes(a.data.begin(), a.data.end());
        for (std::size_t i = 0; i < bytes.size(); i += 8) {
            std::reverse(bytes.begin() + static_cast<std::ptrdiff_t>(i),
                         bytes.begin() + static_cast<std::ptrdiff_t>(i + 8));
        }
        big.data = sb::buffer::copy_of(bytes.data(), bytes.size());
        big.byte_order = sb::byte_order::big;
        return big;
    };
    m.polys = cell_array{to_big(m.polys->offsets), to_big(m.polys->connectivity)};
    CHECK_FALSE(m.validate());
    CHECK(m.polys->offsets.scalar<std::int64_t>(2) == 7);
    CHECK(mesh_from(test_support::through_frame(sb::to_value(m))) == m);
}

TEST_CASE("point data has one tuple per point and cell data one per cell, names unique "
          "[MESH-2]") {
    mesh m = full_mesh();
    m.point_data[0].array = typed_array::adopt(std::vector<float>(5, 1.0f));
    CHECK(rejection(m) == "mesh.point_data: array \"temperature\" needs one tuple per point");
    m = full_mesh();
    m.cell_data[0].array = typed_array::adopt(std::vector<std::int32_t>(4, 1));
    CHECK(rejection(m) == "mesh.cell_data: array \"region\" needs one tuple per cell");
    m = full_mesh();
    m.point_data[1].name = "temperature";
    CHECK(rejection(m) == "mesh.point_data.name: names must be unique");
    CHECK(m.validate() == error::invalid_argument);
}

TEST_CASE("points are float32 or float64 with 3 components") {
    mesh m = full_mesh();
    m.points = typed_array::adopt(std::vector<std::int32_t>(18, 0), 3);
    CHECK(rejection(m) == "mesh.points: expected float32 or float64 with 3 components");
    m.points = typed_array::adopt(std::vector<float>(12, 0), 2);
    CHECK(rejection(m) == "mesh.points: expected float32 or float64 with 3 components");
}

TEST_CASE("RAS <-> LPS negates x and y of every point, cells and winding are kept [MESH-3]") {
    for (auto type : {sb::dtype::float32, sb::dtype::float64}) {
        const mesh lps = full_mesh(type);
        const mesh ras = lps.in_space(sb::space::ras);
        CHECK(ras.space == sb::space::ras);
        CHECK(ras.polys == lps.polys);
        CHECK(ras.strips == lps.strips);
        for (std::size_t i = 0; i < 18; ++i) {
            const double before = type == sb::dtype::float32 ? lps.points.scalar<float>(i)
                                                             : lps.points.scalar<double>(i);
            const double after = type == sb::dtype::float32 ? ras.points.scalar<float>(i)
                                                            : ras.points.scalar<double>(i);
            CHECK(after == (i % 3 == 2 ? before : -before));
        }
        CHECK(ras.in_space(sb::space::lps) == lps);
    }
}

TEST_CASE("missing and mistyped mesh keys are invalid_argument [DATA-3] [DATA-2]") {
    value v = sb::to_value(full_mesh());
    v["polys"] = value::map{{"offsets", sb::to_value(full_mesh().polys->offsets)}};
    std::error_code ec;
    std::string what;
    mesh::from_value(v, ec, what);
    CHECK(ec == error::invalid_argument);
    CHECK(what == "mesh.polys.connectivity: missing");
    v = sb::to_value(full_mesh());
    v["space"] = nullptr;
    mesh::from_value(v, ec, what);
    CHECK(what == "mesh.space: expected a string");
    v = sb::to_value(full_mesh());
    v["points"] = value::array{};
    mesh::from_value(v, ec, what);
    CHECK(what == "mesh.points: expected a map");
}
