"""The soak and attack test (issue 14), on the Python and the C++ server, loopback, bounded.

For a few seconds, clients with the token make calls of every kind at once: echo calls whose
images and numbers come back checked byte for byte, slow calls cancelled mid-way, connections
dropped with a call open (closed or reset), and connections that send malformed frames. Beside
them, for the whole run: idle sockets, a hello sent one byte at a time, a client that sends
calls and never reads, and a frame that announces 4 GiB and stops. Afterwards no call was lost
or altered, every call of a client with the token was answered within a bound, every abusive
connection was closed, the server's memory stayed within a bound, and no kind of log line came
more often than the servers' log limiter lets it. `./run.sh soak [seconds]` runs it for longer."""

from __future__ import annotations

import collections
import os
import random
import re
import socket
import struct
import subprocess
import sys
import threading
import time

import msgpack
import numpy as np
import pytest

from slicerbridge.availability import LogLimiter
from slicerbridge.client import Client
from slicerbridge.codec import encode_message
from slicerbridge.errors import ConnectionLost, ErrorCode, SlicerBridgeError
from slicerbridge.data import Image, data_to_wire
from slicerbridge.messages import request

TOKEN = "soak-token-0123456789abcdefghij"
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MEGABYTE = 1 << 20
# How long the load lasts; `./run.sh soak [seconds]` sets it for a longer run.
LOAD_SECONDS = float(os.environ.get("SLICERBRIDGE_SOAK_SECONDS", "4"))
MOST_PER_SECOND = 500  # bounds every loop: at most this many rounds per second of load
CALL_BOUND_SECONDS = 15.0  # every answer to a client with the token comes within this
CLOSE_BOUND_SECONDS = 15.0  # every abusive connection is closed within this
LOG_LIMITS = LogLimiter()  # the Python server's; the C++ server's are the same (5 in 10 s)


def _frame(head: dict, bulk: bytes = b"", announced_bulk: int | None = None) -> bytes:
    packed = msgpack.packb(head, use_bin_type=True)
    bulk_length = len(bulk) if announced_bulk is None else announced_bulk
    return b"SB" + bytes([1, 0]) + struct.pack(">IQ", len(packed), bulk_length) + packed + bulk


HELLO = _frame({"kind": "hello", "protocol": "slicerbridge", "min_version": [1, 0],
                "max_version": [1, 1], "capabilities": [], "token": TOKEN})


def _server_command(kind: str) -> list:
    if kind == "python":
        return [sys.executable, "-m", "slicerbridge", "serve"]
    directory = os.environ.get("SLICERBRIDGE_BUILD_DIR")
    program = os.path.join(directory or "", "reference_server", "slicerbridge-server")
    if not directory or not os.path.exists(program):
        pytest.skip("set SLICERBRIDGE_BUILD_DIR to a build with slicerbridge-server")
    return [program]


def _rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def _closed_by_peer(sock: socket.socket, within: float) -> bool:
    """Reads and discards until the server closes the connection, for at most `within` s."""
    sock.setblocking(True)
    sock.settimeout(within)
    try:
        while sock.recv(65536):
            pass
        return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False


class Tally:
    """What the clients saw, counted under one lock."""

    def __init__(self):
        self.lock = threading.Lock()
        self.counts: dict = {}
        self.problems: list = []
        self.slowest = 0.0

    def count(self, what: str, seconds: float = 0.0) -> None:
        with self.lock:
            self.counts[what] = self.counts.get(what, 0) + 1
            self.slowest = max(self.slowest, seconds)

    def problem(self, text: str) -> None:
        with self.lock:
            self.problems.append(text)


