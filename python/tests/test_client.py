"""The client against the real server (TCP, Unix socket, child process) and against scripted
misbehaving servers: every failure ends the call cleanly, within its timeout."""

import os
import socket
import tempfile
import threading
import time

import numpy as np
import pytest

from conftest import (PYTHON, PYTHON_DIR, WAIT, RawPeer, oblique_matrix, start_server,
                      wait_until)
from slicerbridge import (Client, ConnectionLost, Image, Limits, Mesh, PointList,
                          SlicerBridgeError, Table, Transform)
from slicerbridge.data import CellArray
from slicerbridge.errors import ErrorCode


@pytest.fixture
def client(running):
    connected = Client.connect(running.text_address, timeout=WAIT)
    yield connected
    connected.close(timeout=WAIT)


def test_handshake_agrees_on_version_and_capabilities(client):
    assert client.server_hello.version == (1, 1)
    assert {"progress", "cancel"} <= client.capabilities
    assert any(c.startswith("x-grease-") for c in client.offered)  # [CAP-1]


def test_every_data_type_comes_back_from_echo(client):
    inputs = {
        "image": Image(np.arange(60, dtype=">i4").reshape(3, 4, 5), oblique_matrix(),
                       space="LPS"),
        "mesh": Mesh(np.eye(3, dtype=np.float32), polys=CellArray.from_cells([[0, 1, 2]])),
        "transform": Transform(oblique_matrix(0.2)),
        "points": PointList([[1, 2, 3]], ["a"]),
        "table": Table({"n": [1.5, 2.5], "s": ["x", "y"]})}
    outputs = client.invoke("echo", inputs, timeout=WAIT).outputs
    assert set(outputs) == {f"{name}_out" for name in inputs}
    image = outputs["image_out"]
    assert image.voxels.dtype == np.dtype(">i4") and np.array_equal(image.voxels,
                                                                      inputs["image"].voxels)
    assert np.array_equal(image.ijk_to_space, oblique_matrix()) and image.space == "LPS"
    assert np.array_equal(outputs["mesh_out"].polys.connectivity, [0, 1, 2])
    assert np.array_equal(outputs["transform_out"].matrix, oblique_matrix(0.2))
    assert outputs["points_out"].labels == ["a"]
    assert outputs["table_out"].columns["s"] == ["x", "y"]


def test_many_calls_in_flight_from_several_threads_MSG_4(client):
    """[MSG-4]"""
    results, failures = {}, []

    def worker(index):
        try:
            image = Image(np.full((2, 3, 4), index, np.int32))
            for round_number in range(5):
                echoed = client.invoke("echo", {"image": image}, timeout=WAIT)
                results[(index, round_number)] = int(echoed.outputs["image_out"].voxels[1, 2, 3])
        except Exception as error:  # collected and asserted below
            failures.append(error)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
    assert not failures
    assert results == {(i, r): i for i in range(8) for r in range(5)}


def test_progress_reaches_the_callback_in_order_PROG_1(client):
    """[PROG-1]"""
    fractions = []
    client.invoke("zigzag", progress=lambda f, m: fractions.append(f), timeout=WAIT)
    assert fractions == [0.1, 0.5, 0.6, 0.9]


def test_cancel_ends_the_call_with_cancelled_CANCEL_2(client, running):
    """[CANCEL-2]"""
    call = client.submit("block")
    assert running.hooks.started.wait(WAIT)
    call.cancel()
    with pytest.raises(SlicerBridgeError) as raised:
        call.result(WAIT)
    assert raised.value.code == ErrorCode.CANCELLED
    assert running.hooks.stopped_by_cancel.is_set()
    assert client.ping(timeout=WAIT)["round_trip"] >= 0


def test_deadline_ends_the_call_with_deadline_exceeded_INV_6(client):
    """[INV-6]"""
    with pytest.raises(SlicerBridgeError) as raised:
        client.invoke("block", deadline=0.05, timeout=WAIT)
    assert raised.value.code == ErrorCode.DEADLINE_EXCEEDED


def test_processor_failure_is_an_error_and_the_connection_goes_on_INV_5(client):
    """[INV-5]"""
    with pytest.raises(SlicerBridgeError) as raised:
        client.invoke("fail", parameters={"code": 1234, "message": "no"}, timeout=WAIT)
    assert (raised.value.code, raised.value.message, raised.value.name) == (
        1234, "no", "processor_error")  # unknown codes are read by range [ERR-2]
    assert raised.value.timings["round_trip"] >= 0
    assert client.describe("fail", timeout=WAIT).name == "fail"


