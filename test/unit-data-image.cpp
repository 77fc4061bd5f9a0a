#include <slicerbridge/data/image.hpp>

#include "support/printers.hpp"
#include "support/features.hpp"
#include "support/round_trip.hpp"

#include <doctest/doctest.h>

#include <cstring>
#include <limits>
#include <numeric>

namespace sb = slicerbridge;
using sb::error;
using sb::image;
using sb::value;

namespace {

// An oblique geometry: rotated, anisotropic spacing, shifted origin.
const sb::matrix4 oblique = {0.0, -0.8, 0.1,  -120.5, //
                             0.9, 0.0,  0.0,  80.25,  //
                             0.0, 0.05, 2.5,  -33.0,  //
                             0.0, 0.0,  0.0,  1.0};

template <class T>
image sample(std::array<std::uint64_t, 3> dims, std::uint32_t components = 1) {
    std::vector<T> voxels(dims[0] * dims[1] * dims[2] * components);
    std::iota(voxels.begin(), voxels.end(), T(1));
    return image::adopt(std::move(voxels), dims, oblique, sb::space::lps,
                        components == 1 ? sb::image_kind::scalar : sb::image_kind::vector,
                        components);
}

image from(const value& v) {
    std::error_code ec;
    std::string what;
    image result = image::from_value(v, ec, what);
    INFO(what);
    REQUIRE_FALSE(ec);
    return result;
}

/// The error and message of reading `v` after `edit` changed the value of a valid image.
template <class Edit>
std::pair<std::error_code, std::string> rejected(Edit edit) {
    value v = sb::to_value(sample<std::int16_t>({4, 3, 2}));
    edit(v);
    std::error_code ec;
    std::string what;
    image::from_value(v, ec, what);
    return {ec, what};
}

} // namespace

TEST_CASE("images of every dtype round-trip through a frame [IMG-1] [IMG-3] [ARRAY-1]") {
    const auto check = [](const image& original) {
        REQUIRE_FALSE(original.validate());
        const image back = from(test_support::through_frame(sb::to_value(original)));
        CHECK(back == original);
    };
    check(sample<std::int8_t>({3, 4, 5}));
    check(sample<std::uint8_t>({3, 4, 5}));
    check(sample<std::int16_t>({3, 4, 5}));
    check(sample<std::uint16_t>({3, 4, 5}));
    check(sample<std::int32_t>({3, 4, 5}));
    check(sample<std::uint32_t>({3, 4, 5}));
    check(sample<std::int64_t>({3, 4, 5}));
    check(sample<std::uint64_t>({3, 4, 5}));
    check(sample<float>({3, 4, 5}));
    check(sample<double>({3, 4, 5}));
    check(sample<float>({2, 2, 2}, 3));
}

TEST_CASE("a decoded image's voxels stay in the received bulk (zero copy) [FRAME-6]") {
    const image original = sample<std::uint16_t>({8, 8, 8});
    const auto frame = sb::encode_frame(sb::to_value(original));
    const auto bytes = frame.to_bytes();
    sb::frame_reader reader;
    reader.consume(bytes.data(), bytes.size());
    const auto received = reader.release();
    std::error_code ec;
    const image back =
        image::from_value(sb::decode_frame(received, sb::limits{}, sb::codec_set{}, ec), ec);
    REQUIRE_FALSE(ec);
    CHECK(back.data.data() >= received.bulk.data());
    CHECK(back.data.data() + back.data.size() <= received.bulk.data() + received.bulk.size());
    REQUIRE(back.voxels<std::uint16_t>() != nullptr);
    CHECK(back.voxels<std::uint16_t>()[511] == 512);
}

TEST_CASE("compressed voxels decode to the same image [BULK-5]" *
          test_support::skip_without_codecs()) {
    std::vector<std::int16_t> voxels(64 * 64 * 8);
    for (std::size_t i = 0; i < voxels.size(); ++i) {
        voxels[i] = static_cast<std::int16_t>(i % 16);
    }
    const image original = image::adopt(std::move(voxels), {64, 64, 8});
    sb::encode_options options;
    options.compression = sb::codec::lz4;
    options.compress_min = 0;
    const value v = test_support::through_frame(sb::to_value(original), options,
                                                sb::codec_set{sb::codec::lz4});
    CHECK(v.find("data")->as_bulk().compression == sb::codec::lz4);
    CHECK(from(v) == original);
}

