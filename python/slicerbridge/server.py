"""A threaded SlicerBridge server.

Each connection has one reader thread that decodes frames and answers ``ping``, ``catalog``,
``describe`` and ``goodbye`` itself; ``invoke`` calls run on a shared worker pool, so a long
computation never delays reading, progress, cancellation or other calls. One scheduler thread
handles deadlines and cancel grace periods.
"""

from __future__ import annotations

import concurrent.futures
import heapq
import itertools
import logging
import math
import os
import selectors
import socket
import ssl
import stat
import threading
import time
import traceback
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple

from .availability import (TIMEOUT_SENTENCES, Activity, ByteBudget, ConnectionBudget,
                           ConnectionTimeouts, FairExecutor, LogLimiter, TokenFailures)
from .catalog import Processor, did_you_mean
from . import memfd
from .codec import available_codecs
from .connection import Incoming, MessageStream
from .context import Context
from .data import IMAGE_SERIES_VERSION, data_from_wire, data_to_wire
from .errors import ConnectionLost, ErrorCode, FatalProtocolError, SlicerBridgeError
from .limits import Limits
from . import call_machine, connection_machine as machine
from .messages import ClientHello, at_least, grease_capability, notification, response, MIN_VERSION
from .negotiate import negotiate, token_problem
from .transport import SocketTransport, TlsTransport, Transport
from .values import is_loopback, is_number
from .waiting import wait_for_event

log = logging.getLogger("slicerbridge.server")

#: After answering goodbye the server waits this long for the client to close before it does.
GOODBYE_LINGER = 5.0
#: How long a TLS client may take over its handshake.


def unknown_processor(name: str, known: Iterable[str]) -> SlicerBridgeError:
    return SlicerBridgeError(ErrorCode.UNKNOWN_PROCESSOR,
                             f"no processor named {name!r}{did_you_mean(name, known)}",
                             {"processor": name})


def _now() -> float:
    return time.perf_counter()


class _Scheduler:
    """Runs callbacks at given times; each callback runs on a fresh thread so that a slow one
    (a blocked write) cannot delay the others."""

    def __init__(self) -> None:
        self._queue: List[list] = []
        self._condition = threading.Condition()
        self._counter = itertools.count()
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="slicerbridge-scheduler",
                                        daemon=True)
        self._thread.start()

    def call_later(self, delay: float, callback: Callable[[], None]) -> list:
        """Schedule ``callback``; the returned handle can be passed to ``cancel``."""
        entry = [time.monotonic() + delay, next(self._counter), callback]
        with self._condition:
            heapq.heappush(self._queue, entry)
            self._condition.notify()
        return entry

    def cancel(self, entry: Optional[list]) -> None:
        if entry is not None:
            with self._condition:
                entry[2] = None

    def stop(self) -> None:
        with self._condition:
            self._stopped = True
            self._queue.clear()
            self._condition.notify()
        self._thread.join()

    def _run(self) -> None:
        with self._condition:
            while not self._stopped:
                if not self._queue:
                    self._condition.wait()
                    continue
                delay = self._queue[0][0] - time.monotonic()
                if delay > 0:
                    self._condition.wait(min(delay, threading.TIMEOUT_MAX))
                    continue
                self._start(heapq.heappop(self._queue)[2])

    @staticmethod
    def _start(callback: Optional[Callable[[], None]]) -> None:
        """Out of ``_run``'s loop, whose locals would keep the last callback, and what it refers
        to (a connection that ended), until the next one is due."""
        if callback is not None:
            threading.Thread(target=callback, name="slicerbridge-timer", daemon=True).start()


class _Call:
    """An open request on a connection."""

    def __init__(self, request_id: int, frame_seconds: float):
        self.id = request_id
        self.method = ""  # set once the request is known to be well formed
        self.receiving = frame_seconds
        self.decoded_at = _now()
        self.started_at: Optional[float] = None
        #: Guards ``machine``, which decides the call's one response.
        self.lock = threading.Lock()
        self.machine = call_machine.CallMachine()
        self.cancel_event = threading.Event()
        self.future: Optional[concurrent.futures.Future] = None
        self.deadline_timer: Optional[list] = None
        #: Bytes of the request's frame, held in the byte budget until the call is answered.
        self.budgeted = 0
        #: An invoke counted against max_in_flight: until its response starts to be written.
        self.counted = False


