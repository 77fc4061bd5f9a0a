#include <slicerbridge/data/typed_array.hpp>

#include "support/printers.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>

namespace sb = slicerbridge;
using sb::error;
using sb::typed_array;
using sb::value;

TEST_CASE("typed arrays read and write {dtype, components, byte_order, data} [ARRAY-1]") {
    const typed_array a = typed_array::adopt(std::vector<float>{1, 2, 3, 4, 5, 6}, 3);
    CHECK(a.count() == 2);
    CHECK(a.element_size() == 12);
    const value v = sb::to_value(a);
    CHECK(v == value(value::map{{"dtype", "float32"},
                                {"components", 3},
                                {"byte_order", "little"},
                                {"data", a.data}}));
    std::error_code ec;
    CHECK(typed_array::from_value(v, ec) == a);
    CHECK_FALSE(ec);
}

TEST_CASE("components and byte_order default to 1 and little [ARRAY-2]") {
    const auto data = sb::buffer::copy_of("\x01\x00\x02\x00", 4);
    std::error_code ec;
    const typed_array a =
        typed_array::from_value(value::map{{"dtype", "uint16"}, {"data", data}}, ec);
    REQUIRE_FALSE(ec);
    CHECK(a.components == 1);
    CHECK(a.byte_order == sb::byte_order::little);
    CHECK(a.scalar<std::uint16_t>(1) == 2);
}

TEST_CASE("unknown dtypes, bad byte orders and components below 1 are refused [ARRAY-3] "
          "[ARRAY-4]") {
    const auto data = sb::buffer::copy_of("\x01\x00\x02\x00", 4);
    std::error_code ec;
    std::string what;
    typed_array::from_value(value::map{{"dtype", "complex64"}, {"data", data}}, ec, what);
    CHECK(ec == error::invalid_argument);
    CHECK(what == "typed_array.dtype: unknown dtype");
    typed_array::from_value(value::map{{"dtype", "Int16"}, {"data", data}}, ec, what);
    CHECK(what == "typed_array.dtype: unknown dtype");
    typed_array::from_value(
        value::map{{"dtype", "int16"}, {"byte_order", "network"}, {"data", data}}, ec, what);
    CHECK(what == "typed_array.byte_order: expected \"little\" or \"big\"");
    typed_array::from_value(value::map{{"dtype", "int16"}, {"components", 0}, {"data", data}}, ec,
                            what);
    CHECK(what == "typed_array.components: integer out of range");
    typed_array::from_value(value::map{{"dtype", "int16"}, {"components", 3}, {"data", data}}, ec,
                            what);
    CHECK(what == "typed_array.data: length is not a whole number of elements");
    typed_array::from_value(value::map{{"dtype", "int16"}}, ec, what);
    CHECK(what == "typed_array.data: missing");
}

TEST_CASE("big-endian scalars convert to native order, never reinterpreted [ARRAY-2]") {
    const unsigned char bytes[] = {0x3f, 0xf8, 0, 0, 0, 0, 0, 0, 0xc0, 0, 0, 0, 0, 0, 0, 0};
    typed_array a;
    a.dtype = sb::dtype::float64;
    a.byte_order = sb::byte_order::big;
    a.data = sb::buffer::copy_of(bytes, sizeof bytes);
    CHECK(a.scalar<double>(0) == 1.5);
    CHECK(a.scalar<double>(1) == -2.0);
    CHECK(a.values<double>() == nullptr);
    const typed_array native = a.to_native_byte_order();
    REQUIRE(native.values<double>() != nullptr);
    CHECK(native.values<double>()[1] == -2.0);
    CHECK(a.data.data()[0] == std::byte{0x3f});
    typed_array bytes_only = a;
    bytes_only.dtype = sb::dtype::uint8;
    CHECK(bytes_only.values<std::uint8_t>() != nullptr);
}

TEST_CASE("a misaligned bulk segment is read into aligned storage, so values<T>() may be used "
          "[BULK-2]") {
    // Found by fuzz/fuzz_data: a sender may leave segments unaligned ([BULK-2] is a SHOULD), and
    // values<T>() and voxels<T>() handed out misaligned pointers into the bulk.
    const double numbers[3] = {1.5, -2.0, 1e300};
    sb::buffer bulk = sb::buffer::allocate(1 + sizeof numbers);
    std::memcpy(bulk.mutable_data() + 1, numbers, sizeof numbers);
    const sb::buffer segment = bulk.slice(1, sizeof numbers);
    REQUIRE(reinterpret_cast<std::uintptr_t>(segment.data()) % alignof(double) != 0);
    std::error_code ec;
    const typed_array a =
        typed_array::from_value(value::map{{"dtype", "float64"}, {"data", segment}}, ec);
    REQUIRE_FALSE(ec);
    const double* values = a.values<double>();
    REQUIRE(values != nullptr);
    CHECK(reinterpret_cast<std::uintptr_t>(values) % alignof(double) == 0);
    CHECK(values[0] == 1.5);
    CHECK(values[1] == -2.0);
    CHECK(values[2] == 1e300);
    // An aligned segment is still shared, not copied.
    const sb::buffer aligned = bulk.slice(0, 8);
    const typed_array b =
        typed_array::from_value(value::map{{"dtype", "uint16"}, {"data", aligned}}, ec);
    REQUIRE_FALSE(ec);
    CHECK(b.data.data() == bulk.data());
}
