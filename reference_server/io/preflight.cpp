// Checks made on a volume's header before ITK reads it. ITK's readers (and teem, niftilib and
// MetaIO below them) allocate the whole image the header describes and only then read the data:
// a header that claims 10^15 voxels ends in bad_alloc, a truncated file in values that are not in
// it, and niftilib reads a truncated or corrupt .nii.gz without a word. So the header's claims
// are measured against the bytes on disk first, and a compressed stream is decompressed once, to
// nothing, to prove it whole. These are not readers: they parse only what that needs, what ITK
// would fold away (a NRRD's fourth sampled axis), and what ITK does not hand over or gets wrong
// (NIfTI intent, scaling, codes, units and sform; a NRRD's exact space directions); ITK reads the
// voxels and the geometry. This is why NRRD and MetaImage headers are still parsed here after
// the hand-written readers went: ITK cannot bound a file before it allocates.

#include "binary.hpp"

#include <vtk_zlib.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>

namespace slicerbridge {
namespace files {
namespace detail {
namespace {

/// The most a deflate stream expands (zlib's documented worst ratio is 1032:1), with room for a
/// header.
constexpr std::uint64_t deflate_ratio = 1032;
constexpr std::uint64_t header_limit = 1 << 20;

std::string bytes_text(std::uint64_t n) {
    return std::to_string(n) + " bytes";
}

/// a * b, or throws when that overflows 64 bits.
std::uint64_t times(std::uint64_t a, std::uint64_t b, const std::string& path) {
    if (a != 0 && b > std::numeric_limits<std::uint64_t>::max() / a) {
        throw file_error(path + ": absurd dimensions: the voxel count overflows 64 bits");
    }
    return a * b;
}

/// Checks that `claimed` bytes of voxels fit in what `available` bytes of data can hold.
void check_claim(const std::string& path, std::uint64_t claimed, std::uint64_t available,
                 const std::string& encoding) {
    std::uint64_t most = available;
    if (encoding == "gzip") {
        most = available > (std::numeric_limits<std::uint64_t>::max() - 65536) / deflate_ratio
                   ? std::numeric_limits<std::uint64_t>::max()
                   : available * deflate_ratio + 65536;
    } else if (encoding == "bzip2") {
        most = available > std::numeric_limits<std::uint64_t>::max() / 50000
                   ? std::numeric_limits<std::uint64_t>::max()
                   : available * 50000 + 65536;
    } else if (encoding == "hex") {
        most = available / 2;
    } else if (encoding == "ascii") {
        most = available; // compared with the number of values, one character at least each
    }
    if (claimed > most) {
        if (encoding == "raw") {
            throw file_error(path + ": truncated or inconsistent: the header claims " +
                             bytes_text(claimed) + " of voxels but the data holds only " +
                             bytes_text(available));
        }
        throw file_error(path + ": truncated or inconsistent: the header claims " +
                         bytes_text(claimed) + " of voxels but " + bytes_text(available) + " of " +
                         encoding + " data cannot hold that many");
    }
}

std::string read_head(const std::string& path, std::size_t limit) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw file_error("cannot open " + path + ": " + std::strerror(errno));
    }
    std::string head(limit, '\0');
    in.read(head.data(), static_cast<std::streamsize>(limit));
    head.resize(static_cast<std::size_t>(in.gcount()));
    return head;
}

std::string resolve(const std::string& header_path, const std::string& name) {
    return !name.empty() && name[0] == '/' ? name : directory_of(header_path) + name;
}

/// The files of a "fmt min max step" list (NRRD and MetaImage detached data).
std::vector<std::string> numbered_files(const std::string& header_path,
                                        const std::vector<std::string>& words) {
    const std::string what = header_path + ": data file list";
    const auto first = parse_int(words[1], what);
    const auto last = parse_int(words[2], what);
    const auto step = parse_int(words[3], what);
    if (step == 0 || (last - first) / step < 0 || (last - first) / step > 100000) {
        throw file_error(header_path + ": malformed numbered data file list");
    }
    std::vector<std::string> names;
    for (auto i = first; step > 0 ? i <= last : i >= last; i += step) {
        char name[4096];
        std::snprintf(name, sizeof name, words[0].c_str(), static_cast<int>(i));
        names.push_back(resolve(header_path, name));
    }
    return names;
}

std::uint64_t total_size(const std::vector<std::string>& files, const std::string& header_path) {
    std::uint64_t total = 0;
    for (const auto& f : files) {
        total += file_size(f, "the data file of " + header_path + ",");
    }
    return total;
}

// ---- NIfTI-1, NIfTI-2, Analyze 7.5 -------------------------------------------------------------

struct nifti_type {
    int code;
    unsigned bytes;
    const char* problem; // non-null: a type the protocol cannot carry
};

const nifti_type* find_nifti_type(int code) {
    static const nifti_type types[] = {
        {2, 1, nullptr},
        {4, 2, nullptr},
        {8, 4, nullptr},
        {16, 4, nullptr},
        {64, 8, nullptr},
        {256, 1, nullptr},
        {512, 2, nullptr},
        {768, 4, nullptr},
        {1024, 8, nullptr},
        {1280, 8, nullptr},
        {128, 3, nullptr},
        {2304, 4, nullptr},
        {1, 0, "1-bit voxels (DT_BINARY) are not supported"},
        {32, 8, "complex voxels are not supported"},
        {1792, 16, "complex voxels are not supported"},
        {2048, 32, "complex voxels are not supported"},
        {1536, 16, "128-bit floating-point voxels are not supported"},
    };
    for (const auto& t : types) {
        if (t.code == code) {
            return &t;
        }
    }
    return nullptr;
}

class header_bytes {
public:
    header_bytes(std::string bytes, bool swap) : bytes_(std::move(bytes)), swap_(swap) {}
    template <class T>
    T get(std::size_t offset) const {
        T value{};
        if (offset + sizeof(T) > bytes_.size()) {
            return value;
        }
        char raw[sizeof(T)];
        std::memcpy(raw, bytes_.data() + offset, sizeof(T));
        if (swap_) {
            std::reverse(raw, raw + sizeof(T));
        }
        std::memcpy(&value, raw, sizeof(T));
        return value;
    }
    std::string text(std::size_t offset, std::size_t size) const {
        return offset + size <= bytes_.size() ? bytes_.substr(offset, size) : std::string();
    }

private:
    std::string bytes_;
    bool swap_;
};

std::string read_gz_head(const std::string& path, std::size_t limit) {
    gzFile file = gzopen(path.c_str(), "rb");
    if (file == nullptr) {
        throw file_error("cannot open " + path + ": " + std::strerror(errno));
    }
    std::string head(limit, '\0');
    const int got = gzread(file, head.data(), static_cast<unsigned>(limit));
    gzclose(file);
    if (got < 0) {
        throw file_error(path + ": corrupt compressed data");
    }
    head.resize(static_cast<std::size_t>(got));
    return head;
}

/// Decompresses the zlib or gzip stream (several gzip members one after the other included)
/// that starts at `offset` in `path`, keeping nothing, and returns its length. A corrupt stream
/// (a bad check sum included) or one that stops before its end is a file_error. The readers
/// below ITK do not all notice either (niftilib reads a truncated .nii.gz as if complete).
/// Looks for NaN and infinite floats in a stream of bytes fed to it in order: bytes
/// [begin, end) of the stream are floats of `size` bytes (4 or 8), byte-swapped or not.
struct non_finite_scan {
    std::uint64_t begin = 0;
    std::uint64_t end = 0;
    unsigned size = 0;
    bool swapped = false;
    bool found = false;
    std::uint64_t position = 0;
    unsigned char element[8] = {};
    unsigned filled = 0;

