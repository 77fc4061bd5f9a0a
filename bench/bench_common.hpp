// Shared by the benchmark programs: command line, clocks, statistics, peak memory, a forked
// server process, blocking socket helpers and the one-JSON-line result. Linux only.
#ifndef SLICERBRIDGE_BENCH_BENCH_COMMON_HPP
#define SLICERBRIDGE_BENCH_BENCH_COMMON_HPP

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <iostream>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

namespace bench {

using clock = std::chrono::steady_clock;

inline double seconds_between(clock::time_point start, clock::time_point end) {
    return std::chrono::duration<double>(end - start).count();
}

[[noreturn]] inline void throw_errno(const std::string& what) {
    throw std::system_error(errno, std::generic_category(), what);
}

// `--name value` pairs; every name must be one the program declared.
class arguments {
public:
    arguments(int argc, char** argv, std::initializer_list<std::string_view> known) {
        std::set<std::string_view> allowed(known);
        for (int i = 1; i < argc; i += 2) {
            std::string_view name = argv[i];
            if (name.substr(0, 2) != "--" || !allowed.count(name.substr(2)))
                throw std::invalid_argument("unknown option " + std::string(name));
            if (i + 1 >= argc)
                throw std::invalid_argument("option " + std::string(name) + " needs a value");
            values_[std::string(name.substr(2))] = argv[i + 1];
        }
    }

    std::string text(const std::string& name, const std::string& fallback) const {
        auto found = values_.find(name);
        return found == values_.end() ? fallback : found->second;
    }

    std::uint64_t count(const std::string& name, std::uint64_t fallback) const {
        auto found = values_.find(name);
        if (found == values_.end())
            return fallback;
        const std::string& text = found->second;
        errno = 0;
        unsigned long long value = std::strtoull(text.c_str(), nullptr, 10);
        if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos ||
            errno == ERANGE)
            throw std::invalid_argument("option --" + name + " needs a whole number");
        return value;
    }

    double number(const std::string& name, double fallback) const {
        auto found = values_.find(name);
        if (found == values_.end())
            return fallback;
        const std::string& text = found->second;
        char* end = nullptr;
        double value = std::strtod(text.c_str(), &end);
        if (text.empty() || *end != '\0' || !(value >= 0))
            throw std::invalid_argument("option --" + name + " needs a non-negative number");
        return value;
    }

private:
    std::map<std::string, std::string> values_;
};

// A latency test: `--warmup` calls, then `--batches` batches of `--calls` calls, each call sent
// once the last one's reply is in.
struct latency_plan {
    std::uint64_t warmup;
    std::uint64_t calls;
    std::uint64_t batches;

    static latency_plan read(const arguments& args) {
        latency_plan plan{args.count("warmup", 1000), args.count("calls", 10000),
                          args.count("batches", 1)};
        if (plan.calls == 0 || plan.batches == 0)
            throw std::invalid_argument("--calls and --batches must be at least 1");
        return plan;
    }
};

// A throughput test: `--clients` connections, each calling again on each reply, for
// `--warmup-seconds`, then for `--batches` batches of `--seconds`.
struct throughput_plan {
    std::uint64_t clients;
    double seconds;
    double warmup_seconds;
    std::uint64_t batches;

    static throughput_plan read(const arguments& args) {
        throughput_plan plan{args.count("clients", 1), args.number("seconds", 1.0),
                             args.number("warmup-seconds", 0.2), args.count("batches", 1)};
        if (plan.clients == 0 || plan.batches == 0)
            throw std::invalid_argument("--clients and --batches must be at least 1");
        return plan;
    }
};

// `--bytes`, at least 1 (the size of each call's message).
inline std::uint64_t message_bytes(const arguments& args) {
    const std::uint64_t bytes = args.count("bytes", 64);
    if (bytes == 0)
        throw std::invalid_argument("--bytes must be at least 1");
    return bytes;
}

