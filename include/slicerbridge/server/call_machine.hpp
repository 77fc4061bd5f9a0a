#ifndef SLICERBRIDGE_SERVER_CALL_MACHINE_HPP
#define SLICERBRIDGE_SERVER_CALL_MACHINE_HPP
// The life of one admitted invoke (spec sections 6.2, 6.5 to 6.7, 7.1), without I/O or
// threads: a phase and an event in, the next phase and one action out. Whoever owns the call
// (the connection's I/O strand in C++, the call's lock in Python) feeds it the events: a worker
// starting or finishing the computation, a cancel, the deadline, the end of the cancel grace,
// the server's shutdown, the connection dropping. spec/vectors/decisions/call_transitions.json
// holds every transition; the C++ and the Python server both run it.

#include <slicerbridge/error.hpp>

#include <system_error>

namespace slicerbridge::detail {

enum class call_phase {
    queued,    ///< admitted, waiting for a worker
    computing, ///< a worker runs the processor
    stopping,  ///< cancel requested: the computation is asked to stop, the grace runs
    answered,  ///< its one response is decided ([MSG-4], [CANCEL-2])
    dropped,   ///< the connection is gone: nothing is sent ([DROP-1])
};

enum class call_event {
    start,         ///< a worker takes the call
    cancel,        ///< the client's cancel ([CANCEL-1])
    deadline,      ///< the call's deadline passed ([INV-6])
    grace_expired, ///< the cancel grace passed ([CANCEL-3])
    computed,      ///< the computation returned, with a result or an error
    shutdown,      ///< the server's shutdown grace ended ([RESEND-1])
    drop,          ///< the connection dropped ([DROP-1])
};

enum class call_action {
    none,
    run,             ///< run the processor
    request_stop,    ///< ask the computation to stop and wait for the cancel grace
    answer_computed, ///< send what the computation returned
    /// Send `error` now; the computation, if any, is asked to stop and its result discarded.
    answer_error,
    discard, ///< ask the computation to stop and send nothing
};

struct call_step {
    call_phase next;
    call_action action;
    std::error_code error; ///< for answer_error
};

inline call_step call_transition(call_phase phase, call_event event) {
    using p = call_phase;
    using a = call_action;
    auto answer = [](error e) {
        return call_step{p::answered, a::answer_error, make_error_code(e)};
    };
    if (phase == p::answered || phase == p::dropped) {
        return {phase, a::none, {}}; // a late result, timer or cancel changes nothing
    }
    switch (event) {
    case call_event::start:
        return phase == p::queued ? call_step{p::computing, a::run, {}}
                                  : call_step{phase, a::none, {}};
    case call_event::cancel:
        if (phase == p::queued) {
            return answer(error::cancelled); // it never runs
        }
        return phase == p::computing ? call_step{p::stopping, a::request_stop, {}}
                                     : call_step{phase, a::none, {}};
    case call_event::deadline:
        return answer(error::deadline_exceeded);
    case call_event::grace_expired:
        return phase == p::stopping ? answer(error::cancelled) : call_step{phase, a::none, {}};
    case call_event::computed:
        return phase == p::queued ? call_step{phase, a::none, {}}
                                  : call_step{p::answered, a::answer_computed, {}};
    case call_event::shutdown:
        return answer(error::shutting_down);
    case call_event::drop:
        return {p::dropped, a::discard, {}};
    }
    return {phase, a::none, {}};
}

/// One call's machine.
class call_machine {
public:
    call_step on(call_event event) {
        call_step step = call_transition(phase_, event);
        phase_ = step.next;
        return step;
    }

    call_phase phase() const noexcept { return phase_; }

    /// The computation should stop: its answer is no longer wanted as it comes.
    bool stop_requested() const noexcept {
        return phase_ != call_phase::queued && phase_ != call_phase::computing;
    }

    /// Its response is decided, or the connection is gone.
    bool finished() const noexcept {
        return phase_ == call_phase::answered || phase_ == call_phase::dropped;
    }

private:
    call_phase phase_ = call_phase::queued;
};

} // namespace slicerbridge::detail

#endif
