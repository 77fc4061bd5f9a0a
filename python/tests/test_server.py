"""The server against a hand-driven peer: handshake, hostile input, calls, cancel, goodbye.

Each hostile case checks the specified answer and that the server keeps serving [DROP-2].
"""

import gc
import os
import socket
import stat
import struct
import tempfile
import time

import msgpack
import numpy as np
import pytest

from conftest import WAIT, start_server, wait_until
from slicerbridge import Image, Limits, Server
from slicerbridge.codec import Bulk, encode_frame
from slicerbridge.errors import ErrorCode
from slicerbridge.server import _ServerConnection
from slicerbridge.transport import Transport

PING = {"kind": "request", "id": 1, "method": "ping"}


def error_code(message):
    assert message is not None and message["kind"] == "response", message
    return message["error"]["code"]


def still_serves(running):
    peer = running.raw()
    peer.hello()
    assert peer.call(99, "ping")["result"] == {}
    peer.close()


def established(running, **hello):
    peer = running.raw()
    peer.hello(**hello)
    return peer


# -- handshake ----------------------------------------------------------------------------

def test_hello_chooses_1_0_and_lists_only_offered_capabilities_HELLO_3_CAP_4_CODEC_1(running):
    """[HELLO-3] [CAP-4] [CODEC-1]"""
    peer = running.raw()
    reply = peer.hello(capabilities=["codec.zstd", "x-grease-abc", "unknown-thing"])
    assert reply["version"] == [1, 0] and reply["protocol"] == "slicerbridge"
    capabilities = reply["capabilities"]
    assert "cancel" in capabilities and "codec.zstd" in capabilities
    assert "progress" not in capabilities and "codec.lz4" not in capabilities
    assert "unknown-thing" not in capabilities
    assert [c for c in capabilities if c.startswith("x-grease-")]  # [CAP-1]
    assert reply["limits"]["max_frame"] == 2**32 and "cancel_grace" in reply["limits"]


def test_message_before_hello_is_handshake_required_and_closes_HELLO_2_HELLO_8(running):
    """[HELLO-2] [HELLO-8]"""
    peer = running.raw()
    peer.send(PING)
    assert error_code(peer.receive()) == ErrorCode.HANDSHAKE_REQUIRED
    assert peer.closed_by_server()
    still_serves(running)


@pytest.mark.parametrize("hello", [
    {"kind": "hello", "protocol": "openigtlink", "min_version": [1, 0], "max_version": [1, 0]},
    {"kind": "hello", "protocol": "slicerbridge", "min_version": [1, 0]},
    {"kind": "hello", "protocol": "slicerbridge", "min_version": [1, 0], "max_version": [1, 0],
     "limits": {"max_frame": 0}},
    {"kind": "hello", "protocol": "slicerbridge", "min_version": [1, 0], "max_version": [1, 0],
     "capabilities": "progress"}])
def test_malformed_hello_is_invalid_message_and_closes_HELLO_5(running, hello):
    """[HELLO-5]"""
    peer = running.raw()
    peer.send(hello)
    assert error_code(peer.receive()) == ErrorCode.INVALID_MESSAGE
    assert peer.closed_by_server()


def test_no_common_version_is_unsupported_version_with_the_server_range_HELLO_3(running):
    """[HELLO-3]"""
    peer = running.raw()
    peer.send({"kind": "hello", "protocol": "slicerbridge", "min_version": [2, 0],
               "max_version": [2, 5]})
    reply = peer.receive()
    assert error_code(reply) == ErrorCode.UNSUPPORTED_VERSION
    assert reply["error"]["details"] == {"min_version": [1, 0], "max_version": [1, 1]}
    assert peer.closed_by_server()


def test_newer_minor_versions_settle_on_the_newest_in_common_VER_1(running):
    """[VER-1]"""
    assert running.raw().hello(max_version=[1, 7])["version"] == [1, 1]
    assert running.raw().hello(max_version=[1, 0])["version"] == [1, 0]


