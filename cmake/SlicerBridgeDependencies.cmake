# Finds the SDK's dependencies and gives each one imported target. Used by the build and, once
# installed, by slicerbridgeConfig.cmake, so consumers get the same targets. Those of the core
# (Asio, zstd, lz4, threads) are found on inclusion; those of the components (tls:
# OpenSSL, json: nlohmann_json) only where the component is wanted: the installed config looks
# for them only when it is asked for.
include_guard(GLOBAL)
include(CMakeFindDependencyMacro)

find_dependency(Threads)

# Debian's Asio ships no CMake config: standalone Asio is a header directory.
if(NOT TARGET slicerbridge::asio)
  find_path(SLICERBRIDGE_ASIO_INCLUDE_DIR asio.hpp REQUIRED)
  add_library(slicerbridge::asio INTERFACE IMPORTED)
  set_target_properties(slicerbridge::asio PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES "${SLICERBRIDGE_ASIO_INCLUDE_DIR}"
    INTERFACE_COMPILE_DEFINITIONS "ASIO_STANDALONE;ASIO_NO_DEPRECATED"
    INTERFACE_LINK_LIBRARIES "Threads::Threads")
endif()

foreach(codec zstd lz4)
  if(NOT TARGET slicerbridge::${codec})
    string(TOUPPER ${codec} upper)
    if(codec STREQUAL "zstd")
      set(header zstd.h)
    else()
      set(header lz4frame.h)
    endif()
    find_path(SLICERBRIDGE_${upper}_INCLUDE_DIR ${header})
    find_library(SLICERBRIDGE_${upper}_LIBRARY ${codec})
    if(SLICERBRIDGE_${upper}_INCLUDE_DIR AND SLICERBRIDGE_${upper}_LIBRARY)
      add_library(slicerbridge::${codec} UNKNOWN IMPORTED)
      set_target_properties(slicerbridge::${codec} PROPERTIES
        IMPORTED_LOCATION "${SLICERBRIDGE_${upper}_LIBRARY}"
        INTERFACE_INCLUDE_DIRECTORIES "${SLICERBRIDGE_${upper}_INCLUDE_DIR}")
    else()
      message(STATUS "slicerbridge: ${codec} not found; building without the ${codec} codec")
      add_library(slicerbridge::${codec} INTERFACE IMPORTED)
      set_target_properties(slicerbridge::${codec} PROPERTIES
        INTERFACE_COMPILE_DEFINITIONS SLICERBRIDGE_NO_${upper})
    endif()
  endif()
endforeach()

# Winsock (Asio's sockets) and, for the owner-only access list of a Unix socket, advapi32.
if(NOT TARGET slicerbridge::platform)
  add_library(slicerbridge::platform INTERFACE IMPORTED)
  if(WIN32)
    set_target_properties(slicerbridge::platform PROPERTIES
      INTERFACE_COMPILE_DEFINITIONS "_WIN32_WINNT=0x0A00;WIN32_LEAN_AND_MEAN;NOMINMAX"
      INTERFACE_LINK_LIBRARIES "ws2_32;mswsock;advapi32")
  endif()
endif()

# The component json: nlohmann_json's package, or (cross builds, where only the header is at
# hand) its header. Sets SLICERBRIDGE_JSON_FOUND.
macro(slicerbridge_find_json_dependencies)
  set(SLICERBRIDGE_JSON_FOUND TRUE)
  if(NOT TARGET nlohmann_json::nlohmann_json)
    find_package(nlohmann_json 3.10 QUIET)
    if(NOT nlohmann_json_FOUND)
      find_path(SLICERBRIDGE_NLOHMANN_JSON_INCLUDE_DIR nlohmann/json.hpp)
      if(SLICERBRIDGE_NLOHMANN_JSON_INCLUDE_DIR)
        add_library(nlohmann_json::nlohmann_json INTERFACE IMPORTED)
        set_target_properties(nlohmann_json::nlohmann_json PROPERTIES
          INTERFACE_INCLUDE_DIRECTORIES "${SLICERBRIDGE_NLOHMANN_JSON_INCLUDE_DIR}")
      else()
        set(SLICERBRIDGE_JSON_FOUND FALSE)
      endif()
    endif()
  endif()
endmacro()
