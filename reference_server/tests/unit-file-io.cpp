// File formats of the command line: round trips keep voxels and geometry; RAS/LPS conversions
// happen on geometry only; other readers understand what we write.

#include "file_io.hpp"

#include "binary.hpp"
#include "support.hpp"

#include <slicerbridge/vtk.hpp>

#include <vtkImageData.h>
#include <vtkNew.h>
#include <vtkNrrdReader.h>
#include <vtkPointData.h>

#include <cstdio>
#include <fstream>
#include <numeric>
#include <sstream>

#include <dirent.h>
#include <unistd.h>

using namespace test_support;
using namespace slicerbridge::files;

namespace {

/// A fresh directory for one test case's files, removed with its files afterwards.
class scratch {
public:
    scratch() {
        char pattern[] = "/tmp/slicerbridge-io-XXXXXX";
        const char* made = ::mkdtemp(pattern);
        REQUIRE(made != nullptr);
        dir_ = made;
    }
    ~scratch() {
        for (const auto& f : files_) {
            std::remove(f.c_str());
        }
        ::rmdir(dir_.c_str());
    }
    std::string path(const std::string& name) {
        files_.push_back(dir_ + "/" + name);
        return files_.back();
    }
    void write(const std::string& name, const std::string& bytes) {
        std::ofstream out(path(name), std::ios::binary);
        out << bytes;
    }

private:
    std::string dir_;
    std::vector<std::string> files_;
};

image numbered(std::array<std::uint64_t, 3> dims, const matrix4& m, space s) {
    std::vector<std::int16_t> voxels(dims[0] * dims[1] * dims[2]);
    std::iota(voxels.begin(), voxels.end(), std::int16_t{-300});
    return image::adopt(std::move(voxels), dims, m, s);
}

void check_same_geometry(const image& a, const image& b, double tolerance = 1e-9) {
    CHECK(a.dims == b.dims);
    const matrix4 other = b.in_space(a.space).ijk_to_space;
    for (std::size_t i = 0; i < 16; ++i) {
        CAPTURE(i);
        CHECK(a.ijk_to_space[i] == doctest::Approx(other[i]).epsilon(tolerance).scale(1));
    }
}

/// Every voxel of `b` has the value of the voxel of `a` at the same physical place: the same
/// image, whatever order the voxels are stored in.
void check_same_physical_image(const image& a, const image& b) {
    REQUIRE(a.voxel_count() == b.voxel_count());
    const matrix4 to_a = inverse(a.ijk_to_space);
    const matrix4 b_in_a_space = b.in_space(a.space).ijk_to_space;
    std::size_t mismatches = 0;
    for (std::uint64_t k = 0; k < b.dims[2]; ++k) {
        for (std::uint64_t j = 0; j < b.dims[1]; ++j) {
            for (std::uint64_t i = 0; i < b.dims[0]; ++i) {
                const auto p = apply(b_in_a_space, static_cast<double>(i), static_cast<double>(j),
                                     static_cast<double>(k));
                const auto ijk = apply(to_a, p[0], p[1], p[2]);
                std::array<std::int64_t, 3> index{};
                for (std::size_t axis = 0; axis < 3; ++axis) {
                    index[axis] = std::llround(ijk[axis]);
                    if (std::abs(ijk[axis] - static_cast<double>(index[axis])) > 1e-4 ||
                        index[axis] < 0 ||
                        static_cast<std::uint64_t>(index[axis]) >= a.dims[axis]) {
                        FAIL("voxel " << i << "," << j << "," << k << " is off the other grid");
                    }
                }
                mismatches +=
                    voxel_at(b, i, j, k) != voxel_at(a, static_cast<std::uint64_t>(index[0]),
                                                     static_cast<std::uint64_t>(index[1]),
                                                     static_cast<std::uint64_t>(index[2]));
            }
        }
    }
    CHECK(mismatches == 0);
}

} // namespace