def test_scalar_outputs_and_idempotent_only_for_1_1_peers_CAT_7_CAT_8_VER_4(running):
    """[CAT-7] [CAT-8] [VER-4] [PROC-2] A 1.0 peer sees neither scalar outputs nor their values."""
    for version, expected in (([1, 1], True), ([1, 0], False)):
        peer = running.raw()
        peer.hello(max_version=version)
        peer.send({"kind": "request", "id": 1, "method": "describe",
                   "params": {"processor": "echo"}})
        outputs = [slot["name"] for slot in peer.receive()["result"]["outputs"]]
        assert ("number_out" in outputs) is expected
        peer.send({"kind": "request", "id": 2, "method": "invoke",
                   "params": {"processor": "echo", "parameters": {"number": 2.5}}})
        result = peer.receive()["result"]["outputs"]
        assert result == ({"number_out": 2.5} if expected else {})


def test_large_first_frame_is_refused_before_the_handshake_HELLO_4_HELLO_10(running):
    """[HELLO-4] [HELLO-10]"""
    peer = running.raw()
    peer.send({"kind": "hello", "protocol": "slicerbridge", "min_version": [1, 0],
               "max_version": [1, 0], "x-pad": "a" * 70000})
    assert error_code(peer.receive()) == ErrorCode.FRAME_TOO_LARGE
    assert peer.closed_by_server()


def test_second_hello_is_invalid_message_and_the_connection_stays_HELLO_7(running):
    """[HELLO-7]"""
    peer = established(running)
    peer.send({"kind": "hello", "protocol": "slicerbridge", "min_version": [1, 0],
               "max_version": [1, 0]})
    assert error_code(peer.receive_response(None)) == ErrorCode.INVALID_MESSAGE
    assert peer.call(2, "ping")["result"] == {}


@pytest.mark.parametrize("token", [None, "wrong", "secret-token-x"])
def test_token_is_required_and_compared_SEC_3(token):
    """[SEC-3]"""
    instance = start_server(token="secret-token-for-the-tests-0123456789")
    try:
        peer = instance.raw()
        hello = {"kind": "hello", "protocol": "slicerbridge", "min_version": [1, 0],
                 "max_version": [1, 0]}
        if token is not None:
            hello["token"] = token
        peer.send(hello)
        reply = peer.receive()
        assert error_code(reply) == ErrorCode.UNAUTHORIZED
        assert reply["error"]["message"] == "not authorized"  # same for missing and wrong [SEC-8]
        assert peer.closed_by_server()
        good = instance.raw()
        assert good.hello(token="secret-token-for-the-tests-0123456789")["version"] == [1, 0]
        assert good.call(1, "catalog")["result"]["processors"]
    finally:
        instance.server.close()


def test_non_loopback_address_needs_a_token_SEC_1_SEC_2():
    """[SEC-1] [SEC-2]"""
    with Server() as server:
        with pytest.raises(ValueError):
            server.listen_tcp("0.0.0.0", 0)
    with Server(token="t" * 32) as server:
        host, port = server.listen_tcp("0.0.0.0", 0)
        assert port > 0


def test_unix_socket_is_private_to_the_user_SEC_10():
    """[SEC-10]"""
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "bridge.sock")
        with Server() as server:
            server.listen_unix(path)
            assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        assert not os.path.exists(path)


# -- hostile frames -----------------------------------------------------------------------

@pytest.mark.parametrize("header,code", [
    (struct.pack(">2sBBIQ", b"XB", 1, 0, 30, 0), ErrorCode.MALFORMED_FRAME),
    (struct.pack(">2sBBIQ", b"SB", 9, 0, 30, 0), ErrorCode.MALFORMED_FRAME),
    (struct.pack(">2sBBIQ", b"SB", 1, 0, 2**32 - 1, 0), ErrorCode.FRAME_TOO_LARGE),
    (struct.pack(">2sBBIQ", b"SB", 1, 0, 30, 2**63), ErrorCode.FRAME_TOO_LARGE),
    (struct.pack(">2sBBIQ", b"SB", 1, 0, 30, 2**64 - 46 + 24), ErrorCode.FRAME_TOO_LARGE)])
def test_bad_frame_header_is_fatal_FRAME_1_FRAME_3_FRAME_7_FRAME_9_DROP_2(running, header,
                                                                        code):
    """[FRAME-1] [FRAME-3] [FRAME-7] [FRAME-9] [DROP-2]"""
    peer = established(running)
    peer.send_bytes(header)
    assert error_code(peer.receive_response(None)) == code
    assert peer.closed_by_server()
    still_serves(running)


