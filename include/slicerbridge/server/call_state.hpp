#ifndef SLICERBRIDGE_SERVER_CALL_STATE_HPP
#define SLICERBRIDGE_SERVER_CALL_STATE_HPP
// What a server knows of one admitted call, shared by the connection's strand, which decides
// everything about it, and the worker that computes it, which hands its answer and progress
// over. Internal to `server`.

#include <slicerbridge/message/invoke.hpp>
#include <slicerbridge/message/progress.hpp>
#include <slicerbridge/processor.hpp>
#include <slicerbridge/server/call_machine.hpp>
#include <slicerbridge/wire/codec.hpp>

#include <asio/any_io_executor.hpp>
#include <asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <system_error>
#include <utility>
#include <vector>

namespace slicerbridge::detail {

/// How a worker's answer reaches the connection's strand: posted to it (`none`), or, while the
/// strand waits for it (`waiting`, server_options::answer_wait), handed over in the call's slot
/// (`answered`); a strand that stops waiting first makes it `abandoned`, and the answer is posted.
enum class answer_handoff { none, waiting, answered, abandoned };

/// A call admitted for computation. Shared by the connection's strand and the worker running it.
struct call_state {
    call_state(std::uint64_t call_id, const processor& called, invoke_params call_params)
        : id(call_id), proc(called), params(std::move(call_params)) {}

    /// Cancels whichever timers the call has.
    void cancel_timers() {
        if (deadline_timer) {
            deadline_timer->cancel();
        }
        if (grace_timer) {
            grace_timer->cancel();
        }
    }

    const std::uint64_t id;
    const processor& proc;
    invoke_params params;
    /// Bytes of the request's frame, held in the byte budget until the call is answered.
    std::uint64_t budgeted_bytes = 0;
    /// Set by the strand when the machine no longer wants the computation; read by the worker.
    std::atomic<bool> stop_requested{false};
    /// Set by the worker that takes the call; the strand tells its machine when it next looks.
    std::atomic<bool> started{false};
    /// The answer's way back; `handed_frame` and `handed_error` are the strand's once
    /// `handoff` is `answered` (written by the worker before, read by the strand after).
    std::atomic<answer_handoff> handoff{answer_handoff::none};
    encoded_frame handed_frame;
    std::error_code handed_error;
    /// Memory for the answer's head: a written frame's, given by the strand with the call.
    std::vector<std::byte> answer_head;
    /// Keeps the connection's I/O context running while a worker has the call (set by the
    /// strand before the call is queued; let go by the worker once the answer is handed over).
    asio::any_io_executor work;

    // Strand only.
    call_machine machine;
    std::optional<asio::steady_timer> deadline_timer; // made only when needed: most calls
    std::optional<asio::steady_timer> grace_timer;    // have no deadline and are not cancelled
    std::chrono::steady_clock::time_point received_first;
    std::chrono::steady_clock::time_point received_last;
    std::chrono::steady_clock::time_point admitted;

    // Progress, written by the worker and drained on the strand: the latest value wins, so a
    // processor that reports in a tight loop sends at most one notification per strand turn.
    std::mutex progress_mutex;
    double reported_fraction = 0.0;
    std::optional<progress_params> pending_progress;
};

} // namespace slicerbridge::detail

#endif