TEST_CASE("NRRD through ITK keeps voxels and oblique geometry, RAS and LPS (the file is LPS) "
          "[IMG-1] [IMG-2]") {
    scratch dir;
    for (space s : {space::ras, space::lps}) {
        CAPTURE(space_name(s));
        const image original = numbered({12, 7, 5}, oblique_matrix(), s);
        const auto path = dir.path(std::string("oblique-") + std::string(space_name(s)) + ".nrrd");
        write_nrrd(original, path);
        const image back = read_nrrd(path);
        CHECK(back.space == space::lps);
        CHECK(back.data == original.data);
        check_same_geometry(original, back, 1e-12);
    }
}

TEST_CASE("NRRD: vector images, every dtype and big-endian data round-trip [ARRAY-2]") {
    scratch dir;
    std::vector<float> rgb(4 * 3 * 2 * 3);
    std::iota(rgb.begin(), rgb.end(), 0.25f);
    const image vector_image = image::adopt(std::move(rgb), {4, 3, 2}, oblique_matrix(), space::ras,
                                            image_kind::vector, 3);
    write_nrrd(vector_image, dir.path("rgb.nrrd"));
    const image rgb_back = read_nrrd(dir.path("rgb.nrrd"));
    CHECK(rgb_back.components == 3);
    CHECK(rgb_back.kind == image_kind::vector);
    CHECK(rgb_back.data == vector_image.data);
    check_same_geometry(vector_image, rgb_back, 1e-12);

    const image native = numbered({3, 2, 2}, oblique_matrix(), space::lps);
    image big = native;
    std::vector<std::byte> swapped(native.data.begin(), native.data.end());
    for (std::size_t i = 0; i + 1 < swapped.size(); i += 2) {
        std::swap(swapped[i], swapped[i + 1]);
    }
    big.data = buffer::copy_of(swapped.data(), swapped.size());
    big.byte_order = native_byte_order == byte_order::little ? byte_order::big : byte_order::little;
    write_nrrd(big, dir.path("big.nrrd"));
    CHECK(read_nrrd(dir.path("big.nrrd")).to_native_byte_order().data == native.data);

    const std::array<std::uint64_t, 3> dims{2, 2, 1};
    write_nrrd(image::adopt(std::vector<std::uint64_t>{1, 2, 3, 4}, dims), dir.path("u64.nrrd"));
    CHECK(read_nrrd(dir.path("u64.nrrd")).dtype == dtype::uint64);
    write_nrrd(image::adopt(std::vector<std::int8_t>{-1, 2, -3, 4}, dims), dir.path("i8.nrrd"));
    CHECK(read_nrrd(dir.path("i8.nrrd")).voxels<std::int8_t>()[2] == -3);
}

TEST_CASE("NRRD: vtkNrrdReader reads what we write with the same voxels, spacing and origin") {
    scratch dir;
    matrix4 m = identity_matrix;
    m[0] = 0.7;
    m[5] = 1.3;
    m[10] = 2.5;
    m[3] = -10;
    m[7] = 20.5;
    m[11] = 3;
    const image original = numbered({16, 11, 10}, m, space::lps);
    const auto path = dir.path("axis-aligned.nrrd");
    write_nrrd(original, path);
    vtkNew<vtkNrrdReader> reader;
    reader->SetFileName(path.c_str());
    reader->Update();
    vtkImageData* data = reader->GetOutput();
    int extent[6];
    data->GetExtent(extent);
    CHECK(extent[1] == 15);
    CHECK(extent[3] == 10);
    CHECK(extent[5] == 9);
    CHECK(data->GetScalarType() == VTK_SHORT);
    CHECK(data->GetSpacing()[0] == doctest::Approx(0.7));
    CHECK(data->GetSpacing()[2] == doctest::Approx(2.5));
    CHECK(data->GetOrigin()[1] == doctest::Approx(20.5));
    const image through_vtk = from_vtk_image(data, index_to_physical_matrix(data), space::lps);
    CHECK(through_vtk.data == original.data);
    CHECK(through_vtk.ijk_to_space == original.ijk_to_space);
}