@pytest.mark.parametrize("head", [
    b"\xc1",                                        # invalid MessagePack
    b"\x81\xa4kind",                                # incomplete
    b"\x92\x01\x02",                                # not a map
    b"\x81\xa2id\x01",                              # no kind
    b"\x81\xa4kind\x05",                            # kind not a string
    b"\x81\xa4kind" + b"\x91" * 100000 + b"\xc0",   # nesting bomb [HEAD-5]
    b"\x82\xa4kind\xa1x\xa4kind\xa1y",               # duplicate key [HEAD-7]
    b"\x81\xa4kind\xdb\xff\xff\xff\xff"])           # declared length beyond the head [HEAD-8]
def test_undecodable_heads_are_invalid_message_and_not_fatal_MSG_11_FRAME_10(running, head):
    """[MSG-11] [FRAME-10]"""
    peer = established(running)
    bulk = b"bulk bytes that must be skipped"
    peer.send_bytes(struct.pack(">2sBBIQ", b"SB", 1, 0, len(head), len(bulk)) + head + bulk)
    assert error_code(peer.receive_response(None)) == ErrorCode.INVALID_MESSAGE
    assert peer.call(2, "ping")["result"] == {}


def test_truncated_frame_drops_the_connection_and_cancels_its_calls_FRAME_8_DROP_1(running):
    """[FRAME-8] [DROP-1]"""
    peer = established(running)
    peer.send({"kind": "request", "id": 1, "method": "invoke", "params": {"processor": "block"}})
    assert running.hooks.started.wait(WAIT)
    peer.send_bytes(encode_frame(PING)[:20])
    peer.sock.shutdown(socket.SHUT_WR)
    assert running.hooks.stopped_by_cancel.wait(WAIT)
    assert peer.closed_by_server()
    still_serves(running)


def test_closed_connection_cancels_its_calls_DROP_1(running):
    """[DROP-1]"""
    peer = established(running)
    peer.send({"kind": "request", "id": 1, "method": "invoke", "params": {"processor": "block"}})
    assert running.hooks.started.wait(WAIT)
    peer.close()
    assert running.hooks.stopped_by_cancel.wait(WAIT)


def test_connections_that_ended_leave_nothing_in_the_server_DROP_1():
    """Connections that end with a call computing, a call waiting for a worker, or none: once
    their calls are done the server keeps nothing of them (the fair queue once kept every
    connection it had queued a call of, and a server whose clients came and went grew without
    bound)."""
    instance = start_server(workers=1)

    def kept():
        gc.collect()
        return [connection for connection in gc.get_objects()
                if isinstance(connection, _ServerConnection)
                and connection.server is instance.server]
    try:
        computing, waiting, idle = (established(instance) for _ in range(3))
        computing.send({"kind": "request", "id": 1, "method": "invoke",
                        "params": {"processor": "gate"}})
        assert instance.hooks.entered.acquire(timeout=WAIT)
        waiting.send({"kind": "request", "id": 1, "method": "invoke",
                      "params": {"processor": "gate"}})
        assert idle.call(1, "ping")["result"] == {}
        assert wait_until(lambda: len(kept()) == 3)
        for peer in (waiting, idle, computing):
            peer.close()
        instance.hooks.release.set()
        assert wait_until(lambda: not kept())
        still_serves(instance)
    finally:
        instance.hooks.release.set()
        instance.server.close()


