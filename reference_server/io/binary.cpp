#include "binary.hpp"

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <sstream>

namespace slicerbridge {
namespace files {
namespace detail {

std::vector<char> read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw file_error("cannot open " + path + ": " + std::strerror(errno));
    }
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad()) {
        throw file_error("cannot read " + path);
    }
    return bytes;
}

std::string directory_of(const std::string& path) {
    const auto slash = path.find_last_of('/');
    return slash == std::string::npos ? std::string() : path.substr(0, slash + 1);
}

std::string file_name_of(const std::string& path) {
    const auto slash = path.find_last_of('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::vector<std::string> split_words(const std::string& text) {
    std::vector<std::string> words;
    std::istringstream in(text);
    std::string word;
    while (in >> word) {
        words.push_back(word);
    }
    return words;
}

std::string trim(const std::string& text) {
    const auto first = text.find_first_not_of(" \t\r\n");
    if (first == std::string::npos) {
        return {};
    }
    const auto last = text.find_last_not_of(" \t\r\n");
    return text.substr(first, last - first + 1);
}

double parse_double(const std::string& text, const std::string& what) {
    const std::string trimmed = trim(text);
    char* end = nullptr;
    errno = 0;
    const double parsed = std::strtod(trimmed.c_str(), &end);
    if (trimmed.empty() || end != trimmed.c_str() + trimmed.size() || errno == ERANGE) {
        throw file_error(what + ": not a number: \"" + trimmed + "\"");
    }
    return parsed;
}

std::int64_t parse_int(const std::string& text, const std::string& what) {
    const std::string trimmed = trim(text);
    std::int64_t parsed = 0;
    const auto [end, ec] = std::from_chars(trimmed.data(), trimmed.data() + trimmed.size(), parsed);
    if (trimmed.empty() || ec != std::errc() || end != trimmed.data() + trimmed.size()) {
        throw file_error(what + ": not an integer: \"" + trimmed + "\"");
    }
    return parsed;
}

std::string format_double(double x) {
    char text[32];
    for (int precision = 15; precision <= 17; ++precision) {
        std::snprintf(text, sizeof text, "%.*g", precision, x);
        if (std::strtod(text, nullptr) == x) {
            break;
        }
    }
    return text;
}

std::array<double, 3> column_lengths(const matrix4& m) {
    std::array<double, 3> lengths{};
    for (std::size_t column = 0; column < 3; ++column) {
        lengths[column] = std::sqrt(m[column] * m[column] + m[4 + column] * m[4 + column] +
                                    m[8 + column] * m[8 + column]);
    }
    return lengths;
}

} // namespace detail
} // namespace files
} // namespace slicerbridge
