"""A SlicerBridge client: one connection, many calls in flight from any number of threads.

A reader thread receives every frame and completes the matching call; calls wait on futures with
optional timeouts, so a misbehaving server cannot hang the caller beyond the timeout it chose.
"""

from __future__ import annotations

import collections
import concurrent.futures
import itertools
import logging
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from typing import Any, Callable, Dict, List, Mapping, NamedTuple, Optional, Sequence

from . import call_table
from .call_table import Action, CallTable
from .catalog import ProcessorDescription, check_arguments, did_you_mean, read_catalog
from . import memfd
from .codec import available_codecs
from .connection import Incoming, MessageStream
from .data import DataValue, data_from_wire, data_to_wire
from .errors import ConnectionLost, ErrorCode, FatalProtocolError, SlicerBridgeError
from .frame import describe_stray_bytes
from .limits import Limits
from .messages import (ClientHello, ServerHello, SERVER_ONLY_CAPABILITIES, grease_capability,
                       is_valid_id, notification, parse_timings, remaining_deadline, request,
                       response, set_request_deadline)
from .tls import client_context
from .transport import PipeTransport, SocketTransport, TlsTransport, Transport
from .values import is_loopback, is_number
from .waiting import future_result

log = logging.getLogger("slicerbridge.client")

ProgressCallback = Callable[[float, Optional[str]], None]
DEFAULT_TIMEOUT = 30.0
#: How much of a launched server's standard error is kept to show when it fails to start.
STDERR_TAIL = 8192


class LaunchError(ConnectionLost):
    """A launched server process that ended, or wrote something that is not a frame, before
    the handshake; the message says how, with the end of its standard error."""


def _bad_frame_text(error: FatalProtocolError, launched: bool) -> str:
    received = getattr(error, "received", None)
    if not received:
        return f"the server sent a bad frame: {error}"
    if launched:
        return ("the processor wrote bytes that are not a SlicerBridge frame to its standard "
                f"output: {describe_stray_bytes(received)}; the likely cause is a print() in "
                "the processor or in a library it imports (serve it with `python -m "
                "slicerbridge serve --stdio`, which sends print() to standard error)")
    return f"the server sent bytes that are not a SlicerBridge frame: " \
           f"{describe_stray_bytes(received)}"


class Response(NamedTuple):
    result: Any
    #: The server's timings plus ``round_trip`` measured here.
    timings: Dict[str, float]


class InvokeResult(NamedTuple):
    outputs: Dict[str, DataValue]
    timings: Dict[str, float]


class Call:
    """A request in flight. ``result()`` waits for it; ``cancel()`` asks the server to stop it
    (the call still completes, with its result or the error ``cancelled`` [CANCEL-2])."""

    def __init__(self, client: "Client", request_id: int, method: str,
                 progress: Optional[ProgressCallback]):
        self.client = client
        self.id = request_id
        self.method = method
        self.progress_callback = progress
        self.future: concurrent.futures.Future = concurrent.futures.Future()
        self.started = time.perf_counter()
        #: The give-up timer of an invoke with a deadline, while it is armed.
        self.give_up: Optional[threading.Timer] = None
        #: The encoded request, while the call table holds it unsent [LIMIT-13].
        self.held_request: Any = None
        #: An invoke's deadline: the server counts it from its receipt, so a held call leaves
        #: with what remains of it [LIMIT-13].
        self.deadline: Optional[float] = None

    def _release(self) -> Any:
        """The held request, its deadline what remains of it [LIMIT-13]."""
        frame, self.held_request = self.held_request, None
        if self.deadline is not None:
            waited = time.perf_counter() - self.started
            set_request_deadline(frame, remaining_deadline(self.deadline, waited))
        return frame

    def result(self, timeout: Optional[float] = None) -> Response:
        """The response; raises SlicerBridgeError for an error response, ConnectionLost when the
        connection ends first and TimeoutError after ``timeout`` seconds."""
        try:
            return future_result(self.future, timeout)
        except concurrent.futures.TimeoutError:
            raise TimeoutError(f"no response to {self.method} within {timeout} s") from None

    def done(self) -> bool:
        return self.future.done()

    def cancel(self) -> None:
        self.client._send_cancel(self.id)


class InvokeCall(Call):
    """An invoke in flight: ``result()`` returns an ``InvokeResult``."""

    def result(self, timeout: Optional[float] = None) -> InvokeResult:  # type: ignore[override]
        return super().result(timeout)


