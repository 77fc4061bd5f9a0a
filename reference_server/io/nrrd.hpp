#ifndef SLICERBRIDGE_REFERENCE_IO_NRRD_HPP
#define SLICERBRIDGE_REFERENCE_IO_NRRD_HPP

// NRRD without ITK or VTK (standard C++ and zlib), for builds that have neither: the CLI-module
// proxy on Windows. Slicer hands a CLI module its volumes as uncompressed .nrrd files
// (vtkSlicerCLIModuleLogic::ApplyTask calls ConfigureForDataExchange on the storage node, which
// vtkMRMLVolumeArchetypeStorageNode and vtkMRMLNRRDStorageNode implement as UseCompressionOff),
// and reads back whatever NRRD the module writes.
//
// Read: attached (.nrrd) or detached (.nhdr with one "data file") headers; raw or gzip
// encoding; the protocol's scalar types in either byte order; "space" (RAS, LAS, LPS and their
// long names), "space directions", "space origin", "kinds" (one component axis, the fastest;
// the other axes the image's 1 to 3 spatial axes), "sizes", "line skip", "byte skip" (-1 for
// raw). Every file is hostile: the header is bounded, every field is checked, and the data's
// length is checked against the file (or, compressed, against the most zlib can expand it to)
// before anything is allocated. Errors are file_error naming the file and the field.
//
// Write: one attached .nrrd (or a .nhdr beside a .raw), raw, in LPS with exact space
// directions, as ITK's NrrdImageIO writes it for the ITK build.

#include "file_io.hpp"

#include <slicerbridge/data/image.hpp>
#include <slicerbridge/data/image_series.hpp>

#include <cstdint>
#include <string>

namespace slicerbridge {
namespace files {
namespace nrrd {

/// Limits of the reader. A header longer than `max_header_bytes` is refused.
struct limits {
    std::uint64_t max_header_bytes = 1u << 20;
    /// The most voxel bytes a file may claim, whatever its length.
    std::uint64_t max_data_bytes = std::uint64_t(1) << 40;
};

/// Reads `path` (.nrrd or .nhdr). The image is in LPS, native byte order. Throws file_error.
image read(const std::string& path, const limits& limit = {});

/// Writes `img` to `path` (.nrrd: attached; .nhdr: header, with the voxels in `<stem>.raw`
/// beside it). Writes in place: the caller makes it atomic. Throws file_error.
void write(const image& img, const std::string& path);

/// Reads a MultiVolume file, as Slicer writes a MultiVolume node for a CLI module (spec
/// Appendix B): the frames on the first axis (one component each), one geometry, the frames'
/// values in the key MultiVolume.FrameLabels and their unit in
/// MultiVolume.FrameIdentifyingDICOMTagUnits (s or ms: times in seconds, echo times when the
/// tag is EchoTime; else an index). Every volume takes the file's geometry. Throws file_error.
image_series read_multivolume(const std::string& path, const limits& limit = {});

/// Writes a time, echo-time or index series whose volumes share one geometry as a MultiVolume
/// file (values in seconds). Throws file_error for other series, which the file cannot hold
/// ([SER-2]: it never gives every volume one volume's geometry).
void write_multivolume(const image_series& series, const std::string& path);

} // namespace nrrd
} // namespace files
} // namespace slicerbridge

#endif
