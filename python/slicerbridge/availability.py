"""What a server spends on peers that do little or read slowly (spec section 7.1), decided
without I/O: the timeouts of a connection [LIMIT-5] [LIMIT-6] [LIMIT-7], the byte budgets
[LIMIT-9], a fair queue for the workers [LIMIT-10], a rate limit for repeated log lines and the
delays of failed tokens [SEC-11]. The server's threads carry the decisions out."""

from __future__ import annotations

import collections
import concurrent.futures
import threading
import time
from dataclasses import dataclass
from typing import Callable, Deque, Dict, Optional


@dataclass
class Activity:
    """What a connection is doing, as seen at a tick."""
    bytes_received: int = 0
    bytes_sent: int = 0
    hello_done: bool = False
    mid_frame: bool = False
    reading_paused: bool = False  # by the server's own budget: no stall of the peer's
    calls_open: bool = False
    answers_waiting: bool = False


# Why ConnectionTimeouts closes a connection, as spec/vectors/decisions/timeout_decisions.json
# names it, and the sentence the server logs for each.
HELLO, IDLE, RECEIVE_STALLED, SEND_STALLED = "hello", "idle", "receive_stalled", "send_stalled"
TIMEOUT_SENTENCES = {HELLO: "no hello in time", IDLE: "idle",
                     RECEIVE_STALLED: "a frame stopped arriving",
                     SEND_STALLED: "an answer stopped leaving"}


class ConnectionTimeouts:
    """Hello, idle and stall timeouts in seconds (0 disables one). Progress is noticed at ticks,
    so a timeout T closes between T and T plus a tick (a quarter of the shortest in force); never
    before T: a clock starts again at the tick that sees what it waits on begin or end, not at
    the one before. The decision table timeout_decisions.json holds the cases."""

    def __init__(self, hello: float, idle: float, stall: float, start: float):
        self.hello, self.idle, self.stall, self.start = hello, idle, stall, start
        self._seen_received = self._seen_sent = 0
        self._last_received = start  # the last byte received
        self._receiving_since = self._sending_since = self._idle_since = start
        self._was_paused = self._was_waiting = self._was_busy = False
        enabled = [t for t in (hello, idle, stall) if t > 0]
        self.tick = max(min(enabled) / 4, 0.001) if enabled else 0.0

    def observe(self, now: float, a: Activity) -> Optional[str]:
        """The reason to close the connection now (HELLO, IDLE, RECEIVE_STALLED or
        SEND_STALLED), or None."""
        received = a.bytes_received != self._seen_received
        # A paused connection may hold a request back: not idle [LIMIT-6] [LIMIT-9].
        busy = a.calls_open or a.answers_waiting or a.mid_frame or a.reading_paused
        if received:
            self._seen_received, self._last_received = a.bytes_received, now
        # A stall counts while the server reads: a pause of its own [LIMIT-9] starts it again.
        if received or a.reading_paused or self._was_paused:
            self._receiving_since = now
        # An answer stalls from when it began to wait, or from its last byte that left.
        if a.bytes_sent != self._seen_sent or not a.answers_waiting or not self._was_waiting:
            self._seen_sent, self._sending_since = a.bytes_sent, now
        # Idle from the last byte received or the end of the last call, answer or frame.
        if received or busy or self._was_busy:
            self._idle_since = now
        self._was_paused, self._was_waiting, self._was_busy = (a.reading_paused,
                                                               a.answers_waiting, busy)
        if not a.hello_done and self.hello > 0 and now - self.start >= self.hello:
            return HELLO
        if (a.hello_done and self.stall > 0 and a.answers_waiting
                and now - self._sending_since >= self.stall):
            return SEND_STALLED
        if (self.stall > 0 and a.mid_frame and not a.reading_paused
                and now - self._receiving_since >= self.stall):
            return RECEIVE_STALLED  # the hello's frame too
        if a.hello_done and self.idle > 0 and not busy and now - self._idle_since >= self.idle:
            return IDLE
        return None


class ByteBudget:
    """The bytes the server holds for all its connections [LIMIT-9]: frames being received,
    inputs of open calls and answers waiting to be sent. The rules are the C++ server's
    (``detail/byte_budget.hpp``): a frame is reserved whole once its header has arrived, so a
    frame once admitted always completes; a frame that does not fit waits; one larger than the
    whole budget is admitted when nothing else is held. The spec's decision table
    budget_decisions.json runs against both. Readers that must wait block on ``changed``,
    which every release notifies."""

    def __init__(self, total: int):
        self.total = total
        self.held = 0
        self.changed = threading.Condition()

    def _try_reserve(self, size: int) -> bool:
        if self.held and self.held + size > self.total:
            return False
        self.held += size
        return True


