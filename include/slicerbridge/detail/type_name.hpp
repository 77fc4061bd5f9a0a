#ifndef SLICERBRIDGE_DETAIL_TYPE_NAME_HPP
#define SLICERBRIDGE_DETAIL_TYPE_NAME_HPP

#include <cstdlib>
#include <memory>
#include <string>
#include <typeinfo>

#if defined(__GNUG__)
#include <cxxabi.h>
#endif

namespace slicerbridge {
namespace detail {

/// The dynamic type of `object` as its source spells it (std::out_of_range), where the
/// compiler's ABI can say; its implementation-defined name otherwise.
template <class T>
std::string type_name(const T& object) {
    const char* mangled = typeid(object).name();
#if defined(__GNUG__)
    int status = 0;
    std::unique_ptr<char, void (*)(void*)> readable(
        abi::__cxa_demangle(mangled, nullptr, nullptr, &status), std::free);
    if (status == 0 && readable) {
        return readable.get();
    }
#endif
    return mangled;
}

} // namespace detail
} // namespace slicerbridge

#endif
