// NRRD (teem.sourceforge.net/nrrd/format.html): a text header, then raw or gzip data, in the
// same file or a detached one. Geometry: `space directions` are the columns of the IJK-to-space
// matrix and `space origin` the centre of the first voxel, in the header's `space`.

#include "binary.hpp"

#include <slicerbridge/data/dtype.hpp>

#include <algorithm>
#include <map>
#include <sstream>

namespace slicerbridge {
namespace files {
namespace {

std::optional<dtype> nrrd_dtype(const std::string& name) {
    static const std::map<std::string, dtype> names = {
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
    auto found = names.find(name);
    return found == names.end() ? std::nullopt : std::optional<dtype>(found->second);
}

/// teem's canonical names, which every NRRD reader knows.
const char* nrrd_type_name(dtype t) {
    switch (t) {
    case dtype::int8:
        return "signed char";
    case dtype::uint8:
        return "unsigned char";
    case dtype::int16:
        return "short";
    case dtype::uint16:
        return "unsigned short";
    case dtype::int32:
        return "int";
    case dtype::uint32:
        return "unsigned int";
    case dtype::int64:
        return "long long int";
    case dtype::uint64:
        return "unsigned long long int";
    case dtype::float32:
        return "float";
    case dtype::float64:
        break;
    }
    return "double";
}

/// "(x,y,z)" -> three numbers; "none" -> nothing.
std::optional<std::array<double, 3>> parse_vector(const std::string& text, const std::string& path) {
    if (text == "none") {
        return std::nullopt;
    }
    if (text.size() < 2 || text.front() != '(' || text.back() != ')') {
        throw file_error(path + ": malformed NRRD vector \"" + text + "\"");
    }
    std::array<double, 3> v{};
    std::stringstream items(text.substr(1, text.size() - 2));
    std::string item;
    std::size_t count = 0;
    while (std::getline(items, item, ',')) {
        if (count == 3) {
            throw file_error(path + ": NRRD vectors must have 3 components");
        }
        v[count++] = detail::parse_double(item, path + ": NRRD vector");
    }
    if (count != 3) {
        throw file_error(path + ": NRRD vectors must have 3 components");
    }
    return v;
}

/// Tokens of "space directions": vectors may contain spaces after commas.
std::vector<std::string> vector_tokens(const std::string& text) {
    std::vector<std::string> tokens;
    std::string current;
    int depth = 0;
    for (char c : text) {
        if (c == '(') {
            ++depth;
        } else if (c == ')') {
            --depth;
        }
        if ((c == ' ' || c == '\t') && depth == 0) {
            if (!current.empty()) {
                tokens.push_back(current);
                current.clear();
            }
        } else if (c != ' ' || depth == 0) {
            current.push_back(c);
        }
    }
    if (!current.empty()) {
        tokens.push_back(current);
    }
    return tokens;
}

/// Maps the header's space to ours and the flip that takes its coordinates there.
std::pair<space, std::array<double, 3>> nrrd_space(const std::string& name,
                                                   const std::string& path) {
    if (name == "right-anterior-superior" || name == "RAS") {
        return {space::ras, {1, 1, 1}};
    }
    if (name == "left-posterior-superior" || name == "LPS") {
        return {space::lps, {1, 1, 1}};
    }
    if (name == "left-anterior-superior" || name == "LAS") {
        return {space::ras, {-1, 1, 1}};
    }
    throw file_error(path + ": unsupported NRRD space \"" + name + "\"");
}

} // namespace

image read_nrrd(const std::string& path) {
    const std::vector<char> bytes = detail::read_file(path);
    std::size_t position = 0;
    auto next_line = [&](std::string& line) {
        if (position >= bytes.size()) {
            return false;
        }
        auto end = std::find(bytes.begin() + static_cast<std::ptrdiff_t>(position), bytes.end(),
                             '\n');
        line.assign(bytes.begin() + static_cast<std::ptrdiff_t>(position), end);
        if (!line.empty() && line.back() == '\r') {
            line.pop_back();
        }
        position = static_cast<std::size_t>(end - bytes.begin()) + (end == bytes.end() ? 0 : 1);
        return true;
    };
    std::string line;
    if (!next_line(line) || line.rfind("NRRD000", 0) != 0) {
        throw file_error(path + " is not a NRRD file");
    }
    std::map<std::string, std::string> fields;
    while (next_line(line) && !line.empty()) {
        if (line[0] == '#' || line.find(":=") != std::string::npos) {
            continue; // comments and key/value pairs
        }
        const auto colon = line.find(": ");
        if (colon == std::string::npos) {
            throw file_error(path + ": malformed NRRD header line");
        }
        fields[line.substr(0, colon)] = detail::trim(line.substr(colon + 2));
    }
    auto field = [&](const std::string& name) -> const std::string* {
        auto found = fields.find(name);
        return found == fields.end() ? nullptr : &found->second;
    };
    auto required = [&](const std::string& name) -> const std::string& {
        if (const auto* value = field(name)) {
            return *value;
        }
        throw file_error(path + ": NRRD header lacks \"" + name + "\"");
    };

    const auto type = nrrd_dtype(required("type"));
    if (!type) {
        throw file_error(path + ": unsupported NRRD type \"" + required("type") + "\"");
    }
    const auto dimension = detail::parse_int(required("dimension"), path + ": dimension");
    const auto size_words = detail::split_words(required("sizes"));
    if ((dimension != 3 && dimension != 4) ||
        size_words.size() != static_cast<std::size_t>(dimension)) {
        throw file_error(path + ": only 3-D NRRD images (with an optional first component "
                                "axis) are supported");
    }
    std::vector<std::uint64_t> sizes;
    for (const auto& word : size_words) {
        const auto size = detail::parse_int(word, path + ": sizes");
        if (size < 1) {
            throw file_error(path + ": NRRD sizes must be positive");
        }
        sizes.push_back(static_cast<std::uint64_t>(size));
    }

    image result;
    result.dtype = *type;
    result.components = dimension == 4 ? static_cast<std::uint32_t>(sizes[0]) : 1;
    result.kind = result.components > 1 ? image_kind::vector : image_kind::scalar;
    const std::size_t first_spatial = dimension == 4 ? 1 : 0;
    for (std::size_t axis = 0; axis < 3; ++axis) {
        result.dims[axis] = sizes[first_spatial + axis];
    }

    std::array<double, 3> flip{1, 1, 1};
    if (const auto* space_name = field("space")) {
        std::tie(result.space, flip) = nrrd_space(*space_name, path);
    } else {
        result.space = space::lps; // ITK's reading of a NRRD without a space
    }
    matrix4 m = identity_matrix;
    if (const auto* directions = field("space directions")) {
        const auto tokens = vector_tokens(*directions);
        if (tokens.size() != static_cast<std::size_t>(dimension)) {
            throw file_error(path + ": NRRD space directions do not match the dimension");
        }
        if (dimension == 4 && tokens[0] != "none") {
            throw file_error(path + ": the component axis of a 4-D NRRD must have direction none");
        }
        for (std::size_t axis = 0; axis < 3; ++axis) {
            const auto column = parse_vector(tokens[first_spatial + axis], path);
            if (!column) {
                throw file_error(path + ": a spatial NRRD axis has direction none");
            }
            for (std::size_t row = 0; row < 3; ++row) {
                m[row * 4 + axis] = flip[row] * (*column)[row];
            }
        }
    } else if (const auto* spacings = field("spacings")) {
        const auto words = detail::split_words(*spacings);
        if (words.size() != static_cast<std::size_t>(dimension)) {
            throw file_error(path + ": NRRD spacings do not match the dimension");
        }
        for (std::size_t axis = 0; axis < 3; ++axis) {
            m[axis * 4 + axis] = detail::parse_double(words[first_spatial + axis], path);
        }
    }
    if (const auto* origin = field("space origin")) {
        const auto o = parse_vector(*origin, path);
        if (!o) {
            throw file_error(path + ": NRRD space origin is none");
        }
        for (std::size_t row = 0; row < 3; ++row) {
            m[row * 4 + 3] = flip[row] * (*o)[row];
        }
    }
    result.ijk_to_space = m;

    result.byte_order = native_byte_order;
    if (dtype_size(*type) > 1) {
        const auto& endian = required("endian");
        if (endian != "little" && endian != "big") {
            throw file_error(path + ": NRRD endian must be little or big");
        }
        result.byte_order = endian == "big" ? byte_order::big : byte_order::little;
    }
    const auto expected = result.byte_count();
    if (!expected) {
        throw file_error(path + ": NRRD image too large");
    }

    std::vector<char> detached;
    const std::vector<char>* data = &bytes;
    std::size_t data_start = position;
    if (const auto* data_file = field("data file") ? field("data file") : field("datafile")) {
        if (data_file->rfind("LIST", 0) == 0 || detail::split_words(*data_file).size() != 1) {
            throw file_error(path + ": NRRD data split over several files is not supported");
        }
        const std::string data_path =
            (*data_file)[0] == '/' ? *data_file : detail::directory_of(path) + *data_file;
        detached = detail::read_file(data_path);
        data = &detached;
        data_start = 0;
    }
    const std::string encoding = field("encoding") ? *field("encoding") : std::string("raw");
    if (const auto* skip = field("byte skip") ? field("byte skip") : field("byteskip")) {
        const auto count = detail::parse_int(*skip, path + ": byte skip");
        if (count == -1 && encoding == "raw") {
            data_start = data->size() >= *expected ? data->size() - *expected : data->size();
        } else if (count >= 0) {
            data_start += static_cast<std::size_t>(count);
        } else {
            throw file_error(path + ": unsupported NRRD byte skip");
        }
    }
    if (data_start > data->size()) {
        throw file_error(path + ": NRRD data missing");
    }
    const std::size_t available = data->size() - data_start;
    if (encoding == "raw") {
        if (available < *expected) {
            throw file_error(path + ": NRRD data shorter than its header says");
        }
        result.data = buffer::copy_of(data->data() + data_start, static_cast<std::size_t>(*expected));
    } else if (encoding == "gzip" || encoding == "gz") {
        result.data = detail::inflate(data->data() + data_start, available,
                                      static_cast<std::size_t>(*expected), path);
    } else {
        throw file_error(path + ": unsupported NRRD encoding \"" + encoding + "\"");
    }
    std::string problem;
    if (result.validate(problem)) {
        throw file_error(path + ": " + problem);
    }
    return result;
}

void write_nrrd(const image& img, const std::string& path) {
    std::ostringstream header;
    header << "NRRD0004\n"
           << "# Complete NRRD file format specification at:\n"
           << "# http://teem.sourceforge.net/nrrd/format.html\n"
           << "type: " << nrrd_type_name(img.dtype) << "\n";
    const bool vector_axis = img.components > 1;
    header << "dimension: " << (vector_axis ? 4 : 3) << "\n"
           << "space: "
           << (img.space == space::ras ? "right-anterior-superior" : "left-posterior-superior")
           << "\nsizes:";
    if (vector_axis) {
        header << ' ' << img.components;
    }
    header << ' ' << img.dims[0] << ' ' << img.dims[1] << ' ' << img.dims[2]
           << "\nspace directions:";
    if (vector_axis) {
        header << " none";
    }
    const auto& m = img.ijk_to_space;
    for (std::size_t axis = 0; axis < 3; ++axis) {
        header << " (" << detail::format_double(m[axis]) << ',' << detail::format_double(m[4 + axis])
               << ',' << detail::format_double(m[8 + axis]) << ')';
    }
    header << "\nkinds:" << (vector_axis ? " vector" : "") << " domain domain domain\n";
    if (dtype_size(img.dtype) > 1) {
        header << "endian: " << byte_order_name(img.byte_order) << "\n";
    }
    header << "encoding: raw\n"
           << "space origin: (" << detail::format_double(m[3]) << ','
           << detail::format_double(m[7]) << ',' << detail::format_double(m[11]) << ")\n\n";
    detail::write_file(path, header.str(), img.data);
}

} // namespace files
} // namespace slicerbridge
