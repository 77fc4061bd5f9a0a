"""Client mode: the runner plays a server, well-behaved or deliberately misbehaving, and starts the
client under test once per case. A case passes when the client's exit status is the expected one
(0 against a well-behaved server, non-zero against a misbehaving one, within a bounded time) and
everything the client sent conformed to the spec.

The client under test is a "client-check" program: it connects to {addr}, handshakes, pings, gets
the catalog, invokes `echo` with an image and checks it came back identical, invokes `slow` and
cancels it after the first progress expecting `cancelled`, says goodbye, and exits 0 if all went
well, non-zero (message on stderr) if the server misbehaved.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any, Callable

from . import compression, data, wire
from .connection import Connection, PeerClosed, TimedOut, WireRecorder
from .framework import (Case, CaseFailed, CaseSkipped, ImplementationCrashed, Result, execute)
from .process import Child

SERVER_LIMITS = wire.Limits(max_frame=64 << 20, max_head=1 << 20, max_in_flight=16, max_depth=32,
                            cancel_grace=0.5)
ECHO_OUTPUT_SUFFIX = "_out"
SLOW_STEP_SECONDS = 0.05
CATALOG = [
    {"name": "echo", "version": "1.0", "title": "Echo", "category": "Testing",
     "description": "Returns every input it was given, unchanged, as the output of the same type.",
     "inputs": [{"name": kind, "type": kind, "optional": True} for kind in data.DATA_TYPES],
     "outputs": [{"name": kind + ECHO_OUTPUT_SUFFIX, "type": kind, "optional": True}
                 for kind in data.DATA_TYPES],
     "parameters": []},
    {"name": "slow", "version": "1.0", "title": "Slow", "category": "Testing",
     "description": "Waits, reporting progress, until cancelled.", "inputs": [], "outputs": [],
     "parameters": [{"name": "seconds", "type": "float", "minimum": 0.0},
                    {"name": "steps", "type": "int", "default": 10, "minimum": 1}]},
    {"name": "fail", "version": "1.0", "title": "Fail", "category": "Testing",
     "description": "Fails with the processor error code.", "inputs": [], "outputs": [],
     "parameters": [{"name": "code", "type": "int", "default": 1000, "minimum": 1000}]},
]
KNOWN_CAPABILITIES = ("progress", "codec.zstd", "codec.lz4")


class ClientViolation(Exception):
    """The client under test sent something the spec forbids."""


class Session:
    """The server side of one connection from the client under test. Every frame the client sends
    is checked; the behaviour decides what to send back."""

    def __init__(self, conn: Connection, timeout: float) -> None:
        self.conn = conn
        self.timeout = timeout
        self.hello: dict | None = None
        self.in_force: set[str] = set()
        self.client_limits = wire.Limits()
        self.open: dict[int, str] = {}
        self.methods: list[str] = []
        self.cancelled: list[int] = []
        self.said_goodbye = False
        self.triggered = False
        self.skip_reason: str | None = None
        self.timings = True
        self.invoked: list[str] = []
        self.violations: list[str] = []
        self.server_requests: dict[int, str] = {}
        self.server_request_answers: dict[int, dict] = {}

    def violation(self, message: str) -> None:
        self.violations.append(message)
        raise ClientViolation(message)

    # -- receiving, with the checks every client must pass

    def receive(self, timeout: float | None = None) -> dict:
        try:
            frame = self.conn.receive(self.timeout if timeout is None else timeout)
        except wire.WireError as error:
            requirement = {"malformed_frame": "[FRAME-1]", "frame_too_large": "[LIMIT-1]",
                           "unsupported_codec": "[CAP-2]"}.get(error.name, "[FRAME-4]")
            self.violation(f"client sent a frame that breaks the spec: {error} {requirement}")
        if frame.header.flags != 0:
            self.violation(f"client frame with flags {frame.header.flags:#04x} [FRAME-2]")
        head = frame.head
        if not isinstance(head, dict) or not isinstance(head.get("kind"), str):
            self.violation("client head is not a map with a string kind [HEAD-1]")
        kind = head["kind"]
        if self.hello is None:
            if kind != "hello":
                self.violation(f"client's first message is a {kind!r}, not a hello [HELLO-1]")
            self._check_hello(head)
            return head
        if kind == "hello":
            self.violation("client sent a second hello [HELLO-7]")
        elif kind == "request":
            self._check_request(head)
        elif kind == "response":
            self._check_response(head)
        elif kind == "notification":
            if not isinstance(head.get("method"), str):
                self.violation("client notification without a string method (section 5.3)")
            if head["method"] == "cancel":
                params = head.get("params")
                if not isinstance(params, dict) or not wire.is_integer(params.get("id")):
                    self.violation("client cancel without an integer id (section 6.5)")
                self.cancelled.append(params["id"])
        else:
            self.violation(f"client sent a message of unknown kind {kind!r} [VER-4]")
        return head

    def _check_hello(self, hello: dict) -> None:
        def version(value: Any) -> bool:
            return isinstance(value, list) and len(value) == 2 and all(
                wire.is_integer(v) and 0 <= v <= 65535 for v in value)

        if hello.get("protocol") != wire.PROTOCOL_NAME:
            self.violation(f"client hello protocol {hello.get('protocol')!r} [HELLO-5]")
        if not version(hello.get("min_version")) or not version(hello.get("max_version")):
            self.violation("client hello min_version/max_version are not [major, minor] [HELLO-5]")
        if not tuple(hello["min_version"]) <= (1, 0) <= tuple(hello["max_version"]):
            self.violation(f"client does not offer version 1.0 ({hello['min_version']}..{hello['max_version']})")
        capabilities = hello.get("capabilities", [])
        if not isinstance(capabilities, list) or not all(isinstance(c, str) for c in capabilities):
            self.violation("client capabilities are not an array of strings [HELLO-5]")
        limits = hello.get("limits", {})
        if not isinstance(limits, dict):
            self.violation("client limits are not a map [HELLO-5]")
        for key in ("max_frame", "max_head", "max_depth"):
            if key in limits and not (wire.is_integer(limits[key]) and 1 <= limits[key] < 1 << 64):
                self.violation(f"client limit {key} = {limits[key]!r} out of range [LIMIT-4]")
        self.hello = hello
        self.client_limits = wire.Limits.from_map(limits)
        if self.conn.pending():
            self.violation("client sent more frames before receiving the server hello [HELLO-1]")

    def _check_request(self, head: dict) -> None:
        request_id, method = head.get("id"), head.get("method")
        if not wire.is_integer(request_id) or not 0 <= request_id < 1 << 63:
            self.violation(f"client request id {request_id!r} is not in 0..2^63-1 [MSG-1]")
        if not isinstance(method, str):
            self.violation("client request without a string method [MSG-2]")
        if "params" in head and not isinstance(head["params"], dict):
            self.violation("client request params is not a map [MSG-2]")
        if request_id in self.open:
            self.violation(f"client reused id {request_id} while it was open [MSG-1]")
        if self.said_goodbye:
            self.violation(f"client sent {method} after goodbye [BYE-1]")
        self.open[request_id] = method
        self.methods.append(method)
        if method == "invoke" and isinstance(head.get("params"), dict):
            self.invoked.append(str(head["params"].get("processor")))
        if method == "goodbye":
            self.said_goodbye = True

    def _check_response(self, head: dict) -> None:
        request_id = head.get("id")
        if request_id not in self.server_requests:
            self.violation("client sent a response to no request of ours [MSG-3]")
        if ("result" in head) == ("error" in head):
            self.violation("client response must carry exactly one of result and error [MSG-7]")
        self.server_request_answers[request_id] = head

    # -- sending

    def send(self, head: Any, **frame_options: Any) -> None:
        self.conn.send(head, **frame_options)

    def respond(self, request: dict, result: Any = None, error: dict | None = None,
                **frame_options: Any) -> None:
        head: dict = {"kind": "response", "id": request["id"]}
        if error is not None:
            head["error"] = error
        else:
            head["result"] = result
        if self.timings:
            head["timings"] = {"receiving": 0.0001, "queued": 0.0, "computing": 0.001, "sending": 0.0001}
        self.open.pop(request["id"], None)
        self.send(head, **frame_options)

    def progress(self, request: dict, fraction: float) -> None:
        self.send({"kind": "notification", "method": "progress",
                   "params": {"id": request["id"], "fraction": fraction, "message": "working"}})

    def server_hello(self, **changes: Any) -> dict:
        offered = self.hello.get("capabilities", []) or []
        self.in_force = {c for c in KNOWN_CAPABILITIES if c in offered}
        hello = {"kind": "hello", "protocol": wire.PROTOCOL_NAME, "version": [1, 0],
                 "capabilities": sorted(self.in_force) + ["cancel", "x-grease-c1e7"],
                 "limits": SERVER_LIMITS.to_map(),
                 "implementation": {"name": "slicerbridge-conformance", "version": "1.0"}}
        for key, value in changes.items():
            if value is None:
                hello.pop(key, None)
            else:
                hello[key] = value
        capabilities = hello.get("capabilities", [])
        self.in_force = {c for c in KNOWN_CAPABILITIES if c in offered and c in capabilities}
        self.conn.codecs = frozenset(codec for codec, capability in wire.CODEC_CAPABILITIES.items()
                                     if capability in self.in_force)
        return hello

    def client_codec(self) -> str | None:
        """A codec in force on this connection (lz4 first: its encoder really compresses)."""
        for codec in ("lz4", "zstd"):
            if wire.CODEC_CAPABILITIES[codec] in self.in_force:
                return codec
        return None


class Behaviour:
    """A well-behaved server for the client-check flow. Misbehaving servers override one step."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.done = False

    def run(self) -> None:
        session = self.session
        session.receive()
        self.handshake()
        slow_calls: dict[int, dict] = {}
        while not self.done and not session.conn.ended:
            try:
                message = session.receive(self.idle_timeout(slow_calls))
            except TimedOut:
                for request in list(slow_calls.values()):
                    self.slow_finished(request)
                slow_calls.clear()
                continue
            kind = message["kind"]
            if kind == "notification" and message.get("method") == "cancel":
                request = slow_calls.pop(message["params"]["id"], None)
                if request is not None:
                    self.slow_cancelled(request)
            elif kind == "request":
                method = message["method"]
                if method == "invoke" and message.get("params", {}).get("processor") == "slow":
                    slow_calls[message["id"]] = message
                    self.slow_started(message)
                elif method == "goodbye":
                    self.goodbye(message)
                    return
                else:
                    self.dispatch(message)

    def idle_timeout(self, slow_calls: dict) -> float:
        return self.session.timeout if slow_calls else self.session.timeout * 3

    def handshake(self) -> None:
        self.session.send(self.session.server_hello())

    def dispatch(self, request: dict) -> None:
        method = request["method"]
        params = request.get("params", {})
        if method == "ping":
            self.ping(request)
        elif method == "catalog":
            self.catalog(request)
        elif method == "describe":
            found = [d for d in CATALOG if d["name"] == params.get("processor")]
            if found:
                self.session.respond(request, found[0])
            else:
                self.session.respond(request, error={"code": 102, "message": "no such processor"})
        elif method == "invoke" and params.get("processor") == "echo":
            self.echo(request, params.get("inputs", {}))
        elif method == "invoke" and params.get("processor") == "fail":
            self.session.respond(request, error={"code": 1000, "message": "failed as asked"})
        elif method == "invoke":
            self.session.respond(request, error={"code": 102, "message": "no such processor"})
        else:
            self.session.respond(request, error={"code": 7, "message": "unknown method"})

    def ping(self, request: dict) -> None:
        self.session.respond(request, {})

    def catalog(self, request: dict) -> None:
        self.session.respond(request, {"processors": CATALOG})

    def echo_outputs(self, inputs: dict) -> dict:
        return {name + ECHO_OUTPUT_SUFFIX: value for name, value in inputs.items()}

    def echo(self, request: dict, inputs: dict) -> None:
        self.session.respond(request, {"outputs": self.echo_outputs(inputs)})

    def slow_started(self, request: dict) -> None:
        if "progress" in self.session.in_force:
            self.session.progress(request, 0.01)

    def slow_cancelled(self, request: dict) -> None:
        self.session.respond(request, error={"code": 100, "message": "cancelled"})

    def slow_finished(self, request: dict) -> None:
        self.session.respond(request, {"outputs": {}})

    def goodbye(self, request: dict) -> None:
        """Answers goodbye and ends the stream, then reads what the client still sends: a
        request after goodbye breaks [BYE-1] (the receive checks raise it)."""
        self.session.respond(request, {})
        self.session.conn.shutdown_write()
        try:
            while True:
                self.session.receive()
        except (PeerClosed, TimedOut):
            pass


