"""A message stream over a transport: frames in and out, with the limits and codecs in force.

Shared by the client and the server. Reading happens on one thread; writing is serialised by a
lock so that several threads can send whole frames.
"""

from __future__ import annotations

import threading
from typing import Any, Callable, NamedTuple, Optional

from . import memfd
from .codec import EncodedFrame, check_structure, decode_head, encode_message
from .errors import ConnectionLost, ErrorCode, SlicerBridgeError
from .frame import Frame, FrameReader
from .limits import HANDSHAKE_MAX_FRAME, Limits
from .transport import Transport


class Incoming(NamedTuple):
    #: The decoded head, or None when it could not be decoded.
    message: Any
    #: Why the head could not be decoded, or the first problem with its bulk references (then
    #: ``message`` is set so that a request can be answered under its id).
    error: Optional[SlicerBridgeError]
    frame: Frame


class MessageStream:
    def __init__(self, transport: Transport, *, limits: Limits):
        self.transport = transport
        self.limits = limits
        self.peer_limits = Limits()
        self.codecs: frozenset = frozenset()
        #: Whether transfer.memfd is in force: large segments pass as memory files (memfd.py).
        self.memfd = False
        self.handshaken = False
        self._reader = FrameReader(transport)
        self._write_lock = threading.Lock()
        self._closed = False

    def receive(self, admit: Optional[Callable[[int], bool]] = None) -> Optional[Incoming]:
        """The next message, or None at a clean end of stream.

        Raises FatalProtocolError for a bad frame header and ConnectionLost for a stream that
        ends inside a frame; a frame with a bad head is returned with ``error`` set, after the
        whole frame was consumed [FRAME-10]. ``admit``: see ``FrameReader.read_frame``.
        """
        max_frame = self.limits.max_frame
        if not self.handshaken:
            max_frame = min(max_frame, HANDSHAKE_MAX_FRAME)  # [HELLO-4]
        frame = self._reader.read_frame(max_frame=max_frame, max_head=self.limits.max_head,
                                        admit=admit)
        if frame is None:
            return None
        descriptors = frame.descriptors
        if descriptors is not None:
            descriptors.in_force = self.memfd
            descriptors.budget = self.limits.max_frame - frame.size  # [FD-7]
        try:
            decoded = decode_head(frame.head, frame.bulk, max_depth=self.limits.max_depth,
                                  codecs=self.codecs, max_raw_total=self.limits.max_frame,
                                  descriptors=descriptors)
        except SlicerBridgeError as error:
            return Incoming(None, error, frame)
        finally:
            if descriptors is not None:
                descriptors.close()  # mappings hold their own duplicates [FD-6]
        return Incoming(decoded.value, decoded.bulk_error, frame)

    def encode(self, message: Any, *, compression: Optional[str] = None) -> EncodedFrame:
        """Encode for this peer; a frame beyond the peer's ``max_frame``, ``max_head`` or
        ``max_depth`` is ``too_large`` [LIMIT-1] [LIMIT-11]."""
        if compression is not None and compression not in self.codecs:
            compression = None  # [CAP-2]
        encoded = encode_message(message, compression=compression,
                                 descriptors=memfd.DescriptorSender() if self.memfd else None)
        peer = self.peer_limits
        if encoded.size > peer.max_frame or len(encoded.head) > peer.max_head:
            raise SlicerBridgeError(ErrorCode.TOO_LARGE, "message over the peer's limits",
                                    {"frame_length": encoded.size, "max_frame": peer.max_frame,
                                     "head_length": len(encoded.head),
                                     "max_head": peer.max_head})
        try:  # the peer's decoder walks the head the same way [LIMIT-11]
            check_structure(encoded.head, peer.max_depth)
        except SlicerBridgeError:
            raise SlicerBridgeError(ErrorCode.TOO_LARGE, "message nested deeper than the peer's "
                                    "max_depth", {"max_depth": peer.max_depth}) from None
        return encoded

    def write(self, encoded: EncodedFrame, *,
              on_turn: Optional[Callable[[], None]] = None) -> None:
        """Write one frame whole; ``on_turn()`` runs once it is this frame's turn, just before
        its first byte goes (frames of other threads are never interleaved with it)."""
        try:
            with self._write_lock:
                if self._closed:
                    raise ConnectionLost("the connection is closed")
                if on_turn is not None:
                    on_turn()
                self.transport.write_all(encoded.buffers(), encoded.fds)
        except OSError as error:
            raise ConnectionLost(f"write failed: {error.strerror or error}") from None

    def close(self) -> None:
        """Shut the transport down, then release it once no write is in progress (a descriptor
        closed under a writer could be reused by another file before the write happens). Call
        it from the reading thread, or once that thread has finished."""
        self.transport.shutdown()
        with self._write_lock:
            if not self._closed:
                self._closed = True
                self.transport.close()

    def send(self, message: Any, *, compression: Optional[str] = None) -> None:
        self.write(self.encode(message, compression=compression))
