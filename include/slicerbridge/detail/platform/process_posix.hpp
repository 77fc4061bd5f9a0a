#ifndef SLICERBRIDGE_DETAIL_PLATFORM_PROCESS_POSIX_HPP
#define SLICERBRIDGE_DETAIL_PLATFORM_PROCESS_POSIX_HPP

#include <asio/any_io_executor.hpp>
#include <asio/posix/stream_descriptor.hpp>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <spawn.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace slicerbridge::detail::platform {

using stream_handle = asio::posix::stream_descriptor;
using process_id = pid_t;

class child_handle {
public:
    child_handle() = default;
    explicit child_handle(pid_t pid) noexcept : pid_(pid) {}
    child_handle(child_handle&& other) noexcept : pid_(std::exchange(other.pid_, -1)) {}
    child_handle& operator=(child_handle&& other) noexcept {
        pid_ = std::exchange(other.pid_, -1);
        return *this;
    }

    bool running() const noexcept { return pid_ > 0; }
    pid_t id() const noexcept { return pid_; }
    pid_t release() noexcept { return std::exchange(pid_, -1); }

private:
    pid_t pid_ = -1;
};

/// Duplicates of descriptors 0 and 1, so that closing them leaves the originals in place.
inline void open_standard_streams(stream_handle& input, stream_handle& output) {
    int in = ::dup(STDIN_FILENO);
    int out = ::dup(STDOUT_FILENO);
    if (in < 0 || out < 0) {
        std::error_code ec(errno, std::system_category());
        if (in >= 0)
            ::close(in);
        if (out >= 0)
            ::close(out);
        throw std::system_error(ec, "duplicating standard streams");
    }
    input.assign(in);
    output.assign(out);
}

/// A pipe whose ends are closed on exec, so that no other child inherits them. Without pipe2
/// (macOS), the flag is set after the fact: a child spawned by another thread in between would
/// inherit them.
inline int open_pipe(int ends[2]) {
#if defined(__APPLE__)
    if (::pipe(ends) != 0) {
        return -1;
    }
    ::fcntl(ends[0], F_SETFD, FD_CLOEXEC);
    ::fcntl(ends[1], F_SETFD, FD_CLOEXEC);
    return 0;
#else
    return ::pipe2(ends, O_CLOEXEC);
#endif
}

inline child_handle spawn(const std::vector<std::string>& argv, stream_handle& to_child,
                          stream_handle& from_child, std::error_code& ec) {
    // Writing to a child that has exited must fail with an error, not kill this process.
    struct sigaction current {};
    if (::sigaction(SIGPIPE, nullptr, &current) == 0 && current.sa_handler == SIG_DFL) {
        std::signal(SIGPIPE, SIG_IGN);
    }
    int child_input[2];
    int child_output[2];
    if (open_pipe(child_input) != 0) {
        ec.assign(errno, std::system_category());
        return {};
    }
    if (open_pipe(child_output) != 0) {
        ec.assign(errno, std::system_category());
        ::close(child_input[0]);
        ::close(child_input[1]);
        return {};
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, child_input[0], STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&actions, child_output[1], STDOUT_FILENO);
    std::vector<char*> args;
    for (const auto& arg : argv) {
        args.push_back(const_cast<char*>(arg.c_str()));
    }
    args.push_back(nullptr);
    // A process group of its own: a Ctrl-C meant for this process (which may cancel calls) does
    // not kill the child.
    posix_spawnattr_t attributes;
    posix_spawnattr_init(&attributes);
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(&attributes, 0);
    pid_t pid = -1;
    int spawn_error = ::posix_spawnp(&pid, args[0], &actions, &attributes, args.data(), environ);
    posix_spawnattr_destroy(&attributes);
    posix_spawn_file_actions_destroy(&actions);
    ::close(child_input[0]);
    ::close(child_output[1]);
    if (spawn_error != 0) {
        ec.assign(spawn_error, std::system_category());
        ::close(child_input[1]);
        ::close(child_output[0]);
        return {};
    }
    to_child.assign(child_input[1]);
    from_child.assign(child_output[0]);
    return child_handle(pid);
}

inline int decode_wait_status(int status) {
    if (WIFEXITED(status)) {
        return WEXITSTATUS(status);
    }
    if (WIFSIGNALED(status)) {
        return 128 + WTERMSIG(status);
    }
    return -1;
}

inline int wait_for_exit(child_handle& child) {
    int status = 0;
    while (::waitpid(child.id(), &status, 0) < 0 && errno == EINTR) {
    }
    child.release();
    return decode_wait_status(status);
}

/// The exit status if the child exits within `limit` (it is then reaped).
inline std::optional<int> wait_for_exit(child_handle& child, std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    int status = 0;
    for (;;) {
        if (::waitpid(child.id(), &status, WNOHANG) == child.id()) {
            child.release();
            return decode_wait_status(status);
        }
        if (std::chrono::steady_clock::now() >= deadline) {
            return std::nullopt;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
}

/// `signal` to the process group the unreaped child leads (spawn made it lead one), so that what
/// it started there ends too; to the child alone if it left that group.
inline void signal_group(const child_handle& child, int signal) {
    if (::kill(-child.id(), signal) != 0) {
        ::kill(child.id(), signal);
    }
}

/// SIGTERM, up to `grace` to exit, then SIGKILL, each to the child's process group.
inline int terminate(child_handle& child, std::chrono::milliseconds grace) {
    signal_group(child, SIGTERM);
    if (auto status = wait_for_exit(child, grace)) {
        return *status;
    }
    signal_group(child, SIGKILL);
    return wait_for_exit(child);
}

} // namespace slicerbridge::detail::platform

#endif