    void feed(const unsigned char* bytes, std::size_t count) {
        const std::uint64_t first = position;
        position += count;
        if (size == 0 || found || position <= begin || first >= end) {
            return;
        }
        const std::uint64_t from = std::max(first, begin) - first;
        const std::uint64_t to = std::min(position, end) - first;
        for (std::uint64_t i = from; i < to && !found; ++i) {
            element[filled++] = bytes[i];
            if (filled == size) {
                filled = 0;
                // The exponent's bits: all ones in a NaN or an infinity.
                const unsigned char high = swapped ? element[0] : element[size - 1];
                const unsigned char next = swapped ? element[1] : element[size - 2];
                found = size == 4 ? (high & 0x7f) == 0x7f && (next & 0x80) == 0x80
                                  : (high & 0x7f) == 0x7f && (next & 0xf0) == 0xf0;
            }
        }
    }
};

std::uint64_t inflated_size(const std::string& path, std::uint64_t offset,
                            non_finite_scan* scan = nullptr) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw file_error("cannot open " + path + ": " + std::strerror(errno));
    }
    in.seekg(static_cast<std::streamoff>(offset));
    z_stream stream{};
    if (inflateInit2(&stream, 15 + 32) != Z_OK) {
        throw file_error(path + ": cannot start decompressing");
    }
    std::vector<unsigned char> input(1 << 20);
    std::vector<unsigned char> output(1 << 20);
    std::uint64_t produced = 0;
    int status = Z_OK;
    bool ended = false;
    for (;;) {
        if (stream.avail_in == 0) {
            in.read(reinterpret_cast<char*>(input.data()),
                    static_cast<std::streamsize>(input.size()));
            stream.next_in = input.data();
            stream.avail_in = static_cast<uInt>(in.gcount());
            if (stream.avail_in == 0) {
                break;
            }
        }
        if (ended) {
            // Another gzip member follows, or the stream is over and the rest is not ours.
            if (stream.avail_in >= 2 && stream.next_in[0] == 0x1f && stream.next_in[1] == 0x8b) {
                inflateReset(&stream);
                ended = false;
            } else {
                break;
            }
        }
        stream.next_out = output.data();
        stream.avail_out = static_cast<uInt>(output.size());
        status = ::inflate(&stream, Z_NO_FLUSH);
        produced += output.size() - stream.avail_out;
        if (scan != nullptr) {
            scan->feed(output.data(), output.size() - stream.avail_out);
        }
        if (status == Z_STREAM_END) {
            ended = true;
        } else if (status != Z_OK && status != Z_BUF_ERROR) {
            inflateEnd(&stream);
            throw file_error(path + ": corrupt compressed data (" +
                             (stream.msg != nullptr ? std::string(stream.msg) : "zlib error") +
                             ")");
        }
    }
    inflateEnd(&stream);
    if (!ended) {
        throw file_error(path + ": truncated compressed data: the stream stops after " +
                         bytes_text(produced) + " without its end");
    }
    return produced;
}