// Nearest-rank percentile of unsorted samples; p in [0, 1].
inline double percentile(std::vector<double> samples, double p) {
    if (samples.empty())
        throw std::invalid_argument("percentile of no samples");
    std::sort(samples.begin(), samples.end());
    auto rank = static_cast<std::size_t>(p * static_cast<double>(samples.size()));
    return samples[std::min(rank, samples.size() - 1)];
}

inline double median(const std::vector<double>& samples) {
    return percentile(samples, 0.5);
}

inline double best(const std::vector<double>& samples) {
    return *std::min_element(samples.begin(), samples.end());
}

// Peak resident set size (VmHWM) of the calling process, in bytes.
inline std::uint64_t peak_rss_bytes() {
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line))
        if (line.rfind("VmHWM:", 0) == 0)
            return std::stoull(line.substr(6)) * 1024;
    throw std::runtime_error("no VmHWM in /proc/self/status");
}

// A forked child starts with its parent's high-water mark; Linux >= 4.0 lets it start afresh.
inline void reset_peak_rss() {
    std::ofstream clear_refs("/proc/self/clear_refs");
    clear_refs << "5";
}

// Kills the process if a run hangs; a benchmark must always stop by itself.
inline void arm_watchdog(std::uint64_t seconds) {
    alarm(static_cast<unsigned>(seconds));
}

// Fills a buffer with a pattern whose words differ, so that a truncated or shifted echo shows.
inline void fill_pattern(void* data, std::size_t size) {
    auto* bytes = static_cast<unsigned char*>(data);
    std::uint64_t state = 0x9e3779b97f4a7c15ULL;
    std::size_t i = 0;
    for (; i + 8 <= size; i += 8) {
        state = state * 6364136223846793005ULL + 1442695040888963407ULL;
        std::memcpy(bytes + i, &state, 8);
    }
    for (; i < size; ++i)
        bytes[i] = static_cast<unsigned char>(i * 131);
}

// A server run in a forked child. The child tells the parent its endpoint through a pipe once it
// listens, and its peak memory when it ends; it dies with the parent.
class server_process {
public:
    // `serve(announce)` runs in the child: it calls `announce(endpoint)` once it accepts
    // connections and returns when its clients are gone.
    using announce_function = std::function<void(const std::string&)>;

    explicit server_process(const std::function<void(const announce_function&)>& serve) {
        int fds[2];
        if (pipe(fds) != 0)
            throw_errno("pipe");
        pid_t parent = getpid();
        pid_ = fork();
        if (pid_ < 0)
            throw_errno("fork");
        if (pid_ == 0) {
            close(fds[0]);
            run_child(fds[1], parent, serve);
        }
        close(fds[1]);
        report_ = fdopen(fds[0], "r");
        if (!report_)
            throw_errno("fdopen");
    }

    server_process(const server_process&) = delete;
    server_process& operator=(const server_process&) = delete;

    ~server_process() {
        if (pid_ > 0) {
            kill(pid_, SIGKILL);
            waitpid(pid_, nullptr, 0);
        }
        if (report_)
            std::fclose(report_);
    }

    // Blocks until the child listens; returns the endpoint it announced.
    std::string endpoint() { return read_line("endpoint"); }

    // Asks the child to stop (SIGTERM), for servers that run until told otherwise.
    void request_stop() {
        if (pid_ > 0)
            kill(pid_, SIGTERM);
    }

    // Waits for the child to end (its clients must have disconnected) and returns its peak RSS.
    std::uint64_t finish() {
        std::string peak = read_line("peak memory");
        int status = 0;
        if (waitpid(pid_, &status, 0) < 0)
            throw_errno("waitpid");
        pid_ = -1;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            throw std::runtime_error("the server process failed");
        return std::stoull(peak);
    }

private:
    [[noreturn]] static void run_child(int report_fd, pid_t parent,
                                       const std::function<void(const announce_function&)>& serve) {
        int code = 0;
        try {
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (getppid() != parent)
                _exit(1);
            reset_peak_rss();
            serve([report_fd](const std::string& endpoint) { write_line(report_fd, endpoint); });
            write_line(report_fd, std::to_string(peak_rss_bytes()));
        } catch (const std::exception& e) {
            std::fprintf(stderr, "server: %s\n", e.what());
            code = 1;
        }
        std::fflush(nullptr);
        _exit(code);
    }

