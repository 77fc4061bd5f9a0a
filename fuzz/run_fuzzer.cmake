# One fuzzer's CTest case: the seed corpus, then RUNS generated inputs with a fixed seed (the same
# inputs every time, so a failure reproduces), new inputs kept in WORK_DIR (emptied first, so the
# seed corpus and the cost stay fixed). A crash, a leak, a timeout or an out-of-memory fails it;
# the input that did it is WORK_DIR/crash-* (fuzz/README.md says what to do with it).
foreach(variable FUZZER CORPUS DICTIONARY WORK_DIR RUNS)
  if(NOT DEFINED ${variable})
    message(FATAL_ERROR "run_fuzzer.cmake: ${variable} not set")
  endif()
endforeach()
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}/new")
execute_process(
  COMMAND "${FUZZER}" -runs=${RUNS} -seed=1 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
          -dict=${DICTIONARY} -artifact_prefix=${WORK_DIR}/ "${WORK_DIR}/new" "${CORPUS}"
  RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  file(GLOB artifacts "${WORK_DIR}/crash-*" "${WORK_DIR}/leak-*" "${WORK_DIR}/timeout-*"
       "${WORK_DIR}/oom-*")
  message(FATAL_ERROR "${FUZZER} failed (${status}); input: ${artifacts}")
endif()
