#ifndef SLICERBRIDGE_TRANSPORT_PIPE_STREAM_HPP
#define SLICERBRIDGE_TRANSPORT_PIPE_STREAM_HPP
// A stream over a pair of pipes: a server's own stdin/stdout, or a launched processor's, so that
// a client can start a processor (say, a script in a conda environment) and talk to it with no
// port at all, as editors do with language servers.

#include <asio/any_io_executor.hpp>
#include <asio/posix/stream_descriptor.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include <sys/types.h>

namespace slicerbridge {

/// An Asio AsyncStream that reads from one file descriptor and writes to another.
class pipe_stream {
public:
    using executor_type = asio::any_io_executor;

    /// A stream with no descriptors yet.
    explicit pipe_stream(const executor_type& executor) : input_(executor), output_(executor) {}

    /// Takes ownership of both descriptors.
    pipe_stream(const executor_type& executor, int read_fd, int write_fd);

    /// This process's standard input and output (duplicated, so closing the stream leaves
    /// descriptors 0 and 1 in place).
    static pipe_stream standard_streams(const executor_type& executor);

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
    void close(std::error_code& ec);

private:
    asio::posix::stream_descriptor input_;
    asio::posix::stream_descriptor output_;
};

/// A child process started by `launch_process`. Destroying it closes nothing by itself: the
/// stream belongs to the caller; `wait` or `terminate` reap the child.
class child_process {
public:
    child_process() = default;
    explicit child_process(pid_t pid) noexcept : pid_(pid) {}
    child_process(child_process&& other) noexcept : pid_(std::exchange(other.pid_, -1)) {}
    child_process& operator=(child_process&& other) noexcept;
    child_process(const child_process&) = delete;
    child_process& operator=(const child_process&) = delete;
    ~child_process();

    pid_t pid() const noexcept { return pid_; }
    bool running() const noexcept { return pid_ > 0; }

    /// Waits for the child to exit and returns its exit status (128 + signal when killed).
    int wait();

    /// The exit status if the child exits within `limit`; the child is then reaped.
    std::optional<int> wait_for(std::chrono::milliseconds limit);

    /// Sends SIGTERM, waits up to `grace_ms`, then SIGKILL, and reaps the child.
    int terminate(int grace_ms = 2000);

private:
    pid_t pid_ = -1;
};

/// A launched child with its standard input and output connected to `stream`.
struct launched_process {
    pipe_stream stream;
    child_process process;
};

/// Starts `argv[0]` (searched in PATH) with `argv`, its stdin and stdout connected to the
/// returned stream and its stderr inherited. The child leads a process group of its own, so
/// that a Ctrl-C meant for this process (which may cancel calls) does not kill it. Writing to a
/// child that has exited must fail with an error rather than kill this process, so SIGPIPE is
/// ignored if it still has its default action.
launched_process launch_process(const asio::any_io_executor& executor,
                                const std::vector<std::string>& argv, std::error_code& ec);

/// Throwing overload: std::system_error.
launched_process launch_process(const asio::any_io_executor& executor,
                                const std::vector<std::string>& argv);

} // namespace slicerbridge

#include <slicerbridge/transport/impl/pipe_stream.hpp>

#endif