def _legitimate_client(address: str, seed: int, until: float, tally: Tally) -> None:
    """Echo calls checked byte for byte, slow calls cancelled mid-way, pings; all answered."""
    rng = random.Random(seed)
    try:
        client = Client.connect(address, token=TOKEN)
    except Exception as error:  # noqa: BLE001 - the test reports it
        return tally.problem(f"client {seed} could not connect: {error!r}")
    with client:
        calls = 0
        while time.monotonic() < until and calls < MOST_PER_SECOND * LOAD_SECONDS:  # bounded
            calls += 1
            choice = rng.random()
            started = time.monotonic()
            try:
                if choice < 0.6:
                    edge = rng.choice((4, 16, 48))
                    voxels = np.frombuffer(rng.randbytes(2 * edge ** 3), dtype=np.int16)
                    matrix = np.diag([rng.uniform(0.1, 3) for _ in range(3)] + [1.0])
                    matrix[:3, 3] = [rng.uniform(-200, 200) for _ in range(3)]
                    image = Image(voxels.reshape(edge, edge, edge).copy(), matrix)
                    number = rng.uniform(-1e6, 1e6)
                    outputs = client.submit("echo", {"image": image}, {"number": number}) \
                        .result(CALL_BOUND_SECONDS).outputs
                    back = outputs["image_out"]
                    if (back.voxels.dtype != image.voxels.dtype
                            or not np.array_equal(back.voxels, image.voxels)
                            or not np.array_equal(back.ijk_to_space, image.ijk_to_space)
                            or outputs["number_out"] != number):
                        tally.problem(f"client {seed}: echo came back altered")
                    tally.count("echo", time.monotonic() - started)
                elif choice < 0.8:
                    call = client.submit("slow", parameters={"seconds": 0.4, "steps": 40})
                    time.sleep(rng.uniform(0.0, 0.05))  # the user's pause before cancelling
                    call.cancel()
                    try:
                        call.result(CALL_BOUND_SECONDS)
                        tally.count("cancel_too_late", time.monotonic() - started)
                    except SlicerBridgeError as error:
                        if error.code != ErrorCode.CANCELLED:
                            tally.problem(f"client {seed}: a cancelled call failed with {error!r}")
                        tally.count("cancelled", time.monotonic() - started)
                else:
                    client.ping(timeout=CALL_BOUND_SECONDS)
                    tally.count("ping", time.monotonic() - started)
            except (TimeoutError, ConnectionLost, SlicerBridgeError) as error:
                tally.problem(f"client {seed}: call lost after {time.monotonic() - started:.1f} s:"
                              f" {error!r}")
                return


def _invoke_frame(request_id: int, processor: str, parameters: dict) -> bytes:
    return _frame({"kind": "request", "id": request_id, "method": "invoke",
                   "params": {"processor": processor, "inputs": {}, "parameters": parameters}})


def _dropper(host: str, port: int, seed: int, until: float, tally: Tally) -> None:
    """Connections that start a call and go: closed politely or reset (SO_LINGER 0)."""
    rng = random.Random(seed)
    for _ in range(int(MOST_PER_SECOND * LOAD_SECONDS)):  # bounded
        if time.monotonic() >= until:
            return
        with socket.create_connection((host, port)) as sock:
            sock.sendall(HELLO + _invoke_frame(1, "slow", {"seconds": 0.2, "steps": 4}))
            if rng.random() < 0.5:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        tally.count("dropped")
        time.sleep(0.01)


MALFORMED = [
    b"XX" + bytes([1, 0]) + struct.pack(">IQ", 5, 0) + b"hello",  # bad magic
    _frame({"kind": "request", "id": 1, "method": "ping", "params": {}})[:-3] + b"\xc1\xc1\xc1",
    b"SB" + bytes([1, 0]) + struct.pack(">IQ", 3, 0) + b"\xdf\xff\xff",  # map larger than frame
    _frame({"kind": "nonsense", "id": 3}),
    _frame({"kind": "request", "id": "x", "method": 7}),
    b"SB" + bytes([9, 9]) + struct.pack(">IQ", 1, 0) + b"\x80",  # unknown frame version
]


def _malformed_sender(host: str, port: int, until: float, tally: Tally) -> None:
    """Each malformed frame after a good hello: the server answers or closes, and goes on."""
    for number in range(int(MOST_PER_SECOND * LOAD_SECONDS)):  # bounded
        if time.monotonic() >= until:
            return
        with socket.create_connection((host, port)) as sock:
            sock.sendall(HELLO + MALFORMED[number % len(MALFORMED)])
            sock.shutdown(socket.SHUT_WR)
            if not _closed_by_peer(sock, CLOSE_BOUND_SECONDS):
                tally.problem(f"a malformed frame {number % len(MALFORMED)} was never closed")
        tally.count("malformed")


def _most_repeated_line(log_text: str) -> tuple:
    """The log line (time stamp and suppression count left out) written most often, and how
    often."""
    lines = collections.Counter(
        re.sub(r" \(\d+ similar lines suppressed\)$", "",
               re.sub(r"^\d{4}-\d\d-\d\d[T ][\d:.,]+Z?\s*", "", line))
        for line in log_text.splitlines() if line.strip())
    return lines.most_common(1)[0] if lines else ("", 0)


@pytest.mark.parametrize("server", [
    pytest.param("python"), pytest.param("cpp", marks=pytest.mark.built)])
