#ifndef SLICERBRIDGE_TEST_SUPPORT_DECISION_TABLES_HPP
#define SLICERBRIDGE_TEST_SUPPORT_DECISION_TABLES_HPP
// The decision tables of spec/vectors/decisions, shared with the Python server's tests.

#include <slicerbridge/error.hpp>

#include <nlohmann/json.hpp>

#include <fstream>
#include <stdexcept>
#include <string>
#include <system_error>

namespace test_support {

/// The `vectors` of spec/vectors/decisions/<name>; throws when the file is missing or empty.
inline nlohmann::json decision_table(const std::string& name) {
    const std::string path = std::string(SLICERBRIDGE_VECTORS_DIR) + "/decisions/" + name;
    std::ifstream in(path);
    if (!in) {
        throw std::runtime_error("cannot open " + path);
    }
    nlohmann::json vectors = nlohmann::json::parse(in).at("vectors");
    if (vectors.empty()) {
        throw std::runtime_error(path + " has no cases");
    }
    return vectors;
}

/// An error name of section 8 (or null: no error) as an error code.
inline std::error_code table_error(const nlohmann::json& name) {
    if (name.is_null()) {
        return {};
    }
    auto e = slicerbridge::error_from_name(name.get<std::string>());
    if (!e) {
        throw std::runtime_error("unknown error name " + name.dump());
    }
    return make_error_code(*e);
}

} // namespace test_support

#endif