def test_invalid_arguments_name_the_slot_INV_2(client):
    """[INV-2]"""
    with pytest.raises(SlicerBridgeError) as raised:
        client.invoke("threshold", {"volume": Image(np.zeros((1, 1, 1)))},
                      {"label": 0}, timeout=WAIT)
    assert raised.value.code == ErrorCode.INVALID_ARGUMENT
    assert raised.value.details["name"] == "label"


def test_dropping_the_connection_cancels_the_server_work_DROP_1(running):
    """[DROP-1]"""
    client = Client.connect(running.text_address, timeout=WAIT)
    call = client.submit("block")
    assert running.hooks.started.wait(WAIT)
    client.transport.shutdown()
    assert running.hooks.stopped_by_cancel.wait(WAIT)
    with pytest.raises(ConnectionLost):
        call.result(WAIT)
    with pytest.raises(ConnectionLost):
        client.ping(timeout=WAIT)
    client.close(timeout=WAIT)


def test_goodbye_waits_for_open_calls_then_refuses_new_requests_BYE_1_BYE_2(running):
    """[BYE-1] [BYE-2]"""
    client = Client.connect(running.text_address, timeout=WAIT)
    call = client.submit("gate")
    assert running.hooks.entered.acquire(timeout=WAIT)
    closing = threading.Thread(target=client.goodbye, kwargs={"timeout": WAIT})
    closing.start()
    running.hooks.release.set()
    assert call.result(WAIT).outputs == {}
    closing.join(WAIT)
    assert not closing.is_alive()
    with pytest.raises(SlicerBridgeError) as raised:
        client.ping(timeout=WAIT)
    assert raised.value.code == ErrorCode.SHUTTING_DOWN
    client.close(timeout=WAIT)


def test_token_is_sent_and_checked_SEC_3():
    """[SEC-3]"""
    instance = start_server(token="secret-token-for-the-tests-0123456789")
    try:
        with pytest.raises(SlicerBridgeError) as raised:
            Client.connect(instance.text_address, token="wrong", timeout=WAIT)
        assert raised.value.code == ErrorCode.UNAUTHORIZED
        with Client.connect(instance.text_address, token="secret-token-for-the-tests-0123456789",
                            timeout=WAIT) as client:
            assert client.ping(timeout=WAIT)
    finally:
        instance.server.close()


def test_compressed_requests_and_responses_round_trip(running):
    running.server.compression = "zstd"
    with Client.connect(running.text_address, compression="zstd", timeout=WAIT) as client:
        assert "codec.zstd" in client.capabilities
        image = Image((np.arange(64 ** 3) % 11).astype(np.uint16).reshape(64, 64, 64))
        echoed = client.invoke("echo", {"image": image}, timeout=WAIT).outputs["image_out"]
        assert np.array_equal(echoed.voxels, image.voxels)


def test_large_image_round_trip_FRAME_5(client):
    """[FRAME-5]"""
    voxels = np.random.default_rng(1).integers(0, 2**16, (64, 256, 256), dtype=np.uint16)
    echoed = client.invoke("echo", {"image": Image(voxels)}, timeout=WAIT).outputs["image_out"]
    assert np.array_equal(echoed.voxels, voxels)


def test_request_beyond_the_server_limits_is_refused_locally_LIMIT_1():
    """[LIMIT-1]"""
    instance = start_server(limits=Limits(max_frame=65536))
    try:
        with Client.connect(instance.text_address, timeout=WAIT) as client:
            with pytest.raises(SlicerBridgeError) as raised:
                client.invoke("echo", {"image": Image(np.zeros((10, 100, 100), np.uint8))})
            assert raised.value.code == ErrorCode.TOO_LARGE
            assert client.ping(timeout=WAIT)
    finally:
        instance.server.close()


def test_unix_socket_transport():
    with tempfile.TemporaryDirectory() as directory:
        instance = start_server()
        try:
            path = instance.server.listen_unix(os.path.join(directory, "s"))
            with Client.connect(f"unix:{path}", timeout=WAIT) as client:
                assert client.ping(timeout=WAIT)
                assert "echo" in [d.name for d in client.catalog(timeout=WAIT)]
        finally:
            instance.server.close()