# ---------------------------------------------------------------------------------------------
# Case definitions

CASES: list[Case] = []


def client_case(case_id: str, requirements: str, expect: str, description: str,
                level: str = "MUST") -> Callable:
    """`expect` is "zero", "nonzero" (the misbehaviour must have been delivered first) or "any"
    (the wire exchange decides)."""
    def register(behaviour: type) -> type:
        CASES.append(Case(case_id, tuple(requirements.split()), level, description, None,
                          data={"behaviour": behaviour, "expect": expect}))
        return behaviour
    return register


@client_case("client.well-behaved", "HELLO-1 MSG-1 MSG-4 PROG-1 CANCEL-2 BYE-1", "zero",
             "A conforming server: the client completes ping, catalog, echo (identical image), "
             "slow cancelled after its first progress, goodbye, and exits 0.")
class WellBehaved(Behaviour):
    def goodbye(self, request: dict) -> None:
        missing = [method for method in ("ping", "catalog", "goodbye") if method not in self.session.methods]
        missing += [f"invoke {name}" for name in ("echo", "slow") if name not in self.session.invoked]
        if missing:
            self.session.violations.append(f"client-check skipped steps: {missing}")
        if not self.session.cancelled:
            self.session.violations.append("client-check never cancelled slow")
        super().goodbye(request)