TEST_CASE("NRRD: files from other writers: gzip, detached data, LAS space, spacings only") {
    scratch dir;
    const image reference = read_nrrd([&] {
        write_nrrd(numbered({4, 3, 2}, oblique_matrix(), space::lps), dir.path("ref.nrrd"));
        return dir.path("ref.nrrd");
    }());

    std::vector<std::int16_t> values(24);
    std::iota(values.begin(), values.end(), std::int16_t{-300});
    std::string raw(reinterpret_cast<const char*>(values.data()), values.size() * 2);
    dir.write("data.raw", raw);
    dir.write("detached.nhdr",
              "NRRD0005\ntype: short\ndimension: 3\nspace: left-anterior-superior\nsizes: 4 3 2\n"
              "space directions: (1,0,0) (0,2,0) (0,0,3)\nendian: little\nencoding: raw\n"
              "space origin: (5,6,7)\ndata file: data.raw\n\n");
    const image detached = read_nrrd(dir.path("detached.nhdr"));
    CHECK(detached.data == reference.data);
    // LAS x is RAS -x.
    const matrix4 las = detached.in_space(space::ras).ijk_to_space;
    CHECK(las[0] == -1);
    CHECK(las[3] == -5);
    CHECK(las[7] == 6);

    dir.write("spacings.nrrd",
              "NRRD0004\ntype: int16\ndimension: 3\nsizes: 4 3 2\nspacings: 0.5 0.5 2\n"
              "endian: little\nencoding: raw\n\n" +
                  raw);
    const image spaced = read_nrrd(dir.path("spacings.nrrd"));
    CHECK(spaced.space == space::lps);
    CHECK(spaced.ijk_to_space[10] == 2);
}

TEST_CASE("NRRD: malformed files are file errors, never crashes") {
    scratch dir;
    dir.write("short.nrrd", "NRRD0004\ntype: short\ndimension: 3\nsizes: 4 3 2\nendian: little\n"
                            "encoding: raw\n\nabc");
    CHECK_THROWS_AS(read_nrrd(dir.path("short.nrrd")), file_error);
    dir.write("type.nrrd", "NRRD0004\ntype: quaternion\ndimension: 3\nsizes: 1 1 1\n\n");
    CHECK_THROWS_AS(read_nrrd(dir.path("type.nrrd")), file_error);
    dir.write("2d.nrrd", "NRRD0004\ntype: uchar\ndimension: 2\nsizes: 2 2\nencoding: raw\n\n1234");
    CHECK(read_nrrd(dir.path("2d.nrrd")).dims == std::array<std::uint64_t, 3>{2, 2, 1});
    dir.write("4d.nrrd", "NRRD0004\ntype: uchar\ndimension: 4\nsizes: 1 1 2 2\n"
                         "kinds: domain domain domain time\n\n1234");
    CHECK_THROWS_AS(read_nrrd(dir.path("4d.nrrd")), file_error);
    dir.write("huge.nrrd", "NRRD0004\ntype: double\ndimension: 3\nsizes: 99999 99999 99999\n"
                           "endian: little\n\n12345678");
    CHECK_THROWS_AS(read_nrrd(dir.path("huge.nrrd")), file_error);
    dir.write("gzip.nrrd",
              "NRRD0004\ntype: uchar\ndimension: 3\nsizes: 2 2 1\nencoding: gzip\n\nxx");
    CHECK_THROWS_AS(read_nrrd(dir.path("gzip.nrrd")), file_error);
    dir.write("not.nrrd", "P6\n");
    CHECK_THROWS_AS(read_nrrd(dir.path("not.nrrd")), file_error);
    CHECK_THROWS_AS(read_nrrd(dir.path("missing.nrrd")), file_error);
}

