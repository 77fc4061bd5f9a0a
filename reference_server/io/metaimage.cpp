// MetaImage (.mha with the data inline, .mhd with a detached raw file): `key = value` header
// lines ending with ElementDataFile. Geometry is LPS: TransformMatrix lists the direction of
// each axis in turn, ElementSpacing the voxel sizes, Offset the centre of the first voxel.

#include "binary.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>

namespace slicerbridge {
namespace files {
namespace {

std::optional<dtype> meta_dtype(const std::string& name) {
    static const std::map<std::string, dtype> names = {
        {"MET_CHAR", dtype::int8},       {"MET_UCHAR", dtype::uint8},
        {"MET_SHORT", dtype::int16},     {"MET_USHORT", dtype::uint16},
        {"MET_INT", dtype::int32},       {"MET_UINT", dtype::uint32},
        {"MET_LONG", dtype::int32},      {"MET_ULONG", dtype::uint32},
        {"MET_LONG_LONG", dtype::int64}, {"MET_ULONG_LONG", dtype::uint64},
        {"MET_FLOAT", dtype::float32},   {"MET_DOUBLE", dtype::float64},
    };
    auto found = names.find(name);
    return found == names.end() ? std::nullopt : std::optional<dtype>(found->second);
}

const char* meta_type_name(dtype t) {
    switch (t) {
    case dtype::int8:
        return "MET_CHAR";
    case dtype::uint8:
        return "MET_UCHAR";
    case dtype::int16:
        return "MET_SHORT";
    case dtype::uint16:
        return "MET_USHORT";
    case dtype::int32:
        return "MET_INT";
    case dtype::uint32:
        return "MET_UINT";
    case dtype::int64:
        return "MET_LONG_LONG";
    case dtype::uint64:
        return "MET_ULONG_LONG";
    case dtype::float32:
        return "MET_FLOAT";
    case dtype::float64:
        break;
    }
    return "MET_DOUBLE";
}

std::vector<double> numbers(const std::string& text, std::size_t count, const std::string& what) {
    const auto words = detail::split_words(text);
    if (words.size() != count) {
        throw file_error(what + ": expected " + std::to_string(count) + " numbers");
    }
    std::vector<double> values;
    for (const auto& word : words) {
        values.push_back(detail::parse_double(word, what));
    }
    return values;
}

bool is_true(const std::string& text) { return text == "True" || text == "true" || text == "1"; }

} // namespace

image read_metaimage(const std::string& path) {
    const std::vector<char> bytes = detail::read_file(path);
    std::map<std::string, std::string> fields;
    std::size_t position = 0;
    bool ended = false;
    while (position < bytes.size() && !ended) {
        auto end = std::find(bytes.begin() + static_cast<std::ptrdiff_t>(position), bytes.end(),
                             '\n');
        std::string line(bytes.begin() + static_cast<std::ptrdiff_t>(position), end);
        position = static_cast<std::size_t>(end - bytes.begin()) + (end == bytes.end() ? 0 : 1);
        const auto equals = line.find('=');
        if (equals == std::string::npos) {
            if (!detail::trim(line).empty()) {
                throw file_error(path + ": malformed MetaImage header line");
            }
            continue;
        }
        const std::string key = detail::trim(line.substr(0, equals));
        fields[key] = detail::trim(line.substr(equals + 1));
        ended = key == "ElementDataFile";
    }
    if (!ended) {
        throw file_error(path + " is not a MetaImage file (no ElementDataFile)");
    }
    auto field = [&](const std::string& name) -> const std::string* {
        auto found = fields.find(name);
        return found == fields.end() ? nullptr : &found->second;
    };
    auto required = [&](const std::string& name) -> const std::string& {
        if (const auto* value = field(name)) {
            return *value;
        }
        throw file_error(path + ": MetaImage header lacks " + name);
    };

    if (detail::parse_int(required("NDims"), path + ": NDims") != 3) {
        throw file_error(path + ": only 3-D MetaImages are supported");
    }
    const auto type = meta_dtype(required("ElementType"));
    if (!type) {
        throw file_error(path + ": unsupported ElementType " + required("ElementType"));
    }
    image result;
    result.dtype = *type;
    result.space = space::lps;
    const auto sizes = numbers(required("DimSize"), 3, path + ": DimSize");
    for (std::size_t axis = 0; axis < 3; ++axis) {
        if (sizes[axis] < 1) {
            throw file_error(path + ": DimSize must be positive");
        }
        result.dims[axis] = static_cast<std::uint64_t>(sizes[axis]);
    }
    if (const auto* channels = field("ElementNumberOfChannels")) {
        const auto count = detail::parse_int(*channels, path + ": ElementNumberOfChannels");
        if (count < 1) {
            throw file_error(path + ": ElementNumberOfChannels must be positive");
        }
        result.components = static_cast<std::uint32_t>(count);
    }
    result.kind = result.components > 1 ? image_kind::vector : image_kind::scalar;
    std::vector<double> spacing{1, 1, 1};
    if (const auto* text = field("ElementSpacing")) {
        spacing = numbers(*text, 3, path + ": ElementSpacing");
    }
    std::vector<double> direction{1, 0, 0, 0, 1, 0, 0, 0, 1};
    for (const char* key : {"TransformMatrix", "Rotation", "Orientation"}) {
        if (const auto* text = field(key)) {
            direction = numbers(*text, 9, path + ": " + key);
            break;
        }
    }
    std::vector<double> origin{0, 0, 0};
    for (const char* key : {"Offset", "Position", "Origin"}) {
        if (const auto* text = field(key)) {
            origin = numbers(*text, 3, path + ": " + key);
            break;
        }
    }
    for (std::size_t axis = 0; axis < 3; ++axis) {
        for (std::size_t row = 0; row < 3; ++row) {
            result.ijk_to_space[row * 4 + axis] = direction[axis * 3 + row] * spacing[axis];
        }
        result.ijk_to_space[axis * 4 + 3] = origin[axis];
    }
    const auto* msb = field("BinaryDataByteOrderMSB") ? field("BinaryDataByteOrderMSB")
                                                      : field("ElementByteOrderMSB");
    result.byte_order = msb != nullptr && is_true(*msb) ? byte_order::big : byte_order::little;
    if (const auto* binary = field("BinaryData"); binary != nullptr && !is_true(*binary)) {
        throw file_error(path + ": ASCII MetaImage data is not supported");
    }
    const auto expected = result.byte_count();
    if (!expected) {
        throw file_error(path + ": MetaImage too large");
    }

    const std::string& data_file = required("ElementDataFile");
    std::vector<char> detached;
    const std::vector<char>* data = &bytes;
    std::size_t data_start = position;
    if (data_file != "LOCAL" && data_file != "Local" && data_file != "local") {
        if (detail::split_words(data_file).size() != 1 || data_file.rfind("LIST", 0) == 0) {
            throw file_error(path + ": MetaImage data split over several files is not supported");
        }
        detached = detail::read_file(data_file[0] == '/' ? data_file
                                                         : detail::directory_of(path) + data_file);
        data = &detached;
        data_start = 0;
    }
    if (const auto* skip = field("HeaderSize")) {
        const auto count = detail::parse_int(*skip, path + ": HeaderSize");
        if (count == -1) {
            data_start = data->size() >= *expected ? data->size() - *expected : data->size();
        } else if (count >= 0) {
            data_start += static_cast<std::size_t>(count);
        }
    }
    if (data_start > data->size()) {
        throw file_error(path + ": MetaImage data missing");
    }
    const std::size_t available = data->size() - data_start;
    const auto* compressed = field("CompressedData");
    if (compressed != nullptr && is_true(*compressed)) {
        result.data = detail::inflate(data->data() + data_start, available,
                                      static_cast<std::size_t>(*expected), path);
    } else {
        if (available < *expected) {
            throw file_error(path + ": MetaImage data shorter than its header says");
        }
        result.data = buffer::copy_of(data->data() + data_start, static_cast<std::size_t>(*expected));
    }
    std::string problem;
    if (result.validate(problem)) {
        throw file_error(path + ": " + problem);
    }
    return result;
}

void write_metaimage(const image& img, const std::string& path) {
    const image lps = img.in_space(space::lps);
    const auto& m = lps.ijk_to_space;
    const auto spacing = detail::column_lengths(m);
    std::ostringstream header;
    header << "ObjectType = Image\nNDims = 3\nBinaryData = True\n"
           << "BinaryDataByteOrderMSB = " << (img.byte_order == byte_order::big ? "True" : "False")
           << "\nCompressedData = False\nTransformMatrix =";
    for (std::size_t axis = 0; axis < 3; ++axis) {
        for (std::size_t row = 0; row < 3; ++row) {
            header << ' ' << detail::format_double(m[row * 4 + axis] / spacing[axis]);
        }
    }
    header << "\nOffset = " << detail::format_double(m[3]) << ' ' << detail::format_double(m[7])
           << ' ' << detail::format_double(m[11]) << "\nElementSpacing = "
           << detail::format_double(spacing[0]) << ' ' << detail::format_double(spacing[1]) << ' '
           << detail::format_double(spacing[2]) << "\nDimSize = " << img.dims[0] << ' '
           << img.dims[1] << ' ' << img.dims[2] << "\n";
    if (img.components > 1) {
        header << "ElementNumberOfChannels = " << img.components << "\n";
    }
    header << "ElementType = " << meta_type_name(img.dtype) << "\n";
    if (extension_of(path) == ".mhd") {
        std::string raw_path = path.substr(0, path.size() - 4) + ".raw";
        header << "ElementDataFile = " << detail::file_name_of(raw_path) << "\n";
        detail::write_file(raw_path, {}, img.data);
        detail::write_file(path, header.str(), buffer());
    } else {
        header << "ElementDataFile = LOCAL\n";
        detail::write_file(path, header.str(), img.data);
    }
}

} // namespace files
} // namespace slicerbridge
