# cmake -DMODE=find_package|add_subdirectory -DSOURCE_DIR=... -DBINARY_DIR=... -DWORK_DIR=...
#       [-DWITH_VTK=ON] [-DCORE_ONLY=ON] -P run_consumer.cmake
# Configures, builds and runs the consumer project; with find_package, installs SlicerBridge
# from BINARY_DIR into a scratch prefix first. CORE_ONLY: the SDK without components, with
# OpenSSL and nlohmann_json hidden from find_package.
file(REMOVE_RECURSE "${WORK_DIR}")
set(configure_args)
if(MODE STREQUAL "find_package")
  execute_process(COMMAND "${CMAKE_COMMAND}" --install "${BINARY_DIR}" --prefix "${WORK_DIR}/prefix"
                  RESULT_VARIABLE result OUTPUT_QUIET)
  if(result)
    message(FATAL_ERROR "installing SlicerBridge failed")
  endif()
  list(APPEND configure_args "-DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix")
else()
  list(APPEND configure_args "-DSLICERBRIDGE_SOURCE_DIR=${SOURCE_DIR}")
endif()
if(CORE_ONLY)
  list(APPEND configure_args -DSLICERBRIDGE_CONSUME_CORE=ON -DCMAKE_DISABLE_FIND_PACKAGE_OpenSSL=ON
       -DCMAKE_DISABLE_FIND_PACKAGE_nlohmann_json=ON)
endif()
execute_process(COMMAND "${CMAKE_COMMAND}" -S "${SOURCE_DIR}/test/consumer" -B "${WORK_DIR}/build"
                        -DSLICERBRIDGE_CONSUME=${MODE} -DSLICERBRIDGE_CONSUME_VTK=${WITH_VTK}
                        ${configure_args}
                RESULT_VARIABLE result)
if(result)
  message(FATAL_ERROR "configuring the consumer failed")
endif()
execute_process(COMMAND "${CMAKE_COMMAND}" --build "${WORK_DIR}/build" RESULT_VARIABLE result)
if(result)
  message(FATAL_ERROR "building the consumer failed")
endif()
set(programs consumer)
if(MODE STREQUAL "find_package")
  list(APPEND programs consumer_compiled)
  if(NOT CORE_ONLY)
    list(APPEND programs consumer_components)
  endif()
endif()
if(WITH_VTK)
  list(APPEND programs consumer_vtk)
endif()
foreach(program IN LISTS programs)
  execute_process(COMMAND "${WORK_DIR}/build/${program}" RESULT_VARIABLE result)
  if(result)
    message(FATAL_ERROR "${program} failed")
  endif()
endforeach()
