"""The server cases: each checks the server under test against the requirements it names."""

from __future__ import annotations

import math
import struct
import time
from typing import Any, Callable

from . import compression, data, wire
from .framework import Case, CaseFailed, CaseNonStrict, CaseSkipped
from .connection import PeerClosed, TimedOut
from .server_mode import OMIT, HandshakeRefused, Peer, ServerContext, expect_code, is_version

CASES: list[Case] = []


def case(case_id: str, requirements: str, description: str, level: str = "MUST",
         hostile: bool = False) -> Callable:
    def register(function: Callable[[ServerContext], None]) -> Callable:
        CASES.append(Case(case_id, tuple(requirements.split()), level, description, function, hostile))
        return function
    return register


# ---------------------------------------------------------------------------------------------
# Helpers shared by the cases


def expect_fatal(peer: Peer, expected: str, what: str) -> None:
    """A fatal error: the server SHOULD send a connection-level `expected` error and MUST close."""
    errors = []
    while True:
        try:
            message = peer.receive()
        except PeerClosed:
            break
        except TimedOut:
            raise CaseFailed(f"{what}: the server did not close the connection [FRAME-7]") from None
        if message.get("kind") == "response" and "error" in message:
            errors.append(message)
            if message.get("id") is not None:
                raise CaseFailed(f"{what}: error sent under id {message['id']}, not at connection level (section 5.4)")
            expect_code(message["error"], (expected,), what)
        else:
            raise CaseFailed(f"{what}: server answered with {message.get('kind')} instead of closing")
    if not errors:
        raise CaseNonStrict(f"{what}: server closed without the connection-level {expected} error it SHOULD send [FRAME-7]")


def expect_fatal_error(peer: Peer, expected: str, what: str) -> None:
    """A connection-level `expected` error (MUST), then the server closes (MUST) [HELLO-9]."""
    try:
        message = peer.wait_for(lambda m: True, f"connection-level {expected} error")
    except CaseFailed as failure:
        raise CaseFailed(f"{what}: {failure}") from None
    if message.get("kind") != "response" or message.get("id") is not None or "error" not in message:
        raise CaseFailed(f"{what}: answered {wire.describe_value(message)}, not a connection-level error")
    expect_code(message["error"], (expected,), what)
    peer.expect_closed(what=f"after the {expected} error [HELLO-9]")


def expect_refused_hello(context: ServerContext, hello: dict, expected: str, what: str,
                         timeout: float | None = None) -> dict:
    """A hello the server must answer with a connection-level error, then close."""
    peer = context.peer(offered=hello.get("capabilities") if isinstance(hello.get("capabilities"), list) else [])
    try:
        peer.handshake(hello, timeout)
    except HandshakeRefused as refused:
        expect_code(refused.error, (expected,), what)
        peer.expect_closed(what=f"after the {expected} error")
        return refused.error
    raise CaseFailed(f"{what}: the server accepted the hello instead of answering {expected}")


def rejected(peer: Peer, expected: tuple[str, ...], request_id: int | None = None,
             what: str = "malformed message", under_id: bool = False) -> dict:
    """The error answering a malformed message: at connection level, or under `request_id`
    (only there when `under_id`)."""
    message = peer.wait_for(
        lambda m: m.get("kind") == "response" and (m.get("id") is None or m.get("id") == request_id),
        f"error answering the {what}")
    if "error" not in message:
        raise CaseFailed(f"the server accepted the {what} and answered with a result")
    if under_id and message.get("id") is None:
        raise CaseFailed(f"the {what} was answered at connection level, not under its id "
                         f"{request_id}, which stays open [BULK-9] [MSG-17]")
    if message.get("id") is None and request_id is not None and request_id in peer.open:
        peer.open.pop(request_id)
        peer.answered.add(request_id)
    return expect_code(message["error"], expected, what)


def still_open(peer: Peer, what: str) -> None:
    """The connection must stay open and nothing unasked may have been answered."""
    extra = peer.sync()
    if extra:
        raise CaseFailed(f"after the {what}, unexpected responses: {[wire.describe_value(m) for m in extra]}")


def echo_slots(context: ServerContext, data_type: str) -> tuple[str, str]:
    description = context.processor("echo")
    source = data.find_slot(description, "inputs", data_type)
    target = data.find_slot(description, "outputs", data_type)
    if source is None or target is None:
        raise CaseSkipped(f"echo has no {data_type} input and output")
    return source["name"], target["name"]


def check_outputs(context: ServerContext, processor: str, result: Any) -> dict:
    """`{outputs: {...}}` holding every non-optional output of its declared type [INV-4]."""
    if not isinstance(result, dict) or not isinstance(result.get("outputs"), dict):
        raise CaseFailed(f"{processor} result has no outputs map (section 6)")
    outputs = result["outputs"]
    for slot in data.slots(context.processor(processor), "outputs"):
        name = slot.get("name")
        if name not in outputs:
            if not slot.get("optional", False):
                raise CaseFailed(f"{processor} result lacks its non-optional output {name!r} [INV-4]")
            continue
        problem = data.check_data_type(outputs[name], slot.get("type"))
        if problem:
            raise CaseFailed(f"{processor} output {name!r}: {problem} [INV-4]")
    return outputs


def echo(context: ServerContext, values: list[dict], peer: Peer | None = None,
         **frame_options: Any) -> None:
    """Sends `values` through echo and checks each comes back exactly [IMG-5]."""
    peer = peer or context.connect()
    names = {}
    inputs = {}
    for value in values:
        source, target = echo_slots(context, value["type"])
        inputs[source] = value
        names[source] = target
    result = peer.result(peer.invoke("echo", inputs, **frame_options))
    outputs = check_outputs(context, "echo", result)
    for source, value in inputs.items():
        target = names[source]
        if target not in outputs:
            raise CaseFailed(f"echo did not return input {source!r} as output {target!r}")
        try:
            data.compare_data(value, outputs[target], f"output {target}")
        except data.Mismatch as mismatch:
            raise CaseFailed(f"echo altered the data: {mismatch} [IMG-5]") from None


def invalid_argument(context: ServerContext, inputs: dict | None, parameters: dict | None,
                     processor: str, name: str | None, what: str) -> dict:
    """An invoke that must fail with invalid_argument naming `name` [INV-2]."""
    peer = context.connect()
    request_id = peer.invoke(processor, inputs, parameters)
    error = peer.error(request_id, "invalid_argument")
    if name is not None:
        details = error.get("details")
        if not isinstance(details, dict) or details.get("name") != name:
            raise CaseFailed(f"{what}: invalid_argument details {details!r} do not carry name {name!r} [INV-2]")
    still_open(peer, what)
    return error


def image_input(context: ServerContext, **changes: Any) -> tuple[dict, str]:
    source, _ = echo_slots(context, "image")
    image = data.make_image("int16", (4, 3, 2))
    for key, value in changes.items():
        if value is OMIT:
            image.pop(key, None)
        else:
            image[key] = value
    return {source: image}, source


def slow_call(peer: Peer, context: ServerContext, seconds: float, steps: int | None = None,
              **options: Any) -> int:
    return peer.invoke("slow", parameters=context.slow_parameters(seconds, steps), **options)


def settle(peer: Peer, request_id: int, context: ServerContext) -> dict:
    """Cancels a long call when the server honours cancel, then waits for its one response."""
    if "cancel" in peer.in_force:
        peer.cancel(request_id)
    grace = peer.limits.cancel_grace
    return peer.response(request_id, timeout=grace + context.timeout)


def long_seconds(peer: Peer) -> float:
    """A duration for calls that must still run while the case works: long when the server
    honours cancel (the case cancels them), short otherwise (the case waits for them)."""
    return 30.0 if "cancel" in peer.in_force else 1.5


def nested(depth: int) -> Any:
    """A value of nesting depth `depth` (arrays; a scalar at the bottom)."""
    value: Any = 0
    for _ in range(depth):
        value = [value]
    return value


def request_frame(request_id: Any, method: Any = "ping", **extra: Any) -> dict:
    head = {"kind": "request", "id": request_id, "method": method}
    head.update(extra)
    return head


# ---------------------------------------------------------------------------------------------
# Handshake (section 4)


@case("handshake.server-hello", "HELLO-1 CAP-4 LIMIT-4",
      "The server answers a client hello with one well-formed hello: protocol, version, "
      "capabilities and limits of the right types.")
def _server_hello(context: ServerContext) -> None:
    peer = context.connect()
    hello = peer.server_hello
    for key in ("protocol", "version"):
        if key not in hello:
            raise CaseFailed(f"server hello lacks required key {key!r} (section 4.1)")
    peer.call("ping")


@case("handshake.version-negotiation", "HELLO-3 VER-1",
      "The server chooses the highest version both ranges contain, for several client ranges.")
def _version_negotiation(context: ServerContext) -> None:
    def chosen(low: list[int], high: list[int]) -> tuple:
        peer = context.connect(min_version=low, max_version=high)
        version = tuple(peer.server_hello["version"])
        peer.close()
        return version

    exact = chosen([1, 0], [1, 0])
    if exact != (1, 0):
        raise CaseFailed(f"offered exactly 1.0, server chose {exact} [HELLO-3]")
    newest = chosen([1, 0], [1, 65535])
    if newest[0] != 1:
        raise CaseFailed(f"offered 1.0..1.65535, server chose {newest} [HELLO-3]")
    wide = chosen([0, 0], [1, 65535])
    if wide != newest:
        raise CaseFailed(f"offered 0.0..1.65535, server chose {wide}, but {newest} for 1.0..1.65535: "
                         "not the highest common version [HELLO-3]")
    future = chosen([1, 0], [2, 0])
    if future not in (newest, (2, 0)):
        raise CaseFailed(f"offered 1.0..2.0, server chose {future}; its highest 1.x is {newest} [HELLO-3]")


@case("handshake.unsupported-version", "HELLO-3",
      "A client range with no common version gets a connection-level unsupported_version whose "
      "details carry the server's min_version and max_version, then the connection closes.")
def _unsupported_version(context: ServerContext) -> None:
    error = expect_refused_hello(context, context.hello(min_version=[99, 0], max_version=[99, 9]),
                                 "unsupported_version", "hello offering only 99.x")
    details = error.get("details")
    if not isinstance(details, dict) or not (is_version(details.get("min_version"))
                                             and is_version(details.get("max_version"))):
        raise CaseFailed(f"unsupported_version details {details!r} lack min_version and max_version [HELLO-3]")


@case("handshake.inverted-range", "HELLO-3",
      "A client range whose min_version is above its max_version contains no version: "
      "unsupported_version, then close.")
def _inverted_range(context: ServerContext) -> None:
    expect_refused_hello(context, context.hello(min_version=[1, 1], max_version=[1, 0]),
                         "unsupported_version", "hello with min_version 1.1 above max_version 1.0")


@case("handshake.wrong-protocol", "HELLO-5",
      "A hello whose protocol is not \"slicerbridge\" gets a connection-level invalid_message, then close.")
