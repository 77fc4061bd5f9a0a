#include "file_io.hpp"

#include "binary.hpp"

#include <algorithm>
#include <cctype>

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
    return "images: .nrrd .nhdr (read) .nii .nii.gz .mha .mhd .vti; "
           "meshes: .vtp .vtk .stl; tables: .csv; transforms: .tfm .txt (ITK); "
           "points: .mrk.json .json (Slicer markups)";
}

namespace {

[[noreturn]] void unsupported(const std::string& path, const char* what) {
    throw file_error(path + ": unsupported extension for " + what + " (supported " +
                     supported_formats() + ")");
}

} // namespace

image read_image(const std::string& path) {
    const auto extension = extension_of(path);
    if (extension == ".nrrd" || extension == ".nhdr") {
        return read_nrrd(path);
    }
    if (extension == ".nii" || extension == ".nii.gz") {
        return detail::read_nifti(path);
    }
    if (extension == ".mha" || extension == ".mhd") {
        return read_metaimage(path);
    }
    if (extension == ".vti") {
        return detail::read_vti(path);
    }
    unsupported(path, "images");
}

void write_image(const image& img, const std::string& path) {
    const auto extension = extension_of(path);
    if (extension == ".nrrd") {
        write_nrrd(img, path);
    } else if (extension == ".nii" || extension == ".nii.gz") {
        detail::write_nifti(img, path);
    } else if (extension == ".mha" || extension == ".mhd") {
        write_metaimage(img, path);
    } else if (extension == ".vti") {
        detail::write_vti(img, path);
    } else {
        unsupported(path, "images");
    }
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
    detail::write_vtk_mesh(m, path, extension);
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
        if (path != "-" && extension_of(path) != ".csv") {
            unsupported(path, "tables");
        }
        write_table(*t, path);
    } else if (const auto* x = std::get_if<transform>(&data)) {
        write_transform(*x, path);
    } else {
        write_points(std::get<point_list>(data), path);
    }
}

} // namespace files
} // namespace slicerbridge
