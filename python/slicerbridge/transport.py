"""Byte-stream transports: a socket (TCP or Unix), TLS over a socket, or a pair of pipes (a
child's stdin/stdout).

A transport reads into caller-provided buffers and writes lists of buffers. Where the system has
scatter-gather calls (``socket.sendmsg``, ``os.writev``: POSIX) a list goes out in one system
call, so that bulk data is never concatenated; elsewhere (Windows) the *portable path* sends
small leading buffers joined into one and large ones one by one. ``PORTABLE_ONLY = True`` forces
the portable path everywhere (the tests do, to cover it on Linux).
"""

from __future__ import annotations

import abc
import io
import os
import socket
import ssl
import sys
import threading
from typing import Optional, Sequence

from . import memfd
from .errors import ConnectionLost

# Linux caps iovec arrays at IOV_MAX (1024); stay well below it.
_MAX_BUFFERS_PER_CALL = 512
# The portable path joins leading buffers smaller than this into one write, so that a frame's
# header and head leave together (TCP_NODELAY is on: separate sends are separate packets).
_JOIN_BELOW = 64 * 1024
# TLS: plain text encrypted per write_some call (bounds the ciphertext held in memory).
_TLS_CHUNK = 1024 * 1024

#: Force the portable path (no sendmsg/readv/writev) even where the system has them; also set
#: by the environment variable SLICERBRIDGE_PORTABLE_IO=1 (for child processes in tests).
PORTABLE_ONLY = os.environ.get("SLICERBRIDGE_PORTABLE_IO", "") not in ("", "0")


def has_scatter_gather_sockets() -> bool:
    return not PORTABLE_ONLY and hasattr(socket.socket, "sendmsg") and sys.platform != "win32"


def has_vectored_pipes() -> bool:
    return not PORTABLE_ONLY and hasattr(os, "writev") and hasattr(os, "readv")


class Transport(abc.ABC):
    @abc.abstractmethod
    def readinto(self, buffer: memoryview) -> int:
        """Read at least one byte into ``buffer``; 0 means end of stream."""

    @abc.abstractmethod
    def write_some(self, buffers: Sequence[memoryview]) -> int:
        """Write from ``buffers`` in order; returns how many bytes were written (at least one)."""

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

    def write_all(self, buffers: Sequence, fds: Sequence[int] = ()) -> None:
        """Write every buffer completely, in order (partial writes are resumed); ``fds`` pass
        beside the first byte, on a transport that can carry them [FD-2]."""
        views = [_byte_view(b) for b in buffers]
        views = [v for v in views if len(v)]
        first = 0
        while first < len(views):
            batch = views[first:first + _MAX_BUFFERS_PER_CALL]
            if fds:
                written = self.write_some_with_descriptors(batch, fds)
                fds = ()
            else:
                written = self.write_some(batch)
            while written:
                head = views[first]
                if written >= len(head):
                    written -= len(head)
                    first += 1
                else:
                    views[first] = head[written:]
                    written = 0


    def write_some_with_descriptors(self, buffers: Sequence[memoryview],
                                    fds: Sequence[int]) -> int:
        raise OSError("this transport cannot pass descriptors")

    #: The descriptor channel of a Unix socket transport (memfd.DescriptorChannel), else None.
    descriptors = None


def _byte_view(buffer) -> memoryview:
    view = buffer if isinstance(buffer, memoryview) else memoryview(buffer)
    if view.format != "B" or view.ndim != 1:
        view = view.cast("B")
    return view


def _first_or_joined(buffers: Sequence[memoryview]):
    """The portable path's next write: small leading buffers joined, else the first buffer."""
    if len(buffers) == 1 or len(buffers[0]) >= _JOIN_BELOW:
        return buffers[0]
    joined = bytearray()
    for buffer in buffers:
        if len(joined) + len(buffer) > _JOIN_BELOW:
            break
        joined += buffer
    return joined if joined else buffers[0]


class SocketTransport(Transport):
    def __init__(self, sock: socket.socket):
        self.socket = sock
        self._scatter_gather = has_scatter_gather_sockets()
        # On a Unix socket every read takes the descriptors passed beside it (section 3.5).
        self.descriptors = memfd.DescriptorChannel() if memfd.usable_on(sock) else None

    def readinto(self, buffer: memoryview) -> int:
        try:
            if self.descriptors is not None:
                return self.descriptors.recv_into(self.socket, buffer)
            return self.socket.recv_into(buffer)
        except (ConnectionResetError, ConnectionAbortedError, BrokenPipeError):
            return 0

    def write_some_with_descriptors(self, buffers: Sequence[memoryview],
                                    fds: Sequence[int]) -> int:
        if self.descriptors is None:
            raise OSError("descriptors pass only on a Unix socket")
        return self.descriptors.send(self.socket, buffers, fds)

    def write_some(self, buffers: Sequence[memoryview]) -> int:
        if self._scatter_gather:
            return self.socket.sendmsg(buffers)
        return self.socket.send(_first_or_joined(buffers))

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
        if self.descriptors is not None:
            self.descriptors.close()


