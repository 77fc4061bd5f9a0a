"""Server cases for the availability requirements (protocol section 7.1): the hello, stall and
idle timeouts and the connection cap, and serving under attack. The timeouts and the cap are the
server's configuration and are not announced on the wire, so each case runs only when its option
gives the value (`--hello-timeout`, `--stall-timeout`, `--idle-timeout`, `--max-connections`) and
is skipped otherwise; the attack runs for `--attack-seconds`. A timeout must act within its value
plus `--timeout`, the suite's margin for any expected event."""

from __future__ import annotations

import select
import socket
import struct
import time
from typing import Any, Callable

from . import data, wire
from .framework import CaseFailed, CaseSkipped
from .server_mode import Peer, ServerContext, expect_code

MAX_CAP = 256  # a larger cap is not filled: the cap case is skipped
MOST_BULK = (1 << 64) - 1  # a header holds no larger bulk: a max_frame beyond it gets no oversized attack
GOOD_CLIENTS = 2  # under attack: the clients whose calls must all be served
MOST_ATTACK_ROUNDS = 100_000  # bounds the attack's loop whatever --attack-seconds says


class Watched:
    """A connection the server must close on a timeout, sending nothing first (section 7.1)."""

    def __init__(self, context: ServerContext, peer: Peer, what: str, since: float) -> None:
        self.context = context
        self.peer = peer
        self.what = what
        self.since = since
        self.received = bytearray()
        self.closed_after: float | None = None

    @property
    def sock(self) -> Any:
        return self.peer.conn.sock

    def read(self) -> None:
        """Reads what select found readable: bytes, or the end of the stream."""
        label = self.peer.conn.label
        try:
            chunk = self.sock.recv(65536)
        except OSError as error:
            self.context.recorder.record(label, "note", note=f"connection reset: {error}")
            chunk = b""
        if chunk:
            self.received += chunk
            self.context.recorder.record(label, "recv", chunk, note="sent by the server")
            return
        self.closed_after = time.monotonic() - self.since
        self.context.recorder.record(label, "note", note=f"closed by the server after {self.closed_after:.2f}s")
        self.peer.close()

    def check(self, limit: float, window: float, requirement: str) -> None:
        if self.closed_after is None:
            sent = f", and sent it {len(self.received)} bytes" if self.received else ""
            raise CaseFailed(f"the server did not close the {self.what} within {window:g}s (timeout {limit:g}s, "
                             f"margin --timeout {self.context.timeout:g}s){sent} {requirement}")
        if self.received:
            raise CaseFailed(f"the server sent {len(self.received)} bytes to the {self.what} before closing it "
                             f"after {self.closed_after:.2f}s: a timeout closes a connection like a dropped one, "
                             f"sending nothing (section 7.1) {requirement}")


def await_closes(watched: list[Watched], deadline: float,
                 pace: Callable[[], float | None] | None = None) -> None:
    """Reads the watched connections until all are closed or `deadline` passes. `pace`, if
    given, is called whenever it asked to be and returns when it next wants to be (None: never)."""
    wake = time.monotonic() if pace else None
    while True:
        now = time.monotonic()
        if wake is not None and now >= wake:
            wake = pace()
            continue
        waiting = [item for item in watched if item.closed_after is None]
        if not waiting or now >= deadline:
            return
        timeout = min(deadline, wake if wake is not None else deadline) - now
        readable, _, _ = select.select([item.sock for item in waiting], [], [], max(timeout, 0.0))
        for item in waiting:
            if item.sock in readable:
                item.read()


