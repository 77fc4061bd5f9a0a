"""A pool of client connections to one service: a server, a load balancer in front of many, or a
command launched once per connection.

Calls go to the connection with the fewest calls in flight; a lost connection is replaced; a call
to a processor whose description says ``idempotent`` [CAT-8] is sent again on another connection
when the one that carried it is lost or its server refuses it while shutting down (at most
``max_retries`` times); any other call then fails with ``CallLost``, which names the lost
connection, or with the server's ``shutting_down``. A call is answered exactly once. The
decisions are ``slicerbridge.resend``'s.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable, Dict, List, Mapping, NamedTuple, Optional

from .catalog import ProcessorDescription
from .client import Client, ProgressCallback
from .data import DataValue
from . import resend
from .errors import ConnectionLost, ErrorCode, SlicerBridgeError
from .messages import remaining_deadline

#: Longest wait between two failed connects.
MAX_RECONNECT_DELAY = 2.0


class CallLost(ConnectionLost):
    """The connection carrying a call was lost and the call was not sent again: its processor is
    not known to be idempotent (it may or may not have run), or it was sent ``max_retries + 1``
    times (each connection lost or refusing it while shutting down). ``lost`` names the
    connections, in order."""

    def __init__(self, message: str, lost: List[str], attempts: int):
        super().__init__(message)
        self.lost = lost
        self.attempts = attempts


class PooledResult(NamedTuple):
    outputs: Dict[str, DataValue]
    timings: Dict[str, float]
    #: The connection that answered: its address and the server's implementation.
    server: str
    #: How many times the call was sent.
    attempts: int
    #: Connections lost while they carried the call.
    lost: List[str]


def _is_lost(client: Client) -> bool:
    return getattr(client, "_connection_lost", None) is not None or getattr(client, "_closed",
                                                                            False)


def _peer_of(client: Client) -> str:
    """The address of the other end of a socket connection; "connection" otherwise."""
    sock = getattr(client.transport, "socket", None)
    try:
        peer = sock.getpeername() if sock is not None else None
    except OSError:
        peer = None
    if isinstance(peer, tuple) and len(peer) >= 2:
        return f"{peer[0]}:{peer[1]}"
    if isinstance(peer, str) and peer:
        return f"unix:{peer}"
    return "connection"


class _Slot:
    def __init__(self) -> None:
        self.client: Optional[Client] = None
        self.name = ""
        self.busy = 0
        self.connecting = False


class ClientPool:
    """``ClientPool(lambda: Client.connect("haproxy:4100", token=...), size=8)``.

    ``connect`` opens one connection (``Client.connect``, ``Client.launch``...); ``name`` names
    it in messages (default: the server's implementation from its hello). A connection carries
    up to ``calls_per_connection`` calls at once, and never more than its server's
    ``max_in_flight``. Thread-safe: call ``invoke`` from many threads
    (``concurrent.futures.ThreadPoolExecutor(size)``).
    """

    def __init__(self, connect: Callable[[], Client], size: int = 4, *, max_retries: int = 2,
                 connect_attempts: int = 10, reconnect_delay: float = 0.1,
                 calls_per_connection: int = 1, name: str = ""):
        if size < 1 or calls_per_connection < 1:
            raise ValueError("size and calls_per_connection must be at least 1")
        self._connect = connect
        self._slots = [_Slot() for _ in range(size)]
        self.max_retries = max_retries
        self.connect_attempts = max(1, connect_attempts)
        self.reconnect_delay = reconnect_delay
        self.calls_per_connection = calls_per_connection
        self.name = name
        self._cond = threading.Condition()
        self._closed = False
        self._idempotent: Optional[Dict[str, bool]] = None
        self._catalog: List[ProcessorDescription] = []
        #: Connections of draining servers (by id) -> calls still running on them.
        self._draining: Dict[int, int] = {}
        #: Counters: connections opened and lost, calls sent again.
        self.opened = 0
        self.lost = 0
        self.resent = 0
        #: Calls waiting for a connection now.
        self.waiting = 0

    # -- connections --------------------------------------------------------------------------

    def _open(self, slot: _Slot) -> None:
        """Connects ``slot`` (called with the slot marked connecting, outside the lock)."""
        failures = 0
        while True:
            try:
                client = self._connect()
                catalog = None
                if self._idempotent is None:
                    catalog = client.catalog()
                break
            except (ConnectionLost, SlicerBridgeError, TimeoutError, OSError) as error:
                failures += 1
                if failures >= self.connect_attempts:
                    with self._cond:
                        slot.connecting = False
                        self._cond.notify_all()
                    raise ConnectionLost(f"no connection could be opened after {failures} "
                                         f"attempts: {error}") from None
                with self._cond:
                    if self._closed:
                        slot.connecting = False
                        self._cond.notify_all()
                        raise CallLost("the pool is closed", [], 0) from None
                time.sleep(min(self.reconnect_delay * 2 ** (failures - 1), MAX_RECONNECT_DELAY))
        implementation = client.server_hello.implementation or {}
        where = self.name or _peer_of(client)
        process = getattr(client, "process", None)
        if process is not None:  # one launched server per connection: which one was lost
            where += f" (pid {process.pid})"
        name = (f"{where} [{implementation.get('name', '?')} "
                f"{implementation.get('version', '?')}]")
        with self._cond:
            if catalog is not None and self._idempotent is None:
                self._catalog = catalog
                self._idempotent = {d.name: bool(d.idempotent) for d in catalog}
            slot.client, slot.name, slot.connecting, slot.busy = client, name, False, 0
            self.opened += 1
            self._cond.notify_all()

    def _room(self, client: Client) -> int:
        """Calls a connection may carry at once: never more than its server admits, so that a
        call beyond waits here, where any connection can take it, and not in one connection's
        call table, where it would be lost with that connection [LIMIT-13]."""
        return min(self.calls_per_connection, client.server_hello.limits.max_in_flight)

    def _acquire(self, timeout: float) -> _Slot:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                if self._closed:
                    raise CallLost("the pool is closed", [], 0)
                for s in self._slots:  # a connection lost while idle: replace it, no call lost
                    client = s.client
                    if client is not None and s.busy == 0 and _is_lost(client):
                        s.client = None
                        self.lost += 1
                ready = [s for s in self._slots if s.client is not None
                         and s.busy < self._room(s.client)]
                if ready:
                    slot = min(ready, key=lambda s: s.busy)
                    slot.busy += 1
                    return slot
                empty = next((s for s in self._slots
                              if s.client is None and not s.connecting), None)
                if empty is not None:
                    empty.connecting = True
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"no connection free within {timeout} s")
                self.waiting += 1
                try:
                    self._cond.wait(min(remaining, 1.0))
                finally:
                    self.waiting -= 1
        self._open(empty)
        return self._acquire(max(0.0, deadline - time.monotonic()))

    def _release(self, slot: _Slot, client: Client, dead: bool, draining: bool = False) -> None:
        """``dead``: the connection is lost, or (``draining``) its server refused a call with
        shutting_down; either way the slot gets a new connection. A draining server's
        connection is closed once the calls still running on it have finished, not under
        them."""
        close_now = dead and not draining
        with self._cond:
            if slot.client is client:
                slot.busy = max(0, slot.busy - 1)
                if dead:
                    if draining and slot.busy > 0:
                        self._draining[id(client)] = slot.busy
                    else:
                        close_now = True
                    slot.client, slot.busy = None, 0
                    self.lost += 1
            elif id(client) in self._draining:  # a call that went on running on it
                self._draining[id(client)] -= 1
                if self._draining[id(client)] == 0:
                    del self._draining[id(client)]
                    close_now = True
            self._cond.notify_all()
        if close_now:
            try:
                client.close(timeout=1.0)
            except Exception:  # it is gone already
                pass

    # -- calls --------------------------------------------------------------------------------

    def catalog(self, timeout: float = 60.0) -> List[ProcessorDescription]:
        """The catalog of the first connection opened."""
        slot = self._acquire(timeout)
        self._release(slot, slot.client, False)  # type: ignore[arg-type]
        return list(self._catalog)

    def idempotent(self, processor: str) -> Optional[bool]:
        """What the catalog says of ``processor``; None when it does not list it."""
        return (self._idempotent or {}).get(processor)

    def invoke(self, processor: str, inputs: Optional[Mapping[str, DataValue]] = None,
               parameters: Optional[Mapping[str, Any]] = None, *,
               deadline: Optional[float] = None, progress: Optional[ProgressCallback] = None,
               timeout: Optional[float] = None, wait: float = 600.0) -> PooledResult:
        """Runs a processor on the least busy connection (``wait``: how long to wait for a
        free one). Raises ``SlicerBridgeError`` for the server's errors, ``CallLost`` as the
        module says, ``ConnectionLost`` when no connection can be opened."""
        lost: List[str] = []
        attempts = 0
        started = time.monotonic()
        if progress is not None:  # a resend starts again from 0: never report backwards
            report, highest = progress, [-1.0]

            def progress(fraction: float, message: Optional[str]) -> None:
                if fraction >= highest[0]:
                    highest[0] = fraction
                    report(fraction, message)
        while True:
            slot = self._acquire(wait)
            client, name = slot.client, slot.name
            assert client is not None
            attempts += 1
            remaining = None  # after waiting here, or sent again [LIMIT-13]
            if deadline is not None:
                remaining = remaining_deadline(deadline, time.monotonic() - started)
            try:
                result = client.invoke(processor, inputs, parameters, deadline=remaining,
                                       progress=progress, timeout=timeout)
            except ConnectionLost as error:
                outcome, failed = "lost", error
            except SlicerBridgeError as error:
                outcome = "shutting_down" if error.code == ErrorCode.SHUTTING_DOWN else "error"
                failed = error
            else:
                outcome, failed = "answered", None
            decision = resend.decide(outcome, self.idempotent(processor), attempts,
                                     self.max_retries)
            self._release(slot, client, decision.connection != "keep",
                          draining=decision.connection == "drain")
            if decision.action == "complete":
                if failed is not None:
                    raise failed
                return PooledResult(result.outputs, result.timings, name, attempts, lost)
            lost.append(name)
            how = (f"the connection to {name} was lost ({failed}) while it carried the call"
                   if outcome == "lost" else f"{name} is shutting down and refused the call")
            if decision.failure == "retries_exhausted":
                raise CallLost(f"{how}; sent {attempts} times, every connection lost", lost,
                               attempts)
            if decision.failure == "connection_lost":
                raise CallLost(f"{how}; {processor} is not idempotent, so it was not sent again "
                               "(it may or may not have run)", lost, attempts)
            if decision.failure is not None:  # the server's answer, shutting_down
                raise SlicerBridgeError(failed.code, f"{how}; {processor} is not idempotent, so "
                                        "it was not sent again", failed.details) from failed
            with self._cond:
                self.resent += 1

    def close(self) -> None:
        """Says goodbye on every connection and closes them; calls waiting fail."""
        with self._cond:
            self._closed = True
            clients = [s.client for s in self._slots if s.client is not None]
            for s in self._slots:
                s.client = None
            self._cond.notify_all()
        for client in clients:
            try:
                client.close(timeout=10.0)
            except Exception:  # closing anyway
                pass

    def __enter__(self) -> "ClientPool":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
