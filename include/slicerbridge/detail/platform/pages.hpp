#ifndef SLICERBRIDGE_DETAIL_PLATFORM_PAGES_HPP
#define SLICERBRIDGE_DETAIL_PLATFORM_PAGES_HPP
// Memory straight from the operating system for large buffers, aligned to a boundary, released
// whole: mmap (with transparent huge pages advised) on POSIX, VirtualAlloc on Windows, where
// large pages need a privilege that programs seldom hold, so ordinary pages are the default.
// Each defines, in slicerbridge::detail::platform:
//   std::byte* map_pages(std::size_t size, std::size_t alignment)   throws std::bad_alloc
//   void unmap_pages(std::byte* block, std::size_t size)

#if defined(_WIN32)
#include <slicerbridge/detail/platform/pages_windows.hpp>
#else
#include <slicerbridge/detail/platform/pages_posix.hpp>
#endif

#endif