def test_soak_and_attack_lose_nothing_and_serve_clients_with_the_token(server, tmp_path):
    budget = 16 * MEGABYTE
    command = _server_command(server) + [
        "--listen", "127.0.0.1:0", "--token", TOKEN, "--hello-timeout", "1",
        "--stall-timeout", "1", "--max-connections", "64", "--connection-budget", str(4 * MEGABYTE),
        "--total-budget", str(budget)]
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "python"))
    log_path = tmp_path / "server.log"
    log_file = open(log_path, "w")
    started = time.monotonic()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log_file, text=True,
                               env=env)
    attackers = []
    try:
        address = process.stdout.readline().split()[-1]
        host, port_text = address.rsplit(":", 1)
        port = int(port_text)
        with Client.connect(address, token=TOKEN) as first:
            first.ping(timeout=CALL_BOUND_SECONDS)
        baseline = _rss_bytes(process.pid)

        # Held for the whole run: idle sockets, a frame that announces 4 GiB and stops, and a
        # client that sends calls and never reads their answers.
        attackers = [socket.create_connection((host, port)) for _ in range(6)]
        huge = socket.create_connection((host, port))
        head = {"kind": "request", "id": 1, "method": "invoke",
                "params": {"processor": "echo", "inputs": {}, "parameters": {}}}
        huge.sendall(HELLO + _frame(head, b"\0" * 1000, announced_bulk=4 << 30))
        attackers.append(huge)
        hog = socket.create_connection((host, port))
        hog.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        hog.sendall(HELLO)
        hog.settimeout(1.0)  # a send blocked this long: the server stopped reading
        image = Image(np.arange(MEGABYTE, dtype=np.uint8).reshape(16, 256, 256))
        for request_id in range(1, 257):  # bounded: 256 MiB, held by a server without a budget
            try:
                hog.sendall(encode_message(request(request_id, "invoke", {
                    "processor": "echo", "inputs": {"image": data_to_wire(image)}})).to_bytes())
            except OSError:  # socket.timeout included
                break

        tally = Tally()
        until = time.monotonic() + LOAD_SECONDS
        workers = [threading.Thread(target=_legitimate_client, args=(address, seed, until, tally))
                   for seed in range(6)]
        workers += [threading.Thread(target=_dropper, args=(host, port, 100, until, tally)),
                    threading.Thread(target=_malformed_sender, args=(host, port, until, tally))]
        slow = socket.create_connection((host, port))
        for worker in workers:
            worker.start()
        slow_closed = False
        for i in range(len(HELLO)):  # a hello one byte every 100 ms, until the server closes
            if time.monotonic() > until:
                break
            try:
                slow.send(HELLO[i:i + 1])
            except OSError:
                slow_closed = True
                break
            time.sleep(0.1)  # the attacker's pace, not a synchronisation
        for worker in workers:
            worker.join(LOAD_SECONDS + 4 * CALL_BOUND_SECONDS)
            assert not worker.is_alive(), "a client thread did not finish within its bound"

        assert not tally.problems, tally.problems[:10]
        assert tally.counts.get("echo", 0) >= 6 and tally.counts.get("cancelled", 0) >= 1, \
            tally.counts
        assert tally.counts.get("dropped", 0) >= 1 and tally.counts.get("malformed", 0) >= 1
        assert tally.slowest < CALL_BOUND_SECONDS
        assert slow_closed or _closed_by_peer(slow, CLOSE_BOUND_SECONDS)
        for sock in attackers:
            assert _closed_by_peer(sock, CLOSE_BOUND_SECONDS)
        grown = _rss_bytes(process.pid) - baseline
        assert grown < budget + 96 * MEGABYTE, f"the server grew by {grown / MEGABYTE:.0f} MiB"
        hog.close()
        with Client.connect(address, token=TOKEN) as last:
            last.ping(timeout=CALL_BOUND_SECONDS)
        assert process.poll() is None, "the server died"
    finally:
        for sock in attackers:
            sock.close()
        process.terminate()
        process.wait(10)
        log_file.close()
    # Hundreds of bad frames, refusals and timeouts, a handful of lines each per 10 s however
    # long the run: an attacker cannot flood the log.
    served = time.monotonic() - started
    line, times = _most_repeated_line(log_path.read_text())
    windows = int(served // LOG_LIMITS.period) + 1
    assert times <= LOG_LIMITS.burst * windows, f"{line!r} logged {times} times in {served:.0f} s"
