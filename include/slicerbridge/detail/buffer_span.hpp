#ifndef SLICERBRIDGE_DETAIL_BUFFER_SPAN_HPP
#define SLICERBRIDGE_DETAIL_BUFFER_SPAN_HPP
// A buffer sequence that refers to buffers held elsewhere: passing it to a write copies two
// pointers, where a std::vector would copy (and allocate) every element.

#include <asio/buffer.hpp>

#include <cstddef>

namespace slicerbridge::detail {

/// `count` const buffers starting at `first`, which must outlive every copy of the span.
class const_buffer_span {
public:
    using value_type = asio::const_buffer;
    using const_iterator = const asio::const_buffer*;

    const_buffer_span(const asio::const_buffer* first, std::size_t count) noexcept
        : first_(first), last_(first + count) {}

    const_iterator begin() const noexcept { return first_; }
    const_iterator end() const noexcept { return last_; }

private:
    const asio::const_buffer* first_;
    const asio::const_buffer* last_;
};

} // namespace slicerbridge::detail

#endif
