"""The portable I/O path (issue 11): where the system has no scatter-gather calls (Windows has
no socket.sendmsg, os.readv or os.writev), frames go out buffer by buffer. These tests take the
calls away on Linux and run real traffic over TCP, a child's pipes and TLS."""

import os
import socket

import numpy as np
import pytest

from conftest import PYTHON, PYTHON_DIR, WAIT, oblique_matrix, start_server
from slicerbridge import Client, Image, transport


@pytest.fixture
def portable(monkeypatch):
    """No scatter-gather call may be used while this fixture is active."""
    def forbidden(*arguments, **options):
        raise AssertionError("a scatter-gather call was used on the portable path")

    monkeypatch.setattr(transport, "PORTABLE_ONLY", True)
    monkeypatch.setattr(socket.socket, "sendmsg", forbidden)
    monkeypatch.delattr(os, "readv", raising=False)
    monkeypatch.delattr(os, "writev", raising=False)


def big_image():
    voxels = np.random.default_rng(7).integers(0, 60000, (24, 96, 128), dtype=np.uint16)
    return Image(voxels, oblique_matrix(), space="LPS")  # 576 KiB: many writes


def exercise(client):
    image = big_image()
    for _ in range(3):
        echoed = client.invoke("echo", {"image": image}, timeout=WAIT).outputs["image_out"]
        assert np.array_equal(echoed.voxels, image.voxels)
        assert np.array_equal(echoed.ijk_to_space, image.ijk_to_space)
    small = Image(np.zeros((1, 1, 2), np.uint8))
    for _ in range(20):
        client.invoke("echo", {"image": small}, timeout=WAIT)
    fractions = []
    client.invoke("slow", parameters={"seconds": 0.0, "steps": 5},
                  progress=lambda f, m: fractions.append(f), timeout=WAIT)
    assert fractions[-1] == 1.0


def test_tcp_without_sendmsg(portable):
    instance = start_server()
    try:
        with Client.connect(instance.text_address, timeout=WAIT) as client:
            assert not client.transport._scatter_gather
            exercise(client)
    finally:
        instance.server.close()


def test_child_pipes_without_readv_and_writev(portable):
    env = dict(os.environ, PYTHONPATH=PYTHON_DIR, SLICERBRIDGE_PORTABLE_IO="1")
    with Client.launch([PYTHON, "-m", "slicerbridge", "serve", "--stdio"], env=env,
                       timeout=WAIT) as client:
        assert not client.transport._vectored
        exercise(client)
    assert client.process.returncode == 0


def test_tls_never_needs_sendmsg(portable, tmp_path):
    from slicerbridge.tls import server_context
    from tls_support import make_certificate
    cert, key = make_certificate(str(tmp_path), "portable")
    instance = start_server()
    try:
        host, port = instance.server.listen_tcp("127.0.0.1", 0, tls=server_context(cert, key))
        with Client.connect(f"tls://{host}:{port}", tls_ca=cert, timeout=WAIT) as client:
            exercise(client)
    finally:
        instance.server.close()


def test_the_portable_path_joins_small_buffers():
    """A frame's header and head leave in one write; large buffers go alone."""
    small = [memoryview(b"h" * 16), memoryview(b"x" * 100), memoryview(b"y" * (1 << 20))]
    joined = transport._first_or_joined(small)
    assert bytes(joined) == b"h" * 16 + b"x" * 100
    assert transport._first_or_joined(small[2:]) is small[2]
