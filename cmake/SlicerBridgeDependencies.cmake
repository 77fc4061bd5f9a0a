# Finds the SDK's dependencies and gives each one imported target. Used by the build and, once
# installed, by slicerbridgeConfig.cmake, so consumers get the same targets.
include_guard(GLOBAL)
include(CMakeFindDependencyMacro)

find_dependency(Threads)
find_dependency(OpenSSL)
find_dependency(nlohmann_json 3.10)

# Debian's Asio ships no CMake config: standalone Asio is a header directory.
if(NOT TARGET slicerbridge::asio)
  find_path(SLICERBRIDGE_ASIO_INCLUDE_DIR asio.hpp REQUIRED)
  add_library(slicerbridge::asio INTERFACE IMPORTED)
  set_target_properties(slicerbridge::asio PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES "${SLICERBRIDGE_ASIO_INCLUDE_DIR}"
    INTERFACE_COMPILE_DEFINITIONS "ASIO_STANDALONE;ASIO_NO_DEPRECATED"
    INTERFACE_LINK_LIBRARIES "Threads::Threads")
endif()

# msgpack-cxx 4.x's config insists on Boost and 6.x renamed its target; we need neither.
if(NOT TARGET slicerbridge::msgpack)
  find_path(SLICERBRIDGE_MSGPACK_INCLUDE_DIR msgpack.hpp REQUIRED)
  add_library(slicerbridge::msgpack INTERFACE IMPORTED)
  set_target_properties(slicerbridge::msgpack PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES "${SLICERBRIDGE_MSGPACK_INCLUDE_DIR}"
    INTERFACE_COMPILE_DEFINITIONS "MSGPACK_NO_BOOST;MSGPACK_DEFAULT_API_VERSION=3")
endif()

# Bulk compression codecs (zstd, lz4 frame format).
foreach(codec zstd lz4)
  if(NOT TARGET slicerbridge::${codec})
    string(TOUPPER ${codec} upper)
    if(codec STREQUAL "zstd")
      set(header zstd.h)
    else()
      set(header lz4frame.h)
    endif()
    find_path(SLICERBRIDGE_${upper}_INCLUDE_DIR ${header} REQUIRED)
    find_library(SLICERBRIDGE_${upper}_LIBRARY ${codec} REQUIRED)
    add_library(slicerbridge::${codec} UNKNOWN IMPORTED)
    set_target_properties(slicerbridge::${codec} PROPERTIES
      IMPORTED_LOCATION "${SLICERBRIDGE_${upper}_LIBRARY}"
      INTERFACE_INCLUDE_DIRECTORIES "${SLICERBRIDGE_${upper}_INCLUDE_DIR}")
  endif()
endforeach()
