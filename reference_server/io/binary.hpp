#ifndef SLICERBRIDGE_REFERENCE_IO_BINARY_HPP
#define SLICERBRIDGE_REFERENCE_IO_BINARY_HPP

// Helpers shared by the file formats. Internal to the io library.

#include "file_io.hpp"

#include <slicerbridge/data/image.hpp>

#include <array>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace slicerbridge {
namespace files {
namespace detail {

/// The whole file's bytes.
std::vector<char> read_file(const std::string& path);

/// The directory part of `path`, with a trailing slash, or "" for a bare name.
std::string directory_of(const std::string& path);

/// The file name without its directory.
std::string file_name_of(const std::string& path);

/// Splits on spaces and tabs.
std::vector<std::string> split_words(const std::string& text);

/// Trims spaces, tabs and carriage returns at both ends.
std::string trim(const std::string& text);

/// Parses a whole string as a number; throws file_error naming `what`.
double parse_double(const std::string& text, const std::string& what);
std::int64_t parse_int(const std::string& text, const std::string& what);

/// Shortest text that reads back as exactly `x`.
std::string format_double(double x);

/// `value` in this machine's byte order at `offset` of `bytes` (a header being written).
template <class T>
void put(std::string& bytes, std::size_t offset, T value) {
    std::memcpy(bytes.data() + offset, &value, sizeof(T));
}

/// Length of each column of the upper 3x3: the voxel spacing along i, j and k.
std::array<double, 3> column_lengths(const matrix4& m);

/// Output of VTK, ITK and the libraries below them (teem, niftilib, MetaIO, GDCM) while it
/// lives: standard output and standard error (file descriptors 1 and 2, so that C's stdio and
/// C++'s streams are both caught) go to a temporary file, and VTK's and ITK's output windows
/// collect their text. Nothing reaches the user's terminal raw; `text()` gives what was said,
/// for an error message. One at a time, on the thread that reads or writes files.
class captured_output {
public:
    captured_output();
    ~captured_output();
    captured_output(const captured_output&) = delete;
    captured_output& operator=(const captured_output&) = delete;

    /// Everything captured so far, trimmed, on one line, at most a few hundred characters.
    std::string text();

private:
    int saved_out_ = -1;
    int saved_err_ = -1;
    int file_ = -1;
};

/// Text collected by the output windows installed by captured_output (cleared by it).
std::string& window_text();

/// A library's message made readable: only its first error, without VTK's source locations or
/// the objects' addresses ("vtkSTLReader (0x55...): ...", "itk::ERROR: NrrdImageIO(0x...): ").
std::string tidy_library_text(std::string text);

/// A file written under a temporary name in its final folder and renamed into place by
/// commit(): a failed write or a killed process never leaves a partial file at `path`. Writers
/// that make several files (a header and its data) write into a private folder beside `path`,
/// whose files are all moved into place, the one named `path` last.
class atomic_output {
public:
    /// `neutral_name`, if given, is the name the writer writes under instead of the final one
    /// (niftilib reads meaning into names such as "scan.img.nii"); only for single-file formats.
    explicit atomic_output(const std::string& path, const std::string& neutral_name = {});
    ~atomic_output();
    atomic_output(const atomic_output&) = delete;
    atomic_output& operator=(const atomic_output&) = delete;

    /// Where the writer writes: the final file name inside the private folder.
    const std::string& path() const { return temporary_; }
    void commit();

private:
    std::string final_;
    std::string folder_;
    std::string temporary_;
    bool committed_ = false;
};

/// Size of a regular file; throws file_error naming `path` and `role` if it is missing or not a
/// regular file.
std::uint64_t file_size(const std::string& path, const std::string& role = "");

/// What a volume's header says about its voxels, checked against the bytes on disk before
/// anything is allocated (the formats' own readers allocate first and read afterwards).
struct volume_header {
    /// NIfTI only: the facts ITK reads but does not hand over.
    bool nifti = false;
    int nifti_version = 0;
    int qform_code = 0;
    int sform_code = 0;
    int xyzt_units = 0;
    int intent_code = 0;
    double time_step = 0; // pixdim[4]
    double scl_slope = 0;
    double scl_inter = 0;
    /// The sform's three rows (RAS), when sform_code is set. ITK 5.2 replaces a sform with a
    /// shear (which ITK's geometry cannot hold) by the qform; the protocol carries any affine,
    /// so the sform is the geometry, as in nibabel and the NIfTI standard's method 3.
    std::optional<std::array<double, 12>> sform;
    /// NRRD only: the header's space, for ITK 5.2's reading of left-anterior-superior.
    std::string nrrd_space;
    /// NRRD only: the header's space directions and origin as an LPS matrix, to the last bit.
    /// ITK splits them into spacings and unit directions, which a product puts back only to
    /// within a rounding; where the two agree to that, these exact numbers are the geometry,
    /// so that a file read and written again keeps every digit ([IMG-5]).
    std::optional<matrix4> exact_lps;
    /// NIfTI only: where the header and the voxels are, for restore_non_finite and NIfTI-2.
    std::string header_path;
    std::string data_path;
    std::uint64_t data_offset = 0;
    bool swapped = false;
    int datatype = 0;
    /// False when a compressed file's floats were all seen finite while checking its stream.
    bool may_hold_non_finite = true;
};

/// niftilib, which ITK (and so Slicer) reads NIfTI with, replaces NaN and infinite floats by 0
/// while it loads them (nifti_read_buffer). A NaN often means "no value here", so that is data
/// changed without a word: this puts the file's non-finite values back into `img`, which ITK read
/// from the file `header` describes (scaled as ITK scales). Floats only; others are untouched.
void restore_non_finite(const volume_header& header, image& img);

/// Reads the header of a NRRD, NIfTI/Analyze or MetaImage file and checks what it claims
/// (dimensions, type, data length) against the files it names. Throws file_error.
volume_header preflight(const std::string& path, const std::string& extension);

// NIfTI-2, which Debian 12's ITK 5.2 cannot read or write (nifti2.cpp). `input` is the header
// of the NIfTI input on the same grid, if any: its codes, time unit and time step are kept.
image read_nifti2(const volume_header& header);
void write_nifti2(const image& img, const std::string& path, const std::string& extension,
                  const std::optional<volume_header>& input);

// Volumes through ITK (itk_images.cpp).
image read_itk_image(const std::string& path, const std::string& extension);
void write_itk_image(const image& img, const std::string& path, const std::string& extension);
/// A DICOM series in a folder (one series: a folder with several is an error).
image read_dicom_series(const std::string& folder);

// The formats VTK handles (vtk_formats.cpp); `extension` as `extension_of` gives it.
image read_vti(const std::string& path);
void write_vti(const image& img, const std::string& path);
mesh read_vtk_mesh(const std::string& path, const std::string& extension);
void write_vtk_mesh(const mesh& m, const std::string& path, const std::string& extension);

} // namespace detail
} // namespace files
} // namespace slicerbridge

#endif
