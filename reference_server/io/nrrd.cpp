// NRRD without ITK or VTK: see nrrd.hpp. Written from the NRRD format's definition
// (teem's "NRRD0005" file format page); every number in a header is checked before use.

#include "nrrd.hpp"

#include "binary.hpp"

#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <vector>

namespace slicerbridge {
namespace files {
namespace nrrd {

namespace fs = std::filesystem;

namespace {

/// Size of a regular file; throws file_error naming `path` and `role` otherwise.
std::uint64_t regular_size(const std::string& path, const std::string& role) {
    std::error_code ec;
    const fs::path p = fs::path(path);
    if (!fs::is_regular_file(p, ec)) {
        throw file_error(role + " " + path +
                         (fs::exists(p, ec) ? " is not a regular file" : " does not exist"));
    }
    const auto size = fs::file_size(p, ec);
    if (ec) {
        throw file_error("cannot open " + role + " " + path + ": " + ec.message());
    }
    return static_cast<std::uint64_t>(size);
}

/// zlib's deflate expands its input at most 1032 times (its technical notes): a compressed
/// stream that claims more is a lie, refused before the voxels are allocated.
constexpr std::uint64_t deflate_ratio = 1032;

std::optional<dtype> type_named(const std::string& name) {
    static const std::map<std::string, dtype> types = {
        {"signed char", dtype::int8},
        {"int8", dtype::int8},
        {"int8_t", dtype::int8},
        {"uchar", dtype::uint8},
        {"unsigned char", dtype::uint8},
        {"uint8", dtype::uint8},
        {"uint8_t", dtype::uint8},
        {"short", dtype::int16},
        {"short int", dtype::int16},
        {"signed short", dtype::int16},
        {"signed short int", dtype::int16},
        {"int16", dtype::int16},
        {"int16_t", dtype::int16},
        {"ushort", dtype::uint16},
        {"unsigned short", dtype::uint16},
        {"unsigned short int", dtype::uint16},
        {"uint16", dtype::uint16},
        {"uint16_t", dtype::uint16},
        {"int", dtype::int32},
        {"signed int", dtype::int32},
        {"int32", dtype::int32},
        {"int32_t", dtype::int32},
        {"uint", dtype::uint32},
        {"unsigned int", dtype::uint32},
        {"uint32", dtype::uint32},
        {"uint32_t", dtype::uint32},
        {"longlong", dtype::int64},
        {"long long", dtype::int64},
        {"long long int", dtype::int64},
        {"signed long long", dtype::int64},
        {"signed long long int", dtype::int64},
        {"int64", dtype::int64},
        {"int64_t", dtype::int64},
        {"ulonglong", dtype::uint64},
        {"unsigned long long", dtype::uint64},
        {"unsigned long long int", dtype::uint64},
        {"uint64", dtype::uint64},
        {"uint64_t", dtype::uint64},
        {"float", dtype::float32},
        {"double", dtype::float64},
    };
    const auto found = types.find(name);
    return found == types.end() ? std::nullopt : std::optional<dtype>(found->second);
}

const char* type_name(dtype t) {
    switch (t) {
    case dtype::int8:
        return "int8";
    case dtype::uint8:
        return "uint8";
    case dtype::int16:
        return "int16";
    case dtype::uint16:
        return "uint16";
    case dtype::int32:
        return "int32";
    case dtype::uint32:
        return "uint32";
    case dtype::int64:
        return "int64";
    case dtype::uint64:
        return "uint64";
    case dtype::float32:
        return "float";
    case dtype::float64:
        return "double";
    }
    return "uint8";
}

/// Fields read for their meaning, and fields that carry nothing the protocol keeps (ignored).
/// Any other field is refused: a header this reader does not understand is not guessed at.
bool ignored_field(const std::string& field) {
    static const char* const names[] = {
        "content",           "centers",     "centerings",   "labels",      "units",
        "space units",       "thicknesses", "axis mins",    "axismins",    "axis maxs",
        "axismaxs",          "min",         "max",          "old min",     "oldmin",
        "old max",           "oldmax",      "sample units", "sampleunits", "number",
        "measurement frame",
    };
    return std::any_of(std::begin(names), std::end(names),
                       [&](const char* name) { return field == name; });
}

std::string canonical_field(const std::string& field) {
    if (field == "datafile") {
        return "data file";
    }
    if (field == "lineskip") {
        return "line skip";
    }
    if (field == "byteskip") {
        return "byte skip";
    }
    return field;
}

/// The header: its fields, where it ends in the file, and its length.
struct header {
    std::map<std::string, std::string> fields;
    std::map<std::string, std::string> key_values; ///< "key:=value" lines, the first of each key
    std::uint64_t end = 0; ///< the first byte after the header's blank line (or the file's end)
    bool attached = false; ///< a blank line ends the header: data may follow in the same file
};

header read_header(const std::string& path, std::uint64_t size, const limits& limit) {
    std::ifstream in(fs::path(path), std::ios::binary);
    if (!in) {
        throw file_error("cannot open " + path + ": " + std::strerror(errno));
    }
    const std::uint64_t window = std::min(size, limit.max_header_bytes);
    std::string text(static_cast<std::size_t>(window), '\0');
    in.read(text.data(), static_cast<std::streamsize>(window));
    if (static_cast<std::uint64_t>(in.gcount()) != window) {
        throw file_error("cannot read " + path);
    }
    if (text.size() < 8 || text.compare(0, 7, "NRRD000") != 0 || text[7] < '1' || text[7] > '5') {
        throw file_error(path +
                         " is not a NRRD file (it does not start with NRRD0001 to NRRD0005)");
    }
    header h;
    std::size_t at = text.find('\n');
    if (at == std::string::npos) {
        throw file_error(path + ": the header has nothing after its magic line");
    }
    ++at;
    std::size_t line_number = 1;
    for (;;) { // each pass consumes one line: bounded by the header's length
        const std::size_t newline = text.find('\n', at);
        if (newline == std::string::npos) {
            if (window < size) {
                throw file_error(path + ": the header is longer than " +
                                 std::to_string(limit.max_header_bytes) + " bytes");
            }
            if (at < text.size() && !detail::trim(text.substr(at)).empty()) {
                throw file_error(path + ": the header's last line has no line break");
            }
            h.end = size;
            return h;
        }
        std::string line = text.substr(at, newline - at);
        at = newline + 1;
        ++line_number;
        if (!line.empty() && line.back() == '\r') {
            line.pop_back();
        }
        if (line.empty()) {
            h.end = at;
            h.attached = true;
            return h;
        }
        if (line[0] == '#') {
            continue;
        }
        if (const auto separator = line.find(":="); separator != std::string::npos) {
            // metadata; an image series reads Slicer's MultiVolume keys from it
            h.key_values.emplace(line.substr(0, separator), line.substr(separator + 2));
            continue;
        }
        const auto colon = line.find(": ");
        if (colon == std::string::npos) {
            throw file_error(path + ": header line " + std::to_string(line_number) +
                             " is not \"field: value\"");
        }
        const std::string field = canonical_field(line.substr(0, colon));
        if (!h.fields.emplace(field, detail::trim(line.substr(colon + 2))).second) {
            throw file_error(path + ": the field \"" + field + "\" is given twice");
        }
    }
}

std::uint64_t parse_count(const std::string& text, const std::string& what, std::uint64_t low,
                          std::uint64_t high) {
    const std::int64_t n = detail::parse_int(text, what);
    if (n < 0 || static_cast<std::uint64_t>(n) < low || static_cast<std::uint64_t>(n) > high) {
        throw file_error(what + ": " + text + " is out of range (" + std::to_string(low) + " to " +
                         std::to_string(high) + ")");
    }
    return static_cast<std::uint64_t>(n);
}

/// "(x,y,z)" with `n` finite numbers.
std::vector<double> parse_vector(const std::string& text, std::size_t n, const std::string& what) {
    const std::string t = detail::trim(text);
    if (t.size() < 2 || t.front() != '(' || t.back() != ')') {
        throw file_error(what + ": \"" + t + "\" is not a vector such as (1,0,0)");
    }
    std::vector<double> values;
    std::string item;
    const std::string inside = t.substr(1, t.size() - 2);
    std::size_t start = 0;
    for (;;) { // one component per pass: bounded by the text's length
        const std::size_t comma = inside.find(',', start);
        values.push_back(detail::parse_double(inside.substr(start, comma - start), what));
        if (!std::isfinite(values.back())) {
            throw file_error(what + ": \"" + t + "\" holds a value that is not finite");
        }
        if (comma == std::string::npos) {
            break;
        }
        start = comma + 1;
    }
    if (values.size() != n) {
        throw file_error(what + ": \"" + t + "\" has " + std::to_string(values.size()) +
                         " components, not " + std::to_string(n));
    }
    return values;
}

/// The vectors of "space directions": one per axis, "none" or "(x,y,z)" (blanks allowed inside,
/// as some writers put them after the commas).
std::vector<std::optional<std::vector<double>>>
parse_directions(const std::string& text, std::size_t axes, const std::string& what) {
    std::vector<std::optional<std::vector<double>>> directions;
    std::size_t at = 0;
    while (at < text.size()) { // each pass consumes at least one character
        if (text[at] == ' ' || text[at] == '\t') {
            ++at;
        } else if (text.compare(at, 4, "none") == 0) {
            directions.emplace_back();
            at += 4;
        } else if (text[at] == '(') {
            const std::size_t close = text.find(')', at);
            if (close == std::string::npos) {
                throw file_error(what + ": a vector without its closing parenthesis");
            }
            directions.emplace_back(parse_vector(text.substr(at, close - at + 1), 3, what));
            at = close + 1;
        } else {
            throw file_error(what + ": \"" + text.substr(at, 20) +
                             "\" is neither a vector such as (1,0,0) nor \"none\"");
        }
    }
    if (directions.size() != axes) {
        throw file_error(what + ": " + std::to_string(directions.size()) + " entries for " +
                         std::to_string(axes) + " axes");
    }
    return directions;
}

bool is_domain_kind(const std::string& kind) {
    return kind == "domain" || kind == "space" || kind == "time";
}

bool is_component_kind(const std::string& kind) {
    static const char* const kinds[] = {
        "vector",
        "covariant-vector",
        "normal",
        "list",
        "point",
        "stub",
        "scalar",
        "2-vector",
        "3-vector",
        "4-vector",
        "3-gradient",
        "3-normal",
        "2-color",
        "3-color",
        "4-color",
        "RGB-color",
        "RGBA-color",
        "HSV-color",
        "XYZ-color",
        "quaternion",
        "2D-symmetric-matrix",
        "2D-masked-symmetric-matrix",
        "2D-matrix",
        "2D-masked-matrix",
        "3D-symmetric-matrix",
        "3D-masked-symmetric-matrix",
        "3D-matrix",
        "3D-masked-matrix",
    };
    return std::any_of(std::begin(kinds), std::end(kinds),
                       [&](const char* k) { return kind == k; });
}

void swap_bytes(std::byte* data, std::uint64_t count, std::size_t size) {
    for (std::uint64_t i = 0; i < count; ++i) {
        std::reverse(data + i * size, data + (i + 1) * size);
    }
}

/// Reads `bytes` raw bytes at `offset` of `data_path` (offset -1: the file's last bytes).
void read_raw(const std::string& data_path, std::uint64_t data_size, std::uint64_t offset,
              std::uint64_t bytes, std::byte* into) {
    if (offset > data_size || data_size - offset < bytes) {
        throw file_error(data_path + ": the header claims " + std::to_string(bytes) +
                         " bytes of voxels, the file holds " +
                         std::to_string(offset > data_size ? 0 : data_size - offset) +
                         " after the header");
    }
    std::ifstream in(fs::path(data_path), std::ios::binary);
    in.seekg(static_cast<std::streamoff>(offset));
    in.read(reinterpret_cast<char*>(into), static_cast<std::streamsize>(bytes));
    if (!in || static_cast<std::uint64_t>(in.gcount()) != bytes) {
        throw file_error("cannot read the voxels of " + data_path);
    }
}

void read_gzip(const std::string& data_path, std::uint64_t data_size, std::uint64_t offset,
               std::uint64_t bytes, std::byte* into) {
    std::ifstream in(fs::path(data_path), std::ios::binary);
    in.seekg(static_cast<std::streamoff>(offset));
    if (!in) {
        throw file_error("cannot read the voxels of " + data_path);
    }
    z_stream z{};
    if (inflateInit2(&z, 15 + 32) != Z_OK) { // 32: a gzip or a zlib header
        throw file_error(data_path + ": cannot start zlib");
    }
    std::vector<char> chunk(1 << 16);
    std::uint64_t produced = 0;
    std::uint64_t left = data_size - offset;
    int status = Z_OK;
    while (produced < bytes && status != Z_STREAM_END) { // each pass consumes or produces bytes
        if (z.avail_in == 0) {
            if (left == 0) {
                break;
            }
            const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(left, chunk.size()));
            in.read(chunk.data(), static_cast<std::streamsize>(n));
            if (static_cast<std::size_t>(in.gcount()) != n) {
                inflateEnd(&z);
                throw file_error("cannot read the voxels of " + data_path);
            }
            left -= n;
            z.next_in = reinterpret_cast<Bytef*>(chunk.data());
            z.avail_in = static_cast<uInt>(n);
        }
        const std::uint64_t room = std::min<std::uint64_t>(bytes - produced, 1u << 30);
        z.next_out = reinterpret_cast<Bytef*>(into + produced);
        z.avail_out = static_cast<uInt>(room);
        const uInt input_before = z.avail_in;
        status = inflate(&z, Z_NO_FLUSH);
        produced += room - z.avail_out;
        if (status == Z_BUF_ERROR && z.avail_in == input_before && z.avail_out == room &&
            z.avail_in != 0) {
            status = Z_DATA_ERROR; // neither input taken nor output made: it would never end
        }
        if (status != Z_OK && status != Z_STREAM_END && status != Z_BUF_ERROR) {
            const std::string reason = z.msg != nullptr ? z.msg : "corrupt data";
            inflateEnd(&z);
            throw file_error(data_path + ": the gzip-encoded voxels are corrupt (" + reason + ")");
        }
    }
    inflateEnd(&z);
    if (produced != bytes) {
        throw file_error(data_path + ": the gzip-encoded voxels end after " +
                         std::to_string(produced) + " of the " + std::to_string(bytes) +
                         " bytes the header claims");
    }
}

} // namespace

image read(const std::string& path, const limits& limit) {
    const std::uint64_t size = regular_size(path, "NRRD file");
    const header h = read_header(path, size, limit);
    const auto field = [&](const char* name) -> const std::string* {
        const auto found = h.fields.find(name);
        return found == h.fields.end() ? nullptr : &found->second;
    };
    const auto required = [&](const char* name) -> const std::string& {
        const std::string* value = field(name);
        if (value == nullptr) {
            throw file_error(path + ": the header has no \"" + std::string(name) + "\" field");
        }
        return *value;
    };
    const auto what = [&](const char* name) { return path + ": field \"" + name + "\""; };
    static const char* const understood[] = {
        "type",         "dimension", "sizes",           "encoding",
        "endian",       "space",     "space dimension", "space directions",
        "space origin", "kinds",     "data file",       "line skip",
        "byte skip",    "spacings",
    };
    for (const auto& [name, value] : h.fields) {
        if (!ignored_field(name) &&
            std::none_of(std::begin(understood), std::end(understood),
                         [&](const char* known) { return name == known; })) {
            throw file_error(path + ": unknown header field \"" + name + "\"");
        }
    }

    // Type, axes, sizes
    const std::string& type_text = required("type");
    const auto type = type_named(type_text);
    if (!type) {
        throw file_error(what("type") + ": \"" + type_text +
                         "\" is not a type the protocol carries (8 to 64-bit integers, float, "
                         "double)");
    }
    const auto dimension =
        static_cast<std::size_t>(parse_count(required("dimension"), what("dimension"), 1, 4));
    const auto size_words = detail::split_words(required("sizes"));
    if (size_words.size() != dimension) {
        throw file_error(what("sizes") + ": " + std::to_string(size_words.size()) +
                         " sizes for dimension " + std::to_string(dimension));
    }
    std::vector<std::uint64_t> sizes;
    for (const auto& word : size_words) {
        sizes.push_back(parse_count(word, what("sizes"), 1, std::uint64_t(1) << 40));
    }
    std::vector<std::string> kinds(dimension);
    if (const std::string* text = field("kinds")) {
        kinds = detail::split_words(*text);
        if (kinds.size() != dimension) {
            throw file_error(what("kinds") + ": " + std::to_string(kinds.size()) +
                             " kinds for dimension " + std::to_string(dimension));
        }
    }

    // Space
    enum class named_space { none, lps, ras, las } space_of_file = named_space::none;
    if (const std::string* text = field("space")) {
        const std::string& s = *text;
        if (s == "left-posterior-superior" || s == "LPS") {
            space_of_file = named_space::lps;
        } else if (s == "right-anterior-superior" || s == "RAS") {
            space_of_file = named_space::ras;
        } else if (s == "left-anterior-superior" || s == "LAS") {
            space_of_file = named_space::las;
        } else {
            throw file_error(what("space") + ": \"" + s +
                             "\" is not supported (RAS, LAS or LPS: a 3-D patient space)");
        }
        if (field("space dimension") != nullptr) {
            throw file_error(path + ": the header gives both \"space\" and \"space dimension\"");
        }
    } else if (const std::string* text = field("space dimension")) {
        if (parse_count(*text, what("space dimension"), 1, 16) != 3) {
            throw file_error(what("space dimension") + ": only 3 is supported");
        }
    }
    const bool has_space = field("space") != nullptr || field("space dimension") != nullptr;
    std::vector<std::optional<std::vector<double>>> directions(dimension);
    if (const std::string* text = field("space directions")) {
        if (!has_space) {
            throw file_error(path + ": \"space directions\" without a \"space\"");
        }
        directions = parse_directions(*text, dimension, what("space directions"));
    } else if (has_space) {
        throw file_error(path + ": a \"space\" without \"space directions\"");
    }

    // Which axis holds the components: one whose kind says so, or (no kinds) one without a
    // space direction; at most one, the fastest.
    std::optional<std::size_t> component_axis;
    for (std::size_t axis = 0; axis < dimension; ++axis) {
        bool component = false;
        if (!kinds[axis].empty() && kinds[axis] != "???" && kinds[axis] != "none") {
            if (kinds[axis] == "complex") {
                throw file_error(what("kinds") + ": complex voxels are not supported");
            }
            if (!is_domain_kind(kinds[axis]) && !is_component_kind(kinds[axis])) {
                throw file_error(what("kinds") + ": unknown kind \"" + kinds[axis] + "\"");
            }
            component = is_component_kind(kinds[axis]);
        } else {
            component = has_space && !directions[axis];
        }
        if (component && directions[axis]) {
            throw file_error(what("space directions") + ": axis " + std::to_string(axis) +
                             " holds components (kind " + kinds[axis] +
                             ") yet has a space direction");
        }
        if (!component && has_space && !directions[axis]) {
            throw file_error(what("space directions") + ": spatial axis " + std::to_string(axis) +
                             " has no direction");
        }
        if (component) {
            if (component_axis) {
                throw file_error(path + ": axes " + std::to_string(*component_axis) + " and " +
                                 std::to_string(axis) +
                                 " both hold components; the protocol has one component axis");
            }
            if (axis != 0) {
                throw file_error(path + ": axis " + std::to_string(axis) +
                                 " holds the components; only the first (fastest) axis can");
            }
            component_axis = axis;
        }
    }
    const std::size_t first_spatial = component_axis ? 1 : 0;
    const std::size_t spatial = dimension - first_spatial;
    if (spatial < 1 || spatial > 3) {
        throw file_error(path + ": " + std::to_string(spatial) +
                         " spatial axes; the protocol's images have 1 to 3 (no 4-D images)");
    }

    image result;
    result.dtype = *type;
    result.components = 1;
    if (component_axis) {
        if (sizes[0] > 65535) {
            throw file_error(what("sizes") + ": " + std::to_string(sizes[0]) +
                             " components per voxel");
        }
        result.components = static_cast<std::uint32_t>(sizes[0]);
    }
    result.kind = result.components > 1 ? image_kind::vector : image_kind::scalar;
    result.dims = {1, 1, 1};
    for (std::size_t s = 0; s < spatial; ++s) {
        result.dims[s] = sizes[first_spatial + s];
    }

    // Geometry, as LPS
    matrix4 m = identity_matrix;
    if (has_space) {
        for (std::size_t s = 0; s < spatial; ++s) {
            const auto& d = *directions[first_spatial + s];
            for (std::size_t row = 0; row < 3; ++row) {
                m[row * 4 + s] = d[row];
            }
        }
        if (const std::string* text = field("space origin")) {
            const auto origin = parse_vector(*text, 3, what("space origin"));
            for (std::size_t row = 0; row < 3; ++row) {
                m[row * 4 + 3] = origin[row];
            }
        }
        const bool flip_x = space_of_file == named_space::ras;
        const bool flip_y = space_of_file == named_space::ras || space_of_file == named_space::las;
        for (std::size_t column = 0; column < 4; ++column) {
            if (flip_x) {
                m[column] = -m[column] + 0.0;
            }
            if (flip_y) {
                m[4 + column] = -m[4 + column] + 0.0;
            }
        }
    } else {
        if (field("space origin") != nullptr) {
            throw file_error(path + ": a \"space origin\" without a \"space\"");
        }
        if (const std::string* text = field("spacings")) {
            const auto words = detail::split_words(*text);
            if (words.size() != dimension) {
                throw file_error(what("spacings") + ": " + std::to_string(words.size()) +
                                 " spacings for dimension " + std::to_string(dimension));
            }
            for (std::size_t s = 0; s < spatial; ++s) {
                const double spacing =
                    detail::parse_double(words[first_spatial + s], what("spacings"));
                if (!std::isfinite(spacing) || spacing == 0) {
                    throw file_error(what("spacings") + ": \"" + words[first_spatial + s] +
                                     "\" is not a spacing");
                }
                m[s * 4 + s] = spacing;
            }
        }
    }
    result.ijk_to_space = m;
    result.space = slicerbridge::space::lps;

    // Voxels
    const auto bytes = result.byte_count();
    if (!bytes || *bytes > limit.max_data_bytes) {
        throw file_error(what("sizes") + ": the image would hold more than " +
                         std::to_string(limit.max_data_bytes) + " bytes");
    }
    const std::size_t scalar = dtype_size(*type);
    bool swap = false;
    if (const std::string* text = field("endian")) {
        if (*text != "little" && *text != "big") {
            throw file_error(what("endian") + ": \"" + *text + "\" is neither little nor big");
        }
        swap = scalar > 1 && (*text == "big") != (native_byte_order == byte_order::big);
    } else if (scalar > 1) {
        throw file_error(path + ": the header has no \"endian\" field, which " + type_text +
                         " voxels need");
    }
    const std::string& encoding = required("encoding");
    const bool gzip = encoding == "gzip" || encoding == "gz";
    if (!gzip && encoding != "raw") {
        throw file_error(what("encoding") + ": \"" + encoding +
                         "\" is not supported (raw or gzip; Slicer writes raw for CLI modules)");
    }
    std::string data_path = path;
    if (const std::string* text = field("data file")) {
        if (text->empty() || text->rfind("LIST", 0) == 0 ||
            detail::split_words(*text).size() != 1) {
            throw file_error(what("data file") + ": \"" + *text +
                             "\" is not supported (one file name)");
        }
        const fs::path named = fs::path(*text);
        data_path =
            named.is_absolute() ? named.string() : (fs::path(path).parent_path() / named).string();
    } else if (!h.attached) {
        throw file_error(path + ": the header neither ends in a blank line nor names a data file");
    }
    const bool same_file = data_path == path;
    const std::uint64_t data_size = same_file ? size : regular_size(data_path, "NRRD data file");
    std::uint64_t offset = same_file ? h.end : 0;
    if (const std::string* text = field("line skip")) {
        const std::uint64_t lines = parse_count(*text, what("line skip"), 0, data_size);
        std::ifstream in(fs::path(data_path), std::ios::binary);
        in.seekg(static_cast<std::streamoff>(offset));
        for (std::uint64_t skipped = 0; skipped < lines; ++skipped) { // at most data_size
            in.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
            if (!in) {
                throw file_error(what("line skip") + ": the data file has fewer than " + *text +
                                 " lines");
            }
        }
        offset = static_cast<std::uint64_t>(in.tellg());
    }
    if (const std::string* text = field("byte skip")) {
        if (detail::trim(*text) == "-1") {
            if (gzip) {
                throw file_error(what("byte skip") + ": -1 is for raw data only");
            }
            if (data_size < *bytes) {
                throw file_error(data_path + ": the header claims " + std::to_string(*bytes) +
                                 " bytes of voxels, the file holds " + std::to_string(data_size));
            }
            offset = data_size - *bytes;
        } else {
            const std::uint64_t skip = parse_count(*text, what("byte skip"), 0, data_size);
            if (gzip && skip != 0) {
                throw file_error(what("byte skip") + ": skipping into gzip data is not supported");
            }
            offset += skip;
        }
    }
    if (offset > data_size) {
        throw file_error(data_path + ": the voxels would start after the end of the file");
    }
    if (gzip && *bytes > (data_size - offset) * deflate_ratio + 1024) {
        throw file_error(data_path + ": the header claims " + std::to_string(*bytes) +
                         " bytes of voxels, more than " + std::to_string(data_size - offset) +
                         " bytes of gzip data can hold");
    }
    if (!gzip && data_size - offset < *bytes) {
        throw file_error(data_path + ": the header claims " + std::to_string(*bytes) +
                         " bytes of voxels, the file holds " + std::to_string(data_size - offset) +
                         " after the header");
    }
    buffer voxels = buffer::allocate(static_cast<std::size_t>(*bytes));
    if (gzip) {
        read_gzip(data_path, data_size, offset, *bytes, voxels.mutable_data());
    } else {
        read_raw(data_path, data_size, offset, *bytes, voxels.mutable_data());
    }
    if (swap) {
        swap_bytes(voxels.mutable_data(), *bytes / scalar, scalar);
    }
    result.data = std::move(voxels);
    result.byte_order = native_byte_order;
    std::string problem;
    if (result.validate(problem)) {
        throw file_error(path + ": " + problem);
    }
    return result;
}

namespace {

/// Writes `img`, its components on the first axis of kind `component_kind`, with `key_values`
/// ("key:=value" lines) in the header.
void write_nrrd(const image& img, const std::string& path, const std::string& component_kind,
                const std::string& key_values) {
    const image lps = img.in_space(slicerbridge::space::lps).to_native_byte_order();
    const auto& m = lps.ijk_to_space;
    const bool detached = extension_of(path) == ".nhdr";
    std::string text = "NRRD0004\n# Complete NRRD file format specification at:\n"
                       "# http://teem.sourceforge.net/nrrd/format.html\n";
    text += std::string("type: ") + type_name(lps.dtype) + "\n";
    const bool vector = lps.components > 1;
    text += "dimension: " + std::to_string(vector ? 4 : 3) + "\n";
    text += "space: left-posterior-superior\nsizes:";
    if (vector) {
        text += " " + std::to_string(lps.components);
    }
    for (const auto n : lps.dims) {
        text += " " + std::to_string(n);
    }
    text += "\nspace directions:";
    if (vector) {
        text += " none";
    }
    for (std::size_t column = 0; column < 3; ++column) {
        text += " (" + detail::format_double(m[column]) + "," +
                detail::format_double(m[4 + column]) + "," + detail::format_double(m[8 + column]) +
                ")";
    }
    text += "\nkinds: " + (vector ? component_kind + " " : std::string()) +
            "domain domain domain\n";
    text += std::string("endian: ") + (native_byte_order == byte_order::big ? "big" : "little") +
            "\nencoding: raw\n";
    text += "space origin: (" + detail::format_double(m[3]) + "," + detail::format_double(m[7]) +
            "," + detail::format_double(m[11]) + ")\n";    text += key_values;
    std::string data_path = path;
    if (detached) {
        const fs::path raw = fs::path(path).replace_extension(".raw");
        text += "data file: " + raw.filename().string() + "\n";
        data_path = raw.string();
    }
    const auto put = [](const std::string& to, const char* data, std::size_t n) {
        std::ofstream out(fs::path(to), std::ios::binary | std::ios::trunc);
        out.write(data, static_cast<std::streamsize>(n));
        out.close();
        if (!out) {
            throw file_error("cannot write " + to + ": " + std::strerror(errno));
        }
    };
    if (detached) {
        put(data_path, reinterpret_cast<const char*>(lps.data.data()), lps.data.size());
        put(path, text.data(), text.size());
        return;
    }
    text += "\n";
    std::ofstream out(fs::path(path), std::ios::binary | std::ios::trunc);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    out.write(reinterpret_cast<const char*>(lps.data.data()),
              static_cast<std::streamsize>(lps.data.size()));
    out.close();
    if (!out) {
        throw file_error("cannot write " + path + ": " + std::strerror(errno));
    }
}

constexpr const char* frame_labels_key = "MultiVolume.FrameLabels";
constexpr const char* frame_count_key = "MultiVolume.NumberOfFrames";
constexpr const char* frame_tag_key = "MultiVolume.FrameIdentifyingDICOMTagName";
constexpr const char* frame_units_key = "MultiVolume.FrameIdentifyingDICOMTagUnits";

} // namespace

void write(const image& img, const std::string& path) {
    write_nrrd(img, path, "vector", "");
}

image_series read_multivolume(const std::string& path, const limits& limit) {
    const image frames = read(path, limit);
    const std::uint64_t size = regular_size(path, "NRRD file");
    const header h = read_header(path, size, limit);
    const auto key = [&](const char* name) {
        const auto found = h.key_values.find(name);
        return found == h.key_values.end() ? std::string() : detail::trim(found->second);
    };
    const std::string labels = key(frame_labels_key);
    if (labels.empty()) {
        throw file_error(path + ": not a MultiVolume (no " + frame_labels_key + " key)");
    }
    const std::string units = key(frame_units_key);
    double per_second = 1;
    series_axis axis = series_axis::index;
    if (units == "s" || units == "sec" || units == "ms" || units == "msec") {
        per_second = units[0] == 'm' ? 1000 : 1;
        axis = key(frame_tag_key) == "EchoTime" ? series_axis::echo_time : series_axis::time;
    }
    std::vector<double> values;
    for (std::size_t start = 0; start <= labels.size();) {
        const std::size_t comma = std::min(labels.find(',', start), labels.size());
        values.push_back(detail::parse_double(detail::trim(labels.substr(start, comma - start)),
                                              path + ": key " + frame_labels_key) /
                         per_second);
        start = comma + 1;
    }
    const std::size_t count = frames.components;
    if (values.size() != count) {
        throw file_error(path + ": " + std::to_string(count) + " frames and " +
                         std::to_string(values.size()) + " frame labels");
    }
    // The frames interleave voxel by voxel; a series stores them volume after volume.
    const std::size_t scalar = dtype_size(frames.dtype);
    const std::size_t voxels = frames.data.size() / (scalar * count);
    image_series result;
    result.dims = frames.dims;
    result.dtype = frames.dtype;
    result.byte_order = frames.byte_order;
    result.space = frames.space;
    result.axis = axis;
    result.data = buffer::allocate(frames.data.size());
    for (std::size_t voxel = 0; voxel < voxels; ++voxel) {
        for (std::size_t frame = 0; frame < count; ++frame) {
            std::memcpy(result.data.mutable_data() + (frame * voxels + voxel) * scalar,
                        frames.data.data() + (voxel * count + frame) * scalar, scalar);
        }
    }
    for (double value : values) {
        result.volumes.push_back(series_volume{frames.ijk_to_space, value, std::nullopt});
    }
    std::string problem;
    if (result.validate(problem)) {
        throw file_error(path + ": " + problem);
    }
    return result;
}

void write_multivolume(const image_series& series, const std::string& path) {
    if (!series.shares_geometry()) {
        throw file_error(path + ": the volumes of this series differ in geometry, and a "
                                "MultiVolume holds one for all of them [SER-2]");
    }
    if (series.axis == series_axis::b_value || series.kind == image_kind::vector) {
        throw file_error(path + ": a MultiVolume holds no gradients [SER-4] and no vector "
                                "volumes");
    }
    const image_series native = series.to_native_byte_order();
    const std::size_t count = native.volumes.size();
    const std::size_t scalar = dtype_size(native.dtype);
    const std::size_t voxels = native.data.size() / (scalar * count);
    image frames;
    frames.dims = native.dims;
    frames.dtype = native.dtype;
    frames.components = static_cast<std::uint32_t>(count);
    frames.byte_order = native.byte_order;
    frames.ijk_to_space = native.volumes.front().ijk_to_space;
    frames.space = native.space;
    frames.kind = count > 1 ? image_kind::vector : image_kind::scalar;
    frames.data = buffer::allocate(native.data.size());
    for (std::size_t frame = 0; frame < count; ++frame) {
        for (std::size_t voxel = 0; voxel < voxels; ++voxel) {
            std::memcpy(frames.data.mutable_data() + (voxel * count + frame) * scalar,
                        native.data.data() + (frame * voxels + voxel) * scalar, scalar);
        }
    }
    std::string labels;
    for (const auto& volume : native.volumes) {
        labels += (labels.empty() ? "" : ",") + detail::format_double(volume.value);
    }
    const bool timed = series.axis != series_axis::index;
    const std::string key_values =
        std::string(frame_labels_key) + ":=" + labels + "\n" + frame_count_key +
        ":=" + std::to_string(count) + "\n" + frame_tag_key + ":=" +
        (series.axis == series_axis::echo_time ? "EchoTime" : timed ? "Time" : "Index") + "\n" +
        frame_units_key + ":=" + (timed ? "s" : "") + "\n";
    write_nrrd(frames, path, "list", key_values);
}

} // namespace nrrd
} // namespace files
} // namespace slicerbridge