    static void write_line(int fd, const std::string& text) {
        std::string line = text + "\n";
        if (write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size()))
            throw_errno("write to parent");
    }

    std::string read_line(const char* what) {
        char line[512];
        if (!std::fgets(line, sizeof line, report_))
            throw std::runtime_error(std::string("the server process ended before reporting its ") +
                                     what);
        std::string text(line);
        if (!text.empty() && text.back() == '\n')
            text.pop_back();
        return text;
    }

    pid_t pid_ = -1;
    std::FILE* report_ = nullptr;
};

// A private directory for Unix socket paths, removed with everything in it.
class temporary_directory {
public:
    temporary_directory() {
        std::string pattern = "/tmp/slicerbridge-bench-XXXXXX";
        if (!mkdtemp(pattern.data()))
            throw_errno("mkdtemp");
        path_ = pattern;
    }
    temporary_directory(const temporary_directory&) = delete;
    temporary_directory& operator=(const temporary_directory&) = delete;
    ~temporary_directory() {
        unlink((path_ + "/socket").c_str());
        rmdir(path_.c_str());
    }
    std::string socket_path() const { return path_ + "/socket"; }

private:
    std::string path_;
};

// --- Blocking stream sockets (TCP on 127.0.0.1 or Unix) ------------------------------------

enum class transport { tcp, unix_socket };

inline transport parse_transport(const std::string& name) {
    if (name == "tcp")
        return transport::tcp;
    if (name == "unix")
        return transport::unix_socket;
    throw std::invalid_argument("--transport must be tcp or unix");
}

inline const char* transport_name(transport t) {
    return t == transport::tcp ? "tcp" : "unix";
}

class file_descriptor {
public:
    explicit file_descriptor(int fd = -1) noexcept : fd_(fd) {}
    file_descriptor(file_descriptor&& other) noexcept : fd_(other.release()) {}
    file_descriptor& operator=(file_descriptor&& other) noexcept {
        if (this != &other) {
            reset();
            fd_ = other.release();
        }
        return *this;
    }
    ~file_descriptor() { reset(); }
    int get() const noexcept { return fd_; }
    int release() noexcept {
        int fd = fd_;
        fd_ = -1;
        return fd;
    }
    void reset() noexcept {
        if (fd_ >= 0)
            close(fd_);
        fd_ = -1;
    }

private:
    int fd_;
};

inline void set_no_delay(int fd) {
    int on = 1;
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on) != 0)
        throw_errno("setsockopt TCP_NODELAY");
}

