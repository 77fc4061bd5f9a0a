// The file backend of builds without ITK and VTK (the Windows cross build): volumes as NRRD
// through nrrd.cpp; every format that needs ITK or VTK refused with its name and the reason.
// It replaces itk_images.cpp, vtk_formats.cpp, preflight.cpp, nifti2.cpp and output.cpp behind
// the same detail:: functions, so that file_io.cpp and text_formats.cpp serve both builds.

#include "binary.hpp"
#include "nrrd.hpp"

#include <filesystem>
#include <random>
#include <system_error>

namespace slicerbridge {
namespace files {
namespace detail {

namespace fs = std::filesystem;

namespace {

constexpr const char* no_itk =
    "needs ITK, which this build does not have (it reads and writes volumes as NRRD, .nrrd or "
    ".nhdr, only)";
constexpr const char* no_vtk =
    "needs VTK, which this build does not have (no meshes or VTK files; volumes as NRRD only)";

std::string format_name(const std::string& extension) {
    if (extension == ".nii" || extension == ".nii.gz" || extension == ".hdr" ||
        extension == ".img") {
        return "NIfTI/Analyze (" + extension + ")";
    }
    if (extension == ".mha" || extension == ".mhd") {
        return "MetaImage (" + extension + ")";
    }
    return extension.empty() ? std::string("a file without extension") : extension;
}

bool is_nrrd(const std::string& extension) {
    return extension == ".nrrd" || extension == ".nhdr";
}

} // namespace

image read_itk_image(const std::string& path, const std::string& extension) {
    if (!is_nrrd(extension)) {
        throw file_error(path + ": " + format_name(extension) + " " + no_itk);
    }
    return nrrd::read(path);
}

void write_itk_image(const image& img, const std::string& path, const std::string& extension) {
    if (!is_nrrd(extension)) {
        throw file_error(path + ": " + format_name(extension) + " " + no_itk);
    }
    nrrd::write(img, path);
}

image read_dicom_series(const std::string& folder) {
    throw file_error(folder + ": a DICOM series " + no_itk);
}

image read_vti(const std::string& path) {
    throw file_error(path + ": VTK XML image data (.vti) " + no_vtk);
}

void write_vti(const image&, const std::string& path) {
    throw file_error(path + ": VTK XML image data (.vti) " + no_vtk);
}

mesh read_vtk_mesh(const std::string& path, const std::string& extension) {
    throw file_error(path + ": a mesh (" + extension + ") " + no_vtk);
}

void write_vtk_mesh(const mesh&, const std::string& path, const std::string& extension) {
    throw file_error(path + ": a mesh (" + extension + ") " + no_vtk);
}

// The same contract as output.cpp's (binary.hpp), with std::filesystem for its folder.
atomic_output::atomic_output(const std::string& path, const std::string& neutral_name)
    : final_(path) {
    const fs::path target = fs::path(path);
    const fs::path folder = target.has_parent_path() ? target.parent_path() : fs::path(".");
    std::random_device seed;
    std::mt19937_64 random(seed());
    std::error_code ec;
    for (int attempt = 0; attempt < 16 && folder_.empty(); ++attempt) {
        const fs::path candidate =
            folder / (".slicerbridge-" + std::to_string(random() % 1000000000u));
        if (fs::create_directory(candidate, ec) && !ec) {
            folder_ = candidate.string();
        }
    }
    if (folder_.empty()) {
        throw file_error("cannot write " + path + ": the folder " + folder.string() +
                         " does not take new files" + (ec ? " (" + ec.message() + ")" : ""));
    }
    temporary_ =
        (fs::path(folder_) / (neutral_name.empty() ? target.filename() : fs::path(neutral_name)))
            .string();
}

atomic_output::~atomic_output() {
    if (!folder_.empty()) {
        std::error_code ec;
        fs::remove_all(fs::path(folder_), ec);
    }
}

void atomic_output::commit() {
    const fs::path target = fs::path(final_);
    const fs::path folder = target.has_parent_path() ? target.parent_path() : fs::path(".");
    const fs::path main = fs::path(temporary_);
    std::error_code ec;
    bool has_main = false;
    for (const auto& entry : fs::directory_iterator(fs::path(folder_), ec)) {
        if (entry.path().filename() == main.filename()) {
            has_main = true;
            continue;
        }
        fs::rename(entry.path(), folder / entry.path().filename(), ec);
        if (ec) {
            throw file_error("cannot write " + (folder / entry.path().filename()).string() + ": " +
                             ec.message());
        }
    }
    if (!has_main) {
        throw file_error("cannot write " + final_ + ": the writer made no file");
    }
    fs::rename(main, target, ec);
    if (ec) {
        throw file_error("cannot write " + final_ + ": " + ec.message());
    }
    committed_ = true;
}

} // namespace detail
} // namespace files
} // namespace slicerbridge