def test_calls_of_a_dropped_connection_give_back_their_places_among_the_servers_calls_LIMIT_12_DROP_1():
    """[LIMIT-12] [DROP-1]: the server's bound counts calls until they are computed; calls that
    wait for a worker when their connection drops never compute, and give their places back at
    once."""
    instance = start_server(workers=1, max_pending_calls=3)
    try:
        holder, leaver = established(instance), established(instance)
        holder.send({"kind": "request", "id": 1, "method": "invoke",
                     "params": {"processor": "gate"}})
        assert instance.hooks.entered.acquire(timeout=WAIT)
        for request_id in (1, 2):
            leaver.send({"kind": "request", "id": request_id, "method": "invoke",
                         "params": {"processor": "gate"}})
        assert wait_until(lambda: instance.server.pending_call_count == 3)
        refused = leaver.call(3, "invoke", {"processor": "gate"})
        assert error_code(refused) == ErrorCode.TOO_MANY_IN_FLIGHT
        assert refused["error"]["details"] == {"max_pending_calls": 3}
        leaver.close()
        assert wait_until(lambda: instance.server.pending_call_count == 1)
        instance.hooks.release.set()
        assert "result" in holder.receive_response(1)
        assert wait_until(lambda: instance.server.pending_call_count == 0)
        still_serves(instance)
    finally:
        instance.hooks.release.set()
        instance.server.close()


@pytest.mark.parametrize("reference", [
    msgpack.ExtType(1, struct.pack(">QQ", 0, 100)),
    msgpack.ExtType(1, struct.pack(">QQ", 2**64 - 1, 2))])
def test_bad_bulk_reference_is_answered_under_the_request_id_BULK_1_MSG_12(running, reference):
    """[BULK-1] [MSG-12]"""
    peer = established(running)
    head = msgpack.packb({"kind": "request", "id": 5, "method": "ping", "x": reference})
    peer.send_bytes(struct.pack(">2sBBIQ", b"SB", 1, 0, len(head), 8) + head + bytes(8))
    assert error_code(peer.receive_response(5)) == ErrorCode.INVALID_MESSAGE


def test_compressed_input_without_agreed_codec_is_unsupported_codec_BULK_5(running):
    """[BULK-5]"""
    import zstandard
    peer = established(running, capabilities=[])
    segment = zstandard.ZstdCompressor().compress(bytes(64))
    head = msgpack.packb({"kind": "request", "id": 6, "method": "ping",
                          "x": msgpack.ExtType(1, struct.pack(">QQBQ", 0, len(segment), 1, 64))})
    peer.send_bytes(struct.pack(">2sBBIQ", b"SB", 1, 0, len(head), len(segment)) + head + segment)
    assert error_code(peer.receive_response(6)) == ErrorCode.UNSUPPORTED_CODEC


@pytest.mark.parametrize("message,code", [
    ({"kind": "event", "id": 1}, ErrorCode.UNKNOWN_KIND),                    # [MSG-10]
    ({"kind": "response", "id": 1, "result": {}}, ErrorCode.INVALID_MESSAGE),  # [MSG-3]
    ({"kind": "request", "id": -1, "method": "ping"}, ErrorCode.INVALID_MESSAGE),
    ({"kind": "request", "id": 1.0, "method": "ping"}, ErrorCode.INVALID_MESSAGE),
    ({"kind": "notification", "params": {}}, ErrorCode.INVALID_MESSAGE)])
def test_connection_level_errors_keep_the_connection_MSG_10_MSG_12(running, message, code):
    """[MSG-10] [MSG-12]"""
    peer = established(running)
    peer.send(message)
    assert error_code(peer.receive_response(None)) == code
    assert peer.call(2, "ping")["result"] == {}


@pytest.mark.parametrize("method,params,code", [
    ("reboot", None, ErrorCode.METHOD_NOT_FOUND),                              # [MSG-6]
    ("ping", [], ErrorCode.INVALID_MESSAGE),                                   # [MSG-12]
    ("describe", {}, ErrorCode.INVALID_MESSAGE),                               # [MSG-13]
    ("describe", {"processor": "nope"}, ErrorCode.UNKNOWN_PROCESSOR),          # [CAT-2]
    ("invoke", {"processor": "nope"}, ErrorCode.UNKNOWN_PROCESSOR),            # [INV-1]
    ("invoke", {"processor": "slow", "deadline": -1.0}, ErrorCode.INVALID_MESSAGE),  # [INV-7]
    ("invoke", {"processor": "slow", "deadline": float("inf")}, ErrorCode.INVALID_MESSAGE),
    ("invoke", {"processor": "slow", "inputs": []}, ErrorCode.INVALID_MESSAGE),
    ("invoke", {"processor": "slow", "parameters": {"seconds": -1.0}},
     ErrorCode.INVALID_ARGUMENT),                                              # [INV-2]
    ("invoke", {"processor": "slow", "parameters": {"speed": 1}}, ErrorCode.INVALID_ARGUMENT),
    ("invoke", {"processor": "echo", "inputs": {"image": {"type": "volume"}}},
     ErrorCode.INVALID_ARGUMENT),                                             # [DATA-1]
    ("invoke", {"processor": "echo", "inputs": {"image": dict(
        Image(np.zeros((2, 3, 4), np.int16)).to_wire(), dims=[2**40] * 3)}},
     ErrorCode.INVALID_ARGUMENT),                                             # [IMG-3]
    ("invoke", {"processor": "huge_detail"}, ErrorCode.INTERNAL_ERROR)])
