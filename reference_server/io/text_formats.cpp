// Text formats: CSV tables, ITK linear transform files, Slicer markups JSON point lists.

#include "binary.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>

namespace slicerbridge {
namespace files {
namespace {

std::string read_text(const std::string& path) {
    const auto bytes = detail::read_file(path);
    return std::string(bytes.begin(), bytes.end());
}

std::ofstream create(const std::string& path) {
    std::ofstream out(path, std::ios::trunc);
    if (!out) {
        throw file_error("cannot create " + path + ": " + std::strerror(errno));
    }
    return out;
}

void finish(std::ofstream& out, const std::string& path) {
    out.close();
    if (!out) {
        throw file_error("cannot write " + path);
    }
}

// ---- CSV (RFC 4180) ----------------------------------------------------------------------------

std::vector<std::vector<std::string>> parse_csv(const std::string& text, const std::string& path) {
    std::vector<std::vector<std::string>> rows;
    std::vector<std::string> row;
    std::string cell;
    bool quoted = false;
    bool cell_started = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (quoted) {
            if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
                cell.push_back('"');
                ++i;
            } else if (c == '"') {
                quoted = false;
            } else {
                cell.push_back(c);
            }
        } else if (c == '"' && cell.empty()) {
            quoted = true;
            cell_started = true;
        } else if (c == ',') {
            row.push_back(std::move(cell));
            cell.clear();
            cell_started = true;
        } else if (c == '\n' || c == '\r') {
            if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
                ++i;
            }
            if (cell_started || !cell.empty() || !row.empty()) {
                row.push_back(std::move(cell));
                rows.push_back(std::move(row));
            }
            row.clear();
            cell.clear();
            cell_started = false;
        } else {
            cell.push_back(c);
            cell_started = true;
        }
    }
    if (quoted) {
        throw file_error(path + ": unterminated quoted CSV field");
    }
    if (cell_started || !cell.empty() || !row.empty()) {
        row.push_back(std::move(cell));
        rows.push_back(std::move(row));
    }
    return rows;
}

bool parses_as_int(const std::string& text) {
    try {
        detail::parse_int(text, "");
        return true;
    } catch (const file_error&) {
        return false;
    }
}

bool parses_as_double(const std::string& text) {
    try {
        detail::parse_double(text, "");
        return true;
    } catch (const file_error&) {
        return false;
    }
}

std::string csv_cell(const std::string& text) {
    if (text.find_first_of(",\"\n\r") == std::string::npos) {
        return text;
    }
    std::string quoted = "\"";
    for (char c : text) {
        quoted += c;
        if (c == '"') {
            quoted += '"';
        }
    }
    return quoted + "\"";
}

std::string number_cell(const typed_array& values, std::size_t row) {
    switch (values.dtype) {
    case dtype::int8:
        return std::to_string(values.scalar<std::int8_t>(row));
    case dtype::uint8:
        return std::to_string(values.scalar<std::uint8_t>(row));
    case dtype::int16:
        return std::to_string(values.scalar<std::int16_t>(row));
    case dtype::uint16:
        return std::to_string(values.scalar<std::uint16_t>(row));
    case dtype::int32:
        return std::to_string(values.scalar<std::int32_t>(row));
    case dtype::uint32:
        return std::to_string(values.scalar<std::uint32_t>(row));
    case dtype::int64:
        return std::to_string(values.scalar<std::int64_t>(row));
    case dtype::uint64:
        return std::to_string(values.scalar<std::uint64_t>(row));
    case dtype::float32:
        return detail::format_double(static_cast<double>(values.scalar<float>(row)));
    case dtype::float64:
        break;
    }
    return detail::format_double(values.scalar<double>(row));
}

// ---- ITK transforms ----------------------------------------------------------------------------

matrix4 invert(const matrix4& m) {
    const double det = linear_determinant(m);
    if (!std::isfinite(det) || std::abs(det) < 1e-300) {
        throw file_error("the transform is not invertible");
    }
    return inverse_affine(m);
}

} // namespace

