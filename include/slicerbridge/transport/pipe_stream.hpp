#ifndef SLICERBRIDGE_TRANSPORT_PIPE_STREAM_HPP
#define SLICERBRIDGE_TRANSPORT_PIPE_STREAM_HPP
// A stream over a pair of pipes: a server's own stdin/stdout, or a launched processor's, so that
// a client can start a processor (say, a script in a conda environment) and talk to it with no
// port at all, as editors do with language servers.

#include <slicerbridge/detail/config.hpp>
#include <slicerbridge/detail/platform/process.hpp>

#include <asio/any_io_executor.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

namespace slicerbridge {

struct launched_process;

/// An Asio AsyncStream that reads from one pipe and writes to another: file descriptors on POSIX,
/// overlapped pipe handles on Windows.
class pipe_stream {
public:
    using executor_type = asio::any_io_executor;
    using native_handle_type = detail::platform::stream_handle::native_handle_type;

    /// A stream with no pipes yet.
    explicit pipe_stream(const executor_type& executor) : input_(executor), output_(executor) {}

    /// Takes ownership of both pipe ends (on Windows, opened for overlapped I/O).
    pipe_stream(const executor_type& executor, native_handle_type read_end,
                native_handle_type write_end)
        : input_(executor, read_end), output_(executor, write_end) {}

    /// This process's standard input and output. Closing the stream leaves them in place: on
    /// POSIX it holds duplicates of descriptors 0 and 1; on Windows, where Asio cannot wait on
    /// them, two threads relay them through overlapped pipes.
    SLICERBRIDGE_DECL static pipe_stream standard_streams(const executor_type& executor);

    executor_type get_executor() noexcept { return input_.get_executor(); }

    template <class MutableBufferSequence, class ReadToken>
    auto async_read_some(const MutableBufferSequence& buffers, ReadToken&& token) {
        return input_.async_read_some(buffers, std::forward<ReadToken>(token));
    }
    template <class ConstBufferSequence, class WriteToken>
    auto async_write_some(const ConstBufferSequence& buffers, WriteToken&& token) {
        return output_.async_write_some(buffers, std::forward<WriteToken>(token));
    }
    template <class MutableBufferSequence>
    std::size_t read_some(const MutableBufferSequence& buffers, std::error_code& ec) {
        return input_.read_some(buffers, ec);
    }
    template <class ConstBufferSequence>
    std::size_t write_some(const ConstBufferSequence& buffers, std::error_code& ec) {
        return output_.write_some(buffers, ec);
    }

    bool is_open() const noexcept { return input_.is_open() || output_.is_open(); }

    /// Closes both directions; pending operations complete with `asio::error::operation_aborted`.
    SLICERBRIDGE_DECL void close(std::error_code& ec);

private:
    friend launched_process launch_process(const asio::any_io_executor&,
                                           const std::vector<std::string>&, std::error_code&);

    detail::platform::stream_handle input_;
    detail::platform::stream_handle output_;
};

/// A child process started by `launch_process`. `wait` or `terminate` reap the child; destroying
/// (or assigning to) one still running terminates it. The stream belongs to the caller: close it
/// first, so that the child sees the end of its input.
class child_process {
public:
    using process_id = detail::platform::process_id;

    child_process() = default;
    explicit child_process(detail::platform::child_handle child) noexcept
        : child_(std::move(child)) {}
    child_process(child_process&& other) noexcept = default;
    SLICERBRIDGE_DECL child_process& operator=(child_process&& other) noexcept;
    child_process(const child_process&) = delete;
    child_process& operator=(const child_process&) = delete;
    ~child_process();

    process_id pid() const noexcept { return child_.id(); }
    bool running() const noexcept { return child_.running(); }

    /// Waits for the child to exit and returns its exit status (128 + signal when killed).
    SLICERBRIDGE_DECL int wait();

    /// The exit status if the child exits within `limit`; the child is then reaped.
    SLICERBRIDGE_DECL std::optional<int> wait_for(std::chrono::milliseconds limit);

    /// Asks the child to stop, waits up to `grace_ms`, then forces it, and reaps it: SIGTERM
    /// then SIGKILL on POSIX, each to the process group it leads; on Windows the child gets the
    /// grace to exit by itself (closing the stream first ends its input), then its job object is
    /// terminated with status 137. Either way what the child started ends with it, unless it
    /// left the group or the job.
    SLICERBRIDGE_DECL int terminate(int grace_ms = 2000);

private:
    detail::platform::child_handle child_;
};

/// A launched child with its standard input and output connected to `stream`.
struct launched_process {
    pipe_stream stream;
    child_process process;
};

/// Starts `argv[0]` (searched in PATH) with `argv`, its stdin and stdout connected to the
/// returned stream and its stderr inherited. The child leads a process group of its own on POSIX
/// (on Windows a hidden console of its own, and a job object), so that a Ctrl-C meant for this
/// process (which may cancel calls) does not kill it. Writing to a child that has exited must fail
/// with an error rather than kill this process, so on POSIX SIGPIPE is ignored if it still has its
/// default action. On Windows the arguments (UTF-8) are quoted into one command line as the C
/// runtimes split it, and `argv[0]` may omit `.exe`.
SLICERBRIDGE_DECL launched_process launch_process(const asio::any_io_executor& executor,
                                                  const std::vector<std::string>& argv,
                                                  std::error_code& ec);

/// Throwing overload: std::system_error.
SLICERBRIDGE_DECL launched_process launch_process(const asio::any_io_executor& executor,
                                                  const std::vector<std::string>& argv);

} // namespace slicerbridge

#if defined(SLICERBRIDGE_HEADER_ONLY)
#include <slicerbridge/transport/impl/pipe_stream.ipp>
#endif

#endif