def test_request_errors_are_answered_under_the_id(running, method, params, code):
    peer = established(running)
    reply = peer.call(3, method, params)
    assert error_code(reply) == code
    if code == ErrorCode.INVALID_ARGUMENT:
        assert "name" in reply["error"]["details"]


def test_missing_required_parameter_is_invalid_argument_naming_it_INV_2(running):
    """[INV-2]"""
    peer = established(running)
    reply = peer.call(1, "invoke", {"processor": "slow", "parameters": {"steps": 2}})
    assert error_code(reply) == ErrorCode.INVALID_ARGUMENT
    assert reply["error"]["details"]["name"] == "seconds"


def test_duplicate_id_is_connection_level_and_leaves_the_open_call_MSG_5(running):
    """[MSG-5]"""
    peer = established(running)
    peer.send({"kind": "request", "id": 7, "method": "invoke", "params": {"processor": "block"}})
    assert running.hooks.started.wait(WAIT)
    peer.send({"kind": "request", "id": 7, "method": "ping"})
    reply = peer.receive_response(None)
    assert error_code(reply) == ErrorCode.DUPLICATE_ID and reply["error"]["details"] == {"id": 7}
    peer.send({"kind": "notification", "method": "cancel", "params": {"id": 7}})
    assert error_code(peer.receive_response(7)) == ErrorCode.CANCELLED


def test_cancel_of_unknown_or_answered_id_is_ignored_CANCEL_4_MSG_16(running):
    """[CANCEL-4] [MSG-16]"""
    peer = established(running)
    assert peer.call(1, "ping")["result"] == {}
    for params in ({"id": 1}, {"id": 12345}, {"id": "x"}, []):
        peer.send({"kind": "notification", "method": "cancel", "params": params})
    peer.send({"kind": "notification", "method": "x-unknown", "params": {}})  # [MSG-9]
    peer.send(PING | {"id": 2})
    reply = peer.receive()
    assert reply["kind"] == "response" and reply["id"] == 2 and reply["result"] == {}


def test_ping_is_answered_while_calls_run_PING_1(running):
    """[PING-1]"""
    peer = established(running)
    peer.send({"kind": "request", "id": 1, "method": "invoke", "params": {"processor": "block"}})
    assert running.hooks.started.wait(WAIT)
    assert peer.call(2, "ping")["result"] == {}


def test_every_response_carries_timings_TIME_1(running):
    """[TIME-1]"""
    peer = established(running)
    for reply in (peer.call(1, "ping"), peer.call(2, "catalog"),
                  peer.call(3, "invoke", {"processor": "slow",
                                          "parameters": {"seconds": 0.0, "steps": 1}}),
                  peer.call(4, "describe", {})):
        timings = reply["timings"]
        assert set(timings) >= {"receiving", "queued", "computing", "sending"}
        assert all(isinstance(v, float) and v >= 0 for v in timings.values())


def test_catalog_and_describe_CAT_1_CAT_2(running):
    """[CAT-1] [CAT-2]"""
    peer = established(running)
    names = [p["name"] for p in peer.call(1, "catalog")["result"]["processors"]]
    assert {"echo", "slow", "fail", "box_smooth", "threshold", "label_statistics"} <= set(names)
    assert peer.call(2, "describe", {"processor": "slow"})["result"]["name"] == "slow"


# -- invoke, progress, cancel ---------------------------------------------------------------