TEST_CASE("MetaImage: .mha and .mhd keep voxels and oblique geometry (LPS in the file)") {
    scratch dir;
    for (const char* name : {"a.mha", "b.mhd"}) {
        CAPTURE(name);
        const image original = numbered({9, 6, 4}, oblique_matrix(), space::ras);
        write_metaimage(original, dir.path(name));
        if (std::string(name) == "b.mhd") {
            dir.path("b.raw");
        }
        const image back = read_metaimage(dir.path(name));
        CHECK(back.space == space::lps);
        CHECK(back.data == original.data);
        check_same_geometry(original, back);
    }
}

TEST_CASE("NIfTI: matrices survive, including left-handed and sheared ones") {
    scratch dir;
    matrix4 left = oblique_matrix();
    for (std::size_t row = 0; row < 3; ++row) {
        left[row * 4] = -left[row * 4];
    }
    matrix4 sheared = identity_matrix;
    sheared[1] = 0.5;
    sheared[3] = 4;
    for (const auto& m : {oblique_matrix(), left, sheared}) {
        const image original = numbered({7, 6, 5}, m, space::lps);
        const auto path = dir.path("volume" + std::to_string(m[0]) + ".nii.gz");
        write_image(original, path);
        const image back = read_image(path);
        CHECK(back.space == space::lps);
        // The file's voxel order is kept, left-handed or not; the sform keeps a shear.
        CHECK(back.data == original.data);
        check_same_geometry(original, back, 1e-6);
        CHECK((linear_determinant(back.ijk_to_space) > 0) == (linear_determinant(m) > 0));
        check_same_physical_image(original, back);
    }
}

TEST_CASE("VTK XML images keep geometry with their space tag") {
    scratch dir;
    const image original = numbered({5, 4, 3}, oblique_matrix(), space::ras);
    write_image(original, dir.path("v.vti"));
    const image back = read_image(dir.path("v.vti"));
    CHECK(back.space == space::ras);
    CHECK(back.data == original.data);
    check_same_geometry(original, back);
}

TEST_CASE("meshes: .vtp and .vtk keep cells and data, written in LPS, read back at the same "
          "place, and STL keeps triangles [MESH-3]") {
    scratch dir;
    mesh m;
    m.space = space::ras;
    m.points = typed_array::adopt(std::vector<float>{0, 0, 0, 10, 0, 0, 0, 10, 0, 0, 0, 10}, 3);
    m.polys = cell_array::adopt({0, 3, 6, 9, 12}, {0, 2, 1, 0, 1, 3, 0, 3, 2, 1, 2, 3});
    m.lines = cell_array::adopt({0, 2}, {0, 3});
    m.point_data.push_back({"thickness", typed_array::adopt(std::vector<double>{1, 2, 3, 4})});
    for (const char* name : {"m.vtp", "m.vtk"}) {
        CAPTURE(name);
        write_mesh(m, dir.path(name));
        const mesh back = read_mesh(dir.path(name));
        CHECK(back.space == space::lps);
        const mesh in_ras = back.in_space(space::ras);
        CHECK(in_ras.points == m.points);
        CHECK(in_ras.polys == m.polys);
        CHECK(in_ras.lines == m.lines);
        REQUIRE(in_ras.point_data.size() == 1);
        CHECK(in_ras.point_data[0] == m.point_data[0]);
    }
    write_mesh(m, dir.path("m.stl"));
    const mesh stl = read_mesh(dir.path("m.stl"));
    CHECK(stl.space == space::lps);
    REQUIRE(stl.polys);
    CHECK(stl.polys->cell_count() == 4);
}

TEST_CASE("CSV tables: types inferred, quoting kept [TBL-1]") {
    scratch dir;
    table t;
    t.columns.push_back({"label", typed_array::adopt(std::vector<std::int64_t>{1, 20})});
    t.columns.push_back({"volume mm3", typed_array::adopt(std::vector<double>{0.1, 2.5e10})});
    t.columns.push_back({"name", std::vector<std::string>{"liver, left", "say \"hi\""}});
    t.columns.push_back({"ok", std::vector<bool>{true, false}});
    write_table(t, dir.path("t.csv"));
    CHECK(read_table(dir.path("t.csv")) == t);
    dir.write("ragged.csv", "a,b\n1,2\n3\n");
    CHECK_THROWS_AS(read_table(dir.path("ragged.csv")), file_error);
}