class Server:
    """Serves processors over TCP, Unix sockets or a process's standard input and output.

    ``token``: when set, clients must send it in their hello [SEC-3]; at least
    ``MIN_TOKEN_LENGTH`` characters, or ValueError [SEC-8]. A server on a non-loopback address
    refuses to start without a token or TLS [SEC-2]. ``failed_token_delay``: seconds before a
    missing or wrong token is answered, doubling for each further failure from one address up to
    ``failed_token_delay_max``; back to the first after a right token or a minute without failures;
    0 answers at once [SEC-11]. ``compression``: a codec name to
    compress output segments with when the client agreed to it.

    A processor that raises is answered with ``processor_failed`` naming only the exception's
    type, and the exception's type, message and traceback go to this process's log (the logger
    ``slicerbridge.server``): messages may quote data, and the wire must not carry it [ERR-3].
    ``expose_errors=True`` (local development only) puts the exception's message in the answer.

    Section 7.1: ``hello_timeout``, ``idle_timeout`` and ``stall_timeout`` in seconds (0
    disables one); ``max_connections`` and ``max_connections_per_address`` (0: no cap);
    ``connection_budget`` and ``total_budget``, the bytes held for one connection and for all
    (frames being received, inputs of open calls, answers waiting to be sent), beyond which
    reading pauses [LIMIT-9]; ``max_pending_calls``, the calls admitted and not yet computed
    across all connections, beyond which an invoke is answered ``too_many_in_flight``
    [LIMIT-12].
    """

    def __init__(self, processors: Iterable[Processor] = (), *, token: Optional[str] = None,
                 limits: Optional[Limits] = None, workers: int = 16,
                 compression: Optional[str] = None, max_connections: int = 64,
                 implementation: Optional[dict] = None, expose_errors: bool = False,
                 hello_timeout: float = 10.0, idle_timeout: float = 0.0,
                 stall_timeout: float = 60.0, max_connections_per_address: int = 0,
                 max_pending_handshakes: int = 64, connection_budget: int = 1 << 30,
                 total_budget: int = 4 << 30, transfer_memfd: bool = True,
                 failed_token_delay: float = 0.1, failed_token_delay_max: float = 5.0,
                 max_pending_calls: int = 1024):
        if token is not None and token_problem(token):
            raise ValueError(token_problem(token))
        if max_pending_calls < 1:
            raise ValueError(f"max_pending_calls must be at least 1, not {max_pending_calls}")
        self.processors: Dict[str, Processor] = {}
        for proc in processors:
            if proc.name in self.processors:
                raise ValueError(f"two processors named {proc.name!r}")
            self.processors[proc.name] = proc
        self.token = token
        # Forgets an address a minute (at least twice the longest delay) after its last failure.
        self.failed_tokens = TokenFailures(failed_token_delay, failed_token_delay_max,
                                           max(60.0, 2 * failed_token_delay_max))
        self.limits = limits or Limits()
        self.compression = compression
        #: Whether transfer.memfd is listed when a client offers it on a Unix socket (3.5).
        self.transfer_memfd = transfer_memfd
        self.max_connections = max_connections
        self.implementation = implementation
        self.expose_errors = expose_errors
        self.codecs = available_codecs()
        # Section 7.1: timeouts in seconds (0 disables), connection caps (0: no per-address cap).
        self.hello_timeout = hello_timeout
        self.idle_timeout = idle_timeout
        self.stall_timeout = stall_timeout
        self.max_connections_per_address = max_connections_per_address
        self.max_pending_handshakes = max_pending_handshakes
        self.connection_budget = connection_budget  # [LIMIT-9]
        self.budget = ByteBudget(total_budget)
        self._per_address: Dict[str, int] = {}
        self._accepted = 0  # connection threads, handshaking ones included
        self._pending_handshakes = 0
        self.log_limiter = LogLimiter()
        self.executor = FairExecutor(workers)  # [LIMIT-10]
        self.max_pending_calls = max_pending_calls  # [LIMIT-12]
        self._pending_calls = 0  # under _lock
        self.scheduler = _Scheduler()
        self._connections: set = set()
        self._lock = threading.Lock()
        self._listeners: List[socket.socket] = []
        self._selector = selectors.DefaultSelector()
        self._wakeup_reader, self._wakeup_writer = socket.socketpair()
        self._selector.register(self._wakeup_reader, selectors.EVENT_READ)
        self._accept_thread: Optional[threading.Thread] = None
        self._tls_contexts: Dict[int, ssl.SSLContext] = {}
        self._closed = threading.Event()

    @property
    def pending_call_count(self) -> int:
        """Calls admitted and not yet computed (or dropped unrun), which ``max_pending_calls``
        bounds."""
        with self._lock:
            return self._pending_calls

    def _admit_call(self) -> bool:
        with self._lock:
            if self._pending_calls >= self.max_pending_calls:
                return False
            self._pending_calls += 1
            return True

    def _finish_call(self, _future: object = None) -> None:
        with self._lock:
            self._pending_calls -= 1

    # -- listening --------------------------------------------------------------------------

    def listen_tcp(self, host: str = "127.0.0.1", port: int = 0, *,
                   tls: Optional[ssl.SSLContext] = None) -> Tuple[str, int]:
        """Bind and listen; returns the bound (host, port). ``tls``: a server context (see
        ``slicerbridge.tls.server_context``) to serve TLS. Loopback unless a token or TLS is
        set [SEC-1], [SEC-2]."""
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        if not infos:
            raise OSError(f"cannot resolve {host}")
        family, _, _, _, address = infos[0]
        if not is_loopback(address[0]) and not self.token and tls is None:
            raise ValueError(f"refusing to listen on {host}, which is not a loopback address, "
                             "without a token or TLS: anyone who can reach it could run the "
                             "processors")
        sock = socket.socket(family, socket.SOCK_STREAM)
        if os.name != "nt":  # on Windows SO_REUSEADDR lets another process steal the port
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
        if tls is not None:
            self._tls_contexts[sock.fileno()] = tls
        self._add_listener(sock)
        bound = sock.getsockname()
        return bound[0], bound[1]

    def listen_unix(self, path: str) -> str:
        """Listen on a Unix domain socket accessible to this user only [SEC-10]."""
        if not hasattr(socket, "AF_UNIX"):
            raise ValueError("Unix domain sockets are not available on this system: use "
                             "--listen 127.0.0.1:PORT or --stdio")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old_mask = os.umask(0o177)
        try:
            sock.bind(path)
        finally:
            os.umask(old_mask)
        os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
        sock.listen(128)
        self._add_listener(sock)
        return path

    def _add_listener(self, sock: socket.socket) -> None:
        sock.setblocking(False)
        self._listeners.append(sock)
        self._selector.register(sock, selectors.EVENT_READ)
        if self._accept_thread is None:
            self._accept_thread = threading.Thread(target=self._accept_loop,
                                                   name="slicerbridge-accept", daemon=True)
            self._accept_thread.start()

    def log_limited(self, level: int, kind: str, line: str) -> None:
        admitted = self.log_limiter.admit(kind, line)
        if admitted is not None:
            log.log(level, "%s", admitted)

    def _accept_loop(self) -> None:
        backoff = 0.0
        while not self._closed.is_set():
            for key, _ in self._selector.select():
                if key.fileobj is self._wakeup_reader:
                    return
                tls = self._tls_contexts.get(key.fd)
                try:
                    conn, peer = key.fileobj.accept()
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError as error:
                    if self._closed.is_set():
                        return
                    # Out of descriptors every accept fails at once: back off, log rarely.
                    self.log_limited(logging.WARNING, "accept", f"accept failed: {error}")
                    backoff = min(1.0, backoff * 2) if backoff else 0.01
                    self._closed.wait(backoff)
                    continue
                backoff = 0.0
                conn.setblocking(True)
                address = ""
                if conn.family in (socket.AF_INET, socket.AF_INET6):
                    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    address = peer[0]
                refusal = self._admit(address, tls is not None)
                if refusal is None:
                    threading.Thread(target=self._serve_socket, args=(conn, tls, address),
                                     name="slicerbridge-connection", daemon=True).start()
                elif refusal and tls is None:
                    self._refuse(conn, refusal)
                else:
                    conn.close()

    def _admit(self, address: str, handshake: bool) -> Optional[str]:
        """None if the connection is served (counted), else why not ('' for no answer)."""
        with self._lock:
            if self._accepted >= self.max_connections:
                return f"the server serves {self.max_connections} connections at most"
            if (address and self.max_connections_per_address
                    and self._per_address.get(address, 0) >= self.max_connections_per_address):
                return (f"the server serves {self.max_connections_per_address} connections "
                        "from one address at most")
            if handshake and self._pending_handshakes >= self.max_pending_handshakes:
                return ""
            self._accepted += 1
            if address:
                self._per_address[address] = self._per_address.get(address, 0) + 1
            if handshake:
                self._pending_handshakes += 1
        return None

    def _release(self, address: str) -> None:
        with self._lock:
            self._accepted -= 1
            if address:
                self._per_address[address] -= 1
                if not self._per_address[address]:
                    del self._per_address[address]

    def _refuse(self, conn: socket.socket, why: str) -> None:
        """A connection-level too_many_connections, then close [LIMIT-8]; a peer that does not
        read it cannot hold the accept loop."""
        self.log_limited(logging.WARNING, "refused", f"refused a connection: {why}")
        stream = MessageStream(SocketTransport(conn), limits=self.limits)
        encoded = stream.encode(response(None, error=SlicerBridgeError(
            ErrorCode.TOO_MANY_CONNECTIONS, why)))
        conn.settimeout(0.0)
        try:
            conn.sendmsg([bytes(b) for b in encoded.buffers()])
        except OSError:
            pass
        conn.close()

    def _serve_socket(self, conn: socket.socket, tls: Optional[ssl.SSLContext],
                      address: str) -> None:
        try:
            if tls is None:
                self.serve_connection(SocketTransport(conn), address)
                return
            transport = TlsTransport(conn, tls, server_side=True)
            try:
                transport.handshake(self.hello_timeout or None)  # [LIMIT-5]
            except (OSError, ConnectionLost) as error:  # ssl.SSLError is an OSError
                self.log_limited(logging.INFO, "tls", f"TLS handshake failed: {error}")
                transport.close()
                return
            finally:
                with self._lock:
                    self._pending_handshakes -= 1
            self.serve_connection(transport, address)
        finally:
            self._release(address)

    # -- serving ------------------------------------------------------------------------------

    def serve_connection(self, transport: Transport, address: str = "") -> None:
        """Serve one connection on the calling thread until it ends; ``address``: the peer's
        network address, whose failed tokens are delayed together [SEC-11]."""
        connection = _ServerConnection(self, transport, address)
        with self._lock:
            if self._closed.is_set():
                transport.close()
                return
            self._connections.add(connection)
        try:
            connection.run()
        finally:
            with self._lock:
                self._connections.discard(connection)

    def serve_forever(self) -> None:
        """Block until ``close`` is called (from another thread or a signal handler)."""
        wait_for_event(self._closed)

    def close(self) -> None:
        """Stop listening, answer open calls with ``shutting_down`` and close every
        connection."""
        if self._closed.is_set():
            return
        self._closed.set()
        self._wakeup_writer.send(b"x")
        if self._accept_thread is not None:
            self._accept_thread.join()
        for sock in self._listeners:
            if sock.family == getattr(socket, "AF_UNIX", None):
                try:
                    os.unlink(sock.getsockname())
                except OSError:
                    pass
            sock.close()
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            connection.shut_down()
        self.executor.shutdown()
        self.scheduler.stop()
        self._selector.close()
        self._wakeup_reader.close()
        self._wakeup_writer.close()

    def __enter__(self) -> "Server":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _call_error(error: BaseException, expose: bool = False) -> SlicerBridgeError:
    """How an exception raised by a processor is answered [INV-5]: its own call or processor
    error code, otherwise ``processor_failed`` naming only the exception type [ERR-3] (and its
    message too when ``expose``)."""
    if isinstance(error, SlicerBridgeError) and 100 <= error.code <= 65535:
        return error
    if isinstance(error, SlicerBridgeError):
        return SlicerBridgeError(ErrorCode.PROCESSOR_FAILED,
                                 f"the processor raised an error with the protocol code "
                                 f"{error.code}, which only the protocol may use")
    text = f"the processor raised {type(error).__name__}"
    if expose and str(error):
        text += f": {error}"
    else:
        text += " (its message is in the server's log)"
    return SlicerBridgeError(ErrorCode.PROCESSOR_FAILED, text)


