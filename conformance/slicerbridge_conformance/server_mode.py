"""Server mode: the runner is the client; every frame the server sends is judged by `Peer`."""

from __future__ import annotations

import random
import re
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from . import __version__, wire
from .connection import Connection, PeerClosed, TimedOut, WireRecorder, connect, parse_address
from .framework import (Case, CaseFailed, CaseNonStrict, CaseSkipped, ImplementationCrashed, Result,
                        UsageError, execute)
from .process import Child

SUITE_LIMITS = wire.Limits(max_frame=256 << 20, max_head=16 << 20, max_in_flight=64, max_depth=32)
SERVER_ONLY_CAPABILITIES = {"cancel"}
SERVER_ONLY_LIMITS = {"max_in_flight", "cancel_grace"}
MAP_RESULT_METHODS = {"catalog", "describe", "invoke", "ping", "goodbye"}
TIMING_KEYS = ("receiving", "queued", "computing", "sending")
LISTENING = re.compile(r"listening on (\S+)")


class HandshakeRefused(Exception):
    """The server answered the hello with a connection-level error."""

    def __init__(self, error: dict) -> None:
        super().__init__(f"{wire.error_name(error.get('code'))}: {error.get('message')!r}")
        self.error = error


# ---------------------------------------------------------------------------------------------
# The server under test


class ServerTarget:
    """A server at an address, or one the runner starts from a command (and restarts after a
    crash). The command prints `listening on HOST:PORT` as its first stdout line."""

    def __init__(self, address: str | None, command: list[str] | None, startup_timeout: float) -> None:
        self.command = command
        self.startup_timeout = startup_timeout
        self.child: Child | None = None
        self.address: tuple[str, int] | None = parse_address(address) if address else None
        self.crashes: list[str] = []

    @property
    def description(self) -> str:
        return " ".join(self.command) if self.command else f"{self.address[0]}:{self.address[1]}"

    def start(self) -> None:
        if not self.command:
            return
        self.child = Child(self.command)
        line = self.child.first_stdout_line(self.startup_timeout)
        match = LISTENING.search(line or "")
        if not match:
            self.child.stop()
            detail = f"first stdout line {line!r}" if line else f"no stdout line ({self.child.describe_exit()})"
            raise ImplementationCrashed(
                f"server did not print 'listening on HOST:PORT' within {self.startup_timeout}s: {detail}\n"
                f"stderr: {self.child.stderr.text()}")
        self.address = parse_address(match.group(1))

    def died(self, wait: float = 0.0) -> str | None:
        """A description of the crash if the started server is no longer running (waiting up to
        `wait` seconds for a dying one to exit)."""
        if self.child is None or (self.child.running() and self.child.wait(wait) is None):
            return None
        return f"server {self.child.describe_exit()}; stderr tail:\n{self.child.stderr.text()}"

    def restart(self) -> None:
        if self.child is not None:
            self.child.stop()
        self.start()

    def stop(self) -> None:
        if self.child is not None:
            self.child.stop()
            self.child = None


@dataclass
class ServerInfo:
    hello: dict
    capabilities: set
    limits: wire.Limits
    processors: dict = field(default_factory=dict)


@dataclass
class Options:
    timeout: float = 10.0
    token: str | None = None
    seed: int = 0
    fuzz_cases: int = 40
    # The server's configuration for the availability cases (section 7.1), not announced on the
    # wire: None when not given, and the cases needing it are skipped.
    hello_timeout: float | None = None
    idle_timeout: float | None = None
    stall_timeout: float | None = None
    max_connections: int | None = None
    attack_seconds: float | None = None  # how long availability.served-under-attack lasts


# ---------------------------------------------------------------------------------------------
# One connection to the server, with the client-side oracle


