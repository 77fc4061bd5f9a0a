// NIfTI-2 (540-byte header, 64-bit dimensions), read and written by hand: Debian 12's ITK 5.2
// knows only NIfTI-1 (ITK 5.3 reads NIfTI-2), and without it a NIfTI-2 input could not be read
// at all and an image wider than 32767 voxels could not be written as NIfTI. The header has been
// checked by preflight() (dimensions, type, intent, data length, gzip stream) before this runs.
// Geometry follows the NIfTI standard: the sform when its code is set, else the qform, else the
// pixel sizes along LPS from an origin of 0 (as ITK reads NIfTI-1 without orientation); values
// are scaled as ITK scales NIfTI-1 (float32, float64 for float64 data).

#include "binary.hpp"

#include <vtk_zlib.h>

#include <algorithm>
#include <cmath>
#include <cstring>

namespace slicerbridge {
namespace files {
namespace detail {
namespace {

std::optional<slicerbridge::dtype> nifti_dtype(int code) {
    switch (code) {
    case 2:
    case 128:
    case 2304:
        return dtype::uint8;
    case 4:
        return dtype::int16;
    case 8:
        return dtype::int32;
    case 16:
        return dtype::float32;
    case 64:
        return dtype::float64;
    case 256:
        return dtype::int8;
    case 512:
        return dtype::uint16;
    case 768:
        return dtype::uint32;
    case 1024:
        return dtype::int64;
    case 1280:
        return dtype::uint64;
    default:
        return std::nullopt;
    }
}

int nifti_code(slicerbridge::dtype type) {
    switch (type) {
    case dtype::uint8:
        return 2;
    case dtype::int16:
        return 4;
    case dtype::int32:
        return 8;
    case dtype::float32:
        return 16;
    case dtype::int8:
        return 256;
    case dtype::uint16:
        return 512;
    case dtype::uint32:
        return 768;
    case dtype::int64:
        return 1024;
    case dtype::uint64:
        return 1280;
    case dtype::float64:
        break;
    }
    return 64;
}

class header540 {
public:
    header540(std::string bytes, bool swap) : bytes_(std::move(bytes)), swap_(swap) {}
    template <class T>
    T get(std::size_t offset) const {
        char raw[sizeof(T)];
        std::memcpy(raw, bytes_.data() + offset, sizeof(T));
        if (swap_) {
            std::reverse(raw, raw + sizeof(T));
        }
        T value{};
        std::memcpy(&value, raw, sizeof(T));
        return value;
    }

private:
    std::string bytes_;
    bool swap_;
};

/// Reads exactly `size` bytes from `file`, or throws.
void read_exactly(gzFile file, char* to, std::uint64_t size, const std::string& path) {
    while (size > 0) {
        const auto chunk = static_cast<unsigned>(std::min<std::uint64_t>(size, 1u << 30));
        const int got = gzread(file, to, chunk);
        if (got <= 0) {
            throw file_error(path + ": truncated NIfTI-2 data");
        }
        to += got;
        size -= static_cast<std::uint64_t>(got);
    }
}

/// The RAS matrix of a NIfTI header's qform (standard's method 2).
matrix4 qform_matrix(const header540& h) {
    const double b = h.get<double>(352);
    const double c = h.get<double>(360);
    const double d = h.get<double>(368);
    const double a = std::sqrt(std::max(0.0, 1.0 - (b * b + c * c + d * d)));
    const double rotation[9] = {a * a + b * b - c * c - d * d, 2 * (b * c - a * d),
                                2 * (b * d + a * c),           2 * (b * c + a * d),
                                a * a + c * c - b * b - d * d, 2 * (c * d - a * b),
                                2 * (b * d - a * c),           2 * (c * d + a * b),
                                a * a + d * d - c * c - b * b};
    const double qfac = h.get<double>(104) < 0 ? -1.0 : 1.0;
    matrix4 m = identity_matrix;
    for (std::size_t axis = 0; axis < 3; ++axis) {
        double size = h.get<double>(104 + 8 * (axis + 1));
        size = size > 0 ? size : 1.0;
        const double sign = axis == 2 ? qfac : 1.0;
        for (std::size_t row = 0; row < 3; ++row) {
            m[row * 4 + axis] = rotation[row * 3 + axis] * size * sign;
        }
    }
    m[3] = h.get<double>(376);
    m[7] = h.get<double>(384);
    m[11] = h.get<double>(392);
    return m;
}

/// A unit quaternion (b, c, d) and qfac for a rotation-and-scale matrix without shear.
std::optional<std::array<double, 4>> quaternion_of(const matrix4& ras) {
    const auto lengths = column_lengths(ras);
    double r[3][3];
    for (std::size_t row = 0; row < 3; ++row) {
        for (std::size_t axis = 0; axis < 3; ++axis) {
            r[row][axis] = ras[row * 4 + axis] / lengths[axis];
        }
    }
    for (std::size_t x = 0; x < 3; ++x) {
        for (std::size_t y = x + 1; y < 3; ++y) {
            const double dot = r[0][x] * r[0][y] + r[1][x] * r[1][y] + r[2][x] * r[2][y];
            if (std::abs(dot) > 1e-6) {
                return std::nullopt; // a shear: no qform holds it
            }
        }
    }
    const double det = r[0][0] * (r[1][1] * r[2][2] - r[1][2] * r[2][1]) -
                       r[0][1] * (r[1][0] * r[2][2] - r[1][2] * r[2][0]) +
                       r[0][2] * (r[1][0] * r[2][1] - r[1][1] * r[2][0]);
    const double qfac = det < 0 ? -1.0 : 1.0;
    for (auto& row : r) {
        row[2] *= qfac;
    }
    double a = 1.0 + r[0][0] + r[1][1] + r[2][2];
    double b = 0;
    double c = 0;
    double d = 0;
    if (a > 0.5) {
        a = 0.5 * std::sqrt(a);
        b = 0.25 * (r[2][1] - r[1][2]) / a;
        c = 0.25 * (r[0][2] - r[2][0]) / a;
        d = 0.25 * (r[1][0] - r[0][1]) / a;
    } else {
        const double xd = 1.0 + r[0][0] - (r[1][1] + r[2][2]);
        const double yd = 1.0 + r[1][1] - (r[0][0] + r[2][2]);
        const double zd = 1.0 + r[2][2] - (r[0][0] + r[1][1]);
        if (xd > 1.0) {
            b = 0.5 * std::sqrt(xd);
            c = 0.25 * (r[0][1] + r[1][0]) / b;
            d = 0.25 * (r[0][2] + r[2][0]) / b;
            a = 0.25 * (r[2][1] - r[1][2]) / b;
        } else if (yd > 1.0) {
            c = 0.5 * std::sqrt(yd);
            b = 0.25 * (r[0][1] + r[1][0]) / c;
            d = 0.25 * (r[1][2] + r[2][1]) / c;
            a = 0.25 * (r[0][2] - r[2][0]) / c;
        } else {
            d = 0.5 * std::sqrt(zd);
            b = 0.25 * (r[0][2] + r[2][0]) / d;
            c = 0.25 * (r[1][2] + r[2][1]) / d;
            a = 0.25 * (r[1][0] - r[0][1]) / d;
        }
        if (a < 0) {
            b = -b;
            c = -c;
            d = -d;
        }
    }
    return std::array<double, 4>{b, c, d, qfac};
}

} // namespace

image read_nifti2(const volume_header& info) {
    const std::string& header_path = info.header_path;
    const std::string& path = header_path;
    gzFile file = gzopen(header_path.c_str(), "rb");
    if (file == nullptr) {
        throw file_error("cannot open " + header_path);
    }
    std::string bytes(540, '\0');
    const int got = gzread(file, bytes.data(), 540);
    gzclose(file);
    if (got != 540) {
        throw file_error(header_path + ": truncated NIfTI-2 header");
    }
    const header540 h(bytes, info.swapped);
    const int datatype = h.get<std::int16_t>(12);
    const auto type = nifti_dtype(datatype);
    if (!type) {
        throw file_error(header_path + ": unknown NIfTI datatype " + std::to_string(datatype));
    }
    std::array<std::uint64_t, 8> dim{};
    for (std::size_t i = 0; i < 8; ++i) {
        dim[i] =
            static_cast<std::uint64_t>(std::max<std::int64_t>(1, h.get<std::int64_t>(16 + 8 * i)));
    }
    const auto rank = h.get<std::int64_t>(16);
    for (std::int64_t i = rank + 1; i < 8; ++i) {
        dim[static_cast<std::size_t>(i)] = 1;
    }
    image raw;
    raw.dims = {dim[1], dim[2], dim[3]};
    raw.dtype = *type;
    const std::uint32_t packed = datatype == 128 ? 3 : datatype == 2304 ? 4 : 1;
    const auto volumes = static_cast<std::uint32_t>(dim[5]);
    raw.components = packed * volumes;
    raw.kind = raw.components > 1 ? image_kind::vector : image_kind::scalar;
    raw.byte_order = info.swapped ? (native_byte_order == byte_order::little ? byte_order::big
                                                                             : byte_order::little)
                                  : native_byte_order;
    const auto bytes_needed = raw.byte_count();
    if (!bytes_needed) {
        throw file_error(path + ": absurd dimensions");
    }
    // Voxels: components of RGB types are interleaved in the file, those along dim[5] are whole
    // volumes one after the other; the protocol interleaves them all.
    buffer stored = buffer::allocate(static_cast<std::size_t>(*bytes_needed));
    file = gzopen(info.data_path.c_str(), "rb");
    if (file == nullptr || gzseek(file, static_cast<z_off_t>(info.data_offset), SEEK_SET) < 0) {
        if (file != nullptr) {
            gzclose(file);
        }
        throw file_error("cannot read the voxels of " + path);
    }
    try {
        read_exactly(file, reinterpret_cast<char*>(stored.mutable_data()), *bytes_needed, path);
    } catch (...) {
        gzclose(file);
        throw;
    }
    gzclose(file);
    if (volumes > 1) {
        const std::size_t element = dtype_size(raw.dtype) * packed;
        const std::uint64_t voxels = *raw.voxel_count();
        buffer interleaved = buffer::allocate(static_cast<std::size_t>(*bytes_needed));
        const std::byte* from = stored.data();
        std::byte* to = interleaved.mutable_data();
        for (std::uint64_t v = 0; v < volumes; ++v) {
            for (std::uint64_t i = 0; i < voxels; ++i) {
                std::memcpy(to + (i * volumes + v) * element, from + (v * voxels + i) * element,
                            element);
            }
        }
        stored = std::move(interleaved);
    }
    raw.data = std::move(stored);

    // Geometry.
    const int sform_code = h.get<std::int32_t>(348);
    const int qform_code = h.get<std::int32_t>(344);
    const int spatial_unit = h.get<std::int32_t>(500) & 7;
    const double unit = spatial_unit == 1 ? 1000.0 : spatial_unit == 3 ? 1e-3 : 1.0;
    matrix4 ras = identity_matrix;
    if (sform_code > 0) {
        for (std::size_t i = 0; i < 12; ++i) {
            ras[i] = h.get<double>(400 + 8 * i);
        }
    } else if (qform_code > 0) {
        ras = qform_matrix(h);
    } else {
        for (std::size_t axis = 0; axis < 3; ++axis) {
            const double size = h.get<double>(104 + 8 * (axis + 1));
            ras[axis * 4 + axis] = (axis < 2 ? -1.0 : 1.0) * (size > 0 ? size : 1.0);
        }
    }
    for (std::size_t i = 0; i < 12; ++i) {
        ras[i] *= unit;
    }
    raw.ijk_to_space = ras;
    raw.space = space::ras;

    // Scaling, as ITK applies it to NIfTI-1.
    const double slope = std::isfinite(info.scl_slope) ? info.scl_slope : 0.0;
    const double inter = std::isfinite(info.scl_inter) ? info.scl_inter : 0.0;
    if (slope != 0.0 && (slope != 1.0 || inter != 0.0) && packed == 1) {
        const image native = raw.to_native_byte_order();
        const bool wide = native.dtype == dtype::float64;
        image scaled =
            image::allocate(native.dims, wide ? dtype::float64 : dtype::float32, native.components);
        scaled.ijk_to_space = native.ijk_to_space;
        scaled.space = native.space;
        scaled.kind = native.kind;
        const std::uint64_t count = *native.voxel_count() * native.components;
        auto value_at = [&](std::uint64_t i) -> double {
            const std::byte* p = native.data.data() + i * dtype_size(native.dtype);
            switch (native.dtype) {
            case dtype::uint8: {
                std::uint8_t v;
                std::memcpy(&v, p, 1);
                return v;
            }
            case dtype::int8: {
                std::int8_t v;
                std::memcpy(&v, p, 1);
                return v;
            }
            case dtype::uint16: {
                std::uint16_t v;
                std::memcpy(&v, p, 2);
                return v;
            }
            case dtype::int16: {
                std::int16_t v;
                std::memcpy(&v, p, 2);
                return v;
            }
            case dtype::uint32: {
                std::uint32_t v;
                std::memcpy(&v, p, 4);
                return v;
            }
            case dtype::int32: {
                std::int32_t v;
                std::memcpy(&v, p, 4);
                return v;
            }
            case dtype::uint64: {
                std::uint64_t v;
                std::memcpy(&v, p, 8);
                return static_cast<double>(v);
            }
            case dtype::int64: {
                std::int64_t v;
                std::memcpy(&v, p, 8);
                return static_cast<double>(v);
            }
            case dtype::float32: {
                float v;
                std::memcpy(&v, p, 4);
                return v;
            }
            case dtype::float64:
                break;
            }
            double v;
            std::memcpy(&v, p, 8);
            return v;
        };
        if (wide) {
            double* out = scaled.mutable_voxels<double>();
            for (std::uint64_t i = 0; i < count; ++i) {
                out[i] = value_at(i) * slope + inter;
            }
        } else {
            float* out = scaled.mutable_voxels<float>();
            for (std::uint64_t i = 0; i < count; ++i) {
                out[i] = static_cast<float>(value_at(i) * slope + inter);
            }
        }
        return scaled.in_space(space::lps);
    }
    return raw.in_space(space::lps);
}

void write_nifti2(const image& img, const std::string& path, const std::string& extension,
                  const std::optional<volume_header>& input) {
    if (extension == ".hdr") {
        throw file_error("cannot write " + path +
                         ": this image needs NIfTI-2, written here as .nii or .nii.gz only");
    }
    const image native = img.to_native_byte_order();
    const matrix4 ras = native.in_space(space::ras).ijk_to_space;
    std::string header(544, '\0');
    put(header, 0, std::int32_t{540});
    std::memcpy(header.data() + 4, "n+2\0\r\n\032\n", 8);
    put(header, 12, static_cast<std::int16_t>(nifti_code(native.dtype)));
    put(header, 14, static_cast<std::int16_t>(8 * dtype_size(native.dtype)));
    const bool vector = native.components > 1;
    const std::int64_t dims[8] = {vector ? 5 : 3,
                                  static_cast<std::int64_t>(native.dims[0]),
                                  static_cast<std::int64_t>(native.dims[1]),
                                  static_cast<std::int64_t>(native.dims[2]),
                                  1,
                                  static_cast<std::int64_t>(native.components),
                                  1,
                                  1};
    for (std::size_t i = 0; i < 8; ++i) {
        put(header, 16 + 8 * i, dims[i]);
    }
    const auto lengths = column_lengths(ras);
    const auto quaternion = quaternion_of(ras);
    put(header, 104, quaternion ? (*quaternion)[3] : 1.0);
    for (std::size_t axis = 0; axis < 3; ++axis) {
        put(header, 104 + 8 * (axis + 1), lengths[axis]);
    }
    put(header, 104 + 8 * 4, input ? input->time_step : 0.0);
    put(header, 168, std::int64_t{544});
    put(header, 176, 1.0); // scl_slope: the values are what they are
    int qform_code =
        input && (input->qform_code > 0 || input->sform_code > 0) ? input->qform_code : 1;
    int sform_code =
        input && (input->qform_code > 0 || input->sform_code > 0) ? input->sform_code : 1;
    if (!quaternion) {
        qform_code = 0;
        sform_code = sform_code > 0 ? sform_code : 1;
    }
    put(header, 344, static_cast<std::int32_t>(qform_code));
    put(header, 348, static_cast<std::int32_t>(sform_code));
    if (quaternion) {
        put(header, 352, (*quaternion)[0]);
        put(header, 360, (*quaternion)[1]);
        put(header, 368, (*quaternion)[2]);
    }
    put(header, 376, ras[3]);
    put(header, 384, ras[7]);
    put(header, 392, ras[11]);
    for (std::size_t i = 0; i < 12; ++i) {
        put(header, 400 + 8 * i, ras[i]);
    }
    const int units = 2 | (input ? input->xyzt_units & 0x38 : 0); // millimetres
    put(header, 500, static_cast<std::int32_t>(units));
    put(header, 504, static_cast<std::int32_t>(vector ? 1007 : 0));

    // Voxels: components as whole volumes along dim[5].
    buffer voxels = native.data;
    if (vector) {
        const std::size_t element = dtype_size(native.dtype);
        const std::uint64_t count = *native.voxel_count();
        const std::uint64_t components = native.components;
        buffer split = buffer::allocate(native.data.size());
        for (std::uint64_t i = 0; i < count; ++i) {
            for (std::uint64_t c = 0; c < components; ++c) {
                std::memcpy(split.mutable_data() + (c * count + i) * element,
                            native.data.data() + (i * components + c) * element, element);
            }
        }
        voxels = std::move(split);
    }
    gzFile out = gzopen(path.c_str(), extension == ".nii.gz" ? "wb6" : "wbT");
    if (out == nullptr) {
        throw file_error("cannot create " + path);
    }
    bool ok = gzwrite(out, header.data(), static_cast<unsigned>(header.size())) ==
              static_cast<int>(header.size());
    const char* from = reinterpret_cast<const char*>(voxels.data());
    std::uint64_t left = voxels.size();
    while (ok && left > 0) {
        const auto chunk = static_cast<unsigned>(std::min<std::uint64_t>(left, 1u << 30));
        ok = gzwrite(out, from, chunk) == static_cast<int>(chunk);
        from += chunk;
        left -= chunk;
    }
    if (gzclose(out) != Z_OK || !ok) {
        throw file_error("cannot write " + path);
    }
}

} // namespace detail
} // namespace files
} // namespace slicerbridge