def _as_exception(error: Any, call: Call) -> BaseException:
    """The exception a call fails with, for an error the call table decided."""
    if isinstance(error, BaseException):
        return error
    what = {ErrorCode.DEADLINE_EXCEEDED: f"no answer to {call.method} within its deadline and "
                                         "the server's cancel grace",
            ErrorCode.INVALID_MESSAGE: f"the server's progress for {call.method} went backwards",
            ErrorCode.DUPLICATE_ID: f"{call.method}: its id is already open"}
    return SlicerBridgeError(error, what.get(error, call.method))


def _outputs_from_wire(result: Any) -> Dict[str, DataValue]:
    outputs = result.get("outputs") if isinstance(result, dict) else None
    if not isinstance(outputs, dict):
        raise SlicerBridgeError(ErrorCode.INVALID_MESSAGE, "invoke result without outputs")
    converted = {}
    for name, value in outputs.items():
        if not isinstance(value, dict):
            converted[name] = value  # a scalar output's value [CAT-7]
            continue
        try:
            converted[name] = data_from_wire(value)
        except SlicerBridgeError as error:  # [ERR-4]: outside invoke inputs this is a message error
            raise SlicerBridgeError(ErrorCode.INVALID_MESSAGE, f"output {name}: {error.message}",
                                    {"name": name}) from None
    return converted


