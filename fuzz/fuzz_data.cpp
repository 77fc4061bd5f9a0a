// libFuzzer target: data decoding (data/: images, meshes, transforms, point lists, tables, and
// the typed arrays inside them). Every map with a string `type` in the head the input decodes
// to is read as a data value, as invoke inputs and outputs are. What is accepted must be valid,
// survive encoding and decoding unchanged, and convert between RAS and LPS and to native byte
// order into valid data.

#include "common.hpp"

#include <slicerbridge/data/data_value.hpp>
#include <slicerbridge/data/space.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <system_error>
#include <type_traits>
#include <variant>
#include <vector>

namespace {

namespace sb = slicerbridge;

sb::space other(sb::space s) {
    return s == sb::space::ras ? sb::space::lps : sb::space::ras;
}

bool same_number(double a, double b) {
    return a == b || (std::isnan(a) && std::isnan(b));
}

void same_numbers(const sb::image& a, const sb::image& b) {
    FUZZ_CHECK(a.ijk_to_space == b.ijk_to_space); // finite ([IMG-2])
}

void same_numbers(const sb::image_series& a, const sb::image_series& b) {
    FUZZ_CHECK(a.volumes == b.volumes); // finite matrices, values and gradients ([SER-3])
}

void same_numbers(const sb::transform& a, const sb::transform& b) {
    FUZZ_CHECK(a.matrix == b.matrix); // finite ([XFM-1])
}

void same_numbers(const sb::point_list& a, const sb::point_list& b) {
    const sb::typed_array x = a.points.to_native_byte_order();
    const sb::typed_array y = b.points.to_native_byte_order();
    FUZZ_CHECK(x.count() == y.count() && x.dtype == sb::dtype::float64 && y.dtype == x.dtype);
    const double* xs = x.values<double>();
    const double* ys = y.values<double>();
    for (std::uint64_t i = 0; i < x.count() * 3; ++i) {
        FUZZ_CHECK(same_number(xs[i], ys[i]));
    }
}

template <class T>
void check_spaces(const T& d) {
    if constexpr (std::is_same_v<T, sb::image> || std::is_same_v<T, sb::transform> ||
                  std::is_same_v<T, sb::point_list> || std::is_same_v<T, sb::image_series>) {
        const T flipped = d.in_space(other(d.space));
        FUZZ_CHECK(!flipped.validate());
        // Negating x and y twice gives the same numbers (zeros come back as +0.0: converted
        // coordinates hold no -0.0).
        same_numbers(flipped.in_space(d.space), d);
    } else if constexpr (std::is_same_v<T, sb::mesh>) {
        FUZZ_CHECK(!d.in_space(sb::space::lps).validate());
    }
    if constexpr (std::is_same_v<T, sb::image> || std::is_same_v<T, sb::image_series>) {
        const T native = d.to_native_byte_order();
        FUZZ_CHECK(!native.validate());
        FUZZ_CHECK(native.data.size() == d.data.size());
    }
}

/// Typed arrays (a map with a string `dtype` and bulk `data`) in `v`, as to_value wrote them
/// (sharing the decoded buffers): their data must be aligned for their scalars, so that
/// values<T>() and voxels<T>() give pointers that may be dereferenced.
void check_aligned(const sb::value& v) {
    if (v.is_map()) {
        const sb::value* dtype = v.find("dtype");
        const sb::value* data = v.find("data");
        if (dtype != nullptr && dtype->is_string() && data != nullptr && data->is_bulk()) {
            const std::optional<sb::dtype> type = sb::dtype_from_name(dtype->as_string());
            FUZZ_CHECK(type.has_value());
            const auto address = reinterpret_cast<std::uintptr_t>(data->as_bulk().data.data());
            FUZZ_CHECK(address % sb::dtype_size(*type) == 0);
        }
        for (const auto& entry : v.as_map()) {
            check_aligned(entry.second);
        }
    } else if (v.is_array()) {
        for (const auto& element : v.as_array()) {
            check_aligned(element);
        }
    }
}

void read_data(const sb::value& v) {
    std::error_code ec;
    std::string what;
    const sb::data_value d = sb::data_from_value(v, ec, what);
    if (ec) {
        FUZZ_CHECK(ec == sb::error::invalid_argument);
        return;
    }
    std::visit(
        [](const auto& held) {
            FUZZ_CHECK(!held.validate());
            check_spaces(held);
        },
        d);
    const sb::value written = sb::to_value(d);
    check_aligned(written);
    const std::optional<std::vector<std::byte>> bytes = fuzz::check_round_trip(written);
    if (!bytes) {
        return;
    }
    const sb::data_value again = sb::data_from_value(fuzz::decode_encoded(*bytes), ec, what);
    FUZZ_CHECK(!ec);
    FUZZ_CHECK(again.index() == d.index());
    FUZZ_CHECK(fuzz::encode(sb::to_value(again)) == bytes);
}

/// Reads every map with a string `type` as a data value, depth first, at most `budget` of them.
void walk(const sb::value& v, int& budget) {
    if (budget <= 0) {
        return;
    }
    if (v.is_map()) {
        const sb::value* type = v.find("type");
        if (type != nullptr && type->is_string()) {
            --budget;
            read_data(v);
        }
        for (const auto& entry : v.as_map()) {
            walk(entry.second, budget);
        }
    } else if (v.is_array()) {
        for (const auto& element : v.as_array()) {
            walk(element, budget);
        }
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::optional<sb::value> head = fuzz::decode_input(data, size);
    if (!head) {
        return 0;
    }
    int budget = 16;
    walk(*head, budget);
    return 0;
}