class Peer:
    """A client connection that checks every message it receives against the spec and fails the
    case on the first violation."""

    def __init__(self, context: "ServerContext", conn: Connection, offered: list[str]) -> None:
        self.context = context
        self.conn = conn
        self.offered = offered
        self.timeout = context.options.timeout
        self.server_hello: dict | None = None
        self.in_force: set[str] = set()
        self.limits = wire.Limits()
        self.open: dict[int, str] = {}
        self.answered: set[int] = set()
        self.inbox: list[dict] = []
        self.fractions: dict[int, list[float]] = {}
        self.notes: list[str] = []
        self.lenient = False  # fuzzing: the server may answer ids the mutations made up
        self.said_goodbye = False
        self._next_id = 1

    # -- sending

    def new_id(self) -> int:
        while self._next_id in self.open:
            self._next_id += 1
        value = self._next_id
        self._next_id += 1
        return value

    def send_head(self, head: Any, expect_id: int | None = None, method: str = "", note: str = "",
                  **frame_options: Any) -> None:
        """Sends any head, possibly malformed; `expect_id` registers a response to wait for."""
        if expect_id is not None:
            self.open[expect_id] = method
            self.answered.discard(expect_id)
        if method == "goodbye":
            self.said_goodbye = True
        try:
            self.conn.send(head, note=note, **frame_options)
        except PeerClosed as closed:
            raise CaseFailed(f"server closed the connection before we could send: {closed}") from None

    def send_raw(self, data: bytes, note: str = "") -> None:
        try:
            self.conn.send_bytes(data, note)
        except PeerClosed as closed:
            raise CaseFailed(f"server closed the connection before we could send: {closed}") from None

    def request(self, method: str, params: Any = None, *, request_id: int | None = None,
                extra: dict | None = None, **frame_options: Any) -> int:
        request_id = self.new_id() if request_id is None else request_id
        head = {"kind": "request", "id": request_id, "method": method}
        if params is not None:
            head["params"] = params
        if extra:
            head.update(extra)
        self.send_head(head, expect_id=request_id, method=method, **frame_options)
        return request_id

    def notify(self, method: str, params: Any = None) -> None:
        head = {"kind": "notification", "method": method}
        if params is not None:
            head["params"] = params
        self.send_head(head)

    def cancel(self, request_id: int) -> None:
        self.notify("cancel", {"id": request_id})

    def invoke(self, processor: str, inputs: dict | None = None, parameters: dict | None = None,
               deadline: Any = None, **frame_options: Any) -> int:
        params: dict = {"processor": processor}
        if inputs is not None:
            params["inputs"] = inputs
        if parameters is not None:
            params["parameters"] = parameters
        if deadline is not None:
            params["deadline"] = deadline
        return self.request("invoke", params, **frame_options)

    # -- receiving

    def receive(self, timeout: float | None = None) -> dict:
        """Receives, checks and queues the next message; returns it."""
        try:
            frame = self.conn.receive(self.timeout if timeout is None else timeout)
        except wire.WireError as error:
            raise CaseFailed(f"server sent a frame that breaks the spec: {error} "
                             f"{_requirement_for(error)}") from None
        message = frame.head
        self._check(frame)
        self.inbox.append(message)
        return message

    def _check(self, frame: wire.Frame) -> None:
        head = frame.head
        if frame.header.flags != 0:
            raise CaseFailed(f"server frame with flags {frame.header.flags:#04x} [FRAME-2]")
        if not isinstance(head, dict) or not isinstance(head.get("kind"), str):
            raise CaseFailed("server head is not a map with a string kind [HEAD-1]")
        self._check_alignment(head)
        kind = head["kind"]
        if self.server_hello is None and kind != "hello":
            if not (kind == "response" and head.get("id") is None and "error" in head):
                raise CaseFailed(f"server's first message is a {kind!r}, not a hello or a "
                                 "connection-level error [HELLO-1] [HELLO-2]")
        if kind == "hello":
            if self.server_hello is not None:
                raise CaseFailed("server sent a second hello [HELLO-7]")
        elif kind == "response":
            self._check_response(head)
        elif kind == "notification":
            self._check_notification(head)
        elif kind == "request":
            raise CaseFailed("server sent a request: only clients send requests in 1.0 [MSG-3]")
        else:
            raise CaseFailed(f"server sent a message of unknown kind {kind!r} [VER-4]")

    def _check_alignment(self, head: Any) -> None:
        def walk(value: Any) -> None:
            if isinstance(value, dict):
                for item in value.values():
                    walk(item)
            elif isinstance(value, list):
                for item in value:
                    walk(item)
            elif isinstance(value, wire.BulkData) and value.offset % 8:
                self.notes.append(f"bulk segment at offset {value.offset}, not a multiple of 8 [BULK-2]")
        walk(head)

    def _check_response(self, head: dict) -> None:
        if "id" not in head:
            raise CaseFailed("response without an id key [MSG-14]")
        request_id = head["id"]
        if request_id is not None and not (wire.is_integer(request_id) and 0 <= request_id < 1 << 63):
            raise CaseFailed(f"response id {request_id!r} is neither nil nor in 0..2^63-1 [MSG-14]")
        if ("result" in head) == ("error" in head):
            raise CaseFailed("response must carry exactly one of result and error [MSG-7]")
        if "error" in head:
            check_error_shape(head["error"])
        if "timings" in head:
            timings = head["timings"]
            if not isinstance(timings, dict):
                raise CaseFailed("timings is not a map [TIME-1]")
            for key in TIMING_KEYS:
                if key in timings and not (wire.is_number(timings[key]) and timings[key] >= 0):
                    raise CaseFailed(f"timings.{key} = {timings[key]!r} is not a number >= 0 [TIME-1]")
        if request_id is None or (self.lenient and request_id not in self.open):
            return
        if request_id not in self.open:
            if request_id in self.answered:
                raise CaseFailed(f"second response for request {request_id} [MSG-4] [CANCEL-2]")
            raise CaseFailed(f"response for id {request_id}, which we never sent [MSG-4]")
        method = self.open.pop(request_id)
        self.answered.add(request_id)
        if "result" in head and method in MAP_RESULT_METHODS and not isinstance(head["result"], dict):
            raise CaseFailed(f"result of {method} is not a map [MSG-7]")

    def _check_notification(self, head: dict) -> None:
        method = head.get("method")
        if not isinstance(method, str):
            raise CaseFailed("notification without a string method (section 5.3)")
        if method != "progress":
            return
        if "progress" not in self.in_force:
            raise CaseFailed("progress notification although progress is not in force [CAP-3]")
        params = head.get("params")
        if not isinstance(params, dict):
            raise CaseFailed("progress without a params map (section 6.4)")
        call, fraction = params.get("id"), params.get("fraction")
        if not wire.is_integer(call):
            raise CaseFailed(f"progress id {call!r} is not an integer (section 6.4)")
        if not (wire.is_number(fraction) and 0.0 <= fraction <= 1.0):
            raise CaseFailed(f"progress fraction {fraction!r} is not a number in [0, 1] (section 6.4)")
        if "message" in params and not isinstance(params["message"], str):
            raise CaseFailed("progress message is not a string (section 6.4)")
        if self.lenient:
            return
        if call in self.answered:
            raise CaseFailed(f"progress for call {call} after its response [PROG-2]")
        if self.open.get(call) != "invoke":
            raise CaseFailed(f"progress for id {call}, which is not an open invoke [PROG-3]")
        history = self.fractions.setdefault(call, [])
        if history and fraction < history[-1]:
            raise CaseFailed(f"progress of call {call} went from {history[-1]} down to {fraction} [PROG-1]")
        history.append(fraction)

    def _take(self, predicate: Callable[[dict], bool]) -> dict | None:
        for index, message in enumerate(self.inbox):
            if predicate(message):
                return self.inbox.pop(index)
        return None

    def poll(self, predicate: Callable[[dict], bool], timeout: float) -> dict | None:
        """Like wait_for, but None when nothing matching arrives within `timeout`."""
        deadline = time.monotonic() + timeout
        while True:
            found = self._take(predicate)
            if found is not None:
                return found
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            try:
                self.receive(remaining)
            except TimedOut:
                return None
            except PeerClosed as closed:
                raise CaseFailed(f"server closed the connection ({closed})") from None

    def wait_for(self, predicate: Callable[[dict], bool], what: str, timeout: float | None = None) -> dict:
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            found = self._take(predicate)
            if found is not None:
                return found
            remaining = deadline - time.monotonic()
            try:
                if remaining <= 0:
                    raise TimedOut()
                self.receive(remaining)
            except TimedOut:
                raise CaseFailed(f"no {what} within {self.timeout if timeout is None else timeout:g}s") from None
            except PeerClosed as closed:
                raise CaseFailed(f"server closed the connection while we waited for {what} ({closed})") from None

    def response(self, request_id: int, timeout: float | None = None) -> dict:
        method = self.open.get(request_id, "request")
        response = self.wait_for(
            lambda m: m.get("kind") == "response" and m.get("id") == request_id,
            f"response to {method} {request_id}", timeout)
        error = response.get("error")
        details = error.get("details") if isinstance(error, dict) else None
        if (isinstance(details, dict) and "max_pending_calls" in details
                and wire.error_name(error.get("code")) == "too_many_in_flight"):
            # [LIMIT-12]: the server may refuse below max_in_flight; the case cannot run here.
            raise CaseSkipped(f"the server's bound on calls across connections "
                              f"({details['max_pending_calls']}, [LIMIT-12]) refused {method} "
                              f"{request_id}: start it with a bound above its max_in_flight")
        return response

    def result(self, request_id: int, timeout: float | None = None) -> Any:
        response = self.response(request_id, timeout)
        if "error" in response:
            error = response["error"]
            raise CaseFailed(f"request {request_id} failed: {wire.error_name(error.get('code'))}: "
                             f"{error.get('message')!r}")
        return response["result"]

    def call(self, method: str, params: Any = None, timeout: float | None = None) -> Any:
        return self.result(self.request(method, params), timeout)

    def error(self, request_id: int, *expected: str, timeout: float | None = None) -> dict:
        """The error answering `request_id`, which must be one of the `expected` names."""
        response = self.response(request_id, timeout)
        if "error" not in response:
            raise CaseFailed(f"request {request_id} succeeded; expected error {' or '.join(expected)}")
        return expect_code(response["error"], expected, f"request {request_id}")

    def connection_error(self, *expected: str, timeout: float | None = None) -> dict:
        response = self.wait_for(lambda m: m.get("kind") == "response" and m.get("id") is None,
                                 f"connection-level {' or '.join(expected)} error", timeout)
        return expect_code(response["error"], expected, "connection-level error")

    def progress(self, request_id: int, timeout: float | None = None) -> float:
        message = self.wait_for(
            lambda m: m.get("kind") == "notification" and m.get("method") == "progress"
            and m.get("params", {}).get("id") == request_id,
            f"progress for call {request_id}", timeout)
        return message["params"]["fraction"]

    def sync(self, timeout: float | None = None) -> list[dict]:
        """Pings and waits for the answer; returns the responses that arrived before it unasked.
        The server answers in any order, but not before it read the ping: what came earlier
        answered earlier frames."""
        ping_id = self.request("ping")
        self.response(ping_id, timeout)
        extra = [m for m in self.inbox if m.get("kind") == "response"]
        self.inbox = [m for m in self.inbox if m.get("kind") != "response"]
        return extra

    def expect_closed(self, timeout: float | None = None, what: str = "") -> None:
        """The server must close the connection (after at most some more frames, which are checked)."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            remaining = deadline - time.monotonic()
            try:
                if remaining <= 0:
                    raise TimedOut()
                self.receive(remaining)
            except PeerClosed:
                return
            except TimedOut:
                raise CaseFailed(f"server did not close the connection {what}".rstrip()) from None

    def close(self) -> None:
        self.conn.close()

    # -- handshake

    def handshake(self, hello: dict, timeout: float | None = None) -> dict:
        self.send_head(hello)
        message = self.wait_for(lambda m: True, "answer to our hello", timeout)
        if message.get("kind") == "response":
            raise HandshakeRefused(message["error"])
        self.server_hello = message
        self._check_server_hello(hello)
        return message

    def _check_server_hello(self, hello: dict) -> None:
        server = self.server_hello
        if server.get("protocol") != wire.PROTOCOL_NAME:
            raise CaseFailed(f"server hello protocol {server.get('protocol')!r} [HELLO-5]")
        version = server.get("version")
        if not is_version(version):
            raise CaseFailed(f"server hello version {version!r} is not [major, minor] (section 4.1)")
        low, high = hello.get("min_version"), hello.get("max_version")
        if is_version(low) and is_version(high) and not (tuple(low) <= tuple(version) <= tuple(high)):
            raise CaseFailed(f"server chose version {version}, outside our range {low}..{high} [HELLO-3]")
        capabilities = server.get("capabilities", [])
        if not (isinstance(capabilities, list) and all(isinstance(c, str) for c in capabilities)):
            raise CaseFailed("server capabilities are not an array of strings (section 4.1)")
        offered = set(hello.get("capabilities", []) or [])
        for capability in capabilities:
            if capability not in offered and capability not in SERVER_ONLY_CAPABILITIES \
                    and not capability.startswith("x-"):
                raise CaseFailed(f"server lists capability {capability!r} that we did not offer [CAP-4]")
        limits = server.get("limits", {})
        if not isinstance(limits, dict):
            raise CaseFailed("server limits is not a map (section 7)")
        check_limits(limits)
        implementation = server.get("implementation")
        if implementation is not None and not (
                isinstance(implementation, dict)
                and all(isinstance(implementation.get(k, ""), str) for k in ("name", "version"))):
            raise CaseFailed("server implementation is not {name, version} strings (section 4.1)")
        self.in_force = set(capabilities)
        self.limits = wire.Limits.from_map(limits)
        self.conn.codecs = frozenset(codec for codec, capability in wire.CODEC_CAPABILITIES.items()
                                     if capability in self.in_force)


def _requirement_for(error: wire.WireError) -> str:
    return {"malformed_frame": "[FRAME-1]", "frame_too_large": "[LIMIT-1]",
            "unsupported_codec": "[CAP-2]"}.get(error.name, "[FRAME-4] [HEAD-3]")


def is_version(value: Any) -> bool:
    return (isinstance(value, list) and len(value) == 2
            and all(wire.is_integer(v) and 0 <= v <= 65535 for v in value))


def check_limits(limits: dict) -> None:
    for key in ("max_frame", "max_head", "max_in_flight", "max_depth"):
        if key in limits:
            value = limits[key]
            top = (1 << 32) - 1 if key == "max_head" else (1 << 64) - 1
            if not (wire.is_integer(value) and 1 <= value <= top):
                raise CaseFailed(f"server limit {key} = {value!r} out of range [LIMIT-4]")
    if "cancel_grace" in limits:
        grace = limits["cancel_grace"]
        if not (wire.is_number(grace) and grace >= 0 and grace != float("inf")):
            raise CaseFailed(f"server limit cancel_grace = {grace!r} out of range [LIMIT-4]")


def check_error_shape(error: Any) -> None:
    if not isinstance(error, dict):
        raise CaseFailed("error is not a map (section 8)")
    code = error.get("code")
    if not (wire.is_integer(code) and 1 <= code <= 65535):
        raise CaseFailed(f"error code {code!r} outside 1..65535 [ERR-1]")
    if not isinstance(error.get("message"), str):
        raise CaseFailed("error without a string message (section 8)")
    if "details" in error and not isinstance(error["details"], dict):
        raise CaseFailed(f"error details is {type(error['details']).__name__}, not a map (section 8)")


def expect_code(error: dict, expected: tuple[str, ...], what: str) -> dict:
    name = wire.error_name(error.get("code"))
    if name not in expected:
        raise CaseFailed(f"{what}: got error {name} ({error.get('message')!r}), expected {' or '.join(expected)}")
    return error


# ---------------------------------------------------------------------------------------------
# The context a case runs in


class ServerContext:
    def __init__(self, target: ServerTarget, options: Options, info: ServerInfo | None,
                 recorder: WireRecorder) -> None:
        self.target = target
        self.options = options
        self.info = info
        self.recorder = recorder
        self.timeout = options.timeout
        self._connections = 0
        self._peers: list[Peer] = []
        self.rng = random.Random(options.seed)

    def open_connection(self, label: str | None = None) -> Connection:
        self._connections += 1
        try:
            sock = connect(self.target.address, self.timeout)
        except OSError as error:
            raise ImplementationCrashed(f"cannot connect to the server: {error}") from None
        return Connection(sock, recorder=self.recorder, label=label or f"conn#{self._connections}",
                          limits=SUITE_LIMITS)

    def hello(self, capabilities: Any = None, grease: bool = True, **overrides: Any) -> dict:
        """The suite's client hello: `capabilities` (default ["progress"]; OMIT for none at all)
        plus a grease capability [CAP-1]; keyword arguments replace or (OMIT) remove keys."""
        if capabilities is None:
            capabilities = ["progress"]
        if capabilities is not _OMIT:
            capabilities = list(capabilities)
            if grease:
                capabilities.append(f"x-grease-{self.rng.getrandbits(32):08x}")
        head = {"kind": "hello", "protocol": wire.PROTOCOL_NAME, "min_version": [1, 0],
                "max_version": [1, 0], "capabilities": capabilities,
                "limits": {key: value for key, value in SUITE_LIMITS.to_map().items()
                           if key not in SERVER_ONLY_LIMITS},
                "implementation": {"name": "slicerbridge-conformance", "version": __version__}}
        if self.options.token is not None:
            head["token"] = self.options.token
        head.update(overrides)
        return {key: value for key, value in head.items() if value is not _OMIT}

    def peer(self, label: str | None = None, offered: list[str] | None = None) -> Peer:
        peer = Peer(self, self.open_connection(label), offered or [])
        self._peers.append(peer)
        return peer

    def connect(self, capabilities: list[str] | None = None, **hello_overrides: Any) -> Peer:
        """A connection with a completed handshake."""
        hello = self.hello(capabilities, **hello_overrides)
        peer = self.peer(offered=hello.get("capabilities"))
        if isinstance(hello.get("limits"), dict):
            peer.conn.limits = wire.Limits.from_map(hello["limits"])
        try:
            peer.handshake(hello)
        except HandshakeRefused as refused:
            raise CaseFailed(f"server refused our hello: {refused}") from None
        return peer

    def connect_retrying(self, until: float, label: str | None = None, capabilities: Any = None,
                         retry_closed: bool = False) -> Peer:
        """Like `connect`, but a too_many_connections refusal is retried, after a growing pause,
        until `until`: the server may not have released the connections the suite closed just
        before, and nothing on the wire tells when it has [LIMIT-8]. With `retry_closed`, so is a
        connection the server closes before answering the hello: a server refusing beyond its cap
        without the error (a [LIMIT-8] failure of its own) is not thereby down."""
        pause = 0.05
        while True:
            hello = self.hello(capabilities)
            peer = self.peer(label, offered=hello["capabilities"])
            peer.conn.limits = wire.Limits.from_map(hello["limits"])
            try:
                peer.handshake(hello)
                return peer
            except HandshakeRefused as refused:
                peer.close()
                if wire.error_name(refused.error.get("code")) != "too_many_connections" \
                        or time.monotonic() + pause > until:
                    raise CaseFailed(f"{label + ': ' if label else ''}server refused our hello: {refused}") from None
            except CaseFailed:
                closed_by_server = peer.conn.ended
                peer.close()
                if not (retry_closed and closed_by_server) or time.monotonic() + pause > until:
                    raise
            time.sleep(pause)
            pause = min(2 * pause, 0.5)

    def finish(self) -> None:
        """At the end of a passing case, every connection still open must still answer a ping
        and must not have sent anything unasked (a late duplicate response, stray progress)."""
        for peer in self._peers:
            if peer.server_hello is None or peer.conn.ended or peer.lenient or peer.said_goodbye:
                continue
            extra = peer.sync()
            if extra:
                raise CaseFailed(f"unexpected responses at the end of the case: "
                                 f"{[wire.describe_value(m) for m in extra]}")

    def close_all(self) -> None:
        for peer in self._peers:
            peer.close()
        self._peers.clear()

    # -- the processors and capabilities the cases need

    def processor(self, name: str) -> dict:
        description = self.info.processors.get(name)
        if description is None:
            raise CaseSkipped(f"the server has no conformance processor {name!r} (see README)")
        return description

    def parameter(self, processor: str, name: str) -> dict:
        for slot in self.processor(processor).get("parameters", []):
            if isinstance(slot, dict) and slot.get("name") == name:
                return slot
        raise CaseSkipped(f"processor {processor!r} has no parameter {name!r} (see README)")

    def configured(self, name: str) -> Any:
        """A value of the server's configuration given to the suite; the case is skipped without it."""
        value = getattr(self.options, name)
        if value is None:
            raise CaseSkipped(f"give --{name.replace('_', '-')} (the server's configuration) to run this case")
        return value

    def require_capability(self, capability: str) -> None:
        if capability not in self.info.capabilities:
            raise CaseSkipped(f"server does not list {capability!r} when offered")

    def slow_parameters(self, seconds: float, steps: int | None = None) -> dict:
        self.parameter("slow", "seconds")
        parameters = {"seconds": float(seconds)}
        if steps is not None and any(slot.get("name") == "steps"
                                     for slot in self.processor("slow").get("parameters", [])):
            parameters["steps"] = steps
        return parameters

    def check_serving(self) -> None:
        """A fresh connection must still handshake and answer a ping [DROP-2]."""
        try:
            peer = self.connect_retrying(time.monotonic() + self.timeout, retry_closed=True)
            peer.call("ping")
            peer.close()
        except CaseFailed as failure:
            raise CaseFailed(f"the server stopped serving new connections [DROP-2]: {failure}") from None


