"""Framing (spec section 2): a 16-byte header, the head, then the bulk.

The reader learns a frame's size from its header and checks it against the limits before it
allocates anything [FRAME-3]; the bulk is then read straight into one freshly allocated buffer, in
which received arrays stay as views [FRAME-6].
"""

from __future__ import annotations

import struct
import time
from typing import Any, Callable, NamedTuple, Optional

import numpy as np

from .errors import ConnectionLost, ErrorCode, FatalProtocolError
from .transport import Transport

MAGIC = b"SB"
FORMAT = 1
HEADER_SIZE = 16
_HEADER = struct.Struct(">2sBBIQ")
_MAX_HEAD_LENGTH = 2**32 - 1

_EMPTY_BULK = memoryview(b"")


def encode_header(head_length: int, bulk_length: int) -> bytes:
    """The frame header for a head and a bulk of the given lengths; flags are zero [FRAME-2]."""
    if not 1 <= head_length <= _MAX_HEAD_LENGTH:
        raise ValueError("head length out of range")
    return _HEADER.pack(MAGIC, FORMAT, 0, head_length, bulk_length)


def parse_header(header, *, max_frame: int, max_head: int) -> tuple:
    """Validate a frame header against the receiver's limits; returns (head_length, bulk_length).

    Raises FatalProtocolError with ``malformed_frame`` [FRAME-1] or ``frame_too_large`` [FRAME-3],
    [FRAME-9]. A head_length of 0 passes: the empty head is then an ``invalid_message`` like any
    other head that is not one MessagePack object [FRAME-4], and the frame is consumed.
    """
    magic, fmt, _flags, head_length, bulk_length = _HEADER.unpack(header)
    if magic != MAGIC:
        raise FatalProtocolError(ErrorCode.MALFORMED_FRAME, "bad magic")
    if fmt != FORMAT:
        raise FatalProtocolError(ErrorCode.MALFORMED_FRAME, "unsupported frame format",
                                 {"format": fmt})
    if head_length > max_head:
        raise FatalProtocolError(ErrorCode.FRAME_TOO_LARGE, "head over the limit",
                                 {"head_length": head_length, "max_head": max_head})
    if HEADER_SIZE + head_length + bulk_length > max_frame:
        # The sum may exceed 2^64 - 1 and could not be sent back: report its parts.
        raise FatalProtocolError(ErrorCode.FRAME_TOO_LARGE, "frame over the limit",
                                 {"head_length": head_length, "bulk_length": bulk_length,
                                  "max_frame": max_frame})
    return head_length, bulk_length


#: How many bytes of a stream that is not made of frames are kept to quote in diagnostics.
QUOTED_BYTES = 64


def _not_a_frame(received: bytes) -> FatalProtocolError:
    error = FatalProtocolError(ErrorCode.MALFORMED_FRAME, "bad magic")
    error.received = received
    return error


def describe_stray_bytes(received: bytes) -> str:
    """What bytes that are not a frame look like, quoted (they came from the peer and are
    shown locally only, never sent)."""
    quoted = repr(received[:QUOTED_BYTES])
    if received[:1] in (b"\x15", b"\x16") and received[1:2] == b"\x03":
        return f"{quoted}: a TLS record (the server speaks TLS: use tls://HOST:PORT)"
    if received[:5] == b"HTTP/":
        return f"{quoted}: an HTTP answer (this is not a SlicerBridge server)"
    return quoted


class Frame(NamedTuple):
    head: bytearray
    bulk: memoryview
    #: perf_counter() when the frame's first byte was available, and when its last byte arrived.
    started: float
    finished: float
    #: The descriptors passed beside the frame on a Unix socket (memfd.ReceivedDescriptors).
    descriptors: Any = None

    @property
    def size(self) -> int:
        return HEADER_SIZE + len(self.head) + len(self.bulk)


class FrameReader:
    """Reads whole frames from a transport, with a small buffer for headers and small heads.

    Bytes beyond the buffer size go straight from the transport into their destination.
    """

    def __init__(self, transport: Transport, buffer_size: int = 65536):
        self._transport = transport
        self._buffer = bytearray(buffer_size)
        self._view = memoryview(self._buffer)
        self._start = 0
        self._end = 0

    def read_frame(self, *, max_frame: int, max_head: int,
                   admit: Optional[Callable[[int], bool]] = None) -> Optional[Frame]:
        """The next frame, or None when the stream ends cleanly between frames.

        ``admit(size)`` is asked once the header has announced the frame's size, before the rest
        is read; it may block (backpressure) and returns False to give the frame up.
        Raises ConnectionLost when the stream ends inside a frame [FRAME-8] or the frame is not
        admitted, and FatalProtocolError for a bad header.
        """
        if self._start == self._end and not self._refill():
            return None
        started = time.perf_counter()
        available = self._view[self._start:self._end]
        if bytes(available[:len(MAGIC)]) != MAGIC[:len(available)]:
            # Not a frame, even in part: say so now rather than wait for 16 bytes that may
            # never come (a child process that printed one line and exited).
            raise _not_a_frame(bytes(available[:QUOTED_BYTES]))
        header = bytearray(HEADER_SIZE)
        self._read_into(memoryview(header))
        try:
            head_length, bulk_length = parse_header(header, max_frame=max_frame,
                                                    max_head=max_head)
        except FatalProtocolError as error:
            if error.message == "bad magic":
                error.received = bytes(header) + bytes(
                    self._view[self._start:min(self._end, self._start + QUOTED_BYTES)])
            raise
        if admit is not None and not admit(HEADER_SIZE + head_length + bulk_length):
            raise ConnectionLost("reading given up while the server's byte budget was spent")
        head = bytearray(head_length)
        self._read_into(memoryview(head))
        if bulk_length:
            # np.empty leaves the pages untouched: the receive below writes each byte once.
            bulk = memoryview(np.empty(bulk_length, dtype=np.uint8))
            self._read_into(bulk)
        else:
            bulk = _EMPTY_BULK
        descriptors = None
        channel = getattr(self._transport, "descriptors", None)
        if channel is not None:  # they belong to the frame holding a read's last byte [FD-3]
            descriptors = channel.take(channel.received - (self._end - self._start))
        return Frame(head, bulk, started, time.perf_counter(), descriptors)

    def _refill(self) -> bool:
        self._start = 0
        self._end = self._transport.readinto(self._view)
        return self._end > 0

    def _read_into(self, target: memoryview) -> None:
        needed = len(target)
        filled = min(self._end - self._start, needed)
        if filled:
            target[:filled] = self._view[self._start:self._start + filled]
            self._start += filled
        while filled < needed:
            if needed - filled >= len(self._buffer):
                received = self._transport.readinto(target[filled:])
                if received == 0:
                    raise ConnectionLost("stream ended inside a frame")
                filled += received
                continue
            if not self._refill():
                raise ConnectionLost("stream ended inside a frame")
            taken = min(self._end, needed - filled)
            target[filled:filled + taken] = self._view[:taken]
            self._start = taken
            filled += taken
