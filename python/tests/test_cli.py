"""The command line the conformance suite relies on: serve, call and client-check."""

import json
import os
import selectors
import signal
import socket
import subprocess
import threading

import pytest

from conftest import LINUX_ONLY, PYTHON, PYTHON_DIR, WAIT, RawPeer, signal_another_thread

ENV = dict(os.environ, PYTHONPATH=PYTHON_DIR)


def run(*arguments, timeout=WAIT * 3):
    return subprocess.run([PYTHON, "-m", "slicerbridge", *arguments], env=ENV,
                          capture_output=True, text=True, timeout=timeout)


def first_line(process) -> str:
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    assert selector.select(WAIT), "the server printed nothing"
    return process.stdout.readline().strip()


@pytest.fixture
def served():
    process = subprocess.Popen([PYTHON, "-m", "slicerbridge", "serve", "--listen",
                                "127.0.0.1:0"], env=ENV, stdout=subprocess.PIPE, text=True)
    try:
        line = first_line(process)
        assert line.startswith("listening on 127.0.0.1:")
        yield process, line[len("listening on "):]
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(WAIT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_serve_prints_its_address_and_stops_on_sigterm(served):
    process, address = served
    assert int(address.rsplit(":", 1)[1]) > 0
    process.send_signal(signal.SIGTERM)
    assert process.wait(WAIT) == 0


@LINUX_ONLY
def test_serve_stops_on_sigterm_whichever_thread_the_system_gives_it_to(served):
    """The main thread, waiting for the server to close, is not woken by a signal another thread
    took; it wakes often enough to run the handler (it once waited for ever, rarely, under
    load)."""
    process, _ = served
    signal_another_thread(process.pid, signal.SIGTERM)
    assert process.wait(WAIT) == 0


def test_call_ping_and_catalog(served):
    _, address = served
    ping = run("call", address, "ping")
    assert ping.returncode == 0 and "round_trip" in json.loads(ping.stdout)
    catalog = run("call", address, "catalog")
    assert {"echo", "slow", "fail"} <= {d["name"] for d in json.loads(catalog.stdout)}


def test_client_check_passes_against_the_python_server(served):
    _, address = served
    result = run("client-check", address)
    assert result.returncode == 0, result.stderr
    assert "client-check: OK" in result.stderr


def scripted_server(script):
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve():
        try:
            conn, _ = listener.accept()
        except OSError:
            return
        with conn:
            script(RawPeer(sock=conn))
            stop.wait(WAIT * 3)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return "%s:%d" % listener.getsockname(), listener, stop


@pytest.mark.parametrize("script", [
    lambda peer: peer.receive(),                                   # never answers the hello
    lambda peer: (peer.receive(), peer.send_bytes(b"garbage" * 10)),
    lambda peer: (peer.receive(), peer.send({"kind": "hello", "protocol": "slicerbridge",
                                             "version": [1, 0]}), peer.receive())])  # no ping
def test_client_check_fails_cleanly_against_a_misbehaving_server(script):
    address, listener, stop = scripted_server(script)
    try:
        result = run("client-check", address, "--timeout", "0.5")
        assert result.returncode == 1
        assert "client-check: FAILED" in result.stderr
    finally:
        stop.set()
        listener.close()


@pytest.mark.parametrize("flag, value, named", [
    ("--max-in-flight", "0", "max_in_flight"),
    ("--cancel-grace", "-1", "cancel_grace"),
    ("--max-pending-calls", "0", "max_pending_calls")])
def test_serve_refuses_a_bound_out_of_range_as_a_usage_error_LIMIT_4(flag, value, named):
    """[LIMIT-4]: a limit out of its range is refused before anything is served."""
    result = run("serve", flag, value)
    assert result.returncode == 2 and named in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_refuses_a_public_address_without_a_token_SEC_2():
    """[SEC-2]"""
    result = run("serve", "--listen", "0.0.0.0:0")
    assert result.returncode == 2 and "token" in result.stderr
