#ifndef SLICERBRIDGE_REFERENCE_PROCESSORS_LABEL_STATISTICS_HPP
#define SLICERBRIDGE_REFERENCE_PROCESSORS_LABEL_STATISTICS_HPP

// Per-label statistics of a label image, optionally with an intensity volume.

#include "common.hpp"

#include <algorithm>
#include <limits>
#include <map>

namespace slicerbridge {
namespace reference {

namespace detail {

struct label_accumulator {
    std::int64_t count = 0;
    std::array<double, 3> index_sum{};
    double sum = 0;
    double minimum = std::numeric_limits<double>::infinity();
    double maximum = -std::numeric_limits<double>::infinity();
};

inline bool same_grid(const image& a, const image& b) {
    if (a.dims != b.dims) {
        return false;
    }
    const matrix4 other = b.in_space(a.space).ijk_to_space;
    const auto spacing = column_lengths(a.ijk_to_space);
    const double tolerance = 1e-6 * std::max({spacing[0], spacing[1], spacing[2], 1.0});
    for (std::size_t i = 0; i < 16; ++i) {
        if (std::abs(a.ijk_to_space[i] - other[i]) > tolerance) {
            return false;
        }
    }
    return true;
}

} // namespace detail

inline processor label_statistics_processor() {
    processor p;
    auto& d = p.description;
    d.name = "label_statistics";
    d.version = processors_version;
    d.title = "Label statistics";
    d.description =
        "For every label value of a label image (0 left out unless include_zero): voxel "
        "count, volume in mm^3 and centroid in RAS (mm), and, when an intensity volume on the "
        "same grid is given, the mean, minimum and maximum intensity inside the label. Labels "
        "with segments get their segment's name.";
    d.category = "Quantification";
    d.contributor = contributor;
    d.idempotent = true; // the same inputs give the same outputs, and nothing else happens
    d.inputs.push_back(data_slot("labels", slot_type::image, "Label map", "Labels to measure",
                                 false, image_kind::label));
    d.inputs.push_back(data_slot("volume", slot_type::image, "Intensity volume",
                                 "Scalar volume on the same grid, for intensity statistics", true,
                                 image_kind::scalar));
    d.outputs.push_back(data_slot("statistics", slot_type::table, "Statistics",
                                  "One row per label, sorted by label value"));
    d.parameters.push_back(bool_parameter("include_zero", "Include label 0",
                                          "Also measure the background label 0", "Labels",
                                          false));
    p.run = [](call_context& ctx, const invoke_params& params) {
        const image labels = input<image>(params, "labels").to_native_byte_order();
        const image* volume_input = params.input_as<image>("volume");
        const bool include_zero = parameter<bool>(params, "include_zero");
        std::optional<image> volume;
        if (volume_input != nullptr) {
            if (!detail::same_grid(labels, *volume_input)) {
                reject("volume", "not on the grid of labels (dims and ijk_to_space must match)");
            }
            volume = volume_input->to_native_byte_order();
        }

        std::map<std::int64_t, detail::label_accumulator> per_label;
        const auto& dims = labels.dims;
        visit_dtype(labels.dtype, [&](auto label_type) {
            using label_t = decltype(label_type);
            const auto* label_voxels = labels.voxels<label_t>();
            auto accumulate = [&](auto intensity_of) {
                std::size_t index = 0;
                for (std::uint64_t k = 0; k < dims[2]; ++k) {
                    ctx.throw_if_cancelled();
                    for (std::uint64_t j = 0; j < dims[1]; ++j) {
                        for (std::uint64_t i = 0; i < dims[0]; ++i, ++index) {
                            const auto label = static_cast<std::int64_t>(label_voxels[index]);
                            if (label == 0 && !include_zero) {
                                continue;
                            }
                            auto& a = per_label[label];
                            ++a.count;
                            a.index_sum[0] += static_cast<double>(i);
                            a.index_sum[1] += static_cast<double>(j);
                            a.index_sum[2] += static_cast<double>(k);
                            if (const auto intensity = intensity_of(index)) {
                                a.sum += *intensity;
                                a.minimum = std::min(a.minimum, *intensity);
                                a.maximum = std::max(a.maximum, *intensity);
                            }
                        }
                    }
                    ctx.report_progress(static_cast<double>(k + 1) / static_cast<double>(dims[2]),
                                        "measuring");
                }
            };
            if (volume) {
                visit_dtype(volume->dtype, [&](auto volume_type) {
                    using volume_t = decltype(volume_type);
                    const auto* intensities = volume->voxels<volume_t>();
                    accumulate([intensities](std::size_t index) -> std::optional<double> {
                        return static_cast<double>(intensities[index]);
                    });
                });
            } else {
                accumulate([](std::size_t) -> std::optional<double> { return std::nullopt; });
            }
        });

        const matrix4 to_ras = labels.in_space(space::ras).ijk_to_space;
        const double voxel_mm3 = voxel_volume(labels.ijk_to_space);
        std::vector<std::int64_t> label_column;
        std::vector<std::int64_t> count_column;
        std::vector<double> volume_column;
        std::array<std::vector<double>, 3> centroid_columns;
        std::vector<double> mean_column;
        std::vector<double> min_column;
        std::vector<double> max_column;
        std::vector<std::string> name_column;
        for (const auto& [label, a] : per_label) {
            label_column.push_back(label);
            count_column.push_back(a.count);
            volume_column.push_back(static_cast<double>(a.count) * voxel_mm3);
            const double n = static_cast<double>(a.count);
            const auto centroid =
                apply(to_ras, a.index_sum[0] / n, a.index_sum[1] / n, a.index_sum[2] / n);
            for (std::size_t axis = 0; axis < 3; ++axis) {
                centroid_columns[axis].push_back(centroid[axis]);
            }
            mean_column.push_back(a.sum / n);
            min_column.push_back(a.minimum);
            max_column.push_back(a.maximum);
            std::string name;
            for (const auto& s : labels.segments) {
                if (s.value == label) {
                    name = s.name;
                }
            }
            name_column.push_back(std::move(name));
        }
        table statistics;
        statistics.columns.push_back({"label", typed_array::adopt(std::move(label_column))});
        if (!labels.segments.empty()) {
            statistics.columns.push_back({"name", std::move(name_column)});
        }
        statistics.columns.push_back({"voxel_count", typed_array::adopt(std::move(count_column))});
        statistics.columns.push_back({"volume_mm3", typed_array::adopt(std::move(volume_column))});
        const char* centroid_names[] = {"centroid_r", "centroid_a", "centroid_s"};
        for (std::size_t axis = 0; axis < 3; ++axis) {
            statistics.columns.push_back(
                {centroid_names[axis], typed_array::adopt(std::move(centroid_columns[axis]))});
        }
        if (volume) {
            statistics.columns.push_back({"mean", typed_array::adopt(std::move(mean_column))});
            statistics.columns.push_back({"min", typed_array::adopt(std::move(min_column))});
            statistics.columns.push_back({"max", typed_array::adopt(std::move(max_column))});
        }
        return single_output("statistics", std::move(statistics));
    };
    return p;
}

} // namespace reference
} // namespace slicerbridge

#endif