class Client:
    """Connect with ``Client.connect("127.0.0.1:5000")``, ``Client.tcp``, ``Client.unix`` or
    ``Client.launch([...])`` (a server on a child process's stdin/stdout).

    ``timeout`` bounds the handshake and every call that is not given its own timeout, except
    ``invoke`` (computations may be long: pass ``timeout=`` or a ``deadline=``).
    """

    def __init__(self, transport: Transport, *, token: Optional[str] = None,
                 limits: Optional[Limits] = None, progress: bool = True,
                 codecs: Optional[Sequence[str]] = None, compression: Optional[str] = None,
                 timeout: float = DEFAULT_TIMEOUT, on_close: Optional[Callable[[], None]] = None,
                 interrupt: Optional[Callable[[], None]] = None, launched: bool = False,
                 transfer_memfd: bool = True):
        self.transport = transport
        self._launched = launched
        #: The child process of ``Client.launch``, else None.
        self.process: Optional[subprocess.Popen] = None
        self.timeout = timeout
        self.compression = compression
        self.stream = MessageStream(transport, limits=limits or Limits())
        self._ids = itertools.count(1)
        #: The calls in flight; ``_table`` decides what happens to them.
        self._pending: Dict[int, Call] = {}
        self._table = CallTable()
        self._lock = threading.Lock()
        #: (id, frame) of held calls the table released, and (None, frame) of cancels queued
        #: behind them, written in order by one thread at a time: not the reader, which must go
        #: on reading meanwhile. ``_releasing`` while that thread runs.
        self._released: "collections.deque[tuple]" = collections.deque()
        self._releasing = False
        self._closing = False
        self._closed = False
        self._on_close = on_close
        self._interrupt = interrupt
        self._connection_lost: Optional[BaseException] = None
        #: Connection-level errors the server sent (section 5.4), most recent last.
        self.connection_errors: List[SlicerBridgeError] = []
        #: What the server did that the protocol forbids (stray responses, progress after a
        #: response...), each ignored apart from being reported here, most recent last.
        self.protocol_violations: List[str] = []
        offered = ["progress"] if progress else []
        usable = available_codecs()
        offered += [f"codec.{name}" for name in sorted(usable) if codecs is None or name in codecs]
        if transfer_memfd and transport.descriptors is not None:
            offered.append(memfd.MEMFD_CAPABILITY)  # [FD-1]
        offered.append(grease_capability())
        self.offered = offered
        #: Descriptions seen in catalog and describe answers: calls to these processors are
        #: checked before they are sent.
        self.descriptions: Dict[str, ProcessorDescription] = {}
        #: Descriptions the last catalog dropped because they break a rule of section 10, by
        #: name (or ``#index`` without a name): ``{"index", "name", "requirement", "reason"}``.
        #: Calls to these processors fail here, unsent [CAT-12].
        self.dropped: Dict[str, dict] = {}
        self._catalog_known = False
        self.server_hello = self._handshake(ClientHello(capabilities=offered,
                                                        limits=self.stream.limits, token=token))
        self._reader = threading.Thread(target=self._read_loop, name="slicerbridge-client",
                                        daemon=True)
        self._reader.start()

    # -- construction -------------------------------------------------------------------------

    @classmethod
    def tcp(cls, host: str, port: int, **options: Any) -> "Client":
        if options.get("token") is not None and not is_loopback(host):
            # [SEC-7]: without TLS the token travels in clear text.
            log.warning("sending a token to a non-loopback address without TLS")
        timeout = options.get("timeout", DEFAULT_TIMEOUT)
        sock = socket.create_connection((host, port), timeout=timeout)
        sock.settimeout(None)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return cls._over_socket(sock, **options)

    @classmethod
    def tls(cls, host: str, port: int, *, ca_file: Optional[str] = None,
            context: Optional[ssl.SSLContext] = None, **options: Any) -> "Client":
        """TLS over TCP. The server's certificate chain and host name are verified [SEC-6],
        against the system's CAs or those in ``ca_file`` (PEM); ``context`` replaces the default
        client context (see ``slicerbridge.tls.client_context``). Raises
        ``ssl.SSLCertVerificationError`` for a certificate that is not accepted."""
        if context is None:
            context = client_context(ca_file)
        timeout = options.get("timeout", DEFAULT_TIMEOUT)
        sock = socket.create_connection((host, port), timeout=timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        transport = TlsTransport(sock, context, server_side=False, server_hostname=host)
        try:
            transport.handshake(timeout)
        except BaseException:
            sock.close()
            raise
        try:
            return cls(transport, **options)
        except BaseException:
            transport.close()
            raise

    @classmethod
    def unix(cls, path: str, **options: Any) -> "Client":
        if not hasattr(socket, "AF_UNIX"):
            raise OSError("Unix domain sockets are not available on this system")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(options.get("timeout", DEFAULT_TIMEOUT))
        try:
            sock.connect(path)
        except OSError:
            sock.close()
            raise
        sock.settimeout(None)
        return cls._over_socket(sock, **options)

    @classmethod
    def _over_socket(cls, sock: socket.socket, **options: Any) -> "Client":
        try:
            return cls(SocketTransport(sock), **options)
        except BaseException:
            sock.close()
            raise

    @classmethod
    def connect(cls, address: str, *, tls_ca: Optional[str] = None,
                tls_context: Optional[ssl.SSLContext] = None, **options: Any) -> "Client":
        """``HOST:PORT``, ``[IPv6]:PORT``, ``tls://HOST:PORT`` (``tls_ca``: a CA file to
        verify the server with, else the system's) or ``unix:PATH``."""
        if address.startswith("unix:"):
            return cls.unix(address[len("unix:"):], **options)
        if address.startswith("tls://"):
            host, port = parse_host_port(address[len("tls://"):])
            return cls.tls(host, port, ca_file=tls_ca, context=tls_context, **options)
        host, port = parse_host_port(address)
        return cls.tcp(host, port, **options)

    @classmethod
    def launch(cls, argv: Sequence[str], *, env: Optional[Mapping[str, str]] = None,
               socket_pair: bool = False, **options: Any) -> "Client":
        """Start a server process (``env``: its environment) and talk to it over its stdin and
        stdout. The process runs in its own process group, so that Ctrl-C at a terminal reaches
        this process only (which can then cancel calls cleanly); it is stopped when the client
        closes. Its standard error is kept until the handshake and then relayed to ours: a
        process that ends first raises ``LaunchError`` with the end of it.

        ``socket_pair``: one end of a Unix socket pair is the child's stdin and stdout instead of
        two pipes, so that volumes can travel as memory files (transfer.memfd, section 3.5) to a
        child that serves its stdin as a socket (``python -m slicerbridge serve --stdio``)."""
        if socket_pair:
            ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
            from_child_read = to_child_write = -1
            to_child_read = from_child_write = theirs.detach()
            pair_ends = (to_child_read,)
        else:
            to_child_read, to_child_write = os.pipe()
            from_child_read, from_child_write = os.pipe()
            pair_ends = (to_child_read, to_child_write, from_child_read, from_child_write)
        group: Dict[str, Any] = {}
        if os.name == "posix":
            group["start_new_session"] = True
        elif hasattr(subprocess, "CREATE_NEW_PROCESS_GROUP"):
            group["creationflags"] = subprocess.CREATE_NEW_PROCESS_GROUP
        try:
            process = subprocess.Popen(list(argv), stdin=to_child_read, stdout=from_child_write,
                                       stderr=subprocess.PIPE,
                                       env=None if env is None else dict(env), **group)
        except BaseException:
            for fd in pair_ends:
                os.close(fd)
            if socket_pair:
                ours.close()
            raise
        os.close(to_child_read)
        if not socket_pair:
            os.close(from_child_write)
        relay = _StderrRelay(process.stderr)

        def stop_process() -> None:
            _stop(process, options.get("timeout", DEFAULT_TIMEOUT))
            relay.join(1.0)

        transport = (SocketTransport(ours) if socket_pair
                     else PipeTransport(from_child_read, to_child_write))
        try:
            client = cls(transport, on_close=stop_process,
                         interrupt=lambda: _signal_group(process, True), launched=True, **options)
        except SlicerBridgeError:  # the server answered, e.g. unauthorized: it says why
            relay.start_relaying()
            _stop(process)
            raise
        except (ConnectionLost, TimeoutError) as failure:
            raise _launch_failure(process, relay, failure) from None
        except BaseException:
            _signal_group(process, True)
            process.wait()
            transport.close()
            raise
        client.process = process
        relay.start_relaying()
        return client

    # -- handshake ----------------------------------------------------------------------------

    def _handshake(self, hello: ClientHello) -> ServerHello:
        # A watchdog ends the handshake of a server that never answers: shutting the transport
        # down (and, for a child process, killing it) makes the blocked read return.
        timed_out = threading.Event()

        def expire() -> None:
            timed_out.set()
            self.transport.shutdown()
            if self._interrupt is not None:
                self._interrupt()

        watchdog = threading.Timer(self.timeout, expire)
        watchdog.daemon = True
        watchdog.start()
        try:
            self.stream.send(hello.to_wire())
            incoming = self.stream.receive()
        except FatalProtocolError as error:
            incoming = None
            failure = _bad_frame_text(error, self._launched)
        except (ConnectionLost, OSError) as error:
            incoming = None
            failure = f"handshake failed: {error}"
        else:
            failure = "the server closed the connection during the handshake"
        finally:
            watchdog.cancel()
            watchdog.join()
        if timed_out.is_set():
            self._abort()
            raise TimeoutError(f"no hello from the server within {self.timeout} s")
        if incoming is None:
            self._abort()
            raise ConnectionLost(failure)
        message = incoming.message
        if (isinstance(message, dict) and message.get("kind") == "response"
                and message.get("id") is None and "error" in message):
            self._abort()
            raise SlicerBridgeError.from_wire(message["error"])
        try:
            if incoming.error is not None or not isinstance(message, dict):
                raise SlicerBridgeError(ErrorCode.INVALID_MESSAGE, "bad server hello")
            server_hello = ServerHello.from_wire(message)  # [HELLO-2]
            if not hello.min_version <= server_hello.version <= hello.max_version:  # [HELLO-6]
                raise SlicerBridgeError(ErrorCode.UNSUPPORTED_VERSION,
                                        "the server chose a version outside our range")
        except SlicerBridgeError:
            self._abort()
            raise
        offered = set(hello.capabilities)
        # [CAP-5]: only what we offered (or server-only ones) is in force.
        self.capabilities = frozenset(
            c for c in server_hello.capabilities
            if c in offered or c in SERVER_ONLY_CAPABILITIES or c.startswith("x-"))
        self.stream.peer_limits = server_hello.limits
        self.stream.codecs = frozenset(c[len("codec."):] for c in self.capabilities
                                       if c.startswith("codec."))
        self.stream.memfd = (memfd.MEMFD_CAPABILITY in self.capabilities
                             and tuple(server_hello.version) >= (1, 1))  # [VER-4]
        self.stream.handshaken = True
        self._table.cancel_in_force = "cancel" in self.capabilities
        self._table.max_in_flight = server_hello.limits.max_in_flight  # [LIMIT-13]
        return server_hello

    def _abort(self) -> None:
        """End a connection whose handshake failed (no reader thread runs yet)."""
        self._closed = True
        self.stream.close()
        if self._on_close is not None:
            self._on_close()

    # -- reading ------------------------------------------------------------------------------

    def _read_loop(self) -> None:
        reason: BaseException = ConnectionLost("the server closed the connection")
        try:
            while True:
                incoming = self.stream.receive()
                if incoming is None:
                    break
                self._dispatch(incoming)
                del incoming  # the caller owns the outputs; keep no frame while waiting
        except FatalProtocolError as error:
            reason = ConnectionLost(_bad_frame_text(error, self._launched))
        except ConnectionLost as error:
            reason = error
        except Exception as error:  # keep failures visible to callers rather than hanging them
            log.exception("client reader failed")
            reason = ConnectionLost(f"client reader failed: {type(error).__name__}")
        with self._lock:
            self._connection_lost = reason
        self._decide(lambda table: table.on_connection_lost(reason))
        self.transport.shutdown()

    def _violation(self, requirement: str, what: str) -> None:
        """Report something the server must not do; the message is ignored otherwise."""
        log.warning("server violated [%s]: %s", requirement, what)
        with self._lock:
            self.protocol_violations.append(f"[{requirement}] {what}")
            del self.protocol_violations[:-100]

    def _dispatch(self, incoming: Incoming) -> None:
        message = incoming.message
        if not isinstance(message, dict) or not isinstance(message.get("kind"), str):
            self._violation("MSG-11", "a message that is not a map with a string kind")
            return
        kind = message["kind"]
        if kind == "response":
            self._on_response(message, incoming)
        elif kind == "notification":
            self._on_notification(message)
        elif kind == "request":  # [MSG-3]
            self._violation("MSG-3", "a request from the server")
            if is_valid_id(message.get("id")):
                try:
                    self.stream.send(response(message["id"], error=SlicerBridgeError(
                        ErrorCode.METHOD_NOT_FOUND, "a client serves no methods")))
                except (ConnectionLost, SlicerBridgeError):
                    pass
        else:
            self._violation("MSG-10", "a message of unknown kind")

    def _on_response(self, message: dict, incoming: Incoming) -> None:
        request_id = message.get("id")
        if request_id is None:  # a connection-level error never completes a call [MSG-17]
            error = SlicerBridgeError.from_wire(message.get("error"))
            log.warning("connection-level error from the server: %s", error)
            with self._lock:
                self.connection_errors.append(error)
                del self.connection_errors[:-100]
            return
        if not is_valid_id(request_id):
            self._violation("MSG-8", "a response that matches no open request")
            return
        has_result, has_error = "result" in message, "error" in message
        failure: Optional[SlicerBridgeError] = None
        if has_result == has_error:  # [MSG-15]
            failure = SlicerBridgeError(ErrorCode.INVALID_MESSAGE,
                                        "response needs exactly one of result and error")
        elif incoming.error is not None:
            failure = incoming.error
        elif has_error:
            failure = SlicerBridgeError.from_wire(message["error"])
        malformed = has_result == has_error or incoming.error is not None

        def answer(call: Call, error: Any) -> None:
            timings = parse_timings(message.get("timings"))
            timings["round_trip"] = time.perf_counter() - call.started
            try:
                if error is not None:
                    raise error
                if isinstance(call, InvokeCall):
                    value: Any = InvokeResult(_outputs_from_wire(message["result"]), timings)
                else:
                    value = Response(message["result"], timings)
            except SlicerBridgeError as raised:
                raised.timings = timings
                call.future.set_exception(raised)
                return
            call.future.set_result(value)

        self._decide(lambda table: table.on_response(request_id, failure, malformed), answer)

    def _on_notification(self, message: dict) -> None:
        method = message.get("method")
        if method != "progress":
            if not isinstance(method, str):
                self._violation("MSG-2", "a notification without a method")
            return  # [MSG-9]
        params = message.get("params")
        fraction = params.get("fraction") if isinstance(params, dict) else None
        text = params.get("message") if isinstance(params, dict) else None
        if (not isinstance(params, dict) or not is_valid_id(params.get("id"))
                or not is_number(fraction) or not 0.0 <= fraction <= 1.0
                or (text is not None and not isinstance(text, str))):
            self._violation("MSG-16", "a progress notification with malformed params")
            return
        self._decide(lambda table: table.on_progress(params["id"], fraction), progress_text=text)

    def _decide(self, event: Callable[[CallTable], List[Action]],
                answer: Optional[Callable[[Call, Any], None]] = None,
                progress_text: Optional[str] = None,
                starting: Optional[int] = None) -> List[Action]:
        """Feed an event to the call table under the lock, then carry its actions out and
        return them. ``answer(call, error)`` completes a call answered by a response; other
        completions fail the call with ``error``. The request of the call ``starting`` is its
        starter's to send; those of held calls released by the event are queued for
        ``_write_released`` under the same lock, so that a cancel decided later follows them."""
        with self._lock:
            actions = event(self._table)
            calls = {a.id: (self._pending.pop(a.id, None) if a.kind == call_table.COMPLETE
                            else self._pending.get(a.id))
                     for a in actions if a.id is not None}
            released = [calls[a.id] for a in actions if a.kind == call_table.SEND_REQUEST
                        and a.id != starting and calls.get(a.id) is not None]
            for call in released:
                self._released.append((call.id, call._release()))
            start_writer = bool(released) and not self._releasing
            self._releasing = self._releasing or start_writer
        if start_writer:
            threading.Thread(target=self._write_released, name="slicerbridge-released-calls",
                             daemon=True).start()
        for action in actions:
            call = calls.get(action.id)
            if action.kind == call_table.REPORT:
                self._violation(action.requirement, action.what)
            elif action.kind == call_table.SEND_CANCEL:
                self._write_cancel(action.id)
            elif call is None:
                continue
            elif action.kind == call_table.ARM_TIMER:
                call.give_up = threading.Timer(action.seconds, self._decide,
                                               (lambda table, i=call.id: table.on_give_up(i),))
                call.give_up.daemon = True
                call.give_up.start()
            elif action.kind == call_table.DISARM_TIMER:
                if call.give_up is not None:
                    call.give_up.cancel()
            elif action.kind == call_table.DELIVER_PROGRESS:
                if call.progress_callback is not None:
                    try:
                        call.progress_callback(float(action.fraction), progress_text)
                    except Exception:
                        log.exception("progress callback failed")
            elif action.kind == call_table.COMPLETE and not call.future.done():
                if answer is not None:
                    answer(call, action.error)
                else:
                    call.future.set_exception(_as_exception(action.error, call))
                call.held_request = None
        return actions

    def _write_released(self) -> None:
        """Write the requests of held calls the table released [LIMIT-13], and the cancels
        that came after them, in order, until none is left."""
        while True:
            with self._lock:
                if not self._released:
                    self._releasing = False
                    return
                request_id, frame = self._released.popleft()
            try:
                self.stream.write(frame)
            except BaseException as error:
                if request_id is not None:
                    self._decide(lambda table, i=request_id, e=error: table.on_send_failed(i, e))

    # -- requests -----------------------------------------------------------------------------

    def _start(self, method: str, params: Optional[dict], *, call_type: type = Call,
               progress: Optional[ProgressCallback] = None,
               give_up_after: Optional[float] = None) -> Call:
        with self._lock:
            if self._closing and method != "goodbye":  # [BYE-1]
                raise SlicerBridgeError(ErrorCode.SHUTTING_DOWN, "the client is closing")
            if self._connection_lost is not None:
                raise ConnectionLost(str(self._connection_lost))
            request_id = next(self._ids)
            call = call_type(self, request_id, method, progress)
            self._pending[request_id] = call
        if method == "invoke" and params is not None and is_number(params.get("deadline")):
            # A float 64 last in the head, where a held call's is set when it is sent [LIMIT-13].
            call.deadline = float(params["deadline"])
            params = {**{k: v for k, v in params.items() if k != "deadline"},
                      "deadline": call.deadline}
        try:  # what the server cannot take fails here, held or not [LIMIT-1]
            frame = self.stream.encode(request(request_id, method, params),
                                       compression=self.compression)
        except BaseException:
            with self._lock:
                del self._pending[request_id]
            raise
        call.held_request = frame
        actions = self._decide(lambda table: table.start(request_id, method, give_up_after),
                               starting=request_id)
        if call.future.done():  # refused by the table: the connection was lost meanwhile
            raise call.future.exception()
        if any(a.kind == call_table.HOLD_REQUEST for a in actions):
            return call  # sent when the table releases it [LIMIT-13]
        call.held_request = None
        try:
            self.stream.write(frame)
        except BaseException as error:
            self._decide(lambda table: table.on_send_failed(request_id, error))
            raise
        return call

    def request(self, method: str, params: Optional[dict] = None, *,
                timeout: Optional[float] = None) -> Response:
        """Send any request and wait for its response."""
        return self._start(method, params).result(self.timeout if timeout is None else timeout)

    def ping(self, *, timeout: Optional[float] = None) -> Dict[str, float]:
        """Round trip to the server; returns the timings."""
        return self.request("ping", timeout=timeout).timings

    def catalog(self, *, timeout: Optional[float] = None) -> List[ProcessorDescription]:
        """The server's valid descriptions. One that breaks a rule of section 10 is left out
        and reported in ``dropped`` (and a warning); the others stay usable [CAT-12]."""
        result = self.request("catalog", timeout=timeout).result
        descriptions, dropped = read_catalog(result)
        for entry in dropped:
            log.warning("catalog: dropped processor %s: %s",
                        entry["name"] or f"#{entry['index']}", entry["reason"])
        with self._lock:
            self.descriptions = {d.name: d for d in descriptions}
            self.dropped = {entry["name"] or f"#{entry['index']}": entry for entry in dropped}
            self._catalog_known = True
        return descriptions

    def describe(self, processor: str, *, timeout: Optional[float] = None) -> ProcessorDescription:
        result = self.request("describe", {"processor": processor}, timeout=timeout).result
        description = ProcessorDescription.received(result)
        with self._lock:
            self.descriptions[description.name] = description
        return description

    def check_call(self, processor: str, inputs: Optional[Mapping[str, DataValue]] = None,
                   parameters: Optional[Mapping[str, Any]] = None) -> None:
        """Check a call against the processor's description, if this client has it (from
        ``catalog`` or ``describe``), with the server's rules and messages: raises
        ``invalid_argument`` (or ``unknown_processor`` once the catalog is known)."""
        with self._lock:
            description = self.descriptions.get(processor)
            known = list(self.descriptions) if self._catalog_known else None
            dropped = self.dropped.get(processor) if description is None else None
        if dropped is not None:
            raise SlicerBridgeError(
                ErrorCode.INVALID_MESSAGE,
                f"processor {processor!r} was dropped from the catalog: {dropped['reason']}",
                {"processor": processor, "requirement": dropped["requirement"]})
        if description is None:
            if known is not None:
                raise SlicerBridgeError(
                    ErrorCode.UNKNOWN_PROCESSOR,
                    f"no processor named {processor!r}{did_you_mean(processor, known)}",
                    {"processor": processor})
            return
        check_arguments(description, dict(inputs or {}), dict(parameters or {}), complete=False)

    def submit(self, processor: str, inputs: Optional[Mapping[str, DataValue]] = None,
               parameters: Optional[Mapping[str, Any]] = None, *,
               deadline: Optional[float] = None,
               progress: Optional[ProgressCallback] = None) -> InvokeCall:
        """Start an invoke and return at once; ``progress(fraction, message)`` is called on the
        client's reader thread and must return quickly. A call that the processor's
        description (when known, see ``check_call``) rules out raises before it is sent. Beyond
        the server's ``max_in_flight`` open invokes, the call waits in the client and is sent
        when one of them ends, with what remains of ``deadline`` [LIMIT-13]."""
        self.check_call(processor, inputs, parameters)
        params: Dict[str, Any] = {
            "processor": processor,
            "inputs": {name: data_to_wire(value) for name, value in (inputs or {}).items()},
            "parameters": dict(parameters or {})}
        give_up_after = None
        if deadline is not None:
            params["deadline"] = float(deadline)
            # Stop waiting for a silent server after its deadline and grace [INV-6] [CANCEL-3].
            give_up_after = float(deadline) + self.server_hello.limits.cancel_grace + 1.0
        return self._start("invoke", params, call_type=InvokeCall, progress=progress,
                           give_up_after=give_up_after)

    def invoke(self, processor: str, inputs: Optional[Mapping[str, DataValue]] = None,
               parameters: Optional[Mapping[str, Any]] = None, *,
               deadline: Optional[float] = None, progress: Optional[ProgressCallback] = None,
               timeout: Optional[float] = None) -> InvokeResult:
        """Run a processor and wait for its outputs (waits without limit unless ``timeout`` or
        ``deadline`` is given)."""
        call = self.submit(processor, inputs, parameters, deadline=deadline, progress=progress)
        return call.result(timeout)

    def _send_cancel(self, request_id: int) -> None:
        self._decide(lambda table: table.on_cancel_requested(request_id))

    def _write_cancel(self, request_id: int) -> None:
        try:
            cancel = self.stream.encode(notification("cancel", {"id": request_id}))
            with self._lock:
                if self._releasing:  # after the released requests: its call may be among them
                    self._released.append((None, cancel))
                    return
            self.stream.write(cancel)
        except (ConnectionLost, SlicerBridgeError):
            pass

    # -- closing ------------------------------------------------------------------------------

    def goodbye(self, *, timeout: Optional[float] = None) -> None:
        """Send goodbye and wait for its answer, which the server sends after answering every
        call still open [BYE-2]; no request can be sent afterwards [BYE-1]."""
        call = self._start("goodbye", None)
        self._closing = True
        call.result(self.timeout if timeout is None else timeout)

    def close(self, *, timeout: Optional[float] = None) -> None:
        """Say goodbye unless done already, then close the connection."""
        if self._closed:
            return
        wait = self.timeout if timeout is None else timeout
        try:
            if not self._closing and self._connection_lost is None:
                self.goodbye(timeout=wait)
        except (ConnectionLost, SlicerBridgeError, TimeoutError) as error:
            log.info("goodbye did not complete: %s", error)
        finally:
            self._closing = True
            self._closed = True
            self.transport.shutdown_write()
            self._reader.join(wait)
            if self._reader.is_alive():  # the server did not close its side: force it
                self.transport.shutdown()
                if self._interrupt is not None:
                    self._interrupt()
                self._reader.join(wait)
            if self._on_close is not None:
                self._on_close()
            if not self._reader.is_alive():
                self.stream.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def parse_host_port(address: str) -> tuple:
    """``HOST:PORT`` or ``[IPv6]:PORT`` -> (host, port)."""
    host, separator, port = address.rpartition(":")
    if not separator or not port.isdigit():
        raise ValueError(f"expected HOST:PORT, got {address!r}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host, int(port)


class _StderrRelay:
    """Reads a launched server's standard error: kept (its end) until ``start_relaying``, then
    written to ours as it comes."""

    def __init__(self, pipe: Any):
        self._pipe = pipe
        self._lock = threading.Lock()
        self._kept = bytearray()
        self._relaying = False
        self._thread = threading.Thread(target=self._run, name="slicerbridge-stderr",
                                        daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            try:
                chunk = self._pipe.read1(65536) if hasattr(self._pipe, "read1") \
                    else self._pipe.read(65536)
            except (OSError, ValueError):
                break
            if not chunk:
                break
            with self._lock:
                if not self._relaying:
                    self._kept += chunk
                    del self._kept[:-STDERR_TAIL]
                    continue
            _write_stderr(chunk)
        try:
            self._pipe.close()
        except OSError:
            pass

    def start_relaying(self) -> None:
        with self._lock:
            self._relaying = True
            kept, self._kept = bytes(self._kept), bytearray()
        if kept:
            _write_stderr(kept)

    def tail(self) -> str:
        with self._lock:
            return bytes(self._kept).decode("utf-8", "replace")

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)


def _write_stderr(data: bytes) -> None:
    try:
        stream = sys.stderr
        if hasattr(stream, "buffer"):
            stream.flush()
            stream.buffer.write(data)
            stream.buffer.flush()
        else:
            stream.write(data.decode("utf-8", "replace"))
    except (OSError, ValueError):
        pass


def _stop(process: subprocess.Popen, grace: float = 2.0) -> None:
    """End a launched server whose connection is closed [STDIO-3]: it should exit by itself
    within `grace`; one that lingers gets SIGTERM, then after another `grace` SIGKILL, each sent
    to its process group, and is reaped."""
    for forced in (None, False, True):
        if forced is not None:
            _signal_group(process, forced)
        try:
            process.wait(timeout=None if forced else grace)
            return
        except subprocess.TimeoutExpired:
            continue


def _signal_group(process: subprocess.Popen, forced: bool) -> None:
    """SIGKILL if `forced`, else SIGTERM, to the process group the unreaped child leads, so that
    what it started in it ends too [STDIO-3]; to the child alone if it leads none, or where
    there are no groups. Nothing for a child already reaped: its id may name another process."""
    if process.poll() is not None:
        return
    if os.name == "posix":
        try:
            os.killpg(process.pid, signal.SIGKILL if forced else signal.SIGTERM)
            return
        except ProcessLookupError:
            pass
    try:
        if forced:
            process.kill()
        else:
            process.terminate()
    except ProcessLookupError:
        pass


def _launch_failure(process: subprocess.Popen, relay: _StderrRelay,
                    failure: BaseException) -> LaunchError:
    """Stop a launched server whose handshake failed and say why, with its standard error."""
    try:
        status: Optional[int] = process.wait(timeout=2.0)
    except subprocess.TimeoutExpired:
        status = None
    if status is None:
        _signal_group(process, True)
        process.wait()
    relay.join(2.0)
    if isinstance(failure, ConnectionLost) and "not a SlicerBridge frame" in str(failure):
        text = str(failure)
    elif status is not None and status < 0:
        text = f"the processor was killed by signal {-status} before the handshake"
    elif status is not None:
        text = f"the processor exited with status {status} before the handshake"
    else:
        text = f"the processor did not complete the handshake: {failure}"
    tail = relay.tail().strip()
    if tail:
        text += "; its standard error ends with:\n" + "\n".join(
            "    " + line for line in tail.splitlines()[-20:])
    else:
        text += " (it wrote nothing to its standard error)"
    return LaunchError(text)
