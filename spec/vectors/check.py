#!/usr/bin/env python3
"""Verify the golden vectors in spec/vectors/*.json against an independent decoder.

The decoder, spec/tools/msgpack_oracle.py, is written from protocol.md alone and shares no code
with generate.py; the conformance suite judges implementations with the same decoder. For every
vector it checks that the frame decodes to `decoded` (accept) or fails with `error` (reject), that
`canonical` is true exactly when re-encoding the decoded head with the `msgpack` library
reproduces the bytes, that the `msgpack` library decodes accepted heads the same way, that typed
values, geometry and message semantics agree with the spec and with spec/model.json, and that
every requirement id and error name exists in protocol.md.

Usage: /usr/bin/python3 spec/vectors/check.py [-v]; exit status 0 when every vector passes.
"""

import json
import math
import re
import struct
import sys
from pathlib import Path

import lz4.frame
import msgpack
import zstandard

VECTOR_DIR = Path(__file__).resolve().parent
SPEC_DIR = VECTOR_DIR.parent
sys.path.insert(0, str(SPEC_DIR / "tools"))

import msgpack_oracle  # noqa: E402  (spec/tools/msgpack_oracle.py, stdlib only)
import semantics  # noqa: E402  (spec/tools/semantics.py, stdlib only)

FILES = ("frames.json", "handshake.json", "messages.json", "data.json", "malformed.json",
         "messages_invalid.json", "data_invalid.json", "catalog.json", "descriptors.json",
         "client_call_table.json")
CODEC_NAMES = {1: "zstd", 2: "lz4"}
DTYPE_FORMATS = {"int8": "b", "uint8": "B", "int16": "h", "uint16": "H", "int32": "i",
                 "uint32": "I", "int64": "q", "uint64": "Q", "float32": "f", "float64": "d"}
PSEUDO_ERRORS = {"truncated"}


class Rejected(Exception):
    """The frame is rejected with a protocol error name."""

    def __init__(self, error, reason):
        super().__init__(f"{error}: {reason}")
        self.error = error


class BulkRef:
    def __init__(self, offset, length, codec=None, raw_length=None):
        self.offset, self.length, self.codec, self.raw_length = offset, length, codec, raw_length


def bulk_references(value, bulk_length, limits, codecs):
    """The oracle's value with each ext value read as a bulk reference, in depth-first order
    ([BULK-1], [BULK-4] to [BULK-7])."""
    raw_budget = [limits["max_frame"]]

    def walk(item):
        if isinstance(item, dict):
            return {key: walk(element) for key, element in item.items()}
        if isinstance(item, list):
            return [walk(element) for element in item]
        if not isinstance(item, msgpack_oracle.Ext):
            return item
        try:
            offset, size, codec_id, raw_length = msgpack_oracle.bulk_reference(item)
        except msgpack_oracle.OracleError as error:
            raise Rejected("invalid_message", str(error)) from None
        ref = BulkRef(offset, size)
        if codec_id is not None:
            codec = CODEC_NAMES.get(codec_id)
            if codec is None or codec not in codecs:
                raise Rejected("unsupported_codec", f"codec {codec_id} not in force")
            if raw_length > raw_budget[0]:
                raise Rejected("frame_too_large", "raw_length (or their sum) over max_frame")
            raw_budget[0] -= raw_length
            ref = BulkRef(offset, size, codec, raw_length)
        if ref.offset + ref.length > bulk_length:
            raise Rejected("invalid_message", "bulk reference out of range")
        return ref

    return walk(value)


def decode_head(head_bytes, bulk_length, limits, codecs):
    """One head with the spec's MessagePack oracle: a map, bulk references resolved."""
    try:
        head = msgpack_oracle.decode(head_bytes, limits["max_depth"])
    except msgpack_oracle.OracleError as error:
        raise Rejected("invalid_message", str(error)) from None
    if not isinstance(head, dict):
        raise Rejected("invalid_message", "head is not a map")
    return bulk_references(head, bulk_length, limits, codecs)


