"""Segments passed as sealed memory files on a Unix socket (protocol section 3.5).

With ``transfer.memfd`` in force, a segment of at least ``DESCRIPTOR_MIN`` bytes travels as a
memory file (``os.memfd_create``, sealed with ``fcntl``) whose descriptor is passed beside the
frame (``SCM_RIGHTS``); the receiver checks its seals and size and maps it read-only (``mmap``),
so numpy arrays view the mapping without a copy. A segment that already lives in such a mapping
(received that way, or made by ``memfd_buffer``) goes back as the same file: an echo copies
nothing. Linux only: elsewhere ``supported()`` is False and every segment is in-band.
"""

from __future__ import annotations

import mmap
import os
import socket
import stat
import struct
import sys
import weakref
from array import array
from typing import List, Optional, Sequence, Tuple

import numpy as np

from .errors import ErrorCode, SlicerBridgeError

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

MEMFD_CAPABILITY = "transfer.memfd"
#: The ext type of a descriptor reference: index u32, offset u64, length u64 [FD-4].
DESCRIPTOR_EXT_TYPE = 2
#: Most descriptors one frame may carry [FD-2] [FD-3].
MAX_DESCRIPTORS = 16
#: Segments from this size on are passed as memory files.
DESCRIPTOR_MIN = 1 << 20
_FD_REF = struct.Struct(">IQQ")
_INT = array("i").itemsize


def supported() -> bool:
    """Whether this platform can pass memory files (Linux with memfd_create and seals)."""
    return (sys.platform.startswith("linux") and hasattr(os, "memfd_create")
            and fcntl is not None and hasattr(fcntl, "F_ADD_SEALS")
            and hasattr(socket, "SCM_RIGHTS"))


def usable_on(sock: socket.socket) -> bool:
    """Whether descriptors can pass on ``sock``: a Unix stream socket [FD-1]."""
    return (supported() and sock.family == socket.AF_UNIX
            and sock.type == socket.SOCK_STREAM)


def _required_seals() -> int:
    return fcntl.F_SEAL_WRITE | fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW


class _Mapping(mmap.mmap):
    """A read-only mapping of a sealed memory file; keeps its own descriptor open while it
    lives, so that the file can be passed on."""


def _map_read_only(fd: int, size: int):
    """A read-only view of all of ``fd`` (taken over: closed with the mapping)."""
    if size == 0:
        os.close(fd)
        return memoryview(b"")
    try:
        mapping = _Mapping(fd, size, flags=mmap.MAP_SHARED, prot=mmap.PROT_READ)
    except BaseException:
        os.close(fd)
        raise
    mapping.fd = fd
    weakref.finalize(mapping, os.close, fd)
    return memoryview(mapping)


