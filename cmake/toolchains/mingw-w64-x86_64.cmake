# Cross-compiles for 64-bit Windows with Debian's MinGW-w64 (g++-mingw-w64-x86-64-posix: the
# POSIX thread model, which std::thread needs) and runs the programs it builds under Wine.
#
# The header-only dependencies (Asio, msgpack-cxx, nlohmann_json, doctest, CLI11) come from the build
# machine's /usr/include, through a directory of links to those alone, so nothing else of
# the Linux headers (sys/mman.h, zstd.h, openssl/) can leak into a Windows build. OpenSSL, zstd
# and lz4 are looked for in the MinGW sysroot only: Debian has none of them for Windows, so this
# build has neither TLS nor compression unless they are put there (see README, "Windows").
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)
set(CMAKE_C_COMPILER x86_64-w64-mingw32-gcc-posix)
set(CMAKE_CXX_COMPILER x86_64-w64-mingw32-g++-posix)
set(CMAKE_RC_COMPILER x86_64-w64-mingw32-windres)

set(SLICERBRIDGE_HOST_HEADERS "/usr/include" CACHE PATH
    "Where the header-only dependencies are (asio.hpp, msgpack.hpp, nlohmann/, doctest/, CLI/)")
set(_header_root "${CMAKE_BINARY_DIR}/host-header-only")
foreach(_entry asio asio.hpp msgpack msgpack.hpp nlohmann doctest CLI)
  if(EXISTS "${SLICERBRIDGE_HOST_HEADERS}/${_entry}" AND NOT EXISTS "${_header_root}/include/${_entry}")
    file(MAKE_DIRECTORY "${_header_root}/include")
    file(CREATE_LINK "${SLICERBRIDGE_HOST_HEADERS}/${_entry}" "${_header_root}/include/${_entry}" SYMBOLIC)
  endif()
endforeach()

set(CMAKE_FIND_ROOT_PATH /usr/x86_64-w64-mingw32 "${_header_root}")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# Self-contained programs: no libstdc++, libgcc or winpthread DLLs to copy next to them.
set(CMAKE_EXE_LINKER_FLAGS_INIT "-static")

find_program(SLICERBRIDGE_WINE NAMES wine wine64)
if(SLICERBRIDGE_WINE)
  set(CMAKE_CROSSCOMPILING_EMULATOR "${SLICERBRIDGE_WINE}")
endif()
