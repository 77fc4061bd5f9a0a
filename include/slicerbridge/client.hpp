#ifndef SLICERBRIDGE_CLIENT_HPP
#define SLICERBRIDGE_CLIENT_HPP
// The client: handshake, many calls in flight on one connection, progress, cancel, deadlines.

#include <slicerbridge/client/call_table.hpp>
#include <slicerbridge/compression.hpp>
#include <slicerbridge/detail/config.hpp>
#include <slicerbridge/detail/unique_function.hpp>
#include <slicerbridge/limits.hpp>
#include <slicerbridge/message/catalog.hpp>
#include <slicerbridge/message/invoke.hpp>
#include <slicerbridge/message/message.hpp>
#include <slicerbridge/message/progress.hpp>
#include <slicerbridge/transport/any_stream.hpp>
#include <slicerbridge/transport/frame_stream.hpp>
#include <slicerbridge/version.hpp>

#include <asio/async_result.hpp>
#include <asio/cancellation_signal.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace slicerbridge {

struct client_options {
    /// `implementation` in the client's hello.
    std::string name = "slicerbridge-cpp";
    std::string version = SLICERBRIDGE_VERSION_STRING;
    /// What the client accepts; announced in its hello.
    limits receive_limits;
    /// Sent in the hello when the server requires one ([SEC-3]). It travels as the stream
    /// carries it: off loopback, connect with TLS ([SEC-7]; the command line warns otherwise).
    std::optional<std::string> token;
    /// Codecs offered in the hello (those this build lacks never are); those the server also
    /// lists are in force.
    codec_set codecs = codec_set::all();
    /// Codec for the bulk of requests, if in force.
    codec request_compression = codec::none;
    /// Whether the client offers transfer.memfd on a Unix socket: large segments then pass as
    /// sealed memory files, mapped instead of copied (section 3.5).
    bool transfer_memfd = true;
    /// Called for every protocol violation the server commits that does not belong to one call
    /// (a response to an id that is not open, progress for an unknown call, a malformed message).
    std::function<void(std::string_view)> on_protocol_violation;
    /// Called once, on the client's executor, when the connection closes for any reason (lost,
    /// refused, `close`, or after goodbye), with that reason, before the calls still open on it
    /// are completed with it. A pool uses it to replace a connection lost while idle.
    std::function<void(std::error_code)> on_close;
};

/// Options of one invoke.
struct invoke_options {
    /// Called with each progress notification, on the executor associated with the completion
    /// handler. Fractions never decrease: a server that sends a smaller one fails the call.
    std::function<void(const progress_params&)> on_progress;
    /// Seconds the server has for the call ([INV-6]), from now: a call held in the client beyond
    /// the server's `max_in_flight` is sent with what remains of it ([LIMIT-13]). The client
    /// gives up on its own when the server stays silent for the deadline plus its
    /// `cancel_grace` plus one second.
    std::optional<double> deadline;
    /// The call's id, from `basic_client::reserve_call_id`, for a caller that needs it before
    /// the call starts (to `cancel` it from elsewhere, or match its progress); without it the
    /// client picks one.
    std::optional<call_id> id;
};

/// What an invoke returns.
struct invoke_reply {
    invoke_result result;
    /// The server's error, when the call failed with one (the handler's error code is its code).
    std::optional<error_info> error;
    /// Measured by the server ([section 5.6]), when it sent them.
    std::optional<timings> server_timings;
    /// From the request being handed to the stream to the response being decoded, seconds.
    double round_trip = 0.0;
};

namespace detail {
template <class Stream>
class client_impl;
}