bool ends_with(const std::string& text, const std::string& suffix) {
    return text.size() >= suffix.size() &&
           text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

volume_header preflight_nifti(const std::string& path, const std::string& extension) {
    std::string header_path = path;
    std::string data_path = path;
    const bool pair = extension == ".hdr" || extension == ".img";
    if (extension == ".hdr") {
        data_path = path.substr(0, path.size() - 4) + (ends_with(path, ".HDR") ? ".IMG" : ".img");
    } else if (extension == ".img") {
        header_path = path.substr(0, path.size() - 4) + (ends_with(path, ".IMG") ? ".HDR" : ".hdr");
    }
    const bool compressed = extension == ".nii.gz";
    const std::uint64_t header_file_size = file_size(header_path);
    std::string head = compressed ? read_gz_head(header_path, 540) : read_head(header_path, 540);
    if (head.size() < 348) {
        throw file_error(header_path + ": truncated: " + std::to_string(head.size()) +
                         " bytes cannot hold a NIfTI/Analyze header (348 at least)");
    }
    std::int32_t sizeof_hdr = 0;
    std::memcpy(&sizeof_hdr, head.data(), 4);
    bool swap = false;
    auto swapped = [](std::int32_t v) {
        const auto u = static_cast<std::uint32_t>(v);
        return static_cast<std::int32_t>((u >> 24) | ((u >> 8) & 0xff00) | ((u << 8) & 0xff0000) |
                                         (u << 24));
    };
    if (sizeof_hdr != 348 && sizeof_hdr != 540) {
        sizeof_hdr = swapped(sizeof_hdr);
        swap = true;
        if (sizeof_hdr != 348 && sizeof_hdr != 540) {
            throw file_error(header_path + " is not a NIfTI or Analyze file (header size field "
                                           "is neither 348 nor 540)");
        }
    }
    const header_bytes h(head, swap);
    volume_header result;
    result.nifti = true;
    std::array<std::int64_t, 8> dim{};
    int datatype = 0;
    double vox_offset = 0;
    if (sizeof_hdr == 540) {
        if (head.size() < 540) {
            throw file_error(header_path + ": truncated NIfTI-2 header");
        }
        const std::string magic = h.text(4, 4);
        if (magic != std::string("n+2\0", 4) && magic != std::string("ni2\0", 4)) {
            throw file_error(header_path + ": header size 540 without the NIfTI-2 magic");
        }
        result.nifti_version = 2;
        datatype = h.get<std::int16_t>(12);
        for (std::size_t i = 0; i < 8; ++i) {
            dim[i] = h.get<std::int64_t>(16 + 8 * i);
        }
        result.time_step = h.get<double>(104 + 8 * 4);
        vox_offset = static_cast<double>(h.get<std::int64_t>(168));
        result.scl_slope = h.get<double>(176);
        result.scl_inter = h.get<double>(184);
        result.qform_code = h.get<std::int32_t>(344);
        result.sform_code = h.get<std::int32_t>(348);
        result.xyzt_units = h.get<std::int32_t>(500);
        result.intent_code = h.get<std::int32_t>(504);
    } else {
        const std::string magic = h.text(344, 4);
        const bool is_nifti = magic == std::string("n+1\0", 4) || magic == std::string("ni1\0", 4);
        result.nifti_version = is_nifti ? 1 : 0;
        for (std::size_t i = 0; i < 8; ++i) {
            dim[i] = h.get<std::int16_t>(40 + 2 * i);
        }
        datatype = h.get<std::int16_t>(70);
        result.time_step = h.get<float>(76 + 4 * 4);
        vox_offset = h.get<float>(108);
        if (is_nifti) {
            result.intent_code = h.get<std::int16_t>(68);
            result.scl_slope = h.get<float>(112);
            result.scl_inter = h.get<float>(116);
            result.xyzt_units = static_cast<unsigned char>(head[123]);
            result.qform_code = h.get<std::int16_t>(252);
            result.sform_code = h.get<std::int16_t>(254);
            if (result.sform_code > 0) {
                // In millimetres, as ITK (and so Slicer) converts metres and micrometres.
                const int spatial_unit = result.xyzt_units & 7;
                const double scale = spatial_unit == 1 ? 1000.0 : spatial_unit == 3 ? 1e-3 : 1.0;
                std::array<double, 12> rows{};
                for (std::size_t i = 0; i < 12; ++i) {
                    rows[i] = scale * static_cast<double>(h.get<float>(280 + 4 * i));
                }
                result.sform = rows;
            }
        }
    }
    if (dim[0] < 1 || dim[0] > 7) {
        throw file_error(header_path + ": corrupt header: dim[0] is " + std::to_string(dim[0]) +
                         ", not a number of dimensions from 1 to 7");
    }
    for (std::int64_t i = 1; i <= dim[0]; ++i) {
        if (dim[static_cast<std::size_t>(i)] < 1) {
            throw file_error(header_path + ": dimension " + std::to_string(i) + " is " +
                             std::to_string(dim[static_cast<std::size_t>(i)]) +
                             " voxels: an image needs at least one voxel along every axis");
        }
    }
    for (std::int64_t i = dim[0] + 1; i < 8; ++i) {
        dim[static_cast<std::size_t>(i)] = 1;
    }
    const nifti_type* type = find_nifti_type(datatype);
    if (type == nullptr) {
        throw file_error(header_path + ": unknown NIfTI datatype " + std::to_string(datatype));
    }
    if (type->problem != nullptr) {
        throw file_error(header_path + ": " + type->problem + " (datatype " +
                         std::to_string(datatype) + ")");
    }
    const int intent = result.intent_code;
    if (intent >= 3000 && intent < 3100) {
        throw file_error(header_path + ": a CIFTI file (NIfTI intent " + std::to_string(intent) +
                         ") is a matrix over brain models, not an image; refused rather than "
                         "read as one");
    }
    // A symmetric matrix of 6 values per voxel is a diffusion tensor, which ITK reads as one.
    const bool matrix =
        intent == 1004 || intent == 1008 || intent == 1009 || (intent == 1005 && dim[5] != 6);
    if (matrix) {
        throw file_error(header_path + ": NIfTI intent " + std::to_string(intent) +
                         " (a matrix, point set or triangle list) is not an image; refused "
                         "rather than reinterpreted");
    }
    if (dim[4] > 1 || dim[6] > 1 || dim[7] > 1) {
        std::string what = dim[4] > 1 ? std::to_string(dim[4]) + " volumes along the 4th axis"
                                      : "axes beyond the 5th";
        throw file_error(header_path + ": a " + std::to_string(std::max<std::int64_t>(dim[0], 4)) +
                         "-D image (" + what +
                         "): the protocol has no 4-D or 5-D images yet, and reading only the "
                         "first volume would lose the rest; refused");
    }
    std::uint64_t values = 1;
    for (std::size_t i = 1; i <= 7; ++i) {
        values = times(values, static_cast<std::uint64_t>(dim[i]), header_path);
    }
    const std::uint64_t claimed = times(values, type->bytes, header_path);
    if (!std::isfinite(vox_offset) || vox_offset < 0 || vox_offset > 1e18) {
        throw file_error(header_path + ": corrupt header: data offset " +
                         std::to_string(vox_offset));
    }
    auto offset = static_cast<std::uint64_t>(vox_offset);
    if (!pair && offset < static_cast<std::uint64_t>(sizeof_hdr)) {
        if (result.nifti_version == 0 || offset != 0) {
            throw file_error(header_path + ": corrupt header: the data offset " +
                             std::to_string(offset) + " lies inside the header");
        }
        offset = static_cast<std::uint64_t>(sizeof_hdr) + 4;
    }
    const std::uint64_t data_size =
        pair ? file_size(data_path, "the data file of " + header_path + ",") : header_file_size;
    if (compressed) {
        check_claim(data_path, offset + claimed, data_size, "gzip");
        const std::uint64_t needed = offset + claimed;
        non_finite_scan scan;
        if (datatype == 16 || datatype == 64) {
            scan.begin = offset;
            scan.end = offset + claimed;
            scan.size = datatype == 16 ? 4 : 8;
            scan.swapped = swap;
        }
        const std::uint64_t total = inflated_size(data_path, 0, &scan);
        result.may_hold_non_finite = scan.found;
        if (total < needed) {
            throw file_error(data_path + ": truncated: the header claims " + bytes_text(claimed) +
                             " of voxels from byte " + std::to_string(offset) +
                             " but the decompressed file has only " + bytes_text(total));
        }
    } else {
        if (offset > data_size) {
            throw file_error(data_path + ": the data offset " + std::to_string(offset) +
                             " lies past the end of the file (" + bytes_text(data_size) + ")");
        }
        check_claim(data_path, claimed, data_size - offset, "raw");
    }
    result.header_path = header_path;
    result.data_path = data_path;
    result.data_offset = offset;
    result.swapped = swap;
    result.datatype = datatype;
    return result;
}

// ---- NRRD ----------------------------------------------------------------------------------

std::optional<unsigned> nrrd_type_size(const std::string& name) {
    static const std::map<std::string, unsigned> sizes = {
        {"signed char", 1},
        {"int8", 1},
        {"int8_t", 1},
        {"uchar", 1},
        {"unsigned char", 1},
        {"uint8", 1},
        {"uint8_t", 1},
        {"short", 2},
        {"short int", 2},
        {"signed short", 2},
        {"signed short int", 2},
        {"int16", 2},
        {"int16_t", 2},
        {"ushort", 2},
        {"unsigned short", 2},
        {"unsigned short int", 2},
        {"uint16", 2},
        {"uint16_t", 2},
        {"int", 4},
        {"signed int", 4},
        {"int32", 4},
        {"int32_t", 4},
        {"uint", 4},
        {"unsigned int", 4},
        {"uint32", 4},
        {"uint32_t", 4},
        {"longlong", 8},
        {"long long", 8},
        {"long long int", 8},
        {"signed long long", 8},
        {"signed long long int", 8},
        {"int64", 8},
        {"int64_t", 8},
        {"ulonglong", 8},
        {"unsigned long long", 8},
        {"unsigned long long int", 8},
        {"uint64", 8},
        {"uint64_t", 8},
        {"float", 4},
        {"double", 8},
    };
    const auto found = sizes.find(name);
    return found == sizes.end() ? std::nullopt : std::optional<unsigned>(found->second);
}

/// The header's text up to its blank line, and where the data starts after it.
std::pair<std::vector<std::string>, std::uint64_t> header_lines(const std::string& path,
                                                                const std::string& head,
                                                                bool stop_at_blank,
                                                                const char* stop_key) {
    std::vector<std::string> lines;
    std::size_t position = 0;
    while (position < head.size()) {
        const auto end = head.find('\n', position);
        if (end == std::string::npos) {
            if (head.size() >= header_limit) {
                throw file_error(path + ": the header is longer than 1 MiB: not a header");
            }
            lines.push_back(head.substr(position));
            position = head.size();
            break;
        }
        std::string line = head.substr(position, end - position);
        position = end + 1;
        if (!line.empty() && line.back() == '\r') {
            line.pop_back();
        }
        if (stop_at_blank && line.empty()) {
            return {lines, position};
        }
        lines.push_back(line);
        if (stop_key != nullptr) {
            const auto equals = line.find('=');
            if (equals != std::string::npos && trim(line.substr(0, equals)) == stop_key) {
                return {lines, position};
            }
        }
    }
    return {lines, position};
}

/// "(x,y,z)" as three numbers, or nothing.
std::optional<std::array<double, 3>> nrrd_vector(const std::string& text) {
    if (text.size() < 2 || text.front() != '(' || text.back() != ')') {
        return std::nullopt;
    }
    std::array<double, 3> v{};
    std::stringstream items(text.substr(1, text.size() - 2));
    std::string item;
    std::size_t count = 0;
    while (std::getline(items, item, ',')) {
        char* end = nullptr;
        const std::string trimmed = trim(item);
        if (count == 3 || trimmed.empty()) {
            return std::nullopt;
        }
        v[count++] = std::strtod(trimmed.c_str(), &end);
        if (end != trimmed.c_str() + trimmed.size()) {
            return std::nullopt;
        }
    }
    return count == 3 ? std::optional<std::array<double, 3>>(v) : std::nullopt;
}

/// The exact LPS matrix of a 3-D NRRD header in RAS, LPS or LAS space (see volume_header).
std::optional<matrix4> nrrd_geometry(std::map<std::string, std::string>& fields) {
    const std::string& name = fields["space"];
    std::array<double, 3> flip{1, 1, 1};
    if (name == "right-anterior-superior" || name == "RAS") {
        flip = {-1, -1, 1};
    } else if (name == "left-anterior-superior" || name == "LAS") {
        flip = {1, -1, 1};
    } else if (name != "left-posterior-superior" && name != "LPS") {
        return std::nullopt;
    }
    if (!fields.count("space directions") || !fields.count("space origin")) {
        return std::nullopt;
    }
    // Tokens: vectors may hold spaces after their commas.
    std::vector<std::string> tokens;
    std::string current;
    int depth = 0;
    for (char c : fields["space directions"]) {
        depth += c == '(' ? 1 : c == ')' ? -1 : 0;
        if ((c == ' ' || c == '\t') && depth == 0) {
            if (!current.empty()) {
                tokens.push_back(current);
                current.clear();
            }
        } else if (c != ' ' && c != '\t') {
            current.push_back(c);
        }
    }
    if (!current.empty()) {
        tokens.push_back(current);
    }
    std::vector<std::array<double, 3>> columns;
    for (const auto& token : tokens) {
        if (token != "none") {
            const auto v = nrrd_vector(token);
            if (!v) {
                return std::nullopt;
            }
            columns.push_back(*v);
        }
    }
    const auto origin = nrrd_vector(fields["space origin"]);
    if (columns.size() != 3 || !origin) {
        return std::nullopt;
    }
    matrix4 m = identity_matrix;
    for (std::size_t axis = 0; axis < 3; ++axis) {
        for (std::size_t row = 0; row < 3; ++row) {
            m[row * 4 + axis] = flip[row] * columns[axis][row];
        }
        m[axis * 4 + 3] = flip[axis] * (*origin)[axis];
    }
    return m;
}

volume_header preflight_nrrd(const std::string& path) {
    const std::uint64_t size = file_size(path);
    const std::string head = read_head(path, header_limit);
    if (head.rfind("NRRD000", 0) != 0) {
        throw file_error(path + " is not a NRRD file (no NRRD000 magic)");
    }
    auto [lines, data_start] = header_lines(path, head, true, nullptr);
    std::map<std::string, std::string> fields;
    std::vector<std::string> list_files;
    bool in_list = false;
    for (std::size_t i = 1; i < lines.size(); ++i) {
        const std::string& line = lines[i];
        if (in_list) {
            list_files.push_back(trim(line));
            continue;
        }
        if (line.empty() || line[0] == '#' || line.find(":=") != std::string::npos) {
            continue;
        }
        const auto colon = line.find(": ");
        if (colon == std::string::npos) {
            throw file_error(path + ": malformed NRRD header line \"" + line.substr(0, 80) + "\"");
        }
        std::string key = line.substr(0, colon);
        if (key == "datafile") {
            key = "data file";
        } else if (key == "byteskip") {
            key = "byte skip";
        }
        fields[key] = trim(line.substr(colon + 2));
        if (key == "data file" && fields[key].rfind("LIST", 0) == 0) {
            in_list = true;
        }
    }
    auto required = [&](const std::string& name) -> const std::string& {
        const auto found = fields.find(name);
        if (found == fields.end()) {
            throw file_error(path + ": the NRRD header lacks \"" + name + "\"");
        }
        return found->second;
    };
    const auto type_size = nrrd_type_size(required("type"));
    if (!type_size) {
        throw file_error(path + ": unknown NRRD type \"" + required("type") + "\"");
    }
    const auto dimension = parse_int(required("dimension"), path + ": dimension");
    const auto words = split_words(required("sizes"));
    if (dimension < 1 || dimension > 16 || words.size() != static_cast<std::size_t>(dimension)) {
        throw file_error(path + ": inconsistent NRRD header: dimension " +
                         std::to_string(dimension) + " with " + std::to_string(words.size()) +
                         " sizes");
    }
    volume_header result;
    std::uint64_t values = 1;
    for (const auto& word : words) {
        const auto n = parse_int(word, path + ": sizes");
        if (n < 1) {
            throw file_error(path + ": a NRRD size of " + std::to_string(n) +
                             ": an image needs at least one voxel along every axis");
        }
        values = times(values, static_cast<std::uint64_t>(n), path);
    }
    const std::uint64_t claimed = times(values, *type_size, path);
    std::string encoding = fields.count("encoding") ? fields["encoding"] : "raw";
    if (encoding == "gz") {
        encoding = "gzip";
    } else if (encoding == "bz2") {
        encoding = "bzip2";
    } else if (encoding == "txt" || encoding == "text") {
        encoding = "ascii";
    }
    if (encoding != "raw" && encoding != "gzip" && encoding != "bzip2" && encoding != "ascii" &&
        encoding != "hex") {
        throw file_error(path + ": unknown NRRD encoding \"" + encoding + "\"");
    }
    std::uint64_t available = 0;
    std::string single_file = path; // where one stream of data starts at `stream_start`
    std::uint64_t stream_start = data_start;
    if (fields.count("data file")) {
        const auto data_words = split_words(fields["data file"]);
        std::vector<std::string> files;
        if (data_words.empty()) {
            throw file_error(path + ": empty NRRD data file field");
        } else if (data_words[0] == "LIST") {
            for (const auto& name : list_files) {
                files.push_back(resolve(path, name));
            }
        } else if (data_words.size() >= 4) {
            files = numbered_files(path, data_words);
        } else {
            files.push_back(resolve(path, fields["data file"]));
        }
        available = total_size(files, path);
        single_file = files.size() == 1 ? files.front() : std::string();
        stream_start = 0;
    } else {
        available = size >= data_start ? size - data_start : 0;
    }
    std::uint64_t skip = 0;
    if (fields.count("byte skip")) {
        const auto count = parse_int(fields["byte skip"], path + ": byte skip");
        if (count > 0) {
            skip = static_cast<std::uint64_t>(count);
            if (encoding == "raw") {
                available = available > skip ? available - skip : 0;
            }
        } else if (count < -1) {
            throw file_error(path + ": NRRD byte skip " + std::to_string(count));
        }
    }
    if (fields.count("space")) {
        result.nrrd_space = fields["space"];
        result.exact_lps = nrrd_geometry(fields);
    }
    if (dimension > 3) {
        // Axes of kind domain, space or time are sampled space (or time); ITK makes one other
        // axis the voxel's components. More than three such axes is a series of volumes.
        std::size_t sampled = 0;
        if (fields.count("kinds")) {
            for (const auto& kind : split_words(fields["kinds"])) {
                sampled += kind == "domain" || kind == "space" || kind == "time";
            }
        }
        if (sampled > 3) {
            throw file_error(path + ": a " + std::to_string(sampled) +
                             "-D image (kinds: " + fields["kinds"] +
                             "): the protocol has no 4-D images yet, and reading only the first "
                             "volume would lose the rest; refused");
        }
    }
    check_claim(path, encoding == "ascii" ? values : claimed, available, encoding);
    if (encoding == "gzip" && !single_file.empty()) {
        const std::uint64_t total = inflated_size(single_file, stream_start);
        if (total < claimed + skip) {
            throw file_error(path + ": truncated: the header claims " + bytes_text(claimed) +
                             " of voxels but the compressed data holds only " + bytes_text(total));
        }
    }
    return result;
}

// ---- MetaImage ---------------------------------------------------------------------------------

std::optional<unsigned> meta_type_size(const std::string& name) {
    static const std::map<std::string, unsigned> sizes = {
        {"MET_CHAR", 1},         {"MET_UCHAR", 1},        {"MET_SHORT", 2},
        {"MET_USHORT", 2},       {"MET_INT", 4},          {"MET_UINT", 4},
        {"MET_LONG", 4},         {"MET_ULONG", 4},        {"MET_LONG_LONG", 8},
        {"MET_ULONG_LONG", 8},   {"MET_FLOAT", 4},        {"MET_DOUBLE", 8},
        {"MET_CHAR_ARRAY", 1},   {"MET_UCHAR_ARRAY", 1},  {"MET_SHORT_ARRAY", 2},
        {"MET_USHORT_ARRAY", 2}, {"MET_INT_ARRAY", 4},    {"MET_UINT_ARRAY", 4},
        {"MET_FLOAT_ARRAY", 4},  {"MET_DOUBLE_ARRAY", 8},
    };
    const auto found = sizes.find(name);
    return found == sizes.end() ? std::nullopt : std::optional<unsigned>(found->second);
}

bool is_true(const std::string& text) {
    return text == "True" || text == "true" || text == "TRUE" || text == "1";
}

volume_header preflight_metaimage(const std::string& path) {
    const std::uint64_t size = file_size(path);
    const std::string head = read_head(path, header_limit);
    auto [lines, data_start] = header_lines(path, head, false, "ElementDataFile");
    std::map<std::string, std::string> fields;
    for (const auto& line : lines) {
        const auto equals = line.find('=');
        if (equals == std::string::npos) {
            if (!trim(line).empty()) {
                throw file_error(path + " is not a MetaImage file (malformed header line \"" +
                                 line.substr(0, 80) + "\")");
            }
            continue;
        }
        fields[trim(line.substr(0, equals))] = trim(line.substr(equals + 1));
    }
    auto required = [&](const std::string& name) -> const std::string& {
        const auto found = fields.find(name);
        if (found == fields.end()) {
            throw file_error(path + ": the MetaImage header lacks " + name);
        }
        return found->second;
    };
    const std::string& data_file = required("ElementDataFile");
    const auto dimension = parse_int(required("NDims"), path + ": NDims");
    const auto words = split_words(required("DimSize"));
    if (dimension < 1 || dimension > 16 || words.size() != static_cast<std::size_t>(dimension)) {
        throw file_error(path + ": inconsistent MetaImage header: NDims " +
                         std::to_string(dimension) + " with " + std::to_string(words.size()) +
                         " DimSize values");
    }
    const auto type_size = meta_type_size(required("ElementType"));
    if (!type_size) {
        throw file_error(path + ": unknown MetaImage ElementType " + required("ElementType"));
    }
    volume_header result;
    std::uint64_t values = 1;
    for (const auto& word : words) {
        const auto n = parse_int(word, path + ": DimSize");
        if (n < 1) {
            throw file_error(path + ": a DimSize of " + std::to_string(n) +
                             ": an image needs at least one voxel along every axis");
        }
        values = times(values, static_cast<std::uint64_t>(n), path);
    }
    if (fields.count("ElementNumberOfChannels")) {
        const auto channels =
            parse_int(fields["ElementNumberOfChannels"], path + ": ElementNumberOfChannels");
        if (channels < 1) {
            throw file_error(path + ": ElementNumberOfChannels " + std::to_string(channels));
        }
        values = times(values, static_cast<std::uint64_t>(channels), path);
    }
    const std::uint64_t claimed = times(values, *type_size, path);
    std::string encoding = "raw";
    if (fields.count("CompressedData") && is_true(fields["CompressedData"])) {
        encoding = "gzip";
    } else if (fields.count("BinaryData") && !is_true(fields["BinaryData"])) {
        encoding = "ascii";
    }
    std::uint64_t available = 0;
    std::string single_file;
    std::uint64_t stream_start = 0;
    const auto data_words = split_words(data_file);
    if (data_file == "LOCAL" || data_file == "Local" || data_file == "local") {
        available = size >= data_start ? size - data_start : 0;
        single_file = path;
        stream_start = data_start;
    } else if (!data_words.empty() && data_words[0] == "LIST") {
        std::vector<std::string> files;
        std::istringstream rest(head.substr(static_cast<std::size_t>(data_start)));
        std::string name;
        while (std::getline(rest, name)) {
            if (!trim(name).empty()) {
                files.push_back(resolve(path, trim(name)));
            }
        }
        available = total_size(files, path);
    } else if (data_words.size() >= 4) {
        available = total_size(numbered_files(path, data_words), path);
    } else {
        single_file = resolve(path, data_file);
        available = total_size({single_file}, path);
    }
    if (fields.count("HeaderSize")) {
        const auto skip = parse_int(fields["HeaderSize"], path + ": HeaderSize");
        if (skip > 0) {
            available = available > static_cast<std::uint64_t>(skip)
                            ? available - static_cast<std::uint64_t>(skip)
                            : 0;
        }
    }
    check_claim(path, encoding == "ascii" ? values : claimed, available, encoding);
    if (encoding == "gzip" && !single_file.empty()) {
        const std::uint64_t total = inflated_size(single_file, stream_start);
        if (total < claimed) {
            throw file_error(path + ": truncated: the header claims " + bytes_text(claimed) +
                             " of voxels but the compressed data holds only " + bytes_text(total));
        }
    }
    return result;
}

} // namespace