def register(case: Callable) -> None:
    @case("availability.hello-timeout", "LIMIT-5",
          "Given --hello-timeout: a connection that sends nothing, and one that trickles its hello "
          "a byte at a time, its last byte due when the timeout plus --timeout is over, are each "
          "closed within that time with nothing sent; a client connecting meanwhile is served.")
    def _hello_timeout(context: ServerContext) -> None:
        limit = context.configured("hello_timeout")
        window = limit + context.timeout
        silent = context.peer("silent")
        trickling = context.peer("trickling")
        opened = time.monotonic()
        hello = wire.encode_frame(context.hello())
        interval = window / (len(hello) - 1)  # the last byte goes at the deadline
        context.recorder.record(trickling.conn.label, "note",
                                note=f"sends its {len(hello)}-byte hello a byte every {interval * 1000:.1f} ms")
        watched = [Watched(context, silent, "connection that sent nothing", opened),
                   Watched(context, trickling, f"connection trickling its hello (a byte every "
                                               f"{interval * 1000:.1f} ms)", opened)]
        sent = 0

        def trickle() -> float | None:
            nonlocal sent
            if watched[1].closed_after is not None or sent == len(hello):
                return None
            try:
                trickling.conn.sock.sendall(hello[sent:sent + 1])
            except OSError:
                return None  # closed: the next read sees it
            sent += 1
            return opened + sent * interval

        meanwhile = context.connect_retrying(opened + limit, "served meanwhile")
        meanwhile.call("ping")
        meanwhile.close()  # before an idle timeout of the server may close it
        await_closes(watched, opened + window, trickle)
        context.recorder.record(trickling.conn.label, "note", note=f"{sent} of {len(hello)} hello bytes sent")
        for item in watched:
            item.check(limit, window, "[LIMIT-5]")

    @case("availability.stall-timeout", "LIMIT-7",
          "Given --stall-timeout: after the handshake, a frame header and part of the head it "
          "announces, then silence: the server closes the connection within the stall timeout plus "
          "--timeout, sending nothing; a client connecting meanwhile is served.")
    def _stall_timeout(context: ServerContext) -> None:
        limit = context.configured("stall_timeout")
        stalled = context.connect_retrying(time.monotonic() + context.timeout, "stalled")
        frame = wire.encode_frame({"kind": "request", "id": stalled.new_id(), "method": "ping"})
        cut = wire.HEADER_SIZE + 2
        stalled.send_raw(frame[:cut], f"the first {cut} of the {len(frame)} bytes of a ping; the rest never comes")
        started = time.monotonic()
        watched = Watched(context, stalled, f"connection whose frame stopped after {cut} of {len(frame)} bytes",
                          started)
        meanwhile = context.connect_retrying(started + limit, "served meanwhile")
        meanwhile.call("ping")
        meanwhile.close()  # before an idle timeout of the server may close it
        window = limit + context.timeout
        await_closes([watched], started + window)
        watched.check(limit, window, "[LIMIT-7]")

    @case("availability.idle-with-call-open", "LIMIT-6",
          "Given --idle-timeout: a connection whose only traffic is a slow call lasting twice the "
          "idle timeout (progress not offered, so nothing moves either way) is not closed: the call "
          "is answered and a ping follows.")
    def _idle_with_call_open(context: ServerContext) -> None:
        limit = context.configured("idle_timeout")
        seconds = 2 * limit
        parameters = context.slow_parameters(seconds)
        maximum = context.parameter("slow", "seconds").get("maximum")
        if isinstance(maximum, (int, float)) and seconds > maximum:
            raise CaseSkipped(f"slow takes at most {maximum:g} seconds, not the {seconds:g} the case needs")
        peer = context.connect_retrying(time.monotonic() + context.timeout, "call open", capabilities=[])
        call = peer.invoke("slow", parameters=parameters)
        started = time.monotonic()
        try:
            peer.result(call, timeout=seconds + context.timeout)
        except CaseFailed:
            if not peer.conn.ended:
                raise
            raise CaseFailed(f"the server closed the connection {time.monotonic() - started:.1f}s into a "
                             f"{seconds:g}s call (idle timeout {limit:g}s): it MUST NOT close a connection "
                             f"for idleness while a request is open [LIMIT-6]") from None
        peer.call("ping")

    @case("availability.connection-cap", "LIMIT-8",
          "Given --max-connections N: N connections are served; the next one, sending no hello, "
          "gets a connection-level too_many_connections and is closed; once one of the N closes, a "
          "new connection is served.")
    def _connection_cap(context: ServerContext) -> None:
        cap = context.configured("max_connections")
        if cap > MAX_CAP:
            raise CaseSkipped(f"--max-connections {cap}: the case opens at most {MAX_CAP} connections")
        until = time.monotonic() + context.timeout
        served = []
        for number in range(1, cap + 1):
            try:
                served.append(context.connect_retrying(until, f"served #{number}"))
            except CaseFailed as failure:
                raise CaseFailed(f"connection #{number} of --max-connections {cap} was not served: {failure} "
                                 "[LIMIT-8]") from None
        beyond = context.peer(f"beyond the cap #{cap + 1}")
        what = f"connection #{cap + 1}, beyond --max-connections {cap}, which sent no hello"
        try:
            message = beyond.wait_for(lambda m: True, "connection-level too_many_connections")
        except CaseFailed as failure:
            raise CaseFailed(f"{what}: {failure}; the server must answer it too_many_connections before any "
                             f"hello, without reading one, and close it [LIMIT-8]") from None
        if message.get("kind") != "response" or message.get("id") is not None or "error" not in message:
            raise CaseFailed(f"{what}: got {wire.describe_value(message)}, not a connection-level error [LIMIT-8]")
        expect_code(message["error"], ("too_many_connections",), f"{what} [LIMIT-8]")
        beyond.expect_closed(what="after too_many_connections [LIMIT-8]")
        served[0].close()
        try:
            replacement = context.connect_retrying(time.monotonic() + context.timeout, "after one closed")
        except CaseFailed as failure:
            raise CaseFailed(f"once one of the {cap} connections closed, a new one was still not served "
                             f"within {context.timeout:g}s: {failure} [LIMIT-8]") from None
        replacement.call("ping")
        for peer in [*served[1:], replacement]:
            peer.close()  # before an idle timeout of the server may close them

    _register_attack(case)