def test_progress_never_decreases_and_stops_before_the_response_PROG_1_PROG_2(running):
    """[PROG-1] [PROG-2]"""
    peer = established(running)
    peer.send({"kind": "request", "id": 1, "method": "invoke", "params": {"processor": "zigzag"}})
    fractions = []
    while True:
        message = peer.receive()
        if message["kind"] == "notification":
            assert message["method"] == "progress" and message["params"]["id"] == 1
            fractions.append(message["params"]["fraction"])
        else:
            assert message["id"] == 1 and "result" in message
            break
    assert fractions == [0.1, 0.5, 0.6, 0.9]
    assert peer.call(2, "ping")["result"] == {}  # nothing for call 1 was queued behind it


def test_no_progress_without_the_capability_CAP_3(running):
    """[CAP-3]"""
    peer = established(running, capabilities=[])
    peer.send({"kind": "request", "id": 1, "method": "invoke",
               "params": {"processor": "slow", "parameters": {"seconds": 0.0, "steps": 5}}})
    reply = peer.receive()
    assert reply["kind"] == "response" and reply["id"] == 1


def test_cancelled_call_gets_exactly_one_cancelled_response_CANCEL_1_CANCEL_2(running):
    """[CANCEL-1] [CANCEL-2]"""
    peer = established(running)
    peer.send({"kind": "request", "id": 1, "method": "invoke",
               "params": {"processor": "slow", "parameters": {"seconds": WAIT * 5,
                                                              "steps": 1000}}})
    assert peer.receive()["kind"] == "notification"
    peer.send({"kind": "notification", "method": "cancel", "params": {"id": 1}})
    assert error_code(peer.receive_response(1)) == ErrorCode.CANCELLED
    peer.send(PING | {"id": 2})
    reply = peer.receive()  # no second response for call 1 comes first
    assert (reply["kind"], reply["id"], reply["result"]) == ("response", 2, {})


def test_call_that_ignores_cancel_is_answered_after_the_grace_CANCEL_3():
    """[CANCEL-3]"""
    instance = start_server(limits=Limits(cancel_grace=0.05))
    try:
        peer = established(instance)
        peer.send({"kind": "request", "id": 1, "method": "invoke",
                   "params": {"processor": "obstinate"}})
        assert instance.hooks.started.wait(WAIT)
        peer.send({"kind": "notification", "method": "cancel", "params": {"id": 1}})
        assert error_code(peer.receive_response(1)) == ErrorCode.CANCELLED
        assert not instance.hooks.finished.is_set()  # still running: it was answered anyway
        instance.hooks.release.set()
        assert instance.hooks.finished.wait(WAIT)
        # Its late result is discarded: the next message is the ping's answer.
        peer.send(PING | {"id": 2})
        reply = peer.receive()
        assert reply["id"] == 2 and reply["result"] == {}
    finally:
        instance.hooks.release.set()
        instance.server.close()


def test_deadline_cancels_and_answers_deadline_exceeded_INV_6(running):
    """[INV-6]"""
    peer = established(running)
    reply = peer.call(1, "invoke", {"processor": "block", "deadline": 0.05})
    assert error_code(reply) == ErrorCode.DEADLINE_EXCEEDED
    assert running.hooks.stopped_by_cancel.wait(WAIT)


@pytest.mark.parametrize("parameters,code", [({}, 1000), ({"code": 4242}, 4242),
                                             ({"mode": "exception"}, 106)])
def test_processor_errors_are_responses_not_disconnections_INV_5(running, parameters, code):
    """[INV-5]"""
    peer = established(running)
    assert error_code(peer.call(1, "invoke", {"processor": "fail",
                                              "parameters": parameters})) == code
    assert error_code(peer.call(2, "invoke", {"processor": "wrong_output"})) == \
        ErrorCode.PROCESSOR_FAILED
    assert peer.call(3, "ping")["result"] == {}


