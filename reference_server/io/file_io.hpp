#ifndef SLICERBRIDGE_REFERENCE_IO_FILE_IO_HPP
#define SLICERBRIDGE_REFERENCE_IO_FILE_IO_HPP

// Reading and writing data files for the command line, with their geometry: images (NRRD,
// NIfTI, MetaImage and DICOM series through ITK, as Slicer reads them; VTK XML image), meshes
// (VTK XML and legacy poly data, STL), tables (CSV), linear transforms (ITK text) and point lists
// (Slicer markups JSON). Files without a space of their own are LPS, as in Slicer's file world;
// RAS/LPS conversion happens on geometry only. Nothing is lost silently: what a file holds that
// the protocol cannot carry (a 4-D series, a matrix, complex voxels) is a file_error, and so is
// a header that claims more data than its files hold, checked before anything is allocated.

#include <slicerbridge/data/data_value.hpp>
#include <slicerbridge/message/catalog.hpp>

#include <iosfwd>
#include <optional>
#include <stdexcept>
#include <string>

namespace slicerbridge {
namespace files {

/// A file that cannot be read or written: missing, unsupported, malformed.
class file_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// Reads `path` as data of slot type `type` (image, mesh, table, transform or points), choosing
/// the format by the file's extension. An image read for a slot with an image kind takes that
/// kind (a label image must have integer voxels). Throws file_error.
data_value read_data(const std::string& path, slot_type type,
                     std::optional<image_kind> kind = std::nullopt);

/// Writes `data` to `path` in the format of its extension, under a temporary name in the same
/// folder that is renamed to `path` only when the file is complete. Throws file_error.
void write_data(const data_value& data, const std::string& path);

/// Throws file_error unless `path` can be written: its folder exists and takes new files, it is
/// not a folder, and (given a slot type) its extension fits that type. The command line calls it
/// for every output before it invokes, so that a computation is never lost to a typo.
void check_writable(const std::string& path, std::optional<slot_type> type = std::nullopt);

/// The extensions accepted for each data type, for help texts.
std::string supported_formats();

image read_image(const std::string& path);
void write_image(const image& img, const std::string& path);
mesh read_mesh(const std::string& path);
void write_mesh(const mesh& m, const std::string& path);
table read_table(const std::string& path);
void write_table(const table& t, const std::string& path);
/// CSV with a header row; `-` as a path means standard output for write_table.
void write_csv(const table& t, std::ostream& out);
transform read_transform(const std::string& path);
void write_transform(const transform& t, const std::string& path);
point_list read_points(const std::string& path);
void write_points(const point_list& p, const std::string& path);

/// The formats behind read_image/write_image, for tests (NRRD and MetaImage through ITK).
image read_nrrd(const std::string& path);
void write_nrrd(const image& img, const std::string& path);
image read_metaimage(const std::string& path);
void write_metaimage(const image& img, const std::string& path);

/// The file's extension in lower case, double extensions such as ".nii.gz" included.
std::string extension_of(const std::string& path);

} // namespace files
} // namespace slicerbridge

#endif
