#ifndef SLICERBRIDGE_DETAIL_CONFIG_HPP
#define SLICERBRIDGE_DETAIL_CONFIG_HPP
// Header-only (the default) or separately compiled, as Asio and Beast: with
// SLICERBRIDGE_SEPARATE_COMPILATION defined in every translation unit, the SDK's headers leave
// out the bodies of its non-template functions (the impl/*.ipp files), and one .cpp of the
// program compiles them by including <slicerbridge/src.hpp> (CMake: link slicerbridge::compiled).
// SLICERBRIDGE_DECL marks those functions: inline when header-only, an ordinary function else.

#if defined(SLICERBRIDGE_SEPARATE_COMPILATION)
#define SLICERBRIDGE_DECL
#else
#define SLICERBRIDGE_HEADER_ONLY 1
#define SLICERBRIDGE_DECL inline
#endif

#endif
