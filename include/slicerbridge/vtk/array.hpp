#ifndef SLICERBRIDGE_VTK_ARRAY_HPP
#define SLICERBRIDGE_VTK_ARRAY_HPP

// Typed arrays <-> vtkDataArray without copying the values where ownership allows it, and 4x4
// matrices <-> vtkMatrix4x4. Part of the optional target slicerbridge::vtk.

#include <slicerbridge/data/dtype.hpp>
#include <slicerbridge/data/space.hpp>
#include <slicerbridge/data/typed_array.hpp>

#include <vtkDataArray.h>
#include <vtkMatrix4x4.h>
#include <vtkSmartPointer.h>
#include <vtkType.h>

#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <unordered_map>

namespace slicerbridge {

/// The VTK scalar type of a dtype (spec section 3.3): int8 -> VTK_SIGNED_CHAR, ...,
/// int64 -> VTK_LONG_LONG, uint64 -> VTK_UNSIGNED_LONG_LONG, float64 -> VTK_DOUBLE.
constexpr int to_vtk_type(dtype t) noexcept {
    switch (t) {
    case dtype::int8:
        return VTK_SIGNED_CHAR;
    case dtype::uint8:
        return VTK_UNSIGNED_CHAR;
    case dtype::int16:
        return VTK_SHORT;
    case dtype::uint16:
        return VTK_UNSIGNED_SHORT;
    case dtype::int32:
        return VTK_INT;
    case dtype::uint32:
        return VTK_UNSIGNED_INT;
    case dtype::int64:
        return VTK_LONG_LONG;
    case dtype::uint64:
        return VTK_UNSIGNED_LONG_LONG;
    case dtype::float32:
        return VTK_FLOAT;
    case dtype::float64:
        return VTK_DOUBLE;
    }
    return VTK_VOID;
}

/// The dtype of a VTK scalar type, or nothing for types without one (VTK_BIT, strings,
/// variants). VTK_CHAR follows the platform's `char`; VTK_LONG, VTK_UNSIGNED_LONG and VTK_ID_TYPE
/// their size.
constexpr std::optional<dtype> dtype_from_vtk_type(int vtk_type) noexcept {
    switch (vtk_type) {
    case VTK_CHAR:
        return std::numeric_limits<char>::is_signed ? dtype::int8 : dtype::uint8;
    case VTK_SIGNED_CHAR:
        return dtype::int8;
    case VTK_UNSIGNED_CHAR:
        return dtype::uint8;
    case VTK_SHORT:
        return dtype::int16;
    case VTK_UNSIGNED_SHORT:
        return dtype::uint16;
    case VTK_INT:
        return dtype::int32;
    case VTK_UNSIGNED_INT:
        return dtype::uint32;
    case VTK_LONG:
        return sizeof(long) == 8 ? dtype::int64 : dtype::int32;
    case VTK_UNSIGNED_LONG:
        return sizeof(unsigned long) == 8 ? dtype::uint64 : dtype::uint32;
    case VTK_LONG_LONG:
        return dtype::int64;
    case VTK_UNSIGNED_LONG_LONG:
        return dtype::uint64;
    case VTK_ID_TYPE:
        return sizeof(vtkIdType) == 8 ? dtype::int64 : dtype::int32;
    case VTK_FLOAT:
        return dtype::float32;
    case VTK_DOUBLE:
        return dtype::float64;
    default:
        return std::nullopt;
    }
}

namespace detail {

// VTK frees an adopted array through a plain function pointer that receives only the data
// pointer. The owners of the bytes handed to VTK wait here, keyed by that pointer, until VTK
// releases them (a pointer may be handed out several times: one entry per hand-out).
class vtk_adopted_memory {
public:
    static vtk_adopted_memory& instance() {
        static vtk_adopted_memory registry;
        return registry;
    }

    void hold(void* data, std::shared_ptr<const void> owner) {
        std::lock_guard<std::mutex> lock(mutex_);
        owners_.emplace(data, std::move(owner));
    }

    /// The vtkBuffer's free function.
    static void release(void* data) {
        std::shared_ptr<const void> owner; // dropped outside the lock
        auto& self = instance();
        std::lock_guard<std::mutex> lock(self.mutex_);
        auto found = self.owners_.find(data);
        if (found != self.owners_.end()) {
            owner = std::move(found->second);
            self.owners_.erase(found);
        }
    }

