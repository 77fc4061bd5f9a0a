"""Frames over a socket, with deadlines, and a recorder of every byte for the wire logs."""

from __future__ import annotations

import json
import select
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any, Iterable

from . import wire

MAX_LOGGED_BYTES = 4096


class PeerClosed(Exception):
    """The peer ended the stream (EOF or reset); `partial` if it ended inside a frame."""

    def __init__(self, message: str, partial: bool = False, buffered: int = 0) -> None:
        super().__init__(message)
        self.partial = partial
        self.buffered = buffered


class TimedOut(Exception):
    pass


@dataclass
class WireEntry:
    elapsed: float
    connection: str
    direction: str  # "send", "recv" or "note"
    data: bytes
    decoded: Any = None
    note: str = ""


class WireRecorder:
    """Collects every frame sent and received during one case, for the wire log."""

    def __init__(self) -> None:
        self.entries: list[WireEntry] = []
        self._start = time.monotonic()
        self._lock = threading.Lock()

    def record(self, connection: str, direction: str, data: bytes = b"", decoded: Any = None,
               note: str = "") -> None:
        with self._lock:
            self.entries.append(WireEntry(time.monotonic() - self._start, connection, direction,
                                          bytes(data), decoded, note))

    def render(self) -> str:
        lines = []
        arrows = {"send": "->", "recv": "<-", "note": "**"}
        with self._lock:
            entries = list(self.entries)
        for entry in entries:
            heading = f"[{entry.elapsed:8.3f}s] {entry.connection} {arrows[entry.direction]}"
            if entry.direction == "note":
                lines.append(f"{heading} {entry.note}")
                continue
            lines.append(f"{heading} {len(entry.data)} bytes" + (f" ({entry.note})" if entry.note else ""))
            shown = entry.data[:MAX_LOGGED_BYTES].hex()
            suffix = f" ... ({len(entry.data) - MAX_LOGGED_BYTES} more bytes)" if len(entry.data) > MAX_LOGGED_BYTES else ""
            lines.append(f"    hex: {shown}{suffix}")
            decoded = entry.decoded if entry.decoded is not None else _try_decode(entry.data)
            if decoded is not None:
                lines.append("    decoded: " + json.dumps(decoded, default=repr))
        return "\n".join(lines) + "\n"


def _try_decode(data: bytes) -> Any:
    """Best-effort rendering of bytes the suite sent, which may be deliberately malformed."""
    if len(data) < wire.HEADER_SIZE:
        return None
    try:
        header = wire.parse_header(data, wire.Limits(max_frame=1 << 64, max_head=1 << 32))
    except wire.WireError as error:
        return {"header": error.message}
    summary = {"flags": header.flags, "head_length": header.head_length,
               "bulk_length": header.bulk_length}
    if len(data) >= header.frame_size:
        try:
            head_end = wire.HEADER_SIZE + header.head_length
            value = wire.decode_msgpack(data[wire.HEADER_SIZE:head_end], max_depth=1 << 30)
            summary["head"] = wire.describe_value(value)
        except (wire.WireError, RecursionError) as error:
            summary["head"] = f"undecodable: {error}"
    else:
        summary["truncated"] = f"{len(data)} of {header.frame_size} bytes"
    return summary