@client_case("client.extensions", "HEAD-2 HEAD-3 CAP-1 CAP-5 MSG-9 TIME-2", "zero",
             "A server using every freedom of the spec: x- and unknown keys everywhere, grease and "
             "unknown capabilities, unknown limit keys and timing keys, non-minimal encodings, "
             "unknown notifications. The client ignores them and exits 0.")
class Extensions(Behaviour):
    def handshake(self) -> None:
        hello = self.session.server_hello()
        hello["capabilities"] = hello["capabilities"] + ["future.capability", "x-vendor-thing"]
        hello["limits"] = dict(hello["limits"], **{"max_future": 9, "x-limit": 1})
        hello["x-vendor"] = {"build": [1, 2.5, None]}
        hello["future_key"] = True
        self.session.send(wire.Map32(tuple(
            (wire.Str(key, "str16"), wire.Str(value, "str32") if isinstance(value, str) else value)
            for key, value in hello.items())))
        self.unknown_notification()

    def unknown_notification(self) -> None:
        self.session.send({"kind": "notification", "method": "x-server-news", "params": {"n": 1}})
        self.session.send({"kind": "notification", "method": "future.method"})

    def ping(self, request: dict) -> None:
        self.unknown_notification()
        self.session.send(wire.Map32((
            ("kind", wire.Str("response", "str32")), ("id", wire.Int(request["id"], "uint64")),
            ("result", wire.Map32(())), ("x-trace", "abc"),
            ("timings", {"receiving": wire.Float32(0.5), "queued": 0, "computing": 0.25,
                         "sending": 0.0, "x-gpu": 0.125}))))
        self.session.open.pop(request["id"], None)

    def catalog(self, request: dict) -> None:
        processors = [dict(d, **{"x-icon": "gear", "future_field": [1]}) for d in CATALOG]
        self.session.respond(request, {"processors": processors, "x-total": len(processors)})