def test_child_process_stdio_transport():
    argv = [PYTHON, "-m", "slicerbridge", "serve", "--stdio"]
    client = Client.launch(argv, env=dict(os.environ, PYTHONPATH=PYTHON_DIR), timeout=WAIT)
    try:
        image = Image(np.arange(24, dtype=np.float32).reshape(2, 3, 4), oblique_matrix())
        echoed = client.invoke("echo", {"image": image}, timeout=WAIT).outputs["image_out"]
        assert np.array_equal(echoed.voxels, image.voxels)
        fractions = []
        client.invoke("slow", parameters={"seconds": 0.0, "steps": 3},
                      progress=lambda f, m: fractions.append(f), timeout=WAIT)
        assert fractions == pytest.approx([1 / 3, 2 / 3, 1.0])
    finally:
        client.close(timeout=WAIT)
    assert client.process.returncode == 0


# -- misbehaving servers --------------------------------------------------------------------

class ScriptedServer:
    """Accepts one connection and runs ``script(peer)`` on it in a thread."""

    def __init__(self, script):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.address = "%s:%d" % self.listener.getsockname()
        self.done = threading.Event()
        self.failure = None
        self.thread = threading.Thread(target=self._run, args=(script,), daemon=True)
        self.thread.start()

    def _run(self, script):
        conn, _ = self.listener.accept()
        try:
            script(RawPeer(sock=conn), self.done)
        except Exception as error:  # reported by stop()
            self.failure = error
        finally:
            self.done.wait(WAIT)
            conn.close()

    def stop(self):
        self.done.set()
        self.thread.join(WAIT)
        self.listener.close()
        if self.failure is not None:
            raise self.failure


SERVER_HELLO = {"kind": "hello", "protocol": "slicerbridge", "version": [1, 0],
                "capabilities": ["cancel"], "limits": {}}


def test_silent_server_fails_the_handshake_within_the_timeout():
    server = ScriptedServer(lambda peer, done: peer.receive())
    try:
        with pytest.raises(TimeoutError):
            Client.connect(server.address, timeout=0.2)
    finally:
        server.stop()


@pytest.mark.parametrize("reply,error", [
    (b"HTTP/1.1 400 Bad Request\r\n\r\n", ConnectionLost),
    ({"kind": "response", "id": 1, "result": {}}, SlicerBridgeError),                # [HELLO-2]
    (dict(SERVER_HELLO, version=[2, 0]), SlicerBridgeError),                           # [HELLO-6]
    (dict(SERVER_HELLO, protocol="other"), SlicerBridgeError),
    ({"kind": "response", "id": None, "error": {"code": 5, "message": "no"}},
     SlicerBridgeError)])
def test_bad_server_hello_closes_the_connection_HELLO_2_HELLO_6(reply, error):
    """[HELLO-2] [HELLO-6]"""
    def script(peer, done):
        peer.receive()
        if isinstance(reply, bytes):
            peer.send_bytes(reply)
        else:
            peer.send(reply)
        assert peer.closed_by_server()  # the client closes

    server = ScriptedServer(script)
    try:
        with pytest.raises(error):
            Client.connect(server.address, timeout=WAIT)
    finally:
        server.stop()


def test_stray_responses_requests_and_connection_errors_MSG_3_MSG_8_MSG_16_MSG_17_CAP_5():
    """[MSG-3] [MSG-8] [MSG-16] [MSG-17] [CAP-5]"""
    def script(peer, done):
        peer.receive()
        peer.send(dict(SERVER_HELLO, capabilities=["cancel", "codec.lz4", "progress"]))
        request = peer.receive()
        peer.send({"kind": "response", "id": 999, "result": {"stray": True}})
        peer.send({"kind": "response", "id": None, "error": {"code": 6, "message": "x"}})
        peer.send({"kind": "request", "id": 77, "method": "render"})
        answer = peer.receive()
        assert answer["id"] == 77 and answer["error"]["code"] == ErrorCode.METHOD_NOT_FOUND
        peer.send({"kind": "notification", "method": "progress",
                   "params": {"id": request["id"], "fraction": 2.0}})
        peer.send({"kind": "response", "id": request["id"], "result": {"real": True}})
        done.wait(WAIT)

    server = ScriptedServer(script)
    try:
        client = Client.connect(server.address, progress=False, codecs=(), timeout=WAIT)
        assert client.capabilities == {"cancel"}
        assert client.request("ping", timeout=WAIT).result == {"real": True}
        assert [e.code for e in client.connection_errors] == [ErrorCode.UNKNOWN_KIND]
        assert [v.split("]")[0] + "]" for v in client.protocol_violations] == [
            "[MSG-8]", "[MSG-3]", "[MSG-16]"]
        client.close(timeout=0.2)
    finally:
        server.stop()


