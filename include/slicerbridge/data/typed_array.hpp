#ifndef SLICERBRIDGE_DATA_TYPED_ARRAY_HPP
#define SLICERBRIDGE_DATA_TYPED_ARRAY_HPP

// Typed arrays (spec section 3.3): scalars of one dtype, in tuples of `components`, held in a
// shared buffer that usually is a slice of a received frame's bulk.

#include <slicerbridge/buffer.hpp>
#include <slicerbridge/data/dtype.hpp>
#include <slicerbridge/detail/config.hpp>
#include <slicerbridge/error.hpp>
#include <slicerbridge/value.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

namespace slicerbridge {

struct typed_array {
    slicerbridge::dtype dtype = slicerbridge::dtype::float64;
    /// Values per element (tuple size), >= 1.
    std::uint32_t components = 1;
    slicerbridge::byte_order byte_order = slicerbridge::byte_order::little;
    buffer data;

    /// Bytes per element.
    std::size_t element_size() const noexcept { return dtype_size(dtype) * components; }

    /// Number of elements (tuples); meaningful when `data` holds whole elements.
    std::uint64_t count() const noexcept {
        return components == 0 ? 0 : data.size() / element_size();
    }

    /// Scalar `index` (counting components) converted from the array's byte order to T, which
    /// must match the dtype's size and kind. Precondition: index < count() * components.
    template <class T>
    T scalar(std::size_t index) const noexcept;

    /// Typed read-only access, or nullptr unless the dtype is T's and the byte order native.
    /// Arrays read by `from_value` (and the data types') are aligned for T: a misaligned bulk
    /// segment is copied when read.
    template <class T>
    const T* values() const noexcept;

    /// The same values in native byte order: `*this` if already so, else a swapped copy.
    SLICERBRIDGE_DECL typed_array to_native_byte_order() const;

    /// An array taking over `values` without copying them.
    template <class T>
    static typed_array adopt(std::vector<T>&& values, std::uint32_t components = 1);

    /// An array holding a copy of `count * components` values at `values`.
    template <class T>
    static typed_array copy_of(const T* values, std::size_t count, std::uint32_t components = 1);

    /// Reads `{dtype, components, byte_order, data}` ([ARRAY-3], [ARRAY-4]); checks that the
    /// data holds whole elements. Errors are `invalid_argument`.
    SLICERBRIDGE_DECL static typed_array from_value(const value& v, std::error_code& ec);
    SLICERBRIDGE_DECL static typed_array from_value(const value& v, std::error_code& ec,
                                                    std::string& what);

    friend bool operator==(const typed_array& a, const typed_array& b) noexcept {
        return a.dtype == b.dtype && a.components == b.components && a.byte_order == b.byte_order &&
               a.data == b.data;
    }
    friend bool operator!=(const typed_array& a, const typed_array& b) noexcept {
        return !(a == b);
    }
};

/// `{dtype, components, byte_order, data}`.
SLICERBRIDGE_DECL value to_value(const typed_array& array);

} // namespace slicerbridge

#include <slicerbridge/data/impl/typed_array.hpp>
#if defined(SLICERBRIDGE_HEADER_ONLY)
#include <slicerbridge/data/impl/typed_array.ipp>
#endif

#endif