@client_case("client.minimal-server", "CAT-6 TIME-1 CAP-3", "zero",
             "A server sending little beyond what is required: capabilities only cancel (so no "
             "progress), no limits, no timings, catalog descriptions with only name, inputs, "
             "outputs and parameters and slots with only name and type. The client exits 0.")
class MinimalServer(Behaviour):
    def handshake(self) -> None:
        self.session.timings = False
        self.session.send(self.session.server_hello(capabilities=["cancel"], limits=None, implementation=None))

    def catalog(self, request: dict) -> None:
        processors = [{"name": d["name"],
                       **{section: [{"name": s["name"], "type": s["type"]} for s in d[section]]
                          for section in ("inputs", "outputs", "parameters")}} for d in CATALOG]
        self.session.respond(request, {"processors": processors})


@client_case("client.bulk-layout", "BULK-2 BULK-3", "zero",
             "The echo response places its segment at an unaligned offset after padding bytes, "
             "with uncovered bytes at the end. The client exits 0.")
class BulkLayout(Behaviour):
    def echo(self, request: dict, inputs: dict) -> None:
        outputs = {}
        for name, value in self.echo_outputs(inputs).items():
            outputs[name] = _with_bulk(value, lambda bulk: wire.Bulk(bulk.data, place_at=13))
        self.session.respond(request, {"outputs": outputs}, trailing_bulk=b"\xa5" * 21, align=1)


@client_case("client.big-endian-echo", "ARRAY-2", "zero",
             "The echo response carries the image in big-endian byte order (same values). The "
             "client reads the values correctly and exits 0.")
class BigEndianEcho(Behaviour):
    def echo(self, request: dict, inputs: dict) -> None:
        outputs = {}
        for name, value in self.echo_outputs(inputs).items():
            if isinstance(value, dict) and value.get("type") == "image" and \
                    data.numpy_dtype(value["dtype"]).itemsize > 1:
                self.session.triggered = True
                _, _, values = data.array_values(value, name)
                value = dict(value, **data.typed_array(values, value["dtype"], value.get("components", 1), "big"))
            outputs[name] = value
        if not self.session.triggered:
            self.session.skip_reason = "the client's echo image has a 1-byte dtype"
        self.session.respond(request, {"outputs": outputs})


@client_case("client.compressed-echo", "CODEC-1 CODEC-2 BULK-5", "zero",
             "With a codec in force, the echo response's segments are compressed. The client "
             "decompresses them and exits 0 (SKIPPED when the client offers no codec).")
class CompressedEcho(Behaviour):
    def echo(self, request: dict, inputs: dict) -> None:
        codec = self.session.client_codec()
        if codec is None:
            self.session.skip_reason = "the client offers no codec"
        outputs = {name: _with_bulk(value, lambda bulk: wire.Bulk(bulk.data, codec=codec))
                   for name, value in self.echo_outputs(inputs).items()}
        self.session.respond(request, {"outputs": outputs})


class _Misbehaving(Behaviour):
    """Marks the point where the misbehaviour is delivered: a client that fails before it proves
    nothing."""

    def deliver(self, send: Callable[[], None]) -> None:
        self.session.triggered = True
        send()


def _raw_on_ping(case_id: str, requirements: str, description: str, raw: Callable[[dict], bytes],
                 close: bool = False) -> None:
    class RawOnPing(_Misbehaving):
        def ping(self, request: dict) -> None:
            self.deliver(lambda: self.session.conn.send_bytes(raw(request), "misbehaviour"))
            if close:
                self.session.conn.close()
                self.done = True
    RawOnPing.__name__ = "RawOnPing_" + case_id.replace(".", "_").replace("-", "_")
    client_case(case_id, requirements, "nonzero", description)(RawOnPing)


def _response_frame(request: dict, **fields: Any) -> bytes:
    return wire.encode_frame(dict({"kind": "response", "id": request["id"]}, **fields))


def _raw_result_frame(request: dict, result: bytes) -> bytes:
    """A response whose result is the given raw MessagePack bytes."""
    head = (b"\x83" + wire.pack("kind") + wire.pack("response") + wire.pack("id")
            + wire.pack(request["id"]) + wire.pack("result") + result)
    return wire.encode_frame(wire.Raw(head))