def test_progress_violations_are_reported_PROG_1_PROG_2_PROG_3():
    """[PROG-1] [PROG-2] [PROG-3]"""
    def script(peer, done):
        peer.receive()
        peer.send(dict(SERVER_HELLO, capabilities=["cancel", "progress"]))
        ping = peer.receive()
        peer.send({"kind": "notification", "method": "progress",
                   "params": {"id": ping["id"], "fraction": 0.5}})      # not an invoke
        peer.send({"kind": "response", "id": ping["id"], "result": {}})
        invoke = peer.receive()
        for fraction in (0.5, 0.25, 0.75):                                # 0.25 decreases
            peer.send({"kind": "notification", "method": "progress",
                       "params": {"id": invoke["id"], "fraction": fraction}})
        peer.send({"kind": "response", "id": invoke["id"], "result": {"outputs": {}}})
        peer.send({"kind": "notification", "method": "progress",        # after the response
                   "params": {"id": invoke["id"], "fraction": 1.0}})
        peer.send({"kind": "response", "id": None, "error": {"code": 6, "message": "flush"}})
        done.wait(WAIT)

    server = ScriptedServer(script)
    try:
        client = Client.connect(server.address, timeout=WAIT)
        client.ping(timeout=WAIT)
        fractions = []
        # A decrease fails the call (the table's case progress-decreases); the server's answer
        # that follows is then a response to an id that is not open.
        with pytest.raises(SlicerBridgeError) as failed:
            client.invoke("slow", progress=lambda f, m: fractions.append(f), timeout=WAIT)
        assert failed.value.code == ErrorCode.INVALID_MESSAGE
        assert fractions == [0.5]
        # The connection-level error is the last message: once it is read, so is all before it.
        assert wait_until(lambda: client.connection_errors)
        assert [v.split("]")[0] + "]" for v in client.protocol_violations] == [
            "[PROG-3]", "[PROG-1]", "[PROG-3]", "[MSG-8]", "[PROG-3]"]
        client.close(timeout=0.2)
    finally:
        server.stop()


def test_server_closing_mid_call_fails_pending_calls_DROP_1():
    """[DROP-1]"""
    def script(peer, done):
        peer.receive()
        peer.send(SERVER_HELLO)
        peer.receive()
        peer.send_bytes(b"SB\x01\x00\x00\x00")  # a truncated frame, then the end [FRAME-8]
        peer.sock.shutdown(socket.SHUT_RDWR)

    server = ScriptedServer(script)
    try:
        client = Client.connect(server.address, timeout=WAIT)
        with pytest.raises(ConnectionLost):
            client.invoke("slow", timeout=WAIT)
        client.close(timeout=WAIT)
    finally:
        server.stop()


def test_a_silent_server_with_held_calls_closes_within_the_timeout_LIMIT_13():
    """[LIMIT-13] against a server that admits one call and then answers nothing: the second
    call is held, never sent; close() returns within its timeout and both calls fail as lost
    (the held goodbye is never sent either)."""
    received = []

    def script(peer, done):
        peer.receive()
        peer.send({**SERVER_HELLO, "limits": {"max_in_flight": 1}})
        while True:  # reads until the client goes, answers nothing
            message = peer.receive()
            if message is None:
                return
            received.append(message.get("method") or message.get("kind"))

    server = ScriptedServer(script)
    try:
        client = Client.connect(server.address, timeout=WAIT)
        sent, held = (client.submit("slow", parameters={"seconds": 60.0}) for _ in range(2))
        started = time.monotonic()
        client.close(timeout=1.0)
        assert time.monotonic() - started < 5.0
        for call in (sent, held):
            with pytest.raises(ConnectionLost):
                call.result(timeout=WAIT)
        server.done.set()
        server.thread.join(WAIT)
        assert received == ["invoke"]
    finally:
        server.stop()