class ConnectionBudget:
    """One connection's share of a ByteBudget, no more than ``limit`` bytes (unless a single
    frame is larger and the connection holds nothing else). Thread-safe: the reader reserves
    frames, the reader and the workers add and release answers."""

    def __init__(self, server: ByteBudget, limit: int):
        self._server = server
        self.limit = limit
        self.held = 0
        self.paused = False  # the reader waits for bytes to be released

    def may_start_frame(self) -> bool:
        return self.held < self.limit and self._server.held < self._server.total

    def try_reserve_frame(self, size: int) -> bool:
        if self.held and self.held + size > self.limit:
            return False
        if not self._server._try_reserve(size):
            return False
        self.held += size
        return True

    def wait_to_start_frame(self, abandoned: Callable[[], bool]) -> bool:
        """Blocks until a new frame may be read; False if ``abandoned()`` became true first."""
        return self._wait(self.may_start_frame, abandoned)

    def reserve_frame(self, size: int, abandoned: Callable[[], bool]) -> bool:
        """Blocks until a frame of ``size`` bytes is reserved; False if abandoned first."""
        return self._wait(lambda: self.try_reserve_frame(size), abandoned)

    def add(self, size: int) -> None:
        """Bytes that exist already (an encoded answer): never refused."""
        with self._server.changed:
            self._server.held += size
            self.held += size

    def release(self, size: int) -> None:
        if not size:
            return
        with self._server.changed:
            self._server.held -= size
            self.held -= size
            self._server.changed.notify_all()

    def wake(self) -> None:
        """Lets a waiting reader look at ``abandoned()`` again."""
        with self._server.changed:
            self._server.changed.notify_all()

    def _wait(self, ready: Callable[[], bool], abandoned: Callable[[], bool]) -> bool:
        with self._server.changed:
            while not ready():
                if abandoned():
                    return False
                self.paused = True
                self._server.changed.wait()
            self.paused = False
            return True


class FairQueue:
    """Which call runs next [LIMIT-10]: calls go to the workers only while one is free, and the
    next comes from the waiting connection with the fewest calls running. Among equals, the one
    that has waited longest for a start: counted from the arrival of its oldest waiting call, or
    from its last call's start if that is later, so equals take turns (as the C++ server's
    ``detail/fair_queue.hpp``; spec/vectors/decisions/fair_queue_decisions.json). Not
    thread-safe: FairExecutor locks around it."""

    def __init__(self, workers: int):
        self.workers = max(1, workers)
        self.running = 0
        self._owners: Dict[object, _Owner] = {}
        self._next_turn = 0

    def push(self, owner: object, task) -> Optional[tuple]:
        entry = self._owners.setdefault(owner, _Owner())
        entry.waiting.append(task)
        if len(entry.waiting) == 1:
            entry.turn = self._take_turn()
        return self._next()

    def finished(self, owner: object) -> Optional[tuple]:
        """A call of ``owner`` finished. Precondition: one is running."""
        entry = self._owners.get(owner)
        assert entry is not None and entry.running > 0, "no call of this owner is running"
        entry.running -= 1
        self._forget_if_idle(owner, entry)
        self.running -= 1
        return self._next()

    def take_waiting(self, owner: object) -> list:
        entry = self._owners.get(owner)
        if entry is None:
            return []
        taken = list(entry.waiting)
        entry.waiting.clear()
        self._forget_if_idle(owner, entry)
        return taken

    def _forget_if_idle(self, owner: object, entry: "_Owner") -> None:
        """An owner with nothing waiting or running is let go: a connection is an owner, and the
        queue must not keep the connections that have ended."""
        if not entry.waiting and not entry.running:
            del self._owners[owner]

    def _take_turn(self) -> int:
        self._next_turn += 1
        return self._next_turn

    def _next(self) -> Optional[tuple]:
        if self.running >= self.workers:
            return None
        candidates = [(owner, entry) for owner, entry in self._owners.items() if entry.waiting]
        if not candidates:
            return None
        owner, entry = min(candidates, key=lambda candidate: (candidate[1].running,
                                                              candidate[1].turn))
        task = entry.waiting.popleft()
        if entry.waiting:
            entry.turn = self._take_turn()
        entry.running += 1
        self.running += 1
        return owner, task


