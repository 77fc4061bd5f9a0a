#ifndef SLICERBRIDGE_DETAIL_PLATFORM_PROCESS_HPP
#define SLICERBRIDGE_DETAIL_PLATFORM_PROCESS_HPP
// Child processes and the pipes to them: posix_spawnp and pipe2 on POSIX, CreateProcessW and
// overlapped named pipes on Windows. Each defines, in slicerbridge::detail::platform:
//   stream_handle           the Asio stream type of one pipe end
//   process_id              the type of a process id
//   child_handle            a running child (movable; `running()`, `id()`)
//   open_standard_streams   this process's stdin and stdout as stream handles
//   spawn                   starts argv with its stdin and stdout on two new pipes
//   wait_for_exit           waits (without limit, or up to a limit) and reaps; the exit status
//   terminate               asks the child to stop, forces it after a grace; the exit status

#if defined(_WIN32)
#include <slicerbridge/detail/platform/process_windows.hpp>
#else
#include <slicerbridge/detail/platform/process_posix.hpp>
#endif

#endif