TEST_CASE("the wire form of an image has every key of section 11.1") {
    image labels = image::copy_of<std::uint8_t>(std::vector<std::uint8_t>(6, 1).data(),
                                                {3, 2, 1}, sb::identity_matrix, sb::space::ras,
                                                sb::image_kind::label);
    labels.segments = {{1, "liver", {0.5, 0.25, 1.0}}, {2, "spleen", {0.0, 1.0, 0.0}}};
    const value v = sb::to_value(labels);
    CHECK(*v.find("type") == value("image"));
    CHECK(*v.find("dims") == value(value::array{3, 2, 1}));
    CHECK(*v.find("dtype") == value("uint8"));
    CHECK(*v.find("components") == value(1));
    CHECK(*v.find("space") == value("RAS"));
    CHECK(*v.find("kind") == value("label"));
    CHECK(v.find("ijk_to_space")->size() == 16);
    CHECK(v.find("ijk_to_space")->as_array()[0].is_float());
    REQUIRE(v.find("segments") != nullptr);
    CHECK(v.find("segments")->as_array()[1] ==
          value(value::map{{"value", 2}, {"name", "spleen"}, {"color", value::array{0.0, 1.0, 0.0}}}));
    CHECK(from(v) == labels);
}

TEST_CASE("label images with segments round-trip [IMG-4] [IMG-6]") {
    image labels = image::adopt(std::vector<std::int32_t>{0, 1, 2, 2, 1, 0}, {3, 2, 1},
                                oblique, sb::space::ras, sb::image_kind::label);
    labels.segments = {{1, "tumour", {1.0, 0.0, 0.0}}, {2, "edema", {0.2, 0.4, 0.6}}};
    CHECK(from(test_support::through_frame(sb::to_value(labels))) == labels);
}

TEST_CASE("empty images (a dimension of 0) are valid and carry no data [IMG-3]") {
    const image empty = image::adopt(std::vector<float>{}, {0, 5, 5});
    CHECK(empty.voxel_count() == 0u);
    CHECK_FALSE(empty.validate());
    CHECK(from(test_support::through_frame(sb::to_value(empty))) == empty);
}

TEST_CASE("byte counts that overflow 64 bits are rejected, not wrapped [IMG-3]") {
    image huge;
    huge.dims = {1ull << 32, 1ull << 31, 1};
    huge.dtype = sb::dtype::uint8;
    CHECK(huge.voxel_count() == 1ull << 63);
    huge.dims = {1ull << 32, 1ull << 32, 2};
    CHECK_FALSE(huge.voxel_count().has_value());
    std::string what;
    CHECK(huge.validate(what) == error::invalid_argument);
    CHECK(what == "image.dims: voxel byte count overflows");
    huge.dims = {1ull << 31, 1ull << 31, 2};
    huge.dtype = sb::dtype::float64;
    CHECK(huge.voxel_count().has_value());
    CHECK_FALSE(huge.byte_count().has_value());
    CHECK(huge.validate() == error::invalid_argument);
    const auto [ec, message] = rejected([](value& v) {
        v["dims"] = value::array{UINT64_MAX, UINT64_MAX, 3};
    });
    CHECK(ec == error::invalid_argument);
    CHECK(message == "image.dims: voxel byte count overflows");
}

TEST_CASE("a data length that does not match dims is invalid_argument [IMG-3] [ARRAY-1]") {
    const auto [ec, what] = rejected([](value& v) { v["dims"] = value::array{4, 3, 3}; });
    CHECK(ec == error::invalid_argument);
    CHECK(what == "image.data: length 48 does not match dims (expected 72 bytes)");
    const auto odd = rejected([](value& v) {
        v["data"] = sb::buffer::copy_of("abc", 3);
    });
    CHECK(odd.first == error::invalid_argument);
    CHECK(odd.second == "image.data: length is not a whole number of elements");
}

