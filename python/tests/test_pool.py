"""ClientPool: calls spread over connections, lost connections replaced, idempotent calls resent
(section 6.8), other calls failing with CallLost.

Servers are in-process, on loopback. A server is "lost" by cutting the TCP connections of a
forwarding proxy in front of it (a reset, as when a machine dies): the server behind sees a dropped
connection. Every wait is bounded; nothing asserts how long anything took.
"""

from __future__ import annotations

import itertools
import queue
import signal
import socket
import struct
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import List, Optional

import pytest

from conftest import WAIT, wait_until
from slicerbridge import Float, Int, Server, processor
from slicerbridge.client import Client
from slicerbridge.context import Context
from slicerbridge.errors import ErrorCode, SlicerBridgeError
from slicerbridge.limits import Limits
from slicerbridge.pool import CallLost, ClientPool


class Proxy:
    """Forwards loopback TCP connections to ``target``; ``cut`` resets the open ones."""

    def __init__(self, target):
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.address = self.listener.getsockname()
        self.lock = threading.Lock()
        self.sockets: List[socket.socket] = []
        self.accepted = 0
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    @property
    def text_address(self) -> str:
        return f"{self.address[0]}:{self.address[1]}"

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target, timeout=WAIT)
            upstream.settimeout(None)
            with self.lock:
                self.sockets += [client, upstream]
                self.accepted += 1
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while True:
                data = source.recv(1 << 16)
                if not data:
                    break
                sink.sendall(data)
        except OSError:
            pass
        try:
            sink.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def cut(self) -> None:
        """Resets every connection open through the proxy (the server is gone)."""
        with self.lock:
            sockets, self.sockets = self.sockets, []
        for s in sockets:
            try:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def close(self) -> None:
        self.listener.close()
        self.cut()


