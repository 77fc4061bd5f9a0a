#ifndef SLICERBRIDGE_WIRE_IMPL_CODEC_HPP
#define SLICERBRIDGE_WIRE_IMPL_CODEC_HPP

#include <slicerbridge/detail/bulk_codec.hpp>
#include <slicerbridge/detail/endian.hpp>
#include <slicerbridge/detail/head_decoder.hpp>
#include <slicerbridge/detail/msgpack_writer.hpp>

#include <algorithm>
#include <cstring>
#include <limits>

namespace slicerbridge {
namespace detail {

inline constexpr std::byte zero_padding[8] = {};

class frame_encoder {
public:
    frame_encoder(const encode_options& options, std::vector<std::byte>& head)
        : options_(options), writer_(head) {}

    bool write(const value& v) {
        switch (v.kind()) {
        case value_kind::nil:
            writer_.write_nil();
            return true;
        case value_kind::boolean:
            writer_.write_bool(*v.get_if<bool>());
            return true;
        case value_kind::int64:
            writer_.write_int(*v.get_if<std::int64_t>());
            return true;
        case value_kind::uint64:
            writer_.write_uint(*v.get_if<std::uint64_t>());
            return true;
        case value_kind::float64:
            writer_.write_double(*v.get_if<double>());
            return true;
        case value_kind::string: {
            const auto& text = *v.get_if<std::string>();
            if (!fits_32_bits(text.size())) {
                return false;
            }
            writer_.write_string(text);
            return true;
        }
        case value_kind::binary: {
            const auto& bytes = *v.get_if<value::binary>();
            if (!fits_32_bits(bytes.size())) {
                return false;
            }
            writer_.write_binary(bytes.data(), bytes.size());
            return true;
        }
        case value_kind::array: {
            const auto& elements = *v.get_if<value::array>();
            if (!fits_32_bits(elements.size())) {
                return false;
            }
            writer_.write_array_header(elements.size());
            for (const auto& element : elements) {
                if (!write(element)) {
                    return false;
                }
            }
            return true;
        }
        case value_kind::map: {
            const auto& entries = *v.get_if<value::map>();
            if (!fits_32_bits(entries.size())) {
                return false;
            }
            writer_.write_map_header(entries.size());
            for (const auto& entry : entries) {
                if (!fits_32_bits(entry.first.size())) {
                    return false;
                }
                writer_.write_string(entry.first);
                if (!write(entry.second)) {
                    return false;
                }
            }
            return true;
        }
        case value_kind::bulk:
            write_bulk(v.get_if<bulk>()->data);
            return true;
        }
        return false;
    }

    std::uint64_t bulk_length() const noexcept { return cursor_; }

    /// The segments and descriptors written; null if none were.
    std::shared_ptr<frame_bulk> take_bulk() noexcept { return std::move(bulk_); }

    /// For heads of a fixed shape, written without building a `value` first: map headers, keys
    /// and scalars go straight to the writer, nested values through `write`.
    msgpack_writer& writer() noexcept { return writer_; }

private:
    static bool fits_32_bits(std::size_t n) noexcept {
        return n <= std::numeric_limits<std::uint32_t>::max();
    }

    frame_bulk& bulk_part() {
        if (!bulk_) {
            bulk_ = std::make_shared<frame_bulk>();
        }
        return *bulk_;
    }

    // Passes the segment as a memory file when the options ask for it ([FD-1], [FD-2]); false
    // to send it in-band.
    bool write_descriptor_reference(const buffer& raw) {
        if (!options_.descriptors || raw.size() < options_.descriptor_min || raw.empty()) {
            return false;
        }
        auto location = platform::memfd_location_of(raw);
        buffer owner = raw;
        auto& descriptors = bulk_part().descriptors;
        if (!location) {
            if (descriptors.size() >= max_descriptors_per_frame) {
                return false;
            }
            std::error_code ec;
            owner = platform::sealed_memfd_buffer(
                raw.size(), [&raw](std::byte* out) { std::memcpy(out, raw.data(), raw.size()); },
                ec);
            location = platform::memfd_location_of(owner);
            if (ec || !location) {
                return false;
            }
        }
        auto known = std::find(descriptors.begin(), descriptors.end(), location->fd);
        if (known == descriptors.end() && descriptors.size() >= max_descriptors_per_frame) {
            return false;
        }
        const auto index = static_cast<std::uint32_t>(known - descriptors.begin());
        if (known == descriptors.end()) {
            descriptors.push_back(location->fd);
            bulk_part().descriptor_owners.push_back(owner);
        }
        std::byte reference[descriptor_reference_size];
        store_big_endian(index, reference);
        store_big_endian(location->offset, reference + 4);
        store_big_endian(std::uint64_t{raw.size()}, reference + 12);
        writer_.write_ext(descriptor_reference_ext_type, reference, descriptor_reference_size);
        return true;
    }