def test_calls_beyond_max_in_flight_are_refused_and_other_requests_answered_LIMIT_2():
    """[LIMIT-2]: a connection full of calls refuses one more invoke, not a ping, a catalog or
    a describe; its goodbye is answered after the open calls."""
    instance = start_server(limits=Limits(max_in_flight=2))
    try:
        peer = established(instance)
        for request_id in (1, 2):
            peer.send({"kind": "request", "id": request_id, "method": "invoke",
                       "params": {"processor": "gate"}})
        assert instance.hooks.entered.acquire(timeout=WAIT)
        assert instance.hooks.entered.acquire(timeout=WAIT)
        assert peer.call(3, "ping")["result"] == {}
        assert "processors" in peer.call(4, "catalog")["result"]
        assert peer.call(5, "describe", {"processor": "gate"})["result"]["name"] == "gate"
        refused = peer.call(6, "invoke", {"processor": "gate"})
        assert error_code(refused) == ErrorCode.TOO_MANY_IN_FLIGHT
        assert refused["error"]["details"] == {"max_in_flight": 2}
        assert instance.hooks.entered.acquire(timeout=0.2) is False  # not run
        peer.send({"kind": "request", "id": 7, "method": "goodbye"})
        instance.hooks.release.set()
        answered = [peer.receive()["id"] for _ in range(3)]
        assert sorted(answered[:2]) == [1, 2] and answered[2] == 7  # goodbye last [BYE-2]
    finally:
        instance.hooks.release.set()
        instance.server.close()


def test_a_call_stops_counting_before_its_response_can_be_read_LIMIT_2_LIMIT_13(monkeypatch):
    """[LIMIT-2] [LIMIT-13]: a client that has read the answer to its only call may send the
    next one at once. Every write of the server lingers after its bytes have left, so the next
    call arrives while the writer has not returned: it must not be counted against the answered
    one."""
    write_all = Transport.write_all

    def write_then_linger(self, buffers, fds=()):
        write_all(self, buffers, fds)
        time.sleep(0.2)

    monkeypatch.setattr(Transport, "write_all", write_then_linger)
    instance = start_server(limits=Limits(max_in_flight=1))
    try:
        peer = established(instance)
        for request_id in (1, 2, 3):
            reply = peer.call(request_id, "invoke", {"processor": "echo"})
            assert reply.get("error") is None, reply["error"]
    finally:
        instance.server.close()


def test_output_larger_than_the_client_accepts_is_too_large_LIMIT_3(running):
    """[LIMIT-3]"""
    peer = established(running, limits={"max_frame": 65536})
    image = Image(np.zeros((10, 100, 100), np.uint8)).to_wire()
    head = encode_frame({"kind": "request", "id": 1, "method": "invoke",
                         "params": {"processor": "echo", "inputs": {"image": image}}})
    peer.send_bytes(head)
    assert error_code(peer.receive_response(1)) == ErrorCode.TOO_LARGE


def test_a_catalog_over_the_client_max_frame_is_too_large_under_its_id_LIMIT_11(running):
    """[LIMIT-1] [LIMIT-3] [LIMIT-11]: every method, not only invoke."""
    peer = established(running, limits={"max_frame": 400})
    reply = peer.call(1, "catalog")
    assert reply["id"] == 1 and error_code(reply) == ErrorCode.TOO_LARGE
    assert peer.call(2, "ping")["result"] == {}


def test_a_catalog_deeper_than_the_client_max_depth_is_too_large_under_its_id_LIMIT_11(running):
    """[LIMIT-11]: a sender respects the peer's max_depth. The catalog (response, result,
    processors, description, slots, slot) is 6 deep: too deep for a client announcing 5."""
    for max_depth, expected in ((5, ErrorCode.TOO_LARGE), (32, None)):
        peer = established(running, limits={"max_depth": max_depth})
        reply = peer.call(1, "catalog")
        assert reply["id"] == 1
        if expected is None:
            assert reply["result"]["processors"]
        else:
            assert error_code(reply) == expected
            assert reply["error"]["details"]["max_depth"] == max_depth
        assert peer.call(2, "ping")["result"] == {}


def test_progress_sent_by_a_client_is_ignored_PROG_5(running):
    """[PROG-5]: no response, no error; the next message is the ping's answer."""
    peer = established(running)
    peer.send({"kind": "notification", "method": "progress",
               "params": {"id": 7, "fraction": 0.5}})
    peer.send({"kind": "request", "id": 1, "method": "ping"})
    reply = peer.receive()
    assert reply["kind"] == "response" and reply["id"] == 1 and reply["result"] == {}