class Counted:
    """The processors of one test server: ``double`` (idempotent) and ``append`` (not), which
    count their calls and wait for ``release`` when ``hold`` is set."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.calls = {"double": 0, "append": 0}
        self.entered = threading.Semaphore(0)
        self.hold = threading.Event()
        self.release = threading.Event()

    def enter(self, name: str) -> None:
        with self.lock:
            self.calls[name] += 1
        self.entered.release()
        if self.hold.is_set():
            self.release.wait(WAIT)

    def processors(self):
        @processor(name="double", category="Testing", idempotent=True,
                   outputs={"doubled": Float()})
        def double(ctx: Context, value: Float() = 0.0) -> dict:
            """Twice its parameter; the same every time. Reports progress 0.25, then 0.5."""
            ctx.progress(0.25)
            ctx.progress(0.5)
            self.enter("double")
            return {"doubled": 2.0 * value}

        @processor(name="append", category="Testing", outputs={"count": Int()})
        def append(ctx: Context, value: Float() = 0.0) -> dict:
            """Not idempotent: stands for a call with an effect."""
            self.enter("append")
            return {"count": 1}

        return [double, append]


class Cluster:
    """``n`` servers sharing one ``Counted``, each behind its own proxy; ``connect`` goes to
    them in turn, as a balancer would."""

    def __init__(self, n: int, limits: Optional[Limits] = None):
        self.counted = Counted()
        self.servers = [Server(self.counted.processors(), limits=limits) for _ in range(n)]
        self.proxies = [Proxy(s.listen_tcp("127.0.0.1", 0)) for s in self.servers]
        self.turn = itertools.count()
        self.used: List[int] = []

    def connect(self) -> Client:
        index = next(self.turn) % len(self.proxies)
        self.used.append(index)
        return Client.connect(self.proxies[index].text_address, timeout=WAIT)

    def close(self) -> None:
        self.counted.release.set()
        for p in self.proxies:
            p.close()
        for s in self.servers:
            s.close()


@pytest.fixture
def cluster2():
    c = Cluster(2)
    yield c
    c.close()


@pytest.fixture
def cluster1():
    c = Cluster(1)
    yield c
    c.close()


def entered(counted: Counted, count: int = 1) -> bool:
    return all(counted.entered.acquire(timeout=WAIT) for _ in range(count))


def test_calls_spread_over_the_connections(cluster2):
    counted = cluster2.counted
    counted.hold.set()
    with ClientPool(cluster2.connect, size=3, max_retries=0) as pool:
        with ThreadPoolExecutor(3) as threads:
            futures = [threads.submit(pool.invoke, "double", parameters={"value": v},
                                      wait=WAIT, timeout=WAIT) for v in (1.0, 2.0, 3.0)]
            # With one call per connection, three calls held at once are on three connections.
            assert entered(counted, 3)
            counted.release.set()
            results = [f.result(WAIT) for f in futures]
        assert sorted(r.outputs["doubled"] for r in results) == [2.0, 4.0, 6.0]
        assert pool.opened == 3 and pool.resent == 0
        assert all(r.attempts == 1 for r in results)


def test_a_connection_lost_while_idle_is_replaced(cluster1):
    with ClientPool(cluster1.connect, size=1) as pool:
        assert pool.invoke("append", parameters={"value": 1.0}, timeout=WAIT).outputs["count"] == 1
        cluster1.proxies[0].cut()
        client = pool._slots[0].client
        assert wait_until(lambda: client._connection_lost is not None)
        # The next call, not idempotent, goes on a new connection: nothing carried it when the
        # old one was lost, so it neither fails nor counts as resent.
        result = pool.invoke("append", parameters={"value": 2.0}, timeout=WAIT)
        assert result.attempts == 1 and result.lost == []
        assert pool.opened == 2 and pool.lost == 1 and pool.resent == 0
        assert counted_calls(cluster1, "append") == 2


def counted_calls(cluster: Cluster, name: str) -> int:
    with cluster.counted.lock:
        return cluster.counted.calls[name]


def test_resend_idempotent_call_after_lost_server_one_answer(cluster2):
    """[RESEND-1] [RESEND-2] [RESEND-4] [CAT-8]: resent once, on a new connection, one correct
    answer, progress never going backwards."""
    counted = cluster2.counted
    counted.hold.set()
    progress_seen: List[float] = []
    halfway = threading.Event()

    def progress(fraction: float, message) -> None:
        progress_seen.append(fraction)
        if fraction == 0.5:
            halfway.set()

    with ClientPool(cluster2.connect, size=1, max_retries=2) as pool:
        with ThreadPoolExecutor(1) as threads:
            future = threads.submit(pool.invoke, "double", parameters={"value": 21.0},
                                    timeout=WAIT, progress=progress)
            assert entered(counted)  # on server 0
            assert halfway.wait(WAIT)  # its progress reached the caller before the loss
            lost_name = pool._slots[0].name
            cluster2.proxies[0].cut()
            assert entered(counted)  # resent, reaching server 1
            counted.release.set()
            result = future.result(WAIT)
        assert result.outputs["doubled"] == 42.0
        assert result.attempts == 2 and result.lost == [lost_name]
        assert str(cluster2.proxies[0].address[1]) in lost_name
        assert cluster2.used == [0, 1]
        assert pool.resent == 1 and pool.lost == 1
        assert counted_calls(cluster2, "double") == 2
        # Server 1 reports 0.25 and 0.5 again: 0.25 is dropped.
        assert progress_seen == [0.25, 0.5, 0.5]


def test_non_idempotent_call_fails_naming_the_lost_server_not_resent(cluster2):
    """[RESEND-5] [CAT-8]: CallLost names the lost connection; the server saw the call once."""
    counted = cluster2.counted
    counted.hold.set()
    with ClientPool(cluster2.connect, size=1) as pool:
        with ThreadPoolExecutor(1) as threads:
            future = threads.submit(pool.invoke, "append", parameters={"value": 1.0},
                                    timeout=WAIT)
            assert entered(counted)
            cluster2.proxies[0].cut()
            with pytest.raises(CallLost) as raised:
                future.result(WAIT)
        error = raised.value
        address = cluster2.proxies[0].text_address
        assert address in str(error) and "not idempotent" in str(error)
        assert error.attempts == 1 and len(error.lost) == 1 and address in error.lost[0]
        assert pool.resent == 0
        # invoke has returned: nothing can send the call again now.
        assert counted_calls(cluster2, "append") == 1


def test_a_connection_carries_no_more_calls_than_its_server_admits_LIMIT_13():
    """[LIMIT-13]: with calls_per_connection 2 and a server admitting 1, the second call waits
    in the pool, not in the connection's call table: when that connection is lost, it goes on a
    new one instead of being lost with it, though its processor is not idempotent."""
    cluster = Cluster(1, limits=Limits(max_in_flight=1))
    try:
        counted = cluster.counted
        counted.hold.set()
        with ClientPool(cluster.connect, size=1, calls_per_connection=2) as pool:
            with ThreadPoolExecutor(2) as threads:
                running = threads.submit(pool.invoke, "append", parameters={"value": 1.0},
                                         timeout=WAIT)
                assert entered(counted)
                waiting = threads.submit(pool.invoke, "append", parameters={"value": 2.0},
                                         timeout=WAIT)
                assert wait_until(lambda: pool.waiting == 1)
                counted.hold.clear()
                cluster.proxies[0].cut()
                with pytest.raises(CallLost):
                    running.result(WAIT)
                counted.release.set()  # the worker the lost call held
                result = waiting.result(WAIT)
        assert result.outputs["count"] == 1 and result.attempts == 1 and result.lost == []
    finally:
        cluster.close()


def test_a_call_that_waited_in_the_pool_is_sent_with_what_remains_of_its_deadline_LIMIT_13():
    """[LIMIT-13]: the deadline each connection's client is given is the call's, less the time
    the call waited in the pool."""
    cluster = Cluster(1, limits=Limits(max_in_flight=1))
    given = []

    def connect() -> Client:
        client = cluster.connect()
        invoke = client.invoke

        def recording(*args, deadline=None, **kwargs):
            given.append(deadline)
            return invoke(*args, deadline=deadline, **kwargs)

        client.invoke = recording
        return client

    waited_at_least = 0.3
    try:
        counted = cluster.counted
        counted.hold.set()
        started = time.monotonic()
        with ClientPool(connect, size=1, calls_per_connection=2) as pool:
            with ThreadPoolExecutor(2) as threads:
                running = threads.submit(pool.invoke, "append", deadline=30.0, timeout=WAIT)
                assert entered(counted)
                waiting = threads.submit(pool.invoke, "append", deadline=10.0, timeout=WAIT)
                assert wait_until(lambda: pool.waiting == 1)
                time.sleep(waited_at_least)
                counted.hold.clear()
                counted.release.set()
                running.result(WAIT)
                waiting.result(WAIT)
        elapsed = time.monotonic() - started
    finally:
        cluster.close()
    assert len(given) == 2
    assert 30.0 - elapsed <= given[0] <= 30.0
    assert 10.0 - elapsed <= given[1] <= 10.0 - waited_at_least


def test_resend_bounded_by_max_retries(cluster1):
    """[RESEND-3]: sent max_retries + 1 times, then CallLost."""
    counted = cluster1.counted
    counted.hold.set()
    with ClientPool(cluster1.connect, size=1, max_retries=2) as pool:
        with ThreadPoolExecutor(1) as threads:
            future = threads.submit(pool.invoke, "double", parameters={"value": 1.0},
                                    timeout=WAIT)
            for _ in range(3):
                assert entered(counted)
                cluster1.proxies[0].cut()
            with pytest.raises(CallLost) as raised:
                future.result(WAIT)
        assert raised.value.attempts == 3 and len(raised.value.lost) == 3
        assert "sent 3 times" in str(raised.value)
        assert pool.resent == 2
        assert counted_calls(cluster1, "double") == 3


@pytest.mark.parametrize("name, resent", [("double", True), ("append", False)])
def test_draining_server_shutting_down(cluster2, name, resent):
    """[RESEND-1]: a server shutting down answers its open calls with shutting_down; the
    idempotent call is sent again on another connection, the other one fails."""
    counted = cluster2.counted
    counted.hold.set()
    with ClientPool(cluster2.connect, size=1) as pool:
        with ThreadPoolExecutor(2) as threads:
            future = threads.submit(pool.invoke, name, parameters={"value": 5.0}, timeout=WAIT)
            assert entered(counted)
            closing = threads.submit(cluster2.servers[0].close)
            if resent:
                assert entered(counted)
                counted.release.set()
                result = future.result(WAIT)
                assert result.outputs["doubled"] == 10.0
                assert result.attempts == 2 and len(result.lost) == 1
                assert "shutting down" not in result.server
            else:
                with pytest.raises(SlicerBridgeError) as raised:
                    future.result(WAIT)
                assert raised.value.code == ErrorCode.SHUTTING_DOWN  # the server's answer
                assert "shutting down" in str(raised.value)
                assert "not idempotent" in str(raised.value)
                counted.release.set()
            closing.result(WAIT)
        assert counted_calls(cluster2, name) == (2 if resent else 1)



@pytest.mark.built
def test_draining_reference_server_lets_running_calls_finish_RESEND_1():
    """[RESEND-1]: C++ reference servers; one drains (SIGTERM, a grace period): a call it
    refuses with shutting_down is resent to the other server, while the call still running on
    the same connection finishes there, sent once (not cut off by the pool closing it)."""
    from tls_support import built

    program = built("reference_server/slicerbridge-server")
    processes, addresses, logs = [], [], []
    try:
        for _ in range(2):
            process = subprocess.Popen([program, "--listen", "127.0.0.1:0", "--workers", "2",
                                        "--shutdown-grace", str(int(WAIT))],
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            processes.append(process)
            addresses.append(process.stdout.readline().strip()[len("listening on "):])
            lines: "queue.Queue[str]" = queue.Queue()
            threading.Thread(target=lambda p=process, q=lines: [q.put(x) for x in p.stderr],
                             daemon=True).start()
            logs.append(lines)
        turn = itertools.count()

        def connect() -> Client:
            return Client.connect(addresses[next(turn) % 2], timeout=WAIT)

        started = threading.Event()
        with ClientPool(connect, size=1, calls_per_connection=2) as pool:
            with ThreadPoolExecutor(1) as threads:
                running = threads.submit(
                    pool.invoke, "slow", parameters={"seconds": 2.0, "steps": 20},
                    progress=lambda fraction, message: started.set(), timeout=WAIT)
                assert started.wait(WAIT)  # running on server 0
                processes[0].send_signal(signal.SIGTERM)
                deadline = time.monotonic() + WAIT
                while "shutting down" not in logs[0].get(timeout=WAIT):
                    assert time.monotonic() < deadline
                refused = pool.invoke("echo", parameters={"number": 2.5}, timeout=WAIT)
                assert refused.outputs["number_out"] == 2.5
                assert refused.attempts == 2 and addresses[1] in refused.server
                assert addresses[0] in refused.lost[0]
                first = running.result(WAIT)
        assert first.attempts == 1 and first.lost == [] and addresses[0] in first.server
        assert pool.resent == 1
    finally:
        for process in processes:
            process.kill()
            process.wait()