/// A SlicerBridge client over `Stream`: any Asio AsyncStream (see `any_stream`).
///
/// Every asynchronous operation takes a completion token: a callback, `asio::use_future`,
/// `asio::use_awaitable`, and so on. Handlers never run inside the initiating function; they run
/// on their associated executor. Operations honour per-operation cancellation: a terminal
/// cancellation of an invoke sends `cancel` to the server, and the handler then gets the
/// server's one answer (`cancelled`, or the result if it won the race).
///
/// The stream's executor should be a strand when its io_context runs on several threads.
template <class Stream>
class basic_client {
public:
    using executor_type = typename Stream::executor_type;

    explicit basic_client(Stream stream, client_options options = {});
    ~basic_client();
    basic_client(basic_client&&) noexcept = default;
    basic_client& operator=(basic_client&&) noexcept = default;

    executor_type get_executor() const;

    /// Exchanges hellos ([HELLO-1]). Handler: `void(std::error_code)`. A connection-level error
    /// from the server (unsupported_version, unauthorized, ...) is the error.
    template <class CompletionToken>
    auto async_handshake(CompletionToken&& token);

    /// The server's hello, once the handshake has completed.
    const server_hello& server_info() const;

    /// The first bytes the server sent instead of a frame, once the connection has failed with
    /// `malformed_frame`, for saying what came (a stray print, a TLS or HTTP answer).
    const std::string& rejected_bytes() const;

    /// The descriptions dropped from the last catalog because they break a rule of section 10,
    /// each with its name (or position) and the requirement it breaks ([CAT-12]). An invoke of a
    /// dropped processor fails locally with `invalid_message`, without sending a request.
    std::vector<dropped_description> dropped_processors() const;

    /// Sends a request and waits for its response. Handler: `void(std::error_code, response)`;
    /// an error response sets the error code to its code and keeps message and details in the
    /// response.
    template <class CompletionToken>
    auto async_call(std::string method, value params, CompletionToken&& token);

    /// Runs a processor. Handler: `void(std::error_code, invoke_reply)`. Beyond the server's
    /// `max_in_flight` open invokes, the call waits in the client and is sent when one of them
    /// ends ([LIMIT-13]).
    template <class CompletionToken>
    auto async_invoke(invoke_params params, invoke_options options, CompletionToken&& token);

    /// Handler: `void(std::error_code, std::vector<processor_description>)`: the valid
    /// descriptions; those that break a rule are left out (see dropped_processors, [CAT-12]).
    template <class CompletionToken>
    auto async_catalog(CompletionToken&& token);

    /// Handler: `void(std::error_code, processor_description)`.
    template <class CompletionToken>
    auto async_describe(std::string processor_name, CompletionToken&& token);

    /// Handler: `void(std::error_code, double round_trip_seconds)`.
    template <class CompletionToken>
    auto async_ping(CompletionToken&& token);

    /// Orderly close ([BYE-1], [BYE-2]): the server answers what is open, then goodbye, then
    /// closes. Handler: `void(std::error_code)`.
    template <class CompletionToken>
    auto async_goodbye(CompletionToken&& token);

    /// A fresh id for an invoke started later with `invoke_options::id`, known before the call
    /// starts with any completion token; callable from any thread. A `cancel` of it before the
    /// invoke starts makes the invoke complete with `cancelled` without sending it.
    call_id reserve_call_id();

    /// Asks the server to cancel call `id` ([CANCEL-1]); its handler still gets one answer.
    void cancel(call_id id);

    /// Closes the connection at once; calls in flight fail with operation_aborted and the
    /// server cancels them ([DROP-1]).
    void close();

private:
    std::shared_ptr<detail::client_impl<Stream>> impl_;
};

} // namespace slicerbridge

#include <slicerbridge/client/impl/client.hpp>

// Separately compiled, the client over `any_stream` (sync_client's, and connect's stream) is
// instantiated once, in client/impl/client.ipp.
#if !defined(SLICERBRIDGE_HEADER_ONLY)
namespace slicerbridge {
namespace detail {
extern template class client_impl<any_stream>;
}
extern template class basic_client<any_stream>;
} // namespace slicerbridge
#endif

#endif