class _CountingTransport(Transport):
    """Counts the bytes through a transport, for the timeouts [LIMIT-5] [LIMIT-7]."""

    def __init__(self, inner: Transport):
        self.inner = inner
        self.descriptors = inner.descriptors
        self.received = 0
        self.sent = 0

    def readinto(self, buffer: memoryview) -> int:
        n = self.inner.readinto(buffer)
        self.received += n
        return n

    def write_some(self, buffers) -> int:
        n = self.inner.write_some(buffers)
        self.sent += n
        return n

    def write_some_with_descriptors(self, buffers, fds) -> int:
        n = self.inner.write_some_with_descriptors(buffers, fds)
        self.sent += n
        return n

    def shutdown(self) -> None:
        self.inner.shutdown()

    def shutdown_write(self) -> None:
        self.inner.shutdown_write()

    def close(self) -> None:
        self.inner.close()


class _ServerConnection:
    def __init__(self, server: Server, transport: Transport, address: str = ""):
        self.server = server
        self.address = address
        self.counted = _CountingTransport(transport)
        self.transport = transport
        self.stream = MessageStream(self.counted, limits=server.limits)
        self.timeouts = ConnectionTimeouts(server.hello_timeout, server.idle_timeout,
                                           server.stall_timeout, _now())
        self.frame_end = 0  # bytes received up to the end of the last whole frame
        self.writing = 0  # responses being written
        self.progress_enabled = False
        self.version = MIN_VERSION  # negotiated in the handshake
        self.compression: Optional[str] = None
        self.open: Dict[int, _Call] = {}
        #: Invokes not yet answered, or whose responses wait to be written [LIMIT-2].
        self.calls_counted = 0
        self.lock = threading.Lock()
        self.goodbye: Optional[_Call] = None
        self.goodbye_sent = False
        self.dropped = False
        self.budget = ConnectionBudget(server.budget, server.connection_budget)
        self.frame_reserved = 0  # the budget taken by the frame being received or dispatched
        self.reading_given_up = False  # a paused reader stops waiting
        self.given_up = threading.Event()  # the same, for a failed token's delay
        self.reading_stopped = False  # a failed token's answer waits: nothing is read

    # -- lifecycle ----------------------------------------------------------------------------

    def _watch(self) -> None:
        """One tick of the timeouts, on the server's scheduler thread."""
        with self.lock:
            if self.dropped:
                return
            activity = Activity(
                bytes_received=self.counted.received, bytes_sent=self.counted.sent,
                hello_done=self.stream.handshaken,
                mid_frame=self.counted.received > self.frame_end,
                reading_paused=self.budget.paused or self.reading_stopped,  # no stall
                calls_open=bool(self.open), answers_waiting=self.writing > 0)
        reason = self.timeouts.observe(_now(), activity)
        if reason is None:
            self.server.scheduler.call_later(self.timeouts.tick, self._watch)
            return
        self.server.log_limited(logging.INFO, "timeout",
                                f"closed a connection: {TIMEOUT_SENTENCES[reason]}")
        self._give_up_reading()
        self.transport.shutdown()  # the reader and any blocked writer see the end

    def run(self) -> None:
        if self.timeouts.tick:
            self.server.scheduler.call_later(self.timeouts.tick, self._watch)
        try:
            if self._handshake():
                self._release_frame()
                self._serve()
        except ConnectionLost:
            pass
        except Exception:  # a bug here must not take the server down [DROP-2]
            log.exception("connection failed")
        finally:
            self._drop()
            self.stream.close()

    def _receive(self) -> Optional[Incoming]:
        try:
            incoming = self.stream.receive(admit=self._admit_frame)
        except FatalProtocolError as error:  # [FRAME-7]
            self._send_connection_error(error)
            return None
        if incoming is not None:
            self.frame_end += incoming.frame.size
        return incoming

    def _handshake(self) -> bool:
        incoming = self._receive()
        if incoming is None:
            return False
        message = incoming.message
        hello = hello_error = None
        if incoming.error is None and isinstance(message, dict) and message.get("kind") == "hello":
            try:
                hello = ClientHello.from_wire(message)  # [HELLO-5]
            except SlicerBridgeError as error:
                hello_error = error
        decision = machine.decide(machine.AWAITING_HELLO,
                                  machine.classify(message, incoming.error is not None,
                                                   hello is not None),
                                  error=incoming.error.code if incoming.error else None)
        if decision.action != machine.NEGOTIATE:
            self._send_connection_error(_decided_error(decision, incoming.error, hello_error))
            return False
        server = self.server
        outcome = negotiate(hello, token=server.token, codecs=server.codecs,
                            limits=server.limits, implementation=server.implementation)
        if outcome.refusal is not None and outcome.refusal.code == ErrorCode.UNAUTHORIZED:
            # [SEC-11]: the connection stays counted; the hello timeout or a shutdown ends the
            # wait, and the connection with it.
            delay = server.failed_tokens.failed(self.address)
            self.reading_stopped = True
            if delay and self.given_up.wait(delay):
                return False
            self._send_connection_error(outcome.refusal)
            return False
        if outcome.refusal is not None:
            self._send_connection_error(outcome.refusal)
            return False
        if server.token is not None:
            server.failed_tokens.succeeded(self.address)
        use_memfd = (self.server.transfer_memfd and memfd.MEMFD_CAPABILITY in hello.capabilities
                     and self.stream.transport.descriptors is not None
                     and tuple(outcome.version) >= (1, 1))  # [FD-1] [VER-4]
        if use_memfd:
            outcome.reply.capabilities.append(memfd.MEMFD_CAPABILITY)
        self.progress_enabled = outcome.progress
        self.version = outcome.version
        self.stream.peer_limits = hello.limits
        reply = outcome.reply
        reply.capabilities.append(grease_capability())
        self.stream.send(reply.to_wire())
        self.stream.codecs = frozenset(outcome.codecs)
        self.stream.memfd = use_memfd
        self.stream.handshaken = True
        if self.server.compression in outcome.codecs:
            self.compression = self.server.compression
        return True

    def _serve(self) -> None:
        while self.budget.wait_to_start_frame(self._reading_abandoned):
            incoming = self._receive()
            if incoming is None:
                return
            self._dispatch(incoming)
            self._release_frame()  # unless a call took it
            # Let the frame's buffers go while the next frame is awaited.
            del incoming

    # -- the byte budget [LIMIT-9] ------------------------------------------------------------

    def _admit_frame(self, size: int) -> bool:
        if not self.budget.reserve_frame(size, self._reading_abandoned):
            return False
        self.frame_reserved = size
        return True

    def _release_frame(self) -> None:
        size, self.frame_reserved = self.frame_reserved, 0
        self.budget.release(size)

    def _reading_abandoned(self) -> bool:
        return self.dropped or self.reading_given_up

    def _give_up_reading(self) -> None:
        self.reading_given_up = True
        self.given_up.set()
        self.budget.wake()

    def _drop(self) -> None:
        """The connection ended: cancel every open call; nothing more is sent [DROP-1]."""
        self.server.executor.forget(self)
        with self.lock:
            self.dropped = True
            calls = list(self.open.values())
            self.open.clear()
            self.calls_counted = 0
            held = sum(call.budgeted for call in calls)
            for call in calls:
                call.budgeted, call.counted = 0, False
        self.budget.release(held)
        self._release_frame()
        for call in calls:
            with call.lock:
                call.machine.on(call_machine.DROP)
            self.server.scheduler.cancel(call.deadline_timer)
            call.cancel_event.set()
            if call.future is not None:
                call.future.cancel()

    def shut_down(self) -> None:
        """Server shutdown: answer open calls with ``shutting_down``, then close."""
        with self.lock:
            calls = list(self.open.values())
        for call in calls:
            self._answer(call, call_machine.SHUTDOWN)
        self._give_up_reading()
        self.transport.shutdown()

    # -- dispatch -----------------------------------------------------------------------------

    def _dispatch(self, incoming: Incoming) -> None:
        message = incoming.message
        inbound = machine.classify(message, incoming.error is not None)
        id_open = False
        if inbound in (machine.REQUEST, machine.MALFORMED_REQUEST, machine.REQUEST_WITH_BAD_BULK):
            with self.lock:
                id_open = message["id"] in self.open
        elif inbound == machine.CANCEL:
            with self.lock:
                cancelled = self.open.get(message["params"]["id"])
            id_open = cancelled is not None and cancelled.method == "invoke"
        with self.lock:
            phase = machine.DRAINING if self.goodbye is not None else machine.ESTABLISHED
        decision = machine.decide(phase, inbound, id_open=id_open,
                                  error=incoming.error.code if incoming.error else None)
        action = decision.action
        if action == machine.CONNECTION_ERROR:
            details = {"id": message["id"]} if decision.error == ErrorCode.DUPLICATE_ID else None
            self._send_connection_error(_decided_error(decision, incoming.error, details=details))
        elif action == machine.ANSWER_ERROR:
            call = self._open_call(message["id"], incoming)
            self._reply(call, error=_decided_error(decision, incoming.error))
        elif action == machine.ADMIT:
            self._on_request(message, self._open_call(message["id"], incoming))
        elif action == machine.CANCEL_CALL:
            self._stop(cancelled, call_machine.CANCEL)

    def _open_call(self, request_id: int, incoming: Incoming) -> _Call:
        frame = incoming.frame
        call = _Call(request_id, frame.finished - frame.started)
        with self.lock:
            self.open[request_id] = call
            call.budgeted, self.frame_reserved = self.frame_reserved, 0
        return call

    def _on_request(self, message: dict, call: _Call) -> None:
        method = message["method"]
        params = message.get("params", {})
        if method == "invoke":  # [LIMIT-2]: other requests are answered at once, never refused
            with self.lock:
                admitted = self.calls_counted < self.server.limits.max_in_flight
                if admitted:
                    call.counted = True
                    self.calls_counted += 1
            if not admitted:
                self._reply(call, error=SlicerBridgeError(
                    ErrorCode.TOO_MANY_IN_FLIGHT, "too many calls open",
                    {"max_in_flight": self.server.limits.max_in_flight}))
                return
        call.method = method
        handler = self._HANDLERS.get(method)
        if handler is None:  # [MSG-6]
            self._reply(call, error=SlicerBridgeError(ErrorCode.METHOD_NOT_FOUND,
                                                      "unknown method", {"method": method}))
            return
        try:
            handler(self, call, params)
        except SlicerBridgeError as error:
            log.info("call %s: %s %s refused: %s", call.id, method,
                     params.get("processor", ""), error)
            self._reply(call, error=error)

    # -- methods ------------------------------------------------------------------------------

    def _ping(self, call: _Call, params: dict) -> None:
        self._reply(call, result={})

    def _catalog(self, call: _Call, params: dict) -> None:
        started = _now()
        result = {"processors": [p.description.to_wire(self.version)
                                 for p in self.server.processors.values()
                                 if p.description.offered_at(self.version)]}  # [SER-6]
        self._reply(call, result=result, computing=_now() - started)

    def _describe(self, call: _Call, params: dict) -> None:
        name = params.get("processor")
        if not isinstance(name, str):  # [MSG-13]
            raise SlicerBridgeError(ErrorCode.INVALID_MESSAGE, "describe needs a processor name")
        proc = self.server.processors.get(name)
        if proc is None or not proc.description.offered_at(self.version):  # [CAT-2] [SER-6]
            raise unknown_processor(name, self.server.processors)
        self._reply(call, result=proc.description.to_wire(self.version))

    def _goodbye(self, call: _Call, params: dict) -> None:
        with self.lock:
            self.goodbye = call
        self._finish_goodbye_when_idle()

    def _invoke(self, call: _Call, params: dict) -> None:
        name = params.get("processor")
        inputs = params.get("inputs", {})
        parameters = params.get("parameters", {})
        deadline = params.get("deadline")
        if not isinstance(name, str) or not isinstance(inputs, dict) or not isinstance(
                parameters, dict):  # [MSG-13]
            raise SlicerBridgeError(ErrorCode.INVALID_MESSAGE,
                                    "invoke needs a processor name and maps of inputs and "
                                    "parameters")
        if deadline is not None and (not is_number(deadline) or not math.isfinite(deadline)
                                     or deadline < 0):  # [INV-7]
            raise SlicerBridgeError(ErrorCode.INVALID_MESSAGE,
                                    "deadline must be a finite number >= 0")
        proc = self.server.processors.get(name)
        if proc is None or not proc.description.offered_at(self.version):  # [INV-1] [SER-6]
            raise unknown_processor(name, self.server.processors)
        series = at_least(self.version, IMAGE_SERIES_VERSION)
        converted = {}
        for input_name, value in inputs.items():
            try:
                if not series and isinstance(value, dict) and value.get("type") == "image_series":
                    # a data type of 1.1 is unknown on a 1.0 connection [SER-6] [VER-4]
                    raise SlicerBridgeError(ErrorCode.INVALID_ARGUMENT, "unknown data type",
                                            {"type": "image_series"})
                converted[input_name] = data_from_wire(value)
            except SlicerBridgeError as error:  # [INV-2]: details name the input
                raise SlicerBridgeError(ErrorCode.INVALID_ARGUMENT,
                                        f"input {input_name}: {error.message}",
                                        {**(error.details or {}), "name": input_name}) from None
        arguments = proc.bind(converted, parameters)
        if not self.server._admit_call():  # [LIMIT-12]
            raise SlicerBridgeError(ErrorCode.TOO_MANY_IN_FLIGHT,
                                    "the server has too many calls open; try again later",
                                    {"max_pending_calls": self.server.max_pending_calls})
        progress = self._progress_sink(call) if self.progress_enabled else None
        context = Context(call_id=call.id, processor=name, progress_sink=progress,
                          cancel_event=call.cancel_event)
        try:
            call.future = self.server.executor.submit(
                self, lambda: self._execute(call, proc, context, arguments))
        except RuntimeError:  # the pool is shut down
            self.server._finish_call()
            raise SlicerBridgeError(ErrorCode.SHUTTING_DOWN, "the server is shutting down")
        # Once, whether the call computed, or was cancelled or dropped before a worker took it.
        call.future.add_done_callback(self.server._finish_call)
        if deadline is not None:  # [INV-6]: relative to the receipt of the request
            remaining = deadline - (_now() - call.decoded_at)
            call.deadline_timer = self.server.scheduler.call_later(
                max(0.0, remaining), lambda: self._stop(call, call_machine.DEADLINE))

    _HANDLERS = {"ping": _ping, "catalog": _catalog, "describe": _describe,
                 "invoke": _invoke, "goodbye": _goodbye}

    # -- running invokes ----------------------------------------------------------------------

    def _execute(self, call: _Call, proc: Processor, context: Context,
                 arguments: Dict[str, Any]) -> None:
        with call.lock:
            if call.machine.on(call_machine.START).action != call_machine.RUN:
                return  # answered before a worker took it [CANCEL-1]
        call.started_at = _now()
        outputs = error = None
        try:
            data = {slot.name for slot in proc.description.outputs if slot.is_data}
            # [CAT-7] [SER-6] [VER-4]: what a 1.0 peer's description left out stays out
            hidden = {slot.name for slot in proc.description.outputs}.difference(
                slot.name for slot in proc.description.slots_at("outputs", self.version))
            outputs = {name: data_to_wire(value) if name in data else value
                       for name, value in proc.run(context, arguments).items()
                       if name not in hidden}
        except Exception as raised:
            error = _call_error(raised, self.server.expose_errors)
            _log_failure(call.id, proc.name, raised, error)
        self._answer(call, call_machine.COMPUTED, result=None if error else {"outputs": outputs},
                     error=error, computing=_now() - call.started_at)

    def _progress_sink(self, call: _Call) -> Callable[[float, Optional[str]], None]:
        def send(fraction: float, message: Optional[str]) -> None:
            params: Dict[str, Any] = {"id": call.id, "fraction": fraction}
            if message is not None:
                params["message"] = message
            # Under the call's lock, so that no progress follows the response [PROG-2].
            with call.lock:
                if call.machine.finished or call.cancel_event.is_set():
                    return
                try:
                    self.stream.send(notification("progress", params))
                except (ConnectionLost, SlicerBridgeError):
                    pass
        return send

    def _stop(self, call: _Call, event: str) -> None:
        """A cancel or the deadline: the call's machine says whether to answer at once or to ask
        the computation to stop and answer after the grace period unless it answers first
        [CANCEL-1] [CANCEL-3] [INV-6]."""
        with call.lock:
            step = call.machine.on(event)
        if step.action == call_machine.REQUEST_STOP:
            call.cancel_event.set()
            self.server.scheduler.call_later(
                self.server.limits.cancel_grace,
                lambda: self._answer(call, call_machine.GRACE_EXPIRED))
        elif step.action == call_machine.ANSWER_ERROR:
            self._send_answer(call, step, None, None, 0.0)

    def _reply(self, call: _Call, *, result: Any = None,
               error: Optional[SlicerBridgeError] = None, computing: float = 0.0) -> None:
        """Answer a call on the reading thread: it starts and completes at once."""
        with call.lock:
            call.machine.on(call_machine.START)
        self._answer(call, call_machine.COMPUTED, result=result, error=error, computing=computing)

    def _answer(self, call: _Call, event: str, *, result: Any = None,
                error: Optional[SlicerBridgeError] = None, computing: float = 0.0) -> None:
        """Feed ``event`` to the call's machine and send the one response it decides [MSG-4],
        [CANCEL-2]."""
        with call.lock:
            step = call.machine.on(event)
        if step.action in (call_machine.ANSWER_COMPUTED, call_machine.ANSWER_ERROR):
            self._send_answer(call, step, result, error, computing)

    def _send_answer(self, call: _Call, step: call_machine.Step, result: Any,
                     error: Optional[SlicerBridgeError], computing: float) -> None:
        if step.action == call_machine.ANSWER_ERROR:
            call.cancel_event.set()  # the computation, if any, is no longer wanted
            if call.future is not None:
                call.future.cancel()
            result, error = None, SlicerBridgeError(step.error, _STOP_TEXT[step.error])
        self.server.scheduler.cancel(call.deadline_timer)
        finished = _now()
        queued = (call.started_at - call.decoded_at) if call.started_at else 0.0
        timings = {"receiving": call.receiving, "queued": max(0.0, queued),
                   "computing": computing, "sending": 0.0}
        try:
            encoded = self._encode_response(call.id, result, error, timings)
            encoded.replace_final_float(_now() - finished)
            with self.lock:
                self.writing += 1
            self.budget.add(encoded.size)
            try:
                # Uncounted before its first byte goes: a client that has read the response
                # may send its next call at once [LIMIT-2] [LIMIT-13].
                self.stream.write(encoded, on_turn=lambda: self._uncount(call))
            finally:
                self.budget.release(encoded.size)
                with self.lock:
                    self.writing -= 1
        except ConnectionLost:
            pass
        finally:
            self._uncount(call)
            with self.lock:
                if self.open.get(call.id) is call:
                    del self.open[call.id]
                held, call.budgeted = call.budgeted, 0
            self.budget.release(held)
        self._finish_goodbye_when_idle()

    def _uncount(self, call: _Call) -> None:
        with self.lock:
            if call.counted:
                call.counted = False
                self.calls_counted -= 1

    def _encode_response(self, request_id: Optional[int], result: Any,
                         error: Optional[SlicerBridgeError], timings: dict):
        try:
            return self.stream.encode(response(request_id, result=result, error=error,
                                               timings=timings),
                                      compression=self.compression)
        except SlicerBridgeError as too_large:  # [LIMIT-3]
            return self.stream.encode(response(request_id, error=too_large, timings=timings))
        except Exception as failure:  # e.g. an integer beyond 64 bits in a processor's result
            log.error("cannot encode a response: %s", type(failure).__name__)
            return self.stream.encode(response(
                request_id, error=SlicerBridgeError(ErrorCode.INTERNAL_ERROR,
                                                    "cannot encode the response"),
                timings=timings))

    def _send_connection_error(self, error: SlicerBridgeError) -> None:
        """A response with a nil id (section 5.4)."""
        timings = {"receiving": 0.0, "queued": 0.0, "computing": 0.0, "sending": 0.0}
        try:
            self.stream.write(self._encode_response(None, None, error, timings))
        except ConnectionLost:
            pass

    def _finish_goodbye_when_idle(self) -> None:
        """[BYE-2]: once goodbye is the only open request, answer it and close."""
        with self.lock:
            call = self.goodbye
            if call is None or self.goodbye_sent or self.dropped or len(self.open) > 1:
                return
            self.goodbye_sent = True
        self._reply(call, result={})
        self.transport.shutdown_write()
        # The client closes once it has read the goodbye; if it does not, close anyway.
        self.server.scheduler.call_later(GOODBYE_LINGER, self.transport.shutdown)


