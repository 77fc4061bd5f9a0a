"""The client's calls in flight as a state machine without I/O: what to do when a call is sent,
held beyond the server's max_in_flight, answered, reported on, cancelled, given up on or cut off
by the connection (protocol.md sections 5, 6.4 to 6.6, 7). The client carries the actions out;
spec/vectors/client_call_table.json holds the cases, which the C++ table
(include/slicerbridge/client/call_table.hpp) runs too.

Errors are passed through as the caller gives them (an exception, a code); those the table
decides itself are ``ErrorCode`` members.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Dict, List, NamedTuple, Optional

from .errors import ErrorCode
from .limits import Limits

SEND_REQUEST = "send_request"          #: write the call's request
HOLD_REQUEST = "hold_request"          #: keep the call's request unsent, until a SEND_REQUEST
ARM_TIMER = "arm_timer"                #: start the call's give-up timer, ``seconds`` long
DISARM_TIMER = "disarm_timer"          #: stop the call's give-up timer
SEND_CANCEL = "send_cancel"            #: write a ``cancel`` notification for the call
DELIVER_PROGRESS = "deliver_progress"  #: hand ``fraction`` to the call's progress callback
COMPLETE = "complete"                  #: complete the call with ``error`` (None: its result)
REPORT = "report"                      #: the server violated ``requirement``; ``what`` says how


class Action(NamedTuple):
    kind: str
    id: Optional[int] = None
    error: Any = None
    seconds: float = 0.0
    fraction: float = 0.0
    requirement: str = ""
    what: str = ""


class _OpenCall:
    __slots__ = ("is_invoke", "timer_armed", "cancel_sent", "last_fraction")

    def __init__(self, is_invoke: bool):
        self.is_invoke = is_invoke
        self.timer_armed = False
        self.cancel_sent = False
        self.last_fraction = 0.0


def _report(requirement: str, what: str) -> Action:
    return Action(REPORT, requirement=requirement, what=what)


class CallTable:
    """The calls open on one connection ([MSG-1]). Each event returns its actions in order. Not
    thread-safe: the client calls it under its lock."""

    def __init__(self) -> None:
        self._open: Dict[int, _OpenCall] = {}
        #: Invokes beyond max_in_flight, not sent yet, oldest first [LIMIT-13].
        self._held: "OrderedDict[int, _OpenCall]" = OrderedDict()
        self._open_invokes = 0
        #: The server's ``max_in_flight``: an invoke beyond it is held until one ends.
        self.max_in_flight = Limits().max_in_flight
        self._reserved: Dict[int, bool] = {}  # not started yet; True: cancelled meanwhile
        self._lost: Any = None
        #: The server listed ``cancel``: without it no cancel is sent [CANCEL-5].
        self.cancel_in_force = False

    def __len__(self) -> int:
        """Calls open or held."""
        return len(self._open) + len(self._held)

    def is_open(self, call_id: int) -> bool:
        return call_id in self._open

    def reserve(self, call_id: int) -> None:
        """The caller took ``call_id`` for a call it starts later: a cancel before the start
        fails the call with ``cancelled`` when it starts, and nothing is sent."""
        self._reserved[call_id] = False

    def start(self, call_id: int, method: str,
              give_up_after: Optional[float] = None) -> List[Action]:
        """A call of ``method`` starts; ``give_up_after``: seconds after which the client stops
        waiting."""
        cancelled_before_start = self._reserved.pop(call_id, False)
        if self._lost is not None:
            return [Action(COMPLETE, call_id, self._lost)]
        if call_id in self._open or call_id in self._held:  # [MSG-1]: it is not affected
            return [Action(COMPLETE, call_id, ErrorCode.DUPLICATE_ID)]
        if cancelled_before_start:
            return [Action(COMPLETE, call_id, ErrorCode.CANCELLED)]
        is_invoke = method == "invoke"
        call = _OpenCall(is_invoke)
        # [LIMIT-13]; a goodbye waits for the calls held before it [BYE-1]
        if ((is_invoke and self._open_invokes >= self.max_in_flight)
                or (method == "goodbye" and self._held)):
            self._held[call_id] = call
            actions = [Action(HOLD_REQUEST, call_id)]
        else:
            self._open[call_id] = call
            self._open_invokes += is_invoke
            actions = [Action(SEND_REQUEST, call_id)]
        if give_up_after is not None:
            call.timer_armed = True
            actions.append(Action(ARM_TIMER, call_id, seconds=give_up_after))
        return actions

    def on_send_failed(self, call_id: int, error: Any) -> List[Action]:
        """The call's request could not be written: it fails with ``error``."""
        if call_id not in self._open and call_id not in self._held:
            return []
        return self._finish(call_id, error)

    def on_response(self, call_id: Optional[int], error: Any = None,
                    malformed: bool = False) -> List[Action]:
        """A response: ``call_id`` None for a connection-level error; ``error`` None for a
        result; ``malformed`` when it (or its bulk) was invalid [MSG-15]."""
        if call_id is None:  # [MSG-17]
            return [_report("MSG-17", "a connection-level error from the server")]
        if call_id not in self._open:  # [MSG-8]
            return [_report("MSG-8", "a response to an id that is not open")]
        actions = [_report("MSG-15", "a malformed response")] if malformed else []
        return actions + self._finish(call_id, error)

    def on_progress(self, call_id: int, fraction: float) -> List[Action]:
        """A well-formed progress notification [PROG-1] [PROG-2] [PROG-3]."""
        call = self._open.get(call_id)
        if call is None or not call.is_invoke:
            return [_report("PROG-3", "progress for an id that is not an open invoke")]
        if fraction < call.last_fraction:  # the server broke its word: the call fails
            return ([_report("PROG-1", "a progress fraction that decreased")]
                    + self._cancel(call_id) + self._finish(call_id, ErrorCode.INVALID_MESSAGE))
        call.last_fraction = fraction
        return [Action(DELIVER_PROGRESS, call_id, fraction=fraction)]

    def on_cancel_requested(self, call_id: int) -> List[Action]:
        """The caller asks to cancel a call [CANCEL-1]; it still gets one answer [CANCEL-2]."""
        if call_id in self._reserved:
            self._reserved[call_id] = True
        if call_id in self._held:  # never sent: nothing to stop
            return self._finish(call_id, ErrorCode.CANCELLED)
        return self._cancel(call_id) if call_id in self._open else []

    def on_give_up(self, call_id: int) -> List[Action]:
        """The call's give-up timer fired: it fails with deadline_exceeded."""
        call = self._open.get(call_id) or self._held.get(call_id)
        if call is None:
            return []  # answered while the timer was firing
        call.timer_armed = False
        cancel = self._cancel(call_id) if call_id in self._open else []
        return cancel + self._finish(call_id, ErrorCode.DEADLINE_EXCEEDED)

    def on_connection_lost(self, reason: Any) -> List[Action]:
        """Every open or held call fails with ``reason``, in the order of their ids, and so does
        every call started later [DROP-1]."""
        if self._lost is not None:
            return []
        self._lost = reason
        actions: List[Action] = []
        for call_id in sorted([*self._open, *self._held]):
            actions += self._finish(call_id, reason)
        return actions

    def _send_held(self) -> List[Action]:
        """Sends the held calls that may go now, oldest first: invokes while fewer than
        max_in_flight are open, and a goodbye once every call before it has gone."""
        actions = []
        while self._held and self._lost is None:
            call_id, call = next(iter(self._held.items()))
            if call.is_invoke and self._open_invokes >= self.max_in_flight:
                break
            del self._held[call_id]
            self._open[call_id] = call
            self._open_invokes += call.is_invoke
            actions.append(Action(SEND_REQUEST, call_id))
        return actions

    def _cancel(self, call_id: int) -> List[Action]:
        call = self._open[call_id]
        if not self.cancel_in_force or call.cancel_sent:
            return []
        call.cancel_sent = True
        return [Action(SEND_CANCEL, call_id)]

    def _finish(self, call_id: int, error: Any) -> List[Action]:
        """Ends a call. An open invoke that ends frees its place for the oldest held call, which
        is sent before the ended call completes: a call started from that completion comes
        after it."""
        call = self._held.pop(call_id, None)
        if call is None:
            call = self._open.pop(call_id)
            self._open_invokes -= call.is_invoke
        actions = self._send_held()
        if call.timer_armed:
            actions.append(Action(DISARM_TIMER, call_id))
        return actions + [Action(COMPLETE, call_id, error)]
