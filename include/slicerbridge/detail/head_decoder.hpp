#ifndef SLICERBRIDGE_DETAIL_HEAD_DECODER_HPP
#define SLICERBRIDGE_DETAIL_HEAD_DECODER_HPP

// Decodes a head (MessagePack) into a `value`, enforcing everything section 3 asks of a
// receiver while it reads: depth ([HEAD-5]), declared lengths against the bytes remaining
// ([HEAD-8]) and element limits before any allocation, string keys ([HEAD-6]), unique keys
// ([HEAD-7]), UTF-8 ([HEAD-9]), and bulk references resolved against the bulk ([BULK-1] to
// [BULK-8]). It reports errors as codes and throws nothing but std::bad_alloc.

#include <slicerbridge/buffer.hpp>
#include <slicerbridge/compression.hpp>
#include <slicerbridge/detail/bulk_codec.hpp>
#include <slicerbridge/detail/endian.hpp>
#include <slicerbridge/detail/utf8.hpp>
#include <slicerbridge/error.hpp>
#include <slicerbridge/limits.hpp>
#include <slicerbridge/value.hpp>
#include <slicerbridge/wire/descriptors.hpp>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <string_view>
#include <system_error>
#include <tuple>
#include <type_traits>
#include <unordered_set>
#include <utility>
#include <vector>

namespace slicerbridge {
namespace detail {

/// MessagePack ext type of a bulk reference (section 3.2).
inline constexpr std::int8_t bulk_reference_ext_type = 1;
inline constexpr std::size_t bulk_reference_size = 16;
inline constexpr std::size_t compressed_bulk_reference_size = 25;
/// MessagePack ext type of a descriptor reference (section 3.5) and its length.
inline constexpr std::int8_t descriptor_reference_ext_type = 2;
inline constexpr std::size_t descriptor_reference_size = 20;

class head_decoder {
public:
    head_decoder(const buffer& head, const buffer& bulk, const limits& receiver_limits,
                 codec_set allowed, const frame_descriptors* descriptors = nullptr) noexcept
        : position_(head.data()), end_(head.data() + head.size()), bulk_(bulk),
          limits_(receiver_limits), allowed_(allowed), descriptors_(descriptors),
          frame_size_(16 + std::uint64_t{head.size()} + std::uint64_t{bulk.size()}) {}

    value decode(std::error_code& ec) {
        ec.clear();
        value result; // every return names it, so that it is built in the caller's slot
        if (position_ == end_) {
            ec = error::invalid_message; // an empty head ([FRAME-4])
            return result;
        }
        if (!read_value(result, 0)) {
            ec = error_;
            result = value();
            return result;
        }
        if (position_ != end_) {
            ec = error::invalid_message; // bytes after the object ([FRAME-4])
            result = value();
            return result;
        }
        check_descriptors_used();
        if (bad_reference_) {
            ec = *bad_reference_; // the head is still returned, for its id ([BULK-9])
        }
        return result;
    }

    // Piecewise reading, for a caller that knows the usual shape of a head and reads its known
    // parts without building values for them. Each step returns false when the bytes are not
    // what it asks for or break a rule; the caller then decodes the head afresh with `decode`,
    // which reports the error, if any. Only `read_nested` checks limits: the caller checks those
    // of the containers it reads itself.

    /// The next `n` bytes, if there are that many.
    bool take_bytes(std::size_t n, const std::byte*& bytes) noexcept { return take(n, bytes); }

    /// A non-negative integer in any of its MessagePack forms.
    bool take_uint(std::uint64_t& number) noexcept {
        const std::byte* tag_byte = nullptr;
        if (!take(1, tag_byte)) {
            return false;
        }
        const auto tag = std::to_integer<std::uint8_t>(*tag_byte);
        if (tag <= 0x7f) {
            number = tag;
            return true;
        }
        switch (tag) {
        case 0xcc:
            return take_widened<std::uint8_t>(number);
        case 0xcd:
            return take_widened<std::uint16_t>(number);
        case 0xce:
            return take_widened<std::uint32_t>(number);
        case 0xcf:
            return take_number(number);
        default:
            return false;
        }
    }