_raw_on_ping("client.garbage-frame", "FRAME-1 FRAME-7",
             "ping is answered with bytes that are not a frame (bad magic). The client exits non-zero.",
             lambda request: b"HTTP/1.1 400 Bad Request\r\n\r\n" + bytes(range(64)))
_raw_on_ping("client.wrong-format", "FRAME-1 VER-3",
             "ping is answered with a frame of format 2. The client exits non-zero.",
             lambda request: wire.encode_frame({"kind": "response", "id": request["id"], "result": {}}, fmt=2))
_raw_on_ping("client.oversized-head", "FRAME-3 LIMIT-1",
             "ping is answered with a header announcing a head of 2^32-1 bytes, and nothing more. "
             "The client refuses it from the header and exits non-zero without waiting.",
             lambda request: wire.frame_header((1 << 32) - 1, 0))
_raw_on_ping("client.oversized-bulk", "FRAME-3 FRAME-9",
             "ping is answered with a header announcing a bulk of 2^64-1 bytes. The client exits "
             "non-zero without waiting or allocating.",
             lambda request: wire.frame_header(20, (1 << 64) - 1))
_raw_on_ping("client.invalid-msgpack", "MSG-11 FRAME-4",
             "ping is answered with a head of the byte 0xc1. The client exits non-zero.",
             lambda request: wire.encode_frame(wire.Raw(b"\xc1")))
_raw_on_ping("client.head-not-map", "HEAD-1",
             "ping is answered with a head that is an array. The client exits non-zero.",
             lambda request: wire.encode_frame(["response", request["id"], {}]))
_raw_on_ping("client.both-result-and-error", "MSG-7 MSG-15",
             "ping is answered with a response carrying both result and error. The client exits non-zero.",
             lambda request: _response_frame(request, result={}, error={"code": 105, "message": "x"}))
_raw_on_ping("client.response-without-id", "MSG-14",
             "ping is answered with a response lacking the id key. The client exits non-zero.",
             lambda request: wire.encode_frame({"kind": "response", "result": {}}))
_raw_on_ping("client.duplicate-response", "MSG-4",
             "ping is answered twice. The client exits non-zero.",
             lambda request: _response_frame(request, result={}) * 2)
_raw_on_ping("client.response-unknown-id", "MSG-8",
             "Before answering ping, the server sends a response for an id the client never used. "
             "The client exits non-zero (it reports the stray response).",
             lambda request: _response_frame({"id": request["id"] + 1000003}, result={})
             + _response_frame(request, result={}))
_raw_on_ping("client.progress-unknown-id", "PROG-3",
             "Before answering ping, the server sends progress for an id that is not an open "
             "invoke. The client exits non-zero.",
             lambda request: wire.encode_frame({"kind": "notification", "method": "progress",
                                                "params": {"id": request["id"] + 1000003, "fraction": 0.5}})
             + _response_frame(request, result={}))
_raw_on_ping("client.malformed-progress", "MSG-16",
             "Before answering ping, the server sends a progress notification whose fraction is a "
             "string. The client reports it and exits non-zero.",
             lambda request: wire.encode_frame({"kind": "notification", "method": "progress",
                                                "params": {"id": request["id"], "fraction": "half"}})
             + _response_frame(request, result={}))
_raw_on_ping("client.nesting-bomb", "HEAD-5 SEC-4",
             "ping is answered with a head nested 100,000 arrays deep. The client exits non-zero "
             "without exhausting its stack.",
             lambda request: _raw_result_frame(request, b"\x81\xa1x" + b"\x91" * 100000 + b"\xc0"))
_raw_on_ping("client.declared-length-bomb", "HEAD-8 SEC-4",
             "ping is answered with a head holding an array 32 that declares 2^32-1 elements. The "
             "client exits non-zero without allocating for them.",
             lambda request: _raw_result_frame(request, b"\x81\xa1x\xdd\xff\xff\xff\xff\x00"))
_raw_on_ping("client.close-after-ping", "MSG-4",
             "The server closes the connection instead of answering ping. The client exits non-zero.",
             lambda request: b"", close=True)


@client_case("client.wrong-version", "HELLO-6", "nonzero",
             "The server hello chooses version 7.3, outside the client's range. The client closes "
             "and exits non-zero.")
class WrongVersion(_Misbehaving):
    def handshake(self) -> None:
        self.deliver(lambda: self.session.send(self.session.server_hello(version=[7, 3])))


@client_case("client.unsupported-version", "HELLO-3", "nonzero",
             "The server answers the hello with a connection-level unsupported_version and closes. "
             "The client exits non-zero.")
class UnsupportedVersion(_Misbehaving):
    def handshake(self) -> None:
        self.deliver(lambda: self.session.send(
            {"kind": "response", "id": None, "error": {"code": 5, "message": "no common version",
                                                       "details": {"min_version": [2, 0], "max_version": [2, 1]}}}))
        self.session.conn.close()
        self.done = True


@client_case("client.unauthorized", "SEC-3", "nonzero",
             "The server answers the hello with a connection-level unauthorized and closes. The "
             "client exits non-zero.")