class TlsTransport(Transport):
    """TLS over a connected socket, with the standard ``ssl`` module's memory BIOs.

    OpenSSL forbids using one connection from two threads at once, and a reader thread and
    writer threads share every SlicerBridge connection: each use of the TLS object is therefore
    under a lock, and the socket is read and written outside it. ``handshake`` must complete
    before the transport is used.
    """

    def __init__(self, sock: socket.socket, context: ssl.SSLContext, *, server_side: bool,
                 server_hostname: Optional[str] = None):
        self.socket = sock
        self._incoming = ssl.MemoryBIO()
        self._outgoing = ssl.MemoryBIO()
        self._tls = context.wrap_bio(self._incoming, self._outgoing, server_side=server_side,
                                     server_hostname=server_hostname)
        self._tls_lock = threading.Lock()  # every use of self._tls and the BIOs
        self._send_lock = threading.Lock()  # keeps ciphertext in the order it was made
        self._receive_buffer = bytearray(256 * 1024)  # used by the one reading thread only
        self._write_shut = False

    def handshake(self, timeout: Optional[float]) -> None:
        """Run the TLS handshake; raises ``ssl.SSLError`` (``ssl.SSLCertVerificationError`` for
        a certificate the client does not accept), ``ConnectionLost`` or ``TimeoutError``."""
        self.socket.settimeout(timeout)
        try:
            while True:
                with self._tls_lock:
                    try:
                        self._tls.do_handshake()
                        done = True
                    except ssl.SSLWantReadError:
                        done = False
                    except ssl.SSLError:
                        # Tell the peer why (the alert) before giving up.
                        failed = self._outgoing.read()
                        if failed:
                            try:
                                self.socket.sendall(failed)
                            except OSError:
                                pass
                        raise
                self._flush()
                if done:
                    return
                if not self._receive_ciphertext():
                    raise ConnectionLost("the peer closed the connection during the TLS "
                                         "handshake")
        except socket.timeout:
            raise TimeoutError(f"no TLS handshake within {timeout} s") from None
        finally:
            self.socket.settimeout(None)

    @property
    def peer_certificate(self) -> Optional[dict]:
        return self._tls.getpeercert()

    def _flush(self) -> None:
        with self._send_lock:
            with self._tls_lock:
                data = self._outgoing.read()
            if data:
                self.socket.sendall(data)

    def _receive_ciphertext(self) -> bool:
        try:
            count = self.socket.recv_into(self._receive_buffer)
        except (ConnectionResetError, ConnectionAbortedError, BrokenPipeError):
            count = 0
        with self._tls_lock:
            if count:
                self._incoming.write(memoryview(self._receive_buffer)[:count])
            else:
                self._incoming.write_eof()
        return count > 0

    def readinto(self, buffer: memoryview) -> int:
        while True:
            with self._tls_lock:
                try:
                    count: Optional[int] = self._tls.read(len(buffer), buffer)
                except ssl.SSLWantReadError:
                    count = None
                except ssl.SSLZeroReturnError:  # the peer's close_notify
                    return 0
                except (ssl.SSLError, ValueError):  # a truncated or corrupt stream ends it
                    return 0
                pending = self._outgoing.pending  # e.g. a TLS 1.3 key update to answer
            if pending:
                try:
                    self._flush()
                except OSError:
                    return 0
            if count is not None:
                return count
            try:
                if not self._receive_ciphertext():
                    continue  # the next read reports the end of the stream
            except OSError:
                return 0

    def write_some(self, buffers: Sequence[memoryview]) -> int:
        with self._send_lock:
            if self._write_shut:
                raise BrokenPipeError("write side shut down")
            written = 0
            with self._tls_lock:
                for buffer in buffers:
                    written += self._tls.write(buffer[:_TLS_CHUNK - written])
                    if written >= _TLS_CHUNK:
                        break
                data = self._outgoing.read()
            self.socket.sendall(data)
            return written

    def shutdown_write(self) -> None:
        """Send TLS close_notify, then end the socket's write side; reading goes on."""
        with self._send_lock:
            if self._write_shut:
                return
            self._write_shut = True
            with self._tls_lock:
                try:
                    self._tls.unwrap()
                except (ssl.SSLWantReadError, ssl.SSLError, ValueError):
                    pass
                data = self._outgoing.read()
            try:
                if data:
                    self.socket.sendall(data)
                self.socket.shutdown(socket.SHUT_WR)
            except OSError:
                pass

    def shutdown(self) -> None:
        try:
            self.socket.shutdown(socket.SHUT_RDWR)
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
        self._vectored = has_vectored_pipes()
        # Unbuffered, does not own the descriptor: the portable way to read into a buffer.
        self._reader = io.FileIO(read_fd, "rb", closefd=False)
        self._write_shut = False
        self._closed = False
        self._lock = threading.Lock()  # orders shutdown_write and close

    def readinto(self, buffer: memoryview) -> int:
        try:
            if self._vectored:
                return os.readv(self.read_fd, [buffer])
            return self._reader.readinto(buffer) or 0
        except (OSError, ValueError):
            return 0

    def write_some(self, buffers: Sequence[memoryview]) -> int:
        if self._write_shut:
            raise BrokenPipeError("write side shut down")
        if self._vectored:
            return os.writev(self.write_fd, buffers)
        return os.write(self.write_fd, _first_or_joined(buffers))

    def shutdown(self) -> None:
        self.shutdown_write()

    def shutdown_write(self) -> None:
        """End the stream for the peer. The descriptor is pointed at the null device rather
        than closed, so that its number cannot be reused while another thread may still
        write."""
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