    /// Number of hand-outs VTK still holds (for tests).
    std::size_t size() const {
        std::lock_guard<std::mutex> lock(mutex_);
        return owners_.size();
    }

private:
    mutable std::mutex mutex_;
    std::unordered_multimap<void*, std::shared_ptr<const void>> owners_;
};

inline bool vtk_is_aligned(const void* data, std::size_t alignment) noexcept {
    return reinterpret_cast<std::uintptr_t>(data) % alignment == 0;
}

/// Makes `target` (a numeric AOS array of `array`'s type) use `array`'s values: a view of the
/// same memory, kept alive until VTK drops it, when the bytes are in native order and aligned for
/// their type; a copy otherwise.
inline void fill_vtk_array(vtkDataArray* target, const typed_array& array) {
    target->SetNumberOfComponents(static_cast<int>(array.components));
    const std::size_t scalar_size = dtype_size(array.dtype);
    const std::uint64_t value_count = array.data.size() / scalar_size;
    if (value_count > static_cast<std::uint64_t>(std::numeric_limits<vtkIdType>::max())) {
        throw std::length_error("slicerbridge: array too large for vtkIdType");
    }
    if (value_count == 0) {
        target->SetNumberOfTuples(0);
        return;
    }
    if (array.byte_order == native_byte_order && vtk_is_aligned(array.data.data(), scalar_size) &&
        array.data.owner()) {
        void* data = array.data.mutable_data();
        vtk_adopted_memory::instance().hold(data, array.data.owner());
        target->SetVoidArray(data, static_cast<vtkIdType>(value_count), 1);
        target->SetArrayFreeFunction(&vtk_adopted_memory::release);
        return;
    }
    const typed_array native = array.to_native_byte_order();
    target->SetNumberOfTuples(static_cast<vtkIdType>(value_count / array.components));
    std::memcpy(target->GetVoidPointer(0), native.data.data(), native.data.size());
}

} // namespace detail

/// A vtkDataArray of `array`'s type, components and values, named `name`. It views the values
/// in place (no copy) when they are in native byte order and aligned for their type, keeping the
/// buffer alive for as long as VTK holds them; otherwise it holds a native-order copy. Writing
/// through the VTK array writes into the shared buffer.
inline vtkSmartPointer<vtkDataArray> to_vtk_array(const typed_array& array,
                                                  const std::string& name = {}) {
    auto result = vtkSmartPointer<vtkDataArray>::Take(
        vtkDataArray::CreateDataArray(to_vtk_type(array.dtype)));
    detail::fill_vtk_array(result, array);
    if (!name.empty()) {
        result->SetName(name.c_str());
    }
    return result;
}

/// The values of a numeric vtkDataArray as a typed array in native byte order. Arrays with the
/// standard (array-of-structures) memory layout are viewed in place, the buffer keeping a
/// reference to the VTK array; others are copied. Throws std::invalid_argument for a null array
/// or one without a dtype (VTK_BIT).
inline typed_array from_vtk_array(vtkDataArray* array) {
    if (array == nullptr) {
        throw std::invalid_argument("slicerbridge: null array");
    }
    const auto type = dtype_from_vtk_type(array->GetDataType());
    if (!type || array->GetNumberOfComponents() < 1) {
        throw std::invalid_argument(std::string("slicerbridge: array of VTK type ") +
                                    array->GetDataTypeAsString() + " has no dtype");
    }
    vtkSmartPointer<vtkDataArray> source = array;
    if (!array->HasStandardMemoryLayout()) {
        source = vtkSmartPointer<vtkDataArray>::Take(
            vtkDataArray::CreateDataArray(array->GetDataType()));
        source->DeepCopy(array);
    }
    typed_array result;
    result.dtype = *type;
    result.components = static_cast<std::uint32_t>(source->GetNumberOfComponents());
    result.byte_order = native_byte_order;
    const auto bytes = static_cast<std::size_t>(source->GetNumberOfTuples()) * result.components *
                       dtype_size(*type);
    if (bytes == 0) {
        return result;
    }
    const auto* data = static_cast<const std::byte*>(source->GetVoidPointer(0));
    source->Register(nullptr);
    std::shared_ptr<const void> owner(source.GetPointer(),
                                      [](vtkDataArray* held) { held->UnRegister(nullptr); });
    result.data = buffer::wrap(std::move(owner), data, bytes);
    return result;
}

/// Row-major 4x4 <-> vtkMatrix4x4 (whose element (i, j) is row i, column j).
inline matrix4 to_matrix4(const vtkMatrix4x4* m) {
    if (m == nullptr) {
        throw std::invalid_argument("slicerbridge: null matrix");
    }
    matrix4 result{};
    for (int i = 0; i < 16; ++i) {
        result[static_cast<std::size_t>(i)] = m->GetData()[i];
    }
    return result;
}

inline vtkSmartPointer<vtkMatrix4x4> to_vtk_matrix(const matrix4& m) {
    auto result = vtkSmartPointer<vtkMatrix4x4>::New();
    result->DeepCopy(m.data());
    return result;
}

} // namespace slicerbridge

#endif
