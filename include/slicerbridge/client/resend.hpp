#ifndef SLICERBRIDGE_CLIENT_RESEND_HPP
#define SLICERBRIDGE_CLIENT_RESEND_HPP
// What a pool does with a call once the connection that carried it is done with it: complete it,
// send it again on another connection, or fail it; and what becomes of that connection
// (section 6.8). No I/O: client_pool carries the decision out. The cases are
// spec/vectors/decisions/resend_decisions.json, which the Python pool runs too.

#include <cstddef>
#include <optional>

namespace slicerbridge::detail {

/// How the call ended on the connection that carried it.
enum class call_outcome {
    answered,      // a result
    error,         // an error answer of the call's own, other than shutting_down
    shutting_down, // the server refused it or cancelled it at the end of its grace period
    lost,          // the connection was lost before the answer
};

enum class resend_action { complete, resend, fail };

enum class resend_failure {
    none,
    connection_lost,   // not known to be idempotent: it may or may not have run ([RESEND-5])
    retries_exhausted, // sent max_retries + 1 times ([RESEND-3])
    refused,           // not known to be idempotent, and answered shutting_down
};

enum class connection_fate {
    keep,
    replace, // lost: a new connection takes its place
    drain,   // shutting down: no new calls; replaced once its calls are answered
};

struct resend_decision {
    resend_action action;
    resend_failure failure;
    connection_fate connection;
};

/// `idempotent` is what the catalog says of the call's processor (nullopt: not known);
/// `attempts` counts the sends so far, this one included.
inline resend_decision decide_resend(call_outcome outcome, std::optional<bool> idempotent,
                                     std::size_t attempts, std::size_t max_retries) {
    const connection_fate connection = outcome == call_outcome::lost ? connection_fate::replace
                                       : outcome == call_outcome::shutting_down
                                           ? connection_fate::drain
                                           : connection_fate::keep;
    if (outcome == call_outcome::answered || outcome == call_outcome::error) {
        return {resend_action::complete, resend_failure::none, connection}; // [RESEND-4]
    }
    if (idempotent != true) { // [RESEND-1], [RESEND-5]
        return {resend_action::fail,
                outcome == call_outcome::lost ? resend_failure::connection_lost
                                              : resend_failure::refused,
                connection};
    }
    if (attempts > max_retries) { // [RESEND-3]
        return {resend_action::fail, resend_failure::retries_exhausted, connection};
    }
    return {resend_action::resend, resend_failure::none, connection}; // [RESEND-2]
}

} // namespace slicerbridge::detail

#endif