table read_table(const std::string& path) {
    const auto rows = parse_csv(read_text(path), path);
    if (rows.empty()) {
        throw file_error(path + ": a CSV table needs a header row");
    }
    const auto& names = rows.front();
    for (std::size_t r = 1; r < rows.size(); ++r) {
        if (rows[r].size() != names.size()) {
            throw file_error(path + ": row " + std::to_string(r + 1) + " has " +
                             std::to_string(rows[r].size()) + " cells, the header " +
                             std::to_string(names.size()));
        }
    }
    table result;
    for (std::size_t c = 0; c < names.size(); ++c) {
        std::vector<std::string> cells;
        for (std::size_t r = 1; r < rows.size(); ++r) {
            cells.push_back(rows[r][c]);
        }
        column col;
        col.name = names[c];
        const bool any = !cells.empty();
        auto all = [&](auto predicate) {
            return std::all_of(cells.begin(), cells.end(), predicate);
        };
        if (any && all(parses_as_int)) {
            std::vector<std::int64_t> values;
            for (const auto& cell : cells) {
                values.push_back(detail::parse_int(cell, path));
            }
            col.values = typed_array::adopt(std::move(values));
        } else if (any && all(parses_as_double)) {
            std::vector<double> values;
            for (const auto& cell : cells) {
                values.push_back(detail::parse_double(cell, path));
            }
            col.values = typed_array::adopt(std::move(values));
        } else if (any && all([](const std::string& s) { return s == "true" || s == "false"; })) {
            std::vector<bool> values;
            for (const auto& cell : cells) {
                values.push_back(cell == "true");
            }
            col.values = std::move(values);
        } else {
            col.values = std::move(cells);
        }
        result.columns.push_back(std::move(col));
    }
    std::string problem;
    if (result.validate(problem)) {
        throw file_error(path + ": " + problem);
    }
    return result;
}

void write_csv(const table& t, std::ostream& out) {
    for (std::size_t c = 0; c < t.columns.size(); ++c) {
        out << (c == 0 ? "" : ",") << csv_cell(t.columns[c].name);
    }
    out << "\n";
    for (std::size_t row = 0; row < t.row_count(); ++row) {
        for (std::size_t c = 0; c < t.columns.size(); ++c) {
            out << (c == 0 ? "" : ",");
            const auto& values = t.columns[c].values;
            if (const auto* numbers = std::get_if<typed_array>(&values)) {
                out << number_cell(*numbers, row);
            } else if (const auto* strings = std::get_if<std::vector<std::string>>(&values)) {
                out << csv_cell((*strings)[row]);
            } else {
                out << (std::get<std::vector<bool>>(values)[row] ? "true" : "false");
            }
        }
        out << "\n";
    }
}

void write_table(const table& t, const std::string& path) {
    if (path == "-") {
        write_csv(t, std::cout);
        std::cout.flush();
        return;
    }
    auto out = create(path);
    write_csv(t, out);
    finish(out, path);
}

// An ITK transform file holds the resampling transform (fixed to moving: "from parent") in LPS,
// as y = A (x - c) + c + t; Slicer's to-parent transform in RAS is F inverse(T) F.
transform read_transform(const std::string& path) {
    std::istringstream in(read_text(path));
    std::string line;
    std::string type;
    std::vector<double> parameters;
    std::vector<double> fixed;
    while (std::getline(in, line)) {
        line = detail::trim(line);
        const auto colon = line.find(':');
        if (line.empty() || line[0] == '#' || colon == std::string::npos) {
            continue;
        }
        const std::string key = line.substr(0, colon);
        const std::string rest = line.substr(colon + 1);
        if (key == "Transform") {
            if (!type.empty()) {
                throw file_error(path + ": only files with one transform are supported");
            }
            type = detail::trim(rest);
        } else if (key == "Parameters" || key == "FixedParameters") {
            auto& target = key == "Parameters" ? parameters : fixed;
            for (const auto& word : detail::split_words(rest)) {
                target.push_back(detail::parse_double(word, path + ": " + key));
            }
        }
    }
    matrix4 itk = identity_matrix;
    if (type.rfind("AffineTransform_", 0) == 0 ||
        type.rfind("MatrixOffsetTransformBase_", 0) == 0) {
        if (parameters.size() != 12 || (fixed.size() != 3 && !fixed.empty())) {
            throw file_error(path + ": an affine ITK transform has 12 parameters and 3 fixed ones");
        }
        const std::array<double, 3> center =
            fixed.empty() ? std::array<double, 3>{0, 0, 0}
                          : std::array<double, 3>{fixed[0], fixed[1], fixed[2]};
        for (std::size_t row = 0; row < 3; ++row) {
            double offset = parameters[9 + row] + center[row];
            for (std::size_t column = 0; column < 3; ++column) {
                itk[row * 4 + column] = parameters[row * 3 + column];
                offset -= parameters[row * 3 + column] * center[column];
            }
            itk[row * 4 + 3] = offset;
        }
    } else if (type.rfind("TranslationTransform_", 0) == 0) {
        if (parameters.size() != 3) {
            throw file_error(path + ": a translation ITK transform has 3 parameters");
        }
        itk[3] = parameters[0];
        itk[7] = parameters[1];
        itk[11] = parameters[2];
    } else {
        throw file_error(path + ": unsupported ITK transform type \"" + type + "\"");
    }
    transform result{invert(itk), space::lps};
    std::string problem;
    if (result.validate(problem)) {
        throw file_error(path + ": " + problem);
    }
    return result;
}

