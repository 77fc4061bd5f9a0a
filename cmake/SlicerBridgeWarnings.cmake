include_guard(GLOBAL)
option(SLICERBRIDGE_WARNINGS_AS_ERRORS "Treat compiler warnings as errors" OFF)
set(SLICERBRIDGE_SANITIZE "" CACHE STRING "Sanitizers for the project's own programs, e.g. address,undefined")

# Warnings and sanitizers for targets this project builds; never forced on consumers.
function(slicerbridge_target_defaults target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic)
  if(SLICERBRIDGE_WARNINGS_AS_ERRORS)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
  if(SLICERBRIDGE_SANITIZE)
    target_compile_options(${target} PRIVATE -fsanitize=${SLICERBRIDGE_SANITIZE} -fno-omit-frame-pointer)
    target_link_options(${target} PRIVATE -fsanitize=${SLICERBRIDGE_SANITIZE})
  endif()
  if(SLICERBRIDGE_SANITIZE MATCHES "undefined")
    # UBSan otherwise reports and carries on, and the test passes.
    target_compile_options(${target} PRIVATE -fno-sanitize-recover=undefined)
  endif()
  if(SLICERBRIDGE_SANITIZE MATCHES "thread")
    # ThreadSanitizer does not model std::atomic_thread_fence (GCC refuses it: -Wtsan). Asio
    # puts one around every handler it runs, on top of the locks of its queues, which already
    # order what the handler sees; without them TSan judges by those locks alone. The SDK itself
    # uses no fence, so -Wtsan still stops one from being added unseen.
    target_compile_definitions(${target} PRIVATE ASIO_DISABLE_FENCED_BLOCK)
  endif()
endfunction()
