"""The golden vectors of spec/vectors/ checked against this implementation.

Codec vectors: every accept vector decodes to its ``decoded`` value and, when marked canonical,
re-encodes byte for byte [CANON-9]; every reject vector yields its named error. Data vectors
also go through the data layer, message vectors through a live server or client.
"""

import json
import math
import os
import socket
import struct
import threading

import numpy as np
import pytest

from conftest import WAIT, MemoryTransport, RawPeer, start_server
from slicerbridge import Client
from slicerbridge.codec import Bulk, decode_head, encode_frame
from slicerbridge.data import (Image, ImageSeries, Transform, data_from_wire,
                               typed_array_from_wire)
from slicerbridge.errors import ConnectionLost, ErrorCode, FatalProtocolError, SlicerBridgeError
from slicerbridge.frame import FrameReader
from slicerbridge.limits import Limits

VECTOR_DIR = os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, "spec", "vectors")


def load(name):
    path = os.path.join(VECTOR_DIR, name)
    if not os.path.exists(path):
        return []
    with open(path) as source:
        return [pytest.param(vector, id=vector["id"]) for vector in json.load(source)["vectors"]]


# -- the JSON convention of the vector files ------------------------------------------------

def to_json(value):
    if isinstance(value, Bulk):
        bulk = {"hex": bytes(value.data).hex()}
        if value.codec:
            bulk["codec"] = value.codec
        return {"$bulk": bulk}
    if isinstance(value, bytes):
        return {"$bin": value.hex()}
    if isinstance(value, float) and not math.isfinite(value):
        return {"$float": "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")}
    if isinstance(value, dict):
        return {key: to_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [to_json(item) for item in value]
    return value


def from_json(value):
    if isinstance(value, dict):
        if set(value) == {"$bulk"}:
            return Bulk(bytes.fromhex(value["$bulk"]["hex"]), value["$bulk"].get("codec"))
        if set(value) == {"$bin"}:
            return bytes.fromhex(value["$bin"])
        if set(value) == {"$float"}:
            return float(value["$float"])
        return {key: from_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [from_json(item) for item in value]
    return value


def same(actual, expected) -> bool:
    """Equality that tells bool from int from float, -0.0 from 0.0, and keeps map order."""
    if type(actual) is not type(expected):
        return False
    if isinstance(actual, float):
        return struct.pack(">d", actual) == struct.pack(">d", expected) or (
            math.isnan(actual) and math.isnan(expected))
    if isinstance(actual, dict):
        return list(actual) == list(expected) and all(same(actual[k], expected[k])
                                                      for k in actual)
    if isinstance(actual, list):
        return len(actual) == len(expected) and all(map(same, actual, expected))
    return actual == expected


# -- decoding a vector's bytes like a receiver --------------------------------------------

def receive(vector):
    """Decode the vector's frame with its limits and codecs: (head, bulk error name) or the
    name of the error that refused the frame."""
    limits = Limits(**vector.get("limits", {}))
    reader = FrameReader(MemoryTransport(bytes.fromhex(vector["hex"])))
    try:
        frame = reader.read_frame(max_frame=limits.max_frame, max_head=limits.max_head)
    except ConnectionLost:
        return None, "truncated"
    except FatalProtocolError as error:
        return None, error.name
    # No byte at all: a stream reader sees a clean end of stream [FRAME-12], but the vector asks
    # for one frame, and that frame is missing: truncated [ERR-5].
    if frame is None:
        return None, "truncated"
    try:
        decoded = decode_head(frame.head, frame.bulk, max_depth=limits.max_depth,
                              codecs=vector.get("codecs", ()), max_raw_total=limits.max_frame)
    except SlicerBridgeError as error:
        return None, error.name
    return decoded.value, decoded.bulk_error.name if decoded.bulk_error else None


def check_accept(vector):
    head, error = receive(vector)
    assert error is None, error
    assert same(to_json(head), vector["decoded"])
    if vector.get("canonical"):
        assert encode_frame(from_json(vector["decoded"])).hex() == vector["hex"]
    return head


ACCEPT = load("frames.json") + load("messages.json") + load("handshake.json") + load("data.json") \
    + load("catalog.json")


@pytest.mark.parametrize("vector", ACCEPT)
def test_accept_vectors_decode_and_canonical_ones_reencode_CANON_9(vector):
    """[CANON-9]"""
    check_accept(vector)


@pytest.mark.parametrize("vector", load("malformed.json"))
def test_reject_vectors_yield_their_error(vector):
    head, error = receive(vector)
    assert error == vector["error"]


# -- data vectors through the data layer -------------------------------------------------

def at(value, path):
    for key in path:
        value = value[key]
    return value


def writes_every_key(value) -> bool:
    """Whether a data map spells out every defaulted key, as this implementation's encoder
    does (``components`` in every typed array)."""
    if isinstance(value, dict):
        if "dtype" in value and "data" in value and "components" not in value:
            return False
        return all(writes_every_key(item) for item in value.values())
    if isinstance(value, list):
        return all(writes_every_key(item) for item in value)
    return True


@pytest.mark.parametrize("vector", load("data.json"))
def test_data_vectors_convert_and_reencode_IMG_1_ARRAY_2(vector):
    """[IMG-1] [ARRAY-2]"""
    head = check_accept(vector)
    wire = at(head, vector["data_path"])
    value = data_from_wire(wire)
    for typed in vector.get("typed_values", []):
        array = typed_array_from_wire(at(head, typed["path"]), "vector")
        expected = np.array(from_json(typed["values"]), dtype=array.dtype.newbyteorder("="))
        assert array.tobytes() == expected.astype(array.dtype).tobytes()
    if "ijk_to_ras" in vector:
        assert isinstance(value, Image)
        assert np.array_equal(value.in_space("RAS").ijk_to_space.ravel(), vector["ijk_to_ras"])
    if "volumes_ijk_to_ras" in vector:  # [SER-5]
        assert isinstance(value, ImageSeries)
        assert np.array_equal(value.in_space("RAS").ijk_to_space.reshape(-1, 16),
                              vector["volumes_ijk_to_ras"])
    if "matrix_ras" in vector:
        assert isinstance(value, Transform)
        assert np.array_equal(value.in_space("RAS").matrix.ravel(), vector["matrix_ras"])
    if vector.get("canonical") and writes_every_key(vector["decoded"]):
        # This encoder writes the data map exactly as the vector does.
        assert same(to_json(value.to_wire()), at(vector["decoded"], vector["data_path"]))


@pytest.mark.parametrize("vector", load("data_invalid.json"))
def test_invalid_data_vectors_are_invalid_argument_ERR_4(vector):
    """[ERR-4]"""
    head, error = receive(vector)
    assert error is None
    with pytest.raises(SlicerBridgeError) as raised:
        data_from_wire(at(head, vector["data_path"]))
    assert raised.value.name == vector["error"]


# -- message vectors against a live server and client --------------------------------------

SERVER_VECTORS = [v for v in load("messages_invalid.json") if v.values[0]["receiver"] == "server"]
CLIENT_VECTORS = [v for v in load("messages_invalid.json") if v.values[0]["receiver"] == "client"]


@pytest.fixture(scope="module")
def vector_server():
    instance = start_server()
    yield instance
    instance.server.close()


@pytest.mark.parametrize("vector", SERVER_VECTORS)
def test_server_answers_invalid_message_vectors(vector, vector_server):
    peer = RawPeer(vector_server.address)
    try:
        if vector["state"] == "established":
            peer.hello()
        peer.send_bytes(bytes.fromhex(vector["hex"]))
        reply = peer.receive_response(vector.get("response_id"))
        assert ErrorCode(reply["error"]["code"]).wire_name == vector["error"]
        if vector["state"] == "awaiting_hello":  # the handshake failed: the server closes
            assert peer.closed_by_server()
        else:  # non-fatal: the connection still serves
            assert "result" in peer.call(10**6, "ping")
    finally:
        peer.close()


@pytest.mark.parametrize("vector", CLIENT_VECTORS)
def test_client_refuses_invalid_response_vectors_MSG_15(vector):
    """[MSG-15]"""
    listener = socket.create_server(("127.0.0.1", 0))
    done = threading.Event()

    def serve():
        conn, _ = listener.accept()
        with conn:
            peer = RawPeer(sock=conn)
            peer.receive()  # the client's hello
            peer.send({"kind": "hello", "protocol": "slicerbridge", "version": [1, 0],
                       "capabilities": ["cancel"]})
            request = peer.receive()
            assert request["id"] == 1
            peer.send_bytes(bytes.fromhex(vector["hex"]))
            done.wait(WAIT)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    client = Client.tcp(*listener.getsockname(), timeout=WAIT)
    try:
        with pytest.raises(SlicerBridgeError) as raised:
            client.request("ping", timeout=WAIT)
        assert raised.value.name == vector["error"]
    finally:
        done.set()
        client.close(timeout=1)
        thread.join(WAIT)
        listener.close()


def test_data_vectors_invoke_vectors_echo_with_one_input_named_input_PROC_5():
    """[PROC-5]: every invoke of data.json and data_invalid.json names vectors.echo and gives it
    exactly one input, `input`, holding the value under test."""
    invokes = 0
    for file_name in ("data.json", "data_invalid.json"):
        for param in load(file_name):
            entry = param.values[0]
            head = entry.get("decoded", {})
            if head.get("method") != "invoke":
                continue
            invokes += 1
            assert head["params"]["processor"] == "vectors.echo", entry["id"]
            assert list(head["params"]["inputs"]) == ["input"], entry["id"]
    assert invokes > 50


# -- catalog.json: what a client keeps of a catalog [CAT-12] --------------------------------

def kept_and_dropped(vector):
    from slicerbridge.catalog import read_catalog
    head = check_accept(vector)
    descriptions, dropped = read_catalog(head["result"])
    return ([d.name for d in descriptions],
            [{key: entry[key] for key in ("index", "name", "requirement")} for entry in dropped])


@pytest.mark.parametrize("vector", load("catalog.json"))
def test_catalog_vectors_keep_valid_descriptions_and_drop_bad_ones_CAT_12(vector):
    """[CAT-12] [CAT-3] [CAT-5] [CAT-6] [CAT-9] [CAT-10] [CAT-11]: the descriptions kept and those
    dropped, each with the rule it breaks, are the vector's."""
    kept, dropped = kept_and_dropped(vector)
    assert kept == vector["kept"]
    assert dropped == vector["dropped"]


@pytest.mark.parametrize("vector", [v for v in load("catalog.json") if v.values[0]["dropped"]])
def test_client_keeps_the_others_and_fails_calls_to_a_dropped_processor_unsent_CAT_12(vector):
    """[CAT-12]: a live client given the vector's catalog keeps the valid processors, reports the
    dropped ones, and fails a call to one of them without sending it; the connection serves on."""
    listener = socket.create_server(("127.0.0.1", 0))
    received = []

    def serve():
        conn, _ = listener.accept()
        with conn:
            peer = RawPeer(sock=conn)
            peer.receive()  # the client's hello
            peer.send({"kind": "hello", "protocol": "slicerbridge", "version": [1, 1],
                       "capabilities": []})
            for _ in range(2):  # the catalog, then the ping that follows the refused call
                request = peer.receive()
                received.append(request["method"])
                result = from_json(vector["decoded"]["result"]) \
                    if request["method"] == "catalog" else {}
                peer.send({"kind": "response", "id": request["id"], "result": result})

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    client = Client.tcp(*listener.getsockname(), timeout=WAIT)
    try:
        assert [d.name for d in client.catalog()] == vector["kept"]
        assert [(entry["index"], entry["name"], entry["requirement"])
                for entry in client.dropped.values()] == \
            [(entry["index"], entry["name"], entry["requirement"]) for entry in vector["dropped"]]
        named = [entry for entry in vector["dropped"]
                 if entry["name"] is not None and entry["name"] not in vector["kept"]]
        if named:
            with pytest.raises(SlicerBridgeError) as raised:
                client.invoke(named[0]["name"], timeout=WAIT)
            assert raised.value.name == "invalid_message"
            assert named[0]["requirement"] in raised.value.message
            assert raised.value.details["requirement"] == named[0]["requirement"]
        client.ping(timeout=WAIT)
        thread.join(WAIT)
        assert received == ["catalog", "ping"]
    finally:
        client.close(timeout=1)
        thread.join(WAIT)
        listener.close()