    /// One object, at `depth` in the head, into `out` (nil), with a well-formed bulk reference
    /// wherever it holds one.
    bool read_nested(value& out, std::uint32_t depth) {
        return read_value(out, depth) && !bad_reference_;
    }

    bool at_end() const noexcept { return position_ == end_; }

private:
    template <class UInt>
    bool take_widened(std::uint64_t& number) noexcept {
        UInt narrow = 0;
        if (!take_number(narrow)) {
            return false;
        }
        number = narrow;
        return true;
    }

    // Every node is built in place, in the nil `value` that is its slot (the result, a fresh
    // array element or map entry), never as a temporary moved into place. Only constructions
    // that cannot throw are emplaced: for any other, std::variant::emplace builds a temporary
    // variant and move-assigns it (libstdc++'s strong guarantee), so strings and vectors are
    // emplaced empty and filled afterwards.
    template <class T, class... Args>
    static T& emplace(value& out, Args&&... args) noexcept {
        static_assert(std::is_nothrow_constructible_v<T, Args...>);
        return out.data_.template emplace<T>(std::forward<Args>(args)...);
    }

    static void set_int(value& out, std::int64_t number) noexcept {
        emplace<std::int64_t>(out, number);
    }

    // [HEAD-9]. ASCII, the common case, is recognised a word at a time (short strings by two
    // overlapping loads); from the first word holding another byte on (a character boundary,
    // since all before it is ASCII), the full check decides.
    static bool valid_utf8(const std::byte* bytes, std::size_t length) noexcept {
        if (length < 8) {
            if (length >= 4) {
                const auto both =
                    load<std::uint32_t>(bytes) | load<std::uint32_t>(bytes + length - 4);
                return (both & 0x80808080u) == 0 || is_valid_utf8(bytes, length);
            }
            std::uint8_t high = 0;
            for (std::size_t i = 0; i < length; ++i) {
                high |= std::to_integer<std::uint8_t>(bytes[i]);
            }
            return (high & 0x80u) == 0 || is_valid_utf8(bytes, length);
        }
        constexpr std::uint64_t high_bits = 0x8080808080808080ull;
        std::size_t i = 0;
        for (; length - i >= 8; i += 8) {
            if ((load<std::uint64_t>(bytes + i) & high_bits) != 0) {
                return is_valid_utf8(bytes + i, length - i);
            }
        }
        // The last word overlaps the ones checked, which hold no high bit.
        return i == length || (load<std::uint64_t>(bytes + length - 8) & high_bits) == 0 ||
               is_valid_utf8(bytes + i, length - i);
    }

    template <class UInt>
    static UInt load(const std::byte* bytes) noexcept {
        UInt word = 0;
        std::memcpy(&word, bytes, sizeof word);
        return word;
    }

    std::size_t remaining() const noexcept { return static_cast<std::size_t>(end_ - position_); }

    bool fail(error e) noexcept {
        error_ = e;
        return false;
    }

    /// A bad bulk reference leaves the MessagePack well formed: decoding goes on with nil in its
    /// place, so that the message can be answered under its id ([BULK-9]).
    bool reject_reference(value& out, error e) noexcept {
        if (!bad_reference_) {
            bad_reference_ = e;
        }
        out = value();
        return true;
    }

    bool take(std::size_t n, const std::byte*& bytes) noexcept {
        if (remaining() < n) {
            return fail(error::invalid_message); // incomplete object ([FRAME-4], [HEAD-8])
        }
        bytes = position_;
        position_ += n;
        return true;
    }