TEST_CASE("the matrix must be affine with an invertible 3x3 [IMG-2]") {
    const auto last_row = rejected([](value& v) { v["ijk_to_space"].as_array()[14] = 0.5; });
    CHECK(last_row.first == error::invalid_argument);
    CHECK(last_row.second == "image.ijk_to_space: last row must be [0, 0, 0, 1] and entries finite");
    const auto singular = rejected([](value& v) {
        auto& m = v["ijk_to_space"].as_array();
        for (int column = 0; column < 3; ++column) {
            m[8 + column] = m[column];
        }
    });
    CHECK(singular.second == "image.ijk_to_space: upper 3x3 is not invertible");
    // Invertible means |det| > 1e-12 times the product of the column lengths, whatever the
    // spacing: a nearly singular matrix is refused, an anisotropic one is not.
    const auto set_linear = [](value& v, std::array<double, 9> linear) {
        auto& m = v["ijk_to_space"].as_array();
        for (int row = 0; row < 3; ++row) {
            for (int column = 0; column < 3; ++column) {
                m[static_cast<std::size_t>(4 * row + column)] =
                    linear[static_cast<std::size_t>(3 * row + column)];
            }
        }
    };
    const auto nearly_singular = rejected([&](value& v) {
        set_linear(v, {1, 1, 0, 0, 1e-14, 0, 0, 0, 1});
    });
    CHECK(nearly_singular.second == "image.ijk_to_space: upper 3x3 is not invertible");
    value anisotropic = sb::to_value(sample<std::int16_t>({4, 3, 2}));
    set_linear(anisotropic, {1e-6, 0, 0, 0, 1e6, 0, 0, 1, 1});
    (void)from(anisotropic);
    const auto not_finite = rejected([](value& v) {
        v["ijk_to_space"].as_array()[3] = std::numeric_limits<double>::infinity();
    });
    CHECK(not_finite.first == error::invalid_argument);
    const auto short_matrix = rejected([](value& v) { v["ijk_to_space"].as_array().pop_back(); });
    CHECK(short_matrix.second == "image.ijk_to_space: expected an array of 16 numbers");
}

TEST_CASE("integers are accepted where matrix floats are expected [HEAD-3]") {
    value v = sb::to_value(sample<std::int16_t>({4, 3, 2}));
    v["ijk_to_space"] = value::array{1, 0, 0, 5, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1};
    const image img = from(v);
    CHECK(img.ijk_to_space[3] == 5.0);
}

TEST_CASE("components and dtype must suit the image kind [IMG-4] [ARRAY-4]") {
    CHECK(rejected([](value& v) { v["components"] = 2; }).second ==
          "image.components: scalar and label images have one component");
    CHECK(rejected([](value& v) { v["components"] = 0; }).second ==
          "image.components: integer out of range");
    const auto float_labels = [] {
        image img = sample<float>({2, 2, 2});
        img.kind = sb::image_kind::label;
        std::string what;
        return std::make_pair(img.validate(what), what);
    }();
    CHECK(float_labels.first == error::invalid_argument);
    CHECK(float_labels.second == "image.dtype: label images have an integer dtype");
    image vector_image = sample<float>({2, 2, 2}, 4);
    CHECK_FALSE(vector_image.validate());
    vector_image.components = 3;
    CHECK(vector_image.validate() == error::invalid_argument);
}

TEST_CASE("segments belong to label images, with unique values and colours in [0, 1] [IMG-6]") {
    image labels = image::adopt(std::vector<std::uint8_t>{0, 1}, {2, 1, 1}, sb::identity_matrix,
                                sb::space::ras, sb::image_kind::label);
    labels.segments = {{1, "a", {0, 0, 0}}, {1, "b", {1, 1, 1}}};
    std::string what;
    CHECK(labels.validate(what) == error::invalid_argument);
    CHECK(what == "image.segments: segment values must be unique");
    labels.segments = {{1, "a", {0, 1.5, 0}}};
    CHECK(labels.validate(what) == error::invalid_argument);
    CHECK(what == "image.segments: color components must lie in [0, 1]");
    labels.segments = {{1, "a", {0, 0.5, 0}}};
    CHECK_FALSE(labels.validate());
    labels.kind = sb::image_kind::scalar;
    CHECK(labels.validate(what) == error::invalid_argument);
    CHECK(what == "image.segments: only label images have segments");
}