TEST_CASE("ITK transforms: the file's LPS resampling transform is Slicer's RAS to-parent "
          "inverse [XFM-1]") {
    scratch dir;
    dir.write("shift.tfm", "#Insight Transform File V1.0\n#Transform 0\n"
                           "Transform: AffineTransform_double_3_3\n"
                           "Parameters: 1 0 0 0 1 0 0 0 1 1 2 3\nFixedParameters: 0 0 0\n");
    const transform t = read_transform(dir.path("shift.tfm"));
    const matrix4 ras = t.in_space(space::ras).matrix;
    CHECK(ras[3] == 1);
    CHECK(ras[7] == 2);
    CHECK(ras[11] == -3);

    transform rotated{oblique_matrix(), space::ras};
    write_transform(rotated, dir.path("r.tfm"));
    const transform back = read_transform(dir.path("r.tfm"));
    const matrix4 again = back.in_space(space::ras).matrix;
    for (std::size_t i = 0; i < 16; ++i) {
        CHECK(again[i] == doctest::Approx(rotated.matrix[i]).scale(1));
    }
    dir.write("bspline.tfm", "Transform: BSplineTransform_double_3_3\nParameters: 1\n");
    CHECK_THROWS_AS(read_transform(dir.path("bspline.tfm")), file_error);
}

TEST_CASE("markups JSON: control points and labels, converted from the file's space [PTS-1]") {
    scratch dir;
    dir.write("f.mrk.json",
              R"({"markups": [{"type": "Fiducial", "coordinateSystem": "RAS",
                  "controlPoints": [{"label": "tip", "position": [1, 2, 3]},
                                    {"label": "base", "position": [-4, 5, 6]}]}]})");
    const point_list p = read_points(dir.path("f.mrk.json"));
    CHECK(p.space == space::ras);
    REQUIRE(p.labels);
    CHECK((*p.labels)[1] == "base");
    write_points(p, dir.path("g.mrk.json"));
    const point_list back = read_points(dir.path("g.mrk.json"));
    CHECK(back.space == space::lps);
    CHECK(back.in_space(space::ras) == p);
    dir.write("bad.json", R"({"markups": [{"controlPoints": [{"position": [1, 2]}]}]})");
    CHECK_THROWS_AS(read_points(dir.path("bad.json")), file_error);
}

TEST_CASE("read_data applies the slot's image kind and rejects what it cannot hold") {
    scratch dir;
    std::vector<float> values(8, 1.5f);
    write_image(image::adopt(std::move(values), {2, 2, 2}), dir.path("f.nrrd"));
    CHECK_THROWS_AS(read_data(dir.path("f.nrrd"), slot_type::image, image_kind::label), file_error);
    write_image(numbered({2, 2, 2}, identity_matrix, space::ras), dir.path("l.nrrd"));
    const auto labels = read_data(dir.path("l.nrrd"), slot_type::image, image_kind::label);
    CHECK(std::get<image>(labels).kind == image_kind::label);
    CHECK_THROWS_AS(read_data(dir.path("l.png"), slot_type::image), file_error);
    CHECK(extension_of("/a/b/Volume.NII.GZ") == ".nii.gz");
    CHECK(extension_of("x.seg.nrrd") == ".nrrd");
}