_OMIT = object()
OMIT = _OMIT


# ---------------------------------------------------------------------------------------------
# Running the mode


def probe(target: ServerTarget, options: Options) -> ServerInfo:
    """Handshake offering every capability, then the catalog: what the cases may rely on."""
    context = ServerContext(target, options, None, WireRecorder())
    try:
        peer = context.connect(["progress", "codec.zstd", "codec.lz4"])
        catalog = peer.call("catalog")
        peer.close()
    except (CaseFailed, ImplementationCrashed) as failure:
        raise ImplementationCrashed(f"cannot talk to the server (handshake and catalog): {failure}") from None
    processors = {}
    for description in catalog.get("processors", []) if isinstance(catalog, dict) else []:
        if isinstance(description, dict) and isinstance(description.get("name"), str):
            processors[description["name"]] = description
    return ServerInfo(peer.server_hello, set(peer.in_force), peer.limits, processors)


def run_cases(cases: list[Case], target: ServerTarget, options: Options,
              progress: Callable[[Result], None]) -> list[Result]:
    results = []
    try:
        target.start()
        info = probe(target, options)
    except ImplementationCrashed as crash:
        target.stop()
        return [Result(case, "ERROR", f"{crash}") for case in cases]
    try:
        for case in cases:
            result = run_one(case, target, options, info)
            results.append(result)
            progress(result)
            if result.outcome == "ERROR" and target.command:
                try:
                    target.restart()
                    info = probe(target, options)
                except ImplementationCrashed as crash:
                    for remaining in cases[len(results):]:
                        results.append(Result(remaining, "ERROR", f"server cannot be restarted: {crash}"))
                    break
    finally:
        target.stop()
    return results