def _wrong_protocol(context: ServerContext) -> None:
    expect_refused_hello(context, context.hello(protocol="slicerbridge2"), "invalid_message",
                         "hello with protocol \"slicerbridge2\"")


@case("handshake.missing-required-key", "HELLO-5",
      "A hello without max_version gets a connection-level invalid_message, then close.")
def _missing_required(context: ServerContext) -> None:
    expect_refused_hello(context, context.hello(max_version=OMIT), "invalid_message", "hello without max_version")


@case("handshake.mistyped-version", "HELLO-5",
      "A hello whose min_version is a string gets a connection-level invalid_message, then close.")
def _mistyped_version(context: ServerContext) -> None:
    expect_refused_hello(context, context.hello(min_version="1.0"), "invalid_message",
                         "hello with min_version \"1.0\"")


@case("handshake.limit-out-of-range", "LIMIT-4 HELLO-5",
      "A hello announcing max_frame 0 (limits are 1..2^64-1) gets a connection-level "
      "invalid_message, then close.")
def _limit_out_of_range(context: ServerContext) -> None:
    expect_refused_hello(context, context.hello(limits={"max_frame": 0}), "invalid_message",
                         "hello with limits.max_frame 0")


@case("handshake.message-before-hello", "HELLO-2 HELLO-8",
      "A catalog request before the hello gets a connection-level handshake_required and the "
      "connection closes; the catalog is not revealed.", hostile=True)
def _message_before_hello(context: ServerContext) -> None:
    peer = context.peer()
    peer.request("catalog")
    expect_fatal(peer, "handshake_required", "catalog request before the hello")


@case("handshake.undecodable-first-frame", "HELLO-9 MSG-11",
      "A first frame whose head is not MessagePack gets a connection-level invalid_message, then "
      "the connection closes.", hostile=True)
def _undecodable_first(context: ServerContext) -> None:
    peer = context.peer()
    peer.send_raw(wire.encode_frame(wire.Raw(b"\xc1")), "head 0xc1 before any hello")
    expect_fatal_error(peer, "invalid_message", "undecodable first frame")


@case("handshake.kindless-first-frame", "HELLO-9 HEAD-1",
      "A first frame whose head is a map without kind gets a connection-level invalid_message, "
      "then the connection closes.", hostile=True)
def _kindless_first(context: ServerContext) -> None:
    peer = context.peer()
    peer.send_head({"protocol": "slicerbridge", "min_version": [1, 0], "max_version": [1, 0]})
    expect_fatal_error(peer, "invalid_message", "first frame without kind")


@case("handshake.second-hello", "HELLO-7",
      "A hello after the handshake gets a connection-level invalid_message; the connection stays open.")
def _second_hello(context: ServerContext) -> None:
    peer = context.connect()
    peer.send_head(context.hello())
    rejected(peer, ("invalid_message",), what="second hello")
    still_open(peer, "second hello")


@case("handshake.extensions-ignored", "HEAD-2 CAP-1 LIMIT-4",
      "Unknown hello keys, x- keys, unknown and grease capabilities and unknown limit keys are "
      "ignored: the handshake succeeds and the connection works.")
def _extensions_ignored(context: ServerContext) -> None:
    limits = dict(context.hello()["limits"], **{"x-max-teapots": 3, "max_future_thing": 7})
    peer = context.connect(
        capabilities=["progress", "future.capability", "x-grease-c0ffee"], limits=limits,
        implementation={"name": "suite", "version": "1", "x-build": "42"},
        **{"x-vendor": {"nested": [1, 2.5, "three"]}, "future_key": True})
    peer.call("ping")


@case("handshake.non-minimal-encoding", "HEAD-3",
      "A hello written with non-minimal MessagePack formats (str 16 and str 32 strings, uint 64 "
      "version numbers, map 32 and array 32) is accepted.")
def _hello_non_minimal(context: ServerContext) -> None:
    hello = context.hello()
    encoded = wire.Map32(tuple([
        (wire.Str("kind", "str16"), wire.Str("hello", "str32")),
        (wire.Str("protocol", "str8"), wire.Str("slicerbridge", "str16")),
        ("min_version", wire.Array32((wire.Int(1, "uint64"), wire.Int(0, "uint32")))),
        ("max_version", wire.Array32((wire.Int(1, "int64"), wire.Int(0, "int8")))),
        ("capabilities", wire.Array32(tuple(hello["capabilities"]))),
        ("limits", hello["limits"]),
    ] + ([("token", wire.Str(hello["token"], "str32"))] if "token" in hello else [])))
    peer = context.peer(offered=hello["capabilities"])
    peer.send_head(encoded)
    message = peer.wait_for(lambda m: True, "answer to the non-minimal hello")
    if message.get("kind") != "hello":
        raise CaseFailed(f"server refused a valid non-minimal hello: {wire.describe_value(message)}")
    peer.server_hello = message
    peer._check_server_hello(hello)
    peer.call("ping")


@case("handshake.large-hello", "HELLO-4",
      "A hello frame of 65,000 bytes (padded with an x- key) is accepted before the handshake.")
def _large_hello(context: ServerContext) -> None:
    hello = context.hello()
    base = len(wire.encode_frame(dict(hello, **{"x-padding": ""})))
    peer = context.connect(**{"x-padding": "p" * (65000 - base)})
    peer.call("ping")


@case("handshake.capabilities-in-force", "CAP-4",
      "Offered no capabilities, the server lists none but server-only and x- ones; offered an "
      "empty array, likewise.")
def _capabilities_in_force(context: ServerContext) -> None:
    for capabilities in (OMIT, []):
        hello = context.hello(capabilities, grease=False)
        peer = context.peer(offered=[])
        try:
            peer.handshake(hello)
        except HandshakeRefused as refused:
            raise CaseFailed(f"server refused a hello without capabilities: {refused}") from None
        peer.call("ping")
        peer.close()


@case("handshake.server-grease", "CAP-1",
      "The server hello carries an x-grease-<hex> capability, so that clients keep ignoring "
      "unknown capabilities (SHOULD, for reference implementations).", level="SHOULD")
def _server_grease(context: ServerContext) -> None:
    peer = context.connect()
    grease = [c for c in peer.server_hello.get("capabilities", []) if c.startswith("x-grease-")]
    if not grease:
        raise CaseFailed("server hello has no x-grease-<hex> capability [CAP-1]")
    if any(not all(ch in "0123456789abcdef" for ch in c[len("x-grease-"):]) or c == "x-grease-" for c in grease):
        raise CaseFailed(f"grease capability {grease} is not x-grease-<lowercase hex> [CAP-1]")


# A server may delay its answer to a failed token, up to 5 s for repeated failures [SEC-11].
FAILED_TOKEN_DELAY = 5.0


def _failed_token_timeout(context: ServerContext) -> float:
    return context.options.timeout + FAILED_TOKEN_DELAY


def _require_token(context: ServerContext) -> str:
    if context.options.token is None:
        raise CaseSkipped("no --token given: start the server with a token and pass it with --token")
    return context.options.token


@case("handshake.token-missing", "SEC-3",
      "With a token configured, a hello without token gets a connection-level unauthorized, "
      "then close.", hostile=True)
def _token_missing(context: ServerContext) -> None:
    _require_token(context)
    expect_refused_hello(context, context.hello(token=OMIT), "unauthorized", "hello without token",
                         _failed_token_timeout(context))


@case("handshake.token-wrong", "SEC-3 ERR-3",
      "A hello with a wrong token gets a connection-level unauthorized without echoing the "
      "token, then close.", hostile=True)
def _token_wrong(context: ServerContext) -> None:
    token = _require_token(context)
    wrong = "x" + token[1:] if token else "wrong"
    error = expect_refused_hello(context, context.hello(token=wrong), "unauthorized", "hello with a wrong token",
                                 _failed_token_timeout(context))
    text = repr(wire.describe_value(error))
    if wrong in text or (token and token in text):
        raise CaseFailed("the unauthorized error repeats the token [ERR-3]")


@case("handshake.token-wrong-others-served", "SEC-11 SEC-3",
      "While a hello with a wrong token waits for its unauthorized (a server may delay it), a "
      "client with the right token on another connection is served; the unauthorized follows, "
      "then close.", hostile=True)
def _token_wrong_others_served(context: ServerContext) -> None:
    token = _require_token(context)
    hello = context.hello(token="x" + token[1:] if token else "wrong")
    guesser = context.peer(offered=hello["capabilities"])
    guesser.send_head(hello)
    context.connect().call("ping")
    message = guesser.wait_for(lambda m: True, "answer to the hello with a wrong token",
                               _failed_token_timeout(context))
    if message.get("kind") != "response" or "error" not in message:
        raise CaseFailed("the server accepted a hello with a wrong token [SEC-3]")
    expect_code(message["error"], ("unauthorized",), "hello with a wrong token")
    guesser.expect_closed(what="after the unauthorized error")


@case("handshake.token-accepted", "SEC-3",
      "A hello with the right token is accepted and the connection works.")
def _token_accepted(context: ServerContext) -> None:
    _require_token(context)
    context.connect().call("ping")


# ---------------------------------------------------------------------------------------------
# Frames (section 2)


@case("frames.flags-ignored", "FRAME-2",
      "A request frame with flags 0xff is read as if flags were 0.")
def _flags_ignored(context: ServerContext) -> None:
    peer = context.connect()
    peer.result(peer.request("ping", flags=0xFF))


@case("frames.bad-magic", "FRAME-1 FRAME-7",
      "A frame with magic \"XX\" is fatal: the server SHOULD answer malformed_frame at connection "
      "level and MUST close.", hostile=True)
def _bad_magic(context: ServerContext) -> None:
    peer = context.connect()
    peer.send_head(request_frame(1), magic=b"XX")
    expect_fatal(peer, "malformed_frame", "frame with bad magic")


@case("frames.bad-format", "FRAME-1 FRAME-7 VER-3",
      "A frame with format byte 2 is fatal: malformed_frame (SHOULD), then close (MUST).", hostile=True)
def _bad_format(context: ServerContext) -> None:
    peer = context.connect()
    peer.send_head(request_frame(1), fmt=2)
    expect_fatal(peer, "malformed_frame", "frame with format 2")


@case("frames.garbage-before-hello", "FRAME-1 FRAME-7",
      "An HTTP request instead of a hello is fatal: malformed_frame (SHOULD), then close (MUST).",
      hostile=True)
