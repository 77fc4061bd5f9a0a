// Volumes through ITK, which is what Slicer reads and writes volumes with, so that a file means
// the same here as in Slicer: NRRD (.nrrd, .nhdr), NIfTI (.nii, .nii.gz, .hdr/.img), MetaImage
// (.mha, .mhd), and DICOM series (a folder, read with GDCM). ITK's image IO classes are used
// directly, without an itk::Image: the voxels are read straight into the protocol's buffer and
// written from it. ITK works in LPS with the origin at the centre of the first voxel, as the
// protocol does, and keeps the file's voxel order (a left-handed grid stays left-handed: [IMG-2]
// allows any invertible matrix).

#include "binary.hpp"

#include <itkGDCMImageIO.h>
#include <itkGDCMSeriesFileNames.h>
#include <itkImageSeriesReader.h>
#include <itkMetaImageIO.h>
#include <itkNiftiImageIO.h>
#include <itkNrrdImageIO.h>
#include <itkVectorImage.h>

#include <vtk_zlib.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <mutex>
#include <new>

#include <sys/stat.h>

namespace slicerbridge {
namespace files {
namespace detail {
namespace {

using itk::IOComponentEnum;
using itk::IOPixelEnum;

const char* format_name(const std::string& extension) {
    if (extension == ".nrrd" || extension == ".nhdr") {
        return "NRRD";
    }
    if (extension == ".mha" || extension == ".mhd") {
        return "MetaImage";
    }
    return "NIfTI";
}

itk::ImageIOBase::Pointer io_for(const std::string& extension) {
    if (extension == ".nrrd" || extension == ".nhdr") {
        return itk::NrrdImageIO::New().GetPointer();
    }
    if (extension == ".mha" || extension == ".mhd") {
        return itk::MetaImageIO::New().GetPointer();
    }
    return itk::NiftiImageIO::New().GetPointer();
}

std::optional<slicerbridge::dtype> dtype_of(IOComponentEnum type) {
    switch (type) {
    case IOComponentEnum::UCHAR:
        return dtype::uint8;
    case IOComponentEnum::CHAR:
        return dtype::int8;
    case IOComponentEnum::USHORT:
        return dtype::uint16;
    case IOComponentEnum::SHORT:
        return dtype::int16;
    case IOComponentEnum::UINT:
        return dtype::uint32;
    case IOComponentEnum::INT:
        return dtype::int32;
    case IOComponentEnum::ULONG:
        return sizeof(long) == 8 ? dtype::uint64 : dtype::uint32;
    case IOComponentEnum::LONG:
        return sizeof(long) == 8 ? dtype::int64 : dtype::int32;
    case IOComponentEnum::ULONGLONG:
        return dtype::uint64;
    case IOComponentEnum::LONGLONG:
        return dtype::int64;
    case IOComponentEnum::FLOAT:
        return dtype::float32;
    case IOComponentEnum::DOUBLE:
        return dtype::float64;
    default:
        return std::nullopt;
    }
}

IOComponentEnum component_of(slicerbridge::dtype type) {
    switch (type) {
    case dtype::uint8:
        return IOComponentEnum::UCHAR;
    case dtype::int8:
        return IOComponentEnum::CHAR;
    case dtype::uint16:
        return IOComponentEnum::USHORT;
    case dtype::int16:
        return IOComponentEnum::SHORT;
    case dtype::uint32:
        return IOComponentEnum::UINT;
    case dtype::int32:
        return IOComponentEnum::INT;
    case dtype::uint64:
        return IOComponentEnum::ULONG;
    case dtype::int64:
        return IOComponentEnum::LONG;
    case dtype::float32:
        return IOComponentEnum::FLOAT;
    case dtype::float64:
        break;
    }
    return IOComponentEnum::DOUBLE;
}

std::string with_details(std::string message, captured_output& capture) {
    const std::string said = tidy_library_text(capture.text());
    if (!said.empty()) {
        message += " [" + said + "]";
    }
    return message;
}

std::string itk_text(const itk::ExceptionObject& e) {
    const char* description = e.GetDescription();
    std::string text = description != nullptr ? description : e.what();
    for (char& c : text) {
        c = c == '\n' ? ' ' : c;
    }
    return tidy_library_text(text);
}

/// The geometry ITK gives for a file of `dimensions` axes: the protocol's LPS matrix. Axes the
/// file lacks (a 2-D image) get unit length along the missing world axes.
matrix4 lps_matrix(const itk::ImageIOBase& io, unsigned dimensions) {
    matrix4 m = identity_matrix;
    const unsigned spatial = std::min(dimensions, 3u);
    for (unsigned axis = 0; axis < spatial; ++axis) {
        const auto direction = io.GetDirection(axis);
        const double spacing = io.GetSpacing(axis);
        for (unsigned row = 0; row < 3; ++row) {
            m[row * 4 + axis] = row < spatial ? direction[row] * spacing : 0.0;
        }
        m[axis * 4 + 3] = io.GetOrigin(axis);
    }
    return m;
}

/// The NIfTI headers read by this process, by the grid they describe. A processor returns
/// voxels and geometry only, so the command line knows which input an output came from only by
/// its grid: an output on the grid of a NIfTI input keeps that input's header meaning.
struct remembered_header {
    std::array<std::uint64_t, 3> dims;
    matrix4 lps;
    volume_header header;
};

std::mutex registry_mutex;
std::vector<remembered_header> registry;

void remember(const image& img, const volume_header& header) {
    if (!header.nifti) {
        return;
    }
    std::lock_guard<std::mutex> lock(registry_mutex);
    if (registry.size() >= 64) {
        registry.erase(registry.begin());
    }
    registry.push_back({img.dims, img.ijk_to_space, header});
}

std::optional<volume_header> remembered_for(const image& lps) {
    std::lock_guard<std::mutex> lock(registry_mutex);
    for (auto entry = registry.rbegin(); entry != registry.rend(); ++entry) {
        if (entry->dims != lps.dims) {
            continue;
        }
        bool same = true;
        for (std::size_t i = 0; i < 16 && same; ++i) {
            same = std::abs(entry->lps[i] - lps.ijk_to_space[i]) <=
                   1e-9 * (1.0 + std::abs(lps.ijk_to_space[i]));
        }
        if (same) {
            return entry->header;
        }
    }
    return std::nullopt;
}

/// What ITK 5.2's NIfTI writer cannot say, written into the header it wrote: the sform exactly
/// as the protocol's matrix (ITK makes its direction orthogonal, which drops a shear; the qform,
/// a rotation, keeps ITK's nearest one, which is what ITK itself reads back when the sform has
/// a shear), and, for an output on the grid of a NIfTI input, that input's qform and sform codes,
/// time unit and time step (ITK writes codes 1, "scanner", and no time). Spatial units stay
/// millimetres: the values are in millimetres.
void patch_nifti_header(const std::string& path, const image& lps) {
    std::string bytes(348, '\0');
    {
        std::ifstream in(path, std::ios::binary);
        in.read(bytes.data(), 348);
        bytes.resize(static_cast<std::size_t>(in.gcount()));
    }
    std::int32_t size = 0;
    if (bytes.size() >= 348) {
        std::memcpy(&size, bytes.data(), 4);
    }
    if (size != 348) {
        throw file_error("cannot write " + path + ": ITK wrote no NIfTI-1 header");
    }
    const matrix4 ras = lps.in_space(space::ras).ijk_to_space;
    for (std::size_t i = 0; i < 12; ++i) {
        put(bytes, 280 + 4 * i, static_cast<float>(ras[i]));
    }
    if (const auto input = remembered_for(lps);
        input && (input->qform_code > 0 || input->sform_code > 0)) {
        put(bytes, 252, static_cast<std::int16_t>(input->qform_code));
        put(bytes, 254, static_cast<std::int16_t>(input->sform_code));
        bytes[123] = static_cast<char>((bytes[123] & 7) | (input->xyzt_units & 0x38));
        if (std::isfinite(input->time_step)) {
            put(bytes, 76 + 16, static_cast<float>(input->time_step));
        }
    }
    std::fstream out(path, std::ios::binary | std::ios::in | std::ios::out);
    out.write(bytes.data(), 348);
    out.close();
    if (!out) {
        throw file_error("cannot write " + path);
    }
}

/// Compresses `from` into the gzip file `to`, then removes `from`.
void compress_file(const std::string& from, const std::string& to) {
    std::ifstream in(from, std::ios::binary);
    gzFile out = gzopen(to.c_str(), "wb6");
    if (!in || out == nullptr) {
        if (out != nullptr) {
            gzclose(out);
        }
        throw file_error("cannot write " + to);
    }
    std::vector<char> chunk(std::size_t{1} << 20);
    bool ok = true;
    while (ok && in) {
        in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
        const auto got = static_cast<unsigned>(in.gcount());
        ok = got == 0 || gzwrite(out, chunk.data(), got) == static_cast<int>(got);
    }
    if (gzclose(out) != Z_OK || !ok || in.bad()) {
        throw file_error("cannot write " + to);
    }
    std::remove(from.c_str());
}

} // namespace

image read_itk_image(const std::string& path, const std::string& extension) {
    const volume_header header = preflight(path, extension);
    if (header.nifti_version == 2) {
        image result = read_nifti2(header);
        std::string problem;
        if (result.validate(problem)) {
            throw file_error(path + ": " + problem);
        }
        remember(result, header);
        return result;
    }
    itk::ImageIOBase::Pointer io = io_for(extension);
    captured_output capture;
    image result;
    try {
        if (!io->CanReadFile(path.c_str())) {
            throw file_error(
                with_details(path + " is not a " + format_name(extension) + " file", capture));
        }
        io->SetFileName(path);
        io->ReadImageInformation();
        const unsigned dimensions = io->GetNumberOfDimensions();
        if (dimensions < 1) {
            throw file_error(path + ": the file describes no image axes");
        }
        for (unsigned axis = 3; axis < dimensions; ++axis) {
            if (io->GetDimensions(axis) > 1) {
                throw file_error(
                    path + ": a " + std::to_string(dimensions) + "-D image (" +
                    std::to_string(io->GetDimensions(axis)) + " samples along axis " +
                    std::to_string(axis + 1) +
                    "): the protocol has no 4-D or 5-D images yet, and reading only the first "
                    "volume would lose the rest; refused");
            }
        }
        if (io->GetPixelType() == IOPixelEnum::COMPLEX) {
            throw file_error(path + ": complex voxels are not supported");
        }
        const auto type = dtype_of(io->GetComponentType());
        if (!type) {
            throw file_error(path + ": voxels of type " +
                             itk::ImageIOBase::GetComponentTypeAsString(io->GetComponentType()) +
                             " are not supported");
        }
        result.dtype = *type;
        result.components = io->GetNumberOfComponents();
        if (result.components < 1) {
            throw file_error(path + ": no components per voxel");
        }
        result.kind = result.components > 1 ? image_kind::vector : image_kind::scalar;
        for (unsigned axis = 0; axis < 3; ++axis) {
            result.dims[axis] = axis < dimensions ? io->GetDimensions(axis) : 1;
            if (result.dims[axis] < 1) {
                throw file_error(path + ": an axis of zero voxels");
            }
        }
        result.ijk_to_space = lps_matrix(*io, dimensions);
        if (header.sform) {
            for (std::size_t i = 0; i < 12; ++i) {
                result.ijk_to_space[i] = (i < 8 ? -1.0 : 1.0) * (*header.sform)[i];
            }
        }
        if (header.nrrd_space == "left-anterior-superior" || header.nrrd_space == "LAS" ||
            header.nrrd_space == "left-anterior-superior-time" || header.nrrd_space == "LAST") {
            // ITK 5.2's NrrdImageIO turns LAS into LPS by negating x where y must be negated
            // (LAS and LPS share x; their y axes are opposite). Slicer inherits that; the NRRD
            // specification does not, and neither do we.
            for (std::size_t i = 0; i < 8; ++i) {
                result.ijk_to_space[i] = -result.ijk_to_space[i];
            }
        }
        if (header.exact_lps) {
            bool close = true;
            for (std::size_t i = 0; i < 12 && close; ++i) {
                close = std::abs((*header.exact_lps)[i] - result.ijk_to_space[i]) <=
                        1e-9 * (1.0 + std::abs(result.ijk_to_space[i]));
            }
            if (close) {
                result.ijk_to_space = *header.exact_lps;
            }
        }
        result.space = space::lps;
        result.byte_order = native_byte_order;
        const auto bytes = result.byte_count();
        if (!bytes || *bytes != static_cast<std::uint64_t>(io->GetImageSizeInBytes())) {
            throw file_error(path + ": inconsistent header: the image size does not add up");
        }
        itk::ImageIORegion region(dimensions);
        for (unsigned axis = 0; axis < dimensions; ++axis) {
            region.SetIndex(axis, 0);
            region.SetSize(axis, io->GetDimensions(axis));
        }
        io->SetIORegion(region);
        result.data = buffer::allocate(static_cast<std::size_t>(*bytes));
        io->Read(result.data.mutable_data());
        restore_non_finite(header, result);
    } catch (const itk::ExceptionObject& e) {
        throw file_error(with_details(path + ": " + itk_text(e), capture));
    } catch (const std::bad_alloc&) {
        throw file_error(path + ": not enough memory for the image its header describes");
    }
    std::string problem;
    if (result.validate(problem)) {
        throw file_error(path + ": " + problem);
    }
    remember(result, header);
    return result;
}

void write_itk_image(const image& img, const std::string& path, const std::string& extension) {
    const image lps = img.in_space(space::lps).to_native_byte_order();
    if (extension == ".nii" || extension == ".nii.gz" || extension == ".hdr") {
        // NIfTI-1 holds at most 32767 voxels along an axis; an output on the grid of a NIfTI-2
        // input stays NIfTI-2.
        const auto input = remembered_for(lps);
        const bool wide = std::any_of(lps.dims.begin(), lps.dims.end(),
                                      [](std::uint64_t n) { return n > 32767; }) ||
                          lps.components > 32767;
        if (wide || (input && input->nifti_version == 2)) {
            write_nifti2(lps, path, extension, input);
            return;
        }
    }
    const auto& m = lps.ijk_to_space;
    const auto spacing = column_lengths(m);
    itk::ImageIOBase::Pointer io = io_for(extension);
    io->SetNumberOfDimensions(3);
    itk::ImageIORegion region(3);
    // NRRD holds only the products of spacing and direction ("space directions"): give ITK the
    // columns themselves with a spacing of 1, so that it writes them without a rounding.
    const bool nrrd = extension == ".nrrd" || extension == ".nhdr";
    for (unsigned axis = 0; axis < 3; ++axis) {
        io->SetDimensions(axis, lps.dims[axis]);
        io->SetSpacing(axis, nrrd ? 1.0 : spacing[axis]);
        io->SetOrigin(axis, m[axis * 4 + 3]);
        std::vector<double> direction(3);
        for (unsigned row = 0; row < 3; ++row) {
            direction[row] = nrrd ? m[row * 4 + axis] : m[row * 4 + axis] / spacing[axis];
        }
        io->SetDirection(axis, direction);
        region.SetIndex(axis, 0);
        region.SetSize(axis, lps.dims[axis]);
    }
    io->SetComponentType(component_of(lps.dtype));
    io->SetNumberOfComponents(lps.components);
    io->SetPixelType(lps.components == 1 ? IOPixelEnum::SCALAR : IOPixelEnum::VECTOR);
    // A .nii.gz is written as .nii beside it, its header completed, then compressed once: the
    // header cannot be completed inside a compressed file without compressing it again.
    const bool gzip_after = extension == ".nii.gz";
    const std::string written = gzip_after ? path.substr(0, path.size() - 3) : path;
    io->SetFileName(written);
    io->SetIORegion(region);
    io->SetUseCompression(false);
    captured_output capture;
    try {
        io->Write(lps.data.data());
    } catch (const itk::ExceptionObject& e) {
        throw file_error(with_details("cannot write " + path + ": " + itk_text(e), capture));
    }
    if (extension == ".nii" || extension == ".nii.gz" || extension == ".hdr") {
        patch_nifti_header(written, lps);
    }
    if (gzip_after) {
        compress_file(written, path);
    }
}

namespace {

template <class T>
image read_series(const std::vector<std::string>& names, itk::GDCMImageIO* io) {
    using volume = itk::VectorImage<T, 3>;
    auto reader = itk::ImageSeriesReader<volume>::New();
    reader->SetImageIO(io);
    reader->SetFileNames(names);
    reader->Update();
    volume* data = reader->GetOutput();
    const auto size = data->GetLargestPossibleRegion().GetSize();
    image result;
    for (unsigned axis = 0; axis < 3; ++axis) {
        result.dims[axis] = size[axis];
    }
    result.components = data->GetNumberOfComponentsPerPixel();
    result.kind = result.components > 1 ? image_kind::vector : image_kind::scalar;
    for (unsigned axis = 0; axis < 3; ++axis) {
        for (unsigned row = 0; row < 3; ++row) {
            result.ijk_to_space[row * 4 + axis] =
                data->GetDirection()[row][axis] * data->GetSpacing()[axis];
        }
        result.ijk_to_space[axis * 4 + 3] = data->GetOrigin()[axis];
    }
    result.space = space::lps;
    result.byte_order = native_byte_order;
    result.dtype = *dtype_of(io->GetComponentType());
    const auto bytes = result.byte_count();
    if (!bytes) {
        throw file_error("the series is too large");
    }
    result.data = buffer::copy_of(data->GetBufferPointer(), static_cast<std::size_t>(*bytes));
    return result;
}

} // namespace

image read_dicom_series(const std::string& folder) {
    captured_output capture;
    try {
        auto names = itk::GDCMSeriesFileNames::New();
        names->SetUseSeriesDetails(true);
        names->SetDirectory(folder);
        const auto series = names->GetSeriesUIDs();
        if (series.empty()) {
            throw file_error(with_details(folder + ": a folder without a DICOM series", capture));
        }
        if (series.size() > 1) {
            throw file_error(folder + ": the folder holds " + std::to_string(series.size()) +
                             " DICOM series; give a folder with one");
        }
        const auto files = names->GetFileNames(series.front());
        if (files.empty()) {
            throw file_error(folder + ": no readable DICOM file in the series");
        }
        auto io = itk::GDCMImageIO::New();
        io->SetFileName(files.front());
        io->ReadImageInformation();
        image result;
        switch (io->GetComponentType()) {
        case IOComponentEnum::UCHAR:
            result = read_series<std::uint8_t>(files, io);
            break;
        case IOComponentEnum::CHAR:
            result = read_series<std::int8_t>(files, io);
            break;
        case IOComponentEnum::USHORT:
            result = read_series<std::uint16_t>(files, io);
            break;
        case IOComponentEnum::SHORT:
            result = read_series<std::int16_t>(files, io);
            break;
        case IOComponentEnum::UINT:
            result = read_series<std::uint32_t>(files, io);
            break;
        case IOComponentEnum::INT:
            result = read_series<std::int32_t>(files, io);
            break;
        case IOComponentEnum::FLOAT:
            result = read_series<float>(files, io);
            break;
        case IOComponentEnum::DOUBLE:
            result = read_series<double>(files, io);
            break;
        default:
            throw file_error(folder + ": DICOM voxels of type " +
                             itk::ImageIOBase::GetComponentTypeAsString(io->GetComponentType()) +
                             " are not supported");
        }
        std::string problem;
        if (result.validate(problem)) {
            throw file_error(folder + ": " + problem);
        }
        return result;
    } catch (const itk::ExceptionObject& e) {
        throw file_error(with_details(folder + ": " + itk_text(e), capture));
    } catch (const std::bad_alloc&) {
        throw file_error(folder + ": not enough memory for the series");
    }
}

} // namespace detail
} // namespace files
} // namespace slicerbridge
