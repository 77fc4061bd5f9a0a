"""The life of one admitted invoke (spec sections 6.2, 6.5 to 6.7, 7.1), without I/O or threads.

A phase and an event in, the next phase and one action out. The server feeds a call's machine
under the call's lock: a worker starting or finishing the computation, a cancel, the deadline,
the end of the cancel grace, the server's shutdown, the connection dropping.
spec/vectors/decisions/call_transitions.json holds every transition; this module and the C++
server's call_machine.hpp both run it.
"""

from __future__ import annotations

from typing import NamedTuple, Optional

from .errors import ErrorCode

# Phases
QUEUED = "queued"  # admitted, waiting for a worker
COMPUTING = "computing"  # a worker runs the processor
STOPPING = "stopping"  # cancel requested: the computation is asked to stop, the grace runs
ANSWERED = "answered"  # its one response is decided [MSG-4] [CANCEL-2]
DROPPED = "dropped"  # the connection is gone: nothing is sent [DROP-1]

# Events
START = "start"
CANCEL = "cancel"  # [CANCEL-1]
DEADLINE = "deadline"  # [INV-6]
GRACE_EXPIRED = "grace_expired"  # [CANCEL-3]
COMPUTED = "computed"
SHUTDOWN = "shutdown"
DROP = "drop"  # [DROP-1]

# Actions
NONE = "none"
RUN = "run"
REQUEST_STOP = "request_stop"  # ask the computation to stop and wait for the cancel grace
ANSWER_COMPUTED = "answer_computed"
ANSWER_ERROR = "answer_error"  # answer now; any computation is asked to stop, its result dropped
DISCARD = "discard"  # ask the computation to stop and send nothing


class Step(NamedTuple):
    next: str
    action: str
    error: Optional[ErrorCode] = None


def transition(phase: str, event: str) -> Step:
    if phase in (ANSWERED, DROPPED):
        return Step(phase, NONE)  # a late result, timer or cancel changes nothing
    if event == DROP:
        return Step(DROPPED, DISCARD)
    if event == DEADLINE:
        return Step(ANSWERED, ANSWER_ERROR, ErrorCode.DEADLINE_EXCEEDED)
    if event == SHUTDOWN:
        return Step(ANSWERED, ANSWER_ERROR, ErrorCode.SHUTTING_DOWN)
    if event == START:
        return Step(COMPUTING, RUN) if phase == QUEUED else Step(phase, NONE)
    if event == CANCEL:
        if phase == QUEUED:  # it never runs
            return Step(ANSWERED, ANSWER_ERROR, ErrorCode.CANCELLED)
        if phase == COMPUTING:
            return Step(STOPPING, REQUEST_STOP)
        return Step(phase, NONE)
    if event == GRACE_EXPIRED:
        if phase == STOPPING:
            return Step(ANSWERED, ANSWER_ERROR, ErrorCode.CANCELLED)
        return Step(phase, NONE)
    if event == COMPUTED:
        return Step(phase, NONE) if phase == QUEUED else Step(ANSWERED, ANSWER_COMPUTED)
    raise ValueError(f"unknown call event {event!r}")


class CallMachine:
    """One call's machine; the caller serialises ``on``."""

    def __init__(self) -> None:
        self.phase = QUEUED

    def on(self, event: str) -> Step:
        step = transition(self.phase, event)
        self.phase = step.next
        return step

    @property
    def finished(self) -> bool:
        return self.phase in (ANSWERED, DROPPED)
