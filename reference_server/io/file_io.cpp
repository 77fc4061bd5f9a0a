#include "file_io.hpp"

#include "binary.hpp"
#ifdef SLICERBRIDGE_MULTIVOLUME_FILES
#include "nrrd.hpp"
#endif

#include <algorithm>
#include <cctype>

#include <sys/stat.h>

namespace slicerbridge {
namespace files {

std::string extension_of(const std::string& path) {
    const std::string name = detail::file_name_of(path);
    std::string lower(name.size(), '\0');
    std::transform(name.begin(), name.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    for (const char* doubled : {".nii.gz", ".mrk.json"}) {
        const std::string suffix = doubled;
        if (lower.size() > suffix.size() &&
            lower.compare(lower.size() - suffix.size(), suffix.size(), suffix) == 0) {
            return suffix;
        }
    }
    const auto dot = lower.find_last_of('.');
    return dot == std::string::npos || dot == 0 ? std::string() : lower.substr(dot);
}

std::string supported_formats() {
    return "images: .nrrd .nhdr .nii .nii.gz .hdr/.img .mha .mhd .vti, a DICOM series folder "
           "(read); meshes: .vtp .vtk .stl; tables: .csv; transforms: .tfm .txt (ITK); "
           "points: .mrk.json .json (Slicer markups)";
}

namespace {

[[noreturn]] void unsupported(const std::string& path, const char* what) {
    throw file_error(path + ": unsupported extension for " + what + " (supported " +
                     supported_formats() + ")");
}

bool is_folder(const std::string& path) {
    struct ::stat status {};
    return ::stat(path.c_str(), &status) == 0 && S_ISDIR(status.st_mode);
}

bool is_itk_volume(const std::string& extension) {
    for (const char* e : {".nrrd", ".nhdr", ".nii", ".nii.gz", ".hdr", ".img", ".mha", ".mhd"}) {
        if (extension == e) {
            return true;
        }
    }
    return false;
}

/// Runs `write(temporary path)` and renames the result to `path` when it succeeded.
template <class Write>
void write_atomically(const std::string& path, Write write) {
    const auto extension = extension_of(path);
    const bool single_nifti = extension == ".nii" || extension == ".nii.gz";
    detail::atomic_output output(path, single_nifti ? "volume" + extension : std::string());
    write(output.path());
    output.commit();
}

} // namespace

image read_image(const std::string& path) {
    if (is_folder(path)) {
        return detail::read_dicom_series(path);
    }
    const auto extension = extension_of(path);
    if (is_itk_volume(extension)) {
        return detail::read_itk_image(path, extension);
    }
    if (extension == ".vti") {
        return detail::read_vti(path);
    }
    if (extension == ".dcm") {
        throw file_error(path + ": give the folder of a DICOM series rather than one of its files");
    }
    unsupported(path, "images");
}

void write_image(const image& img, const std::string& path) {
    const auto extension = extension_of(path);
    if (is_itk_volume(extension) && extension != ".img") {
        write_atomically(
            path, [&](const std::string& to) { detail::write_itk_image(img, to, extension); });
    } else if (extension == ".vti") {
        write_atomically(path, [&](const std::string& to) { detail::write_vti(img, to); });
    } else {
        unsupported(path, "images");
    }
}

image read_nrrd(const std::string& path) {
    return detail::read_itk_image(path, ".nrrd");
}

void write_nrrd(const image& img, const std::string& path) {
    write_atomically(path,
                     [&](const std::string& to) { detail::write_itk_image(img, to, ".nrrd"); });
}

image read_metaimage(const std::string& path) {
    return detail::read_itk_image(path, extension_of(path) == ".mhd" ? ".mhd" : ".mha");
}

void write_metaimage(const image& img, const std::string& path) {
    write_atomically(path, [&](const std::string& to) {
        detail::write_itk_image(img, to, extension_of(path) == ".mhd" ? ".mhd" : ".mha");
    });
}

mesh read_mesh(const std::string& path) {
    const auto extension = extension_of(path);
    if (extension != ".vtp" && extension != ".vtk" && extension != ".stl") {
        unsupported(path, "meshes");
    }
    return detail::read_vtk_mesh(path, extension);
}

void write_mesh(const mesh& m, const std::string& path) {
    const auto extension = extension_of(path);
    if (extension != ".vtp" && extension != ".vtk" && extension != ".stl") {
        unsupported(path, "meshes");
    }
    write_atomically(path,
                     [&](const std::string& to) { detail::write_vtk_mesh(m, to, extension); });
}

data_value read_data(const std::string& path, slot_type type, std::optional<image_kind> kind) {
    switch (type) {
    case slot_type::image: {
        image img = read_image(path);
        if (kind) {
            if (*kind == image_kind::label && !is_integer_dtype(img.dtype)) {
                throw file_error(path + ": a label image needs integer voxels");
            }
            if (*kind != image_kind::vector && img.components != 1) {
                throw file_error(path + ": a " + std::string(image_kind_name(*kind)) +
                                 " image has one component");
            }
            img.kind = *kind;
        }
        return img;
    }
    case slot_type::mesh:
        return read_mesh(path);
    case slot_type::table:
        if (extension_of(path) != ".csv") {
            unsupported(path, "tables");
        }
        return read_table(path);
    case slot_type::transform:
        if (extension_of(path) != ".tfm" && extension_of(path) != ".txt") {
            unsupported(path, "transforms");
        }
        return read_transform(path);
    case slot_type::points:
        if (extension_of(path) != ".json" && extension_of(path) != ".mrk.json") {
            unsupported(path, "points");
        }
        return read_points(path);
    case slot_type::image_series:
#ifdef SLICERBRIDGE_MULTIVOLUME_FILES
        if (extension_of(path) != ".nrrd" && extension_of(path) != ".nhdr") {
            unsupported(path, "image series");
        }
        return nrrd::read_multivolume(path);
#else
        throw file_error(path + ": image series need MultiVolume NRRD files, which this build "
                                "cannot read (no zlib)");
#endif
    default:
        throw file_error(path + ": not a data slot");
    }
}

void write_data(const data_value& data, const std::string& path) {
    if (const auto* img = std::get_if<image>(&data)) {
        write_image(*img, path);
    } else if (const auto* m = std::get_if<mesh>(&data)) {
        write_mesh(*m, path);
    } else if (const auto* t = std::get_if<table>(&data)) {
        if (path == "-") {
            write_table(*t, path);
            return;
        }
        if (extension_of(path) != ".csv") {
            unsupported(path, "tables");
        }
        write_atomically(path, [&](const std::string& to) { write_table(*t, to); });
    } else if (const auto* x = std::get_if<transform>(&data)) {
        write_atomically(path, [&](const std::string& to) { write_transform(*x, to); });
    } else if (const auto* p = std::get_if<point_list>(&data)) {
        write_atomically(path, [&](const std::string& to) { write_points(*p, to); });
    } else {
#ifdef SLICERBRIDGE_MULTIVOLUME_FILES
        if (extension_of(path) != ".nrrd" && extension_of(path) != ".nhdr") {
            unsupported(path, "image series");
        }
        write_atomically(path, [&](const std::string& to) {
            nrrd::write_multivolume(std::get<image_series>(data), to);
        });
#else
        throw file_error(path + ": image series need MultiVolume NRRD files, which this build "
                                "cannot write (no zlib)");
#endif
    }
}

} // namespace files
} // namespace slicerbridge