def test_goodbye_is_answered_after_open_calls_then_the_server_closes_BYE_2(running):
    """[BYE-2]"""
    peer = established(running)
    peer.send({"kind": "request", "id": 1, "method": "invoke", "params": {"processor": "gate"}})
    assert running.hooks.entered.acquire(timeout=WAIT)
    peer.send({"kind": "request", "id": 2, "method": "goodbye"})
    assert error_code(peer.call(3, "ping")) == ErrorCode.SHUTTING_DOWN
    running.hooks.release.set()
    first, second = peer.receive(), peer.receive()
    assert (first["id"], second["id"]) == (1, 2) and second["result"] == {}
    assert peer.closed_by_server()


def test_server_close_answers_open_calls_with_shutting_down(running):
    peer = established(running)
    peer.send({"kind": "request", "id": 1, "method": "invoke", "params": {"processor": "block"}})
    assert running.hooks.started.wait(WAIT)
    running.server.close()
    assert error_code(peer.receive_response(1)) == ErrorCode.SHUTTING_DOWN
    assert peer.closed_by_server()


def test_outputs_are_compressed_when_agreed_CODEC_2():
    """[CODEC-2]"""
    instance = start_server(compression="lz4")
    try:
        peer = established(instance, capabilities=["codec.lz4"])
        image = Image(np.zeros((8, 64, 64), np.int16))
        frame = encode_frame({"kind": "request", "id": 1, "method": "invoke",
                              "params": {"processor": "echo",
                                         "inputs": {"image": image.to_wire()}}})
        peer.send_bytes(frame)
        reply = peer.receive_response(1)
        data = reply["result"]["outputs"]["image_out"]["data"]
        assert isinstance(data, Bulk) and data.codec == "lz4"
        assert bytes(data.data) == image.voxels.tobytes()
    finally:
        instance.server.close()


def test_processor_exception_text_stays_out_of_responses_but_reaches_the_local_log_ERR_3(
        running, caplog):
    """[ERR-3]: the wire names only the exception type; the server's own log (issue 11) has
    the type, the message and the traceback, so that the author can see what went wrong."""
    peer = established(running)
    with caplog.at_level("DEBUG", logger="slicerbridge"):
        reply = peer.call(1, "invoke", {"processor": "fail", "parameters": {
            "mode": "exception", "message": "PATIENT-4711 voxel 1234"}})
    assert error_code(reply) == ErrorCode.PROCESSOR_FAILED
    assert "PATIENT" not in repr(reply["error"])
    assert "RuntimeError" in reply["error"]["message"]
    assert "server's log" in reply["error"]["message"]
    assert "RuntimeError: PATIENT-4711 voxel 1234" in caplog.text
    assert "processors.py" in caplog.text  # the traceback


def test_connections_beyond_the_bound_are_closed():
    instance = start_server(max_connections=1)
    try:
        first = established(instance)
        second = instance.raw()
        assert second.closed_by_server()
        assert first.call(1, "ping")["result"] == {}
    finally:
        instance.server.close()


def test_processor_names_are_unique_on_a_server():
    from slicerbridge.processors import echo
    with pytest.raises(ValueError):
        Server([echo, echo])


@pytest.mark.parametrize("method, processor", [
    ("__import__('os').system('touch {canary}')", None),
    ("_dispatch", None),
    ("__init__", None),
    ("eval", None),
    ("invoke", "__import__('os').system('touch {canary}')"),
    ("invoke", "echo; touch {canary}"),
    ("describe", "__class__"),
    ("invoke", "__class__"),
])
def test_method_and_processor_names_are_looked_up_never_evaluated_SEC_9(running, tmp_path,
                                                                         method, processor):
    """[SEC-9]: a name that is code, an attribute of the server or an expression is an unknown
    method or processor; nothing runs (the canary file stays absent), the connection serves on."""
    canary = tmp_path / "canary"
    peer = established(running)
    params = {} if processor is None else {"processor": processor.format(canary=canary)}
    reply = peer.call(1, method.format(canary=canary), params)
    expected = ErrorCode.METHOD_NOT_FOUND if processor is None else ErrorCode.UNKNOWN_PROCESSOR
    assert error_code(reply) == expected
    assert not canary.exists()
    assert peer.call(2, "ping")["result"] == {}