class Connection:
    """One stream to a peer. `limits` and `codecs` are what this side accepts when receiving."""

    def __init__(self, sock: socket.socket, *, recorder: WireRecorder | None = None,
                 label: str = "conn", limits: wire.Limits | None = None,
                 codecs: Iterable[str] = ()) -> None:
        self.sock = sock
        self.recorder = recorder
        self.label = label
        self.limits = limits or wire.Limits()
        self.codecs = frozenset(codecs)
        self._buffer = bytearray()
        self._eof = False
        self.closed = False
        self.write_closed = False

    # -- sending

    def send_bytes(self, data: bytes, note: str = "") -> None:
        if self.recorder:
            self.recorder.record(self.label, "send", data, note=note)
        try:
            self.sock.sendall(data)
        except OSError as error:
            raise PeerClosed(f"send failed: {error}") from None

    def send(self, head: Any, note: str = "", **frame_options: Any) -> bytes:
        data = wire.encode_frame(head, **frame_options)
        self.send_bytes(data, note)
        return data

    def shutdown_write(self) -> None:
        self.write_closed = True
        if self.recorder:
            self.recorder.record(self.label, "note", note="half-closed (no more bytes sent)")
        try:
            self.sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            try:
                self.sock.close()
            except OSError:
                pass

    def pending(self) -> bool:
        """Bytes from the peer are waiting to be read (buffered, or readable right now)."""
        if self._buffer:
            return True
        readable, _, _ = select.select([self.sock], [], [], 0)
        if not readable:
            return False
        try:
            return bool(self.sock.recv(1, socket.MSG_PEEK))
        except OSError:
            return False

    @property
    def ended(self) -> bool:
        """The stream is over in either direction (closed by us, half-closed, or ended by the peer)."""
        return self.closed or self.write_closed or self._eof

    # -- receiving

    def _fill(self, count: int, deadline: float | None) -> None:
        while len(self._buffer) < count:
            if self.closed:
                raise PeerClosed("connection closed on this side", partial=bool(self._buffer))
            if self._eof:
                raise PeerClosed("peer closed the connection", partial=bool(self._buffer),
                                 buffered=len(self._buffer))
            if deadline is None:
                self.sock.settimeout(None)
            else:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimedOut("nothing received in time")
                self.sock.settimeout(remaining)
            try:
                chunk = self.sock.recv(max(65536, min(count - len(self._buffer), 1 << 24)))
            except socket.timeout:
                raise TimedOut("nothing received in time") from None
            except OSError as error:
                self._eof = True
                if self.recorder:
                    self.recorder.record(self.label, "note", note=f"connection reset: {error}")
                raise PeerClosed(f"connection reset: {error}", partial=bool(self._buffer)) from None
            if not chunk:
                self._eof = True
                if self.recorder:
                    self.recorder.record(self.label, "note", note="peer closed the connection")
                continue
            self._buffer += chunk

    def receive(self, timeout: float | None) -> wire.Frame:
        """The next frame (`timeout` None waits forever); raises TimedOut, PeerClosed, or WireError
        for bytes that break the spec, with `stage` "header" (fatal) or "head"."""
        deadline = None if timeout is None else time.monotonic() + timeout
        self._fill(wire.HEADER_SIZE, deadline)
        try:
            header = wire.parse_header(bytes(self._buffer[:wire.HEADER_SIZE]), self.limits)
        except wire.WireError as error:
            raw = bytes(self._buffer)
            self._buffer.clear()
            if self.recorder:
                self.recorder.record(self.label, "recv", raw, note=f"refused: {error}")
            error.stage = "header"
            raise
        self._fill(header.frame_size, deadline)
        data = bytes(self._buffer[:header.frame_size])
        del self._buffer[:header.frame_size]
        try:
            frame, _ = wire.decode_frame(data, self.limits, self.codecs)
        except wire.WireError as error:
            if self.recorder:
                self.recorder.record(self.label, "recv", data, note=f"refused: {error}")
            error.stage = "head"
            error.frame = data
            raise
        if self.recorder:
            self.recorder.record(self.label, "recv", data, decoded=wire.describe_value(frame.head))
        return frame

    def wait_closed(self, timeout: float) -> tuple[bool, list[bytes]]:
        """Waits for the peer to close; returns whether it did and any bytes it sent meanwhile."""
        deadline = time.monotonic() + timeout
        received = []
        if self._buffer:
            received.append(bytes(self._buffer))
            self._buffer.clear()
        while not self._eof:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False, received
            self.sock.settimeout(remaining)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                return False, received
            except OSError:
                self._eof = True
                break
            if not chunk:
                self._eof = True
                break
            received.append(chunk)
            if self.recorder:
                self.recorder.record(self.label, "recv", chunk, note="received while waiting for close")
        if self.recorder:
            self.recorder.record(self.label, "note", note="peer closed the connection")
        return True, received


def connect(address: tuple[str, Any], timeout: float) -> socket.socket:
    if address[0] == "unix":
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        sock.connect(address[1])
        return sock
    sock = socket.create_connection(address, timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def parse_address(text: str) -> tuple[str, Any]:
    """HOST:PORT, with [v6]:PORT for IPv6, or unix:PATH (returned as ("unix", PATH))."""
    if text.startswith("unix:") and len(text) > len("unix:"):
        return "unix", text[len("unix:"):]
    if text.startswith("["):
        host, _, port = text[1:].partition("]:")
    else:
        host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"expected HOST:PORT, got {text!r}")
    return host, int(port)
