"""Standard input and output as the protocol's channel, safe from stray output.

When a server talks over its standard output, any other byte written there corrupts the stream:
one ``print()`` in a processor, or a library that prints a banner when imported. ``claim_stdio``
takes the real standard input and output for the protocol (as new descriptors) and points
descriptor 1 and ``sys.stdout`` at standard error, and descriptor 0 and ``sys.stdin`` at the null
device. Call it before importing processor code: ``python -m slicerbridge serve --stdio`` does.
"""

from __future__ import annotations

import os
import socket
import stat
import sys
from typing import Any, Iterable, Optional, Tuple

_claimed: Optional[Tuple[int, int]] = None


def claim_stdio() -> Tuple[int, int]:
    """Take standard input and output for the protocol; returns their new descriptors (read,
    write). Afterwards ``print()``, ``sys.stdout``, descriptor 1 and the standard output of
    child processes all go to standard error, and reading standard input gives end of file.
    Calling it again returns the same descriptors."""
    global _claimed
    if _claimed is not None:
        return _claimed
    for stream in (sys.stdout, sys.__stdout__):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):
            pass
    protocol_in = os.dup(0)  # not inherited by child processes (PEP 446)
    protocol_out = os.dup(1)
    os.dup2(2, 1)
    devnull = os.open(os.devnull, os.O_RDONLY)
    try:
        os.dup2(devnull, 0)
    finally:
        os.close(devnull)
    if sys.platform == "win32":  # no newline translation on the protocol's descriptors
        import msvcrt
        msvcrt.setmode(protocol_in, os.O_BINARY)
        msvcrt.setmode(protocol_out, os.O_BINARY)
    sys.stdout = sys.stderr
    sys.stdin = open(os.devnull, "r")
    _claimed = (protocol_in, protocol_out)
    return _claimed


def serve_stdio(processors: Iterable[Any], **server_options: Any) -> None:
    """Serve ``processors`` to one client on this process's standard input and output, until
    the client says goodbye or closes; ``server_options`` go to ``Server``. Import processor
    code that may print after ``claim_stdio()``, or serve it with
    ``python -m slicerbridge serve --stdio MODULE``."""
    from .server import Server

    read_fd, write_fd = claim_stdio()
    server = Server(processors, **server_options)
    try:
        server.serve_connection(stdio_transport(read_fd, write_fd))
    finally:
        server.close()


def stdio_transport(read_fd: int, write_fd: int):
    """The transport over the claimed standard input and output: pipes, or, when standard input
    is a socket (``Client.launch(socket_pair=True)``), that socket both ways, over which memory
    files can pass (section 3.5)."""
    from .transport import PipeTransport, SocketTransport

    if stat.S_ISSOCK(os.fstat(read_fd).st_mode):
        os.close(write_fd)  # a duplicate of the same socket
        return SocketTransport(socket.socket(fileno=read_fd))
    return PipeTransport(read_fd, write_fd)
