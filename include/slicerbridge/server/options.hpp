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

/// The fewest characters a server's token may have ([SEC-8]): 128 random bits take 22
/// characters in base64, the densest encoding in common use (32 in hexadecimal).
inline constexpr std::size_t min_token_length = 22;

/// Why `token` cannot be a server's token, or empty when it can ([SEC-8]). Never quotes the
/// token ([SEC-5]).
inline std::string token_problem(std::string_view token) {
    if (token.size() >= min_token_length) {
        return {};
    }
    return "the token has " + std::to_string(token.size()) + " characters; a server's token " +
           "needs at least " + std::to_string(min_token_length) +
           " (128 random bits): make one with `openssl rand -hex 16` or `python3 -c \"import " +
           "secrets; print(secrets.token_urlsafe(32))\"`";
}

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
    /// How long the connection's I/O thread waits for a worker's answer to a call when the
    /// server has no other call, before it goes back to its other work. An answer ready within
    /// it is sent at once, without waking the I/O thread (several microseconds); other
    /// connections wait at most this long for the thread. Zero: never wait.
    std::chrono::microseconds answer_wait{50};
    /// Connections served at once; a further one is answered with a connection-level
    /// too_many_connections and closed ([LIMIT-8]).
    std::size_t max_connections = 256;
    /// Connections served at once from one network address (TCP and TLS; 0: no cap beyond
    /// max_connections). Answered like max_connections ([LIMIT-8]).
    std::size_t max_connections_per_address = 0;
    /// TLS handshakes in progress at once; further connections are closed before their
    /// handshake. Each one has `hello_timeout` to finish ([LIMIT-5]).
    std::size_t max_pending_handshakes = 64;
    /// How long a new connection has to send its whole hello (and, over TLS, to finish the TLS
    /// handshake first); then it is closed ([LIMIT-5]). Zero disables.
    std::chrono::milliseconds hello_timeout{std::chrono::seconds(10)};
    /// A connection with no open call, no answer waiting to be sent, its reading not paused by
    /// the byte budget and nothing received for this long is closed ([LIMIT-6]). Zero (the default)
    /// disables: clients such as Slicer keep a connection open between a user's actions.
    std::chrono::milliseconds idle_timeout{0};
    /// A frame whose bytes stop arriving, or an answer whose bytes stop leaving, for this long
    /// closes the connection ([LIMIT-7]). Zero disables.
    std::chrono::milliseconds stall_timeout{std::chrono::seconds(60)};
    /// Bytes one connection may hold in frames being received, inputs of its open calls and
    /// answers waiting to be sent; beyond it the connection's reading pauses ([LIMIT-9]).
    std::size_t connection_budget = std::size_t{1} << 30;
    /// The same, summed over all connections ([LIMIT-9]). A frame larger than what is left
    /// waits until earlier ones are done; one larger than the whole budget is received only
    /// when the server holds nothing else.
    std::size_t total_budget = std::size_t{4} << 30;
    /// Bytes of released large buffers kept for reuse (buffer::set_reuse_limit); the rest is
    /// returned to the system. Applied when the server is constructed.
    std::size_t block_cache_limit = std::size_t{256} << 20;
    /// Calls admitted and not yet finished computing across all connections; an invoke beyond
    /// it is answered too_many_in_flight ([LIMIT-12]).
    std::size_t max_pending_calls = 1024;
    /// When set, every client must present this token ([SEC-3]); at least min_token_length
    /// characters ([SEC-8]), or the server's constructor throws std::invalid_argument.
    std::optional<std::string> token;
    /// How long the answer to a missing or wrong token waits ([SEC-11]): this long after a first
    /// failure from an address, doubling with each further one up to failed_token_delay_max;
    /// back to this after a right token or a minute without failures. Meanwhile the connection
    /// is counted as any other and its hello_timeout applies. Zero turns the delay off.
    std::chrono::milliseconds failed_token_delay{100};
    std::chrono::milliseconds failed_token_delay_max{std::chrono::seconds(5)};
    /// Codecs the server accepts and uses for bulk when the client offers them (those this
    /// build lacks, see `codec_set::all()`, never are).
    /// Whether the server lists transfer.memfd when a client offers it on a Unix socket: large
    /// segments then pass as sealed memory files, mapped instead of copied (section 3.5).
    bool transfer_memfd = true;
    codec_set codecs = codec_set::all();
    /// Codec for the bulk of responses, if in force on the connection.
    codec response_compression = codec::none;
    log_function log;
    /// A processor's unexpected exception is logged with its message, but answered with its
    /// type only, since the message may quote data ([ERR-3]); set this for local development
    /// to answer with the message too.
    bool expose_errors = false;
};

} // namespace slicerbridge

#endif
