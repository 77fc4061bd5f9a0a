#ifndef SLICERBRIDGE_DETAIL_DID_YOU_MEAN_HPP
#define SLICERBRIDGE_DETAIL_DID_YOU_MEAN_HPP

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace slicerbridge {
namespace detail {

/// Edits (insertions, deletions, substitutions, adjacent swaps) that turn `a` into `b`.
inline std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> before(b.size() + 1), previous(b.size() + 1), current(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) {
        previous[j] = j;
    }
    for (std::size_t i = 1; i <= a.size(); ++i) {
        current[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
            current[j] = std::min({previous[j] + 1, current[j - 1] + 1, substitution});
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
                current[j] = std::min(current[j], before[j - 2] + 1);
            }
        }
        before.swap(previous);
        previous.swap(current);
    }
    return previous[b.size()];
}

/// ` (did you mean "x"?)` for the closest of `known` to `name` when it is a likely misspelling
/// (at most a third of its characters wrong, at least one allowed), else nothing.
template <class Names>
std::string did_you_mean(std::string_view name, const Names& known) {
    const std::size_t allowed = std::max<std::size_t>(1, name.size() / 3);
    std::string_view best;
    std::size_t best_distance = allowed + 1;
    for (const auto& candidate : known) {
        const std::size_t distance = edit_distance(name, candidate);
        if (distance < best_distance) {
            best = candidate;
            best_distance = distance;
        }
    }
    if (best_distance > allowed) {
        return {};
    }
    return " (did you mean \"" + std::string(best) + "\"?)";
}

} // namespace detail
} // namespace slicerbridge

#endif