MAX_DESCRIPTORS = 16
REQUIRED_SEALS = {"write", "shrink", "grow"}


class DescriptorRef:
    def __init__(self, data):
        self.data = data


def check_descriptor_frame(data, limits, vector):
    """A frame of descriptors.json with its descriptors, in the order of section 3.5: the
    descriptors attributed to the frame ([FD-3], [FD-6]), then each ext value, type 2 being a
    descriptor reference only while transfer.memfd is in force ([FD-4]), checked against the
    file's kind, seals and size ([FD-5]) and against max_frame ([FD-7])."""
    files = vector["descriptors"]
    if len(data) < 16 or data[:2] != b"SB" or data[2] != 1:
        raise AssertionError("descriptor vectors hold well-framed frames")
    head_length, bulk_length = struct.unpack(">IQ", data[4:16])
    head_bytes = data[16:16 + head_length]
    bulk = data[16 + head_length:]
    if files and not vector["in_force"]:
        raise Rejected("invalid_message", "descriptors without transfer.memfd in force")
    if len(files) > MAX_DESCRIPTORS:
        raise Rejected("invalid_message", "more than 16 descriptors")
    try:
        head = msgpack_oracle.decode(head_bytes, limits["max_depth"])
    except msgpack_oracle.OracleError as error:
        raise Rejected("invalid_message", str(error)) from None
    used = set()
    carried = [0]

    def walk(item):
        if isinstance(item, dict):
            return {key: walk(element) for key, element in item.items()}
        if isinstance(item, list):
            return [walk(element) for element in item]
        if not isinstance(item, msgpack_oracle.Ext):
            return item
        if item.type != 2:
            return bulk_references(item, bulk_length, limits, [])
        if not vector["in_force"] or len(item.data) != 20:
            raise Rejected("invalid_message", "ext type 2 not a descriptor reference here")
        index, offset, length = struct.unpack(">IQQ", item.data)
        if index >= len(files):
            raise Rejected("invalid_message", "descriptor index out of range")
        file = files[index]
        if file["kind"] != "memfd" or set(file["seals"]) < REQUIRED_SEALS:
            raise Rejected("invalid_message", "not a sealed memory file")
        contents = bytes.fromhex(file["hex"])
        size = file.get("size", len(contents))
        if offset + length > size:
            raise Rejected("invalid_message", "segment beyond the file's fstat size")
        used.add(index)
        carried[0] += length
        return DescriptorRef((contents + bytes(size - len(contents)))[offset:offset + length])

    head = walk(head)
    if len(used) != len(files):
        raise Rejected("invalid_message", "a descriptor that no reference uses")
    if 16 + head_length + bulk_length + carried[0] > limits["max_frame"]:
        raise Rejected("frame_too_large", "descriptor segments over max_frame")
    return resolve(head, bulk), head_bytes


def decompress(codec, data, raw_length):
    """Decompress one segment; it must be exactly one frame of `raw_length` bytes ([BULK-5..8])."""
    try:
        if codec == "zstd":
            stream = zstandard.ZstdDecompressor().decompressobj()
            output = stream.decompress(data)
        else:
            stream = lz4.frame.LZ4FrameDecompressor()
            output = stream.decompress(data, max_length=raw_length + 1)
    except (zstandard.ZstdError, RuntimeError) as error:
        raise Rejected("invalid_message", f"{codec} error: {error}") from None
    if len(output) != raw_length:
        raise Rejected("invalid_message", "output size differs from raw_length")
    if not stream.eof or stream.unused_data:
        raise Rejected("invalid_message", f"not exactly one {codec} frame")
    return output


