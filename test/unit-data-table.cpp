#include <slicerbridge/data/table.hpp>

#include "support/printers.hpp"
#include "support/round_trip.hpp"

#include <doctest/doctest.h>

namespace sb = slicerbridge;
using sb::column;
using sb::error;
using sb::table;
using sb::value;

namespace {

table sample_table() {
    table t;
    t.columns.push_back({"volume_ml", sb::typed_array::adopt(std::vector<double>{1.5, 2.25, 3})});
    t.columns.push_back({"count", sb::typed_array::adopt(std::vector<std::int32_t>{4, 5, 6})});
    t.columns.push_back({"name", std::vector<std::string>{"liver", "spleen", "kidney"}});
    t.columns.push_back({"abnormal", std::vector<bool>{false, true, false}});
    return t;
}

} // namespace

TEST_CASE("tables with numeric, string and bool columns round-trip [TBL-1]") {
    const table t = sample_table();
    REQUIRE_FALSE(t.validate());
    CHECK(t.row_count() == 3);
    std::error_code ec;
    const value v = test_support::through_frame(sb::to_value(t));
    CHECK(*v.find("columns")->as_array()[2].find("dtype") == value("string"));
    CHECK(*v.find("columns")->as_array()[3].find("dtype") == value("bool"));
    CHECK(table::from_value(v, ec) == t);
    CHECK_FALSE(ec);
    REQUIRE(t.find("name") != nullptr);
    CHECK(t.find("nothing") == nullptr);
    CHECK(table::from_value(sb::to_value(table{}), ec) == table{});
}

TEST_CASE("every column has the same number of rows, names are unique [TBL-1]") {
    table t = sample_table();
    std::get<std::vector<bool>>(t.columns[3].values).push_back(true);
    std::string what;
    CHECK(t.validate(what) == error::invalid_argument);
    CHECK(what == "table.columns: every column must have the same number of rows");
    t = sample_table();
    t.columns[1].name = "volume_ml";
    CHECK(t.validate(what) == error::invalid_argument);
    CHECK(what == "table.columns: column names must be unique");
    t = sample_table();
    t.columns[0].values = sb::typed_array::adopt(std::vector<double>{1, 2, 3, 4, 5, 6}, 2);
    CHECK(t.validate(what) == error::invalid_argument);
    CHECK(what == "table.columns: numeric column \"volume_ml\" must have one component");
}

TEST_CASE("mistyped columns are invalid_argument [DATA-3] [ARRAY-3]") {
    std::error_code ec;
    std::string what;
    value v = sb::to_value(sample_table());
    v["columns"].as_array()[3]["values"] = value::array{true, 1, false};
    table::from_value(v, ec, what);
    CHECK(ec == error::invalid_argument);
    CHECK(what == "table.columns.values: expected an array of bools");
    v = sb::to_value(sample_table());
    v["columns"].as_array()[0]["dtype"] = "decimal";
    table::from_value(v, ec, what);
    CHECK(what == "table.columns.dtype: unknown dtype");
    v = sb::to_value(sample_table());
    v["columns"] = value::map{};
    table::from_value(v, ec, what);
    CHECK(what == "table.columns: expected an array");
}
