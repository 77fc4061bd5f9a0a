"""Tokens against guessing (issue 14): a server refuses a short token [SEC-8], and answers a
failed token late, later for each further failure from one address, while other clients are
served meanwhile [SEC-11]. Delays here are small; every wait is bounded."""

import os
import subprocess
import threading
import time

import pytest

from conftest import PYTHON, PYTHON_DIR, WAIT, start_server, wait_until
from slicerbridge import Server
from slicerbridge.availability import TokenFailures
from slicerbridge.errors import ErrorCode
from slicerbridge.negotiate import MIN_TOKEN_LENGTH

SECRET = "secret-token-for-the-tests-0123456789"
HELLO = {"kind": "hello", "protocol": "slicerbridge", "min_version": [1, 0], "max_version": [1, 0]}


def failed_hello(peer, token):
    """Sends a hello with ``token`` (None: without one); the answer and the seconds it took."""
    hello = dict(HELLO, **({} if token is None else {"token": token}))
    sent = time.monotonic()
    peer.send(hello)
    reply = peer.receive()
    return reply, time.monotonic() - sent


def unauthorized(reply):
    return (reply is not None and reply.get("id") is None
            and reply["error"]["code"] == int(ErrorCode.UNAUTHORIZED))


def test_a_short_token_is_refused_saying_how_to_make_one_SEC_8():
    """[SEC-8]"""
    short = "x" * (MIN_TOKEN_LENGTH - 1)
    with pytest.raises(ValueError) as refused:
        Server(token=short)
    message = str(refused.value)
    assert "at least 22" in message and "openssl rand -hex 16" in message
    assert "secrets.token_urlsafe(32)" in message and short not in message  # [SEC-5]
    Server(token="x" * MIN_TOKEN_LENGTH).close()


def test_serve_with_a_short_token_exits_2_with_the_message_SEC_8():
    """[SEC-8]"""
    result = subprocess.run([PYTHON, "-m", "slicerbridge", "serve", "--listen", "127.0.0.1:0",
                             "--token", "too-short"], env=dict(os.environ, PYTHONPATH=PYTHON_DIR),
                            capture_output=True, text=True, timeout=WAIT)
    assert result.returncode == 2
    assert "needs at least 22" in result.stderr and "openssl rand -hex 16" in result.stderr


def test_token_failures_off_SEC_11():
    """[SEC-11]: a first delay of 0 turns delays off and remembers nothing (the delays
    themselves are the cases of token_delay_decisions.json, test_decisions.py)."""
    off = TokenFailures(0.0, 5.0, 60.0)
    assert off.failed("10.0.0.1", 0) == 0.0 and off.failed("10.0.0.1", 1) == 0.0
    assert len(off) == 0


def test_token_failures_remember_a_bounded_number_of_addresses_SEC_11():
    """[SEC-11]"""
    failures = TokenFailures(0.1, 5.0, 60.0, 3)
    failures.failed("a", 0)
    failures.failed("a", 1)
    failures.failed("b", 2)
    failures.failed("c", 3)
    failures.failed("b", 4)  # b failed last, a longest ago
    for i in range(100):
        failures.failed(f"d{i}", 5)
        assert len(failures) <= 3
    assert failures.failed("a", 6) == 0.1  # forgotten: a first failure again
    assert len(failures) == 3


def test_a_good_client_is_served_while_a_wrong_token_waits_for_its_answer_SEC_11():
    """[SEC-11] [SEC-3]: a delay longer than the test, so the guesser hears nothing until the
    server closes."""
    instance = start_server(token=SECRET, failed_token_delay=600.0, failed_token_delay_max=600.0)
    try:
        guesser = instance.raw()
        answers = []
        thread = threading.Thread(
            target=lambda: answers.append(failed_hello(guesser, "guess-for-the-tests-0123456")))
        thread.start()
        assert wait_until(lambda: len(instance.server.failed_tokens) == 1)  # the delay began
        good = instance.raw()
        assert good.hello(token=SECRET)["version"] == [1, 0]
        assert good.call(1, "ping")["result"] == {}
        # The order, not a time: the good client had its answers while the guesser had nothing.
        assert not answers
        assert len(instance.server.failed_tokens) == 0  # the good client's address is the same
    finally:
        instance.server.close()
    thread.join(WAIT)
    assert answers == [(None, answers[0][1])]  # closed without an answer


def test_repeated_failed_tokens_from_one_address_wait_longer_each_time_SEC_11():
    """[SEC-11]"""
    instance = start_server(token=SECRET, failed_token_delay=0.1)
    try:
        for expected, token in ((0.1, "guess-0123456789-0123456789"), (0.2, None),
                                (0.4, "guess-0123456789-0123456789")):
            reply, seconds = failed_hello(instance.raw(), token)
            assert unauthorized(reply) and seconds >= expected  # missing or wrong: the same
    finally:
        instance.server.close()


def test_the_hello_timeout_and_a_shutdown_end_the_delay_SEC_11_LIMIT_5():
    """[SEC-11] [LIMIT-5]: the connection waiting for its answer is closed without one."""
    instance = start_server(token=SECRET, failed_token_delay=5.0, hello_timeout=0.3)
    try:
        reply, _ = failed_hello(instance.raw(), None)
        assert reply is None
    finally:
        instance.server.close()
    instance = start_server(token=SECRET, failed_token_delay=30.0, failed_token_delay_max=30.0)
    guesser = instance.raw()
    guesser.send(HELLO)
    assert wait_until(lambda: len(instance.server.failed_tokens) == 1)
    closing = threading.Thread(target=instance.server.close)
    closing.start()
    assert guesser.receive() is None
    closing.join(WAIT)
    assert not closing.is_alive()


def test_a_connection_waiting_for_its_answer_counts_against_the_caps_SEC_11_LIMIT_8():
    """[SEC-11] [LIMIT-8]"""
    instance = start_server(token=SECRET, failed_token_delay=5.0, max_connections=1)
    try:
        guesser = instance.raw()
        guesser.send(HELLO)
        assert wait_until(lambda: len(instance.server.failed_tokens) == 1)
        second = instance.raw()
        reply = second.receive()
        assert reply["error"]["code"] == int(ErrorCode.TOO_MANY_CONNECTIONS)
    finally:
        instance.server.close()