def test_a_held_invoke_is_sent_with_what_remains_of_its_deadline_LIMIT_13():
    """[LIMIT-13]: the server counts a deadline from its receipt of the request, so a call held
    in the client leaves with what remains of its deadline, never below 0 (one that is not a
    number >= 0 as it is); one sent at once, with the deadline as given. A generic request's
    deadline is held the same way."""
    deadlines = []
    held_at_least = 0.3

    def script(peer, done):
        peer.receive()
        peer.send({**SERVER_HELLO, "limits": {"max_in_flight": 1}})
        first, ping = peer.receive(), peer.receive()  # the held calls started before the ping
        peer.send({"kind": "response", "id": ping["id"], "result": {}})
        deadlines.append(first["params"].get("deadline"))
        time.sleep(held_at_least)
        peer.send({"kind": "response", "id": first["id"], "result": {"outputs": {}}})
        while True:
            message = peer.receive()
            if message is None:
                return
            if message.get("method") == "invoke":
                deadlines.append(message["params"].get("deadline"))
            peer.send({"kind": "response", "id": message["id"], "result": {"outputs": {}}})
            if message.get("method") == "goodbye":
                return

    server = ScriptedServer(script)
    try:
        started = time.monotonic()
        client = Client.connect(server.address, timeout=WAIT)
        calls = [client.submit("echo", deadline=deadline) for deadline in (30.0, 10.0, 0.25, -1.0)]
        generic = client._start("invoke", {"deadline": 20, "processor": "echo"})
        assert client.ping(timeout=WAIT) is not None
        for call in calls:
            call.result(timeout=WAIT)
        generic.result(timeout=WAIT)
        elapsed = time.monotonic() - started
        server.done.set()  # the connection closes once the goodbye is answered
        client.close(timeout=WAIT)
    finally:
        server.stop()
    assert len(deadlines) == 5
    assert deadlines[0] == 30.0
    assert 10.0 - elapsed <= deadlines[1] <= 10.0 - held_at_least
    assert deadlines[2] == 0.0
    assert deadlines[3] == -1.0  # the server's to refuse [INV-7]
    assert 20.0 - elapsed <= deadlines[4] <= 20.0 - held_at_least


def test_no_cancel_is_sent_when_the_server_does_not_list_it_CANCEL_5():
    """[CANCEL-5]: the server's hello lacks `cancel`; cancelling a call sends nothing, and the
    call gets the server's normal answer. The next thing the server receives is the ping."""
    received = []

    def script(peer, done):
        peer.receive()
        peer.send(dict(SERVER_HELLO, capabilities=[]))
        invoke = peer.receive()
        received.append(invoke["method"])
        following = peer.receive()  # a cancel would come here, before the ping
        received.append(following.get("method"))
        peer.send({"kind": "response", "id": following["id"], "result": {}})
        peer.send({"kind": "response", "id": invoke["id"], "result": {"outputs": {}}})

    server = ScriptedServer(script)
    try:
        client = Client.connect(server.address, timeout=WAIT)
        assert "cancel" not in client.capabilities
        call = client.submit("slow")
        call.cancel()
        client.ping(timeout=WAIT)
        assert call.result(WAIT).outputs == {}
        assert received == ["invoke", "ping"]
        client.close(timeout=1)
    finally:
        server.stop()


def test_a_token_to_a_non_loopback_address_without_tls_is_warned_about_SEC_7(monkeypatch, caplog):
    """[SEC-7]: the client warns before sending a token in clear text off loopback (the test
    stays on loopback: the connection to a TEST-NET-1 address is redirected to a local server),
    and does not warn on loopback or without a token."""
    import slicerbridge.client as client_module

    servers = []
    real_connect = socket.create_connection

    def redirected(address, *arguments, **options):
        servers.append(address[0])
        return real_connect(("127.0.0.1", address[1]), *arguments, **options)

    monkeypatch.setattr(client_module.socket, "create_connection", redirected)

    def connect(host, token):
        def script(peer, done):
            hello = peer.receive()
            assert hello.get("token") == token
            peer.send(SERVER_HELLO)

        server = ScriptedServer(script)
        port = server.listener.getsockname()[1]
        caplog.clear()
        try:
            Client.tcp(host, port, token=token, timeout=WAIT).close(timeout=1)
        finally:
            server.stop()
        return [r.getMessage() for r in caplog.records if "without TLS" in r.getMessage()]

    with caplog.at_level("WARNING", logger="slicerbridge.client"):
        assert connect("192.0.2.10", "secret-token-for-the-tests-0123456789") != []
        assert connect("127.0.0.1", "secret-token-for-the-tests-0123456789") == []
        assert connect("192.0.2.10", None) == []
    assert servers == ["192.0.2.10", "127.0.0.1", "192.0.2.10"]


@pytest.mark.parametrize("host, loopback", [
    ("127.0.0.1", True), ("127.8.9.10", True), ("::1", True), ("::ffff:127.0.0.1", True),
    ("localhost", True), ("::1%lo", True), ("192.0.2.10", False), ("::ffff:192.0.2.10", False),
    ("2001:db8::1", False), ("example.org", False), ("", False)])
def test_which_hosts_count_as_loopback_for_the_token_warning_SEC_7(host, loopback):
    """[SEC-7]: loopback addresses (IPv4-mapped ones too) and `localhost` take a token without
    TLS quietly; every other address, and any other name (names are not resolved), is warned."""
    from slicerbridge.values import is_loopback

    assert is_loopback(host) is loopback
