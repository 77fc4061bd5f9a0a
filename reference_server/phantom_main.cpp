// slicerbridge-phantom: writes a synthetic CT-like volume with oblique geometry, for demos and
// tests: a noisy ellipsoidal body with two brighter spheres inside, int16.

#include "file_io.hpp"

#include <array>
#include <cmath>
#include <cstdint>
#include <iostream>
#include <string>
#include <vector>

namespace {

constexpr const char* usage_text = R"(Usage: slicerbridge-phantom OUTPUT [--size N] [--space RAS|LPS]

Writes an N x N x N int16 phantom (default N = 128) in the format of OUTPUT's extension: an
ellipsoidal body (about 40) with a large sphere (about 120) and a small one (about 200), plus
noise, on a grid rotated 25 degrees about S and 15 about R with 1 x 1 x 1.2 mm voxels. The
sphere centres are printed in RAS. --space picks the space the file's geometry is written in.
)";

using namespace slicerbridge;

struct blob {
    std::array<double, 3> centre;
    std::array<double, 3> radii;
    double value;
};

} // namespace

int main(int argc, char** argv) {
    std::string output;
    std::uint64_t size = 128;
    space target = space::lps;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--help" || arg == "-h") {
            std::cout << usage_text;
            return 0;
        }
        if ((arg == "--size" || arg == "--space") && i + 1 >= argc) {
            std::cerr << "slicerbridge-phantom: " << arg << " needs a value\n";
            return 2;
        }
        if (arg == "--size") {
            const std::string text = argv[++i];
            try {
                const long parsed = std::stol(text);
                if (parsed < 8 || parsed > 1024) {
                    throw std::out_of_range(text);
                }
                size = static_cast<std::uint64_t>(parsed);
            } catch (const std::exception&) {
                std::cerr << "slicerbridge-phantom: --size expects an integer in 8..1024\n";
                return 2;
            }
        } else if (arg == "--space") {
            const auto parsed = space_from_name(argv[++i]);
            if (!parsed) {
                std::cerr << "slicerbridge-phantom: --space expects RAS or LPS\n";
                return 2;
            }
            target = *parsed;
        } else if (output.empty() && arg[0] != '-') {
            output = arg;
        } else {
            std::cerr << "slicerbridge-phantom: unexpected argument \"" << arg << "\"\n"
                      << usage_text;
            return 2;
        }
    }
    if (output.empty()) {
        std::cerr << usage_text;
        return 2;
    }

    const double a = 25.0 * M_PI / 180.0;
    const double b = 15.0 * M_PI / 180.0;
    const double rz[9] = {std::cos(a), -std::sin(a), 0, std::sin(a), std::cos(a), 0, 0, 0, 1};
    const double rx[9] = {1, 0, 0, 0, std::cos(b), -std::sin(b), 0, std::sin(b), std::cos(b)};
    const double spacing[3] = {1.0, 1.0, 1.2};
    matrix4 m = identity_matrix;
    const double n = static_cast<double>(size);
    for (std::size_t row = 0; row < 3; ++row) {
        for (std::size_t column = 0; column < 3; ++column) {
            double rotation = 0;
            for (std::size_t k = 0; k < 3; ++k) {
                rotation += rx[row * 3 + k] * rz[k * 3 + column];
            }
            m[row * 4 + column] = rotation * spacing[column];
        }
    }
    // Centre the grid on (10, -20, 30) RAS.
    const double middle = (n - 1) / 2.0;
    const std::array<double, 3> grid_centre{10, -20, 30};
    for (std::size_t row = 0; row < 3; ++row) {
        m[row * 4 + 3] = grid_centre[row] - middle * (m[row * 4] + m[row * 4 + 1] + m[row * 4 + 2]);
    }
    const double scale = n / 128.0;
    const std::vector<blob> blobs = {
        {grid_centre, {50 * scale, 42 * scale, 55 * scale}, 40},
        {{grid_centre[0] - 18 * scale, grid_centre[1] + 6 * scale, grid_centre[2]},
         {16 * scale, 16 * scale, 16 * scale},
         120},
        {{grid_centre[0] + 20 * scale, grid_centre[1] - 8 * scale, grid_centre[2] + 12 * scale},
         {8 * scale, 8 * scale, 8 * scale},
         200},
    };

    image phantom = image::allocate({size, size, size}, dtype::int16);
    phantom.ijk_to_space = m;
    phantom.space = space::ras;
    auto* voxels = phantom.mutable_voxels<std::int16_t>();
    std::uint32_t noise_state = 12345;
    std::size_t index = 0;
    for (std::uint64_t k = 0; k < size; ++k) {
        for (std::uint64_t j = 0; j < size; ++j) {
            for (std::uint64_t i = 0; i < size; ++i, ++index) {
                std::array<double, 3> p{};
                for (std::size_t row = 0; row < 3; ++row) {
                    p[row] = m[row * 4] * static_cast<double>(i) +
                             m[row * 4 + 1] * static_cast<double>(j) +
                             m[row * 4 + 2] * static_cast<double>(k) + m[row * 4 + 3];
                }
                double value = 0;
                for (const auto& blob : blobs) {
                    double r = 0;
                    for (std::size_t axis = 0; axis < 3; ++axis) {
                        const double d = (p[axis] - blob.centre[axis]) / blob.radii[axis];
                        r += d * d;
                    }
                    if (r <= 1) {
                        value = blob.value;
                    }
                }
                noise_state = noise_state * 1664525u + 1013904223u;
                const double noise = (static_cast<double>(noise_state >> 8) / 16777216.0 - 0.5) * 20;
                voxels[index] = static_cast<std::int16_t>(std::lround(value + noise));
            }
        }
    }
    try {
        files::write_image(phantom.in_space(target), output);
    } catch (const files::file_error& e) {
        std::cerr << "slicerbridge-phantom: " << e.what() << "\n";
        return 4;
    }
    std::cout << "wrote " << output << ": " << size << "^3 int16, " << space_name(target)
              << " geometry; spheres (RAS mm) at " << blobs[1].centre[0] << "," << blobs[1].centre[1]
              << "," << blobs[1].centre[2] << " r=" << blobs[1].radii[0] << " and "
              << blobs[2].centre[0] << "," << blobs[2].centre[1] << "," << blobs[2].centre[2]
              << " r=" << blobs[2].radii[0] << "\n";
    return 0;
}
