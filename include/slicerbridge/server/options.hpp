#ifndef SLICERBRIDGE_SERVER_OPTIONS_HPP
#define SLICERBRIDGE_SERVER_OPTIONS_HPP

#include <slicerbridge/compression.hpp>
#include <slicerbridge/limits.hpp>
#include <slicerbridge/version.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace slicerbridge {

enum class log_level { error, warning, info, debug };

/// Where a processor's calls run; chosen when the processor is added to a server.
enum class processor_execution {
    /// On the server's worker threads (the default): I/O never waits for a processor.
    worker_pool,
    /// On the I/O thread that read the request, and answered before the connection reads on:
    /// no thread hand-off, so the lowest latency. Only for processors that return at once
    /// (metadata, an echo of references): while one runs, every connection served by that
    /// thread waits, a cancel cannot reach it, and a deadline is checked when it returns.
    io_thread,
};

/// Receives the server's log lines. Lines never contain voxels, tokens or error details
/// ([SEC-5]).
using log_function = std::function<void(log_level, std::string_view)>;

struct server_options {
    /// `implementation` in the server's hello.
    std::string name = "slicerbridge-cpp";
    std::string version = SLICERBRIDGE_VERSION_STRING;
    /// What the server accepts; announced in its hello ([LIMIT-1]).
    limits receive_limits;
    /// Threads running processors; I/O never waits for them.
    std::size_t workers = 2;
    /// How long one idle worker looks for the next call before it sleeps, yielding the CPU to
    /// any other runnable thread meanwhile. A call that arrives within it starts without a
    /// thread wake-up (several microseconds); zero makes idle workers sleep at once.
    std::chrono::microseconds worker_spin{200};
    /// Connections served at once; further ones are closed at once.
    std::size_t max_connections = 256;
    /// Calls admitted and not yet finished across all connections; beyond it, too_many_in_flight.
    std::size_t max_pending_calls = 1024;
    /// When set, every client must present this token ([SEC-3]).
    std::optional<std::string> token;
    /// Codecs the server accepts and uses for bulk when the client offers them (those this
    /// build lacks, see `codec_set::all()`, never are).
    codec_set codecs = codec_set::all();
    /// Codec for the bulk of responses, if in force on the connection.
    codec response_compression = codec::none;
    log_function log;
};

} // namespace slicerbridge

#endif
