#ifndef SLICERBRIDGE_REFERENCE_PROCESSORS_COMMON_HPP
#define SLICERBRIDGE_REFERENCE_PROCESSORS_COMMON_HPP

// What the VTK processors share beyond basics.hpp: running a VTK algorithm with progress and
// cancellation, and visiting voxels by dtype.

#include "basics.hpp"

#include <slicerbridge/vtk.hpp>

#include <vtkAlgorithm.h>
#include <vtkCallbackCommand.h>
#include <vtkCommand.h>
#include <vtkSmartPointer.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace slicerbridge {
namespace reference {

// ---- VTK algorithms ----------------------------------------------------------------------------

/// Runs `algorithm`, forwarding its progress events as [start, end] of the call's progress and
/// asking it to abort when the call is cancelled; throws call_cancelled if the call was
/// cancelled meanwhile.
inline void run_algorithm(call_context& ctx, vtkAlgorithm* algorithm, double start, double end,
                          const std::string& message) {
    struct observer_data {
        call_context* ctx;
        double start;
        double end;
        const std::string* message;
    } data{&ctx, start, end, &message};
    auto observer = vtkSmartPointer<vtkCallbackCommand>::New();
    observer->SetClientData(&data);
    observer->SetCallback([](vtkObject* caller, unsigned long, void* client, void* call_data) {
        const auto* d = static_cast<observer_data*>(client);
        const double fraction = call_data != nullptr ? *static_cast<double*>(call_data) : 0.0;
        d->ctx->report_progress(d->start + (d->end - d->start) * fraction, *d->message);
        if (d->ctx->cancelled()) {
            static_cast<vtkAlgorithm*>(caller)->SetAbortExecute(1);
        }
    });
    const unsigned long tag = algorithm->AddObserver(vtkCommand::ProgressEvent, observer);
    ctx.throw_if_cancelled();
    algorithm->Update();
    algorithm->RemoveObserver(tag);
    ctx.throw_if_cancelled();
    ctx.report_progress(end, message);
}

// ---- voxels ------------------------------------------------------------------------------------

/// Calls `f(T{})` with the C++ type of `t`.
template <class F>
decltype(auto) visit_dtype(dtype t, F&& f) {
    switch (t) {
    case dtype::int8:
        return f(std::int8_t{});
    case dtype::uint8:
        return f(std::uint8_t{});
    case dtype::int16:
        return f(std::int16_t{});
    case dtype::uint16:
        return f(std::uint16_t{});
    case dtype::int32:
        return f(std::int32_t{});
    case dtype::uint32:
        return f(std::uint32_t{});
    case dtype::int64:
        return f(std::int64_t{});
    case dtype::uint64:
        return f(std::uint64_t{});
    case dtype::float32:
        return f(float{});
    case dtype::float64:
        break;
    }
    return f(double{});
}

/// The inclusive range [lower, upper] as thresholds for VTK filters that cast them to the image's
/// scalar type (truncating 0.5 to 0 for integers): rounded inwards to whole numbers for integer
/// types and clamped to the values the type holds.
inline std::pair<double, double> range_for_dtype(double lower, double upper, dtype t) {
    if (is_integer_dtype(t)) {
        lower = std::ceil(lower);
        upper = std::floor(upper);
    }
    return visit_dtype(t, [lower, upper](auto type) {
        using T = decltype(type);
        const double low = static_cast<double>(std::numeric_limits<T>::lowest());
        const double high = static_cast<double>(std::numeric_limits<T>::max());
        return std::pair<double, double>(std::min(std::max(lower, low), high),
                                         std::min(std::max(upper, low), high));
    });
}

/// Length of each column of the upper 3x3 of `m`: the voxel spacing along i, j and k.
inline std::array<double, 3> column_lengths(const matrix4& m) {
    std::array<double, 3> lengths{};
    for (std::size_t column = 0; column < 3; ++column) {
        lengths[column] = std::sqrt(m[column] * m[column] + m[4 + column] * m[4 + column] +
                                    m[8 + column] * m[8 + column]);
    }
    return lengths;
}

/// Volume of one voxel in mm^3: |det| of the upper 3x3.
inline double voxel_volume(const matrix4& m) { return std::abs(linear_determinant(m)); }

/// m * [x, y, z, 1].
inline std::array<double, 3> apply(const matrix4& m, double x, double y, double z) {
    std::array<double, 3> out{};
    for (std::size_t row = 0; row < 3; ++row) {
        out[row] = m[row * 4] * x + m[row * 4 + 1] * y + m[row * 4 + 2] * z + m[row * 4 + 3];
    }
    return out;
}

inline matrix4 multiply(const matrix4& a, const matrix4& b) {
    matrix4 r{};
    for (std::size_t row = 0; row < 4; ++row) {
        for (std::size_t column = 0; column < 4; ++column) {
            double sum = 0;
            for (std::size_t k = 0; k < 4; ++k) {
                sum += a[row * 4 + k] * b[k * 4 + column];
            }
            r[row * 4 + column] = sum;
        }
    }
    return r;
}

/// A distinct colour per label value, for the segments of label outputs.
inline std::array<double, 3> label_color(std::int64_t label) {
    static constexpr std::array<std::array<double, 3>, 8> palette{{
        {0.90, 0.60, 0.20},
        {0.30, 0.70, 0.90},
        {0.50, 0.80, 0.30},
        {0.85, 0.35, 0.45},
        {0.65, 0.50, 0.85},
        {0.95, 0.85, 0.30},
        {0.40, 0.75, 0.70},
        {0.80, 0.55, 0.65},
    }};
    const auto index = static_cast<std::size_t>((label % 8 + 8) % 8);
    return palette[index];
}

} // namespace reference
} // namespace slicerbridge

#endif