void restore_non_finite(const volume_header& header, image& img) {
    const unsigned size = header.datatype == 16 ? 4 : header.datatype == 64 ? 8 : 0;
    if (!header.nifti || !header.may_hold_non_finite || size == 0 ||
        dtype_size(img.dtype) != size || img.byte_order != native_byte_order) {
        return;
    }
    gzFile file = gzopen(header.data_path.c_str(), "rb");
    if (file == nullptr) {
        return;
    }
    if (gzseek(file, static_cast<z_off_t>(header.data_offset), SEEK_SET) < 0) {
        gzclose(file);
        return;
    }
    // niftilib's scaling as ITK applies it: a slope of 0 (or one that is not finite) means none.
    const double slope = std::isfinite(header.scl_slope) ? header.scl_slope : 0.0;
    const double inter = std::isfinite(header.scl_inter) ? header.scl_inter : 0.0;
    const bool scaled = slope != 0.0 && (slope != 1.0 || inter != 0.0);
    const std::uint64_t voxels = img.voxel_count().value_or(0);
    const std::uint64_t components = img.components;
    std::byte* out = img.data.mutable_data();
    // NIfTI stores each component as a whole volume (dim[5]); ITK interleaves them.
    std::vector<char> chunk(std::size_t{1} << 20);
    std::uint64_t index = 0;
    const std::uint64_t total = voxels * components;
    while (index < total) {
        const auto want = static_cast<unsigned>(
            std::min<std::uint64_t>(chunk.size() / size, total - index) * size);
        const int got = gzread(file, chunk.data(), want);
        if (got <= 0) {
            break;
        }
        for (std::size_t at = 0; at + size <= static_cast<std::size_t>(got); at += size, ++index) {
            char raw[8];
            std::memcpy(raw, chunk.data() + at, size);
            if (header.swapped) {
                std::reverse(raw, raw + size);
            }
            double value = 0;
            if (size == 4) {
                float f = 0;
                std::memcpy(&f, raw, 4);
                value = f;
            } else {
                std::memcpy(&value, raw, 8);
            }
            if (std::isfinite(value)) {
                continue;
            }
            const std::uint64_t voxel = index % voxels;
            const std::uint64_t component = index / voxels;
            std::byte* target = out + (voxel * components + component) * size;
            if (!scaled) {
                std::memcpy(target, raw, size); // the very bits of the file
            } else if (size == 4) {
                const auto f = static_cast<float>(value * slope + inter);
                std::memcpy(target, &f, 4);
            } else {
                const double d = value * slope + inter;
                std::memcpy(target, &d, 8);
            }
        }
    }
    gzclose(file);
}

volume_header preflight(const std::string& path, const std::string& extension) {
    if (extension == ".nrrd" || extension == ".nhdr") {
        return preflight_nrrd(path);
    }
    if (extension == ".mha" || extension == ".mhd") {
        return preflight_metaimage(path);
    }
    return preflight_nifti(path, extension);
}

} // namespace detail
} // namespace files
} // namespace slicerbridge