    // Places a segment at the next multiple of 8 ([CANON-6]) and writes its reference
    // ([CANON-7]).
    void write_bulk(const buffer& raw) {
        if (write_descriptor_reference(raw)) {
            return;
        }
        const std::uint64_t offset = (cursor_ + 7) & ~std::uint64_t{7};
        buffer segment = raw;
        std::byte reference[compressed_bulk_reference_size];
        std::size_t reference_size = bulk_reference_size;
        if (options_.compression != codec::none && raw.size() >= options_.compress_min) {
            if (auto compressed = compress(options_.compression, raw, options_.level)) {
                segment = std::move(*compressed);
                reference[16] = static_cast<std::byte>(options_.compression);
                store_big_endian(std::uint64_t{raw.size()}, reference + 17);
                reference_size = compressed_bulk_reference_size;
            }
        }
        store_big_endian(offset, reference);
        store_big_endian(std::uint64_t{segment.size()}, reference + 8);
        writer_.write_ext(bulk_reference_ext_type, reference, reference_size);
        auto& part = bulk_part();
        part.padding.push_back(static_cast<std::size_t>(offset - cursor_));
        cursor_ = offset + segment.size();
        part.segments.push_back(std::move(segment));
    }

    const encode_options& options_;
    msgpack_writer writer_;
    std::shared_ptr<frame_bulk> bulk_;
    std::uint64_t cursor_ = 0;
};

} // namespace detail

template <class Visitor>
void encoded_frame::for_each_buffer(Visitor&& visit) const {
    visit(const_bytes{header_bytes_.data(), header_bytes_.size()});
    if (!head_.empty()) {
        visit(const_bytes{head_.data(), head_.size()});
    }
    if (!bulk_) {
        return;
    }
    const auto& segments = bulk_->segments;
    for (std::size_t i = 0; i < segments.size(); ++i) {
        if (bulk_->padding[i] != 0) {
            visit(const_bytes{detail::zero_padding, bulk_->padding[i]});
        }
        if (!segments[i].empty()) {
            visit(const_bytes{segments[i].data(), segments[i].size()});
        }
    }
}

namespace detail {

/// Encodes the head that `write_head(frame_encoder&)` writes (false: a length over 2^32 - 1),
/// into `head_storage`'s memory if it has room for a typical head.
template <class WriteHead>
encoded_frame encode_frame_with(const encode_options& options, std::error_code& ec,
                                WriteHead&& write_head, std::vector<std::byte>&& head_storage) {
    ec.clear();
    encoded_frame frame;
    frame.head_ = std::move(head_storage);
    frame.head_.clear();
    // Room for a typical request or response head, so that it is written without regrowing.
    frame.head_.reserve(256);
    frame_encoder encoder(options, frame.head_);
    if (!write_head(encoder) || frame.head_.size() > std::numeric_limits<std::uint32_t>::max()) {
        ec = error::too_large;
        return encoded_frame();
    }
    frame.header_.head_length = static_cast<std::uint32_t>(frame.head_.size());
    frame.header_.bulk_length = encoder.bulk_length();
    frame.bulk_ = encoder.take_bulk();
    frame.head_containers_ = encoder.writer().containers_written();
    write_frame_header(frame.header_, frame.header_bytes_.data());
    return frame;
}

} // namespace detail

} // namespace slicerbridge

#endif
