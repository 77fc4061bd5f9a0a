#ifndef SLICERBRIDGE_REFERENCE_TESTS_SUPPORT_HPP
#define SLICERBRIDGE_REFERENCE_TESTS_SUPPORT_HPP

// Phantoms with oblique geometry and a way to run a processor as the server would.

#include "processors.hpp"

#include <slicerbridge/message/invoke.hpp>
#include <slicerbridge/processor.hpp>

#include <doctest/doctest.h>

#include <array>
#include <atomic>
#include <cmath>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

namespace test_support {

using namespace slicerbridge;

/// Rotated about z by 30 and about x by 20 degrees, spacing 0.8 x 1.1 x 1.5 mm.
inline matrix4 oblique_matrix(std::array<double, 3> origin = {-12.5, 40.25, 7.0}) {
    const double a = 30.0 * M_PI / 180.0;
    const double b = 20.0 * M_PI / 180.0;
    const double rz[9] = {std::cos(a), -std::sin(a), 0, std::sin(a), std::cos(a), 0, 0, 0, 1};
    const double rx[9] = {1, 0, 0, 0, std::cos(b), -std::sin(b), 0, std::sin(b), std::cos(b)};
    const double spacing[3] = {0.8, 1.1, 1.5};
    matrix4 m = identity_matrix;
    for (int row = 0; row < 3; ++row) {
        for (int column = 0; column < 3; ++column) {
            double rotation = 0;
            for (int k = 0; k < 3; ++k) {
                rotation += rx[row * 3 + k] * rz[k * 3 + column];
            }
            m[row * 4 + column] = rotation * spacing[column];
        }
        m[row * 4 + 3] = origin[static_cast<std::size_t>(row)];
    }
    return m;
}

inline std::array<double, 3> apply(const matrix4& m, double i, double j, double k) {
    std::array<double, 3> out{};
    for (std::size_t row = 0; row < 3; ++row) {
        out[row] = m[row * 4] * i + m[row * 4 + 1] * j + m[row * 4 + 2] * k + m[row * 4 + 3];
    }
    return out;
}

/// The inverse of a 4x4 matrix by Gauss-Jordan elimination with partial pivoting.
inline matrix4 inverse(const matrix4& m) {
    std::array<std::array<double, 8>, 4> rows{};
    for (std::size_t r = 0; r < 4; ++r) {
        for (std::size_t c = 0; c < 4; ++c) {
            rows[r][c] = m[r * 4 + c];
        }
        rows[r][4 + r] = 1;
    }
    for (std::size_t c = 0; c < 4; ++c) {
        std::size_t pivot = c;
        for (std::size_t r = c + 1; r < 4; ++r) {
            if (std::abs(rows[r][c]) > std::abs(rows[pivot][c])) {
                pivot = r;
            }
        }
        std::swap(rows[c], rows[pivot]);
        const double scale = rows[c][c];
        for (auto& x : rows[c]) {
            x /= scale;
        }
        for (std::size_t r = 0; r < 4; ++r) {
            if (r != c) {
                const double factor = rows[r][c];
                for (std::size_t k = 0; k < 8; ++k) {
                    rows[r][k] -= factor * rows[c][k];
                }
            }
        }
    }
    matrix4 result{};
    for (std::size_t r = 0; r < 4; ++r) {
        for (std::size_t c = 0; c < 4; ++c) {
            result[r * 4 + c] = rows[r][4 + c];
        }
    }
    return result;
}

inline double distance(const std::array<double, 3>& a, const std::array<double, 3>& b) {
    return std::sqrt((a[0] - b[0]) * (a[0] - b[0]) + (a[1] - b[1]) * (a[1] - b[1]) +
                     (a[2] - b[2]) * (a[2] - b[2]));
}

struct sphere {
    std::array<double, 3> centre; // in the image's space
    double radius;
    std::int16_t value;
};

/// The grid of the processor tests' phantoms.
inline constexpr std::array<std::uint64_t, 3> phantom_dims{40, 36, 32};

/// An int16 image of `dims` with `m`, 0 outside the spheres, each sphere's value inside.
inline image sphere_phantom(std::array<std::uint64_t, 3> dims, const matrix4& m,
                            const std::vector<sphere>& spheres, space s = space::ras,
                            image_kind kind = image_kind::scalar) {
    std::vector<std::int16_t> voxels(dims[0] * dims[1] * dims[2], 0);
    std::size_t index = 0;
    for (std::uint64_t k = 0; k < dims[2]; ++k) {
        for (std::uint64_t j = 0; j < dims[1]; ++j) {
            for (std::uint64_t i = 0; i < dims[0]; ++i, ++index) {
                const auto p = apply(m, static_cast<double>(i), static_cast<double>(j),
                                     static_cast<double>(k));
                for (const auto& sp : spheres) {
                    if (distance(p, sp.centre) <= sp.radius) {
                        voxels[index] = sp.value;
                    }
                }
            }
        }
    }
    return image::adopt(std::move(voxels), dims, m, s, kind);
}

/// Records progress and cancels on request, as the server's call context does.
class test_context final : public call_context {
public:
    void report_progress(double fraction, std::string_view) override {
        std::function<void(std::size_t)> hook;
        std::size_t count = 0;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            fractions_.push_back(fraction);
            count = fractions_.size();
            hook = on_progress;
        }
        if (hook) {
            hook(count);
        }
    }
    bool cancelled() const noexcept override { return cancelled_.load(); }