    template <class UInt>
    bool take_number(UInt& number) noexcept {
        const std::byte* bytes = nullptr;
        if (!take(sizeof(UInt), bytes)) {
            return false;
        }
        number = load_big_endian<UInt>(bytes);
        return true;
    }

    template <class UInt>
    bool take_length(std::uint32_t& length) noexcept {
        UInt n = 0;
        if (!take_number(n)) {
            return false;
        }
        length = n;
        return true;
    }

    /// Reads one object into `out`, which is nil.
    bool read_value(value& out, std::uint32_t depth) {
        const std::byte* tag_byte = nullptr;
        if (!take(1, tag_byte)) {
            return false;
        }
        const auto tag = std::to_integer<std::uint8_t>(*tag_byte);
        if (tag <= 0x7f) {
            set_int(out, tag);
            return true;
        }
        if (tag >= 0xe0) {
            set_int(out, static_cast<std::int8_t>(tag));
            return true;
        }
        if ((tag & 0xf0) == 0x80) {
            return read_map(out, tag & 0x0fu, depth);
        }
        if ((tag & 0xf0) == 0x90) {
            return read_array(out, tag & 0x0fu, depth);
        }
        if ((tag & 0xe0) == 0xa0) {
            return read_string(out, tag & 0x1fu);
        }
        std::uint32_t length = 0;
        switch (tag) {
        case 0xc0:
            return true; // nil, as `out` already is
        case 0xc2:
            emplace<bool>(out, false);
            return true;
        case 0xc3:
            emplace<bool>(out, true);
            return true;
        case 0xc4:
            return take_length<std::uint8_t>(length) && read_binary(out, length);
        case 0xc5:
            return take_length<std::uint16_t>(length) && read_binary(out, length);
        case 0xc6:
            return take_length<std::uint32_t>(length) && read_binary(out, length);
        case 0xc7:
            return take_length<std::uint8_t>(length) && read_ext(out, length);
        case 0xc8:
            return take_length<std::uint16_t>(length) && read_ext(out, length);
        case 0xc9:
            return take_length<std::uint32_t>(length) && read_ext(out, length);
        case 0xca: {
            std::uint32_t bits = 0;
            if (!take_number(bits)) {
                return false;
            }
            float number = 0;
            std::memcpy(&number, &bits, sizeof number);
            emplace<double>(out, static_cast<double>(number));
            return true;
        }
        case 0xcb: {
            std::uint64_t bits = 0;
            if (!take_number(bits)) {
                return false;
            }
            double number = 0;
            std::memcpy(&number, &bits, sizeof number);
            emplace<double>(out, number);
            return true;
        }
        case 0xcc:
            return read_unsigned<std::uint8_t>(out);
        case 0xcd:
            return read_unsigned<std::uint16_t>(out);
        case 0xce:
            return read_unsigned<std::uint32_t>(out);
        case 0xcf:
            return read_unsigned<std::uint64_t>(out);
        case 0xd0:
            return read_signed<std::uint8_t, std::int8_t>(out);
        case 0xd1:
            return read_signed<std::uint16_t, std::int16_t>(out);
        case 0xd2:
            return read_signed<std::uint32_t, std::int32_t>(out);
        case 0xd3:
            return read_signed<std::uint64_t, std::int64_t>(out);
        case 0xd4:
            return read_ext(out, 1);
        case 0xd5:
            return read_ext(out, 2);
        case 0xd6:
            return read_ext(out, 4);
        case 0xd7:
            return read_ext(out, 8);
        case 0xd8:
            return read_ext(out, 16);
        case 0xd9:
            return take_length<std::uint8_t>(length) && read_string(out, length);
        case 0xda:
            return take_length<std::uint16_t>(length) && read_string(out, length);
        case 0xdb:
            return take_length<std::uint32_t>(length) && read_string(out, length);
        case 0xdc:
            return take_length<std::uint16_t>(length) && read_array(out, length, depth);
        case 0xdd:
            return take_length<std::uint32_t>(length) && read_array(out, length, depth);
        case 0xde:
            return take_length<std::uint16_t>(length) && read_map(out, length, depth);
        case 0xdf:
            return take_length<std::uint32_t>(length) && read_map(out, length, depth);
        default:
            return fail(error::invalid_message); // 0xc1 is never used
        }
    }