// Listens on 127.0.0.1 with a kernel-chosen port, or on `unix_path`; `endpoint` receives the
// port number or the path.
inline file_descriptor listen_on(transport t, const std::string& unix_path, std::string& endpoint) {
    if (t == transport::tcp) {
        file_descriptor fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
        if (fd.get() < 0)
            throw_errno("socket");
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (bind(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0)
            throw_errno("bind");
        if (listen(fd.get(), 128) != 0)
            throw_errno("listen");
        socklen_t length = sizeof address;
        if (getsockname(fd.get(), reinterpret_cast<sockaddr*>(&address), &length) != 0)
            throw_errno("getsockname");
        endpoint = std::to_string(ntohs(address.sin_port));
        return fd;
    }
    file_descriptor fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (fd.get() < 0)
        throw_errno("socket");
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (unix_path.size() >= sizeof address.sun_path)
        throw std::invalid_argument("Unix socket path too long");
    std::memcpy(address.sun_path, unix_path.c_str(), unix_path.size() + 1);
    if (bind(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0)
        throw_errno("bind " + unix_path);
    if (listen(fd.get(), 128) != 0)
        throw_errno("listen");
    endpoint = unix_path;
    return fd;
}

inline file_descriptor accept_connection(transport t, int listener) {
    file_descriptor fd(accept4(listener, nullptr, nullptr, SOCK_CLOEXEC));
    if (fd.get() < 0)
        throw_errno("accept");
    if (t == transport::tcp)
        set_no_delay(fd.get());
    return fd;
}

inline file_descriptor connect_to(transport t, const std::string& endpoint) {
    if (t == transport::tcp) {
        file_descriptor fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
        if (fd.get() < 0)
            throw_errno("socket");
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        address.sin_port = htons(static_cast<std::uint16_t>(std::stoul(endpoint)));
        if (connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0)
            throw_errno("connect 127.0.0.1:" + endpoint);
        set_no_delay(fd.get());
        return fd;
    }
    file_descriptor fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (fd.get() < 0)
        throw_errno("socket");
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::memcpy(address.sun_path, endpoint.c_str(), endpoint.size() + 1);
    if (connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0)
        throw_errno("connect " + endpoint);
    return fd;
}

inline void write_all(int fd, const void* data, std::size_t size) {
    const auto* bytes = static_cast<const unsigned char*>(data);
    while (size > 0) {
        ssize_t written = write(fd, bytes, size);
        if (written < 0) {
            if (errno == EINTR)
                continue;
            throw_errno("write");
        }
        bytes += written;
        size -= static_cast<std::size_t>(written);
    }
}

// Reads exactly `size` bytes. Returns false on a clean end of stream before the first byte; an
// end of stream after it is an error.
inline bool read_all(int fd, void* data, std::size_t size) {
    auto* bytes = static_cast<unsigned char*>(data);
    std::size_t done = 0;
    while (done < size) {
        ssize_t got = read(fd, bytes + done, size - done);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            throw_errno("read");
        }
        if (got == 0) {
            if (done == 0)
                return false;
            throw std::runtime_error("stream ended inside a message");
        }
        done += static_cast<std::size_t>(got);
    }
    return true;
}

// --- Results ------------------------------------------------------------------------------

// The fields every volume echo program reports, whatever carries the bytes.
inline nlohmann::json echo_result(const std::vector<double>& round_trips, std::uint64_t bytes,
                                  std::uint64_t warmup, std::uint64_t server_peak, bool verified) {
    return {{"test", "echo"},
            {"bytes", bytes},
            {"warmup", warmup},
            {"iterations", round_trips.size()},
            {"round_trip_seconds", round_trips},
            {"best_seconds", best(round_trips)},
            {"median_seconds", median(round_trips)},
            {"server_peak_rss_bytes", server_peak},
            {"client_peak_rss_bytes", peak_rss_bytes()},
            {"verified", verified}};
}

// The fields every small-message latency program reports: one p50/p99 per batch of calls.
inline nlohmann::json latency_result(const std::vector<std::vector<double>>& batches,
                                     std::uint64_t warmup) {
    std::vector<double> p50s;
    std::vector<double> p99s;
    for (const auto& batch : batches) {
        p50s.push_back(percentile(batch, 0.50));
        p99s.push_back(percentile(batch, 0.99));
    }
    return {{"test", "latency"},
            {"warmup", warmup},
            {"calls_per_batch", batches.front().size()},
            {"batch_p50_seconds", p50s},
            {"batch_p99_seconds", p99s},
            {"p50_seconds", median(p50s)},
            {"p99_seconds", median(p99s)}};
}

inline void print_result(const nlohmann::json& result) {
    std::cout << result.dump() << std::endl;
}

// Runs a program's body, turning exceptions into a message and exit status 1.
inline int guarded_main(const std::function<void()>& body) {
    try {
        body();
        return 0;
    } catch (const std::exception& e) {
        std::cerr << "error: " << e.what() << '\n';
        return 1;
    }
}

} // namespace bench

#endif