def run_one(case: Case, target: ServerTarget, options: Options, info: ServerInfo) -> Result:
    recorder = WireRecorder()
    context = ServerContext(target, options, info, recorder)

    def after_case() -> None:
        crashed = target.died()
        if crashed:
            raise ImplementationCrashed(crashed)
        if case.hostile:
            try:
                context.check_serving()
            except CaseFailed as failure:
                _raise_if_down(context, failure)
                raise
            finally:
                context.close_all()

    def body() -> None:
        try:
            case.run(context)
            context.finish()
        except CaseFailed as failure:
            context.close_all()
            _raise_if_down(context, failure)
            raise
        except (CaseNonStrict, CaseSkipped):
            context.close_all()
            after_case()
            raise
        context.close_all()
        after_case()

    result = execute(case, body)
    result.wire_log = recorder.render()
    return result


def _raise_if_down(context: ServerContext, failure: CaseFailed) -> None:
    """After a failure, tell a wrong answer (FAIL) from a crashed or hung server (ERROR)."""
    crashed = context.target.died()
    if crashed:
        raise ImplementationCrashed(f"{failure}\n{crashed}") from None
    try:
        check = ServerContext(context.target, context.options, context.info, context.recorder)
        check.check_serving()
        check.close_all()
    except (CaseFailed, ImplementationCrashed) as down:
        crashed = context.target.died(wait=2.0)
        raise ImplementationCrashed(f"{failure}\nand the server no longer serves: {crashed or down}") from None


def parse_target(arguments: list[str]) -> tuple[str | None, list[str] | None]:
    if not arguments:
        raise UsageError("server mode needs HOST:PORT or -- COMMAND...")
    if arguments[0] == "--":
        if len(arguments) < 2:
            raise UsageError("server -- needs a command")
        return None, arguments[1:]
    if len(arguments) != 1:
        raise UsageError("server mode takes one HOST:PORT (or -- COMMAND...)")
    try:
        parse_address(arguments[0])
    except ValueError as error:
        raise UsageError(str(error)) from None
    return arguments[0], None
