"""Shared test helpers: an in-process server, a hand-driven raw peer and in-memory transports.

Every wait is bounded (``WAIT`` seconds) so that a broken implementation fails instead of
hanging; no test asserts how long anything took.
"""

from __future__ import annotations

import ctypes
import errno
import os
import socket
import sys
import threading
import time
from typing import Any, List, Optional

import numpy as np
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), os.pardir))

from slicerbridge import Float, Image, Int, Limits, Server, processor  # noqa: E402
from slicerbridge.codec import available_codecs, decode_head, encode_frame  # noqa: E402
from slicerbridge.context import Cancelled, Context  # noqa: E402
from slicerbridge.errors import ConnectionLost, SlicerBridgeError  # noqa: E402
from slicerbridge.frame import FrameReader  # noqa: E402
from slicerbridge.processors import ALL  # noqa: E402
from slicerbridge.transport import SocketTransport, Transport  # noqa: E402

WAIT = 20.0
PYTHON = "/usr/bin/python3"
PYTHON_DIR = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir))


class MemoryTransport(Transport):
    """Reads from a bytes object, ``chunk`` bytes per read at most; records writes."""

    def __init__(self, data: bytes = b"", chunk: int = 1 << 30):
        self.data = memoryview(bytes(data))
        self.position = 0
        self.chunk = chunk
        self.written = bytearray()
        self.reads = 0

    def readinto(self, buffer: memoryview) -> int:
        self.reads += 1
        count = min(len(buffer), self.chunk, len(self.data) - self.position)
        buffer[:count] = self.data[self.position:self.position + count]
        self.position += count
        return count

    def write_some(self, buffers) -> int:
        # Write at most 5 bytes per call to exercise partial-write handling.
        budget = 5
        written = 0
        for buffer in buffers:
            take = min(budget - written, len(buffer))
            self.written += bytes(buffer[:take])
            written += take
            if written == budget:
                break
        return written

    def shutdown(self) -> None:
        pass

    def shutdown_write(self) -> None:
        pass

    def close(self) -> None:
        pass


class RawPeer:
    """A protocol peer driven by hand over TCP, to send arbitrary (hostile) bytes."""

    def __init__(self, address=None, timeout: float = WAIT, *, sock=None):
        self.sock = sock if sock is not None else socket.create_connection(address,
                                                                           timeout=timeout)
        self.sock.settimeout(timeout)
        self.reader = FrameReader(SocketTransport(self.sock))

    def send_bytes(self, data: bytes) -> None:
        self.sock.sendall(data)

    def send(self, message: Any) -> None:
        self.sock.sendall(encode_frame(message))

    def receive(self) -> Optional[dict]:
        """The next message, or None when the server closed the connection."""
        try:
            frame = self.reader.read_frame(max_frame=2**40, max_head=2**30)
        except (ConnectionLost, ConnectionResetError):
            return None
        if frame is None:
            return None
        return decode_head(frame.head, frame.bulk, max_depth=64,
                           codecs=available_codecs()).value

    def hello(self, **overrides: Any) -> dict:
        message = {"kind": "hello", "protocol": "slicerbridge", "min_version": [1, 0],
                   "max_version": [1, 0], "capabilities": ["progress", "x-grease-1f"]}
        message.update(overrides)
        self.send(message)
        reply = self.receive()
        assert reply is not None and reply["kind"] == "hello", reply
        return reply

    def call(self, request_id: int, method: str, params: Optional[dict] = None) -> dict:
        message = {"kind": "request", "id": request_id, "method": method}
        if params is not None:
            message["params"] = params
        self.send(message)
        return self.receive_response(request_id)

    def receive_response(self, request_id) -> dict:
        """The next response with this id (nil for connection-level), skipping notifications."""
        while True:
            message = self.receive()
            assert message is not None, "connection closed before the response"
            if message.get("kind") == "response" and message.get("id") == request_id:
                return message

    def closed_by_server(self) -> bool:
        """True when the server closes the connection (within the socket timeout)."""
        try:
            while True:
                message = self.receive()
                if message is None:
                    return True
        except socket.timeout:
            return False

    def close(self) -> None:
        self.sock.close()