class _Owner:
    """What the queue knows of one owner: its waiting tasks, how many run, and its turn (when
    its oldest waiting task started waiting)."""
    __slots__ = ("waiting", "running", "turn")

    def __init__(self) -> None:
        self.waiting: Deque = collections.deque()
        self.running = 0
        self.turn = 0


class FairExecutor:
    """A thread pool fed by a FairQueue: ``submit(owner, fn)`` returns a Future that runs when the
    queue picks it."""

    def __init__(self, workers: int):
        self._pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=workers, thread_name_prefix="slicerbridge-worker")
        self._queue = FairQueue(workers)
        self._lock = threading.Lock()
        self._closed = False

    def submit(self, owner: object, fn: Callable[[], None]) -> concurrent.futures.Future:
        future: concurrent.futures.Future = concurrent.futures.Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("the executor is shut down")
            start = self._queue.push(owner, (future, fn))
        if start is not None:
            self._start(*start)
        return future

    def forget(self, owner: object) -> None:
        """Cancels the waiting calls of ``owner`` (its connection is gone)."""
        with self._lock:
            dropped = self._queue.take_waiting(owner)
        for future, _ in dropped:
            future.cancel()

    def shutdown(self) -> None:
        with self._lock:
            self._closed = True
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _start(self, owner: object, entry: tuple) -> None:
        future, fn = entry

        def run() -> None:
            try:
                if future.set_running_or_notify_cancel():
                    try:
                        future.set_result(fn())
                    except BaseException as error:  # the caller's fn reports its own errors
                        future.set_exception(error)
            finally:
                with self._lock:
                    following = self._queue.finished(owner)
                if following is not None:
                    self._start(*following)
        try:
            self._pool.submit(run)
        except RuntimeError:  # shut down
            future.cancel()


class LogLimiter:
    """At most ``burst`` lines of one kind per ``period`` seconds; the ones held back are counted
    and reported with the next line let through."""

    def __init__(self, burst: int = 5, period: float = 10.0):
        self.burst, self.period = burst, period
        self._windows: Dict[str, list] = {}
        self._lock = threading.Lock()

    def admit(self, kind: str, line: str, now: Optional[float] = None) -> Optional[str]:
        now = time.monotonic() if now is None else now
        with self._lock:
            window = self._windows.setdefault(kind, [now, 0, 0])  # start, logged, suppressed
            if now - window[0] >= self.period:
                window[0], window[1] = now, 0
            if window[1] >= self.burst:
                window[2] += 1
                return None
            window[1] += 1
            if window[2]:
                line += f" ({window[2]} similar lines suppressed)"
                window[2] = 0
            return line


class TokenFailures:
    """How long the answer to a missing or wrong token waits [SEC-11]: ``first`` seconds after a
    first failure from an address, doubling with each further one up to ``longest``. An
    address's count is forgotten after a right token, or after ``quiet`` seconds without a
    failure; at most ``capacity`` addresses are remembered, the one that failed longest ago
    making room for a new one. A ``first`` of 0 turns delays off. Thread-safe."""

    def __init__(self, first: float, longest: float, quiet: float, capacity: int = 4096):
        self.first, self.longest = first, max(first, longest)
        self.quiet, self.capacity = quiet, max(capacity, 1)
        self._addresses: Dict[str, list] = {}  # address: [delay, last failure]
        self._lock = threading.Lock()

    def failed(self, address: str, now: Optional[float] = None) -> float:
        """Records a failure from ``address``; returns the seconds to wait before answering."""
        if not self.first:
            return 0.0
        now = time.monotonic() if now is None else now
        with self._lock:
            entry = self._addresses.get(address)
            if entry is not None and now - entry[1] >= self.quiet:
                del self._addresses[address]
                entry = None
            if entry is None:
                self._make_room(now)
                self._addresses[address] = [self.first, now]
                return self.first
            entry[0] = min(entry[0] * 2, self.longest)
            entry[1] = now
            return entry[0]

    def succeeded(self, address: str) -> None:
        with self._lock:
            self._addresses.pop(address, None)

    def __len__(self) -> int:
        with self._lock:
            return len(self._addresses)

    def _make_room(self, now: float) -> None:
        if len(self._addresses) < self.capacity:
            return
        for address in [a for a, e in self._addresses.items() if now - e[1] >= self.quiet]:
            del self._addresses[address]
        if len(self._addresses) >= self.capacity:
            del self._addresses[min(self._addresses, key=lambda a: self._addresses[a][1])]
