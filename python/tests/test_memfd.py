"""Segments passed as sealed memory files on a Unix socket (protocol section 3.5, memfd.py):
the descriptors.json vectors, encoding and decoding without a socket, frames over a socket pair,
hostile descriptors, a client and server in this process and, marked ``built``, the C++ server.
Every test counts this process's open descriptors before and after [FD-6]."""

from __future__ import annotations

import fcntl
import json
import os
import socket
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import WAIT
from slicerbridge import Image, Server
from slicerbridge import memfd
from slicerbridge.client import Client
from slicerbridge.codec import Bulk, decode_head, encode_message
from slicerbridge.connection import MessageStream
from slicerbridge.limits import Limits
from slicerbridge.processors import ALL
from slicerbridge.transport import SocketTransport

pytestmark = pytest.mark.skipif(not memfd.supported(), reason="memory files need Linux")

VECTORS = Path(__file__).resolve().parents[2] / "spec" / "vectors" / "descriptors.json"
SEALS = {"write": getattr(fcntl, "F_SEAL_WRITE", 0), "shrink": getattr(fcntl, "F_SEAL_SHRINK", 0),
         "grow": getattr(fcntl, "F_SEAL_GROW", 0)}
ALL_SEALS = SEALS["write"] | SEALS["shrink"] | SEALS["grow"]


def open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


