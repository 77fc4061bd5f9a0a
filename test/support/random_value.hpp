#ifndef SLICERBRIDGE_TEST_SUPPORT_RANDOM_VALUE_HPP
#define SLICERBRIDGE_TEST_SUPPORT_RANDOM_VALUE_HPP

// Seeded random value trees for round-trip tests (deterministic: the seed is part of each test).

#include <slicerbridge/value.hpp>

#include <cstdint>
#include <limits>
#include <random>
#include <string>

namespace test_support {

class random_values {
public:
    explicit random_values(std::uint64_t seed) : engine_(seed) {}

    /// A random tree; `with_bulk` adds bulk values (which plain MessagePack cannot hold).
    slicerbridge::value make(int depth = 4, bool with_bulk = false) {
        const int kinds = depth > 0 ? 10 : 8;
        switch (pick(0, kinds - 1)) {
        case 0:
            return nullptr;
        case 1:
            return pick(0, 1) == 1;
        case 2:
            return random_integer();
        case 3:
            return std::uniform_real_distribution<double>(-1e12, 1e12)(engine_);
        case 4:
            return random_string();
        case 5: {
            slicerbridge::value::binary bytes(static_cast<std::size_t>(pick(0, 300)));
            for (auto& b : bytes) {
                b = static_cast<std::byte>(pick(0, 255));
            }
            return bytes;
        }
        case 6:
            if (with_bulk) {
                std::string raw(static_cast<std::size_t>(pick(0, 100)), 'x');
                for (auto& c : raw) {
                    c = static_cast<char>(pick(0, 255));
                }
                return slicerbridge::buffer::copy_of(raw.data(), raw.size());
            }
            return random_integer();
        case 7:
            return static_cast<std::int64_t>(pick(-40, 40));
        case 8: {
            slicerbridge::value::array elements;
            const int n = pick(0, 20);
            for (int i = 0; i < n; ++i) {
                elements.push_back(make(depth - 1, with_bulk));
            }
            return elements;
        }
        default: {
            slicerbridge::value::map entries;
            const int n = pick(0, 20);
            for (int i = 0; i < n; ++i) {
                entries.emplace_back("k" + std::to_string(i) + random_string(),
                                     make(depth - 1, with_bulk));
            }
            return entries;
        }
        }
    }

private:
    int pick(int low, int high) { return std::uniform_int_distribution<int>(low, high)(engine_); }

    slicerbridge::value random_integer() {
        // Mostly around the format boundaries, where encodings change.
        static constexpr std::int64_t edges[] = {
            0, 127, 128, 255, 256, 65535, 65536, 4294967295ll, 4294967296ll, INT64_MAX,
            -1, -32, -33, -128, -129, -32768, -32769, -2147483648ll, -2147483649ll, INT64_MIN};
        const int choice = pick(0, 24);
        if (choice < 20) {
            return edges[choice];
        }
        if (choice == 20) {
            return std::numeric_limits<std::uint64_t>::max() -
                   static_cast<std::uint64_t>(pick(0, 1000));
        }
        return std::uniform_int_distribution<std::int64_t>()(engine_);
    }

    std::string random_string() {
        static const char* pieces[] = {"a", "z", "0", " ", "\xc3\xa9", "\xe2\x82\xac",
                                       "\xf0\x9f\x98\x80", "kind", "\x7f"};
        std::string text;
        const int n = pick(0, 3) == 0 ? pick(0, 300) : pick(0, 12);
        for (int i = 0; i < n; ++i) {
            text += pieces[pick(0, 8)];
        }
        return text;
    }

    std::mt19937_64 engine_;
};

} // namespace test_support

#endif