void write_transform(const transform& t, const std::string& path) {
    const matrix4 itk = invert(t.in_space(space::lps).matrix);
    auto out = create(path);
    out << "#Insight Transform File V1.0\n#Transform 0\nTransform: AffineTransform_double_3_3\n"
        << "Parameters:";
    for (std::size_t row = 0; row < 3; ++row) {
        for (std::size_t column = 0; column < 3; ++column) {
            out << ' ' << detail::format_double(itk[row * 4 + column]);
        }
    }
    out << ' ' << detail::format_double(itk[3]) << ' ' << detail::format_double(itk[7]) << ' '
        << detail::format_double(itk[11]) << "\nFixedParameters: 0 0 0\n";
    finish(out, path);
}

// Slicer's markups JSON: the first markup's control points, in its coordinateSystem.
point_list read_points(const std::string& path) {
    nlohmann::json document;
    try {
        document = nlohmann::json::parse(read_text(path));
    } catch (const nlohmann::json::exception&) {
        throw file_error(path + " is not valid JSON");
    }
    const auto markups = document.find("markups");
    if (markups == document.end() || !markups->is_array() || markups->empty() ||
        !markups->front().is_object()) {
        throw file_error(path + ": no markups in the file");
    }
    const auto& markup = markups->front();
    space s = space::lps;
    if (auto system = markup.find("coordinateSystem"); system != markup.end()) {
        if (*system == "RAS") {
            s = space::ras;
        } else if (*system != "LPS") {
            throw file_error(path + ": coordinateSystem must be RAS or LPS");
        }
    }
    std::vector<double> xyz;
    std::vector<std::string> labels;
    bool every_point_labelled = true;
    if (auto points = markup.find("controlPoints"); points != markup.end()) {
        if (!points->is_array()) {
            throw file_error(path + ": controlPoints must be an array");
        }
        for (const auto& point : *points) {
            const auto position = point.find("position");
            if (position == point.end() || !position->is_array() || position->size() != 3) {
                throw file_error(path + ": a control point lacks its position");
            }
            for (const auto& coordinate : *position) {
                if (!coordinate.is_number()) {
                    throw file_error(path + ": control point coordinates must be numbers");
                }
                xyz.push_back(coordinate.get<double>());
            }
            const auto label = point.find("label");
            if (label != point.end() && label->is_string()) {
                labels.push_back(label->get<std::string>());
            } else {
                every_point_labelled = false;
            }
        }
    }
    point_list result = point_list::copy_of(xyz.data(), xyz.size() / 3, s);
    if (every_point_labelled && !labels.empty()) {
        result.labels = std::move(labels);
    }
    return result;
}

void write_points(const point_list& p, const std::string& path) {
    const point_list lps = p.in_space(space::lps);
    nlohmann::ordered_json points = nlohmann::ordered_json::array();
    for (std::uint64_t i = 0; i < lps.point_count(); ++i) {
        nlohmann::ordered_json point;
        point["id"] = std::to_string(i + 1);
        if (lps.labels) {
            point["label"] = (*lps.labels)[i];
        }
        point["position"] = {lps.points.scalar<double>(3 * i), lps.points.scalar<double>(3 * i + 1),
                             lps.points.scalar<double>(3 * i + 2)};
        points.push_back(std::move(point));
    }
    nlohmann::ordered_json document;
    document["@schema"] = "https://raw.githubusercontent.com/slicer/slicer/master/Modules/"
                          "Loadable/Markups/Resources/Schema/markups-schema-v1.0.3.json#";
    document["markups"] = nlohmann::ordered_json::array(
        {{{"type", "Fiducial"}, {"coordinateSystem", "LPS"}, {"coordinateUnits", "mm"},
          {"controlPoints", std::move(points)}}});
    auto out = create(path);
    out << document.dump(2) << "\n";
    finish(out, path);
}

} // namespace files
} // namespace slicerbridge