def resolve(value, bulk):
    """The `decoded` JSON form, with bulk references read (and decompressed) from the bulk."""
    if isinstance(value, DescriptorRef):
        return {"$bulk": {"hex": value.data.hex()}}
    if isinstance(value, BulkRef):
        data = bulk[value.offset:value.offset + value.length]
        reference = {}
        if value.codec is not None:
            data = decompress(value.codec, data, value.raw_length)
        reference["hex"] = data.hex()
        if value.codec is not None:
            reference["codec"] = value.codec
        return {"$bulk": reference}
    if isinstance(value, float):
        if math.isnan(value):
            return {"$float": "nan"}
        if math.isinf(value):
            return {"$float": "inf" if value > 0 else "-inf"}
        return value
    if isinstance(value, bytes):
        return {"$bin": value.hex()}
    if isinstance(value, list):
        return [resolve(element, bulk) for element in value]
    if isinstance(value, dict):
        return {key: resolve(element, bulk) for key, element in value.items()}
    return value


def decode_frame(data, limits, codecs):
    """Return (decoded head, head bytes) or raise Rejected, in a streaming receiver's order."""
    if len(data) < 16:
        raise Rejected("truncated", "incomplete frame header")
    if data[:2] != b"SB" or data[2] != 1:
        raise Rejected("malformed_frame", "bad magic or format")
    head_length, bulk_length = struct.unpack(">IQ", data[4:16])
    if head_length > limits["max_head"]:
        raise Rejected("frame_too_large", "head over max_head")
    if 16 + head_length + bulk_length > limits["max_frame"]:
        raise Rejected("frame_too_large", "frame over max_frame")
    if head_length == 0:
        raise Rejected("invalid_message", "empty head")
    if len(data) < 16 + head_length:
        raise Rejected("truncated", "incomplete head")
    head_bytes = data[16:16 + head_length]
    head = decode_head(head_bytes, bulk_length, limits, codecs)
    end = 16 + head_length + bulk_length
    if len(data) < end:
        raise Rejected("truncated", "incomplete bulk")
    if len(data) != end:
        raise AssertionError("hex holds more than one frame")
    return resolve(head, data[16 + head_length:]), head_bytes


# ---------------------------------------------------------------------------------------------
# Cross-checks with the msgpack library
# ---------------------------------------------------------------------------------------------

def library_decode(head_bytes):
    """The head decoded by the msgpack library, references shown as (offset, length, ...)."""
    def pairs(items):
        keys = [key for key, _ in items]
        assert len(keys) == len(set(keys)), "library saw duplicate keys"
        return dict(items)

    def ext_hook(code, body):
        layout = {16: ">QQ", 20: ">IQQ", 25: ">QQBQ"}[len(body)]
        return ("ref", code) + tuple(struct.unpack(layout, body))
    return msgpack.unpackb(head_bytes, raw=False, object_pairs_hook=pairs, ext_hook=ext_hook,
                           strict_map_key=True, use_list=True)


def shape(value):
    """A comparable skeleton of a decoded value: references and binary reduced to a tag."""
    if isinstance(value, dict):
        if set(value) == {"$bulk"}:
            return "ref"
        if set(value) == {"$bin"}:
            return ("bin", value["$bin"])
        if set(value) == {"$float"}:
            return ("float", value["$float"])
        return {key: shape(element) for key, element in value.items()}
    if isinstance(value, tuple) and value[:1] == ("ref",):
        return "ref"
    if isinstance(value, bytes):
        return ("bin", value.hex())
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return ("float", "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf"))
    if isinstance(value, list):
        return [shape(element) for element in value]
    return (type(value).__name__, value)


def canonical_bytes(decoded):
    """Re-encode a decoded head by protocol.md section 12 using the msgpack library."""
    bulk = bytearray()

    def convert(value):
        if isinstance(value, dict):
            if set(value) == {"$bulk"}:
                raw = bytes.fromhex(value["$bulk"]["hex"])
                bulk.extend(bytes(-len(bulk) % 8))
                offset = len(bulk)
                bulk.extend(raw)
                return msgpack.ExtType(1, struct.pack(">QQ", offset, len(raw)))
            if set(value) == {"$bin"}:
                return bytes.fromhex(value["$bin"])
            if set(value) == {"$float"}:
                return float(value["$float"])
            return {key: convert(element) for key, element in value.items()}
        if isinstance(value, list):
            return [convert(element) for element in value]
        return value

    head = msgpack.packb(convert(decoded), use_bin_type=True)
    return b"SB\x01\x00" + struct.pack(">IQ", len(head), len(bulk)) + head + bytes(bulk)