    void cancel() { cancelled_ = true; }
    std::vector<double> fractions() const {
        std::lock_guard<std::mutex> lock(mutex_);
        return fractions_;
    }

    /// Called after each progress report with the number reported so far.
    std::function<void(std::size_t)> on_progress;

private:
    mutable std::mutex mutex_;
    std::vector<double> fractions_;
    std::atomic<bool> cancelled_{false};
};

inline processor find_processor(const std::string& name) {
    for (auto& p : reference::all_processors()) {
        if (p.description.name == name) {
            return std::move(p);
        }
    }
    throw std::invalid_argument("no processor " + name);
}

/// Checks the params against the description (filling in defaults) as the server does before
/// running a processor, then runs it. A failed check throws processor_error with its code.
inline invoke_result run(const std::string& name, invoke_params params,
                         call_context& ctx) {
    const processor p = find_processor(name);
    params.processor = name;
    std::error_code ec;
    std::string offending;
    std::string what;
    validate_invoke(p.description, params, ec, offending, what);
    if (ec) {
        throw processor_error(ec.value(), what, value::map{{"name", offending}});
    }
    invoke_result result = p.run(ctx, params);
    validate_invoke_result(p.description, result, ec, offending);
    if (ec) {
        throw std::logic_error("output " + offending + " does not match the description");
    }
    return result;
}

inline invoke_result run(const std::string& name, invoke_params params) {
    test_context ctx;
    return run(name, std::move(params), ctx);
}

/// Scalar `index` of any numeric typed array, as a double.
inline double scalar_at(const typed_array& values, std::size_t index) {
    switch (values.dtype) {
    case dtype::int8:
        return values.scalar<std::int8_t>(index);
    case dtype::uint8:
        return values.scalar<std::uint8_t>(index);
    case dtype::int16:
        return values.scalar<std::int16_t>(index);
    case dtype::uint16:
        return values.scalar<std::uint16_t>(index);
    case dtype::int32:
        return values.scalar<std::int32_t>(index);
    case dtype::uint32:
        return values.scalar<std::uint32_t>(index);
    case dtype::int64:
        return static_cast<double>(values.scalar<std::int64_t>(index));
    case dtype::uint64:
        return static_cast<double>(values.scalar<std::uint64_t>(index));
    case dtype::float32:
        return values.scalar<float>(index);
    case dtype::float64:
        break;
    }
    return values.scalar<double>(index);
}

/// The value at (i, j, k) of a one-component image, as a double.
inline double voxel_at(const image& img, std::uint64_t i, std::uint64_t j, std::uint64_t k) {
    return scalar_at(typed_array{img.dtype, img.components, img.byte_order, img.data},
                     static_cast<std::size_t>(i + img.dims[0] * (j + img.dims[1] * k)));
}

inline bool non_decreasing(const std::vector<double>& values) {
    for (std::size_t i = 1; i < values.size(); ++i) {
        if (values[i] < values[i - 1]) {
            return false;
        }
    }
    return true;
}

} // namespace test_support

#endif
