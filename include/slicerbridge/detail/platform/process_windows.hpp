#ifndef SLICERBRIDGE_DETAIL_PLATFORM_PROCESS_WINDOWS_HPP
#define SLICERBRIDGE_DETAIL_PLATFORM_PROCESS_WINDOWS_HPP

#include <asio/windows/stream_handle.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include <windows.h>

namespace slicerbridge::detail::platform {

using stream_handle = asio::windows::stream_handle;
using process_id = DWORD;

/// A running child and the job object it runs in (null if the system refused one).
class child_handle {
public:
    child_handle() = default;
    child_handle(HANDLE process, DWORD id, HANDLE job) noexcept
        : process_(process), id_(id), job_(job) {}
    child_handle(child_handle&& other) noexcept
        : process_(std::exchange(other.process_, nullptr)), id_(std::exchange(other.id_, 0)),
          job_(std::exchange(other.job_, nullptr)) {}
    child_handle& operator=(child_handle&& other) noexcept {
        if (this != &other) {
            release();
            process_ = std::exchange(other.process_, nullptr);
            id_ = std::exchange(other.id_, 0);
            job_ = std::exchange(other.job_, nullptr);
        }
        return *this;
    }
    ~child_handle() { release(); }

    bool running() const noexcept { return process_ != nullptr; }
    DWORD id() const noexcept { return id_; }
    HANDLE native_handle() const noexcept { return process_; }
    HANDLE job() const noexcept { return job_; }

    /// Forgets the child (closing the handles stops neither it nor its job).
    void release() noexcept {
        if (process_ != nullptr) {
            ::CloseHandle(process_);
            process_ = nullptr;
            id_ = 0;
        }
        if (job_ != nullptr) {
            ::CloseHandle(job_);
            job_ = nullptr;
        }
    }

private:
    HANDLE process_ = nullptr;
    DWORD id_ = 0;
    HANDLE job_ = nullptr;
};

inline std::error_code last_error() {
    return std::error_code(static_cast<int>(::GetLastError()), std::system_category());
}

inline std::wstring widen(const std::string& utf8) {
    if (utf8.empty()) {
        return {};
    }
    const int size = static_cast<int>(utf8.size());
    const int n = ::MultiByteToWideChar(CP_UTF8, 0, utf8.data(), size, nullptr, 0);
    std::wstring wide(static_cast<std::size_t>(n), L'\0');
    ::MultiByteToWideChar(CP_UTF8, 0, utf8.data(), size, wide.data(), n);
    return wide;
}

/// Appends `argument` to a command line so that CommandLineToArgvW and the C runtimes give it
/// back unchanged: quotes around it, and backslashes doubled only before a quote.
inline void append_argument(std::wstring& line, const std::wstring& argument) {
    if (!line.empty()) {
        line += L' ';
    }
    if (!argument.empty() && argument.find_first_of(L" \t\n\v\"") == std::wstring::npos) {
        line += argument;
        return;
    }
    line += L'"';
    for (auto it = argument.begin();; ++it) {
        std::size_t backslashes = 0;
        while (it != argument.end() && *it == L'\\') {
            ++it;
            ++backslashes;
        }
        if (it == argument.end()) {
            line.append(backslashes * 2, L'\\');
            break;
        }
        if (*it == L'"') {
            line.append(backslashes * 2 + 1, L'\\');
        } else {
            line.append(backslashes, L'\\');
        }
        line += *it;
    }
    line += L'"';
}

/// A pipe whose end in this process (`ours`) is overlapped, as Asio's stream handles need, and
/// whose other end (`theirs`, synchronous) goes to a child or to a relay thread. Anonymous pipes
/// cannot do overlapped I/O, hence a named one, unique to this process and refused to others.
inline bool create_pipe(bool we_read, bool inheritable, HANDLE& ours, HANDLE& theirs,
                        std::error_code& ec) {
    static std::atomic<unsigned long> counter{0};
    wchar_t name[96];
    std::swprintf(name, 96, L"\\\\.\\pipe\\slicerbridge-%lu-%lu", ::GetCurrentProcessId(),
                  ++counter);
    constexpr DWORD buffer_size = 1 << 20;
    ours = ::CreateNamedPipeW(name,
                              (we_read ? PIPE_ACCESS_INBOUND : PIPE_ACCESS_OUTBOUND) |
                                  FILE_FLAG_OVERLAPPED | FILE_FLAG_FIRST_PIPE_INSTANCE,
                              PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT |
                                  PIPE_REJECT_REMOTE_CLIENTS,
                              1, buffer_size, buffer_size, 0, nullptr);
    if (ours == INVALID_HANDLE_VALUE) {
        ec = last_error();
        return false;
    }
    SECURITY_ATTRIBUTES attributes{sizeof(SECURITY_ATTRIBUTES), nullptr, inheritable};
    theirs = ::CreateFileW(name, we_read ? GENERIC_WRITE : GENERIC_READ, 0, &attributes,
                           OPEN_EXISTING, 0, nullptr);
    if (theirs == INVALID_HANDLE_VALUE) {
        ec = last_error();
        ::CloseHandle(ours);
        return false;
    }
    return true;
}

/// Copies `from` to `to` until end of input or a failed write, then closes `close_when_done` (the
/// pipe end it served), so that the other side of that pipe sees the end.
class relay {
public:
    relay(HANDLE from, HANDLE to, HANDLE close_when_done)
        : thread_([this, from, to, close_when_done] {
              std::vector<char> buffer(64 * 1024);
              DWORD got = 0;
              while (::ReadFile(from, buffer.data(), static_cast<DWORD>(buffer.size()), &got,
                                nullptr) &&
                     got > 0 && write_all(to, buffer.data(), got)) {
              }
              ::CloseHandle(close_when_done);
              std::lock_guard<std::mutex> lock(mutex_);
              done_ = true;
              finished_.notify_all();
          }) {}

