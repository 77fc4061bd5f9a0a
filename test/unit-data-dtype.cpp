#include <slicerbridge/data/dtype.hpp>

#include <doctest/doctest.h>

namespace sb = slicerbridge;

TEST_CASE("dtypes have the sizes and names of section 3.3 [ARRAY-3]") {
    struct expected {
        sb::dtype type;
        const char* name;
        std::size_t size;
    };
    const expected table[] = {
        {sb::dtype::int8, "int8", 1},       {sb::dtype::uint8, "uint8", 1},
        {sb::dtype::int16, "int16", 2},     {sb::dtype::uint16, "uint16", 2},
        {sb::dtype::int32, "int32", 4},     {sb::dtype::uint32, "uint32", 4},
        {sb::dtype::int64, "int64", 8},     {sb::dtype::uint64, "uint64", 8},
        {sb::dtype::float32, "float32", 4}, {sb::dtype::float64, "float64", 8},
    };
    for (const auto& e : table) {
        CHECK(sb::dtype_name(e.type) == e.name);
        CHECK(sb::dtype_size(e.type) == e.size);
        CHECK(sb::dtype_from_name(e.name) == e.type);
    }
    CHECK_FALSE(sb::dtype_from_name("float16").has_value());
    CHECK_FALSE(sb::dtype_from_name("string").has_value());
    static_assert(sb::dtype_of<float> == sb::dtype::float32);
    static_assert(sb::dtype_of<const std::uint16_t> == sb::dtype::uint16);
    CHECK(sb::is_integer_dtype(sb::dtype::uint64));
    CHECK_FALSE(sb::is_integer_dtype(sb::dtype::float32));
    CHECK(sb::byte_order_from_name("big") == sb::byte_order::big);
    CHECK_FALSE(sb::byte_order_from_name("Big").has_value());
}