    // Integers are normalised as `value`'s constructor does: int64 whenever they fit.
    template <class UInt>
    bool read_unsigned(value& out) noexcept {
        UInt number = 0;
        if (!take_number(number)) {
            return false;
        }
        if (std::uint64_t{number} <= std::uint64_t{INT64_MAX}) {
            set_int(out, static_cast<std::int64_t>(number));
        } else {
            emplace<std::uint64_t>(out, std::uint64_t{number});
        }
        return true;
    }

    template <class UInt, class Int>
    bool read_signed(value& out) noexcept {
        UInt bits = 0;
        if (!take_number(bits)) {
            return false;
        }
        set_int(out, static_cast<Int>(bits));
        return true;
    }

    bool read_string(value& out, std::uint32_t length) {
        const std::byte* bytes = nullptr;
        if (!take(length, bytes)) {
            return false;
        }
        if (!valid_utf8(bytes, length)) {
            return fail(error::invalid_message);
        }
        // append: of the calls that fill an empty string, the one with the least to do
        emplace<std::string>(out).append(reinterpret_cast<const char*>(bytes), length);
        return true;
    }

    bool read_binary(value& out, std::uint32_t length) {
        const std::byte* bytes = nullptr;
        if (!take(length, bytes)) {
            return false;
        }
        emplace<value::binary>(out).assign(bytes, bytes + length);
        return true;
    }

    // Checks a container header: depth first, then the declared count against the bytes left
    // (each element takes at least `min_bytes_per_element`), then against the element limit.
    // Declared counts are only trusted as far as the bytes remaining; containers grow as their
    // elements are actually read, so memory follows the bytes received, not the claims.
    static constexpr std::uint32_t initial_reserve = 1024;

    bool check_container(std::uint32_t count, std::uint32_t depth,
                         std::size_t min_bytes_per_element) noexcept {
        if (depth + 1 > limits_.max_depth) {
            return fail(error::invalid_message);
        }
        if (count > remaining() / min_bytes_per_element) {
            return fail(error::invalid_message);
        }
        if (count > limits_.max_elements) {
            return fail(error::frame_too_large);
        }
        return true;
    }

    bool read_array(value& out, std::uint32_t count, std::uint32_t depth) {
        if (!check_container(count, depth, 1)) {
            return false;
        }
        auto& elements = emplace<value::array>(out);
        if (count != 0) {
            elements.reserve(std::min(count, initial_reserve));
        }
        for (std::uint32_t i = 0; i < count; ++i) {
            elements.emplace_back();
            if (!read_value(elements.back(), depth + 1)) {
                return false;
            }
        }
        return true;
    }

    bool read_key(std::string_view& key) noexcept {
        const std::byte* tag_byte = nullptr;
        if (!take(1, tag_byte)) {
            return false;
        }
        const auto tag = std::to_integer<std::uint8_t>(*tag_byte);
        std::uint32_t length = 0;
        if ((tag & 0xe0) == 0xa0) {
            length = tag & 0x1fu;
        } else if (tag == 0xd9) {
            if (!take_length<std::uint8_t>(length)) {
                return false;
            }
        } else if (tag == 0xda) {
            if (!take_length<std::uint16_t>(length)) {
                return false;
            }
        } else if (tag == 0xdb) {
            if (!take_length<std::uint32_t>(length)) {
                return false;
            }
        } else {
            return fail(error::invalid_message); // keys are strings ([HEAD-6])
        }
        const std::byte* bytes = nullptr;
        if (!take(length, bytes)) {
            return false;
        }
        if (!valid_utf8(bytes, length)) {
            return fail(error::invalid_message);
        }
        key = std::string_view(reinterpret_cast<const char*>(bytes), length);
        return true;
    }