def memfd_buffer(size: int, fill=None) -> memoryview:
    """A read-only view of ``size`` bytes in a new sealed memory file: ``fill(view)`` writes them
    first (they are zero otherwise). Passing it by descriptor costs no copy at all."""
    if not supported():
        raise OSError("memory files need Linux")
    fd = os.memfd_create("slicerbridge", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
    try:
        os.ftruncate(fd, size)
        if size and fill is not None:
            with mmap.mmap(fd, size, flags=mmap.MAP_SHARED,
                           prot=mmap.PROT_READ | mmap.PROT_WRITE) as writable:
                with memoryview(writable) as view:
                    fill(view)
        # F_SEAL_WRITE is refused while a writable mapping exists: the one above is closed.
        fcntl.fcntl(fd, fcntl.F_ADD_SEALS, _required_seals() | fcntl.F_SEAL_SEAL)
    except BaseException:
        os.close(fd)
        raise
    return _map_read_only(fd, size)


def memfd_copy(data) -> memoryview:
    """``data`` (bytes-like or numpy array) copied into a sealed memory file."""
    source = memoryview(np.ascontiguousarray(data).reshape(-1).view(np.uint8)) \
        if isinstance(data, np.ndarray) else memoryview(data).cast("B")

    def fill(view: memoryview) -> None:
        view[:] = source

    return memfd_buffer(len(source), fill)


def _address(view) -> int:
    return np.frombuffer(view, dtype=np.uint8).ctypes.data


def location_of(view: memoryview) -> Optional[Tuple[int, int]]:
    """``(descriptor, offset)`` of a byte view that lies in a memory file mapping, else None."""
    owner = view.obj
    for _ in range(16):  # memoryviews and numpy bases chain a few levels at most
        if isinstance(owner, _Mapping):
            break
        if isinstance(owner, np.ndarray):
            owner = owner.base
        elif isinstance(owner, memoryview):
            owner = owner.obj
        else:
            return None
    else:
        return None
    if owner.closed or not len(view):
        return None
    offset = _address(view) - _address(owner)
    if offset < 0 or offset + len(view) > len(owner):
        return None
    return owner.fd, offset


def in_memfd(data) -> bool:
    """Whether ``data`` (a byte view or numpy array) lies in a memory file mapping."""
    if isinstance(data, np.ndarray):
        data = memoryview(np.ascontiguousarray(data).reshape(-1).view(np.uint8))
    return location_of(memoryview(data).cast("B")) is not None


# ---------------------------------------------------------------------------------------------
# Receiving

def _invalid(reason: str) -> SlicerBridgeError:
    return SlicerBridgeError(ErrorCode.INVALID_MESSAGE, reason)


def map_sealed_memfd(fd: int) -> memoryview:
    """Map a received descriptor read-only after checking that it is a memory file sealed
    against writing, shrinking and growing, at its own size (fstat) [FD-5]. ``fd`` stays the
    caller's; the mapping holds a duplicate."""
    try:
        seals = fcntl.fcntl(fd, fcntl.F_GET_SEALS)
    except OSError:
        raise _invalid("descriptor is not a memory file") from None  # a pipe, a directory
    if seals & _required_seals() != _required_seals():
        raise _invalid("memory file not sealed against writing, shrinking and growing")
    status = os.fstat(fd)
    if not stat.S_ISREG(status.st_mode):
        raise _invalid("descriptor is not a memory file")
    return _map_read_only(os.dup(fd), status.st_size)


class ReceivedDescriptors:
    """The descriptors passed beside one frame, in order; ``close`` closes them [FD-6]."""

    def __init__(self, fds: Sequence[int] = (), *, overflowed: bool = False,
                 in_force: bool = False):
        self.fds: List[int] = list(fds)
        self.overflowed = overflowed or len(self.fds) > MAX_DESCRIPTORS
        self.in_force = in_force
        #: Room left under max_frame for the bytes the references carry [FD-7].
        self.budget: Optional[int] = None
        self._mappings: dict = {}

    def __bool__(self) -> bool:
        return bool(self.fds) or self.overflowed

    def resolve(self, payload: bytes) -> memoryview:
        """The bytes a descriptor reference designates [FD-4] [FD-5] [FD-7]."""
        if len(payload) != _FD_REF.size or self.overflowed:
            raise _invalid("descriptor reference of invalid length")
        index, offset, length = _FD_REF.unpack(payload)
        if index >= len(self.fds):
            raise _invalid("descriptor index out of range")
        if index not in self._mappings:
            self._mappings[index] = map_sealed_memfd(self.fds[index])
        mapping = self._mappings[index]
        if offset + length > len(mapping):  # Python integers do not overflow
            raise _invalid("descriptor reference beyond the memory file")
        if self.budget is not None:
            if length > self.budget:
                raise SlicerBridgeError(ErrorCode.FRAME_TOO_LARGE,
                                        "descriptor segments over max_frame")
            self.budget -= length
        return mapping[offset:offset + length]

    def unused_error(self) -> Optional[SlicerBridgeError]:
        """What is wrong with descriptors the frame carries but must not [FD-2] [FD-6]."""
        if not self:
            return None
        if not self.in_force:
            return _invalid("descriptors while transfer.memfd is not in force")
        if self.overflowed:
            return _invalid("more than 16 descriptors with one frame")
        if len(self._mappings) != len(self.fds):
            return _invalid("a descriptor that no reference uses")
        return None

    def close(self) -> None:
        for fd in self.fds:
            os.close(fd)
        self.fds = []
        self._mappings = {}

    def __enter__(self) -> "ReceivedDescriptors":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class DescriptorChannel:
    """recvmsg/sendmsg with SCM_RIGHTS for a Unix socket transport: which frame the
    descriptors of a read belong to is the one holding that read's last byte [FD-3]."""

    _CONTROL = socket.CMSG_SPACE(MAX_DESCRIPTORS * _INT) if hasattr(socket, "CMSG_SPACE") else 0

    def __init__(self) -> None:
        self.received = 0  # bytes read so far
        self._batches: List[Tuple[int, List[int], bool]] = []  # (last byte, fds, truncated)

    def recv_into(self, sock: socket.socket, buffer: memoryview) -> int:
        flags = getattr(socket, "MSG_CMSG_CLOEXEC", 0)
        n, ancillary, msg_flags, _ = sock.recvmsg_into([buffer], self._CONTROL, flags)
        fds: List[int] = []
        for level, kind, data in ancillary:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                usable = len(data) - len(data) % _INT
                fds.extend(array("i", data[:usable]))
        truncated = bool(msg_flags & socket.MSG_CTRUNC)
        self.received += n
        if fds or truncated:
            self._batches.append((self.received - 1, fds, truncated))
        return n

    def take(self, frame_end: int) -> ReceivedDescriptors:
        """The descriptors of the frame whose bytes end at stream offset ``frame_end``."""
        fds: List[int] = []
        truncated = False
        while self._batches and self._batches[0][0] < frame_end:
            _, batch, cut = self._batches.pop(0)
            fds += batch
            truncated = truncated or cut
        return ReceivedDescriptors(fds, overflowed=truncated)

    def close(self) -> None:
        for _, fds, _ in self._batches:
            for fd in fds:
                os.close(fd)
        self._batches = []

    @staticmethod
    def send(sock: socket.socket, buffers: Sequence[memoryview], fds: Sequence[int]) -> int:
        ancillary = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array("i", fds))] if fds else []
        return sock.sendmsg(buffers, ancillary)


# ---------------------------------------------------------------------------------------------
# Sending

class DescriptorSender:
    """Turns large segments into descriptor references while a frame is encoded [FD-2]."""

    def __init__(self, minimum: int = DESCRIPTOR_MIN):
        self.minimum = minimum
        self.fds: List[int] = []
        self.keep: list = []  # the mappings whose descriptors the frame passes

    def reference(self, data: memoryview) -> Optional[bytes]:
        """The 20-byte payload of a descriptor reference to ``data``, or None to send it
        in-band (small, or the frame already passes 16 descriptors, or no memory file)."""
        if len(data) < max(self.minimum, 1):
            return None
        location = location_of(data)
        owner = data
        if location is None:
            if len(self.fds) >= MAX_DESCRIPTORS:
                return None
            try:
                owner = memfd_copy(data)
            except OSError:
                return None
            location = location_of(owner)
        fd, offset = location
        if fd in self.fds:
            index = self.fds.index(fd)
        elif len(self.fds) >= MAX_DESCRIPTORS:
            return None
        else:
            index = len(self.fds)
            self.fds.append(fd)
            self.keep.append(owner)
        return _FD_REF.pack(index, offset, len(data))