class Unauthorized(_Misbehaving):
    def handshake(self) -> None:
        self.deliver(lambda: self.session.send(
            {"kind": "response", "id": None, "error": {"code": 10, "message": "unauthorized"}}))
        self.session.conn.close()
        self.done = True


@client_case("client.not-hello-first", "HELLO-2", "nonzero",
             "The server's first message is a response, not a hello. The client closes and exits non-zero.")
class NotHelloFirst(_Misbehaving):
    def handshake(self) -> None:
        self.deliver(lambda: self.session.send({"kind": "response", "id": 1, "result": {}}))


@client_case("client.hello-limit-out-of-range", "LIMIT-4 HELLO-5", "nonzero",
             "The server hello announces max_depth 0. The client treats the hello as invalid and "
             "exits non-zero.")
class HelloLimitOutOfRange(_Misbehaving):
    def handshake(self) -> None:
        hello = self.session.server_hello()
        hello["limits"] = dict(hello["limits"], max_depth=0)
        self.deliver(lambda: self.session.send(hello))


@client_case("client.silent-server", "HELLO-1", "nonzero",
             "The server accepts the connection but never sends its hello. The client gives up "
             "within a bounded time and exits non-zero.")
class SilentServer(_Misbehaving):
    def handshake(self) -> None:
        self.session.triggered = True
        self._wait_for_close()

    def _wait_for_close(self) -> None:
        try:
            while True:
                self.session.receive(self.session.timeout * 4)
        except (PeerClosed, TimedOut):
            pass


@client_case("client.never-answers", "MSG-4", "nonzero",
             "After the handshake the server never answers ping. The client gives up within a "
             "bounded time and exits non-zero.")
class NeverAnswers(SilentServer):
    def handshake(self) -> None:
        Behaviour.handshake(self)

    def ping(self, request: dict) -> None:
        self.session.triggered = True
        self._wait_for_close()
        self.done = True


@client_case("client.progress-backwards", "PROG-1", "nonzero",
             "slow reports progress 0.6 then 0.3. The client detects the decrease and exits non-zero.")
class ProgressBackwards(_Misbehaving):
    def slow_started(self, request: dict) -> None:
        if "progress" not in self.session.in_force:
            self.session.skip_reason = "the client does not offer progress"
            return
        self.deliver(lambda: (self.session.progress(request, 0.6), self.session.progress(request, 0.3)))


@client_case("client.progress-after-response", "PROG-2", "nonzero",
             "After answering the cancelled slow call, the server sends progress for it. The client "
             "detects it and exits non-zero.")
class ProgressAfterResponse(_Misbehaving):
    def slow_cancelled(self, request: dict) -> None:
        super().slow_cancelled(request)
        if "progress" not in self.session.in_force:
            self.session.skip_reason = "the client does not offer progress"
            return
        self.deliver(lambda: self.session.progress(request, 0.9))


@client_case("client.cancel-never-answered", "CANCEL-2 CANCEL-3", "nonzero",
             "The server (cancel_grace 0.5 s) never answers the cancelled slow call. The client "
             "gives up within a bounded time and exits non-zero.")
class CancelNeverAnswered(_Misbehaving):
    def slow_cancelled(self, request: dict) -> None:
        self.session.triggered = True

    def slow_finished(self, request: dict) -> None:
        pass


@client_case("client.echo-corrupted", "IMG-5", "nonzero",
             "echo returns the image with one voxel byte changed. The client exits non-zero.")