def _garbage_before_hello(context: ServerContext) -> None:
    peer = context.peer()
    peer.send_raw(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n", "HTTP request")
    expect_fatal(peer, "malformed_frame", "HTTP request instead of a frame")


@case("frames.head-over-max-head", "FRAME-3 FRAME-7 LIMIT-1",
      "A header announcing a head one byte over the server's max_head is refused from the header "
      "alone (frame_too_large SHOULD, close MUST), without waiting for the head.", hostile=True)
def _head_over_limit(context: ServerContext) -> None:
    peer = context.connect()
    if peer.limits.max_head >= (1 << 32) - 1:
        raise CaseSkipped(f"server max_head {peer.limits.max_head} leaves no larger head_length")
    peer.send_raw(wire.frame_header(peer.limits.max_head + 1, 0), "header only")
    expect_fatal(peer, "frame_too_large", f"head_length {peer.limits.max_head + 1} over max_head")


@case("frames.frame-over-max-frame", "FRAME-3 FRAME-7 LIMIT-1",
      "A header whose frame size exceeds the server's max_frame is refused from the header alone "
      "(frame_too_large SHOULD, close MUST).", hostile=True)
def _frame_over_limit(context: ServerContext) -> None:
    peer = context.connect()
    head_length = 30
    bulk_length = min(peer.limits.max_frame - wire.HEADER_SIZE - head_length + 1, (1 << 64) - 1)
    if bulk_length <= 0:
        raise CaseSkipped("server max_frame too small to test")
    peer.send_raw(wire.frame_header(head_length, bulk_length), "header only")
    expect_fatal(peer, "frame_too_large", f"bulk_length {bulk_length} over max_frame {peer.limits.max_frame}")


@case("frames.size-overflow", "FRAME-9 FRAME-7",
      "A header whose 16 + head_length + bulk_length wraps around 2^64 to a small number is "
      "frame_too_large, never a small frame.", hostile=True)
def _size_overflow(context: ServerContext) -> None:
    peer = context.connect()
    head_length = 30
    bulk_length = (1 << 64) - wire.HEADER_SIZE - head_length + 24
    peer.send_raw(wire.frame_header(head_length, bulk_length), "header: size wraps to 24")
    expect_fatal(peer, "frame_too_large", "frame size beyond 2^64-1")


@case("frames.head-length-zero", "FRAME-4",
      "A frame with head_length 0 is invalid_message; the frame is well delimited, so the "
      "connection stays open.")
def _head_length_zero(context: ServerContext) -> None:
    peer = context.connect()
    peer.send_raw(wire.frame_header(0, 0), "head_length 0")
    rejected(peer, ("invalid_message",), what="frame with head_length 0")
    still_open(peer, "frame with head_length 0")


@case("frames.truncated-header", "FRAME-8 DROP-2",
      "A connection that ends 7 bytes into a frame header is a dropped connection; the server "
      "keeps serving.", hostile=True)
def _truncated_header(context: ServerContext) -> None:
    peer = context.connect()
    peer.send_raw(wire.encode_frame(request_frame(1))[:7], "7 bytes of a header")
    peer.close()


@case("frames.truncated-head", "FRAME-8 DROP-2",
      "A connection that ends inside a head is a dropped connection; the server keeps serving.",
      hostile=True)
def _truncated_head(context: ServerContext) -> None:
    peer = context.connect()
    frame = wire.encode_frame(request_frame(1, "catalog"))
    peer.send_raw(frame[:wire.HEADER_SIZE + 9], "header and 9 bytes of the head")
    peer.close()


@case("frames.truncated-bulk", "FRAME-8 DROP-1 DROP-2",
      "A connection that ends halfway through the bulk of an invoke is a dropped connection: "
      "the call never runs and the server keeps serving.", hostile=True)
def _truncated_bulk(context: ServerContext) -> None:
    inputs, _ = image_input(context)
    source = next(iter(inputs))
    inputs[source] = data.make_image("uint8", (64, 64, 16))
    peer = context.connect()
    frame = wire.encode_frame(request_frame(1, "invoke", params={"processor": "echo", "inputs": inputs}))
    peer.send_raw(frame[:len(frame) - 32768], "all but the last 32 KiB of the bulk")
    peer.close()


@case("frames.truncated-not-delivered", "FRAME-8",
      "A ping frame missing its last byte, followed by end of stream, is discarded: the server "
      "never answers it.", hostile=True)
def _truncated_not_delivered(context: ServerContext) -> None:
    peer = context.connect()
    frame = wire.encode_frame(request_frame(5))
    peer.send_raw(frame[:-1], "ping frame without its last byte")
    peer.conn.shutdown_write()
    try:
        peer.expect_closed(what="after a truncated frame and end of stream")
    except CaseFailed as failure:
        if "response for id 5" in str(failure):
            raise CaseFailed("the server answered a truncated ping: partial frames MUST be discarded [FRAME-8]") from None
        raise


@case("frames.large-bulk-truncated", "FRAME-8 DROP-2",
      "A ping frame announcing a bulk of 1 GiB (less if the server's max_frame is smaller), of "
      "which 64 bytes arrive before end of stream, is a truncated frame: the server closes the "
      "connection within the timeout, however it prepares to receive the bulk, and keeps serving.",
      hostile=True)
def _large_bulk_truncated(context: ServerContext) -> None:
    peer = context.connect()
    head = wire.pack(request_frame(peer.new_id()))
    bulk_length = min(1 << 30, peer.limits.max_frame - wire.HEADER_SIZE - len(head))
    if bulk_length < 1 << 20:
        raise CaseSkipped(f"server max_frame {peer.limits.max_frame} admits no bulk of 1 MiB")
    peer.send_raw(wire.frame_header(len(head), bulk_length) + head + bytes(64),
                  f"header announcing a bulk of {bulk_length} bytes, the head, 64 bytes of bulk")
    peer.conn.shutdown_write()
    peer.expect_closed(what=f"after 64 of {bulk_length} bulk bytes and end of stream")


@case("frames.fragmented", "FRAME-3",
      "A request delivered in many small writes (a few bytes each) is reassembled and answered.")
def _fragmented(context: ServerContext) -> None:
    inputs, source = image_input(context)
    _, target = echo_slots(context, "image")
    peer = context.connect()
    request_id = peer.new_id()
    frame = wire.encode_frame(request_frame(request_id, "invoke", params={"processor": "echo", "inputs": inputs}))
    peer.open[request_id] = "invoke"
    for start in range(0, len(frame), 5):
        peer.send_raw(frame[start:start + 5])
    outputs = check_outputs(context, "echo", peer.result(request_id))
    try:
        data.compare_data(inputs[source], outputs.get(target), f"output {target}")
    except data.Mismatch as mismatch:
        raise CaseFailed(f"echo of a fragmented frame: {mismatch}") from None


@case("frames.pipelined", "MSG-4 FRAME-10",
      "Three frames in one write (ping, an undecodable head, ping) are all read; both pings "
      "answered and the middle one refused with invalid_message.")
def _pipelined(context: ServerContext) -> None:
    peer = context.connect()
    first, second = peer.new_id(), peer.new_id()
    batch = (wire.encode_frame(request_frame(first)) + wire.encode_frame(wire.Raw(b"\xc1"))
             + wire.encode_frame(request_frame(second)))
    peer.open[first] = peer.open[second] = "ping"
    peer.send_raw(batch, "three frames in one write")
    peer.result(first)
    peer.result(second)
    rejected(peer, ("invalid_message",), what="undecodable head between two pings")


@case("frames.error-consumes-bulk", "FRAME-10 MSG-11",
      "After refusing a head that is not MessagePack, the server skips the frame's 4 KiB bulk and "
      "reads the next frame from its first byte.")
def _error_consumes_bulk(context: ServerContext) -> None:
    peer = context.connect()
    trap = wire.encode_frame(request_frame(77))
    bulk = (trap * (4096 // len(trap) + 1))[:4096]
    peer.send_raw(wire.frame_header(1, len(bulk)) + b"\xc1" + bulk, "invalid head, bulk of ping frames")
    rejected(peer, ("invalid_message",), what="invalid head with a bulk section")
    still_open(peer, "invalid head with a bulk section")


# ---------------------------------------------------------------------------------------------
# Heads and messages (sections 3.1, 5)


def _malformed_head_case(case_id: str, requirements: str, description: str, head: Any,
                         request_id: int | None = None, hostile: bool = False) -> None:
    def run(context: ServerContext) -> None:
        peer = context.connect()
        if request_id is not None:
            peer.open[request_id] = "ping"
        peer.send_head(head)
        rejected(peer, ("invalid_message",), request_id, case_id.split(".", 1)[1].replace("-", " "))
        still_open(peer, case_id)
    case(case_id, requirements, description, hostile=hostile)(run)


_malformed_head_case("messages.invalid-msgpack", "MSG-11 FRAME-4",
                     "A head of the byte 0xc1 (never valid MessagePack) is a connection-level "
                     "invalid_message; the connection stays open.", wire.Raw(b"\xc1"))
_malformed_head_case("messages.incomplete-object", "FRAME-4",
                     "A head whose map announces 3 entries but holds 1 is invalid_message.",
                     wire.Raw(b"\x83\xa4kind\xa7request"))
_malformed_head_case("messages.bytes-after-object", "FRAME-4",
                     "A head holding a complete ping request followed by one more byte is "
                     "invalid_message, not a ping.",
                     wire.Raw(wire.pack(request_frame(9)) + b"\xc0"))
_malformed_head_case("messages.head-not-map", "MSG-11 HEAD-1",
                     "A head that is an array is a connection-level invalid_message.",
                     ["request", 1, "ping"])
_malformed_head_case("messages.kind-missing", "MSG-11 HEAD-1",
                     "A head without kind is a connection-level invalid_message.",
                     {"id": 1, "method": "ping"})
_malformed_head_case("messages.kind-not-string", "MSG-11 HEAD-1",
                     "A head whose kind is an integer is a connection-level invalid_message.",
                     {"kind": 1, "id": 1, "method": "ping"})
_malformed_head_case("messages.non-string-key", "HEAD-6",
                     "A head with an integer map key is invalid_message.",
                     {"kind": "request", "id": 1, "method": "ping", 5: "five"}, request_id=1)
_malformed_head_case("messages.nested-non-string-key", "HEAD-6",
                     "A map nested in params with an integer key is invalid_message.",
                     request_frame(1, params={"x-map": {1: "one"}}), request_id=1)
_malformed_head_case("messages.duplicate-key", "HEAD-7",
                     "A head holding the key method twice is invalid_message (neither value is kept).",
                     wire.Raw(b"\x84\xa4kind\xa7request\xa2id\x01\xa6method\xa4ping\xa6method\xa4ping"),
                     request_id=1)
_malformed_head_case("messages.invalid-utf8", "HEAD-9",
                     "A head whose method string is not valid UTF-8 is invalid_message.",
                     wire.Raw(b"\x83\xa4kind\xa7request\xa2id\x01\xa6method\xa4\xff\xfe\xfd\xfc"),
                     request_id=1)
_malformed_head_case("messages.nesting-bomb", "HEAD-5 SEC-4",
                     "A head nested 100,000 arrays deep is invalid_message (not fatal), without "
                     "exhausting the server's stack.",
                     wire.Raw(b"\x84\xa4kind\xa7request\xa2id\x01\xa6method\xa4ping\xa6params"
                              + b"\x81\xa1x" + b"\x91" * 100000 + b"\xc0"),
                     request_id=1, hostile=True)
_malformed_head_case("messages.declared-array-too-long", "HEAD-8 SEC-4",
                     "An array 32 declaring 2^32-1 elements in a head of a few bytes is "
                     "invalid_message, refused before allocating.",
                     wire.Raw(b"\x84\xa4kind\xa7request\xa2id\x01\xa6method\xa4ping\xa6params"
                              + b"\x81\xa1x\xdd\xff\xff\xff\xff\x00"),
                     request_id=1, hostile=True)
_malformed_head_case("messages.declared-map-too-long", "HEAD-8 SEC-4",
                     "A map 32 declaring 2^31 entries in a head of a few bytes is invalid_message.",
                     wire.Raw(b"\x84\xa4kind\xa7request\xa2id\x01\xa6method\xa4ping\xa6params"
                              + b"\xdf\x80\x00\x00\x00\xc0"),
                     request_id=1, hostile=True)
_malformed_head_case("messages.declared-string-too-long", "HEAD-8 SEC-4",
                     "A str 32 declaring 2^32-1 bytes in a head of a few bytes is invalid_message.",
                     wire.Raw(b"\x84\xa4kind\xa7request\xa2id\x01\xa6method\xa4ping\xa6params"
                              + b"\x81\xa1x\xdb\xff\xff\xff\xffabc"),
                     request_id=1, hostile=True)


@case("messages.nesting-at-limit", "HEAD-5",
      "A head exactly as deep as the server's max_depth is accepted; one level deeper is "
      "invalid_message and the connection stays open.")
def _nesting_at_limit(context: ServerContext) -> None:
    peer = context.connect()
    depth = peer.limits.max_depth
    if depth > 1000:
        raise CaseSkipped(f"server max_depth {depth} too large to test")
    # head map (1) > params map (2) > arrays: the innermost array of scalars has depth 1.
    peer.result(peer.request("ping", {"x-deep": nested(depth - 2)}))
    request_id = peer.request("ping", {"x-deep": nested(depth - 1)})
    rejected(peer, ("invalid_message",), request_id, f"head of depth {depth + 1}")
    still_open(peer, "over-deep head")


@case("messages.unknown-kind", "MSG-10",
      "A message of unknown kind gets a connection-level unknown_kind; the connection stays open.")
def _unknown_kind(context: ServerContext) -> None:
    peer = context.connect()
    peer.send_head({"kind": "x-telepathy", "id": 1, "method": "ping"})
    peer.connection_error("unknown_kind")
    still_open(peer, "unknown kind")


@case("messages.response-from-client", "MSG-3",
      "A response sent by the client gets a connection-level invalid_message; the connection stays open.")
def _response_from_client(context: ServerContext) -> None:
    peer = context.connect()
    peer.send_head({"kind": "response", "id": 1, "result": {}})
    peer.connection_error("invalid_message")
    still_open(peer, "response sent by the client")


@case("messages.unknown-keys-ignored", "HEAD-2",
      "Unknown and x- keys in a request and its params are ignored.")
def _unknown_keys(context: ServerContext) -> None:
    peer = context.connect()
    peer.result(peer.request("ping", {"x-trace": "abc", "future_option": [1, 2]},
                             extra={"x-trace-id": "t-1", "future_field": {"a": None}}))
    context.processor("echo")
    result = peer.call("describe", {"processor": "echo", "x-verbose": True})
    if not isinstance(result, dict) or result.get("name") != "echo":
        raise CaseFailed("describe with an extra params key did not describe echo")


@case("messages.non-minimal-encoding", "HEAD-3",
      "A ping written with map 32, str 16/32 and a uint 64 id is answered under the same id.")
def _non_minimal(context: ServerContext) -> None:
    peer = context.connect()
    request_id = peer.new_id()
    peer.send_head(wire.Map32((
        (wire.Str("kind", "str32"), wire.Str("request", "str16")),
        (wire.Str("id", "str8"), wire.Int(request_id, "uint64")),
        ("method", wire.Str("ping", "str32")),
        ("params", wire.Map32(())))), expect_id=request_id, method="ping")
    peer.result(request_id)


@case("messages.float-forms", "HEAD-3",
      "A float parameter given as float 32, as float 64 and as an integer is accepted, and so is "
      "an integer deadline.")
def _float_forms(context: ServerContext) -> None:
    context.parameter("slow", "seconds")
    peer = context.connect()
    for seconds in (wire.Float32(0.0625), 0.0625, 0):
        peer.result(peer.invoke("slow", parameters={"seconds": seconds}))
    peer.result(peer.invoke("slow", parameters={"seconds": 0}, deadline=30))


@case("messages.unknown-notification", "MSG-9",
      "Notifications with unknown methods get no response; the connection stays open.")
def _unknown_notification(context: ServerContext) -> None:
    peer = context.connect()
    peer.notify("x-telemetry", {"level": 3})
    peer.notify("future.notification")
    still_open(peer, "unknown notifications")


@case("messages.notification-without-method", "MSG-16",
      "A notification without a string method gets a connection-level invalid_message; the "
      "connection stays open.")
def _notification_without_method(context: ServerContext) -> None:
    peer = context.connect()
    peer.send_head({"kind": "notification", "params": {}})
    peer.connection_error("invalid_message")
    still_open(peer, "notification without method")


@case("messages.malformed-notification", "MSG-16",
      "A cancel notification with malformed params (not a map, id a string) is ignored without response.")
def _malformed_notification(context: ServerContext) -> None:
    peer = context.connect()
    peer.notify("cancel", "everything")
    peer.notify("cancel", {"id": "seven"})
    still_open(peer, "malformed cancel notifications")


# ---------------------------------------------------------------------------------------------
# Requests and responses (sections 5.1, 5.2, 6.3)


@case("requests.ping", "PING-1 MSG-7",
      "ping answers with a result map under its id.")
def _ping(context: ServerContext) -> None:
    peer = context.connect()
    result = peer.call("ping")
    if result != {}:
        unknown = [key for key in result if not key.startswith("x-")]
        if unknown:
            raise CaseFailed(f"ping result {result!r} is not {{}} [PING-1]")


@case("requests.params-absent", "MSG-2",
      "Requests without params (ping, catalog) and with an empty params map are answered.")
def _params_absent(context: ServerContext) -> None:
    peer = context.connect()
    peer.call("ping")
    peer.call("catalog")
    peer.call("ping", {})


@case("requests.id-range", "MSG-1 MSG-14",
      "Request ids 0 and 2^63-1 are valid and answered under exactly that id.")
def _id_range(context: ServerContext) -> None:
    peer = context.connect()
    for request_id in (0, (1 << 63) - 1):
        peer.result(peer.request("ping", request_id=request_id))


@case("requests.id-invalid", "MSG-12 HEAD-4",
      "Requests whose id is 2^63, -1, 1.0 or \"7\" each get a connection-level invalid_message; "
      "the connection stays open.")
def _id_invalid(context: ServerContext) -> None:
    peer = context.connect()
    for bad_id in (1 << 63, -1, 1.0, "7"):
        peer.send_head(request_frame(bad_id))
        peer.connection_error("invalid_message")
    still_open(peer, "requests with invalid ids")


@case("requests.id-missing", "MSG-12",
      "A request without id gets a connection-level invalid_message.")
def _id_missing(context: ServerContext) -> None:
    peer = context.connect()
    peer.send_head({"kind": "request", "method": "ping"})
    peer.connection_error("invalid_message")
    still_open(peer, "request without id")


@case("requests.malformed-with-id", "MSG-12 MSG-2",
      "A request with a valid id but method 42, or params that are an array, gets invalid_message "
      "under that id.")
def _malformed_with_id(context: ServerContext) -> None:
    peer = context.connect()
    first = peer.new_id()
    peer.send_head(request_frame(first, 42), expect_id=first)
    peer.error(first, "invalid_message")
    second = peer.new_id()
    peer.send_head(request_frame(second, "ping", params=[1, 2]), expect_id=second)
    peer.error(second, "invalid_message")
    still_open(peer, "malformed requests")


@case("requests.unknown-method", "MSG-6",
      "Unknown methods (x-unknown, and Ping: names are case-sensitive) get method_not_found.")
def _unknown_method(context: ServerContext) -> None:
    peer = context.connect()
    for method in ("x-unknown", "Ping"):
        peer.error(peer.request(method), "method_not_found")
    still_open(peer, "unknown methods")


@case("requests.params-mistyped", "MSG-13 ERR-4",
      "describe without processor, describe with processor 42, and invoke without processor get "
      "invalid_message under their ids.")
def _params_mistyped(context: ServerContext) -> None:
    peer = context.connect()
    peer.error(peer.request("describe", {}), "invalid_message")
    peer.error(peer.request("describe", {"processor": 42}), "invalid_message")
    peer.error(peer.request("invoke", {"inputs": {}}), "invalid_message")
    still_open(peer, "mistyped params")


@case("requests.deadline-invalid", "INV-7 MSG-13 ERR-4",
      "invoke deadlines -1, \"soon\" and NaN get invalid_message under their ids.")
def _deadline_invalid(context: ServerContext) -> None:
    context.parameter("slow", "seconds")
    peer = context.connect()
    for deadline in (-1.0, "soon", math.nan):
        peer.error(peer.invoke("slow", parameters={"seconds": 0.0}, deadline=deadline), "invalid_message")
    still_open(peer, "invalid deadlines")


@case("requests.duplicate-id", "MSG-5",
      "A request reusing the id of an open call gets a connection-level duplicate_id with the id "
      "in its details; the open call is unaffected and answered once.")
def _duplicate_id(context: ServerContext) -> None:
    peer = context.connect()
    call = slow_call(peer, context, long_seconds(peer))
    peer.send_head(request_frame(call))
    error = peer.connection_error("duplicate_id")
    details = error.get("details")
    if not isinstance(details, dict) or details.get("id") != call:
        raise CaseFailed(f"duplicate_id details {details!r} do not carry id {call} [MSG-5]")
    settle(peer, call, context)
    still_open(peer, "duplicate id")


@case("requests.id-reuse-after-response", "MSG-1",
      "An id may be used again once its response arrived.")
def _id_reuse(context: ServerContext) -> None:
    peer = context.connect()
    for _ in range(3):
        peer.result(peer.request("ping", request_id=3))


@case("requests.many-in-flight", "MSG-4",
      "Twenty requests sent without waiting (slow calls of decreasing length, pings, catalog, "
      "echo) are each answered exactly once, in any order.")
def _many_in_flight(context: ServerContext) -> None:
    peer = context.connect()
    inputs, source = image_input(context)
    ids = []
    for index in range(6):
        ids.append(slow_call(peer, context, 0.05 * (6 - index), 2))
        ids.append(peer.request("ping"))
    ids.append(peer.request("catalog"))
    ids.append(peer.invoke("echo", inputs))
    ids += [peer.request("ping") for _ in range(6)]
    for request_id in ids:
        peer.result(request_id)
    still_open(peer, "twenty requests in flight")


@case("requests.ping-while-busy", "PING-1 MSG-4",
      "A ping sent while a long call runs is answered before that call completes.")
def _ping_while_busy(context: ServerContext) -> None:
    peer = context.connect()
    call = slow_call(peer, context, long_seconds(peer))
    ping = peer.request("ping")
    peer.response(ping)
    if call in peer.answered:
        raise CaseFailed("the ping was answered only after the long call [PING-1]")
    settle(peer, call, context)


# ---------------------------------------------------------------------------------------------
# Catalog and describe (sections 6.1, 10)


@case("catalog.shape", "CAT-1 CAT-3 CAT-5 CAT-6",
      "catalog returns {processors: [...]} whose descriptions all follow section 10, with "
      "unique processor names.")
def _catalog_shape(context: ServerContext) -> None:
    result = context.connect().call("catalog")
    processors = result.get("processors")
    if not isinstance(processors, list):
        raise CaseFailed("catalog result has no processors array [CAT-1]")
    problems = []
    names = []
    for description in processors:
        problems += data.check_description(description)
        if isinstance(description, dict):
            names.append(description.get("name"))
    duplicates = sorted({str(name) for name in names if names.count(name) > 1})
    if duplicates:
        problems.append(f"processor names used twice: {duplicates} (section 10)")
    if problems:
        raise CaseFailed("\n".join(problems))


@case("catalog.shape-1.1", "CAT-5 CAT-7 CAT-8 VER-1",
      "Offered 1.0 to 1.1, a server that chooses 1.1 sends descriptions that follow section 10 "
      "as of 1.1: scalar outputs without defaults, idempotent a bool.")
def _catalog_shape_1_1(context: ServerContext) -> None:
    peer = context.connect(max_version=[1, 1])
    version = tuple(peer.server_hello["version"])
    if version < (1, 1):
        raise CaseSkipped(f"the server speaks {version[0]}.{version[1]}, not 1.1")
    problems = []
    for description in peer.call("catalog").get("processors", []):
        problems += data.check_description(description, version=(1, 1))
    if problems:
        raise CaseFailed("\n".join(problems))


@case("invoke.scalar-outputs-by-version", "CAT-7 INV-4 VER-4 PROC-2",
      "At 1.1 echo returns its number parameter as the scalar output number_out, a plain value "
      "beside the data outputs; a peer that negotiated 1.0 sees neither the slot nor the value.")
def _scalar_outputs_by_version(context: ServerContext) -> None:
    newer = context.connect(max_version=[1, 1])
    if tuple(newer.server_hello["version"]) < (1, 1):
        raise CaseSkipped("the server does not speak 1.1")
    described = newer.call("describe", {"processor": "echo"})
    slots = {slot.get("name"): slot for slot in described.get("outputs", [])}
    if slots.get("number_out", {}).get("type") != "float":
        raise CaseSkipped("echo has no float output number_out (see README: the conformance "
                          "processors of 1.1)")
    outputs = newer.result(newer.invoke("echo", parameters={"number": 2.5})).get("outputs")
    if not isinstance(outputs, dict) or outputs.get("number_out") != 2.5:
        raise CaseFailed(f"echo of number 2.5 returned {wire.describe_value(outputs)}, "
                         "not number_out 2.5 [CAT-7] [INV-4]")
    older = context.connect(max_version=[1, 0])
    for description in older.call("catalog").get("processors", []):
        problems = data.check_description(description, version=(1, 0))
        if problems:
            raise CaseFailed("\n".join(problems))
    outputs = older.result(older.invoke("echo", parameters={"number": 2.5})).get("outputs")
    if outputs != {}:
        raise CaseFailed(f"a 1.0 peer got the outputs {wire.describe_value(outputs)} from echo "
                         "without inputs: a scalar output's value sent at 1.0 [VER-4]")


@case("invoke.echo.image-series", "PROC-6 SER-1 SER-2 SER-4 SER-5 SER-6",
      "At 1.1 echo returns a diffusion series (a geometry per volume, b-values, gradients) "
      "unchanged; a peer that negotiated 1.0 sees no image_series slot, and a series it sends "
      "anyway is invalid_argument.")
def _echo_image_series(context: ServerContext) -> None:
    newer = context.connect(max_version=[1, 1])
    if tuple(newer.server_hello["version"]) < (1, 1):
        raise CaseSkipped("the server does not speak 1.1")
    described = newer.call("describe", {"processor": "echo"})
    source = data.find_slot(described, "inputs", "image_series")
    target = data.find_slot(described, "outputs", "image_series")
    if source is None or target is None:
        raise CaseFailed("echo of a 1.1 server has no image_series input and output [PROC-6]")
    source, target = source["name"], target["name"]
    sent = data.make_image_series("LPS")
    outputs = newer.result(newer.invoke("echo", {source: sent})).get("outputs")
    if not isinstance(outputs, dict) or target not in outputs:
        raise CaseFailed(f"echo did not return input {source!r} as output {target!r} [PROC-6]")
    try:
        data.compare_data(sent, outputs[target], f"output {target}")
    except data.Mismatch as mismatch:
        raise CaseFailed(f"echo altered the series: {mismatch} [SER-5]") from None
    older = context.connect(max_version=[1, 0])
    for description in older.call("catalog").get("processors", []):
        problems = data.check_description(description, version=(1, 0))
        if problems:
            raise CaseFailed("\n".join(problems))
    reply = older.response(older.invoke("echo", {source: data.make_image_series("RAS")}))
    if reply.get("error", {}).get("code") != wire.ERROR_CODES["invalid_argument"]:
        raise CaseFailed("a 1.0 peer's image_series input was not refused with invalid_argument "
                         "[SER-6] [VER-4]")


@case("catalog.describe-matches", "CAT-1",
      "describe returns, for every processor of the catalog, the same description.")
def _describe_matches(context: ServerContext) -> None:
    peer = context.connect()
    catalog = peer.call("catalog").get("processors", [])
    for description in catalog:
        described = peer.call("describe", {"processor": description.get("name")})
        if wire.to_json(described) != wire.to_json(description):
            raise CaseFailed(f"describe {description.get('name')!r} differs from its catalog entry")


@case("catalog.describe-unknown", "CAT-2",
      "describe of an unknown processor fails with unknown_processor.")
def _describe_unknown(context: ServerContext) -> None:
    peer = context.connect()
    peer.error(peer.request("describe", {"processor": "x-no-such-processor"}), "unknown_processor")


# ---------------------------------------------------------------------------------------------
# invoke: echo round trips of every data type (sections 6.2, 11)

for _dtype in data.DTYPES:
    def _echo_dtype(context: ServerContext, dtype: str = _dtype) -> None:
        echo(context, [data.make_image(dtype, (7, 5, 3), seed=len(dtype))])
    case(f"invoke.echo.image.{_dtype}", "IMG-1 IMG-5 ARRAY-1",
         f"An oblique RAS {_dtype} image (7x5x3, extreme values) comes back from echo with every "
         "voxel bit and the geometry unchanged.")(_echo_dtype)


@case("invoke.echo.image.lps", "IMG-5 DATA-2",
      "An oblique LPS float32 image comes back unchanged (or in RAS with exactly the converted matrix).")
def _echo_lps(context: ServerContext) -> None:
    echo(context, [data.make_image("float32", (6, 5, 4), space="LPS")])


@case("invoke.echo.image.big-endian", "ARRAY-2 IMG-5",
      "Big-endian int32 and float64 images come back with the same values (byte order may be converted).")
def _echo_big_endian(context: ServerContext) -> None:
    echo(context, [data.make_image("int32", (5, 4, 3), byte_order="big")])
    echo(context, [data.make_image("float64", (5, 4, 3), byte_order="big", space="LPS")])


@case("invoke.echo.image.vector", "IMG-4 IMG-5",
      "A 3-component vector image comes back unchanged, components interleaved.")
def _echo_vector(context: ServerContext) -> None:
    echo(context, [data.make_image("float32", (4, 3, 2), components=3, kind="vector")])


@case("invoke.echo.image.label", "IMG-4 IMG-6 IMG-5",
      "A uint16 label image with segments comes back with its segments.")
def _echo_label(context: ServerContext) -> None:
    echo(context, [data.make_image("uint16", (6, 4, 2), kind="label")])


@case("invoke.echo.image.empty", "IMG-3",
      "An image with a zero dimension (no voxels, empty data) comes back unchanged.")
def _echo_empty(context: ServerContext) -> None:
    echo(context, [data.make_image("int16", (0, 4, 3))])


@case("invoke.echo.image.large", "IMG-5 FRAME-5",
      "A 4 MiB int32 image comes back byte-exact.")
def _echo_large(context: ServerContext) -> None:
    echo(context, [data.make_image("int32", (128, 128, 64))])


@case("invoke.echo.mesh", "MESH-1 MESH-2 MESH-3",
      "A mesh with verts, lines, polys, strips, point and cell data comes back unchanged, in RAS "
      "and in LPS, with float64 and float32 points.")
def _echo_mesh(context: ServerContext) -> None:
    peer = context.connect()
    echo(context, [data.make_mesh("RAS")], peer)
    echo(context, [data.make_mesh("LPS", points_dtype="float32")], peer)


@case("invoke.echo.transform", "XFM-1",
      "Oblique transforms in RAS and LPS come back unchanged.")
def _echo_transform(context: ServerContext) -> None:
    peer = context.connect()
    echo(context, [data.make_transform("RAS")], peer)
    echo(context, [data.make_transform("LPS")], peer)


@case("invoke.echo.points", "PTS-1 DATA-2",
      "Points with labels in RAS and LPS come back unchanged.")
def _echo_points(context: ServerContext) -> None:
    peer = context.connect()
    echo(context, [data.make_points("RAS")], peer)
    echo(context, [data.make_points("LPS")], peer)


@case("invoke.echo.table", "TBL-1",
      "A table with int32, float64, string and bool columns comes back unchanged.")
def _echo_table(context: ServerContext) -> None:
    echo(context, [data.make_table()])


@case("invoke.echo.all-types", "INV-4 CODEC-2",
      "One echo call with an input of every data type returns all of them.")
def _echo_all(context: ServerContext) -> None:
    echo(context, [data.make_image("float64", (3, 3, 3), space="LPS"), data.make_mesh(),
                   data.make_transform(), data.make_points(), data.make_table()])


# ---------------------------------------------------------------------------------------------
# invoke: errors (sections 6.2, 8, 11)


@case("invoke.unknown-processor", "INV-1",
      "invoke of an unknown processor fails with unknown_processor.")
def _invoke_unknown(context: ServerContext) -> None:
    peer = context.connect()
    peer.error(peer.invoke("x-no-such-processor", {}, {}), "unknown_processor")


@case("invoke.unknown-input", "INV-2",
      "An unknown input name fails with invalid_argument naming it.")
def _unknown_input(context: ServerContext) -> None:
    context.processor("echo")
    invalid_argument(context, {"x_no_such_input": data.make_transform()}, None, "echo",
                     "x_no_such_input", "unknown input")


@case("invoke.unknown-parameter", "INV-2",
      "An unknown parameter name fails with invalid_argument naming it.")
def _unknown_parameter(context: ServerContext) -> None:
    parameters = dict(context.slow_parameters(0.0), x_no_such_parameter=1)
    invalid_argument(context, None, parameters, "slow", "x_no_such_parameter", "unknown parameter")


@case("invoke.missing-parameter", "INV-2 INV-3",
      "slow without its required seconds parameter fails with invalid_argument naming it.")
def _missing_parameter(context: ServerContext) -> None:
    slot = context.parameter("slow", "seconds")
    if slot.get("optional") or "default" in slot:
        raise CaseSkipped("slow.seconds has a default or is optional")
    invalid_argument(context, None, {}, "slow", "seconds", "missing parameter")


@case("invoke.wrong-parameter-type", "INV-2",
      "A float parameter given a string, or a bool, fails with invalid_argument naming it.")
def _wrong_parameter_type(context: ServerContext) -> None:
    context.parameter("slow", "seconds")
    invalid_argument(context, None, {"seconds": "fast"}, "slow", "seconds", "string for a float")
    invalid_argument(context, None, {"seconds": True}, "slow", "seconds", "bool for a float")


@case("invoke.parameter-out-of-range", "INV-2",
      "A parameter below its minimum fails with invalid_argument naming it.")
def _parameter_out_of_range(context: ServerContext) -> None:
    slot = context.parameter("slow", "seconds")
    if not wire.is_number(slot.get("minimum")):
        raise CaseSkipped("slow.seconds has no minimum")
    invalid_argument(context, None, {"seconds": float(slot["minimum"]) - 1.0}, "slow", "seconds",
                     "value below minimum")


@case("invoke.wrong-input-type", "INV-2",
      "A transform given for an image input fails with invalid_argument naming the input.")
def _wrong_input_type(context: ServerContext) -> None:
    source, _ = echo_slots(context, "image")
    invalid_argument(context, {source: data.make_transform()}, None, "echo", source, "transform for an image")


@case("invoke.unknown-data-type", "DATA-1",
      "A data value of unknown type fails with invalid_argument.")
def _unknown_data_type(context: ServerContext) -> None:
    source, _ = echo_slots(context, "image")
    invalid_argument(context, {source: {"type": "x-hologram", "space": "RAS"}}, None, "echo", None,
                     "unknown data type")


def _bad_image_case(case_id: str, requirements: str, description: str, **changes: Any) -> None:
    def run(context: ServerContext) -> None:
        inputs, source = image_input(context, **changes)
        invalid_argument(context, inputs, None, "echo", None, description)
    case(case_id, requirements, description)(run)


_bad_image_case("invoke.image.unknown-dtype", "ARRAY-3",
                "An image of dtype float16 fails with invalid_argument (a dtype is never guessed).",
                dtype="float16")
_bad_image_case("invoke.image.bad-byte-order", "ARRAY-4",
                "An image with byte_order \"middle\" fails with invalid_argument.", byte_order="middle")
_bad_image_case("invoke.image.zero-components", "ARRAY-4",
                "An image with components 0 fails with invalid_argument.", components=0)
_bad_image_case("invoke.image.bad-last-row", "IMG-2",
                "An image whose ijk_to_space last row is [0, 0, 1, 1] fails with invalid_argument.",
                ijk_to_space=data.oblique_matrix()[:12] + [0.0, 0.0, 1.0, 1.0])
_bad_image_case("invoke.image.singular-matrix", "IMG-2",
                "An image whose ijk_to_space upper 3x3 is singular fails with invalid_argument.",
                ijk_to_space=[1.0, 0.0, 0.0, 5.0, 2.0, 0.0, 0.0, 6.0, 0.0, 0.0, 0.0, 7.0, 0.0, 0.0, 0.0, 1.0])
_bad_image_case("invoke.image.bad-space", "DATA-2",
                "An image with space \"XYZ\" fails with invalid_argument.", space="XYZ")
_bad_image_case("invoke.image.missing-space", "DATA-2 DATA-3",
                "An image without space fails with invalid_argument.", space=OMIT)
_bad_image_case("invoke.image.scalar-components", "IMG-4",
                "A scalar image with 3 components fails with invalid_argument.", components=3,
                data=wire.Bulk(bytes(4 * 3 * 2 * 3 * 2)))
_bad_image_case("invoke.image.float-label", "IMG-4",
                "A label image of dtype float32 fails with invalid_argument.", kind="label",
                dtype="float32", data=wire.Bulk(bytes(4 * 3 * 2 * 4)))
_bad_image_case("invoke.image.dims-overflow", "IMG-3 SEC-4",
                "An image whose dims multiply beyond 2^64 fails with invalid_argument (overflow checked).",
                dims=[1 << 40, 1 << 40, 1 << 40])


@case("invoke.image.data-length", "IMG-3 ARRAY-1 ERR-3",
      "An image whose data is one byte short fails with invalid_argument, and the error repeats "
      "no voxel data.")
def _data_length(context: ServerContext) -> None:
    marker = b"PATIENT-7f3a9c-SECRET" * 4
    voxels = (marker * 2)[:4 * 3 * 2 * 2 - 1]
    inputs, _ = image_input(context, data=wire.Bulk(voxels))
    error = invalid_argument(context, inputs, None, "echo", None, "data one byte short")
    text = repr(wire.describe_value(error))
    if b"PATIENT".decode() in text or marker[:8].hex() in text:
        raise CaseFailed("the error message or details repeat voxel data [ERR-3]")


@case("invoke.mesh.bad-connectivity", "MESH-1",
      "A mesh whose connectivity holds an index past its points fails with invalid_argument; "
      "so does one whose offsets do not start at 0.")
def _bad_connectivity(context: ServerContext) -> None:
    source, _ = echo_slots(context, "mesh")
    mesh = data.make_mesh()
    mesh["polys"]["connectivity"] = data.typed_array(data.np.array([0, 1, 2, 3, 4, 5, 9]), "int64")
    invalid_argument(context, {source: mesh}, None, "echo", None, "connectivity out of range")
    mesh = data.make_mesh()
    mesh["lines"]["offsets"] = data.typed_array(data.np.array([1, 3]), "int64")
    invalid_argument(context, {source: mesh}, None, "echo", None, "offsets not starting at 0")


@case("invoke.mesh.point-data-count", "MESH-2",
      "A point data array with one tuple too few fails with invalid_argument.")
def _point_data_count(context: ServerContext) -> None:
    source, _ = echo_slots(context, "mesh")
    mesh = data.make_mesh()
    mesh["point_data"][0] = {"name": "curvature", **data.typed_array(data.np.zeros(8), "float32")}
    invalid_argument(context, {source: mesh}, None, "echo", None, "point data count")


@case("invoke.transform.bad", "XFM-1",
      "A transform whose last row is not [0, 0, 0, 1], or whose direction is \"to_child\", fails "
      "with invalid_argument.")
def _bad_transform(context: ServerContext) -> None:
    source, _ = echo_slots(context, "transform")
    transform = data.make_transform()
    transform["matrix"] = transform["matrix"][:15] + [2.0]
    invalid_argument(context, {source: transform}, None, "echo", None, "transform last row")
    transform = dict(data.make_transform(), direction="to_child")
    invalid_argument(context, {source: transform}, None, "echo", None, "transform direction")


@case("invoke.points.label-count", "PTS-1",
      "Four points with three labels fail with invalid_argument.")
def _points_labels(context: ServerContext) -> None:
    source, _ = echo_slots(context, "points")
    points = dict(data.make_points(), labels=["a", "b", "c"])
    invalid_argument(context, {source: points}, None, "echo", None, "labels count")


@case("invoke.table.ragged", "TBL-1",
      "A table whose columns differ in length, or repeat a name, fails with invalid_argument.")
def _table_ragged(context: ServerContext) -> None:
    source, _ = echo_slots(context, "table")
    table = data.make_table()
    table["columns"][2] = {"name": "name", "dtype": "string", "values": ["a", "b"]}
    invalid_argument(context, {source: table}, None, "echo", None, "ragged columns")
    table = data.make_table()
    table["columns"][3]["name"] = "name"
    invalid_argument(context, {source: table}, None, "echo", None, "duplicate column names")


@case("invoke.processor-failure", "INV-5 ERR-1",
      "A processor that raises yields an error response (its own code or processor_failed); "
      "the connection and the server go on.")
def _processor_failure(context: ServerContext) -> None:
    context.parameter("fail", "code")
    peer = context.connect()
    error = peer.response(peer.invoke("fail", parameters={"code": 1234}))
    if "error" not in error:
        raise CaseFailed("fail returned a result [INV-5]")
    code = error["error"].get("code")
    if code not in (1234, wire.ERROR_CODES["processor_failed"]):
        raise CaseFailed(f"fail(code=1234) answered {wire.error_name(code)}, expected 1234 or processor_failed [INV-5]")
    peer.call("ping")
    context.check_serving()


@case("invoke.deadline-exceeded", "INV-6 CANCEL-3",
      "A 30 s call with a deadline of 0.2 s is answered deadline_exceeded within the deadline "
      "plus the server's cancel_grace.")
def _deadline_exceeded(context: ServerContext) -> None:
    peer = context.connect()
    call = slow_call(peer, context, 30.0, 300, deadline=0.2)
    peer.error(call, "deadline_exceeded", timeout=0.2 + peer.limits.cancel_grace + context.timeout)
    still_open(peer, "deadline exceeded")


@case("invoke.deadline-not-reached", "INV-6",
      "A short call with a generous deadline returns its result.")
def _deadline_not_reached(context: ServerContext) -> None:
    peer = context.connect()
    check_outputs(context, "slow", peer.result(slow_call(peer, context, 0.05, 1, deadline=60.0)))


# ---------------------------------------------------------------------------------------------
# Progress (section 6.4) and cancel (section 6.5)


@case("progress.monotonic", "PROG-1 PROG-2 PROG-3 CAP-3",
      "With progress in force, a 0.6 s call in 6 steps reports progress for its own id, never "
      "decreasing, in [0, 1], and none after its response.")
def _progress_monotonic(context: ServerContext) -> None:
    context.require_capability("progress")
    peer = context.connect(["progress"])
    call = slow_call(peer, context, 0.6, 6)
    peer.result(call)
    peer.sync()
    if not peer.fractions.get(call):
        raise CaseNonStrict("no progress for a 0.6 s call although progress is in force [CAP-3]")


@case("progress.concurrent-calls", "PROG-1 PROG-3",
      "Two concurrent calls each report progress under their own id, each never decreasing.")
def _progress_concurrent(context: ServerContext) -> None:
    context.require_capability("progress")
    peer = context.connect(["progress"])
    first = slow_call(peer, context, 0.4, 4)
    second = slow_call(peer, context, 0.3, 3)
    peer.result(first)
    peer.result(second)
    peer.sync()


@case("progress.answer-not-delayed", "PROG-4 FRAME-13",
      "A call that reports progress and returns at once is answered without waiting for the "
      "client's delayed acknowledgement: of 20 such calls in a row, the fastest quarter take "
      "under 30 ms each (with Nagle's algorithm on, every one takes 40 ms or more).",
      level="SHOULD")
def _progress_answer_not_delayed(context: ServerContext) -> None:
    context.require_capability("progress")
    peer = context.connect(["progress"])
    round_trips = []
    for _ in range(30):
        started = time.monotonic()
        peer.result(slow_call(peer, context, 0.0, 2))
        round_trips.append(time.monotonic() - started)
    # A connection's first segments are acknowledged at once, so only the last 20 calls count.
    quarter = sorted(round_trips[10:])[5]
    if quarter > 0.030:
        raise CaseNonStrict(f"a call that reports progress and returns at once took {quarter * 1e3:.0f} "
                            "ms or more in a quarter of 20 calls: the response waits for the "
                            "client's acknowledgement of the progress (TCP_NODELAY?) [PROG-4]")


@case("progress.not-in-force", "CAP-3",
      "Without progress in force the server sends no progress notifications.")
def _progress_not_in_force(context: ServerContext) -> None:
    context.parameter("slow", "seconds")
    peer = context.connect([])
    peer.result(slow_call(peer, context, 0.3, 3))
    peer.sync()


@case("cancel.running-call", "CANCEL-1 CANCEL-2 CANCEL-3",
      "Cancelling a running 30 s call gets exactly one response, cancelled, within the server's "
      "cancel_grace.")
def _cancel_running(context: ServerContext) -> None:
    context.require_capability("cancel")
    peer = context.connect(["progress"])
    call = slow_call(peer, context, 30.0, 300)
    if "progress" not in peer.in_force or peer.poll(
            lambda m: m.get("kind") == "notification" and m.get("method") == "progress", 2.0) is None:
        peer.sync()
    peer.cancel(call)
    peer.error(call, "cancelled", timeout=peer.limits.cancel_grace + context.timeout)
    still_open(peer, "cancel")


@case("cancel.race-with-completion", "CANCEL-2",
      "Cancels sent right after short calls race their completion: each call still gets exactly "
      "one response (its result or cancelled).")
def _cancel_race(context: ServerContext) -> None:
    context.require_capability("cancel")
    peer = context.connect()
    calls = []
    for _ in range(5):
        call = slow_call(peer, context, 0.01, 1)
        peer.cancel(call)
        calls.append(call)
    for call in calls:
        response = peer.response(call, timeout=peer.limits.cancel_grace + context.timeout)
        if "error" in response:
            expect_code(response["error"], ("cancelled",), f"cancelled call {call}")
    still_open(peer, "cancel races")


@case("cancel.unknown-id", "CANCEL-4",
      "A cancel for an id never used is ignored: no response, the connection stays open.")
def _cancel_unknown(context: ServerContext) -> None:
    peer = context.connect()
    peer.cancel(987654321)
    still_open(peer, "cancel of an unknown id")


@case("cancel.already-answered", "CANCEL-4",
      "A cancel for a request already answered is ignored.")
def _cancel_answered(context: ServerContext) -> None:
    peer = context.connect()
    request_id = peer.request("ping")
    peer.result(request_id)
    peer.cancel(request_id)
    still_open(peer, "cancel of an answered request")


@case("cancel.not-in-force", "CANCEL-5",
      "A server that does not list cancel ignores cancel and answers the call normally.")
def _cancel_not_in_force(context: ServerContext) -> None:
    if "cancel" in context.info.capabilities:
        raise CaseSkipped("the server lists cancel")
    peer = context.connect()
    call = slow_call(peer, context, 0.3, 3)
    peer.cancel(call)
    peer.result(call)


# ---------------------------------------------------------------------------------------------
# Limits (section 7)


@case("limits.too-many-in-flight", "LIMIT-2",
      "With max_in_flight calls open, a ping and a catalog are still answered and one more "
      "invoke gets too_many_in_flight; the open calls are answered once each and capacity "
      "returns.")
def _too_many_in_flight(context: ServerContext) -> None:
    peer = context.connect()
    count = peer.limits.max_in_flight
    if count > 256:
        raise CaseSkipped(f"server max_in_flight {count} too large to fill")
    seconds = long_seconds(peer)
    calls = [slow_call(peer, context, seconds, 1) for _ in range(count)]
    peer.call("ping")
    peer.call("catalog")
    extra = slow_call(peer, context, 0.0)
    peer.error(extra, "too_many_in_flight")
    for call in calls:
        settle(peer, call, context)
    peer.call("ping")


@case("limits.client-max-frame", "LIMIT-1 LIMIT-3",
      "A client announcing max_frame 65536 gets too_large for an echo whose output would not "
      "fit, never a larger frame.")
def _client_max_frame(context: ServerContext) -> None:
    source, _ = echo_slots(context, "image")
    limits = dict(context.hello()["limits"], max_frame=65536)
    peer = context.connect(limits=limits)
    request_id = peer.invoke("echo", {source: data.make_image("uint8", (100, 100, 10))})
    peer.error(request_id, "too_large")
    still_open(peer, "output over the client's max_frame")


@case("limits.catalog-over-client-max-frame", "LIMIT-1 LIMIT-3 LIMIT-11",
      "A client announcing a max_frame of 400 bytes, below the size of the server's catalog, gets "
      "too_large under the catalog request's id, never a larger frame; ping still works.")
def _catalog_over_client_max_frame(context: ServerContext) -> None:
    max_frame = 400
    catalog = {"kind": "response", "id": 1,
               "result": {"processors": list(context.info.processors.values())}}
    if len(wire.encode_frame(catalog)) <= max_frame:
        raise CaseSkipped(f"the server's catalog fits in {max_frame} bytes")
    limits = dict(context.hello()["limits"], max_frame=max_frame)
    peer = context.connect(limits=limits)
    peer.error(peer.request("catalog"), "too_large")
    peer.call("ping")
    still_open(peer, "catalog over the client's max_frame")


@case("limits.catalog-over-client-max-depth", "LIMIT-11",
      "A client announcing a max_depth one below the nesting of the server's catalog gets "
      "too_large under the catalog request's id, never a head it would refuse; ping still works.")
def _catalog_over_client_max_depth(context: ServerContext) -> None:
    catalog = {"kind": "response", "id": 1,
               "result": {"processors": list(context.info.processors.values())}}
    encoded = wire.encode_frame(catalog)[wire.HEADER_SIZE:]
    depth = next(d for d in range(1, 1 << 10) if _fits_depth(encoded, d))
    if depth <= 3:  # a too_large response (response, error, details) must still fit
        raise CaseSkipped(f"the server's catalog is only {depth} deep")
    limits = dict(context.hello()["limits"], max_depth=depth - 1)
    peer = context.connect(limits=limits)
    peer.error(peer.request("catalog"), "too_large")
    peer.call("ping")
    still_open(peer, "catalog deeper than the client's max_depth")


def _fits_depth(head: bytes, max_depth: int) -> bool:
    try:
        wire.decode_msgpack(head, max_depth)
    except wire.WireError:
        return False
    return True


# ---------------------------------------------------------------------------------------------
# Compression (sections 3.2, 4.4)


def _codec_echo(context: ServerContext, codec: str) -> None:
    capability = wire.CODEC_CAPABILITIES[codec]
    context.require_capability(capability)
    peer = context.connect([capability])
    if capability not in peer.in_force:
        raise CaseFailed(f"server listed {capability} in the probe but not now")
    image = data.make_image("int16", (32, 32, 8), codec=codec,
                            values=data.np.arange(32 * 32 * 8, dtype=data.np.int16) % 300)
    table = data.make_table()
    echo(context, [image, table], peer)


@case("compression.zstd", "BULK-5 CODEC-1 CODEC-2 CODEC-4",
      "With codec.zstd in force, an echo whose image is zstd-compressed (next to an uncompressed "
      "table in the same frame) comes back unchanged.")
def _zstd(context: ServerContext) -> None:
    _codec_echo(context, "zstd")


@case("compression.lz4", "BULK-5 CODEC-1 CODEC-2 CODEC-4",
      "With codec.lz4 in force, an echo whose image is lz4-compressed comes back unchanged.")
def _lz4(context: ServerContext) -> None:
    _codec_echo(context, "lz4")


@case("compression.not-in-force", "CAP-2 BULK-5 BULK-9 CODEC-5",
      "Offered no codec, a zstd or lz4 segment is refused with unsupported_codec (not fatal).")
def _not_in_force(context: ServerContext) -> None:
    source, _ = echo_slots(context, "image")
    peer = context.connect([])
    for codec in ("zstd", "lz4"):
        image = data.make_image("uint8", (8, 8, 2), codec=codec)
        request_id = peer.invoke("echo", {source: image})
        rejected(peer, ("unsupported_codec",), request_id, f"{codec} segment not in force",
                 under_id=True)
    still_open(peer, "segments with codecs not in force")


@case("compression.listed-but-not-offered", "CODEC-1 CAP-4",
      "A server that does not list an offered codec refuses segments of it with unsupported_codec.")
def _listed_check(context: ServerContext) -> None:
    missing = [codec for codec, capability in wire.CODEC_CAPABILITIES.items()
               if capability not in context.info.capabilities]
    if not missing:
        raise CaseSkipped("the server lists every codec")
    source, _ = echo_slots(context, "image")
    peer = context.connect(["codec.zstd", "codec.lz4"])
    for codec in missing:
        request_id = peer.invoke("echo", {source: data.make_image("uint8", (8, 8, 2), codec=codec)})
        rejected(peer, ("unsupported_codec",), request_id, f"{codec} segment, codec not listed",
                 under_id=True)


def _compressed_peer(context: ServerContext) -> tuple[Peer, str]:
    for codec in ("zstd", "lz4"):
        if wire.CODEC_CAPABILITIES[codec] in context.info.capabilities:
            return context.connect([wire.CODEC_CAPABILITIES[codec]]), codec
    raise CaseSkipped("the server lists no codec")


def _bad_segment(peer: Peer, context: ServerContext, payload: bytes, raw_length: int, codec: str,
                 expected: tuple[str, ...], what: str) -> None:
    source, _ = echo_slots(context, "image")
    image = data.make_image("uint8", (8, 8, 4))
    image["data"] = wire.Bulk(image["data"].data, codec=codec, payload=payload, ref_raw_length=raw_length)
    request_id = peer.invoke("echo", {source: image})
    rejected(peer, expected, request_id, what, under_id=True)


@case("compression.raw-length-mismatch", "BULK-5",
      "A compressed segment whose raw_length is one more than its decompressed size is invalid_message.")
def _raw_length_mismatch(context: ServerContext) -> None:
    peer, codec = _compressed_peer(context)
    raw = bytes(range(256))
    _bad_segment(peer, context, compression.compress(codec, raw), len(raw) + 1, codec,
                 ("invalid_message",), "raw_length mismatch")
    still_open(peer, "raw_length mismatch")


@case("compression.corrupt", "BULK-5",
      "A compressed segment of garbage after a valid frame magic is invalid_message.")
def _corrupt(context: ServerContext) -> None:
    peer, codec = _compressed_peer(context)
    magic = compression.ZSTD_MAGIC if codec == "zstd" else compression.LZ4_MAGIC
    garbage = struct.pack("<I", magic) + bytes([0xFF, 0x13, 0x77, 0x00, 0xAB]) * 10
    _bad_segment(peer, context, garbage, 256, codec, ("invalid_message",), "corrupt compressed segment")
    still_open(peer, "corrupt compressed segment")


@case("compression.trailing-bytes", "BULK-8",
      "A compressed segment holding a valid frame followed by extra bytes is invalid_message.")
def _trailing(context: ServerContext) -> None:
    peer, codec = _compressed_peer(context)
    raw = bytes(range(256))
    _bad_segment(peer, context, compression.compress(codec, raw) + b"\x00\x01\x02", len(raw), codec,
                 ("invalid_message",), "compressed frame followed by extra bytes")
    still_open(peer, "trailing bytes after a compressed frame")


@case("compression.unknown-codec", "BULK-7",
      "A bulk reference with codec 9 or the reserved codec 0 is unsupported_codec.")
def _unknown_codec(context: ServerContext) -> None:
    peer = context.connect(["codec.zstd", "codec.lz4"])
    source, _ = echo_slots(context, "image")
    for codec_id in (9, 0):
        image = data.make_image("uint8", (8, 8, 4))
        length = len(image["data"].data)
        image["data"] = wire.bulk_ref_bytes(0, length, codec_id, length)
        request_id = peer.invoke("echo", {source: image}, trailing_bulk=bytes(length))
        rejected(peer, ("unsupported_codec",), request_id, f"codec {codec_id}", under_id=True)
    still_open(peer, "unknown codecs")


@case("compression.bomb", "BULK-6 SEC-4",
      "A 40-byte zstd segment claiming raw_length beyond max_frame is frame_too_large; one that "
      "expands to 64 MiB while claiming 1 MiB is invalid_message: neither is decompressed in full.",
      hostile=True)
def _bomb(context: ServerContext) -> None:
    context.require_capability("codec.zstd")
    peer = context.connect(["codec.zstd"])
    bomb = compression.zstd_rle_bomb(0, 64 << 20)
    _bad_segment(peer, context, bomb, min(peer.limits.max_frame + 1, (1 << 64) - 1), "zstd",
                 ("frame_too_large",), "raw_length over max_frame")
    _bad_segment(peer, context, bomb, 1 << 20, "zstd", ("invalid_message",),
                 "segment expanding beyond its raw_length")
    still_open(peer, "decompression bombs")


@case("compression.server-respects-codecs", "CAP-2",
      "Offered no codec, the server sends a highly compressible 1 MiB echo uncompressed.")
def _respects_codecs(context: ServerContext) -> None:
    peer = context.connect([])
    echo(context, [data.make_image("uint8", (128, 128, 64), values=data.np.zeros(128 * 128 * 64, "u1"))], peer)


# ---------------------------------------------------------------------------------------------
# Bulk references (section 3.2)


def _bad_reference_case(case_id: str, requirements: str, description: str, reference: wire.Ext,
                        trailing: int = 64) -> None:
    def run(context: ServerContext) -> None:
        inputs, source = image_input(context)
        inputs[source]["data"] = reference
        peer = context.connect()
        request_id = peer.invoke("echo", inputs, trailing_bulk=bytes(trailing))
        rejected(peer, ("invalid_message",), request_id, description, under_id=True)
        still_open(peer, description)
    case(case_id, requirements + " BULK-9", description)(run)


_bad_reference_case("bulk.out-of-range", "BULK-1",
                    "A bulk reference ending 8 bytes past bulk_length is invalid_message.",
                    wire.bulk_ref_bytes(0, 72))
_bad_reference_case("bulk.offset-overflow", "BULK-1",
                    "A bulk reference whose offset + length overflows 64 bits is invalid_message.",
                    wire.bulk_ref_bytes((1 << 64) - 8, 48))
_bad_reference_case("bulk.bad-ext-length", "BULK-4",
                    "An ext type 1 value of 12 bytes is invalid_message.",
                    wire.Ext(1, bytes(12)))
_bad_reference_case("bulk.unknown-ext-type", "BULK-4",
                    "An ext value of type 7 where a bulk reference is expected is invalid_message.",
                    wire.Ext(7, struct.pack(">QQ", 0, 48)))
_bad_reference_case("bulk.timestamp-ext", "BULK-4",
                    "A MessagePack timestamp (ext type -1) is invalid_message.",
                    wire.Ext(-1, struct.pack(">I", 1700000000)))


@case("bulk.unaligned-accepted", "BULK-2",
      "A segment starting at bulk offset 3 is accepted (receivers do not require alignment).")
def _unaligned(context: ServerContext) -> None:
    image = data.make_image("float64", (3, 3, 3))
    image["data"].place_at = 3
    echo(context, [image])


@case("bulk.layout-freedom", "BULK-3",
      "Segments in reverse order with a gap between them, an uncovered non-zero tail, two "
      "references to the same bytes and a segment of length 0 are all accepted.")
def _layout(context: ServerContext) -> None:
    peer = context.connect()
    points = data.make_points()
    image = data.make_image("int16", (4, 4, 2))
    points["points"]["data"].place_at = 0
    image["data"].place_at = 200
    echo(context, [image, points], peer, trailing_bulk=b"\xee" * 40)
    shared = data.make_mesh()
    curvature = shared["point_data"][0]
    curvature["data"].place_at = 4096
    shared["point_data"].append(dict(curvature, name="copy", data=wire.Bulk(curvature["data"].data, place_at=4096)))
    echo(context, [shared, data.make_image("uint8", (0, 0, 0))], peer)


@case("bulk.server-aligned", "BULK-2",
      "Segments in the server's frames start at multiples of 8 (SHOULD).", level="SHOULD")
def _server_aligned(context: ServerContext) -> None:
    peer = context.connect()
    echo(context, [data.make_image("uint8", (3, 3, 1)), data.make_mesh(), data.make_table()], peer)
    if peer.notes:
        raise CaseFailed("; ".join(sorted(set(peer.notes))))


# ---------------------------------------------------------------------------------------------
# goodbye (section 6.7)


@case("goodbye.answers-open-first", "BYE-2",
      "After goodbye, the server answers the open call first, then goodbye, then closes.")
def _goodbye_order(context: ServerContext) -> None:
    peer = context.connect()
    call = slow_call(peer, context, 0.3, 3)
    bye = peer.request("goodbye")
    response = peer.response(bye, timeout=context.timeout + 1.0)
    if call not in peer.answered:
        raise CaseFailed("goodbye was answered before the open call [BYE-2]")
    if "error" in response:
        raise CaseFailed(f"goodbye failed: {wire.describe_value(response['error'])}")
    peer.expect_closed(what="after answering goodbye [BYE-2]")


@case("goodbye.requests-after", "BYE-2",
      "A ping written right after goodbye is answered shutting_down before goodbye's response, "
      "or not at all; never answered normally, never after goodbye.")
def _goodbye_after(context: ServerContext) -> None:
    peer = context.connect()
    bye, ping = peer.new_id(), peer.new_id()
    peer.open[bye], peer.open[ping] = "goodbye", "ping"
    peer.send_raw(wire.encode_frame(request_frame(bye, "goodbye")) + wire.encode_frame(request_frame(ping)),
                  "goodbye and ping in one write")
    first = peer.wait_for(lambda m: m.get("kind") == "response" and m.get("id") in (bye, ping),
                          "response to goodbye")
    if first["id"] == ping:
        if "error" not in first:
            raise CaseFailed("a ping sent after goodbye was answered normally [BYE-2]")
        expect_code(first["error"], ("shutting_down",), "ping after goodbye")
        peer.response(bye)
    peer.expect_closed(what="after answering goodbye [BYE-2]")
    if any(m.get("kind") == "response" and m.get("id") == ping for m in peer.inbox):
        raise CaseFailed("the ping sent after goodbye was answered after goodbye's response [BYE-2]")


# ---------------------------------------------------------------------------------------------
# Timings, errors, robustness


@case("timings.present", "TIME-1 TIME-2",
      "Responses (ping, catalog, invoke) carry timings with receiving, queued, computing and "
      "sending (SHOULD).", level="SHOULD")
def _timings(context: ServerContext) -> None:
    peer = context.connect()
    responses = [peer.response(peer.request("ping")), peer.response(peer.request("catalog"))]
    if "echo" in context.info.processors:
        inputs, _ = image_input(context)
        responses.append(peer.response(peer.invoke("echo", inputs)))
    problems = []
    for response in responses:
        timings = response.get("timings")
        if timings is None:
            problems.append(f"response {response.get('id')} has no timings")
            continue
        missing = [key for key in ("receiving", "queued", "computing", "sending") if key not in timings]
        if missing:
            problems.append(f"response {response.get('id')} timings lack {missing}")
    if problems:
        raise CaseFailed("; ".join(problems) + " [TIME-1]")


@case("robustness.other-connections-unaffected", "DROP-2",
      "While one connection has a call open, another sends garbage and is closed: the first "
      "connection's call completes and it still answers pings.", hostile=True)
def _other_connections(context: ServerContext) -> None:
    calm = context.connect()
    call = slow_call(calm, context, 0.5, 2)
    hostile = context.peer()
    hostile.send_raw(b"\xff" * 64, "garbage")
    hostile.close()
    calm.result(call)
    calm.call("ping")


@case("robustness.concurrent-connections", "DROP-2",
      "Twenty connections open at once each complete a handshake and a ping.")
def _concurrent_connections(context: ServerContext) -> None:
    peers = []
    for _ in range(20):
        hello = context.hello()
        peer = context.peer(offered=hello["capabilities"])
        peer.send_head(hello)
        peers.append((peer, hello))
    for peer, hello in peers:
        message = peer.wait_for(lambda m: True, "server hello")
        if message.get("kind") != "hello":
            raise CaseFailed(f"connection refused: {wire.describe_value(message)}")
        peer.server_hello = message
        peer._check_server_hello(hello)
    for peer, _ in peers:
        peer.call("ping")


@case("robustness.silent-connection", "DROP-2",
      "A connection closed before sending any byte does not disturb the server.", hostile=True)
def _silent(context: ServerContext) -> None:
    context.peer().close()


@case("robustness.drop-with-open-calls", "DROP-1 DROP-2",
      "A connection dropped with long calls open (the server must cancel them) leaves the server "
      "serving.", hostile=True)
def _drop_with_calls(context: ServerContext) -> None:
    peer = context.connect()
    for _ in range(4):
        slow_call(peer, context, 30.0, 300)
    peer.call("ping")
    peer.close()


# Segments passed as sealed memory files (section 3.5), in a module of their own.
from . import memfd_cases  # noqa: E402  (needs `case`, defined above)

memfd_cases.register(case)

# The timeouts and the connection cap (section 7.1), run when the server's configuration is given.
from . import availability_cases  # noqa: E402  (needs `case`, defined above)

availability_cases.register(case)
