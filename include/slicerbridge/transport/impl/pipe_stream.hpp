#ifndef SLICERBRIDGE_TRANSPORT_IMPL_PIPE_STREAM_HPP
#define SLICERBRIDGE_TRANSPORT_IMPL_PIPE_STREAM_HPP

#include <cerrno>
#include <chrono>
#include <csignal>
#include <thread>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace slicerbridge {

inline pipe_stream::pipe_stream(const executor_type& executor, int read_fd, int write_fd)
    : input_(executor, read_fd), output_(executor, write_fd) {}

inline pipe_stream pipe_stream::standard_streams(const executor_type& executor) {
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
    return pipe_stream(executor, in, out);
}

inline void pipe_stream::close(std::error_code& ec) {
    std::error_code input_error;
    input_.close(input_error);
    output_.close(ec);
    if (!ec) {
        ec = input_error;
    }
}

inline child_process& child_process::operator=(child_process&& other) noexcept {
    if (this != &other) {
        if (running()) {
            terminate();
        }
        pid_ = std::exchange(other.pid_, -1);
    }
    return *this;
}

inline child_process::~child_process() {
    if (running()) {
        terminate();
    }
}

namespace detail {
inline int decode_wait_status(int status) {
    if (WIFEXITED(status)) {
        return WEXITSTATUS(status);
    }
    if (WIFSIGNALED(status)) {
        return 128 + WTERMSIG(status);
    }
    return -1;
}
} // namespace detail

inline int child_process::wait() {
    if (!running()) {
        return -1;
    }
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
    return detail::decode_wait_status(status);
}

inline std::optional<int> child_process::wait_for(std::chrono::milliseconds limit) {
    if (!running()) {
        return std::nullopt;
    }
    const auto deadline = std::chrono::steady_clock::now() + limit;
    int status = 0;
    for (;;) {
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            return detail::decode_wait_status(status);
        }
        if (std::chrono::steady_clock::now() >= deadline) {
            return std::nullopt;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
}

inline int child_process::terminate(int grace_ms) {
    if (!running()) {
        return -1;
    }
    ::kill(pid_, SIGTERM);
    if (auto status = wait_for(std::chrono::milliseconds(grace_ms))) {
        return *status;
    }
    ::kill(pid_, SIGKILL);
    return wait();
}

inline launched_process launch_process(const asio::any_io_executor& executor,
                                       const std::vector<std::string>& argv, std::error_code& ec) {
    ec.clear();
    if (argv.empty()) {
        ec = std::make_error_code(std::errc::invalid_argument);
        return {pipe_stream(executor), child_process{}};
    }
    struct sigaction current {};
    if (::sigaction(SIGPIPE, nullptr, &current) == 0 && current.sa_handler == SIG_DFL) {
        std::signal(SIGPIPE, SIG_IGN);
    }
    int to_child[2];
    int from_child[2];
    if (::pipe2(to_child, O_CLOEXEC) != 0) {
        ec.assign(errno, std::system_category());
        return {pipe_stream(executor), child_process{}};
    }
    if (::pipe2(from_child, O_CLOEXEC) != 0) {
        ec.assign(errno, std::system_category());
        ::close(to_child[0]);
        ::close(to_child[1]);
        return {pipe_stream(executor), child_process{}};
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, to_child[0], STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&actions, from_child[1], STDOUT_FILENO);
    std::vector<char*> args;
    for (const auto& arg : argv) {
        args.push_back(const_cast<char*>(arg.c_str()));
    }
    args.push_back(nullptr);
    posix_spawnattr_t attributes;
    posix_spawnattr_init(&attributes);
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(&attributes, 0);
    pid_t pid = -1;
    int spawn_error = ::posix_spawnp(&pid, args[0], &actions, &attributes, args.data(), environ);
    posix_spawnattr_destroy(&attributes);
    posix_spawn_file_actions_destroy(&actions);
    ::close(to_child[0]);
    ::close(from_child[1]);
    if (spawn_error != 0) {
        ec.assign(spawn_error, std::system_category());
        ::close(to_child[1]);
        ::close(from_child[0]);
        return {pipe_stream(executor), child_process{}};
    }
    return {pipe_stream(executor, from_child[0], to_child[1]), child_process(pid)};
}

inline launched_process launch_process(const asio::any_io_executor& executor,
                                       const std::vector<std::string>& argv) {
    std::error_code ec;
    auto launched = launch_process(executor, argv, ec);
    if (ec) {
        throw std::system_error(ec, "launching " + (argv.empty() ? std::string() : argv[0]));
    }
    return launched;
}

} // namespace slicerbridge

#endif