_STOP_TEXT = {ErrorCode.CANCELLED: "the call was cancelled",
              ErrorCode.DEADLINE_EXCEEDED: "the deadline passed",
              ErrorCode.SHUTTING_DOWN: "the server is shutting down"}

_DECIDED_TEXT = {ErrorCode.INVALID_MESSAGE: "invalid message",
                 ErrorCode.HANDSHAKE_REQUIRED: "the first message must be hello",
                 ErrorCode.DUPLICATE_ID: "request id already open",
                 ErrorCode.SHUTTING_DOWN: "goodbye already received",
                 ErrorCode.UNKNOWN_KIND: "unknown message kind"}


def _decided_error(decision: machine.Decision, *known: Optional[SlicerBridgeError],
                   details: Optional[dict] = None) -> SlicerBridgeError:
    """The error a connection decision names: one already raised with that code, with its
    message, or a new one."""
    for error in known:
        if error is not None and error.code == decision.error:
            return error
    return SlicerBridgeError(decision.error, _DECIDED_TEXT.get(decision.error, "refused"), details)


def _log_failure(call_id: int, name: str, raised: BaseException,
                 answer: SlicerBridgeError) -> None:
    """The server's own log of a failed call: the exception's type and message, and for a
    bug its traceback. The log stays on this machine; the answer carries none of it [ERR-3].
    Neither voxels, tokens nor error details are logged [SEC-5]: the message is the processor
    author's own text, which the author needs to see (issue 11)."""
    if isinstance(raised, SlicerBridgeError) and raised is answer:
        if raised.code in (ErrorCode.CANCELLED, ErrorCode.DEADLINE_EXCEEDED):
            log.info("call %s: %s stopped: %s", call_id, name, raised.message)
        else:
            log.warning("call %s: %s failed with %s (%d): %s", call_id, name, raised.name,
                        raised.code, raised.message)
        return
    log.error("call %s: %s raised %s: %s\n%s", call_id, name, type(raised).__name__, raised,
              "".join(traceback.format_exception(type(raised), raised,
                                                 raised.__traceback__)).rstrip())
