"""Test certificates made at test time with the openssl command (never committed), and a
TLS-terminating proxy through which a plain-TCP tool (the conformance runner) reaches a TLS
server."""

from __future__ import annotations

import os
import shutil
import socket
import ssl
import subprocess
import threading
from typing import List

import pytest

from slicerbridge.tls import client_context
from slicerbridge.transport import TlsTransport

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir, os.pardir))


def built(relative: str) -> str:
    """The path of a C++ program of the build in $SLICERBRIDGE_BUILD_DIR, or a skip saying what
    is missing. Only an explicit build directory is used: these tests run while ./run.sh may
    still be building (and relinking) the default one."""
    directory = os.environ.get("SLICERBRIDGE_BUILD_DIR")
    if not directory:
        pytest.skip("set SLICERBRIDGE_BUILD_DIR to a build directory to test against the C++ "
                    "programs")
    path = os.path.join(directory, relative)
    if not os.access(path, os.X_OK):
        pytest.skip(f"{path} is not built (set SLICERBRIDGE_BUILD_DIR to a build directory)")
    return path


def make_certificate(directory: str, name: str, san: str = "DNS:localhost,IP:127.0.0.1"):
    """A self-signed certificate and its key, as reference_server/tests/cli_test.sh makes
    them; returns (cert path, key path)."""
    if shutil.which("openssl") is None:
        pytest.skip("no openssl command to make test certificates")
    cert = os.path.join(directory, f"{name}-cert.pem")
    key = os.path.join(directory, f"{name}-key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=localhost", "-addext", f"subjectAltName={san}",
                    "-keyout", key, "-out", cert], check=True, capture_output=True, timeout=60)
    return cert, key


class TlsProxy:
    """Accepts plain TCP on 127.0.0.1 and forwards each connection over TLS (verified against
    ``ca_file``) to ``target``, passing half-closes both ways."""

    def __init__(self, target_host: str, target_port: int, ca_file: str):
        self.target = (target_host, target_port)
        self.context = client_context(ca_file)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.address = "%s:%d" % self.listener.getsockname()
        self._sockets: List[socket.socket] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                plain, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._connect, args=(plain,), daemon=True).start()

    def _connect(self, plain: socket.socket) -> None:
        plain.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            raw = socket.create_connection(self.target, timeout=20)
            raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            tls = TlsTransport(raw, self.context, server_side=False,
                               server_hostname=self.target[0])
            tls.handshake(20)
        except (OSError, ConnectionError):
            plain.close()
            return
        with self._lock:
            self._sockets += [plain, raw]
        finished = threading.Barrier(2, action=lambda: (plain.close(), tls.close()))

        def upstream() -> None:
            try:
                while True:
                    data = plain.recv(1 << 20)
                    if not data:
                        tls.shutdown_write()
                        break
                    tls.write_all([data])
            except OSError:
                tls.shutdown()
                _shutdown(plain)
            finished.wait()

        def downstream() -> None:
            buffer = bytearray(1 << 20)
            try:
                while True:
                    count = tls.readinto(memoryview(buffer))
                    if not count:
                        plain.shutdown(socket.SHUT_WR)
                        break
                    plain.sendall(memoryview(buffer)[:count])
            except OSError:
                tls.shutdown()
                _shutdown(plain)
            finished.wait()

        threading.Thread(target=upstream, daemon=True).start()
        downstream()

    def close(self) -> None:
        self.listener.close()
        with self._lock:
            for sock in self._sockets:
                _shutdown(sock)


def _shutdown(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
