"""Availability under abuse (issue 14, spec section 7.1): the policies without sockets (the
timeouts are the decision tables of test_decisions.py), then an attack on the Python and the C++
server (loopback, bounded): idle sockets up to the cap, a hello sent a byte at a time, a stalled
frame and a client that never reads, while a client with the right token is still served; and a
client that sends calls and never reads their answers, whose reading the byte budget pauses.
Timeouts are configured small; waits are bounded polls."""

from __future__ import annotations

import contextlib
import os
import socket
import struct
import subprocess
import sys
import threading
import time

import msgpack
import numpy as np
import pytest

from conftest import wait_until
from slicerbridge.availability import ByteBudget, ConnectionBudget, LogLimiter
from slicerbridge.client import Client
from slicerbridge.codec import encode_message
from slicerbridge.data import Image, data_to_wire
from slicerbridge.errors import ErrorCode, SlicerBridgeError
from slicerbridge.messages import request

TOKEN = "availability-token-0123456789abcdef"
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))




def test_repeated_log_lines_are_limited():
    limiter = LogLimiter(2, 1.0)
    assert limiter.admit("accept", "failed", 0.0) == "failed"
    assert limiter.admit("accept", "failed", 0.0) == "failed"
    assert all(limiter.admit("accept", "failed", 0.1) is None for _ in range(100))
    assert limiter.admit("accept", "failed", 1.5) == "failed (100 similar lines suppressed)"


def test_a_paused_reader_resumes_when_bytes_are_released_or_gives_up_LIMIT_9():
    server = ByteBudget(100)
    holder = ConnectionBudget(server, 100)
    assert holder.try_reserve_frame(90)
    waiter, quitter = ConnectionBudget(server, 100), ConnectionBudget(server, 100)
    given_up = threading.Event()
    outcomes = {}
    readers = {
        "waiter": threading.Thread(target=lambda: outcomes.__setitem__(
            "waiter", waiter.reserve_frame(20, lambda: False))),
        "quitter": threading.Thread(target=lambda: outcomes.__setitem__(
            "quitter", quitter.reserve_frame(20, given_up.is_set)))}
    for reader in readers.values():
        reader.start()
    assert wait_until(lambda: waiter.paused and quitter.paused, 10.0)
    given_up.set()
    quitter.wake()
    readers["quitter"].join(10.0)
    assert outcomes == {"quitter": False} and quitter.held == 0
    assert waiter.paused  # nothing was released: still waiting
    holder.release(90)
    readers["waiter"].join(10.0)
    assert outcomes["waiter"] is True and waiter.held == 20 and not waiter.paused


# -- the attack, on both servers -------------------------------------------------------------

def _frame(head: dict) -> bytes:
    packed = msgpack.packb(head, use_bin_type=True)
    return b"SB" + bytes([1, 0]) + struct.pack(">IQ", len(packed), 0) + packed


HELLO = _frame({"kind": "hello", "protocol": "slicerbridge", "min_version": [1, 0],
                "max_version": [1, 1], "capabilities": [], "token": TOKEN})


def _cpp_server() -> list:
    directory = os.environ.get("SLICERBRIDGE_BUILD_DIR")
    program = os.path.join(directory or "", "reference_server", "slicerbridge-server")
    if not directory or not os.path.exists(program):
        pytest.skip("set SLICERBRIDGE_BUILD_DIR to a build with slicerbridge-server")
    return [program]


def _python_server() -> list:
    return [sys.executable, "-m", "slicerbridge", "serve"]


@contextlib.contextmanager
def _serving(server: str, flags: list):
    """The Python (``server`` "python") or the C++ server started with ``flags``, and the
    address it listens on; stopped at the end."""
    command = (_python_server() if server == "python" else _cpp_server()) + flags
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "python"))
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)
    try:
        yield process, process.stdout.readline().split()[-1]
    finally:
        process.terminate()
        process.wait(10)


def _rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def _closed_by_peer(sock: socket.socket) -> bool:
    sock.settimeout(10.0)  # bounded: a server that never closes fails the test
    try:
        while sock.recv(65536):
            pass
        return True
    except ConnectionResetError:  # closed with our bytes unread
        return True
    except socket.timeout:
        return False


def _error_code(sock: socket.socket) -> int:
    """The code of the connection-level error the server sent first."""
    sock.settimeout(10.0)
    data = b""
    while len(data) < 16:
        chunk = sock.recv(65536)
        assert chunk, "closed without an error frame"
        data += chunk
    head_length = struct.unpack(">I", data[4:8])[0]
    while len(data) < 16 + head_length:
        data += sock.recv(65536)
    head = msgpack.unpackb(data[16:16 + head_length], raw=False)
    assert head["kind"] == "response" and head["id"] is None
    return head["error"]["code"]


def _served(address: str) -> bool:
    try:
        with Client.connect(address, token=TOKEN) as client:
            return client.ping(timeout=5.0) is not None
    except Exception:
        return False


@pytest.mark.parametrize("server", [
    pytest.param("python"), pytest.param("cpp", marks=pytest.mark.built)])
