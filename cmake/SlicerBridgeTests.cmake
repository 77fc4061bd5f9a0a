# doctest_discover_tests, with one more rule: a CTest test that runs no test case fails. CTest
# splits a discovered name at each ';' (its list separator), so a test case named with one became
# tests whose filters matched nothing, and they passed without running anything.
include(doctest)

function(slicerbridge_discover_tests target)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "" "PROPERTIES")
  doctest_discover_tests(${target} ${arg_UNPARSED_ARGUMENTS}
    PROPERTIES FAIL_REGULAR_EXPRESSION "test cases: +0 [|]" ${arg_PROPERTIES})
endfunction()
