// The formats VTK reads and writes: VTK XML images, VTK XML and legacy poly data,
// STL. Space tags follow Slicer: "SPACE=RAS|LPS" in legacy and STL headers, a "SPACE" string
// array in the field data of XML files; without a tag a file is LPS.

#include "binary.hpp"

#include <slicerbridge/vtk.hpp>

#include <vtkErrorCode.h>
#include <vtkFieldData.h>
#include <vtkImageData.h>
#include <vtkPolyData.h>
#include <vtkPolyDataReader.h>
#include <vtkPolyDataWriter.h>
#include <vtkSTLReader.h>
#include <vtkSTLWriter.h>
#include <vtkStringArray.h>
#include <vtkTriangleFilter.h>
#include <vtkXMLImageDataReader.h>
#include <vtkXMLImageDataWriter.h>
#include <vtkXMLPolyDataReader.h>
#include <vtkXMLPolyDataWriter.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>

namespace slicerbridge {
namespace files {
namespace detail {

namespace {

constexpr const char* space_tag = "SPACE";

void require_readable(const std::string& path) {
    std::ifstream probe(path, std::ios::binary);
    if (!probe) {
        throw file_error("cannot open " + path + ": " + std::strerror(errno));
    }
}

space space_from_header(const char* header) {
    const std::string text = header != nullptr ? header : "";
    return text.find("SPACE=RAS") != std::string::npos ? space::ras : space::lps;
}

space space_from_field_data(vtkDataObject* data) {
    auto* tag = vtkStringArray::SafeDownCast(data->GetFieldData()->GetAbstractArray(space_tag));
    space result = space::lps;
    if (tag != nullptr && tag->GetNumberOfValues() > 0 &&
        tag->GetValue(0).find("RAS") != std::string::npos) {
        result = space::ras;
    }
    data->GetFieldData()->RemoveArray(space_tag);
    return result;
}

void tag_field_data(vtkDataObject* data, space s) {
    auto tag = vtkSmartPointer<vtkStringArray>::New();
    tag->SetName(space_tag);
    tag->InsertNextValue(std::string(space_name(s)));
    data->GetFieldData()->AddArray(tag);
}

template <class Writer>
void write_or_throw(Writer* writer, const std::string& path) {
    // Writers report failures through their error code and VTK's error output, which
    // captured_output keeps off the terminal and adds to the message.
    captured_output capture;
    writer->Write();
    if (writer->GetErrorCode() != vtkErrorCode::NoError) {
        std::string message = "cannot write " + path + ": " +
                              vtkErrorCode::GetStringFromErrorCode(writer->GetErrorCode());
        const std::string said = tidy_library_text(capture.text());
        if (!said.empty()) {
            message += " [" + said + "]";
        }
        throw file_error(message);
    }
}

/// Runs a reader's Update() with VTK's output captured: an error it reports is a file_error.
template <class Reader>
void update_or_throw(Reader* reader, const std::string& path) {
    captured_output capture;
    reader->Update();
    const std::string said = capture.text();
    if (said.find("ERROR") != std::string::npos ||
        reader->GetErrorCode() != vtkErrorCode::NoError) {
        throw file_error("cannot read " + path +
                         (said.empty() ? "" : ": " + tidy_library_text(said)));
    }
}

} // namespace

image read_vti(const std::string& path) {
    require_readable(path);
    auto reader = vtkSmartPointer<vtkXMLImageDataReader>::New();
    if (!reader->CanReadFile(path.c_str())) {
        throw file_error(path + " is not a VTK XML image file");
    }
    reader->SetFileName(path.c_str());
    update_or_throw(reader.Get(), path);
    vtkImageData* data = reader->GetOutput();
    if (data == nullptr || data->GetPointData()->GetScalars() == nullptr) {
        throw file_error("cannot read " + path);
    }
    const space s = space_from_field_data(data);
    try {
        return from_vtk_image(data, index_to_physical_matrix(data), s);
    } catch (const std::invalid_argument& e) {
        throw file_error(path + ": " + e.what());
    }
}

void write_vti(const image& img, const std::string& path) {
    const auto converted = to_vtk_image(img, img.space);
    const auto& m = img.ijk_to_space;
    const auto spacing = column_lengths(m);
    double direction[9];
    for (std::size_t axis = 0; axis < 3; ++axis) {
        for (std::size_t row = 0; row < 3; ++row) {
            direction[row * 3 + axis] = m[row * 4 + axis] / spacing[axis];
        }
    }
    auto data = vtkSmartPointer<vtkImageData>::New();
    data->ShallowCopy(converted.data);
    data->SetSpacing(spacing.data());
    data->SetOrigin(m[3], m[7], m[11]);
    data->SetDirectionMatrix(direction);
    tag_field_data(data, img.space);
    auto writer = vtkSmartPointer<vtkXMLImageDataWriter>::New();
    writer->SetInputData(data);
    writer->SetFileName(path.c_str());
    write_or_throw(writer.Get(), path);
}

mesh read_vtk_mesh(const std::string& path, const std::string& extension) {
    require_readable(path);
    vtkSmartPointer<vtkPolyData> poly;
    space s = space::lps;
    if (extension == ".vtp") {
        auto reader = vtkSmartPointer<vtkXMLPolyDataReader>::New();
        if (!reader->CanReadFile(path.c_str())) {
            throw file_error(path + " is not a VTK XML poly data file");
        }
        reader->SetFileName(path.c_str());
        update_or_throw(reader.Get(), path);
        poly = reader->GetOutput();
        s = space_from_field_data(poly);
    } else if (extension == ".vtk") {
        auto reader = vtkSmartPointer<vtkPolyDataReader>::New();
        reader->SetFileName(path.c_str());
        if (!reader->IsFilePolyData()) {
            throw file_error(path + " is not a VTK poly data file");
        }
        reader->ReadAllScalarsOn();
        reader->ReadAllVectorsOn();
        reader->ReadAllNormalsOn();
        reader->ReadAllTCoordsOn();
        reader->ReadAllFieldsOn();
        update_or_throw(reader.Get(), path);
        poly = reader->GetOutput();
        s = space_from_header(reader->GetHeader());
    } else {
        auto reader = vtkSmartPointer<vtkSTLReader>::New();
        reader->SetFileName(path.c_str());
        update_or_throw(reader.Get(), path);
        poly = reader->GetOutput();
        std::string header = reader->GetHeader() != nullptr ? reader->GetHeader() : "";
        if (vtkUnsignedCharArray* binary = reader->GetBinaryHeader()) {
            header.assign(reinterpret_cast<const char*>(binary->GetPointer(0)),
                          static_cast<std::size_t>(binary->GetNumberOfValues()));
        }
        s = space_from_header(header.c_str());
    }
    if (poly == nullptr || poly->GetNumberOfPoints() == 0) {
        throw file_error("cannot read a mesh from " + path);
    }
    try {
        return from_vtk_polydata(poly, s);
    } catch (const std::invalid_argument& e) {
        throw file_error(path + ": " + e.what());
    }
}

void write_vtk_mesh(const mesh& m, const std::string& path, const std::string& extension) {
    const auto poly = to_vtk_polydata(m, space::lps);
    const std::string header = "SlicerBridge output. SPACE=LPS";
    if (extension == ".vtp") {
        tag_field_data(poly, space::lps);
        auto writer = vtkSmartPointer<vtkXMLPolyDataWriter>::New();
        writer->SetInputData(poly);
        writer->SetFileName(path.c_str());
        write_or_throw(writer.Get(), path);
    } else if (extension == ".vtk") {
        auto writer = vtkSmartPointer<vtkPolyDataWriter>::New();
        writer->SetInputData(poly);
        writer->SetFileName(path.c_str());
        writer->SetFileTypeToBinary();
        writer->SetHeader(header.c_str());
        write_or_throw(writer.Get(), path);
    } else {
        auto triangles = vtkSmartPointer<vtkTriangleFilter>::New();
        triangles->SetInputData(poly);
        auto writer = vtkSmartPointer<vtkSTLWriter>::New();
        writer->SetInputConnection(triangles->GetOutputPort());
        writer->SetFileName(path.c_str());
        writer->SetFileTypeToBinary();
        writer->SetHeader(header.c_str());
        write_or_throw(writer.Get(), path);
    }
}

} // namespace detail
} // namespace files
} // namespace slicerbridge
