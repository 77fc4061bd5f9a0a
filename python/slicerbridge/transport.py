"""Byte-stream transports: a socket (TCP or Unix) or a pair of pipes (a child's stdin/stdout).

A transport reads into caller-provided buffers and writes lists of buffers with one scatter-gather
system call, so that bulk data is never concatenated on its way in or out.
"""

from __future__ import annotations

import abc
import os
import socket
import threading
from typing import Sequence

# Linux caps iovec arrays at IOV_MAX (1024); stay well below it.
_MAX_BUFFERS_PER_CALL = 512


class Transport(abc.ABC):
    @abc.abstractmethod
    def readinto(self, buffer: memoryview) -> int:
        """Read at least one byte into ``buffer``; 0 means end of stream."""

    @abc.abstractmethod
    def write_some(self, buffers: Sequence[memoryview]) -> int:
        """Write from ``buffers`` in order with one call; returns how many bytes were written."""

    @abc.abstractmethod
    def shutdown(self) -> None:
        """Stop both directions so that threads blocked in reads or writes return."""

    @abc.abstractmethod
    def shutdown_write(self) -> None:
        """Send end-of-stream to the peer but keep reading."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release the transport's resources; only once no thread reads or writes (see
        ``MessageStream.close``)."""

    def write_all(self, buffers: Sequence) -> None:
        """Write every buffer completely, in order (partial writes are resumed)."""
        views = [_byte_view(b) for b in buffers]
        views = [v for v in views if len(v)]
        first = 0
        while first < len(views):
            written = self.write_some(views[first:first + _MAX_BUFFERS_PER_CALL])
            while written:
                head = views[first]
                if written >= len(head):
                    written -= len(head)
                    first += 1
                else:
                    views[first] = head[written:]
                    written = 0


def _byte_view(buffer) -> memoryview:
    view = buffer if isinstance(buffer, memoryview) else memoryview(buffer)
    if view.format != "B" or view.ndim != 1:
        view = view.cast("B")
    return view


class SocketTransport(Transport):
    def __init__(self, sock: socket.socket):
        self.socket = sock

    def readinto(self, buffer: memoryview) -> int:
        try:
            return self.socket.recv_into(buffer)
        except (ConnectionResetError, ConnectionAbortedError, BrokenPipeError):
            return 0

    def write_some(self, buffers: Sequence[memoryview]) -> int:
        return self.socket.sendmsg(buffers)

    def shutdown(self) -> None:
        try:
            self.socket.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def shutdown_write(self) -> None:
        try:
            self.socket.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def close(self) -> None:
        self.shutdown()
        self.socket.close()


class PipeTransport(Transport):
    """Reads from one file descriptor and writes to another (stdin/stdout of a process)."""

    def __init__(self, read_fd: int, write_fd: int):
        self.read_fd = read_fd
        self.write_fd = write_fd
        self._write_shut = False
        self._closed = False
        self._lock = threading.Lock()  # orders shutdown_write and close

    def readinto(self, buffer: memoryview) -> int:
        try:
            return os.readv(self.read_fd, [buffer])
        except OSError:
            return 0

    def write_some(self, buffers: Sequence[memoryview]) -> int:
        if self._write_shut:
            raise BrokenPipeError("write side shut down")
        return os.writev(self.write_fd, buffers)

    def shutdown(self) -> None:
        self.shutdown_write()

    def shutdown_write(self) -> None:
        """End the stream for the peer. The descriptor is pointed at /dev/null rather than
        closed, so that its number cannot be reused while another thread may still write."""
        with self._lock:
            if self._write_shut:
                return
            self._write_shut = True
            devnull = os.open(os.devnull, os.O_WRONLY)
            try:
                os.dup2(devnull, self.write_fd)
            finally:
                os.close(devnull)

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._write_shut = self._closed = True
            for fd in (self.read_fd, self.write_fd):
                try:
                    os.close(fd)
                except OSError:
                    pass
