// Converts an image to a vtkImageData and back through slicerbridge::vtk: proof that the
// exported component carries VTK's include paths and libraries.
#include <slicerbridge/vtk.hpp>

#include <cstdio>

int main() {
    using namespace slicerbridge;
    auto sent = image::adopt(std::vector<std::int16_t>{1, 2, 3, 4, 5, 6, 7, 8}, {2, 2, 2});
    const vtk_image converted = to_vtk_image(sent, space::ras);
    const image back = from_vtk_image(converted.data, converted.ijk_to_space, space::ras);
    const bool same = back == sent && converted.data->GetNumberOfPoints() == 8;
    std::printf("%s\n", same ? "VTK round trip ok" : "VTK round trip FAILED");
    return same ? 0 : 1;
}