class Hooks:
    """Events shared between a test and the test processors of its server."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.stopped_by_cancel = threading.Event()
        self.release = threading.Event()
        self.finished = threading.Event()
        self.entered = threading.Semaphore(0)


def make_test_processors(hooks: Hooks) -> List:
    @processor(name="block", category="Testing")
    def block(ctx: Context) -> {}:
        """Runs until cancelled."""
        hooks.started.set()
        try:
            ctx.sleep(WAIT * 10)
        except Cancelled:
            hooks.stopped_by_cancel.set()
            raise
        return {}

    @processor(name="obstinate", category="Testing")
    def obstinate(ctx: Context) -> {"image": Image}:
        """Ignores cancellation until the test releases it, then returns a result."""
        hooks.started.set()
        hooks.release.wait(WAIT)
        hooks.finished.set()
        return {"image": Image(np.zeros((1, 1, 1), np.uint8))}

    @processor(name="gate", category="Testing")
    def gate(ctx: Context, tag: Int() = 0) -> {}:
        """Waits until the test releases it."""
        hooks.entered.release()
        hooks.release.wait(WAIT)
        return {}

    @processor(name="zigzag", category="Testing")
    def zigzag(ctx: Context, fractions: Float() = 0.0) -> {}:
        """Reports progress that goes up and down."""
        for value in (0.1, 0.5, 0.3, 0.6, 0.2, 0.9):
            ctx.progress(value)
        return {}

    @processor(name="wrong_output", category="Testing")
    def wrong_output(ctx: Context) -> {"image": Image}:
        """Returns a table where an image is declared."""
        from slicerbridge import Table
        return {"image": Table({"a": [1]})}

    @processor(name="huge_detail", category="Testing")
    def huge_detail(ctx: Context) -> {}:
        """Fails with details that MessagePack cannot carry."""
        raise SlicerBridgeError(1001, "too big to tell", {"n": 2**70})

    return [block, obstinate, gate, zigzag, wrong_output, huge_detail]


class RunningServer:
    def __init__(self, server: Server, address, hooks: Hooks):
        self.server = server
        self.address = address
        self.hooks = hooks

    @property
    def text_address(self) -> str:
        return f"{self.address[0]}:{self.address[1]}"

    def raw(self) -> RawPeer:
        return RawPeer(self.address)


def start_server(**options: Any) -> RunningServer:
    hooks = Hooks()
    server = Server(list(ALL) + make_test_processors(hooks), **options)
    address = server.listen_tcp("127.0.0.1", 0)
    return RunningServer(server, address, hooks)


@pytest.fixture
def running():
    instance = start_server(limits=Limits(cancel_grace=WAIT))
    yield instance
    instance.hooks.release.set()
    instance.server.close()


def oblique_matrix(angle: float = 0.4) -> np.ndarray:
    return np.array([[0.7 * np.cos(angle), -0.9 * np.sin(angle), 0.05, -120.5],
                     [0.7 * np.sin(angle), 0.9 * np.cos(angle), 0.1, 33.25],
                     [0.0, -0.02, 2.5, 17.0],
                     [0.0, 0.0, 0.0, 1.0]])


def wait_until(predicate, timeout: float = WAIT) -> bool:
    """Poll ``predicate`` until it holds or ``timeout`` passes; returns whether it held."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


def signal_another_thread(pid: int, signum: int) -> None:
    """Sends ``signum`` to a thread of process ``pid`` other than its main thread, as the system
    may deliver a signal sent to the process (Linux: tgkill, glibc 2.30 and later)."""
    others = sorted(int(task) for task in os.listdir(f"/proc/{pid}/task") if int(task) != pid)
    libc = ctypes.CDLL(None, use_errno=True)
    for thread in others:  # the oldest first; one that has just ended is skipped
        if libc.tgkill(pid, thread, signum) == 0:
            return
        if ctypes.get_errno() != errno.ESRCH:
            raise OSError(ctypes.get_errno(), "tgkill failed")
    raise AssertionError("the process runs its main thread only")


LINUX_ONLY = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="a signal sent to one thread: Linux's tgkill and /proc")


def pytest_configure(config):
    config.addinivalue_line("markers", "built: uses the C++ programs of $SLICERBRIDGE_BUILD_DIR; "
                                       "./run.sh runs these after the build")