# ---------------------------------------------------------------------------------------------
# Checks of one vector
# ---------------------------------------------------------------------------------------------

def dumps(value):
    return json.dumps(value, sort_keys=False, ensure_ascii=False)


def resolve_path(document, path):
    for step in path:
        document = document[step]
    return document


def check_typed_values(vector):
    for expectation in vector.get("typed_values", []):
        array = resolve_path(vector["decoded"], expectation["path"])
        assert array["dtype"] == expectation["dtype"], "typed_values dtype"
        assert array.get("components", 1) == expectation["components"], "typed_values components"
        assert array.get("byte_order", "little") == expectation["byte_order"], "byte_order"
        raw = bytes.fromhex(array["data"]["$bulk"]["hex"])
        code = DTYPE_FORMATS[expectation["dtype"]]
        order = "<" if expectation["byte_order"] == "little" else ">"
        count = len(raw) // struct.calcsize(code)
        values = list(struct.unpack(order + code * count, raw))
        assert dumps(values) == dumps(expectation["values"]), "typed_values differ from the bulk"


def check_geometry(vector):
    """Oblique/LPS images, series and transforms: RAS matrices follow [IMG-5], [SER-5], [XFM-1]."""
    if "data_path" not in vector:
        return
    value = resolve_path(vector["decoded"], vector["data_path"])
    sign = [-1.0, -1.0, 1.0, 1.0]
    if "ijk_to_ras" in vector:
        matrix = value["ijk_to_space"]
        if value["space"] == "LPS":
            matrix = [matrix[i] * sign[i // 4] for i in range(16)]
        assert matrix == vector["ijk_to_ras"], "ijk_to_ras does not follow [IMG-5]"
    if "volumes_ijk_to_ras" in vector:
        matrices = [volume["ijk_to_space"] for volume in value["volumes"]]
        if value["space"] == "LPS":
            matrices = [[m[i] * sign[i // 4] for i in range(16)] for m in matrices]
        assert matrices == vector["volumes_ijk_to_ras"], "volumes do not follow [SER-5]"
    if "matrix_ras" in vector:
        matrix = value["matrix"]
        if value["space"] == "LPS":
            matrix = [matrix[i] * sign[i // 4] * sign[i % 4] for i in range(16)]
        assert matrix == vector["matrix_ras"], "matrix_ras does not follow [XFM-1]"


CALL_EVENTS = {"reserve", "start", "send_failed", "response", "progress", "cancel_requested", "give_up",
               "connection_lost"}
CALL_ACTIONS = {"send_request", "hold_request", "arm_timer", "disarm_timer", "send_cancel",
                "deliver_progress", "complete", "report"}


def limit_defaults(model):
    """The default of every limit of section 7, from spec/model.json."""
    return {limit["name"]: limit["default"] for limit in model["limits"]}


def check_call_table_case(vector, model, known_ids, known_errors):
    """client_call_table.json: well-formed steps whose actions are consistent with the calls
    the events opened (a call completes at most once per start, nothing acts on an id that was
    never started, every error is a spec error or the connection's own) and with [LIMIT-13]:
    never more invokes sent and not ended than `max_in_flight` (default 64), a call held only
    when that many are, nothing sent for a held call until it is released."""
    assert {"id", "description", "class", "requirements", "cancel_in_force", "steps"} <= set(vector)
    assert vector["class"] == "decision", "call table cases have class decision"
    unknown = set(vector["requirements"]) - known_ids
    assert not unknown, f"requirement ids not in protocol.md: {sorted(unknown)}"
    max_in_flight = vector.get("max_in_flight", limit_defaults(model)["max_in_flight"])
    started, completed_once = set(), []
    invokes, goodbyes, open_invokes, held, live = set(), set(), set(), set(), set()
    for step in vector["steps"]:
        event, actions = step["event"], step["actions"]
        assert event["event"] in CALL_EVENTS, f"unknown event {event['event']}"
        # A start under an id open or held is refused [MSG-1]: its completion is not that call's.
        refused = event["id"] if event["event"] == "start" and event["id"] in live else None
        if event["event"] == "start" and refused is None:
            started.add(event["id"])
            invokes.discard(event["id"])
            goodbyes.discard(event["id"])
            if event["method"] == "invoke":
                invokes.add(event["id"])
            if event["method"] == "goodbye":
                goodbyes.add(event["id"])
        # A call ends with the event that completes it, before the step's other actions.
        ended = {action["id"] for action in actions
                 if action["action"] == "complete" and action["id"] != refused}
        open_invokes -= ended
        live -= ended
        for action in actions:
            assert action["action"] in CALL_ACTIONS, f"unknown action {action['action']}"
            if action["action"] == "report":
                assert action["requirement"] in known_ids, f"unknown id {action['requirement']}"
                continue
            call = action["id"]
            assert call in started, f"action on call {call} never started"
            if action["action"] == "hold_request" and call in goodbyes:
                assert held, "a goodbye held with no call held before it [LIMIT-13]"
                held.add(call)
            elif action["action"] == "hold_request":
                assert call in invokes, "only invokes and goodbye are held [LIMIT-13]"
                assert len(open_invokes) >= max_in_flight, "held below max_in_flight [LIMIT-13]"
                held.add(call)
            if action["action"] == "send_request" and call in goodbyes:
                assert not held - {call}, "goodbye sent before a held call [BYE-1]"
            if action["action"] in ("send_request", "hold_request"):
                live.add(call)
            if action["action"] == "send_request":
                held.discard(call)
                if call in invokes:
                    open_invokes.add(call)
                    assert len(open_invokes) <= max_in_flight, "over max_in_flight [LIMIT-13]"
            if action["action"] in ("send_cancel", "disarm_timer", "deliver_progress"):
                assert call not in held or action["action"] == "disarm_timer", \
                    f"{action['action']} for a held call"
            if action["action"] == "complete":
                error = action["error"]
                assert error is None or error in known_errors or error == "connection_lost", \
                    f"unknown error {error}"
                completed_once.append(call)
                if call != refused:
                    held.discard(call)
            if action["action"] == "send_cancel":
                assert vector["cancel_in_force"], "cancel sent while not in force [CANCEL-5]"
    starts = sum(1 for step in vector["steps"] if step["event"]["event"] == "start")
    assert len(completed_once) <= starts, "more completions than calls"


def check_vector(file_name, vector, model, known_ids, known_errors, verbose):
    if file_name == "client_call_table.json":
        return check_call_table_case(vector, model, known_ids, known_errors)
    limits = dict(limit_defaults(model), **vector.get("limits", {}))
    codecs = vector.get("codecs", [])
    required = {"id", "description", "class", "requirements", "hex"}
    assert required <= set(vector), f"missing keys {required - set(vector)}"
    assert vector["hex"] == vector["hex"].lower(), "hex must be lowercase"
    assert vector["requirements"], "no requirement ids"
    unknown = set(vector["requirements"]) - known_ids
    assert not unknown, f"requirement ids not in protocol.md: {sorted(unknown)}"
    data = bytes.fromhex(vector["hex"])
    semantic_file = file_name in ("messages_invalid.json", "data_invalid.json")

    try:
        if file_name == "descriptors.json":
            decoded, head_bytes = check_descriptor_frame(data, limits, vector)
        else:
            decoded, head_bytes = decode_frame(data, limits, codecs)
        outcome = None
    except Rejected as rejection:
        outcome = rejection.error
        decoded = None

    if vector["class"] == "accept" or semantic_file:
        assert outcome is None, f"the codec rejects it with {outcome}"
        assert "error" not in vector or semantic_file, "accept vector with an error"
        assert dumps(decoded) == dumps(vector["decoded"]), "decoded differs"
        assert dumps(shape(library_decode(head_bytes))) == dumps(shape(decoded)), \
            "the msgpack library decodes the head differently"
        reencoded = canonical_bytes(decoded)
        if vector["class"] == "accept":
            assert (reencoded == data) == vector["canonical"], \
                f"canonical is {vector['canonical']} but re-encoding " \
                f"{'reproduces' if reencoded == data else 'differs'}"
            assert not vector.get("truncated"), "an accept vector cannot be truncated"
            check_typed_values(vector)
            check_geometry(vector)
    if vector["class"] == "reject":
        assert vector["error"] in known_errors, f"unknown error name {vector['error']}"
        assert "canonical" not in vector, "reject vector with canonical"
        assert vector.get("truncated", False) == (vector["error"] == "truncated"), \
            "truncated flag and error disagree"
        if not semantic_file:
            assert outcome == vector["error"], f"expected {vector['error']}, got {outcome}"
            assert "decoded" not in vector, "codec-level reject vector with decoded"
    if file_name == "catalog.json":
        check_catalog(vector, model, verbose)
    if file_name in ("handshake.json", "messages.json", "data.json", "messages_invalid.json",
                     "data_invalid.json", "catalog.json"):
        expected = semantics.expected_outcome(model, vector["decoded"], vector)
        if vector["class"] == "accept":
            assert expected is None, f"semantically invalid: {expected}"
        else:
            error, response_id, reason = expected
            assert error == vector["error"], f"semantics say {error} ({reason})"
            if "response_id" in vector:
                assert response_id == vector["response_id"], \
                    f"response id {response_id}, vector says {vector['response_id']}"
            if verbose:
                print(f"    {vector['id']}: {error} because {reason}")


def check_catalog(vector, model, verbose):
    """[CAT-12]: the processors kept and dropped (with the rule each breaks) are what the rules
    of section 10 in semantics.py give, and each dropped description breaks exactly one rule."""
    assert vector["result_of"] == "catalog" and vector["receiver"] == "client", "catalog vector"
    processors = vector["decoded"]["result"]["processors"]
    kept, dropped, reasons = semantics.catalog_verdict(model, processors)
    assert kept == vector["kept"], f"kept {kept}, vector says {vector['kept']}"
    assert dropped == vector["dropped"], f"dropped {dropped}, vector says {vector['dropped']}"
    for entry, found in zip(dropped, reasons):
        assert {requirement for requirement, _ in found} == {entry["requirement"]}, \
            f"description {entry['index']} breaks more than one rule: {found}"
        assert entry["requirement"] in vector["requirements"], "rule not in requirements"
        if verbose:
            print(f"    {vector['id']}: drops {entry['index']} because {found[0][1]}")


def spec_ids_and_errors():
    text = (SPEC_DIR / "protocol.md").read_text(encoding="utf-8")
    ids = set(re.findall(r"^- `\[([A-Z]+-\d+)\]`", text, re.M))
    registry = text.split("\n## 8. Errors", 1)[1].split("\n- `[ERR-1]`", 1)[0]
    errors = set(re.findall(r"^\|\s*\d+\s*\|\s*`([a-z_]+)`", registry, re.M))
    return ids, errors | PSEUDO_ERRORS


def main(argv):
    verbose = "-v" in argv
    known_ids, known_errors = spec_ids_and_errors()
    model = json.loads((SPEC_DIR / "model.json").read_text(encoding="utf-8"))
    failures, total, seen = 0, 0, set()
    for file_name in FILES:
        document = json.loads((VECTOR_DIR / file_name).read_text(encoding="utf-8"))
        assert document["spec_version"] == "1.0", f"{file_name}: spec_version"
        for vector in document["vectors"]:
            total += 1
            try:
                assert vector["id"] not in seen, "duplicate id across files"
                seen.add(vector["id"])
                check_vector(file_name, vector, model, known_ids, known_errors, verbose)
            except (AssertionError, KeyError, TypeError, ValueError) as problem:
                failures += 1
                print(f"FAIL {file_name} {vector.get('id')}: {problem!r}")
        if verbose:
            print(f"{file_name}: {len(document['vectors'])} vectors")
    print(f"{total - failures}/{total} vectors pass")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
