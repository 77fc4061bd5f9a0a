// The NRRD backend of the builds without ITK and VTK (io/nrrd.cpp, io/portable_backend.cpp):
// files that round-trip, files written by hand as other writers write them, and hostile files
// (truncated data, headers that lie, huge sizes, encodings it does not read), each refused with
// an error that names the file and the field. Runs on Linux and, cross-built, under Wine.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include "nrrd.hpp"

#include "file_io.hpp"

#include <doctest/doctest.h>
#include <zlib.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

namespace {

using namespace slicerbridge;
namespace fs = std::filesystem;
namespace nrrd = slicerbridge::files::nrrd;

/// A fresh folder for one test case, removed afterwards.
struct scratch {
    fs::path folder;
    scratch() {
        std::random_device seed;
        folder = fs::temp_directory_path() / ("slicerbridge-nrrd-" + std::to_string(seed()));
        fs::create_directories(folder);
    }
    ~scratch() {
        std::error_code ec;
        fs::remove_all(folder, ec);
    }
    std::string path(const std::string& name) const { return (folder / name).string(); }
    std::string write(const std::string& name, const std::string& bytes) const {
        const std::string p = path(name);
        std::ofstream out(p, std::ios::binary);
        out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
        REQUIRE(out.good());
        return p;
    }
};

std::string bytes_of(const std::vector<std::int16_t>& values, bool big_endian) {
    std::string out;
    for (const auto v : values) {
        const auto u = static_cast<std::uint16_t>(v);
        const char lo = static_cast<char>(u & 0xff);
        const char hi = static_cast<char>(u >> 8);
        out += big_endian ? std::string{hi, lo} : std::string{lo, hi};
    }
    return out;
}

std::string gzip(const std::string& data) {
    z_stream z{};
    REQUIRE(deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK);
    std::string out(deflateBound(&z, static_cast<uLong>(data.size())) + 32, '\0');
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    z.avail_in = static_cast<uInt>(data.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    REQUIRE(deflate(&z, Z_FINISH) == Z_STREAM_END);
    out.resize(z.total_out);
    deflateEnd(&z);
    return out;
}

/// The message of the file_error that `read` throws; fails the test if it throws none.
template <class Read>
std::string error_of(Read read) {
    try {
        read();
    } catch (const files::file_error& e) {
        return e.what();
    }
    FAIL("no file_error");
    return {};
}

bool has(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

const std::vector<std::int16_t> twelve = {1, -2, 3, -4, 5, -6, 7, -8, 300, -300, 32767, -32768};

std::string header_2x3x2(const std::string& extra) {
    return "NRRD0004\ntype: short\ndimension: 3\nsizes: 2 3 2\n" + extra;
}

const std::string lps_geometry =
    "space: left-posterior-superior\n"
    "space directions: (0.5,0,0) (0,0.75,0.1) (0,0,2.5)\nspace origin: (-10.25,3,7)\n";

} // namespace

TEST_CASE("nrrd: an image round-trips with its voxels and its matrix to the last bit") {
    scratch dir;
    std::vector<float> voxels(4 * 3 * 2 * 3);
    for (std::size_t i = 0; i < voxels.size(); ++i) {
        voxels[i] = 0.1f * static_cast<float>(i) - 1.0f;
    }
    matrix4 m = identity_matrix;
    m[0] = 0.1 + 0.2; // 0.30000000000000004: needs 17 digits
    m[1] = 1e-17;
    m[3] = -12.345678901234567;
    m[5] = 1.0 / 3.0;
    m[10] = 2.5;
    m[11] = 1e300;
    const image written =
        image::copy_of(voxels.data(), {4, 3, 2}, m, space::ras, image_kind::vector, 3);
    for (const char* name : {"v.nrrd", "v.nhdr"}) {
        CAPTURE(name);
        nrrd::write(written, dir.path(name));
        const image read = nrrd::read(dir.path(name));
        CHECK(read.space == space::lps);
        CHECK(read.dims == written.dims);
        CHECK(read.components == 3);
        CHECK(read.kind == image_kind::vector);
        CHECK(read.dtype == dtype::float32);
        CHECK(read.data == written.data);
        CHECK(read.in_space(space::ras).ijk_to_space == m);
    }
    CHECK(fs::exists(dir.path("v.raw")));
}

TEST_CASE("nrrd: big-endian, RAS, LAS, detached, gzip and skips, as other writers write them") {
    scratch dir;
    const image expected = image::copy_of(twelve.data(), {2, 3, 2});
    SUBCASE("attached, big-endian, LPS") {
        const auto p = dir.write("a.nrrd", header_2x3x2(lps_geometry + "endian: big\n"
                                                                       "encoding: raw\n\n") +
                                               bytes_of(twelve, true));
        const image img = nrrd::read(p);
        CHECK(img.data == expected.data);
        CHECK(img.ijk_to_space[0] == 0.5);
        CHECK(img.ijk_to_space[5] == 0.75);
        CHECK(img.ijk_to_space[9] == 0.1);
        CHECK(img.ijk_to_space[3] == -10.25);
        CHECK(img.space == space::lps);
    }
    SUBCASE("RAS becomes LPS by negating x and y; LAS by negating y") {
        const std::string ras = "space: RAS\nspace directions: (1, 2, 3)  (4,5,6)\t(7,8,10)\n"
                                "space origin: (1,2,3)\nendian: little\nencoding: raw\n\n";
        const image img =
            nrrd::read(dir.write("r.nrrd", header_2x3x2(ras) + bytes_of(twelve, false)));
        CHECK(img.ijk_to_space[0] == -1);
        CHECK(img.ijk_to_space[4] == -2);
        CHECK(img.ijk_to_space[8] == 3);
        CHECK(img.ijk_to_space[3] == -1);
        CHECK(img.ijk_to_space[7] == -2);
        CHECK(img.ijk_to_space[11] == 3);
        std::string las = ras;
        las.replace(7, 3, "left-anterior-superior");
        const image l =
            nrrd::read(dir.write("l.nrrd", header_2x3x2(las) + bytes_of(twelve, false)));
        CHECK(l.ijk_to_space[0] == 1);
        CHECK(l.ijk_to_space[4] == -2);
        CHECK(l.ijk_to_space[7] == -2);
    }
    SUBCASE("detached header with a data file beside it, line and byte skips") {
        dir.write("d.raw", "skip this line\nXXXX" + bytes_of(twelve, false));
        const auto p = dir.write("d.nhdr", header_2x3x2("endian: little\nencoding: raw\n"
                                                        "data file: d.raw\nline skip: 1\n"
                                                        "byte skip: 4\nspacings: 2 3 4\n"));
        const image img = nrrd::read(p);
        CHECK(img.data == expected.data);
        CHECK(img.ijk_to_space[0] == 2);
        CHECK(img.ijk_to_space[5] == 3);
        CHECK(img.ijk_to_space[10] == 4);
    }
    SUBCASE("byte skip -1: the voxels are the file's last bytes") {
        const auto p = dir.write("e.nrrd", header_2x3x2("endian: little\nencoding: raw\n"
                                                        "byte skip: -1\n\n") +
                                               "junk" + bytes_of(twelve, false));
        CHECK(nrrd::read(p).data == expected.data);
    }
    SUBCASE("gzip, with comments and key/value pairs") {
        const auto p = dir.write("g.nrrd", header_2x3x2("# a comment\nmodality:=CT\n"
                                                        "endian: little\nencoding: gzip\n\n") +
                                               gzip(bytes_of(twelve, false)));
        CHECK(nrrd::read(p).data == expected.data);
    }
    SUBCASE("a 2-D image and a vector image with its component axis first") {
        const auto p = dir.write("2d.nrrd", "NRRD0005\ntype: int16\ndimension: 2\nsizes: 4 3\n"
                                            "endian: little\nencoding: raw\n\n" +
                                                bytes_of(twelve, false));
        const image img = nrrd::read(p);
        CHECK(img.dims == std::array<std::uint64_t, 3>{4, 3, 1});
        const auto v = dir.write("v.nrrd", "NRRD0004\ntype: short\ndimension: 4\nsizes: 3 2 2 1\n"
                                           "kinds: RGB-color domain domain domain\n" +
                                               lps_geometry.substr(0, 31) +
                                               "space directions: none (1,0,0) (0,1,0) (0,0,1)\n"
                                               "endian: little\nencoding: raw\n\n" +
                                               bytes_of(twelve, false));
        const image vec = nrrd::read(v);
        CHECK(vec.components == 3);
        CHECK(vec.dims == std::array<std::uint64_t, 3>{2, 2, 1});
    }
}

TEST_CASE("nrrd: hostile files are refused with the file and the field named") {
    scratch dir;
    const std::string le = "endian: little\nencoding: raw\n\n";
    const auto refused = [&](const std::string& name, const std::string& content,
                             std::initializer_list<const char*> parts) {
        CAPTURE(name);
        const auto p = dir.write(name, content);
        const std::string message = error_of([&] { nrrd::read(p); });
        CAPTURE(message);
        CHECK(has(message, p));
        for (const char* part : parts) {
            CHECK(has(message, part));
        }
    };
    refused("truncated.nrrd", header_2x3x2(le) + bytes_of(twelve, false).substr(0, 20),
            {"claims 24 bytes", "holds 20"});
    refused("lying-sizes.nrrd",
            "NRRD0004\ntype: short\ndimension: 3\nsizes: 200 300 200\n" + le +
                bytes_of(twelve, false),
            {"claims 24000000 bytes"});
    refused("huge.nrrd",
            "NRRD0004\ntype: double\ndimension: 3\nsizes: 1099511627776 1099511627776 2\n" + le,
            {"sizes", "more than"});
    refused("too-big-size.nrrd",
            "NRRD0004\ntype: uchar\ndimension: 1\nsizes: 99999999999999999\n\n", {"sizes"});
    refused("negative-size.nrrd", "NRRD0004\ntype: uchar\ndimension: 1\nsizes: -5\n\n", {"sizes"});
    refused("zero-size.nrrd", "NRRD0004\ntype: uchar\ndimension: 1\nsizes: 0\n\n", {"sizes"});
    refused("sizes-count.nrrd", "NRRD0004\ntype: uchar\ndimension: 3\nsizes: 2 2\n\n", {"sizes"});
    refused("dimension.nrrd", "NRRD0004\ntype: uchar\ndimension: 9\nsizes: 1\n\n", {"dimension"});
    refused("gzip-bomb.nrrd",
            "NRRD0004\ntype: uchar\ndimension: 3\nsizes: 1000 1000 1000\nencoding: gzip\n\n" +
                gzip(std::string(100, 'x')),
            {"gzip data can hold"});
    refused("gzip-short.nrrd",
            header_2x3x2("endian: little\nencoding: gzip\n\n") +
                gzip(bytes_of(twelve, false)).substr(0, 15),
            {"gzip", "of the 24 bytes"});
    refused("gzip-corrupt.nrrd",
            header_2x3x2("endian: little\nencoding: gzip\n\n") + std::string(40, '\x55'), {"gzip"});
    refused("bzip2.nrrd", header_2x3x2("endian: little\nencoding: bzip2\n\n") + "BZh9",
            {"encoding", "bzip2"});
    refused("ascii.nrrd",
            header_2x3x2("endian: little\nencoding: ascii\n\n") + "1 2 3 4 5 6 7 8 9 10 11 12\n",
            {"encoding", "ascii"});
    refused("block.nrrd", "NRRD0004\ntype: block\nblock size: 4\ndimension: 1\nsizes: 1\n\n",
            {"block size"});
    refused("block-type.nrrd", "NRRD0004\ntype: block\ndimension: 1\nsizes: 1\n\n", {"type"});
    refused("no-endian.nrrd", header_2x3x2("encoding: raw\n\n") + bytes_of(twelve, false),
            {"endian"});
    refused("bad-endian.nrrd", header_2x3x2("endian: middle\nencoding: raw\n\n"), {"endian"});
    refused("magic.nrrd", "NRRD0009\ntype: uchar\n\n", {"not a NRRD file"});
    refused("not-nrrd.nrrd", "P5 2 2 255\n....", {"not a NRRD file"});
    refused("no-colon.nrrd", "NRRD0004\ntype uchar\n\n", {"line 2"});
    refused("twice.nrrd", "NRRD0004\ntype: uchar\ntype: short\n\n", {"\"type\" is given twice"});
    refused("unknown-field.nrrd",
            "NRRD0004\ntype: uchar\ndimension: 1\nsizes: 1\nfrobnicate: 3\n\n", {"frobnicate"});
    refused("no-type.nrrd", "NRRD0004\ndimension: 1\nsizes: 1\n\nx", {"\"type\""});
    refused("no-blank-line.nrrd", "NRRD0004\ntype: uchar\ndimension: 1\nsizes: 1\nencoding: raw\n",
            {"data file"});
    refused("nan-direction.nrrd",
            header_2x3x2("space: LPS\nspace directions: (nan,0,0) (0,1,0) (0,0,1)\n" + le),
            {"space directions"});
    refused("direction-count.nrrd",
            header_2x3x2("space: LPS\nspace directions: (1,0,0) (0,1,0)\n" + le),
            {"space directions", "2 entries for 3 axes"});
    refused("direction-word.nrrd",
            header_2x3x2("space: LPS\nspace directions: (1,0,0) (0,1,0) nothing\n" + le),
            {"space directions", "nothing"});
    refused("direction-open.nrrd",
            header_2x3x2("space: LPS\nspace directions: (1,0,0) (0,1,0) (0,0,1\n" + le),
            {"space directions", "closing parenthesis"});
    refused("direction-length.nrrd",
            header_2x3x2("space: LPS\nspace directions: (1,0) (0,1,0) (0,0,1)\n" + le),
            {"space directions", "2 components"});
    refused("origin.nrrd",
            header_2x3x2("space: LPS\nspace directions: (1,0,0) (0,1,0) (0,0,1)\n"
                         "space origin: (1;2;3)\n" +
                         le),
            {"space origin"});
    refused("singular.nrrd",
            header_2x3x2("space: LPS\nspace directions: (1,0,0) (1,0,0) (0,0,1)\n" + le) +
                bytes_of(twelve, false),
            {});
    refused("scanner.nrrd", header_2x3x2("space: scanner-xyz\n" + le), {"space", "scanner-xyz"});
    refused("four-d.nrrd",
            "NRRD0004\ntype: uchar\ndimension: 4\nsizes: 2 2 2 2\nkinds: domain domain domain "
            "domain\n\n" +
                std::string(16, 'x'),
            {"4-D"});
    refused("component-last.nrrd",
            "NRRD0004\ntype: uchar\ndimension: 4\nsizes: 2 2 2 3\nkinds: domain domain domain "
            "vector\n\n" +
                std::string(24, 'x'),
            {"axis 3", "first"});
    refused("complex.nrrd",
            "NRRD0004\ntype: float\ndimension: 2\nsizes: 2 4\nkinds: complex domain\n"
            "endian: little\nencoding: raw\n\n" +
                std::string(32, 'x'),
            {"complex"});
    refused("list.nrrd", header_2x3x2("data file: LIST\nendian: little\nencoding: raw\n"),
            {"data file"});
    refused("pattern.nrrd",
            header_2x3x2("data file: slice%03d.raw 1 2 1\nendian: little\n"
                         "encoding: raw\n"),
            {"data file"});
    refused("byte-skip.nrrd", header_2x3x2("endian: little\nencoding: raw\nbyte skip: 900\n\n"),
            {"byte skip"});
    refused("line-skip.nrrd", header_2x3x2("endian: little\nencoding: raw\nline skip: 3\n\n"),
            {"line skip"});

    SUBCASE("a header longer than the limit") {
        const auto p = dir.write("long.nrrd", "NRRD0004\n" + std::string(5000, '#') + "\n\n");
        nrrd::limits small;
        small.max_header_bytes = 1024;
        const std::string message = error_of([&] { nrrd::read(p, small); });
        CHECK(has(message, p));
        CHECK(has(message, "longer than 1024 bytes"));
    }
    SUBCASE("a detached data file that is missing") {
        const auto p = dir.write("m.nhdr", header_2x3x2("data file: missing.raw\n"
                                                        "endian: little\nencoding: raw\n"));
        const std::string message = error_of([&] { nrrd::read(p); });
        CHECK(has(message, "missing.raw"));
        CHECK(has(message, "does not exist"));
    }
    SUBCASE("a folder, and a file that is not there") {
        CHECK(has(error_of([&] { nrrd::read(dir.folder.string()); }), "not a regular file"));
        CHECK(has(error_of([&] { nrrd::read(dir.path("nothing.nrrd")); }), "does not exist"));
    }
}

TEST_CASE("portable backend: formats that need ITK or VTK are refused by name, with the reason") {
    scratch dir;
    const auto p = dir.write("x.nii", std::string(400, '\0'));
    const std::string nifti = error_of([&] { files::read_data(p, slot_type::image); });
    CHECK(has(nifti, "NIfTI"));
    CHECK(has(nifti, "needs ITK"));
    const std::string mesh =
        error_of([&] { files::read_data(dir.path("m.vtp"), slot_type::mesh); });
    CHECK(has(mesh, ".vtp"));
    CHECK(has(mesh, "needs VTK"));
    const image img = image::copy_of(twelve.data(), {2, 3, 2});
    CHECK(has(error_of([&] { files::write_data(img, dir.path("o.mha")); }), "MetaImage"));
    CHECK(has(error_of([&] { files::write_data(img, dir.path("o.vti")); }), "needs VTK"));

    // NRRD goes through, atomically (no temporary folder left behind); a label image must have
    // integer voxels as with the ITK backend.
    files::write_data(img, dir.path("o.nrrd"));
    CHECK(std::get<image>(files::read_data(dir.path("o.nrrd"), slot_type::image)).data == img.data);
    files::write_data(img, dir.path("o.nhdr"));
    CHECK(std::get<image>(files::read_data(dir.path("o.nhdr"), slot_type::image)).data == img.data);
    std::size_t entries = 0;
    for (const auto& entry : fs::directory_iterator(dir.folder)) {
        CHECK(entry.path().filename().string().rfind(".slicerbridge-", 0) != 0);
        ++entries;
    }
    CHECK(entries == 4); // x.nii, o.nrrd, o.nhdr, o.raw
    const std::vector<float> floats(12, 0.5f);
    files::write_data(image::copy_of(floats.data(), {2, 3, 2}), dir.path("f.nrrd"));
    CHECK(has(error_of([&] {
                  files::read_data(dir.path("f.nrrd"), slot_type::image, image_kind::label);
              }),
              "integer"));
}

TEST_CASE("nrrd: an image series is a MultiVolume file, as Slicer writes one [SER-2] [SER-3]") {
    scratch dir;
    // Slicer's MultiVolume storage: frames first (kind list), times in ms in the frame labels.
    const std::vector<std::int16_t> interleaved{0, 100, 1, 101, 2, 102, 3, 103};
    const std::string header =
        "NRRD0004\ntype: short\ndimension: 4\nspace: left-posterior-superior\n"
        "sizes: 2 2 2 1\nspace directions: none (1.5,0,0) (0,2,0) (0,0,3)\n"
        "kinds: list domain domain domain\nendian: little\nencoding: raw\n"
        "space origin: (10,20,30)\nMultiVolume.FrameLabels:=0,1500\n"
        "MultiVolume.FrameIdentifyingDICOMTagName:=TriggerTime\n"
        "MultiVolume.FrameIdentifyingDICOMTagUnits:=ms\nMultiVolume.NumberOfFrames:=2\n\n";
    const std::string file = dir.write("dce.nrrd", header + bytes_of(interleaved, false));
    const image_series series = nrrd::read_multivolume(file);
    CHECK(series.axis == series_axis::time);
    REQUIRE(series.volumes.size() == 2);
    CHECK(series.volumes[1].value == 1.5);
    CHECK(series.space == space::lps);
    CHECK(series.shares_geometry());
    CHECK(series.volumes[0].ijk_to_space ==
          matrix4{1.5, 0, 0, 10, 0, 2, 0, 20, 0, 0, 3, 30, 0, 0, 0, 1});
    std::vector<std::int16_t> second(4);
    std::memcpy(second.data(), series.volume(1).data.data(), 8);
    CHECK(second == std::vector<std::int16_t>{100, 101, 102, 103});

    // written and read again: the same series, values in seconds
    const std::string again = dir.path("again.nrrd");
    nrrd::write_multivolume(series, again);
    const image_series back = nrrd::read_multivolume(again);
    CHECK(back == series);
    std::ifstream written(again, std::ios::binary);
    const std::string text((std::istreambuf_iterator<char>(written)), {});
    CHECK(text.find("kinds: list domain domain domain") != std::string::npos);
    CHECK(text.find("MultiVolume.FrameIdentifyingDICOMTagUnits:=s\n") != std::string::npos);

    // what one file cannot hold is refused, not given one geometry
    image_series moving = series;
    moving.volumes[1].ijk_to_space[3] += 0.5;
    CHECK_THROWS_WITH_AS(nrrd::write_multivolume(moving, dir.path("moving.nrrd")),
                         doctest::Contains("[SER-2]"), files::file_error);
    CHECK_THROWS_WITH_AS(nrrd::read_multivolume(
                             dir.write("plain.nrrd", header.substr(0, header.find("MultiVolume")) +
                                                         "\n" + bytes_of(interleaved, false))),
                         doctest::Contains("not a MultiVolume"), files::file_error);
    std::string mislabelled = header;
    mislabelled.replace(mislabelled.find("0,1500"), 6, "0,1500,3000");
    CHECK_THROWS_WITH_AS(
        nrrd::read_multivolume(dir.write("labels.nrrd", mislabelled + bytes_of(interleaved, false))),
        doctest::Contains("2 frames and 3 frame labels"), files::file_error);
}