    bool read_map(value& out, std::uint32_t count, std::uint32_t depth) {
        if (!check_container(count, depth, 2)) {
            return false;
        }
        // Keys are viewed in the head itself, which outlives the decoding. Small maps are
        // checked for duplicates by scanning, larger ones through a hash set, made only for them.
        constexpr std::uint32_t scan_limit = 16;
        std::optional<std::unordered_set<std::string_view>> seen;
        if (count > scan_limit) {
            seen.emplace();
        }
        auto& entries = emplace<value::map>(out);
        if (count == 0) {
            return true;
        }
        entries.reserve(std::min(count, initial_reserve));
        for (std::uint32_t i = 0; i < count; ++i) {
            std::string_view key;
            if (!read_key(key)) {
                return false;
            }
            const bool duplicate = seen ? !seen->insert(key).second : scanned_key(entries, key);
            if (duplicate) {
                return fail(error::invalid_message); // [HEAD-7]
            }
            entries.emplace_back(std::piecewise_construct,
                                 std::forward_as_tuple(key.data(), key.size()),
                                 std::forward_as_tuple());
            if (!read_value(entries.back().second, depth + 1)) {
                return false;
            }
        }
        return true;
    }

    static bool scanned_key(const value::map& entries, std::string_view key) noexcept {
        for (const auto& entry : entries) {
            if (same_key(entry.first, key)) {
                return true;
            }
        }
        return false;
    }

    bool read_ext(value& out, std::uint32_t length) {
        const std::byte* bytes = nullptr;
        if (!take(1, bytes)) {
            return false;
        }
        const auto type = static_cast<std::int8_t>(std::to_integer<std::uint8_t>(*bytes));
        if (!take(length, bytes)) {
            return false;
        }
        if (type == descriptor_reference_ext_type && descriptors_in_force()) {
            return read_descriptor_reference(out, bytes, length);
        }
        if (type != bulk_reference_ext_type) {
            return reject_reference(out, error::invalid_message); // [BULK-4], [FD-4]
        }
        if (length == bulk_reference_size) {
            return read_bulk_reference(out, bytes);
        }
        if (length == compressed_bulk_reference_size) {
            return read_compressed_bulk_reference(out, bytes);
        }
        return reject_reference(out, error::invalid_message); // [BULK-4]
    }

    bool segment_in_bulk(std::uint64_t offset, std::uint64_t length) const noexcept {
        const std::uint64_t bulk_length = bulk_.size();
        return offset <= bulk_length && length <= bulk_length - offset; // [BULK-1]
    }

    bool read_bulk_reference(value& out, const std::byte* bytes) {
        const auto offset = load_big_endian<std::uint64_t>(bytes);
        const auto length = load_big_endian<std::uint64_t>(bytes + 8);
        if (!segment_in_bulk(offset, length)) {
            return reject_reference(out, error::invalid_message);
        }
        emplace<bulk>(out, bulk{bulk_.slice(static_cast<std::size_t>(offset),
                                            static_cast<std::size_t>(length)),
                                codec::none});
        return true;
    }

