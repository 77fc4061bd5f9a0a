#ifndef SLICERBRIDGE_DETAIL_MSGPACK_DEPTH_HPP
#define SLICERBRIDGE_DETAIL_MSGPACK_DEPTH_HPP

// The nesting depth of an encoded head, for a sender that must respect its peer's `max_depth`
// ([LIMIT-11]): counted as a receiver counts it ([HEAD-5]), the head's own map at depth 1.
// Iterative, without allocating per element; bytes that are not one well-formed MessagePack
// object give the largest depth, so that they are never taken to fit.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

namespace slicerbridge {
namespace detail {

/// The counts of a stack of open containers: the first levels in place (a head is seldom
/// deeper), the rest in a vector.
class open_containers {
public:
    bool empty() const noexcept { return depth_ == 0; }
    std::size_t size() const noexcept { return depth_; }

    std::uint64_t& back() noexcept {
        return depth_ <= in_place ? shallow_[depth_ - 1] : deep_.back();
    }

    void push_back(std::uint64_t count) {
        if (depth_ < in_place) {
            shallow_[depth_] = count;
        } else {
            deep_.push_back(count);
        }
        ++depth_;
    }

    void pop_back() noexcept {
        if (depth_ > in_place) {
            deep_.pop_back();
        }
        --depth_;
    }

private:
    static constexpr std::size_t in_place = 16;
    std::uint64_t shallow_[in_place] = {};
    std::vector<std::uint64_t> deep_;
    std::size_t depth_ = 0;
};

inline std::uint64_t msgpack_depth(const std::vector<std::byte>& bytes) {
    constexpr auto unreadable = std::numeric_limits<std::uint64_t>::max();
    const std::size_t size = bytes.size();
    std::size_t at = 0;
    const auto byte_at = [&](std::size_t i) { return std::to_integer<std::uint8_t>(bytes[i]); };
    const auto big_endian = [&](std::size_t width, std::uint64_t& out) {
        if (size - at < width) {
            return false;
        }
        out = 0;
        for (std::size_t i = 0; i < width; ++i) {
            out = (out << 8) | byte_at(at + i);
        }
        at += width;
        return true;
    };
    const auto skip = [&](std::uint64_t count) {
        if (size - at < count) {
            return false;
        }
        at += static_cast<std::size_t>(count);
        return true;
    };
    // Elements still to read in each open container (a map's count doubled).
    open_containers open;
    std::uint64_t deepest = 0;
    do {
        if (!open.empty()) {
            --open.back();
        }
        if (at >= size) {
            return unreadable;
        }
        const std::uint8_t tag = byte_at(at++);
        std::uint64_t length = 0;
        std::uint64_t container = 0;
        bool is_container = false;
        if (tag <= 0x7f || tag >= 0xe0 || tag == 0xc0 || tag == 0xc2 || tag == 0xc3) {
            // fixints and nil, false, true: nothing follows
        } else if ((tag & 0xf0) == 0x80 || (tag & 0xf0) == 0x90) {
            is_container = true;
            container = (tag & 0x0fu) * ((tag & 0xf0) == 0x80 ? 2u : 1u);
        } else if ((tag & 0xe0) == 0xa0) {
            if (!skip(tag & 0x1fu)) {
                return unreadable;
            }
        } else {
            switch (tag) {
            case 0xcc:
            case 0xd0:
                length = 1;
                break;
            case 0xcd:
            case 0xd1:
                length = 2;
                break;
            case 0xca:
            case 0xce:
            case 0xd2:
                length = 4;
                break;
            case 0xcb:
            case 0xcf:
            case 0xd3:
                length = 8;
                break;
            case 0xd4:
                length = 2;
                break;
            case 0xd5:
                length = 3;
                break;
            case 0xd6:
                length = 5;
                break;
            case 0xd7:
                length = 9;
                break;
            case 0xd8:
                length = 17;
                break;
            case 0xc4:
            case 0xd9:
                if (!big_endian(1, length)) {
                    return unreadable;
                }
                break;
            case 0xc5:
            case 0xda:
                if (!big_endian(2, length)) {
                    return unreadable;
                }
                break;
            case 0xc6:
            case 0xdb:
                if (!big_endian(4, length)) {
                    return unreadable;
                }
                break;
            case 0xc7:
                if (!big_endian(1, length)) {
                    return unreadable;
                }
                ++length;
                break;
            case 0xc8:
                if (!big_endian(2, length)) {
                    return unreadable;
                }
                ++length;
                break;
            case 0xc9:
                if (!big_endian(4, length)) {
                    return unreadable;
                }
                ++length;
                break;
            case 0xdc:
            case 0xde:
                if (!big_endian(2, container)) {
                    return unreadable;
                }
                is_container = true;
                break;
            case 0xdd:
            case 0xdf:
                if (!big_endian(4, container)) {
                    return unreadable;
                }
                is_container = true;
                break;
            default:
                return unreadable; // 0xc1
            }
            if (tag == 0xde || tag == 0xdf) {
                container *= 2;
            }
            if (!skip(length)) {
                return unreadable;
            }
        }
        if (is_container) {
            if (container > size - at) { // every element takes a byte at least
                return unreadable;
            }
            open.push_back(container);
            deepest = std::max<std::uint64_t>(deepest, open.size());
        }
        while (!open.empty() && open.back() == 0) {
            open.pop_back();
        }
    } while (!open.empty());
    return at == size ? deepest : unreadable;
}

} // namespace detail
} // namespace slicerbridge

#endif