class Attack:
    """One connection of the attack: what it did, and, for one that sent a bad frame, whether the
    server closed it (in time)."""

    def __init__(self, context: ServerContext, peer: Peer, what: str, must_close: bool) -> None:
        self.peer = peer
        self.what = what
        self.must_close = must_close
        self.sent_at = time.monotonic()
        self.closed_after: float | None = None
        self.context = context

    def read(self) -> None:
        """Reads what select found readable; an error frame before the close is allowed."""
        try:
            chunk = self.peer.conn.sock.recv(65536)
        except OSError:
            chunk = b""
        if not chunk:
            self.closed_after = time.monotonic() - self.sent_at
            self.context.recorder.record(self.peer.conn.label, "note",
                                         note=f"closed by the server after {self.closed_after:.2f}s")
            self.peer.close()


def _reset(peer: Peer) -> None:
    """Closes with a TCP reset rather than an orderly close, where the socket can."""
    try:
        peer.conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass  # a Unix socket: closed as usual
    peer.close()


def _attack(context: ServerContext, kind: str, until: float) -> Attack:
    """Opens one attacking connection of `kind` and does its harm; returns it to be watched."""
    if kind == "bad-magic":
        peer = context.peer("attack: bad magic")
        try:
            peer.send_raw(wire.encode_frame({"kind": "hello"}, magic=b"XX"), "a frame with magic XX, no hello")
        except CaseFailed:
            pass  # refused at the cap and closed already: reading finds the end
        return Attack(context, peer, "connection that sent a bad frame magic", True)
    # A server at its cap may not have released the attack's dropped connections yet; one that
    # refuses without too_many_connections fails availability.connection-cap, not this case.
    peer = context.connect_retrying(until, f"attack: {kind}", retry_closed=True)
    if kind in ("drop-closed", "drop-reset"):
        peer.invoke("slow", parameters=context.slow_parameters(0.5))
        (_reset if kind == "drop-reset" else Peer.close)(peer)
        return Attack(context, peer, f"connection dropped with a call open ({kind})", False)
    if kind == "bad-head":
        peer.send_raw(wire.encode_frame(wire.Raw(b"\xc1\xc1\xc1")), "a head that is not MessagePack (0xc1)")
        try:
            peer.connection_error("invalid_message")
        except CaseFailed as failure:
            raise CaseFailed(f"a head that is not MessagePack: {failure} [MSG-11]") from None
        peer.close()
        return Attack(context, peer, "connection that sent a head that is not MessagePack", False)
    if kind == "oversized" and peer.limits.max_frame <= MOST_BULK - wire.HEADER_SIZE - 1:
        bulk = peer.limits.max_frame
        peer.send_raw(wire.frame_header(1, bulk), f"a header announcing a 1-byte head and a {bulk}-byte bulk, "
                                                   "over the server's max_frame")
        return Attack(context, peer, "connection that announced a frame over max_frame", True)
    frame = wire.encode_frame({"kind": "request", "id": peer.new_id(), "method": "ping"})
    peer.send_raw(frame[:wire.HEADER_SIZE + 1], "a ping cut after its header and one byte; then closed")
    peer.close()
    return Attack(context, peer, "connection closed inside a frame", False)