class EchoCorrupted(_Misbehaving):
    def echo(self, request: dict, inputs: dict) -> None:
        def corrupt(bulk: wire.BulkData) -> wire.Bulk:
            changed = bytearray(bulk.data)
            if changed:
                changed[len(changed) // 2] ^= 0x10
                self.session.triggered = True
            return wire.Bulk(bytes(changed))
        outputs = {name: _with_bulk(value, corrupt) for name, value in self.echo_outputs(inputs).items()}
        self.session.respond(request, {"outputs": outputs})


@client_case("client.echo-geometry-altered", "IMG-5 IMG-2", "nonzero",
             "echo returns the image with its origin moved by 1 mm. The client exits non-zero.")
class EchoGeometryAltered(_Misbehaving):
    def echo(self, request: dict, inputs: dict) -> None:
        outputs = {}
        for name, value in self.echo_outputs(inputs).items():
            if isinstance(value, dict) and isinstance(value.get("ijk_to_space"), list):
                matrix = list(value["ijk_to_space"])
                matrix[3] = float(matrix[3]) + 1.0
                value = dict(value, ijk_to_space=matrix)
                self.session.triggered = True
            outputs[name] = value
        self.session.respond(request, {"outputs": outputs})


@client_case("client.bad-bulk-ref", "BULK-1", "nonzero",
             "echo's response references bulk bytes past bulk_length. The client exits non-zero.")
class BadBulkRef(_Misbehaving):
    def echo(self, request: dict, inputs: dict) -> None:
        def beyond(bulk: wire.BulkData) -> wire.Bulk:
            self.session.triggered = True
            return wire.Bulk(bulk.data, ref_length=len(bulk.data) + 4096)
        outputs = {name: _with_bulk(value, beyond) for name, value in self.echo_outputs(inputs).items()}
        self.session.respond(request, {"outputs": outputs})


@client_case("client.codec-not-in-force", "CAP-2 BULK-5 CODEC-5", "nonzero",
             "echo's response is lz4-compressed although the server hello lists no codec. The "
             "client refuses it (unsupported_codec) and exits non-zero.")
class CodecNotInForce(_Misbehaving):
    def handshake(self) -> None:
        hello = self.session.server_hello()
        hello["capabilities"] = [c for c in hello["capabilities"] if not c.startswith("codec.")]
        self.session.in_force = {c for c in self.session.in_force if not c.startswith("codec.")}
        self.session.conn.codecs = frozenset()
        self.session.send(hello)

    def echo(self, request: dict, inputs: dict) -> None:
        def compressed(bulk: wire.BulkData) -> wire.Bulk:
            self.session.triggered = True
            return wire.Bulk(bulk.data, codec="lz4")
        outputs = {name: _with_bulk(value, compressed) for name, value in self.echo_outputs(inputs).items()}
        self.session.respond(request, {"outputs": outputs})


@client_case("client.unoffered-codec-listed", "CAP-5 CAP-2", "nonzero",
             "The server hello lists a codec the client did not offer and compresses echo's "
             "response with it. The client does not consider it in force and exits non-zero "
             "(SKIPPED when the client offers every codec).")
class UnofferedCodecListed(_Misbehaving):
    def handshake(self) -> None:
        offered = self.session.hello.get("capabilities", []) or []
        self.codec = next((c for c in ("lz4", "zstd") if wire.CODEC_CAPABILITIES[c] not in offered), None)
        hello = self.session.server_hello()
        if self.codec is None:
            self.session.skip_reason = "the client offers every codec"
        else:
            hello["capabilities"] = hello["capabilities"] + [wire.CODEC_CAPABILITIES[self.codec]]
        self.session.send(hello)

    def echo(self, request: dict, inputs: dict) -> None:
        if self.codec is None:
            return super().echo(request, inputs)

        def compressed(bulk: wire.BulkData) -> wire.Bulk:
            self.session.triggered = True
            return wire.Bulk(bulk.data, codec=self.codec)
        outputs = {name: _with_bulk(value, compressed) for name, value in self.echo_outputs(inputs).items()}
        self.session.respond(request, {"outputs": outputs})


@client_case("client.decompression-bomb", "BULK-6 SEC-4", "nonzero",
             "With zstd in force, echo's response holds a 30-byte zstd segment claiming a "
             "raw_length of 2^40. The client refuses it without decompressing and exits non-zero "
             "(SKIPPED when the client does not offer zstd).")
class DecompressionBomb(_Misbehaving):
    def echo(self, request: dict, inputs: dict) -> None:
        if "codec.zstd" not in self.session.in_force:
            self.session.skip_reason = "the client does not offer codec.zstd"
            return super().echo(request, inputs)
        bomb = compression.zstd_rle_bomb(0, 1 << 30)

        def explode(bulk: wire.BulkData) -> wire.Bulk:
            self.session.triggered = True
            return wire.Bulk(bulk.data, codec="zstd", payload=bomb, ref_raw_length=1 << 40)
        outputs = {name: _with_bulk(value, explode) for name, value in self.echo_outputs(inputs).items()}
        self.session.respond(request, {"outputs": outputs})


@client_case("client.drop-mid-payload", "FRAME-8", "nonzero",
             "The server sends half of echo's response frame, then closes. The client exits non-zero.")
class DropMidPayload(_Misbehaving):
    def echo(self, request: dict, inputs: dict) -> None:
        frame = wire.encode_frame({"kind": "response", "id": request["id"],
                                   "result": {"outputs": self.echo_outputs(inputs)}})
        self.deliver(lambda: self.session.conn.send_bytes(frame[:len(frame) - max(1, (len(frame) - 16) // 2)],
                                                          "half a frame"))
        self.session.conn.close()
        self.done = True


@client_case("client.invalid-data-in-response", "DATA-4 MSG-15 IMG-3", "nonzero",
             "echo returns the image with one voxel byte missing (data shorter than dims say). The "
             "client completes the call with invalid_message and exits non-zero.")
class InvalidDataInResponse(_Misbehaving):
    def echo(self, request: dict, inputs: dict) -> None:
        def shorten(bulk: wire.BulkData) -> wire.Bulk:
            self.session.triggered = True
            return wire.Bulk(bulk.data[:-1])
        outputs = {name: _with_bulk(value, shorten) for name, value in self.echo_outputs(inputs).items()}
        self.session.respond(request, {"outputs": outputs})


@client_case("client.error-unknown-code", "ERR-2", "nonzero",
             "echo fails with the unknown protocol-defined code 777. The client handles it as a "
             "generic call failure and exits non-zero (not by crashing).")
class ErrorUnknownCode(_Misbehaving):
    def echo(self, request: dict, inputs: dict) -> None:
        self.deliver(lambda: self.session.respond(request, error={"code": 777, "message": "new in 1.9"}))


@client_case("client.request-from-server", "MSG-3", "any",
             "Before answering ping, the server sends the client a request. The client answers it "
             "with method_not_found (its exit status is not judged).")
class RequestFromServer(_Misbehaving):
    def ping(self, request: dict) -> None:
        self.session.server_requests[900001] = "x-callback"
        self.deliver(lambda: self.session.send({"kind": "request", "id": 900001, "method": "x-callback"}))
        deadline = time.monotonic() + self.session.timeout
        while 900001 not in self.session.server_request_answers and time.monotonic() < deadline:
            try:
                message = self.session.receive(max(0.0, deadline - time.monotonic()))
            except (TimedOut, PeerClosed):
                break
            if message.get("kind") == "request":
                self.dispatch(message)
        answer = self.session.server_request_answers.get(900001)
        if answer is None:
            self.session.violations.append("the client did not answer the server's request [MSG-3]")
        elif wire.error_name((answer.get("error") or {}).get("code")) != "method_not_found":
            self.session.violations.append(
                f"the client answered the server's request with {wire.describe_value(answer)}, "
                "not method_not_found [MSG-3]")
        super().ping(request)


def _with_bulk(value: Any, replace: Callable[[wire.BulkData], Any]) -> Any:
    if isinstance(value, dict):
        return {key: _with_bulk(item, replace) for key, item in value.items()}
    if isinstance(value, list):
        return [_with_bulk(item, replace) for item in value]
    if isinstance(value, wire.BulkData):
        return replace(value)
    return value


# ---------------------------------------------------------------------------------------------
# Running the mode


class ScriptedServer:
    """One listening socket on 127.0.0.1 for the whole run; one accepted connection per case."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.address = "127.0.0.1:%d" % self.listener.getsockname()[1]

    def accept(self, timeout: float, still_waiting: Callable[[], bool]) -> socket.socket | None:
        """The client's connection, or None once it has exited without one queued. A client
        that connected and then died at once still counts as connected: its connection waits
        in the listen queue, so it is taken whether or not the client is still running."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            waiting = still_waiting()  # asked before accepting: a connection it made is queued
            self.listener.settimeout(0.1 if waiting else 0.0)
            try:
                sock, _ = self.listener.accept()
            except (socket.timeout, BlockingIOError):
                if waiting:
                    continue
                return None
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return sock
        return None

    def close(self) -> None:
        self.listener.close()


def run_cases(cases: list[Case], command: list[str], timeout: float,
              progress: Callable[[Result], None]) -> list[Result]:
    server = ScriptedServer()
    results = []
    try:
        for case in cases:
            result = run_one(case, server, command, timeout)
            results.append(result)
            progress(result)
    finally:
        server.close()
    return results


def run_one(case: Case, server: ScriptedServer, command: list[str], timeout: float) -> Result:
    recorder = WireRecorder()
    expect = case.data["expect"]
    state: dict[str, Any] = {}

    def body() -> None:
        argv = [argument.replace("{addr}", server.address) for argument in command]
        child = Child(argv)
        client_limit = timeout * 3

        def serve() -> None:
            sock = server.accept(client_limit, child.running)
            if sock is None:
                return
            conn = Connection(sock, recorder=recorder, label="client", limits=SERVER_LIMITS)
            session = Session(conn, timeout)
            state["session"] = session
            try:
                case.data["behaviour"](session).run()
            except (ClientViolation, PeerClosed, TimedOut):
                pass
            except (OSError, ValueError) as error:
                state["error"] = f"scripted server stopped: {error}"
            finally:
                conn.close()

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        status = child.wait(client_limit)
        if status is None:
            child.stop()
            thread.join(timeout)
            raise ImplementationCrashed(
                f"the client did not exit within {client_limit:g}s (hung); stderr:\n{child.stderr.text()}")
        thread.join(timeout)
        child.stop()
        session: Session | None = state.get("session")
        stderr = child.stderr.text()
        if session is None:
            raise CaseFailed(f"the client {child.describe_exit()} without connecting; stderr:\n{stderr}")
        if session.violations:
            raise CaseFailed("\n".join(session.violations) + f"\nclient stderr:\n{stderr}")
        if session.skip_reason and not session.triggered:
            raise CaseSkipped(session.skip_reason)
        if status < 0:
            raise ImplementationCrashed(f"the client {child.describe_exit()}; stderr:\n{stderr}")
        if expect == "zero" and status != 0:
            raise CaseFailed(f"the client exited with status {status} against a conforming server; "
                             f"stderr:\n{stderr}")
        if expect == "nonzero":
            if not session.triggered:
                raise CaseFailed(f"the client exited with status {status} before the server "
                                 f"misbehaved (it must get that far); stderr:\n{stderr}")
            if status == 0:
                raise CaseFailed("the client exited 0 although the server misbehaved: it must "
                                 "detect and report this")
        if "error" in state:
            raise CaseFailed(state["error"])

    result = execute(case, body)
    result.wire_log = recorder.render()
    return result
