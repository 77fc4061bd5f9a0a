#ifndef SLICERBRIDGE_COMPRESSION_HPP
#define SLICERBRIDGE_COMPRESSION_HPP

// Bulk compression codecs (section 3.2) and the set of codecs in force on a connection (4.3).

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace slicerbridge {

/// A bulk codec; the value is the `codec` byte of a 25-byte bulk reference.
enum class codec : std::uint8_t {
    none = 0,
    zstd = 1, ///< RFC 8878, one frame
    lz4 = 2,  ///< LZ4 frame format
};

/// "zstd", "lz4" or "none".
constexpr std::string_view codec_name(codec c) noexcept {
    switch (c) {
    case codec::zstd:
        return "zstd";
    case codec::lz4:
        return "lz4";
    case codec::none:
        break;
    }
    return "none";
}

/// The codec named "zstd" or "lz4".
constexpr std::optional<codec> codec_from_name(std::string_view name) noexcept {
    if (name == "zstd") {
        return codec::zstd;
    }
    if (name == "lz4") {
        return codec::lz4;
    }
    return std::nullopt;
}

/// The capability announcing a codec: "codec.zstd" or "codec.lz4".
inline std::string codec_capability(codec c) {
    return "codec." + std::string(codec_name(c));
}

/// A set of compression codecs (never `codec::none`), e.g. those in force on a connection: the
/// codecs both hellos list ([BULK-5], [CAP-2]).
class codec_set {
public:
    constexpr codec_set() noexcept = default;
    constexpr codec_set(std::initializer_list<codec> codecs) noexcept {
        for (codec c : codecs) {
            insert(c);
        }
    }

    /// Every codec this build implements: both, unless it was built without zstd or lz4
    /// (SLICERBRIDGE_NO_ZSTD, SLICERBRIDGE_NO_LZ4; see detail/zstd_codec.hpp).
    static constexpr codec_set all() noexcept {
        codec_set result;
#if !defined(SLICERBRIDGE_NO_ZSTD)
        result.insert(codec::zstd);
#endif
#if !defined(SLICERBRIDGE_NO_LZ4)
        result.insert(codec::lz4);
#endif
        return result;
    }

    /// The codecs named by `codec.*` capabilities; other strings are ignored ([CAP-1]).
    static codec_set from_capabilities(const std::vector<std::string>& capabilities) {
        codec_set result;
        for (const auto& capability : capabilities) {
            constexpr std::string_view prefix = "codec.";
            if (capability.size() > prefix.size() &&
                std::string_view(capability).substr(0, prefix.size()) == prefix) {
                if (auto c = codec_from_name(std::string_view(capability).substr(prefix.size()))) {
                    result.insert(*c);
                }
            }
        }
        return result;
    }

    /// The capabilities announcing these codecs, zstd first.
    std::vector<std::string> to_capabilities() const {
        std::vector<std::string> result;
        for (codec c : {codec::zstd, codec::lz4}) {
            if (contains(c)) {
                result.push_back(codec_capability(c));
            }
        }
        return result;
    }

    constexpr bool contains(codec c) const noexcept {
        return c != codec::none && (bits_ & bit(c)) != 0;
    }
    constexpr void insert(codec c) noexcept {
        if (c != codec::none) {
            bits_ = static_cast<std::uint8_t>(bits_ | bit(c));
        }
    }
    constexpr void erase(codec c) noexcept {
        bits_ = static_cast<std::uint8_t>(bits_ & ~bit(c));
    }
    constexpr bool empty() const noexcept {
        return bits_ == 0;
    }

    /// The codecs in both sets.
    friend constexpr codec_set operator&(codec_set a, codec_set b) noexcept {
        codec_set result;
        result.bits_ = static_cast<std::uint8_t>(a.bits_ & b.bits_);
        return result;
    }
    friend constexpr bool operator==(codec_set a, codec_set b) noexcept {
        return a.bits_ == b.bits_;
    }
    friend constexpr bool operator!=(codec_set a, codec_set b) noexcept {
        return !(a == b);
    }

private:
    static constexpr std::uint8_t bit(codec c) noexcept {
        return static_cast<std::uint8_t>(1u << static_cast<unsigned>(c));
    }

    std::uint8_t bits_ = 0;
};

} // namespace slicerbridge

#endif