    bool read_compressed_bulk_reference(value& out, const std::byte* bytes) {
        const auto offset = load_big_endian<std::uint64_t>(bytes);
        const auto length = load_big_endian<std::uint64_t>(bytes + 8);
        const auto codec_byte = std::to_integer<std::uint8_t>(bytes[16]);
        const auto raw_length = load_big_endian<std::uint64_t>(bytes + 17);
        if (!segment_in_bulk(offset, length)) {
            return reject_reference(out, error::invalid_message);
        }
        const auto segment_codec = static_cast<codec>(codec_byte);
        if ((segment_codec != codec::zstd && segment_codec != codec::lz4) ||
            !allowed_.contains(segment_codec)) {
            return reject_reference(out, error::unsupported_codec); // [BULK-5], [BULK-7]
        }
        // Decompressed bytes count against max_frame, per segment and in total ([BULK-6]).
        if (raw_length > limits_.max_frame - std::min(decompressed_, limits_.max_frame) ||
            raw_length > std::numeric_limits<std::size_t>::max()) {
            return reject_reference(out, error::frame_too_large);
        }
        decompressed_ += raw_length;
        buffer raw = buffer::allocate(static_cast<std::size_t>(raw_length));
        if (!decompress(segment_codec, bulk_.data() + offset, static_cast<std::size_t>(length),
                        raw.mutable_data(), static_cast<std::size_t>(raw_length))) {
            return reject_reference(out, error::invalid_message); // [BULK-5], [BULK-8]
        }
        emplace<bulk>(out, bulk{std::move(raw), segment_codec});
        return true;
    }

    bool descriptors_in_force() const noexcept {
        return descriptors_ != nullptr && descriptors_->in_force();
    }

    // Descriptors the frame carries but must not: while transfer.memfd is not in force, more
    // than the limit, or not referenced ([FD-2], [FD-3], [FD-6]).
    void check_descriptors_used() {
        if (descriptors_ == nullptr || descriptors_->empty()) {
            return;
        }
        const bool all_used =
            mappings_.size() == descriptors_->size() &&
            std::all_of(mappings_.begin(), mappings_.end(),
                        [](const std::optional<buffer>& mapping) { return mapping.has_value(); });
        if (!descriptors_->in_force() || descriptors_->overflowed() || !all_used) {
            value ignored;
            reject_reference(ignored, error::invalid_message);
        }
    }

    bool read_descriptor_reference(value& out, const std::byte* bytes, std::uint32_t length) {
        if (length != descriptor_reference_size || descriptors_->overflowed()) {
            return reject_reference(out, error::invalid_message); // [FD-3], [FD-4]
        }
        const auto index = load_big_endian<std::uint32_t>(bytes);
        const auto offset = load_big_endian<std::uint64_t>(bytes + 4);
        const auto segment_length = load_big_endian<std::uint64_t>(bytes + 12);
        if (index >= descriptors_->size()) {
            return reject_reference(out, error::invalid_message); // [FD-4]
        }
        mappings_.resize(descriptors_->size());
        auto& mapping = mappings_[index];
        if (!mapping) {
            error why = error::invalid_message;
            mapping = platform::map_sealed_memfd(descriptors_->fds()[index], why);
            if (!mapping) {
                return reject_reference(out, why); // [FD-5]
            }
        }
        const std::uint64_t file_size = mapping->size();
        if (offset > file_size || segment_length > file_size - offset) {
            return reject_reference(out, error::invalid_message); // [FD-4], [FD-5]
        }
        // Carried bytes count against max_frame beside the frame itself ([FD-7]).
        const std::uint64_t room =
            limits_.max_frame - std::min(frame_size_ + carried_, limits_.max_frame);
        if (segment_length > room) {
            return reject_reference(out, error::frame_too_large);
        }
        carried_ += segment_length;
        emplace<bulk>(out, bulk{mapping->slice(static_cast<std::size_t>(offset),
                                               static_cast<std::size_t>(segment_length)),
                                codec::none});
        return true;
    }

    const std::byte* position_;
    const std::byte* end_;
    const buffer& bulk_;
    const limits& limits_;
    codec_set allowed_;
    const frame_descriptors* descriptors_;
    std::vector<std::optional<buffer>> mappings_; // by descriptor index, mapped on first use
    std::uint64_t frame_size_;
    std::uint64_t carried_ = 0;
    std::uint64_t decompressed_ = 0;
    error error_ = error::invalid_message;
    std::optional<error> bad_reference_;
};

} // namespace detail
} // namespace slicerbridge

#endif
