#ifndef SLICERBRIDGE_REFERENCE_IO_BINARY_HPP
#define SLICERBRIDGE_REFERENCE_IO_BINARY_HPP

// Helpers shared by the raw-data image formats (NRRD, MetaImage). Internal to the io library.

#include "file_io.hpp"

#include <slicerbridge/data/image.hpp>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace slicerbridge {
namespace files {
namespace detail {

/// The whole file's bytes.
std::vector<char> read_file(const std::string& path);

/// Writes `header` then `data` to `path`, replacing it.
void write_file(const std::string& path, const std::string& header, const buffer& data);

/// Inflates a zlib or gzip stream of exactly `expected` output bytes.
buffer inflate(const char* data, std::size_t size, std::size_t expected, const std::string& path);

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

/// a * b.
matrix4 multiply(const matrix4& a, const matrix4& b);

/// Length of each column of the upper 3x3: the voxel spacing along i, j and k.
std::array<double, 3> column_lengths(const matrix4& m);

// The formats VTK handles (vtk_formats.cpp); `extension` as `extension_of` gives it.
image read_nifti(const std::string& path);
void write_nifti(const image& img, const std::string& path);
image read_vti(const std::string& path);
void write_vti(const image& img, const std::string& path);
mesh read_vtk_mesh(const std::string& path, const std::string& extension);
void write_vtk_mesh(const mesh& m, const std::string& path, const std::string& extension);

} // namespace detail
} // namespace files
} // namespace slicerbridge

#endif