TEST_CASE("missing or mistyped keys name the field, never the data [DATA-3] [ERR-3] "
          "[ARRAY-3] [DATA-2]") {
    CHECK(rejected([](value& v) { v.as_map().erase(v.as_map().begin() + 1); }).second ==
          "image.dims: missing");
    CHECK(rejected([](value& v) { v["dtype"] = "float16"; }).second == "image.dtype: unknown dtype");
    CHECK(rejected([](value& v) { v["byte_order"] = "middle"; }).second ==
          "image.byte_order: expected \"little\" or \"big\"");
    CHECK(rejected([](value& v) { v["space"] = "ras"; }).second ==
          "image.space: expected \"RAS\" or \"LPS\"");
    CHECK(rejected([](value& v) { v["kind"] = "rgb"; }).second ==
          "image.kind: expected \"scalar\", \"label\" or \"vector\"");
    CHECK(rejected([](value& v) { v["data"] = value::binary(48); }).second ==
          "image.data: expected a bulk reference");
    CHECK(rejected([](value& v) { v["dims"] = value::array{4, 3, -2}; }).second ==
          "image.dims: integer out of range");
    CHECK(rejected([](value& v) { v["dims"] = value::array{4, 3}; }).second ==
          "image.dims: expected 3 integers");
    CHECK(rejected([](value& v) { v["dims"] = value::array{4, 3, 2.0}; }).second ==
          "image.dims: expected an integer");
    CHECK(rejected([](value& v) { v["type"] = "mesh"; }).second == "image.type: expected \"image\"");
    CHECK(rejected([](value& v) { v["segments"] = value::array{value::map{{"value", 1}}}; })
              .second == "image.segments.name: missing");
}

TEST_CASE("RAS <-> LPS changes the matrix only: M_lps = diag(-1, -1, 1, 1) M_ras [IMG-5]") {
    const image lps = sample<std::int16_t>({4, 3, 2});
    const image ras = lps.in_space(sb::space::ras);
    CHECK(ras.space == sb::space::ras);
    CHECK(ras.data.data() == lps.data.data());
    for (std::size_t i = 0; i < 16; ++i) {
        const double expected = i < 8 ? -lps.ijk_to_space[i] : lps.ijk_to_space[i];
        CHECK(ras.ijk_to_space[i] == expected);
    }
    CHECK(ras.in_space(sb::space::lps) == lps);
    CHECK(lps.in_space(sb::space::lps) == lps);
    // The first voxel's centre, in both spaces, is the same physical point.
    CHECK(ras.ijk_to_space[3] == 120.5);
    CHECK(ras.ijk_to_space[7] == -80.25);
    CHECK(ras.ijk_to_space[11] == -33.0);
    CHECK_FALSE(std::signbit(ras.ijk_to_space[0]));
}

TEST_CASE("big-endian voxels are read in their byte order, never reinterpreted [ARRAY-2]") {
    image img = sample<std::uint16_t>({2, 1, 1});
    std::vector<std::uint8_t> big_endian{0x01, 0x02, 0xa0, 0x0b};
    img.data = sb::buffer::copy_of(big_endian.data(), big_endian.size());
    img.byte_order = sb::byte_order::big;
    CHECK(img.voxels<std::uint16_t>() == nullptr);
    const image native = img.to_native_byte_order();
    REQUIRE(native.voxels<std::uint16_t>() != nullptr);
    CHECK(native.voxels<std::uint16_t>()[0] == 0x0102);
    CHECK(native.voxels<std::uint16_t>()[1] == 0xa00b);
    CHECK(from(test_support::through_frame(sb::to_value(img))) == img);
    CHECK(native.to_native_byte_order().data.data() == native.data.data());
}

TEST_CASE("helpers make images from typed C++ data") {
    image allocated = image::allocate({4, 4, 4}, sb::dtype::float32);
    REQUIRE(allocated.mutable_voxels<float>() != nullptr);
    CHECK(allocated.mutable_voxels<double>() == nullptr);
    std::fill_n(allocated.mutable_voxels<float>(), 64, 0.5f);
    CHECK_FALSE(allocated.validate());
    CHECK(allocated.voxels<float>()[63] == 0.5f);
    const std::vector<std::int16_t> source(24, 7);
    const image copied = image::copy_of(source.data(), {2, 3, 4});
    CHECK(copied.data.data() != reinterpret_cast<const std::byte*>(source.data()));
    CHECK(copied.voxels<std::int16_t>()[23] == 7);
    CHECK_THROWS_AS(image::adopt(std::vector<float>(5), {2, 2, 2}), std::invalid_argument);
    CHECK_THROWS_AS(image::allocate({1ull << 40, 1ull << 40, 1}, sb::dtype::uint8),
                    std::length_error);
}
