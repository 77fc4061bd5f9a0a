#!/usr/bin/python3
"""Codec adapter of the Python implementation (python/slicerbridge) for the conformance suite's
codec mode. Protocol (conformance/README.md): requests and replies are a 4-byte big-endian length
and UTF-8 JSON; ops `decode`, `data` and `catalog`. Message checks (op `message`) need the live
server and client state machines, which python/tests exercises directly: the adapter reports them unsupported.

Run: PYTHONPATH=python /usr/bin/python3 conformance/adapters/python_codec_adapter.py
"""

import json
import math
import struct
import sys

from slicerbridge.catalog import read_catalog
from slicerbridge.codec import Bulk, decode_head, encode_frame
from slicerbridge.data import Image, Transform, data_from_wire, typed_array_from_wire
from slicerbridge.errors import ConnectionLost, FatalProtocolError, SlicerBridgeError
from slicerbridge.frame import FrameReader
from slicerbridge.limits import Limits


class BytesTransport:
    """The vector's bytes as a stream that then ends."""

    def __init__(self, data: bytes) -> None:
        self.data, self.position = data, 0

    def readinto(self, buffer: memoryview) -> int:
        count = min(len(buffer), len(self.data) - self.position)
        buffer[:count] = self.data[self.position:self.position + count]
        self.position += count
        return count


def to_json(value):
    if isinstance(value, Bulk):
        bulk = {"hex": bytes(value.data).hex()}
        if value.codec:
            bulk["codec"] = value.codec
        return {"$bulk": bulk}
    if isinstance(value, (bytes, bytearray)):
        return {"$bin": bytes(value).hex()}
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


def decode(request):
    """The head of the request's frame, or raises with the error the receiver reports."""
    limits = Limits(**request.get("limits", {}))
    reader = FrameReader(BytesTransport(bytes.fromhex(request["hex"])))
    try:
        frame = reader.read_frame(max_frame=limits.max_frame, max_head=limits.max_head)
    except ConnectionLost:
        frame = None
    if frame is None:
        raise LookupError("truncated")
    decoded = decode_head(frame.head, frame.bulk, max_depth=limits.max_depth,
                          codecs=request.get("codecs", ()), max_raw_total=limits.max_frame)
    if decoded.bulk_error:
        raise decoded.bulk_error
    return decoded.value


def at(value, path):
    for key in path:
        value = value[key]
    return value


def handle(request):
    op = request.get("op")
    if op not in ("decode", "data", "catalog"):
        return {"unsupported": f"op {op!r}: message checks run against the live server in python/tests"}
    try:
        head = decode(request)
    except LookupError:
        return {"accepted": False, "error": "truncated"}
    except (FatalProtocolError, SlicerBridgeError) as error:
        return {"accepted": False, "error": error.name}
    if op == "catalog":  # what the client keeps of a catalog [CAT-12]
        try:
            kept, dropped = read_catalog(head.get("result"))
        except SlicerBridgeError as error:
            return {"accepted": False, "error": error.name}
        return {"accepted": True, "kept": [description.name for description in kept],
                "dropped": [{key: entry[key] for key in ("index", "name", "requirement")}
                            for entry in dropped]}
    if op == "decode":
        decoded = to_json(head)
        return {"accepted": True, "decoded": decoded, "reencoded": encode_frame(from_json(decoded)).hex()}
    try:
        value = data_from_wire(at(head, request["data_path"]))
        typed = [{"path": path, "values": to_json(typed_array_from_wire(at(head, path), "value").ravel().tolist())}
                 for path in request.get("typed_paths", [])]
    except SlicerBridgeError as error:
        return {"accepted": False, "error": error.name}
    reply = {"accepted": True, "typed_values": typed}
    if isinstance(value, Image) and request.get("geometry"):
        reply["matrix_ras"] = value.in_space("RAS").ijk_to_space.ravel().tolist()
    elif isinstance(value, Transform) and request.get("geometry"):
        reply["matrix_ras"] = value.in_space("RAS").matrix.ravel().tolist()
    return reply


def main() -> None:
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    while True:
        header = stdin.read(4)
        if len(header) < 4:
            return
        request = json.loads(stdin.read(struct.unpack(">I", header)[0]))
        body = json.dumps(handle(request)).encode("utf-8")
        stdout.write(struct.pack(">I", len(body)) + body)
        stdout.flush()


if __name__ == "__main__":
    main()