def _watch_closes(attacks: list[Attack], wait: float) -> bool:
    """Waits up to `wait` seconds for the attacks still expected to be closed; whether any still is."""
    waiting = [attack for attack in attacks if attack.must_close and attack.closed_after is None]
    if not waiting or wait < 0:
        return False
    readable, _, _ = select.select([attack.peer.conn.sock for attack in waiting], [], [], wait)
    for attack in waiting:
        if attack.peer.conn.sock in readable:
            attack.read()
    return any(attack.closed_after is None for attack in waiting)


ATTACKS = ("drop-closed", "bad-magic", "drop-reset", "bad-head", "truncated", "oversized")


def _echo_checked(context: ServerContext, peer: Peer, source: str, target: str, seed: int) -> None:
    dims = (1 + seed % 7, 1 + seed % 5, 1 + seed % 3)
    sent = data.make_image("int16", dims, seed=seed)
    try:
        result = peer.result(peer.invoke("echo", {source: sent}))
    except CaseFailed as failure:
        raise CaseFailed(f"{peer.conn.label}, under attack: {failure} [DROP-2]") from None
    outputs = result.get("outputs") if isinstance(result, dict) else None
    if not isinstance(outputs, dict) or target not in outputs:
        raise CaseFailed(f"{peer.conn.label}, under attack: echo returned no {target!r} [DROP-2]")
    try:
        data.compare_data(sent, outputs[target], f"output {target}")
    except data.Mismatch as mismatch:
        raise CaseFailed(f"{peer.conn.label}, under attack: echo altered the data: {mismatch} [DROP-2]") from None


def _register_attack(case: Callable) -> None:
    @case("availability.served-under-attack", "DROP-2 FRAME-7 MSG-11",
          "Given --attack-seconds S: for S seconds, two clients make echo calls, each checked byte "
          "for byte, while other connections, one at a time beside one that stays silent, drop with "
          "a call open (closed or reset), send a bad frame magic, a header announcing more than "
          "max_frame or a head that is not MessagePack, or close inside a frame. Every echo is "
          "answered within --timeout, unaltered; the bad head gets a connection-level "
          "invalid_message; every connection that sent a bad frame header is closed within "
          "--timeout (an error frame first is allowed).")
    def _served_under_attack(context: ServerContext) -> None:
        seconds = context.configured("attack_seconds")
        description = context.processor("echo")
        context.slow_parameters(0.5)
        source = data.find_slot(description, "inputs", "image")
        target = data.find_slot(description, "outputs", "image")
        if source is None or target is None:
            raise CaseSkipped("echo has no image input and output")
        started = time.monotonic()
        good = [context.connect_retrying(started + context.timeout, f"good client #{number}", retry_closed=True)
                for number in range(1, GOOD_CLIENTS + 1)]
        silent = context.peer("silent")  # holds a place and sends nothing
        attacks: list[Attack] = []
        calls = 0
        deadline = started + seconds
        for _round in range(MOST_ATTACK_ROUNDS):
            now = time.monotonic()
            if now >= deadline:
                break
            for peer in good:
                calls += 1
                _echo_checked(context, peer, source["name"], target["name"], calls)
            if not _watch_closes(attacks, 0.0):
                kind = ATTACKS[len(attacks) % len(ATTACKS)]
                attacks.append(_attack(context, kind, now + context.timeout))
        last = max((a.sent_at for a in attacks if a.must_close), default=time.monotonic())
        while _watch_closes(attacks, last + context.timeout - time.monotonic()):
            pass
        for attack in attacks:
            if attack.must_close and (attack.closed_after is None or attack.closed_after > context.timeout):
                raise CaseFailed(f"the server did not close the {attack.what} within --timeout "
                                 f"{context.timeout:g}s [FRAME-7]")
        silent.close()
        context.recorder.record(good[0].conn.label, "note",
                                note=f"{calls} echo calls served beside {len(attacks)} attacking connections")
        for peer in good:
            peer.call("ping")