    /// Waits up to `limit` for the copy to finish.
    void drain(std::chrono::milliseconds limit) {
        std::unique_lock<std::mutex> lock(mutex_);
        finished_.wait_for(lock, limit, [this] { return done_; });
    }

    ~relay() { thread_.detach(); }

private:
    static bool write_all(HANDLE to, const char* data, DWORD size) {
        while (size > 0) {
            DWORD written = 0;
            if (!::WriteFile(to, data, size, &written, nullptr)) {
                return false;
            }
            data += written;
            size -= written;
        }
        return true;
    }

    std::mutex mutex_;
    std::condition_variable finished_;
    bool done_ = false;
    std::thread thread_;
};

/// Standard input and output are synchronous handles (a console, a file, a pipe another program
/// made), which Asio cannot wait on. Two threads relay them through overlapped pipes; at exit,
/// what the server wrote last still reaches standard output (within 5 s).
inline void open_standard_streams(stream_handle& input, stream_handle& output) {
    HANDLE input_ours = nullptr;
    HANDLE input_theirs = nullptr;
    HANDLE output_ours = nullptr;
    HANDLE output_theirs = nullptr;
    std::error_code ec;
    if (!create_pipe(true, false, input_ours, input_theirs, ec)) {
        throw std::system_error(ec, "relaying standard input");
    }
    if (!create_pipe(false, false, output_ours, output_theirs, ec)) {
        ::CloseHandle(input_ours);
        ::CloseHandle(input_theirs);
        throw std::system_error(ec, "relaying standard output");
    }
    input.assign(input_ours);
    output.assign(output_ours);
    struct relays {
        relay in;
        relay out;
    };
    static struct registry {
        std::mutex mutex;
        std::vector<std::unique_ptr<relays>> running;
        ~registry() {
            for (auto& r : running) {
                r->out.drain(std::chrono::seconds(5));
                // Not destroyed: the input relay may still be reading; the process ends it.
                static_cast<void>(r.release());
            }
        }
    } all;
    std::lock_guard<std::mutex> lock(all.mutex);
    all.running.push_back(std::unique_ptr<relays>(
        new relays{relay(::GetStdHandle(STD_INPUT_HANDLE), input_theirs, input_theirs),
                   relay(output_theirs, ::GetStdHandle(STD_OUTPUT_HANDLE), output_theirs)}));
}

inline child_handle spawn(const std::vector<std::string>& argv, stream_handle& to_child,
                          stream_handle& from_child, std::error_code& ec) {
    HANDLE input_ours = nullptr;
    HANDLE input_theirs = nullptr;
    HANDLE output_ours = nullptr;
    HANDLE output_theirs = nullptr;
    if (!create_pipe(false, true, input_ours, input_theirs, ec)) {
        return {};
    }
    if (!create_pipe(true, true, output_ours, output_theirs, ec)) {
        ::CloseHandle(input_ours);
        ::CloseHandle(input_theirs);
        return {};
    }
    HANDLE error_theirs = nullptr;
    HANDLE error = ::GetStdHandle(STD_ERROR_HANDLE);
    if (error != nullptr && error != INVALID_HANDLE_VALUE) {
        ::DuplicateHandle(::GetCurrentProcess(), error, ::GetCurrentProcess(), &error_theirs, 0,
                          TRUE, DUPLICATE_SAME_ACCESS);
    }
    // The child inherits these handles and no others this process may have made inheritable.
    HANDLE inherited[3] = {input_theirs, output_theirs, error_theirs};
    const std::size_t inherited_count = error_theirs != nullptr ? 3 : 2;
    SIZE_T list_size = 0;
    ::InitializeProcThreadAttributeList(nullptr, 1, 0, &list_size);
    std::vector<unsigned char> list_storage(list_size);
    auto* list = reinterpret_cast<LPPROC_THREAD_ATTRIBUTE_LIST>(list_storage.data());
    STARTUPINFOEXW startup{};
    startup.StartupInfo.cb = sizeof(startup);
    startup.StartupInfo.dwFlags = STARTF_USESTDHANDLES;
    startup.StartupInfo.hStdInput = input_theirs;
    startup.StartupInfo.hStdOutput = output_theirs;
    startup.StartupInfo.hStdError = error_theirs;
    DWORD flags = CREATE_NO_WINDOW | CREATE_SUSPENDED; // resumed once in its job
    if (::InitializeProcThreadAttributeList(list, 1, 0, &list_size) &&
        ::UpdateProcThreadAttribute(list, 0, PROC_THREAD_ATTRIBUTE_HANDLE_LIST, inherited,
                                    inherited_count * sizeof(HANDLE), nullptr, nullptr)) {
        startup.lpAttributeList = list;
        flags |= EXTENDED_STARTUPINFO_PRESENT;
    }
    std::wstring line;
    for (const auto& argument : argv) {
        append_argument(line, widen(argument));
    }
    PROCESS_INFORMATION process{};
    const BOOL started = ::CreateProcessW(nullptr, line.data(), nullptr, nullptr, TRUE, flags,
                                          nullptr, nullptr, &startup.StartupInfo, &process);
    const std::error_code start_error = started ? std::error_code() : last_error();
    if (startup.lpAttributeList != nullptr) {
        ::DeleteProcThreadAttributeList(list);
    }
    ::CloseHandle(input_theirs);
    ::CloseHandle(output_theirs);
    if (error_theirs != nullptr) {
        ::CloseHandle(error_theirs);
    }
    if (!started) {
        ec = start_error;
        ::CloseHandle(input_ours);
        ::CloseHandle(output_ours);
        return {};
    }
    // The child runs in a job of its own from its first instruction, so that terminate() ends
    // what it started too. Its console host among them: Wine's conhost, when the child is killed
    // before it connects, would otherwise run on, holding whatever handles it inherited.
    HANDLE job = ::CreateJobObjectW(nullptr, nullptr);
    if (job != nullptr && !::AssignProcessToJobObject(job, process.hProcess)) {
        ::CloseHandle(job);
        job = nullptr;
    }
    ::ResumeThread(process.hThread);
    ::CloseHandle(process.hThread);
    child_handle child(process.hProcess, process.dwProcessId, job);
    to_child.assign(input_ours, ec);
    if (ec) {
        ::CloseHandle(input_ours);
        ::CloseHandle(output_ours);
        return child;
    }
    from_child.assign(output_ours, ec);
    if (ec) {
        ::CloseHandle(output_ours);
    }
    return child;
}

/// The exit status if the child exits within `limit` (its handle is then closed).
inline std::optional<int> wait_for_exit(child_handle& child, std::chrono::milliseconds limit) {
    if (::WaitForSingleObject(child.native_handle(), static_cast<DWORD>(limit.count())) !=
        WAIT_OBJECT_0) {
        return std::nullopt;
    }
    DWORD code = 0;
    ::GetExitCodeProcess(child.native_handle(), &code);
    child.release();
    return static_cast<int>(code);
}

inline int wait_for_exit(child_handle& child) {
    return *wait_for_exit(child, std::chrono::milliseconds(INFINITE));
}

/// Windows has no signal that asks a process to stop: the child has `grace` to exit by itself
/// (it sees the end of its input once the stream to it is closed), then its job is terminated
/// with status 137, as SIGKILL gives on POSIX: the child and the processes it started in it.
inline int terminate(child_handle& child, std::chrono::milliseconds grace) {
    if (auto status = wait_for_exit(child, grace)) {
        return *status;
    }
    if (child.job() == nullptr || !::TerminateJobObject(child.job(), 137)) {
        ::TerminateProcess(child.native_handle(), 137);
    }
    return wait_for_exit(child);
}

} // namespace slicerbridge::detail::platform

#endif