def test_attack_leaves_a_client_with_the_token_served_LIMIT_5_LIMIT_7_LIMIT_8(server):
    flags = ["--listen", "127.0.0.1:0", "--token", TOKEN, "--hello-timeout", "0.5",
             "--stall-timeout", "0.5", "--max-connections", "8",
             "--connection-budget", str(16 << 20), "--total-budget", str(32 << 20)]
    sockets = []
    with _serving(server, flags) as (process, address):
        try:
            host, port = address.rsplit(":", 1)
            baseline = _rss_bytes(process.pid)
            # Idle sockets up to the cap: the next connection is refused with an error frame...
            sockets = [socket.create_connection((host, int(port))) for _ in range(8)]
            assert wait_until(lambda: _error_code(socket.create_connection((host, int(port))))
                              == 13, 10.0)
            # ...until the hello timeout closes them.
            assert all(_closed_by_peer(s) for s in sockets)
            # A hello one byte at a time, a stalled frame, a client that never reads.
            slow = socket.create_connection((host, int(port)))
            stalled = socket.create_connection((host, int(port)))
            stalled.sendall(HELLO)
            stalled.sendall(_frame({"kind": "request", "id": 1, "method": "ping",
                                    "params": {}})[:10])
            hog = socket.create_connection((host, int(port)))
            hog.sendall(HELLO)
            hog.setblocking(False)
            image_request = _frame({"kind": "request", "id": 2, "method": "ping", "params": {},
                                    "padding": b"\0" * (1 << 20)})
            for _ in range(200):  # bounded: stops when the server stops reading
                try:
                    hog.send(image_request)
                except BlockingIOError:
                    break
                except OSError:
                    break
            for i in range(20):  # bounded: one byte every 50 ms at most
                try:
                    slow.send(HELLO[i:i + 1])
                except OSError:
                    break
                time.sleep(0.05)  # the attacker's pace, not a synchronisation
            # The slow hello and the stalled frame are closed by the timeouts...
            assert _closed_by_peer(slow)
            assert _closed_by_peer(stalled)
            # ...and a client with the token is served within a bound.
            assert wait_until(lambda: _served(address), 10.0)
            assert _rss_bytes(process.pid) < baseline + (256 << 20)
            hog.close()
        finally:
            for sock in sockets:
                sock.close()


def _refusal(call) -> SlicerBridgeError:
    with pytest.raises(SlicerBridgeError) as raised:
        call.result(timeout=10.0)
    return raised.value


@pytest.mark.parametrize("server", [
    pytest.param("python"), pytest.param("cpp", marks=pytest.mark.built)])
def test_calls_beyond_the_connections_or_the_servers_bound_are_refused_and_served_once_room_is_made_LIMIT_2_LIMIT_12(server):
    """[LIMIT-2] [LIMIT-12]: each refusal names its bound, the connection stays open, and calls
    are served again once the held ones are cancelled."""
    with _serving(server, [
        "--listen", "127.0.0.1:0", "--token", TOKEN, "--workers", "1", "--max-in-flight", "2",
        "--max-pending-calls", "2", "--cancel-grace", "0.25"]) as (process, address):
        with Client.connect(address, token=TOKEN) as first, \
                Client.connect(address, token=TOKEN) as second:
            assert first.server_hello.limits.max_in_flight == 2
            assert first.server_hello.limits.cancel_grace == 0.25
            # One call computes, one waits for the only worker: the server's two places.
            held = [first.submit("slow", parameters={"seconds": 60.0, "steps": 600})
                    for _ in range(2)]
            first._table.max_in_flight = 3  # as a 1.0 client: it sends beyond [LIMIT-13]
            over_connection = _refusal(first.submit("slow", parameters={"seconds": 0.0}))
            assert over_connection.code == ErrorCode.TOO_MANY_IN_FLIGHT
            assert over_connection.details == {"max_in_flight": 2}
            over_server = _refusal(second.submit("slow", parameters={"seconds": 0.0}))
            assert over_server.code == ErrorCode.TOO_MANY_IN_FLIGHT
            assert over_server.details == {"max_pending_calls": 2}
            assert second.ping(timeout=10.0) is not None  # the connection stays open
            for call in held:
                call.cancel()
            for call in held:
                assert _refusal(call).code == ErrorCode.CANCELLED
            # Both places are given back: two calls of the second connection are served.
            for _ in range(2):
                assert second.invoke("slow", parameters={"seconds": 0.0, "steps": 1},
                                     timeout=10.0).outputs == {}


@pytest.mark.parametrize("server", [
    pytest.param("python"), pytest.param("cpp", marks=pytest.mark.built)])