TEST_CASE("outputs: nothing at the path until the file is complete, and nothing left behind") {
    scratch dir;
    const std::string target = dir.path("out.nii");
    const std::string folder = target.substr(0, target.find_last_of('/'));
    auto leftovers = [&] {
        std::size_t count = 0;
        if (DIR* d = ::opendir(folder.c_str())) {
            while (const dirent* entry = ::readdir(d)) {
                count += std::string(entry->d_name).rfind(".slicerbridge", 0) == 0;
            }
            ::closedir(d);
        }
        return count;
    };
    {
        slicerbridge::files::detail::atomic_output output(target);
        std::ofstream(output.path()) << "half a file";
        CHECK(::access(target.c_str(), F_OK) != 0);
        // No commit: as if the writer had thrown.
    }
    CHECK(::access(target.c_str(), F_OK) != 0);
    CHECK(leftovers() == 0);
    write_data(numbered({3, 2, 2}, oblique_matrix(), space::ras), target);
    CHECK(::access(target.c_str(), F_OK) == 0);
    CHECK(leftovers() == 0);
    // A header and its data file (MetaImage .mhd and .raw) arrive together.
    write_data(numbered({3, 2, 2}, oblique_matrix(), space::ras), dir.path("pair.mhd"));
    dir.path("pair.raw");
    CHECK(read_image(dir.path("pair.mhd")).data ==
          numbered({3, 2, 2}, identity_matrix, space::ras).data);
    CHECK(leftovers() == 0);
}

TEST_CASE("check_writable finds a missing folder, a folder as the path and a wrong extension") {
    scratch dir;
    CHECK_NOTHROW(check_writable(dir.path("fine.nrrd"), slot_type::image));
    CHECK_NOTHROW(check_writable("-", slot_type::table));
    CHECK_THROWS_AS(check_writable(dir.path("no-such-folder") + "/x.nrrd", slot_type::image),
                    file_error);
    CHECK_THROWS_AS(check_writable("/tmp", slot_type::image), file_error);
    CHECK_THROWS_AS(check_writable(dir.path("mesh.nrrd"), slot_type::mesh), file_error);
    CHECK_THROWS_AS(check_writable(dir.path("table.png"), slot_type::table), file_error);
}

TEST_CASE("library messages keep their first cause, without source locations or addresses") {
    using slicerbridge::files::detail::tidy_library_text;
    CHECK(tidy_library_text("ERROR: In ./IO/Geometry/vtkSTLReader.cxx, line 657 vtkSTLReader "
                            "(0x55619f3b8120): Parse error ERROR: In ./Common/vtkExecutive.cxx, "
                            "line 752 vtkCompositeDataPipeline (0x1): returned failure") ==
          "vtkSTLReader: Parse error");
    CHECK(tidy_library_text("ITK ERROR: NrrdImageIO(0x564a3e64d6d0): trouble") ==
          "NrrdImageIO: trouble");
}

TEST_CASE("image series are MultiVolume NRRD files, what one cannot hold is refused [SER-2]") {
    scratch dir;
    std::vector<std::int16_t> voxels(2 * 3 * 4 * 2);
    std::iota(voxels.begin(), voxels.end(), std::int16_t{-7});
    slicerbridge::image_series series;
    series.dims = {4, 3, 2};
    series.dtype = dtype::int16;
    series.space = space::ras;
    series.data = slicerbridge::buffer::adopt(std::move(voxels));
    series.volumes = {{oblique_matrix(), 0.0, std::nullopt}, {oblique_matrix(), 2.5, std::nullopt}};
    REQUIRE_FALSE(series.validate());
    const std::string path = dir.path("series.nrrd");
    write_data(series, path);
    const auto back =
        std::get<slicerbridge::image_series>(read_data(path, slot_type::image_series));
    CHECK(back.volumes.size() == 2);
    CHECK(back.volumes[1].value == 2.5);
    CHECK(back.data == series.data);
    CHECK(back.in_space(space::ras).volumes[1].ijk_to_space ==
          series.volumes[1].ijk_to_space); // written in LPS, the same geometry

    series.volumes[1].ijk_to_space[3] += 1.0;
    const std::string moving = dir.path("moving.nrrd");
    CHECK_THROWS_WITH_AS(write_data(series, moving), doctest::Contains("[SER-2]"), file_error);
    CHECK_FALSE(std::ifstream(moving).good());
    CHECK_THROWS_AS(write_data(series, dir.path("series.nii")), file_error);
}