def make_memfd(contents: bytes, seals: int, size: int = 0) -> int:
    fd = os.memfd_create("test", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
    os.ftruncate(fd, max(size, len(contents)))
    os.pwrite(fd, contents, 0)
    if seals:
        fcntl.fcntl(fd, fcntl.F_ADD_SEALS, seals)
    return fd


def descriptors_of(vector: dict) -> memfd.ReceivedDescriptors:
    fds = []
    for spec in vector["descriptors"]:
        if spec["kind"] == "pipe":
            read_end, write_end = os.pipe()
            os.close(write_end)
            fds.append(read_end)
        elif spec["kind"] == "directory":
            fds.append(os.open("/tmp", os.O_RDONLY | os.O_DIRECTORY))
        else:
            seals = 0
            for name in spec["seals"]:
                seals |= SEALS[name]
            fds.append(make_memfd(bytes.fromhex(spec["hex"]), seals, spec.get("size", 0)))
    # More than 16 reach a receiver cut short (MSG_CTRUNC) [FD-3].
    return memfd.ReceivedDescriptors(fds, in_force=vector["in_force"])


def to_json(value):
    if isinstance(value, Bulk):
        return {"$bulk": {"hex": bytes(value.data).hex()}}
    if isinstance(value, dict):
        return {key: to_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [to_json(item) for item in value]
    return value


def load_vectors():
    return json.loads(VECTORS.read_text(encoding="utf-8"))["vectors"]


@pytest.mark.parametrize("vector", load_vectors(), ids=lambda v: v["id"])
def test_descriptor_vectors(vector):
    """Each descriptors.json vector decodes to its value or fails with its error, and every
    descriptor passed with it is closed [FD-3] [FD-4] [FD-5] [FD-6] [FD-7] [FD-9]."""
    before = open_descriptors()
    data = bytes.fromhex(vector["hex"])
    head_length, bulk_length = struct.unpack(">IQ", data[4:16])
    head = bytearray(data[16:16 + head_length])
    bulk = memoryview(data[16 + head_length:])
    max_frame = vector.get("limits", {}).get("max_frame", 2**32)
    with descriptors_of(vector) as descriptors:
        descriptors.budget = max_frame - len(data)
        decoded = decode_head(head, bulk, max_depth=32, descriptors=descriptors)
    if vector["class"] == "accept":
        assert decoded.bulk_error is None
        assert to_json(decoded.value) == vector["decoded"]
    else:
        assert decoded.bulk_error is not None
        assert decoded.bulk_error.name == vector["error"]
    del decoded
    assert open_descriptors() == before


def test_memfd_buffer_is_sealed_and_read_only():
    """[FD-8]: a memory file is sealed before it is passed, and its mapping is read-only."""
    before = open_descriptors()
    view = memfd.memfd_buffer(16, lambda v: v.__setitem__(slice(None), b"0123456789abcdef"))
    fd, offset = memfd.location_of(view)
    assert offset == 0 and bytes(view) == b"0123456789abcdef"
    assert fcntl.fcntl(fd, fcntl.F_GET_SEALS) & ALL_SEALS == ALL_SEALS
    with pytest.raises(OSError):
        os.pwrite(fd, b"x", 0)
    with pytest.raises(TypeError):
        view[0] = 1
    assert memfd.in_memfd(view[4:8]) and not memfd.in_memfd(bytearray(8))
    del view
    assert open_descriptors() == before


def test_large_segment_goes_by_descriptor_and_an_echo_resends_it():
    """[FD-1] [FD-2] [FD-4] [FD-8]: the receiver maps the file; numpy views the mapping; sending
    it back passes the same file, no new one."""
    before = open_descriptors()
    voxels = np.arange(4096, dtype=np.float32)
    sender = memfd.DescriptorSender(minimum=1024)
    frame = encode_message({"kind": "request", "id": 1, "method": "ping", "x": Bulk(voxels)},
                           descriptors=sender)
    assert len(frame.fds) == 1 and frame.bulk_length == 0
    with memfd.ReceivedDescriptors([os.dup(fd) for fd in frame.fds], in_force=True) as received:
        decoded = decode_head(bytearray(frame.head), memoryview(b""), max_depth=32,
                              descriptors=received)
    assert decoded.bulk_error is None
    array = np.frombuffer(decoded.value["x"].data, dtype=np.float32)
    assert np.array_equal(array, voxels) and memfd.in_memfd(array)
    echo = encode_message({"x": Bulk(array)}, descriptors=memfd.DescriptorSender(minimum=1024))
    assert echo.fds == [memfd.location_of(decoded.value["x"].data)[0]]
    del frame, decoded, array, echo, sender
    assert open_descriptors() == before


def test_small_segments_and_a_full_frame_stay_in_band():
    """[FD-2]: below the threshold, and beyond 16 descriptors, segments are in-band."""
    sender = memfd.DescriptorSender(minimum=8)
    frame = encode_message({"x": [Bulk(bytes([i]) * 16) for i in range(18)], "y": Bulk(b"tiny")},
                           descriptors=sender)
    assert len(frame.fds) == memfd.MAX_DESCRIPTORS
    assert frame.bulk_length == 2 * 16 + 4  # the last two segments, then "tiny"


def send_raw(sock: socket.socket, data: bytes, fds) -> None:
    socket.send_fds(sock, [data], list(fds))


PING = encode_message({"kind": "request", "id": 7, "method": "ping"}).to_bytes()


def test_hostile_descriptors_over_a_socket_pair():
    """[FD-3] [FD-6]: descriptors without the capability, beside a frame that does not reference
    them, or more than 16, make the frame invalid_message; all are closed and the stream stays
    in step."""
    before = open_descriptors()
    ours, theirs = socket.socketpair()
    stream = MessageStream(SocketTransport(theirs), limits=Limits())
    stream.handshaken = True
    file = make_memfd(b"sixteen bytes!!!", ALL_SEALS)
    send_raw(ours, PING, [file])
    incoming = stream.receive()
    assert incoming.error is not None and incoming.error.name == "invalid_message"
    assert incoming.message["id"] == 7  # answered under its id [BULK-9]
    stream.memfd = True
    send_raw(ours, PING, [file])
    assert stream.receive().error.name == "invalid_message"
    send_raw(ours, PING, [file] * 17)
    assert stream.receive().error.name == "invalid_message"
    send_raw(ours, PING, [])
    assert stream.receive().error is None
    os.close(file)
    ours.close()
    stream.close()
    assert open_descriptors() == before


def test_frames_and_their_descriptors_stay_paired_over_a_socket_pair():
    """[FD-2] [FD-3]: a frame without descriptors, one with, one without: each gets its own."""
    before = open_descriptors()
    a, b = socket.socketpair()
    writer = MessageStream(SocketTransport(a), limits=Limits())
    reader = MessageStream(SocketTransport(b), limits=Limits())
    for stream in (writer, reader):
        stream.memfd = stream.handshaken = True
    big = np.full(2 << 20, 9, dtype=np.uint8)
    for payload in (b"first", big, b"third"):
        writer.send({"kind": "request", "id": 1, "method": "ping", "x": Bulk(payload)})
    received = [reader.receive() for _ in range(3)]
    assert [r.error for r in received] == [None, None, None]
    assert bytes(received[0].message["x"].data) == b"first"
    assert memfd.in_memfd(received[1].message["x"].data)
    assert np.array_equal(np.frombuffer(received[1].message["x"].data, np.uint8), big)
    assert bytes(received[2].message["x"].data) == b"third"
    del received
    writer.close()
    reader.close()
    assert open_descriptors() == before


def _echo_volume(client: Client) -> None:
    assert memfd.MEMFD_CAPABILITY in client.capabilities
    voxels = np.frombuffer(memfd.memfd_buffer(64 * 64 * 256, lambda v: v.__setitem__(
        slice(None), bytes(range(256)) * (64 * 64))), dtype=np.uint8).reshape(256, 64, 64)
    result = client.invoke("echo", {"image": Image(voxels)}, timeout=WAIT)
    echoed = result.outputs["image_out"].voxels
    assert np.array_equal(echoed, voxels)
    assert memfd.in_memfd(echoed)  # a mapping of the file, not a copy in the frame


def test_python_client_and_server_over_a_unix_socket(tmp_path):
    """[FD-1] [CAP-4]: both list transfer.memfd and an echoed volume comes back mapped."""
    server = Server(list(ALL))
    path = server.listen_unix(str(tmp_path / "s.sock"))
    try:
        client = Client.unix(path)
        try:
            _echo_volume(client)
        finally:
            client.close()
    finally:
        server.close()


def test_no_memfd_over_tcp():
    """[FD-1]: never offered over TCP."""
    server = Server(list(ALL))
    host, port = server.listen_tcp("127.0.0.1", 0)
    try:
        client = Client.tcp(host, port)
        try:
            assert memfd.MEMFD_CAPABILITY not in client.capabilities
            assert memfd.MEMFD_CAPABILITY not in client.offered
        finally:
            client.close()
    finally:
        server.close()


@pytest.mark.built
def test_python_client_and_cpp_server_over_a_unix_socket(tmp_path):
    """[FD-1] [FD-8]: the C++ server maps the file and returns the same one."""
    directory = os.environ.get("SLICERBRIDGE_BUILD_DIR")
    program = os.path.join(directory or "", "reference_server", "slicerbridge-server")
    if not directory or not os.path.exists(program):
        pytest.skip("set SLICERBRIDGE_BUILD_DIR to a build with slicerbridge-server")
    path = str(tmp_path / "cpp.sock")
    process = subprocess.Popen([program, "--unix", path], stdout=subprocess.PIPE, text=True)
    try:
        assert "listening on unix:" in process.stdout.readline()
        client = Client.unix(path)
        try:
            _echo_volume(client)
        finally:
            client.close()
    finally:
        process.terminate()
        process.wait(WAIT)


def test_launched_processor_over_a_socket_pair():
    """[FD-1] [STDIO-2]: a socket pair replaces the pipes of a launched processor, and volumes
    travel as memory files both ways."""
    python_dir = str(Path(__file__).resolve().parents[1])
    client = Client.launch([sys.executable, "-m", "slicerbridge", "serve", "--stdio"],
                           env=dict(os.environ, PYTHONPATH=python_dir), socket_pair=True)
    try:
        _echo_volume(client)
    finally:
        client.close()
    assert client.process.wait(WAIT) == 0


@pytest.mark.built
def test_cpp_server_launched_over_a_socket_pair():
    """[FD-1] [STDIO-2]: the C++ server serves a socket pair on its stdin as a Unix socket."""
    directory = os.environ.get("SLICERBRIDGE_BUILD_DIR")
    program = os.path.join(directory or "", "reference_server", "slicerbridge-server")
    if not directory or not os.path.exists(program):
        pytest.skip("set SLICERBRIDGE_BUILD_DIR to a build with slicerbridge-server")
    client = Client.launch([program, "--stdio"], socket_pair=True)
    try:
        _echo_volume(client)
    finally:
        client.close()
    assert client.process.wait(WAIT) == 0
