# CLI11, which the command-line programs parse their options with (header-only): its package,
# or (cross builds, where only the header is at hand) its header.
if(NOT TARGET CLI11::CLI11)
  find_package(CLI11 2.1 QUIET CONFIG)
endif()
if(NOT TARGET CLI11::CLI11)
  find_path(SLICERBRIDGE_CLI11_INCLUDE_DIR CLI/CLI.hpp REQUIRED)
  add_library(CLI11::CLI11 INTERFACE IMPORTED GLOBAL)
  set_target_properties(CLI11::CLI11 PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES "${SLICERBRIDGE_CLI11_INCLUDE_DIR}")
endif()