def test_the_client_holds_invokes_beyond_max_in_flight_and_sends_them_as_calls_end_LIMIT_13(server):
    """[LIMIT-13] against a real server announcing max_in_flight 2: invokes beyond it wait in
    the client instead of being refused, are sent oldest first as open ones end, a held one
    cancelled is never sent, and a goodbye waits behind the held calls ([BYE-1])."""
    quick = {"seconds": 0.0, "steps": 1}
    with _serving(server, [
        "--listen", "127.0.0.1:0", "--token", TOKEN, "--workers", "2", "--max-in-flight", "2",
        "--cancel-grace", "0.25"]) as (process, address):
        client = Client.connect(address, token=TOKEN)
        long_calls = [client.submit("slow", parameters={"seconds": 60.0, "steps": 600})
                      for _ in range(2)]
        waiting = [client.submit("slow", parameters=quick) for _ in range(3)]
        assert client.ping(timeout=10.0) is not None  # a full connection still answers
        # Sent, they would have been refused before the ping was answered.
        assert not any(call.done() for call in long_calls + waiting)
        waiting[2].cancel()
        assert _refusal(waiting[2]).code == ErrorCode.CANCELLED  # at once: never sent
        long_calls[0].cancel()
        assert _refusal(long_calls[0]).code == ErrorCode.CANCELLED
        for call in waiting[:2]:  # one place free: they go one after the other
            assert call.result(timeout=10.0).outputs == {}
        # One long call open: one more call is sent, the next held, and the goodbye of close()
        # waits behind it until the long call ends.
        sent_now = client.submit("slow", parameters=quick)
        assert sent_now.result(timeout=10.0).outputs == {}
        filler = client.submit("slow", parameters={"seconds": 60.0, "steps": 600})
        behind = client.submit("slow", parameters=quick)
        assert not behind.done()
        ender = threading.Timer(0.5, lambda: [call.cancel() for call in (long_calls[1], filler)])
        ender.start()
        try:
            client.close(timeout=20.0)
        finally:
            ender.join()
        assert behind.result(timeout=0).outputs == {}
        for call in (long_calls[1], filler):
            assert _refusal(call).code == ErrorCode.CANCELLED


def _invoke_echo_frame(request_id: int, image: Image) -> bytes:
    return encode_message(request(request_id, "invoke", {
        "processor": "echo", "inputs": {"image": data_to_wire(image)}})).to_bytes()


@pytest.mark.parametrize("server", [
    pytest.param("python"), pytest.param("cpp", marks=pytest.mark.built)])
def test_a_client_that_never_reads_its_answers_is_paused_within_its_budget_LIMIT_9(server):
    """Calls of 1 MiB each, sent and never read: without a budget the server would hold every
    call its in-flight limit allows (64 MiB and more); with an 8 MiB connection budget it stops
    reading, its memory stays near the budget, and other clients are served."""
    megabyte = 1 << 20
    with _serving(server, [
        "--listen", "127.0.0.1:0", "--token", TOKEN, "--connection-budget", str(8 * megabyte),
        "--total-budget", str(64 * megabyte)]) as (process, address):
        host, port = address.rsplit(":", 1)
        assert _served(address)
        baseline = _rss_bytes(process.pid)
        image = Image(np.arange(megabyte, dtype=np.uint8).reshape(16, 256, 256))
        hog = socket.create_connection((host, int(port)))
        hog.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        hog.sendall(HELLO)
        hog.settimeout(3.0)  # a send blocked this long: the server stopped reading
        sent = 0
        for request_id in range(1, 129):  # bounded: 128 MiB at most
            try:
                hog.sendall(_invoke_echo_frame(request_id, image))
            except socket.timeout:
                break
            sent += 1
        held = _rss_bytes(process.pid) - baseline
        assert sent < 48, f"the server read {sent} MiB of calls from a client that reads nothing"
        assert held < 48 * megabyte, f"the server grew by {held / megabyte:.0f} MiB"
        assert _served(address)  # its own budget: another client is not paused
        hog.close()


@pytest.mark.parametrize("server", [
    pytest.param("python"), pytest.param("cpp", marks=pytest.mark.built)])
def test_catalog_requests_never_read_are_bounded_by_the_budget_not_max_in_flight_LIMIT_2_LIMIT_9(
        server):
    """[LIMIT-2] no longer bounds requests other than invoke, so a client that sends catalogs
    and never reads their answers is held only by its byte budget: the server stops reading it,
    stays near the budget and serves others."""
    megabyte = 1 << 20
    with _serving(server, [
        "--listen", "127.0.0.1:0", "--token", TOKEN, "--connection-budget", str(megabyte),
        "--total-budget", str(16 * megabyte)]) as (process, address):
        host, port = address.rsplit(":", 1)
        assert _served(address)
        baseline = _rss_bytes(process.pid)
        hog = socket.create_connection((host, int(port)))
        hog.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        hog.sendall(HELLO)
        hog.settimeout(3.0)  # a send blocked this long: the server stopped reading
        batch = b"".join(encode_message(request(i, "catalog", {})).to_bytes()
                         for i in range(1000))
        sent = 0
        for _ in range(100):  # bounded: 100,000 catalogs, gigabytes of answers unread
            try:
                hog.sendall(batch)
            except socket.timeout:
                break
            sent += 1
        held = _rss_bytes(process.pid) - baseline
        assert sent < 100, "the server read 100,000 catalogs from a client that reads nothing"
        assert held < 48 * megabyte, f"the server grew by {held / megabyte:.0f} MiB"
        assert _served(address)
        hog.close()
