#!/usr/bin/env python3
"""Write the golden vectors of SlicerBridge protocol 1.0 into spec/vectors/*.json.

This script is an independent oracle: it builds frames with the spec's MessagePack writer
(spec/tools/msgpack_writer.py, protocol.md sections 2, 3 and 12), which the conformance suite
uses too, and imports nothing from the project's implementations. It needs
only the standard library, `msgpack`, `zstandard` and `lz4.frame`; run it with /usr/bin/python3.
The output is deterministic for given versions of the compression libraries. The committed JSON
files are authoritative: vectors are kept forever ([VER-6]), and check.py verifies them.
"""

import itertools
import json
import math
import struct
import sys
from pathlib import Path

import lz4.frame
import zstandard

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
import msgpack_writer  # noqa: E402  (spec/tools/msgpack_writer.py, stdlib only)

SPEC_VERSION = "1.0"
OUT_DIR = Path(__file__).resolve().parent
CODEC_IDS = {"zstd": 1, "lz4": 2}
U64_MAX = 2**64 - 1
I64_MAX = 2**63 - 1
MiB = 1024 * 1024
DEFAULT_MAX_DEPTH = 32

# dtype -> (struct format character, size in bytes), protocol.md section 3.3
DTYPES = {
    "int8": ("b", 1), "uint8": ("B", 1), "int16": ("h", 2), "uint16": ("H", 2),
    "int32": ("i", 4), "uint32": ("I", 4), "int64": ("q", 8), "uint64": ("Q", 8),
    "float32": ("f", 4), "float64": ("d", 8),
}


# --------------------------------------------------------------------------------------------
# Head values that plain Python values cannot express
# --------------------------------------------------------------------------------------------

class Bulk:
    """A bulk segment, placed by the canonical layout [CANON-6] when the head is encoded."""

    def __init__(self, raw, codec=None, stored=None):
        self.raw = bytes(raw)
        self.codec = codec
        self.stored = stored if stored is not None else compress(self.raw, codec)


class Ref:
    """A bulk reference with explicit fields, for non-canonical layouts and malformed frames.

    `raw` is what the reference decodes to (for `decoded`); `ext` replaces the whole encoding.
    """

    def __init__(self, offset, length, raw=b"", codec=None, codec_id=None, raw_length=None,
                 ext=None):
        self.raw = bytes(raw)
        self.codec = codec
        if ext is not None:
            self.encoded = ext
        elif codec is None and codec_id is None:
            self.encoded = b"\xd8\x01" + struct.pack(">QQ", offset, length)
        else:
            codec_byte = codec_id if codec_id is not None else CODEC_IDS[codec]
            declared = raw_length if raw_length is not None else len(self.raw)
            self.encoded = b"\xc7\x19\x01" + struct.pack(">QQBQ", offset, length, codec_byte,
                                                         declared)


class TypedArray(dict):
    """A typed array map (or a map that embeds one, like an image) and the values it holds."""

    def __init__(self, items, expectation):
        super().__init__(items)
        self.expectation = expectation


class Encoded:
    """Pre-encoded MessagePack bytes that decode to `value` (non-minimal encodings)."""

    def __init__(self, data, value):
        self.data = bytes(data)
        self.value = value


def compress(raw, codec):
    if codec is None:
        return raw
    if codec == "zstd":
        return zstandard.ZstdCompressor(level=3).compress(raw)
    if codec == "lz4":
        return lz4.frame.compress(raw)
    raise ValueError(codec)


# --------------------------------------------------------------------------------------------
# Canonical MessagePack ([CANON-2] .. [CANON-7]): spec/tools/msgpack_writer.py, with the bulk
# layout of [CANON-6] here
# --------------------------------------------------------------------------------------------

def pack(value, out, bulk):
    def frame_values(item, out):
        if isinstance(item, Encoded):
            out += item.data
        elif isinstance(item, Bulk):
            bulk.extend(bytes(-len(bulk) % 8))
            offset = len(bulk)
            bulk.extend(item.stored)
            out += Ref(offset, len(item.stored), item.raw, item.codec).encoded
        elif isinstance(item, Ref):
            out += item.encoded
        else:
            return False
        return True

    msgpack_writer.pack(value, out, frame_values)


def encode_head(head):
    out, bulk = bytearray(), bytearray()
    pack(head, out, bulk)
    return bytes(out), bytes(bulk)


def frame(head=None, *, head_bytes=None, bulk=None, extra_bulk=b"", flags=0, magic=b"SB",
          fmt=1, head_length=None, bulk_length=None):
    """Frame header + head + bulk. Explicit arguments override what the head implies."""
    if head_bytes is None:
        head_bytes, canonical_bulk = encode_head(head)
        if bulk is None:
            bulk = canonical_bulk
    bulk = (bulk or b"") + extra_bulk
    declared_head = len(head_bytes) if head_length is None else head_length
    declared_bulk = len(bulk) if bulk_length is None else bulk_length
    header = magic + bytes([fmt, flags]) + struct.pack(">IQ", declared_head, declared_bulk)
    return header + head_bytes + bulk


def to_json(value):
    """The `decoded` convention of spec/vectors/README.md."""
    if isinstance(value, Encoded):
        return to_json(value.value)
    if isinstance(value, (Bulk, Ref)):
        reference = {"hex": value.raw.hex()}
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
        return [to_json(element) for element in value]
    if isinstance(value, dict):
        return {to_json(key): to_json(element) for key, element in value.items()}
    return value


# --------------------------------------------------------------------------------------------
# Typed arrays and data values (protocol.md sections 3.3 and 11)
# --------------------------------------------------------------------------------------------

def typed_bytes(dtype, values, byte_order="little"):
    code, _ = DTYPES[dtype]
    return struct.pack(("<" if byte_order == "little" else ">") + code * len(values), *values)


def typed_array(dtype, values, components=1, byte_order=None, codec=None, name=None,
                explicit_components=True, leading=()):
    """A typed array map; `leading` are (key, value) pairs placed before its own keys."""
    items = list(leading) + ([] if name is None else [("name", name)]) + [("dtype", dtype)]
    if components != 1 or explicit_components:
        items.append(("components", components))
    if byte_order is not None:
        items.append(("byte_order", byte_order))
    items.append(("data", Bulk(typed_bytes(dtype, values, byte_order or "little"), codec)))
    return TypedArray(items, {"dtype": dtype, "components": components,
                              "byte_order": byte_order or "little", "values": list(values)})


def typed_value_paths(value, path=()):
    """(path, expectation) of every TypedArray in the head, in walk order."""
    found = []
    if isinstance(value, dict):
        if isinstance(value, TypedArray):
            found.append({"path": list(path), **value.expectation})
        for key, element in value.items():
            found += typed_value_paths(element, path + (key,))
    elif isinstance(value, list):
        for index, element in enumerate(value):
            found += typed_value_paths(element, path + (index,))
    return found


def matmul(a, b):
    return [[sum(a[r][k] * b[k][c] for k in range(len(b))) for c in range(len(b[0]))]
            for r in range(len(a))]


def rotation(axis, degrees):
    c, s = math.cos(math.radians(degrees)), math.sin(math.radians(degrees))
    i, j = {"x": (1, 2), "y": (2, 0), "z": (0, 1)}[axis]
    m = [[1.0 if r == col else 0.0 for col in range(3)] for r in range(3)]
    m[i][i], m[i][j], m[j][i], m[j][j] = c, -s, s, c
    return m


def affine(linear, translation):
    rows = [list(linear[r]) + [translation[r]] for r in range(3)]
    return [value for row in rows + [[0.0, 0.0, 0.0, 1.0]] for value in row]


def flip_xy(matrix):
    """diag(-1, -1, 1, 1) * M for a row-major 4x4 ([IMG-5])."""
    return [-v if index < 8 else v for index, v in enumerate(matrix)]


def flip_xy_both(matrix):
    """F * T * F with F = diag(-1, -1, 1, 1) ([XFM-1])."""
    sign = [-1.0, -1.0, 1.0, 1.0]
    return [matrix[4 * r + c] * sign[r] * sign[c] for r in range(4) for c in range(4)]


OBLIQUE_LINEAR = matmul(matmul(rotation("z", 30.0), rotation("x", 20.0)), rotation("y", 10.0))
OBLIQUE_SPACING = (0.5, 0.75, 2.0)
OBLIQUE_RAS = affine([[OBLIQUE_LINEAR[r][c] * OBLIQUE_SPACING[c] for c in range(3)]
                      for r in range(3)], (-10.25, 20.5, 5.0))
AXIS_ALIGNED_RAS = affine([[1.25, 0.0, 0.0], [0.0, 1.25, 0.0], [0.0, 0.0, 3.0]],
                          (-50.0, -60.0, 12.5))

DTYPE_SAMPLES = {
    "int8": [-128, -1, 0, 127],
    "uint8": [0, 1, 128, 255],
    "int16": [-32768, -2, 3, 32767],
    "uint16": [0, 1, 256, 65535],
    "int32": [-2**31, -3, 4, 2**31 - 1],
    "uint32": [0, 1, 65536, 2**32 - 1],
    "int64": [-2**63, -5, 6, 2**63 - 1],
    "uint64": [0, 1, 2**32, 2**64 - 1],
    "float32": [-1.5, 0.0, 0.25, 3.4028234663852886e38],
    "float64": [-2.5, 0.0, 1e-300, 1.7976931348623157e308],
}


def image(dims, dtype, values, *, ijk_to_space=None, space="RAS", kind="scalar", components=1,
          byte_order=None, codec=None, segments=None, explicit_components=True):
    value = typed_array(dtype, values, components, byte_order, codec,
                        explicit_components=explicit_components,
                        leading=(("type", "image"), ("dims", list(dims))))
    value["ijk_to_space"] = list(ijk_to_space or AXIS_ALIGNED_RAS)
    value["space"] = space
    value["kind"] = kind
    if segments is not None:
        value["segments"] = segments
    return value


def image_series(dims, dtype, values, axis, volumes, *, space="RAS", kind="scalar",
                 components=1, byte_order=None, segments=None):
    """An image_series ([SER-1]); `volumes` are (ijk_to_space, value[, gradient]) tuples."""
    value = typed_array(dtype, values, components, byte_order,
                        leading=(("type", "image_series"), ("dims", list(dims))))
    value["space"] = space
    value["kind"] = kind
    if segments is not None:
        value["segments"] = segments
    value["axis"] = axis
    value["volumes"] = []
    for volume in volumes:
        entry = {"ijk_to_space": list(volume[0]), "value": float(volume[1])}
        if len(volume) > 2:
            entry["gradient"] = [float(g) for g in volume[2]]
        value["volumes"].append(entry)
    return value


def cell_array(offsets, connectivity):
    return {"offsets": typed_array("int64", offsets), "connectivity": typed_array("int64",
                                                                                  connectivity)}


MESH_POINTS = [0.0, 0.0, 0.0, 10.0, 0.0, 0.0, 10.0, 10.0, 0.0, 0.0, 10.0, 0.0,
               0.0, 0.0, 10.0, 10.0, 0.0, 10.0]


def full_mesh():
    return {
        "type": "mesh",
        "space": "RAS",
        "points": typed_array("float32", MESH_POINTS, 3),
        "verts": cell_array([0, 1], [0]),
        "lines": cell_array([0, 2], [0, 1]),
        "polys": cell_array([0, 3, 6], [0, 1, 2, 2, 3, 0]),
        "strips": cell_array([0, 4], [2, 3, 4, 5]),
        "point_data": [
            typed_array("float32", [0.5, 1.5, 2.5, 3.5, 4.5, 5.5], name="thickness"),
            typed_array("float64", [0.0, 0.0, 1.0] * 6, 3, name="normals"),
        ],
        "cell_data": [typed_array("int32", [10, 20, 30, 31, 40], name="region")],
    }


def request(request_id, method, params=None):
    head = {"kind": "request", "id": request_id, "method": method}
    if params is not None:
        head["params"] = params
    return head


def invoke(request_id, inputs, parameters=None, processor="vectors.echo", deadline=None):
    params = {"processor": processor, "inputs": inputs, "parameters": parameters or {}}
    if deadline is not None:
        params["deadline"] = deadline
    return request(request_id, "invoke", params)


def response(response_id, result=None, error=None, timings=None):
    head = {"kind": "response", "id": response_id}
    if error is None:
        head["result"] = result
    else:
        head["error"] = error
    if timings is not None:
        head["timings"] = timings
    return head


TIMINGS = {"receiving": 0.0015, "queued": 0.0, "computing": 1.25, "sending": 0.0005}


# --------------------------------------------------------------------------------------------
# Vector files
# --------------------------------------------------------------------------------------------

def dump_json(value, indent=0):
    """JSON indented by two spaces, with short containers and lists of scalars on one line."""
    compact = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(", ", ": "))
    scalars_only = isinstance(value, list) and not any(isinstance(v, (dict, list)) for v in value)
    if not isinstance(value, (dict, list)) or scalars_only or len(compact) + 2 * indent <= 100:
        return compact
    inner = "  " * (indent + 1)
    if isinstance(value, dict):
        items = [f"{inner}{json.dumps(key, ensure_ascii=False)}: {dump_json(item, indent + 1)}"
                 for key, item in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + "  " * indent + "}"
    items = [inner + dump_json(item, indent + 1) for item in value]
    return "[\n" + ",\n".join(items) + "\n" + "  " * indent + "]"


class VectorFile:
    def __init__(self, name, description):
        self.name = name
        self.description = description
        self.vectors = []

    def add(self, entry):
        self.vectors.append(entry)

    def accept(self, vector_id, description, requirements, head, *, canonical=True, codecs=None,
               limits=None, extra=None, **frame_args):
        entry = {"id": vector_id, "description": description, "class": "accept",
                 "requirements": requirements}
        if limits is not None:
            entry["limits"] = limits
        if codecs is not None:
            entry["codecs"] = codecs
        entry["hex"] = frame(head, **frame_args).hex()
        entry["decoded"] = to_json(head)
        entry["canonical"] = canonical
        typed = typed_value_paths(head)
        if typed:
            entry["typed_values"] = typed
        entry.update(extra or {})
        self.add(entry)

    def reject(self, vector_id, description, requirements, error, data, *, limits=None,
               codecs=None, truncated=False, decoded=None, extra=None):
        entry = {"id": vector_id, "description": description, "class": "reject",
                 "requirements": requirements}
        if limits is not None:
            entry["limits"] = limits
        if codecs is not None:
            entry["codecs"] = codecs
        entry["hex"] = data.hex()
        if decoded is not None:
            entry["decoded"] = decoded
        entry["error"] = error
        if truncated:
            entry["truncated"] = True
        entry.update(extra or {})
        self.add(entry)

    def write(self):
        ids = [vector["id"] for vector in self.vectors]
        if len(ids) != len(set(ids)):
            raise SystemExit(f"{self.name}: duplicate vector ids")
        document = {"spec_version": SPEC_VERSION, "description": self.description,
                    "vectors": self.vectors}
        (OUT_DIR / self.name).write_text(dump_json(document) + "\n", encoding="utf-8")
        return len(self.vectors)


def ping_head(request_id=1, **extra):
    head = request(request_id, "ping")
    head.update(extra)
    return head


def nested_arrays(depth):
    """An array nested `depth` levels deep, innermost empty (depth as in [HEAD-5])."""
    value = []
    for _ in range(depth - 1):
        value = [value]
    return value


# --------------------------------------------------------------------------------------------
# frames.json: framing and the MessagePack/bulk layer, must-accept
# --------------------------------------------------------------------------------------------

def frames_file():
    f = VectorFile("frames.json", "Framing, head encoding and bulk layout: frames every receiver "
                   "MUST accept, with their decoded heads.")
    f.accept("frame-ping-request", "The worked example of protocol.md section 2.1: a ping request "
             "without params and without bulk.",
             ["FRAME-1", "FRAME-4", "HEAD-1", "CANON-2", "CANON-4", "CANON-8"], ping_head())
    f.accept("frame-flags-nonzero", "Reserved flags set: the receiver ignores them.",
             ["FRAME-2", "CANON-8"], ping_head(2), flags=0xA5, canonical=False)
    f.accept("frame-nonminimal-uint32-id", "The id 5 written as uint 32.", ["HEAD-3", "HEAD-4"],
             {"kind": "request", "id": Encoded(b"\xce\x00\x00\x00\x05", 5), "method": "ping"},
             canonical=False)
    f.accept("frame-nonminimal-signed-id", "The non-negative id 7 written as int 64.",
             ["HEAD-3", "HEAD-4", "CANON-2"],
             {"kind": "request", "id": Encoded(b"\xd3" + struct.pack(">q", 7), 7),
              "method": "ping"}, canonical=False)
    f.accept("frame-nonminimal-str16", "The method name written as str 16, a key as str 8.",
             ["HEAD-3", "CANON-4"],
             {Encoded(b"\xd9\x04kind", "kind"): "request", "id": 3,
              "method": Encoded(b"\xda\x00\x04ping", "ping")}, canonical=False)
    f.accept("frame-nonminimal-map32", "The head map written as map 32, an array as array 16.",
             ["HEAD-3", "CANON-4"],
             Encoded(b"\xdf\x00\x00\x00\x04" + encode_head("kind")[0] + encode_head("request")[0]
                     + encode_head("id")[0] + b"\x04" + encode_head("method")[0]
                     + encode_head("ping")[0] + encode_head("x-list")[0] + b"\xdc\x00\x02\x01\x02",
                     {"kind": "request", "id": 4, "method": "ping", "x-list": [1, 2]}),
             canonical=False)
    f.accept("frame-float32-fraction", "A progress fraction written as float 32.",
             ["HEAD-3", "CANON-3"],
             {"kind": "notification", "method": "progress",
              "params": {"id": 9, "fraction": Encoded(b"\xca" + struct.pack(">f", 0.75), 0.75)}},
             canonical=False)
    f.accept("frame-integer-for-float", "A progress fraction written as an integer.",
             ["HEAD-3"], {"kind": "notification", "method": "progress",
                          "params": {"id": 9, "fraction": 1}})
    boundaries = [0, 127, 128, 255, 256, 65535, 65536, 2**32 - 1, 2**32, U64_MAX,
                  -1, -32, -33, -128, -129, -32768, -32769, -2**31, -2**31 - 1, -2**63]
    f.accept("frame-integer-formats", "Integers at every format boundary, canonically encoded.",
             ["CANON-2", "HEAD-4"], ping_head(10, **{"x-integers": boundaries}))
    f.accept("frame-float-values", "float 64 values: zeros, extremes, subnormal and non-finite.",
             ["CANON-3"], ping_head(11, **{"x-floats": [0.0, -0.0, 1.5, -1e300, 5e-324,
                                                       float("nan"), float("inf"),
                                                       float("-inf")]}))
    f.accept("frame-string-formats", "Strings at the fixstr/str 8/str 16 boundaries, empty and "
             "multi-byte UTF-8.", ["CANON-4", "HEAD-9"],
             ping_head(12, **{"x-strings": ["", "a" * 31, "b" * 32, "c" * 255, "d" * 256,
                                           "Größe ÄÖÜ µm 𝔼"]}))
    f.accept("frame-binary-formats", "Binary values in bin 8 and bin 16.", ["CANON-4"],
             ping_head(13, **{"x-binary": [b"", bytes(range(16)), bytes(256)]}))
    f.accept("frame-container-formats", "An array of 16 elements (array 16) and a map of 16 "
             "entries (map 16).", ["CANON-4"],
             ping_head(14, **{"x-array": list(range(16)),
                              "x-map": {f"k{n:02d}": n for n in range(16)}}))
    f.accept("frame-map-order-kept", "Map entries in a non-alphabetical order: decoders keep it "
             "and canonical re-encoding reproduces it.", ["CANON-5"],
             {"method": "ping", "id": 15, "kind": "request", "params": {"z": 1, "a": 2}})
    f.accept("frame-nil-bool-values", "nil, true and false in an extension key.", ["HEAD-2"],
             ping_head(16, **{"x-values": [None, True, False]}))
    f.accept("frame-unknown-fields", "Unknown keys at every level are accepted and kept by the "
             "codec (ignored by the semantics).", ["HEAD-2"],
             {"kind": "request", "id": 17, "method": "describe", "priority": "high",
              "params": {"processor": "vectors.echo", "verbose": True}})
    f.accept("frame-extension-keys", "Private x- keys with nested values.", ["HEAD-2"],
             ping_head(18, **{"x-trace": {"span": "a1b2", "parent": None},
                              "x-tags": ["fast"]}))
    f.accept("frame-depth-at-limit", "Head nesting depth exactly 32 (the default max_depth).",
             ["HEAD-5"], ping_head(19, **{"x-deep": nested_arrays(DEFAULT_MAX_DEPTH - 1)}))
    f.accept("frame-depth-custom-limit", "Depth 4 with a receiver limit of 4.", ["HEAD-5"],
             ping_head(20, **{"x-deep": nested_arrays(3)}), limits={"max_depth": 4})
    at_limit = frame(ping_head(21))
    f.accept("frame-size-at-max-frame", "A frame exactly as large as the receiver's max_frame.",
             ["FRAME-3", "LIMIT-1"], ping_head(21), limits={"max_frame": len(at_limit)})
    f.accept("frame-head-at-max-head", "A head exactly as large as the receiver's max_head.",
             ["FRAME-3", "LIMIT-1"], ping_head(22),
             limits={"max_head": len(encode_head(ping_head(22))[0])})

    # Bulk layout ([BULK-*], [CANON-6], [CANON-7])
    f.accept("frame-bulk-canonical-layout", "Three segments of 3, 8 and 5 bytes at offsets 0, 8 "
             "and 16, zero padding, bulk_length 21.", ["BULK-1", "BULK-2", "CANON-6", "CANON-7"],
             ping_head(30, **{"x-segments": [Bulk(b"abc"), Bulk(bytes(range(8))),
                                             Bulk(b"\xff" * 5)]}))
    f.accept("frame-bulk-zero-length-segment", "A zero-length segment after a 3-byte one: "
             "offset 8, bulk_length 8.", ["BULK-3", "CANON-6"],
             ping_head(31, **{"x-segments": [Bulk(b"xyz"), Bulk(b"")]}))
    f.accept("frame-bulk-only-empty-segment", "A single zero-length segment: offset 0, "
             "bulk_length 0.", ["BULK-1", "CANON-6"], ping_head(32, **{"x-segment": Bulk(b"")}))
    f.accept("frame-bulk-unaligned", "Segments at offsets 0 and 3, not aligned: receivers MUST "
             "NOT require alignment.", ["BULK-2"],
             ping_head(33, **{"x-segments": [Ref(0, 3, b"abc"), Ref(3, 4, b"defg")]}),
             bulk=b"abcdefg", canonical=False)
    f.accept("frame-bulk-reverse-order", "The second reference's bytes come first in the bulk.",
             ["BULK-3"], ping_head(34, **{"x-segments": [Ref(8, 2, b"AA"), Ref(0, 2, b"BB")]}),
             bulk=b"BB" + bytes(6) + b"AA", canonical=False)
    f.accept("frame-bulk-overlapping", "Two references to the same 4 bytes.", ["BULK-3"],
             ping_head(35, **{"x-segments": [Ref(0, 4, b"same"), Ref(0, 4, b"same")]}),
             bulk=b"same", canonical=False)
    f.accept("frame-bulk-trailing-bytes", "Bulk bytes after the last segment are ignored.",
             ["BULK-3"], ping_head(36, **{"x-segment": Bulk(b"data")}), extra_bulk=b"\0" * 12,
             canonical=False)
    f.accept("frame-bulk-nonzero-padding", "Padding between segments that is not zero.",
             ["BULK-3", "CANON-6"],
             ping_head(37, **{"x-segments": [Ref(0, 1, b"a"), Ref(8, 1, b"b")]}),
             bulk=b"a" + b"\xee" * 7 + b"b", canonical=False)
    f.accept("frame-bulk-unreferenced", "A bulk section that no reference covers.", ["BULK-3"],
             ping_head(38), bulk=b"\x01" * 8, canonical=False)
    f.accept("frame-bulk-ref-as-ext8", "An uncompressed reference written as ext 8 with length 16 "
             "instead of fixext 16.", ["HEAD-3", "BULK-4", "CANON-7"],
             ping_head(39, **{"x-segment": Ref(0, 4, b"wxyz", ext=b"\xc7\x10\x01"
                                              + struct.pack(">QQ", 0, 4))}),
             bulk=b"wxyz", canonical=False)
    compressible = bytes(range(64)) * 16
    f.accept("frame-bulk-zstd", "One zstd-compressed segment (zstd in force).",
             ["BULK-5", "CODEC-1", "CODEC-2", "CANON-9"],
             ping_head(40, **{"x-segment": Bulk(compressible, "zstd")}), codecs=["zstd"],
             canonical=False)
    f.accept("frame-bulk-lz4", "One lz4-compressed segment (lz4 in force).",
             ["BULK-5", "CODEC-1", "CODEC-2", "CANON-9"],
             ping_head(41, **{"x-segment": Bulk(compressible, "lz4")}), codecs=["lz4"],
             canonical=False)
    f.accept("frame-bulk-mixed-codecs", "A zstd, an uncompressed and an lz4 segment in one frame.",
             ["CODEC-2"], ping_head(42, **{"x-segments": [Bulk(compressible, "zstd"),
                                                         Bulk(b"plain"),
                                                         Bulk(compressible[::-1], "lz4")]}),
             codecs=["zstd", "lz4"], canonical=False)
    no_size = zstandard.ZstdCompressor(level=1, write_content_size=False).compress(compressible)
    f.accept("frame-bulk-zstd-without-content-size", "A zstd frame whose header omits the "
             "content size.", ["CODEC-4"],
             ping_head(43, **{"x-segment": Bulk(compressible, "zstd", stored=no_size)}),
             codecs=["zstd"], canonical=False)
    multi_block = lz4.frame.compress(bytes(70000), block_size=lz4.frame.BLOCKSIZE_MAX64KB,
                                     content_checksum=True, block_linked=False)
    f.accept("frame-bulk-lz4-blocks-checksum", "An lz4 frame of several 64 KiB blocks with a "
             "content checksum.", ["CODEC-4"],
             ping_head(44, **{"x-segment": Bulk(bytes(70000), "lz4", stored=multi_block)}),
             codecs=["lz4"], canonical=False)
    return f


# --------------------------------------------------------------------------------------------
# handshake.json
# --------------------------------------------------------------------------------------------

def handshake_file():
    f = VectorFile("handshake.json", "Hello messages of both roles and the connection-level "
                   "errors of the handshake. `sender` says which role sends the frame.")
    client_full = {
        "kind": "hello", "protocol": "slicerbridge", "min_version": [1, 0],
        "max_version": [1, 0],
        "capabilities": ["progress", "codec.zstd", "codec.lz4", "x-grease-7d3a"],
        "limits": {"max_frame": 2**32, "max_head": 16 * MiB, "max_depth": 32},
        "implementation": {"name": "slicerbridge-python", "version": "1.0.0"},
        "token": "Zm9yIHRlc3RzIG9ubHk",
    }
    f.accept("hello-client-full", "A client hello with every key, a grease capability and a "
             "token.", ["HELLO-1", "CAP-1", "CODEC-1", "LIMIT-4"], client_full,
             extra={"sender": "client"})
    f.accept("hello-client-minimal", "A client hello with only the required keys.",
             ["HELLO-1"], {"kind": "hello", "protocol": "slicerbridge", "min_version": [1, 0],
                           "max_version": [1, 0]}, extra={"sender": "client"})
    f.accept("hello-client-version-range", "A client that speaks 1.0 to 1.7; the server chooses "
             "1.0.", ["HELLO-3", "VER-1"],
             {"kind": "hello", "protocol": "slicerbridge", "min_version": [1, 0],
              "max_version": [1, 7], "capabilities": ["progress"]}, extra={"sender": "client"})
    f.accept("hello-client-future-fields", "A client hello with unknown keys, an unknown "
             "capability and an unknown limit key, all ignored.",
             ["HEAD-2", "CAP-1", "LIMIT-4", "VER-4"],
             {"kind": "hello", "protocol": "slicerbridge", "min_version": [1, 0],
              "max_version": [1, 3], "capabilities": ["progress", "streaming-results",
                                                      "x-grease-0"],
              "limits": {"max_frame": 65536, "max_chunk": 4096},
              "session": {"resume": "abc"}, "x-vendor": 1}, extra={"sender": "client"})
    server_full = {
        "kind": "hello", "protocol": "slicerbridge", "version": [1, 0],
        "capabilities": ["progress", "cancel", "codec.zstd", "x-grease-b1"],
        "limits": {"max_frame": 2**33, "max_head": 16 * MiB, "max_in_flight": 64,
                   "max_depth": 32, "cancel_grace": 5.0},
        "implementation": {"name": "slicerbridge-cpp", "version": "1.0.0"},
    }
    f.accept("hello-server-full", "A server hello with every key: capabilities in force "
             "(server-only cancel, one codec of the two offered, grease) and all limits.",
             ["HELLO-3", "CAP-4", "CODEC-1", "LIMIT-4"], server_full, extra={"sender": "server"})
    f.accept("hello-client-1.1", "A 1.1 client: it offers every minor version from 1.0 up to "
             "its own, so that a 1.0 server and it share 1.0.", ["HELLO-3", "VER-1"],
             {"kind": "hello", "protocol": "slicerbridge", "min_version": [1, 0],
              "max_version": [1, 1], "capabilities": ["progress"]}, extra={"sender": "client"})
    f.accept("hello-server-1.1", "A 1.1 server's hello choosing 1.1.", ["HELLO-3", "VER-1"],
             {"kind": "hello", "protocol": "slicerbridge", "version": [1, 1],
              "capabilities": ["cancel"]}, extra={"sender": "server"})
    f.accept("hello-server-minimal", "A server hello with only the required keys.",
             ["HELLO-3"], {"kind": "hello", "protocol": "slicerbridge", "version": [1, 0]},
             extra={"sender": "server"})
    f.accept("error-unsupported-version", "The server's connection-level unsupported_version, "
             "with its own version range in details.", ["HELLO-3", "MSG-14"],
             response(None, error={"code": 5, "message": "no common protocol version",
                                   "details": {"min_version": [1, 0], "max_version": [1, 0]}}),
             extra={"sender": "server"})
    f.accept("error-handshake-required", "The connection-level handshake_required.",
             ["HELLO-2"], response(None, error={"code": 4, "message": "hello expected"}),
             extra={"sender": "server"})
    f.accept("error-unauthorized", "The connection-level unauthorized; the details reveal "
             "nothing about the token.", ["SEC-3", "SEC-8", "ERR-3"],
             response(None, error={"code": 10, "message": "unauthorized"}),
             extra={"sender": "server"})
    return f


# --------------------------------------------------------------------------------------------
# messages.json
# --------------------------------------------------------------------------------------------

def description_example():
    return {
        "name": "vectors.threshold", "version": "2.1.0", "title": "Threshold",
        "description": "Label voxels between two values.", "category": "Segmentation.Basic",
        "contributor": "SlicerBridge authors",
        "inputs": [{"name": "volume", "type": "image", "label": "Input volume",
                    "description": "The image to threshold.", "image_kind": "scalar"}],
        "outputs": [{"name": "mask", "type": "image", "label": "Mask", "image_kind": "label"},
                    {"name": "stats", "type": "table", "optional": True}],
        "parameters": [
            {"name": "lower", "type": "float", "label": "Lower", "group": "Range",
             "default": 0.0, "minimum": -1000.0, "maximum": 3000.0, "step": 0.5},
            {"name": "upper", "type": "float", "group": "Range", "default": 100.0},
            {"name": "iterations", "type": "int", "default": 1, "minimum": 0, "maximum": 10},
            {"name": "mode", "type": "enum", "choices": ["inside", "outside"],
             "default": "inside"},
            {"name": "fill_holes", "type": "bool", "default": False, "optional": True},
            {"name": "note", "type": "string", "default": ""},
            {"name": "seed", "type": "int_vector", "length": 3, "default": [0, 0, 0]},
            {"name": "weights", "type": "float_vector", "default": [1.0, 0.5]},
            {"name": "tags", "type": "string_vector", "default": []},
        ],
    }


def messages_file():
    f = VectorFile("messages.json", "One vector per message shape: requests for every method, "
                   "responses, errors and notifications.")
    f.accept("msg-request-ping", "ping without params.", ["MSG-1", "MSG-2", "PING-1"],
             request(1, "ping"))
    f.accept("msg-request-ping-empty-params", "ping with an empty params map.", ["MSG-2"],
             request(2, "ping", {}))
    f.accept("msg-request-catalog", "catalog.", ["CAT-1"], request(3, "catalog"))
    f.accept("msg-request-describe", "describe one processor.", ["CAT-2", "MSG-13"],
             request(4, "describe", {"processor": "vectors.threshold"}))
    f.accept("msg-request-invoke", "invoke with an image input, every parameter type and a "
             "deadline.", ["INV-2", "INV-3", "INV-6"],
             invoke(5, {"volume": image((2, 2, 1), "int16", [1, 2, 3, 4])},
                    {"lower": 0.5, "upper": 100, "iterations": 2, "mode": "inside",
                     "fill_holes": True, "note": "", "seed": [1, -2, 3], "weights": [1.0, 2],
                     "tags": ["a", "b"]}, processor="vectors.threshold", deadline=30.0))
    f.accept("msg-request-invoke-no-parameters", "invoke with inputs only.", ["MSG-13"],
             request(6, "invoke", {"processor": "vectors.echo", "inputs": {}}))
    f.accept("msg-request-goodbye", "goodbye.", ["BYE-1", "BYE-2"], request(7, "goodbye"))
    f.accept("msg-request-max-id", "The largest request id, 2^63-1.", ["MSG-1"],
             request(I64_MAX, "ping"))
    f.accept("msg-response-ping", "ping's result with timings.", ["PING-1", "MSG-7", "TIME-1"],
             response(1, {}, timings=dict(TIMINGS)), extra={"result_of": "ping"})
    f.accept("msg-response-catalog", "A catalog with one full description.",
             ["CAT-1", "CAT-3", "CAT-6"],
             response(3, {"processors": [description_example()]}, timings=dict(TIMINGS)),
             extra={"result_of": "catalog"})
    f.accept("msg-response-describe", "A description with only the keys a client must accept.",
             ["CAT-2", "CAT-6"],
             response(4, {"name": "vectors.echo", "inputs": [], "outputs": [],
                          "parameters": []}), extra={"result_of": "describe"})
    f.accept("msg-response-invoke", "An invoke result with an image output and timings.",
             ["INV-4", "TIME-1"],
             response(5, {"outputs": {"mask": image((2, 2, 1), "uint8", [0, 1, 1, 0],
                                                    kind="label")}},
                      timings=dict(TIMINGS)), extra={"result_of": "invoke"})
    f.accept("msg-response-describe-1.1", "A 1.1 description with a scalar output (an integer "
             "with a minimum) beside a data output, and idempotent.",
             ["CAT-2", "CAT-7", "CAT-8"],
             response(4, {"name": "vectors.count", "version": "1.0", "title": "Count",
                          "description": "", "category": "Testing",
                          "inputs": [{"name": "labels", "type": "image",
                                      "image_kind": "label"}],
                          "outputs": [{"name": "stats", "type": "table", "optional": True},
                                      {"name": "voxels", "type": "int", "minimum": 0}],
                          "parameters": [], "idempotent": True}),
             extra={"result_of": "describe"})
    f.accept("msg-response-invoke-scalar-outputs", "A 1.1 invoke result: a table output and "
             "the values of an int and a string scalar output, plain values beside it.",
             ["INV-4", "CAT-7"],
             response(5, {"outputs": {"stats": {"type": "table", "columns": [
                 typed_array("int32", [1, 2], name="label")]},
                 "voxels": 1234, "verdict": "two labels"}}),
             extra={"result_of": "invoke"})
    f.accept("msg-response-goodbye", "goodbye's result.", ["BYE-2"], response(7, {}),
             extra={"result_of": "goodbye"})
    f.accept("msg-response-error", "An invalid_argument error naming the parameter.",
             ["MSG-7", "INV-2", "ERR-3", "TIME-1"],
             response(5, error={"code": 103, "message": "parameter out of range",
                                "details": {"name": "iterations", "maximum": 10}},
                      timings={"receiving": 0.001, "queued": 0.0, "computing": 0.0,
                               "sending": 0.0001}))
    f.accept("msg-response-error-processor-code", "An error in the processor-defined range.",
             ["ERR-1", "ERR-2", "INV-5"],
             response(8, error={"code": 1042, "message": "model weights missing"}))
    f.accept("msg-response-error-cancelled", "A cancelled call's response.", ["CANCEL-2"],
             response(9, error={"code": 100, "message": "cancelled"}))
    f.accept("msg-response-connection-level", "A connection-level error (id nil): duplicate_id "
             "with the id in details.", ["MSG-5", "MSG-14"],
             response(None, error={"code": 8, "message": "duplicate request id",
                                   "details": {"id": 5}}))
    f.accept("msg-notification-progress", "A progress notification.", ["PROG-1", "CAP-3"],
             {"kind": "notification", "method": "progress",
              "params": {"id": 5, "fraction": 0.25, "message": "smoothing"}})
    f.accept("msg-notification-progress-no-message", "A progress notification without message.",
             ["PROG-1"], {"kind": "notification", "method": "progress",
                          "params": {"id": 5, "fraction": 1.0}})
    f.accept("msg-notification-cancel", "A cancel notification.", ["CANCEL-1"],
             {"kind": "notification", "method": "cancel", "params": {"id": 5}})
    f.accept("msg-notification-unknown-method", "A notification of an unknown method: decoded, "
             "then ignored.", ["MSG-9"],
             {"kind": "notification", "method": "x-heartbeat", "params": {"seq": 1}})
    return f


# --------------------------------------------------------------------------------------------
# data.json
# --------------------------------------------------------------------------------------------

def data_file():
    f = VectorFile("data.json", "Every data type inside an invoke request; `data_path` locates "
                   "the data value, `typed_values` the numbers its typed arrays hold.")
    path = ["params", "inputs", "input"]

    def add(vector_id, description, requirements, value, **kwargs):
        extra = {"data_path": path}
        extra.update(kwargs.pop("extra", {}))
        f.accept(vector_id, description, requirements, invoke(100, {"input": value}),
                 extra=extra, **kwargs)

    for dtype, values in DTYPE_SAMPLES.items():
        add(f"data-image-{dtype}", f"A 2x2x1 {dtype} image with extreme values, little-endian.",
            ["ARRAY-1", "ARRAY-2", "IMG-1", "IMG-3"], image((2, 2, 1), dtype, values))
    for dtype, values in DTYPE_SAMPLES.items():
        if DTYPES[dtype][1] > 1:
            add(f"data-image-{dtype}-big-endian", f"The {dtype} image with byte_order big.",
                ["ARRAY-2"], image((2, 2, 1), dtype, values, byte_order="big"))
    add("data-image-implicit-defaults", "An image without components and byte_order (defaults 1 "
        "and little).", ["ARRAY-1"],
        image((3, 1, 1), "uint16", [1, 2, 65535], explicit_components=False))
    ijk = list(range(24))
    add("data-image-oblique-ras", "A 4x3x2 image with an oblique, anisotropic RAS geometry.",
        ["IMG-1", "IMG-2"], image((4, 3, 2), "int16", ijk, ijk_to_space=OBLIQUE_RAS),
        extra={"ijk_to_ras": OBLIQUE_RAS})
    add("data-image-oblique-lps", "The same image and physical geometry expressed in LPS.",
        ["IMG-2", "IMG-5", "DATA-2"],
        image((4, 3, 2), "int16", ijk, ijk_to_space=flip_xy(OBLIQUE_RAS), space="LPS"),
        extra={"ijk_to_ras": OBLIQUE_RAS})
    add("data-image-label-segments", "A uint16 label image with two segments.",
        ["IMG-4", "IMG-6"],
        image((3, 2, 2), "uint16", [0, 1, 1, 0, 2, 2, 0, 0, 1, 2, 2, 0], kind="label",
              segments=[{"value": 1, "name": "liver", "color": [0.8, 0.2, 0.2]},
                        {"value": 2, "name": "spleen", "color": [0.2, 0.6, 1.0]}]))
    add("data-image-vector", "A 2x2x1 float32 vector image with 3 components.",
        ["IMG-4", "ARRAY-1"],
        image((2, 2, 1), "float32", [float(v) for v in range(12)], kind="vector", components=3))
    add("data-image-empty", "A 0x4x4 image: a zero-length segment at offset 0.",
        ["IMG-3", "BULK-3"], image((0, 4, 4), "uint8", []))
    ramp = [(i * 7 + j * 3) % 512 - 256 for j in range(32) for i in range(64)]
    add("data-image-zstd", "A 64x32x1 int16 image whose voxels are zstd-compressed.",
        ["BULK-5", "CODEC-2"], image((64, 32, 1), "int16", ramp, codec="zstd"),
        codecs=["zstd"], canonical=False)
    add("data-image-lz4", "The same image lz4-compressed.", ["BULK-5", "CODEC-2"],
        image((64, 32, 1), "int16", ramp, codec="lz4"), codecs=["lz4"], canonical=False)
    add("data-mesh-full", "A mesh with float32 points, verts, lines, polys, strips, point and "
        "cell data.", ["MESH-1", "MESH-2"], full_mesh())
    add("data-mesh-lps-float64", "A triangle with float64 points in LPS and no optional keys.",
        ["MESH-1", "MESH-3", "DATA-2"],
        {"type": "mesh", "space": "LPS",
         "points": typed_array("float64", [-1.0, -2.0, 3.0, -4.0, -5.0, 6.0, -7.0, -8.0, 9.0],
                               3),
         "polys": cell_array([0, 3], [0, 1, 2])})
    transform_ras = affine(matmul(rotation("x", 15.0), rotation("z", -40.0)), (12.0, -3.5, 8.25))
    add("data-transform-ras", "A rigid to_parent transform in RAS.", ["XFM-1"],
        {"type": "transform", "matrix": transform_ras, "space": "RAS",
         "direction": "to_parent"}, extra={"matrix_ras": transform_ras})
    add("data-transform-lps", "The same transform in LPS (F T F).", ["XFM-1", "DATA-2"],
        {"type": "transform", "matrix": flip_xy_both(transform_ras), "space": "LPS",
         "direction": "to_parent"}, extra={"matrix_ras": transform_ras})
    add("data-points-labels", "Three LPS points with labels.", ["PTS-1", "DATA-2"],
        {"type": "points", "space": "LPS",
         "points": typed_array("float64", [1.0, 2.0, 3.0, -4.5, 5.5, 0.0, 7.0, -8.0, 9.25], 3),
         "labels": ["F-1", "F-2", "tip"]})
    add("data-points-no-labels", "Two RAS points without labels.", ["PTS-1"],
        {"type": "points", "space": "RAS",
         "points": typed_array("float64", [0.0, 0.0, 0.0, 1.0, 1.0, 1.0], 3)})
    time_ramp = [v * 10 + t for t in range(3) for v in range(6)]
    add("data-series-time", "A 3x2x1 int16 time series of 3 volumes at 0, 2.5 and 5 s, one "
        "oblique geometry.", ["SER-1", "SER-3", "SER-6"],
        image_series((3, 2, 1), "int16", time_ramp, "time",
                     [(OBLIQUE_RAS, 0.0), (OBLIQUE_RAS, 2.5), (OBLIQUE_RAS, 5.0)]),
        extra={"volumes_ijk_to_ras": [OBLIQUE_RAS] * 3})
    moved = affine(matmul(rotation("z", 4.0), [[0.5, 0.0, 0.0], [0.0, 0.75, 0.0],
                                               [0.0, 0.0, 2.0]]), (-9.5, 21.0, 5.5))
    add("data-series-moving-lps", "A 2x2x2 float32 time series in LPS whose two volumes have "
        "different geometries (motion-corrected).", ["SER-1", "SER-2", "SER-5", "DATA-2"],
        image_series((2, 2, 2), "float32", [float(v) / 4 for v in range(16)], "time",
                     [(flip_xy(OBLIQUE_RAS), 0.0), (flip_xy(moved), 1.75)], space="LPS"),
        extra={"volumes_ijk_to_ras": [OBLIQUE_RAS, moved]})
    add("data-series-diffusion", "A 2x2x1 uint16 diffusion series: b = 0 without gradient and "
        "three b = 1000 s/mm^2 directions.", ["SER-3", "SER-4"],
        image_series((2, 2, 1), "uint16", [1000, 900, 800, 700, 400, 350, 300, 250,
                                           500, 450, 400, 350, 600, 550, 500, 450], "b_value",
                     [(AXIS_ALIGNED_RAS, 0.0, (0.0, 0.0, 0.0)),
                      (AXIS_ALIGNED_RAS, 1000.0, (1.0, 0.0, 0.0)),
                      (AXIS_ALIGNED_RAS, 1000.0, (0.0, 1.0, 0.0)),
                      (AXIS_ALIGNED_RAS, 1000.0, (0.0, 0.6, 0.8))]))
    add("data-series-multi-echo", "A 2x1x1 float64 multi-echo series at 10, 20 and 30 ms "
        "(sent in seconds), big-endian.", ["SER-3", "ARRAY-2"],
        image_series((2, 1, 1), "float64", [900.0, 880.0, 600.0, 580.0, 400.0, 380.0],
                     "echo_time", [(AXIS_ALIGNED_RAS, 0.01), (AXIS_ALIGNED_RAS, 0.02),
                                   (AXIS_ALIGNED_RAS, 0.03)], byte_order="big"))
    add("data-series-label-index", "A 2x1x1 uint8 label series of 2 volumes on an index axis, "
        "with a segment.", ["SER-3", "SER-5"],
        image_series((2, 1, 1), "uint8", [0, 1, 1, 1], "index",
                     [(AXIS_ALIGNED_RAS, 0.0), (AXIS_ALIGNED_RAS, 1.0)], kind="label",
                     segments=[{"value": 1, "name": "tumour", "color": [1.0, 0.5, 0.0]}]))
    add("data-series-empty-volumes", "A 0x2x2 series of 2 volumes: a zero-length segment.",
        ["SER-1", "BULK-3"],
        image_series((0, 2, 2), "float32", [], "time",
                     [(AXIS_ALIGNED_RAS, 0.0), (AXIS_ALIGNED_RAS, 1.0)]))
    add("data-table-mixed", "A table with int32, float64, string and bool columns.", ["TBL-1"],
        {"type": "table", "columns": [
            typed_array("int32", [1, 2, 3], name="label"),
            typed_array("float64", [1250.5, 88.25, 0.0], name="volume_mm3"),
            {"name": "structure", "dtype": "string", "values": ["liver", "spleen", "Gallenblase"]},
            {"name": "present", "dtype": "bool", "values": [True, True, False]},
        ]})
    return f


# --------------------------------------------------------------------------------------------
# malformed.json: frames and heads every receiver MUST reject
# --------------------------------------------------------------------------------------------

def header(head_length, bulk_length, magic=b"SB", fmt=1, flags=0):
    return magic + bytes([fmt, flags]) + struct.pack(">IQ", head_length, bulk_length)


def map_head(entries_bytes, count):
    """A head map of `count` entries from pre-encoded entry bytes."""
    return msgpack_writer.length_header(count, 0x80, 15, msgpack_writer.MAP_FORMATS) + entries_bytes


def entry(key, value_bytes):
    return encode_head(key)[0] + value_bytes


PING_ENTRIES = entry("kind", encode_head("request")[0]) + entry("id", b"\x01") + \
    entry("method", encode_head("ping")[0])


def ping_with(extra_entry):
    """Head bytes of a ping request with one more pre-encoded entry."""
    return map_head(PING_ENTRIES + extra_entry, 4)


def malformed_file():
    f = VectorFile("malformed.json", "Frames every receiver MUST reject, with the error it MUST "
                   "report. `truncated` vectors end before the frame does.")
    ping = frame(ping_head())
    ping_head_bytes = encode_head(ping_head())[0]
    f.reject("malformed-magic", "Magic 'XB' instead of 'SB'.", ["FRAME-1"], "malformed_frame",
             b"XB" + ping[2:])
    f.reject("malformed-magic-swapped", "Magic bytes swapped ('BS').", ["FRAME-1"],
             "malformed_frame", b"BS" + ping[2:])
    f.reject("malformed-format-2", "Format byte 2.", ["FRAME-1", "VER-3"], "malformed_frame",
             ping[:2] + b"\x02" + ping[3:])
    f.reject("malformed-format-0", "Format byte 0.", ["FRAME-1"], "malformed_frame",
             ping[:2] + b"\x00" + ping[3:])
    f.reject("malformed-header-only-bad-magic", "A bad magic is reported from the header alone.",
             ["FRAME-1", "FRAME-3"], "malformed_frame", header(1, 0, magic=b"\0\0"))
    f.reject("malformed-head-length-zero", "head_length 0: an empty head.", ["FRAME-4"],
             "invalid_message", header(0, 0))
    f.reject("malformed-head-over-default-limit", "head_length 2^32-1, over the default max_head "
             "(16 MiB); only the header is present.", ["FRAME-3", "LIMIT-1"], "frame_too_large",
             header(2**32 - 1, 0))
    f.reject("malformed-head-over-limit", "A complete 30-byte head with max_head 29.",
             ["FRAME-3", "LIMIT-1"], "frame_too_large", ping, limits={"max_head": 29})
    f.reject("malformed-bulk-over-default-limit", "bulk_length 2^63, over the default max_frame "
             "(4 GiB); only the header is present.", ["FRAME-3", "FRAME-5"], "frame_too_large",
             header(30, 2**63))
    f.reject("malformed-frame-over-limit", "A complete frame one byte over max_frame.",
             ["FRAME-3", "LIMIT-1"], "frame_too_large", ping, limits={"max_frame": len(ping) - 1})
    f.reject("malformed-size-overflow", "head_length + bulk_length + 16 exceeds 2^64-1 and would "
             "wrap around to 14.", ["FRAME-9"], "frame_too_large",
             header(30, 2**64 - 32) + ping_head_bytes, limits={"max_frame": U64_MAX})

    f.reject("truncated-header", "10 bytes of a frame header.", ["FRAME-8", "ERR-5"],
             "truncated", ping[:10], truncated=True)
    f.reject("truncated-empty", "No byte at all, decoded as one frame: the frame the decoder was "
             "asked for is missing, so a codec reports truncated. This is the single-frame "
             "decode only: a stream reader whose stream ends here, at a frame boundary, sees a "
             "clean end of stream, not a truncated frame [FRAME-8].", ["FRAME-8", "ERR-5"],
             "truncated", b"", truncated=True)
    f.reject("truncated-head", "The head ends after 12 of its 30 bytes.", ["FRAME-8", "ERR-5"],
             "truncated", ping[:28], truncated=True)
    f.reject("truncated-head-missing", "A valid header and no head.", ["FRAME-8", "ERR-5"],
             "truncated", ping[:16], truncated=True)
    with_bulk = frame(ping_head(2, **{"x-segment": Bulk(bytes(range(40)))}))
    f.reject("truncated-bulk", "The bulk ends after 20 of its 40 bytes.", ["FRAME-8", "ERR-5"],
             "truncated", with_bulk[:-20], truncated=True)
    big_head = encode_head(ping_head(3, **{"x-segment": Ref(2**32 + 8, 8)}))[0]
    f.reject("truncated-bulk-over-4gib", "A frame of 5 GiB of bulk with a reference above "
             "2^32, within max_frame 2^40: header and head are valid, the bulk is missing.",
             ["FRAME-5", "BULK-1", "ERR-5"], "truncated",
             header(len(big_head), 5 * 2**30) + big_head, truncated=True,
             limits={"max_frame": 2**40})

    def bad_head(vector_id, description, requirements, head_bytes, error="invalid_message",
                 **kwargs):
        f.reject(vector_id, description, requirements, error,
                 frame(head_bytes=head_bytes, bulk=kwargs.pop("bulk", b"")), **kwargs)

    bad_head("malformed-head-never-used-byte", "The head is the single byte 0xc1.",
             ["FRAME-4", "MSG-11"], b"\xc1")
    bad_head("malformed-head-never-used-byte-in-value", "0xc1 as a value inside the head map.",
             ["FRAME-4", "MSG-11"], ping_with(entry("x-bad", b"\xc1")))
    bad_head("malformed-head-not-a-map-array", "The head is an array.", ["HEAD-1", "MSG-11"],
             encode_head(["request", 1, "ping"])[0])
    bad_head("malformed-head-not-a-map-string", "The head is a string.", ["HEAD-1", "MSG-11"],
             encode_head("request")[0])
    bad_head("malformed-head-not-a-map-nil", "The head is nil.", ["HEAD-1", "MSG-11"], b"\xc0")
    bad_head("malformed-head-trailing-bytes", "A complete head map followed by one more byte "
             "within head_length.", ["FRAME-4"], ping_head_bytes + b"\xc0")
    bad_head("malformed-head-two-objects", "Two complete maps within head_length.",
             ["FRAME-4"], ping_head_bytes + ping_head_bytes)
    bad_head("malformed-head-incomplete-map", "A map that declares 4 entries and holds 3.",
             ["FRAME-4", "HEAD-8"], map_head(PING_ENTRIES, 4))
    bad_head("malformed-head-incomplete-string", "A string that ends after the head.",
             ["FRAME-4", "HEAD-8"], ping_head_bytes[:-2])
    bad_head("malformed-depth-33", "Head nesting depth 33, one over the default max_depth.",
             ["HEAD-5", "SEC-4"], encode_head(ping_head(**{"x-deep": nested_arrays(32)}))[0])
    bad_head("malformed-depth-custom-limit", "Depth 5 with a receiver limit of 4.", ["HEAD-5"],
             encode_head(ping_head(**{"x-deep": nested_arrays(4)}))[0], limits={"max_depth": 4})
    bad_head("malformed-nesting-bomb", "A nesting bomb: 10,000 nested one-element arrays.",
             ["HEAD-5", "SEC-4"], ping_with(entry("x-bomb", b"\x91" * 10000 + b"\xc0")))
    bad_head("malformed-nesting-bomb-maps", "A nesting bomb of 5,000 nested one-entry maps.",
             ["HEAD-5", "SEC-4"], ping_with(entry("x-bomb", b"\x81\xa1k" * 5000 + b"\xc0")))
    bad_head("malformed-array32-huge-count", "An array 32 declaring 2^32-1 elements in a "
             "5-byte value.", ["HEAD-8", "SEC-4"], ping_with(entry("x-a", b"\xdd\xff\xff\xff\xff")))
    bad_head("malformed-map32-huge-count", "A map 32 declaring 2^32-1 entries.", ["HEAD-8"],
             ping_with(entry("x-m", b"\xdf\xff\xff\xff\xff")))
    bad_head("malformed-head-map32-huge-count", "The head itself is a map 32 declaring 2^32-1 "
             "entries.", ["HEAD-8"], b"\xdf\xff\xff\xff\xff" + PING_ENTRIES)
    bad_head("malformed-str32-huge-length", "A str 32 declaring 2^32-1 bytes.", ["HEAD-8"],
             ping_with(entry("x-s", b"\xdb\xff\xff\xff\xffabc")))
    bad_head("malformed-bin32-huge-length", "A bin 32 declaring 2^32-1 bytes.", ["HEAD-8"],
             ping_with(entry("x-b", b"\xc6\xff\xff\xff\xff\x00")))
    bad_head("malformed-ext32-huge-length", "An ext 32 declaring 2^32-1 bytes.", ["HEAD-8"],
             ping_with(entry("x-e", b"\xc9\xff\xff\xff\xff\x01")))
    bad_head("malformed-key-integer", "A head map with an integer key.", ["HEAD-1", "HEAD-6"],
             ping_with(b"\x07\xc0"))
    bad_head("malformed-key-integer-nested", "A nested map with an integer key.", ["HEAD-6"],
             ping_with(entry("x-map", b"\x81\x01\x02")))
    bad_head("malformed-key-binary", "A map key written as bin instead of str.", ["HEAD-6"],
             ping_with(b"\xc4\x05x-bin\xc0"))
    bad_head("malformed-duplicate-key", "The key 'kind' twice in the head.", ["HEAD-7"],
             map_head(PING_ENTRIES + entry("kind", encode_head("request")[0]), 4))
    bad_head("malformed-duplicate-key-nested", "A nested map with a duplicate key.", ["HEAD-7"],
             ping_with(entry("x-map", b"\x82\xa1a\x01\xa1a\x02")))
    bad_head("malformed-invalid-utf8-value", "A string value that is not UTF-8.", ["HEAD-9"],
             ping_with(entry("x-text", b"\xa2\xc3\x28")))
    bad_head("malformed-invalid-utf8-key", "A key that is not UTF-8.", ["HEAD-9"],
             ping_with(b"\xa3x-\xff\xc0"))

    def ref_head(reference_bytes):
        return ping_with(entry("x-segment", reference_bytes))

    def ref16(offset, length):
        return b"\xd8\x01" + struct.pack(">QQ", offset, length)

    def ref25(offset, length, codec_id, raw_length):
        return b"\xc7\x19\x01" + struct.pack(">QQBQ", offset, length, codec_id, raw_length)

    bad_head("malformed-ref-out-of-range", "offset 8 + length 16 > bulk_length 16.", ["BULK-1"],
             ref_head(ref16(8, 16)), bulk=bytes(16))
    bad_head("malformed-ref-offset-past-end", "A zero-length reference at offset 17 of a 16-byte "
             "bulk.", ["BULK-1"], ref_head(ref16(17, 0)), bulk=bytes(16))
    bad_head("malformed-ref-without-bulk", "A reference into an empty bulk.", ["BULK-1"],
             ref_head(ref16(0, 1)))
    bad_head("malformed-ref-overflow", "offset 2^64-8 + length 16 overflows to 8, which would "
             "fit the 16-byte bulk.", ["BULK-1"], ref_head(ref16(2**64 - 8, 16)), bulk=bytes(16))
    for length, form in ((8, b"\xd7\x01"), (4, b"\xd6\x01"), (17, b"\xc7\x11\x01"),
                         (24, b"\xc7\x18\x01"), (26, b"\xc7\x1a\x01"), (0, b"\xc7\x00\x01")):
        bad_head(f"malformed-ref-ext-length-{length}", f"An ext type 1 of length {length}.",
                 ["BULK-4"], ref_head(form + bytes(length)), bulk=bytes(64))
    bad_head("malformed-ext-type-2", "A fixext 16 of the unassigned ext type 2.", ["BULK-4"],
             ref_head(b"\xd8\x02" + struct.pack(">QQ", 0, 8)), bulk=bytes(8))
    bad_head("malformed-ext-type-127", "A fixext 1 of ext type 127.", ["BULK-4"],
             ref_head(b"\xd4\x7f\x00"))
    bad_head("malformed-ext-timestamp", "MessagePack's timestamp (ext type -1).", ["BULK-4"],
             ref_head(b"\xd6\xff" + struct.pack(">I", 1700000000)))

    compressible = bytes(range(32)) * 32
    zstd_bytes = zstandard.ZstdCompressor(level=3).compress(compressible)
    lz4_bytes = lz4.frame.compress(compressible)
    bad_head("malformed-codec-zstd-not-in-force", "A zstd segment when no codec is in force.",
             ["BULK-5", "CAP-2", "CODEC-5"],
             ref_head(ref25(0, len(zstd_bytes), 1, len(compressible))), bulk=zstd_bytes,
             error="unsupported_codec")
    bad_head("malformed-codec-lz4-not-in-force", "An lz4 segment when only zstd is in force.",
             ["BULK-5", "CAP-2", "CODEC-5"],
             ref_head(ref25(0, len(lz4_bytes), 2, len(compressible))), bulk=lz4_bytes,
             error="unsupported_codec", codecs=["zstd"])
    bad_head("malformed-codec-0", "The reserved codec value 0.", ["BULK-7"],
             ref_head(ref25(0, 8, 0, 8)), bulk=bytes(8), error="unsupported_codec",
             codecs=["zstd", "lz4"])
    bad_head("malformed-codec-unknown", "The unassigned codec value 3.", ["BULK-7"],
             ref_head(ref25(0, 8, 3, 8)), bulk=bytes(8), error="unsupported_codec",
             codecs=["zstd", "lz4"])
    corrupt_zstd = b"\x00\x00\x00\x00" + zstd_bytes[4:]
    bad_head("malformed-zstd-corrupt", "A zstd segment whose magic number is destroyed.",
             ["BULK-5"], ref_head(ref25(0, len(corrupt_zstd), 1, len(compressible))),
             bulk=corrupt_zstd, codecs=["zstd"])
    cut_lz4 = lz4_bytes[:-6]
    bad_head("malformed-lz4-truncated", "An lz4 segment cut before its end mark.",
             ["BULK-5", "BULK-8"], ref_head(ref25(0, len(cut_lz4), 2, len(compressible))),
             bulk=cut_lz4, codecs=["lz4"])
    bad_head("malformed-zstd-raw-length-larger", "raw_length one more than the decompressed "
             "size.", ["BULK-5"], ref_head(ref25(0, len(zstd_bytes), 1, len(compressible) + 1)),
             bulk=zstd_bytes, codecs=["zstd"])
    bad_head("malformed-lz4-raw-length-smaller", "raw_length one less than the decompressed "
             "size.", ["BULK-5", "BULK-6"],
             ref_head(ref25(0, len(lz4_bytes), 2, len(compressible) - 1)), bulk=lz4_bytes,
             codecs=["lz4"])
    bomb = zstandard.ZstdCompressor(level=19).compress(bytes(8 * MiB))
    bad_head("malformed-zstd-bomb", f"A {len(bomb)}-byte zstd segment that expands to 8 MiB "
             "while raw_length says 64: decompression stops at 64 bytes.", ["BULK-6", "SEC-4"],
             ref_head(ref25(0, len(bomb), 1, 64)), bulk=bomb, codecs=["zstd"])
    bad_head("malformed-raw-length-over-max-frame", "raw_length 2^40, over the default max_frame.",
             ["BULK-6", "SEC-4"], ref_head(ref25(0, len(zstd_bytes), 1, 2**40)),
             bulk=zstd_bytes, codecs=["zstd"], error="frame_too_large")
    pair = zstd_bytes + bytes(-len(zstd_bytes) % 8) + zstd_bytes
    second = len(zstd_bytes) + (-len(zstd_bytes) % 8)
    pair_head = ping_with(entry("x-pair", b"\x92" + ref25(0, len(zstd_bytes), 1, len(compressible))
                                + ref25(second, len(zstd_bytes), 1, len(compressible))))
    pair_frame = frame(head_bytes=pair_head, bulk=pair)
    f.reject("malformed-raw-length-sum-over-max-frame", "Two zstd segments of raw_length 1024 "
             "each in a frame of max_frame 1500: each fits, their sum does not.",
             ["BULK-6", "SEC-4"], "frame_too_large", pair_frame, codecs=["zstd"],
             limits={"max_frame": 1500})
    assert len(pair_frame) <= 1500 < 2 * len(compressible)
    two_frames = zstd_bytes + zstd_bytes
    bad_head("malformed-zstd-two-frames", "Two zstd frames in one segment.", ["BULK-8"],
             ref_head(ref25(0, len(two_frames), 1, len(compressible))), bulk=two_frames,
             codecs=["zstd"])
    garbage = zstd_bytes + b"\x00\x01\x02"
    bad_head("malformed-zstd-trailing-bytes", "Bytes after the zstd frame inside the segment.",
             ["BULK-8"], ref_head(ref25(0, len(garbage), 1, len(compressible))), bulk=garbage,
             codecs=["zstd"])
    return f


# --------------------------------------------------------------------------------------------
# messages_invalid.json and data_invalid.json: valid frames, invalid messages
# --------------------------------------------------------------------------------------------

def invalid_messages_file():
    f = VectorFile("messages_invalid.json", "Frames the codec accepts whose messages are invalid. "
                   "`receiver` and `state` give the context; `response_id` is the id of the "
                   "error response (null: connection-level; absent: nothing is sent).")

    def add(vector_id, description, requirements, error, head, *, receiver="server",
            state="established", response_id=None, no_response=False):
        extra = {"receiver": receiver, "state": state}
        if not no_response:
            extra["response_id"] = response_id
        f.reject(vector_id, description, requirements, error, frame(head),
                 decoded=to_json(head), extra=extra)

    add("invalid-request-missing-method", "A request without method.", ["MSG-2", "MSG-12"],
        "invalid_message", {"kind": "request", "id": 1}, response_id=1)
    add("invalid-request-method-not-string", "A request whose method is an integer.",
        ["MSG-2", "MSG-12"], "invalid_message", {"kind": "request", "id": 2, "method": 7},
        response_id=2)
    add("invalid-request-params-not-map", "A request whose params is an array.",
        ["MSG-2", "MSG-12"], "invalid_message",
        {"kind": "request", "id": 3, "method": "ping", "params": []}, response_id=3)
    add("invalid-request-id-missing", "A request without id.", ["MSG-1", "MSG-12"],
        "invalid_message", {"kind": "request", "method": "ping"})
    add("invalid-request-id-nil", "A request whose id is nil.", ["MSG-1", "MSG-12"],
        "invalid_message", {"kind": "request", "id": None, "method": "ping"})
    add("invalid-request-id-negative", "A request whose id is -1.", ["MSG-1", "HEAD-4"],
        "invalid_message", {"kind": "request", "id": -1, "method": "ping"})
    add("invalid-request-id-too-large", "A request whose id is 2^63.", ["MSG-1", "HEAD-4"],
        "invalid_message", {"kind": "request", "id": 2**63, "method": "ping"})
    add("invalid-request-id-float", "A request whose id is the float 1.0.", ["MSG-1", "HEAD-4"],
        "invalid_message", {"kind": "request", "id": 1.0, "method": "ping"})
    add("invalid-request-id-string", "A request whose id is a string.", ["MSG-1", "MSG-12"],
        "invalid_message", {"kind": "request", "id": "1", "method": "ping"})
    add("invalid-kind-missing", "A head without kind.", ["HEAD-1", "MSG-11"], "invalid_message",
        {"id": 1, "method": "ping"})
    add("invalid-kind-not-string", "A head whose kind is an integer.", ["HEAD-1", "MSG-11"],
        "invalid_message", {"kind": 1, "id": 1, "method": "ping"})
    add("invalid-kind-unknown", "An unknown kind.", ["MSG-10"], "unknown_kind",
        {"kind": "event", "id": 1, "name": "x"})
    add("invalid-response-to-server", "A response sent to the server.", ["MSG-3"],
        "invalid_message", response(1, {}))
    add("invalid-method-unknown", "An unknown method.", ["MSG-6"], "method_not_found",
        request(4, "reboot"), response_id=4)
    add("invalid-describe-no-processor", "describe without processor.", ["MSG-13"],
        "invalid_message", request(5, "describe", {}), response_id=5)
    add("invalid-describe-processor-not-string", "describe whose processor is an integer.",
        ["MSG-13"], "invalid_message", request(6, "describe", {"processor": 3}), response_id=6)
    add("invalid-invoke-no-processor", "invoke without processor.", ["MSG-13"],
        "invalid_message", request(7, "invoke", {"inputs": {}}), response_id=7)
    add("invalid-invoke-inputs-not-map", "invoke whose inputs is an array.", ["MSG-13"],
        "invalid_message", request(8, "invoke", {"processor": "vectors.echo", "inputs": []}),
        response_id=8)
    add("invalid-invoke-parameters-not-map", "invoke whose parameters is a string.", ["MSG-13"],
        "invalid_message",
        request(9, "invoke", {"processor": "vectors.echo", "parameters": "a=1"}), response_id=9)
    add("invalid-invoke-deadline-negative", "invoke with deadline -1.", ["INV-7"],
        "invalid_message", request(10, "invoke", {"processor": "vectors.echo", "deadline": -1.0}),
        response_id=10)
    add("invalid-invoke-deadline-nan", "invoke with deadline NaN.", ["INV-7"], "invalid_message",
        request(11, "invoke", {"processor": "vectors.echo", "deadline": float("nan")}),
        response_id=11)
    add("invalid-invoke-deadline-string", "invoke with deadline '10s'.", ["INV-7", "MSG-13"],
        "invalid_message", request(12, "invoke", {"processor": "vectors.echo",
                                                  "deadline": "10s"}), response_id=12)
    add("invalid-notification-no-method", "A notification without method.", ["MSG-16"],
        "invalid_message", {"kind": "notification", "params": {}})
    add("invalid-request-before-hello", "A request before the client's hello.", ["HELLO-2"],
        "handshake_required", request(1, "ping"), state="awaiting_hello")
    add("invalid-kind-missing-before-hello", "A first frame without kind: fatal before the "
        "handshake.", ["HELLO-9", "MSG-11"], "invalid_message", {"protocol": "slicerbridge"},
        state="awaiting_hello")
    add("invalid-hello-twice", "A hello after the handshake.", ["HELLO-7"], "invalid_message",
        {"kind": "hello", "protocol": "slicerbridge", "min_version": [1, 0],
         "max_version": [1, 0]})
    hello = {"kind": "hello", "protocol": "slicerbridge", "min_version": [1, 0],
             "max_version": [1, 0]}
    add("invalid-hello-protocol", "A hello for another protocol.", ["HELLO-5"],
        "invalid_message", {**hello, "protocol": "openigtlink"}, state="awaiting_hello")
    add("invalid-hello-missing-max-version", "A client hello without max_version.",
        ["HELLO-5"], "invalid_message",
        {"kind": "hello", "protocol": "slicerbridge", "min_version": [1, 0]},
        state="awaiting_hello")
    add("invalid-hello-version-string", "A client hello whose versions are strings.",
        ["HELLO-5"], "invalid_message", {**hello, "min_version": "1.0", "max_version": "1.0"},
        state="awaiting_hello")
    add("invalid-hello-version-three-numbers", "A version of three numbers.", ["HELLO-5"],
        "invalid_message", {**hello, "max_version": [1, 0, 0]}, state="awaiting_hello")
    add("invalid-hello-capabilities-not-array", "capabilities as a string.", ["HELLO-5"],
        "invalid_message", {**hello, "capabilities": "progress"}, state="awaiting_hello")
    add("invalid-hello-limit-zero", "limits.max_frame 0.", ["LIMIT-4", "HELLO-5"],
        "invalid_message", {**hello, "limits": {"max_frame": 0}}, state="awaiting_hello")
    add("invalid-hello-max-head-too-large", "limits.max_head 2^32.", ["LIMIT-4", "HELLO-5"],
        "invalid_message", {**hello, "limits": {"max_head": 2**32}}, state="awaiting_hello")
    add("invalid-hello-no-common-version", "A client speaking only 2.0 to 2.3.", ["HELLO-3"],
        "unsupported_version", {**hello, "min_version": [2, 0], "max_version": [2, 3]},
        state="awaiting_hello")
    add("invalid-hello-empty-range", "min_version above max_version.", ["HELLO-3"],
        "unsupported_version", {**hello, "min_version": [1, 2], "max_version": [1, 0]},
        state="awaiting_hello")
    add("invalid-response-result-and-error", "A response with both result and error.",
        ["MSG-7", "MSG-15"], "invalid_message",
        {"kind": "response", "id": 1, "result": {}, "error": {"code": 105, "message": "x"}},
        receiver="client", no_response=True)
    add("invalid-response-neither", "A response with neither result nor error.",
        ["MSG-7", "MSG-15"], "invalid_message", {"kind": "response", "id": 1},
        receiver="client", no_response=True)
    add("invalid-response-error-code-string", "An error whose code is a string.", ["MSG-15"],
        "invalid_message", response(1, error={"code": "E1", "message": "x"}),
        receiver="client", no_response=True)
    add("invalid-response-error-no-message", "An error without message.", ["MSG-15"],
        "invalid_message", response(1, error={"code": 105}), receiver="client",
        no_response=True)
    return f


def invalid_data_file():
    f = VectorFile("data_invalid.json", "invoke requests whose data value at `data_path` is "
                   "invalid: a server answers invalid_argument under the request id, before "
                   "running the processor (the processor is assumed to exist and to take one "
                   "input named `input` of the value's type).")
    path = ["params", "inputs", "input"]

    def add(vector_id, description, requirements, value, codecs=None):
        head = invoke(200, {"input": value})
        f.reject(vector_id, description, requirements, "invalid_argument", frame(head),
                 decoded=to_json(head), codecs=codecs,
                 extra={"receiver": "server", "state": "established", "response_id": 200,
                        "data_path": path})

    def img(**changes):
        value = image((2, 2, 1), "uint8", [1, 2, 3, 4])
        value.update(changes)
        return {key: val for key, val in value.items() if val is not None}

    add("invalid-image-data-short", "Four uint8 voxels declared, three bytes sent.",
        ["IMG-3", "ARRAY-1"], img(data=Bulk(b"\x01\x02\x03")))
    add("invalid-image-data-long", "Four uint16 voxels declared, ten bytes sent.",
        ["IMG-3", "ARRAY-1"], img(dtype="uint16", data=Bulk(bytes(10))))
    add("invalid-image-dims-overflow", "dims 2^32 x 2^32 x 2^32 with empty data: the product "
        "overflows 64 bits and would wrap to 0.", ["IMG-3"],
        img(dims=[2**32, 2**32, 2**32], data=Bulk(b"")))
    add("invalid-image-dims-two", "dims with two elements.", ["DATA-3"], img(dims=[2, 2]))
    add("invalid-image-dims-negative", "A negative dimension.", ["DATA-3", "HEAD-4"],
        img(dims=[2, -2, 1]))
    add("invalid-image-dtype-unknown", "dtype float16.", ["ARRAY-3"], img(dtype="float16"))
    add("invalid-image-byte-order", "byte_order 'middle'.", ["ARRAY-4"],
        img(byte_order="middle"))
    add("invalid-image-components-zero", "components 0.", ["ARRAY-4"], img(components=0))
    add("invalid-image-data-binary", "data as a bin value instead of a bulk reference.",
        ["DATA-3"], img(data=b"\x01\x02\x03\x04"))
    add("invalid-image-matrix-last-row", "ijk_to_space whose last row is [0, 0, 1, 1].",
        ["IMG-2"], img(ijk_to_space=AXIS_ALIGNED_RAS[:14] + [1.0, 1.0]))
    add("invalid-image-matrix-singular", "ijk_to_space whose upper 3x3 is singular.", ["IMG-2"],
        img(ijk_to_space=affine([[1.0, 2.0, 0.0], [2.0, 4.0, 0.0], [0.0, 0.0, 1.0]],
                                (0.0, 0.0, 0.0))))
    add("invalid-image-matrix-15", "ijk_to_space with 15 numbers.", ["DATA-3"],
        img(ijk_to_space=AXIS_ALIGNED_RAS[:15]))
    add("invalid-image-space-missing", "An image without space.", ["DATA-2"], img(space=None))
    add("invalid-image-space-unknown", "space 'XYZ'.", ["DATA-2"], img(space="XYZ"))
    add("invalid-image-kind-unknown", "kind 'rgb'.", ["DATA-3"], img(kind="rgb"))
    add("invalid-image-label-float", "A label image of dtype float32.", ["IMG-4"],
        img(kind="label", dtype="float32", data=Bulk(typed_bytes("float32", [0.0, 1.0, 1.0,
                                                                              0.0]))))
    add("invalid-image-scalar-components", "A scalar image with 2 components.", ["IMG-4"],
        img(components=2, data=Bulk(bytes(8))))
    add("invalid-image-segment-duplicate", "Two segments with value 1.", ["IMG-6"],
        img(kind="label", segments=[{"value": 1, "name": "a", "color": [1.0, 0.0, 0.0]},
                                    {"value": 1, "name": "b", "color": [0.0, 1.0, 0.0]}]))
    add("invalid-image-segment-color", "A segment color component of 1.5.", ["IMG-6"],
        img(kind="label", segments=[{"value": 1, "name": "a", "color": [1.5, 0.0, 0.0]}]))
    add("invalid-data-type-unknown", "A data value of type 'volume'.", ["DATA-1"],
        {"type": "volume", "dims": [1, 1, 1]})
    add("invalid-data-not-map", "A data value that is an array.", ["DATA-3"], [1, 2, 3])

    def mesh(**changes):
        value = {"type": "mesh", "space": "RAS",
                 "points": typed_array("float32", [0.0] * 9, 3),
                 "polys": cell_array([0, 3], [0, 1, 2])}
        value.update(changes)
        return value

    add("invalid-mesh-connectivity-range", "A connectivity value 3 with 3 points.", ["MESH-1"],
        mesh(polys=cell_array([0, 3], [0, 1, 3])))
    add("invalid-mesh-connectivity-negative", "A connectivity value -1.", ["MESH-1"],
        mesh(polys=cell_array([0, 3], [0, 1, -1])))
    add("invalid-mesh-offsets-start", "Offsets starting at 1.", ["MESH-1"],
        mesh(polys=cell_array([1, 3], [0, 1, 2])))
    add("invalid-mesh-offsets-decreasing", "Offsets 0, 2, 1, 3.", ["MESH-1"],
        mesh(polys=cell_array([0, 2, 1, 3], [0, 1, 2])))
    add("invalid-mesh-offsets-end", "Offsets ending at 2 with 3 connectivity values.",
        ["MESH-1"], mesh(polys=cell_array([0, 2], [0, 1, 2])))
    add("invalid-mesh-offsets-int32", "Offsets of dtype int32 instead of int64.", ["DATA-3"],
        mesh(polys={"offsets": typed_array("int32", [0, 3]),
                    "connectivity": typed_array("int64", [0, 1, 2])}))
    add("invalid-mesh-point-data-count", "Point data with 2 tuples for 3 points.", ["MESH-2"],
        mesh(point_data=[typed_array("float32", [1.0, 2.0], name="t")]))
    add("invalid-mesh-cell-data-count", "Cell data with 2 tuples for 1 cell.", ["MESH-2"],
        mesh(cell_data=[typed_array("int32", [1, 2], name="c")]))
    add("invalid-mesh-points-components", "Points with 2 components.", ["DATA-3"],
        mesh(points=typed_array("float32", [0.0] * 6, 2)))
    add("invalid-mesh-points-int", "Points of dtype int32.", ["DATA-3"],
        mesh(points=typed_array("int32", [0] * 9, 3)))
    add("invalid-transform-last-row", "A transform whose last row is [0, 0, 0, 2].", ["XFM-1"],
        {"type": "transform", "matrix": AXIS_ALIGNED_RAS[:15] + [2.0], "space": "RAS",
         "direction": "to_parent"})
    add("invalid-transform-direction", "direction 'from_parent'.", ["DATA-3"],
        {"type": "transform", "matrix": AXIS_ALIGNED_RAS, "space": "RAS",
         "direction": "from_parent"})
    add("invalid-points-labels-count", "Two labels for three points.", ["PTS-1"],
        {"type": "points", "space": "RAS",
         "points": typed_array("float64", [0.0] * 9, 3), "labels": ["a", "b"]})
    add("invalid-points-components", "Points with 2 components.", ["DATA-3"],
        {"type": "points", "space": "RAS", "points": typed_array("float64", [0.0] * 6, 2)})
    def series(**changes):
        value = image_series((2, 1, 1), "uint8", [1, 2, 3, 4], "time",
                             [(AXIS_ALIGNED_RAS, 0.0), (AXIS_ALIGNED_RAS, 1.0)])
        value.update(changes)
        return {key: val for key, val in value.items() if val is not None}

    def volumes(*entries):
        return image_series((1, 1, 1), "uint8", [0], "time", entries)["volumes"]

    def diffusion(gradients, b_values=(0.0, 1000.0)):
        return series(axis="b_value", volumes=volumes(
            *[(AXIS_ALIGNED_RAS, b, g) for b, g in zip(b_values, gradients)]))

    add("invalid-series-data-short", "Two 2x1x1 uint8 volumes declared, three bytes sent.",
        ["SER-1", "ARRAY-1"], series(data=Bulk(b"\x01\x02\x03")))
    add("invalid-series-data-one-volume", "Two volumes declared, the bytes of one sent.",
        ["SER-1"], series(data=Bulk(b"\x01\x02")))
    add("invalid-series-dims-overflow", "dims 2^32 x 2^32 x 2^32 with 2 volumes and empty data: the "
        "product overflows 64 bits and would wrap to 0.", ["SER-1"],
        series(dims=[2**32, 2**32, 2**32], data=Bulk(b"")))
    add("invalid-series-no-volumes", "An empty volumes array.", ["SER-1"],
        series(volumes=[], data=Bulk(b"")))
    add("invalid-series-volumes-missing", "A series without volumes.", ["DATA-3"],
        series(volumes=None))
    add("invalid-series-volume-singular", "The second volume's upper 3x3 is singular.",
        ["SER-2", "IMG-2"],
        series(volumes=volumes((AXIS_ALIGNED_RAS, 0.0),
                               (affine([[1.0, 2.0, 0.0], [2.0, 4.0, 0.0], [0.0, 0.0, 1.0]],
                                       (0.0, 0.0, 0.0)), 1.0))))
    add("invalid-series-volume-last-row", "The first volume's last row is [0, 0, 1, 1].",
        ["SER-2"], series(volumes=volumes((AXIS_ALIGNED_RAS[:14] + [1.0, 1.0], 0.0),
                                          (AXIS_ALIGNED_RAS, 1.0))))
    add("invalid-series-volume-matrix-15", "A volume matrix of 15 numbers.", ["DATA-3"],
        series(volumes=volumes((AXIS_ALIGNED_RAS[:15], 0.0), (AXIS_ALIGNED_RAS, 1.0))))
    add("invalid-series-axis-unknown", "axis 'frequency'.", ["SER-3"], series(axis="frequency"))
    add("invalid-series-time-decreasing", "Times 1 s then 0 s.", ["SER-3"],
        series(volumes=volumes((AXIS_ALIGNED_RAS, 1.0), (AXIS_ALIGNED_RAS, 0.0))))
    add("invalid-series-time-repeated", "Two volumes at 1 s.", ["SER-3"],
        series(volumes=volumes((AXIS_ALIGNED_RAS, 1.0), (AXIS_ALIGNED_RAS, 1.0))))
    add("invalid-series-value-nan", "A time value NaN.", ["SER-3"],
        series(volumes=volumes((AXIS_ALIGNED_RAS, 0.0), (AXIS_ALIGNED_RAS, float("nan")))))
    add("invalid-series-value-string", "A volume value that is a string.", ["DATA-3"],
        series(volumes=[{"ijk_to_space": AXIS_ALIGNED_RAS, "value": 0.0},
                        {"ijk_to_space": AXIS_ALIGNED_RAS, "value": "1 s"}]))
    add("invalid-series-echo-zero", "An echo time of 0 s.", ["SER-3"],
        series(axis="echo_time", volumes=volumes((AXIS_ALIGNED_RAS, 0.0),
                                                 (AXIS_ALIGNED_RAS, 0.02))))
    add("invalid-series-b-negative", "A b-value of -1.", ["SER-3"],
        diffusion([(0.0, 0.0, 0.0), (1.0, 0.0, 0.0)], b_values=(-1.0, 1000.0)))
    add("invalid-series-gradient-missing", "A b_value series whose volumes carry no gradient.",
        ["SER-4"], series(axis="b_value"))
    add("invalid-series-gradient-not-unit", "A gradient of length 2.", ["SER-4"],
        diffusion([(0.0, 0.0, 0.0), (0.0, 2.0, 0.0)]))
    add("invalid-series-gradient-zero", "A zero gradient at b = 1000.", ["SER-4"],
        diffusion([(0.0, 0.0, 0.0), (0.0, 0.0, 0.0)]))
    add("invalid-series-gradient-two", "A gradient of two numbers.", ["SER-4", "DATA-3"],
        series(axis="b_value", volumes=[
            {"ijk_to_space": AXIS_ALIGNED_RAS, "value": 0.0, "gradient": [0.0, 0.0, 0.0]},
            {"ijk_to_space": AXIS_ALIGNED_RAS, "value": 1000.0, "gradient": [1.0, 0.0]}]))
    add("invalid-series-gradient-on-time", "A time series whose volume carries a gradient.",
        ["SER-4"], series(volumes=volumes((AXIS_ALIGNED_RAS, 0.0, (1.0, 0.0, 0.0)),
                                          (AXIS_ALIGNED_RAS, 1.0))))
    add("invalid-series-scalar-components", "A scalar series with 2 components.", ["SER-5"],
        series(components=2, data=Bulk(bytes(8))))
    add("invalid-series-label-float", "A label series of dtype float32.", ["SER-5"],
        series(kind="label", dtype="float32", data=Bulk(bytes(16))))
    add("invalid-series-segment-duplicate", "A label series with two segments of value 1.",
        ["SER-5", "IMG-6"],
        series(kind="label", segments=[{"value": 1, "name": "a", "color": [1.0, 0.0, 0.0]},
                                       {"value": 1, "name": "b", "color": [0.0, 1.0, 0.0]}]))
    add("invalid-table-row-count", "Columns of 3 and 2 rows.", ["TBL-1"],
        {"type": "table", "columns": [typed_array("int32", [1, 2, 3], name="a"),
                                      {"name": "b", "dtype": "string", "values": ["x", "y"]}]})
    add("invalid-table-duplicate-name", "Two columns named 'a'.", ["TBL-1"],
        {"type": "table", "columns": [typed_array("int32", [1], name="a"),
                                      {"name": "a", "dtype": "bool", "values": [True]}]})
    add("invalid-table-bool-values", "A bool column holding an integer.", ["DATA-3"],
        {"type": "table", "columns": [{"name": "b", "dtype": "bool", "values": [True, 1]}]})
    return f


# --------------------------------------------------------------------------------------------
# catalog.json
# --------------------------------------------------------------------------------------------

def good_description():
    return {"name": "vectors.good", "version": "1.0", "title": "Good", "description": "",
            "category": "Vectors", "inputs": [{"name": "input", "type": "image"}],
            "outputs": [{"name": "output", "type": "image"}],
            "parameters": [{"name": "level", "type": "int", "default": 1, "minimum": 0,
                            "maximum": 10}]}


def described(name="vectors.bad", inputs=None, outputs=None, parameters=None, **extra):
    description = {"name": name, "version": "1.0", "title": "", "description": "",
                   "category": "Vectors", "inputs": inputs or [], "outputs": outputs or [],
                   "parameters": parameters or []}
    description.update(extra)
    return description


def catalog_file():
    f = VectorFile("catalog.json", "Catalog results whose descriptions are valid or break one rule "
                   "of section 10: the client keeps the valid ones and drops the others, naming "
                   "the rule ([CAT-12]).")

    def catalog(vector_id, text, requirements, processors, kept, dropped=()):
        extra = {"result_of": "catalog", "receiver": "client", "kept": kept,
                 "dropped": [{"index": index, "name": name, "requirement": requirement}
                             for index, name, requirement in dropped]}
        f.accept(vector_id, text, requirements, response(7, {"processors": processors}),
                 extra=extra)

    def invalid(vector_id, text, requirement, description, name="vectors.bad"):
        catalog(f"catalog-invalid-{vector_id}", text, [requirement, "CAT-12"],
                [good_description(), description], ["vectors.good"],
                [(1, name, requirement)])

    catalog("catalog-empty", "A server without processors.", ["CAT-1"], [], [])
    catalog("catalog-full", "A full description with every slot key.", ["CAT-3", "CAT-5", "CAT-6"],
            [description_example()], ["vectors.threshold"])
    catalog("catalog-minimal", "A description with only name, inputs, outputs and parameters, "
            "slots with only name and type: absent strings read as empty.", ["CAT-6"],
            [{"name": "vectors.minimal", "inputs": [{"name": "a", "type": "mesh"}],
              "outputs": [{"name": "b", "type": "table"}],
              "parameters": [{"name": "c", "type": "string"}]}], ["vectors.minimal"])
    catalog("catalog-scalar-output-idempotent", "Version 1.1: a scalar output with bounds and an "
            "idempotent processor.", ["CAT-7", "CAT-8"],
            [described("vectors.count", inputs=[{"name": "input", "type": "image",
                                                 "image_kind": "label"}],
                       outputs=[{"name": "count", "type": "int", "minimum": 0},
                                {"name": "verdict", "type": "enum", "choices": ["yes", "no"]}],
                       idempotent=True)], ["vectors.count"])
    catalog("catalog-unknown-keys", "Unknown and x- keys in a description and a slot are ignored.",
            ["HEAD-2", "CAT-6"],
            [described("vectors.future", parameters=[{"name": "p", "type": "float",
                                                      "x-widget": "slider", "unit": "mm"}],
                       **{"x-vendor": {"build": 7}, "tags": ["a"]})], ["vectors.future"])
    catalog("catalog-int-bounds-as-floats", "An int slot whose default, bounds and step a 1.0 "
            "sender wrote as integral floats.", ["CAT-10", "CAT-5"],
            [described("vectors.legacy", parameters=[
                {"name": "n", "type": "int", "default": 2.0, "minimum": 0.0, "maximum": 8.0,
                 "step": 1.0}])], ["vectors.legacy"])
    catalog("catalog-int-bounds-beyond-2-53", "int64 bounds beyond 2^53 keep their exact value.",
            ["CAT-10"],
            [described("vectors.big", parameters=[
                {"name": "n", "type": "int", "default": 2**62 + 1, "minimum": 2**62 + 1,
                 "maximum": 2**63 - 1}])], ["vectors.big"])
    catalog("catalog-vectors-and-enum", "Vector parameters with lengths and bounds, an enum.",
            ["CAT-5", "CAT-11"],
            [described("vectors.shapes", parameters=[
                {"name": "size", "type": "float_vector", "length": 3, "minimum": 0.0,
                 "default": [1.0, 2, 3.5]},
                {"name": "names", "type": "string_vector", "length": 2, "default": ["a", "b"]},
                {"name": "shape", "type": "enum", "choices": ["ball", "cross"],
                 "default": "cross"}])], ["vectors.shapes"])

    invalid("not-a-map", "A description that is a string.", "CAT-11", "vectors.bad", name=None)
    invalid("no-name", "A description without a name.", "CAT-6",
            {"inputs": [], "outputs": [], "parameters": []}, name=None)
    invalid("name-not-string", "A name that is an integer.", "CAT-11",
            described(name=7), name=None)
    invalid("no-inputs", "A description without inputs.", "CAT-6",
            {"name": "vectors.bad", "outputs": [], "parameters": []})
    invalid("name-pattern", "A processor name that starts with a digit.", "CAT-11",
            described(name="1bad"), name="1bad")
    invalid("title-not-string", "A title that is an array.", "CAT-11",
            described(title=["Bad"]))
    invalid("idempotent-not-bool", "idempotent given as 1.", "CAT-11", described(idempotent=1))
    invalid("slot-not-a-map", "An input that is a string.", "CAT-11", described(inputs=["image"]))
    invalid("slot-no-type", "A parameter without a type.", "CAT-6",
            described(parameters=[{"name": "p"}]))
    invalid("slot-name-pattern", "A slot name with a hyphen.", "CAT-11",
            described(inputs=[{"name": "in-put", "type": "image"}]))
    invalid("slot-unknown-type", "A slot type that section 11 does not define.", "CAT-11",
            described(inputs=[{"name": "input", "type": "voxels"}]))
    invalid("slot-optional-not-bool", "optional given as a string.", "CAT-11",
            described(inputs=[{"name": "input", "type": "image", "optional": "yes"}]))
    invalid("input-parameter-type", "An input of a parameter type.", "CAT-5",
            described(inputs=[{"name": "input", "type": "float"}]))
    invalid("parameter-data-type", "A parameter of a data type.", "CAT-5",
            described(parameters=[{"name": "p", "type": "mesh"}]))
    invalid("default-on-input", "An input with a default.", "CAT-5",
            described(inputs=[{"name": "input", "type": "image", "default": 1}]))
    invalid("default-on-scalar-output", "A scalar output with a default.", "CAT-5",
            described(outputs=[{"name": "count", "type": "int", "default": 0}]))
    invalid("default-wrong-type", "An int parameter whose default is a string.", "CAT-5",
            described(parameters=[{"name": "p", "type": "int", "default": "3"}]))
    invalid("default-not-integral", "An int parameter whose default is 1.5.", "CAT-5",
            described(parameters=[{"name": "p", "type": "int", "default": 1.5}]))
    invalid("default-above-maximum", "A default above the slot's maximum.", "CAT-5",
            described(parameters=[{"name": "p", "type": "float", "default": 11.0,
                                   "maximum": 10.0}]))
    invalid("default-not-a-choice", "An enum default that is not one of the choices.", "CAT-5",
            described(parameters=[{"name": "p", "type": "enum", "choices": ["a", "b"],
                                   "default": "c"}]))
    invalid("default-wrong-length", "A vector default of 2 elements for length 3.", "CAT-5",
            described(parameters=[{"name": "p", "type": "int_vector", "length": 3,
                                   "default": [1, 2]}]))
    invalid("duplicate-slot-names", "An input and a parameter both named 'x'.", "CAT-3",
            described(inputs=[{"name": "x", "type": "image"}],
                      parameters=[{"name": "x", "type": "float"}]))
    invalid("image-kind-on-mesh", "image_kind on a mesh input.", "CAT-9",
            described(inputs=[{"name": "input", "type": "mesh", "image_kind": "label"}]))
    invalid("image-kind-unknown", "An image_kind that is not scalar, label or vector.", "CAT-11",
            described(inputs=[{"name": "input", "type": "image", "image_kind": "rgb"}]))
    invalid("enum-without-choices", "An enum parameter without choices.", "CAT-11",
            described(parameters=[{"name": "p", "type": "enum"}]))
    invalid("enum-empty-choices", "An enum parameter with an empty choices array.", "CAT-11",
            described(parameters=[{"name": "p", "type": "enum", "choices": []}]))
    invalid("choices-on-string", "choices on a string parameter.", "CAT-11",
            described(parameters=[{"name": "p", "type": "string", "choices": ["a"]}]))
    invalid("minimum-on-string", "minimum on a string parameter.", "CAT-11",
            described(parameters=[{"name": "p", "type": "string", "minimum": 0}]))
    invalid("minimum-above-maximum", "minimum 5 above maximum 1.", "CAT-11",
            described(parameters=[{"name": "p", "type": "float", "minimum": 5.0,
                                   "maximum": 1.0}]))
    invalid("length-on-scalar", "length on an int parameter.", "CAT-11",
            described(parameters=[{"name": "p", "type": "int", "length": 2}]))
    invalid("length-negative", "A negative length.", "CAT-11",
            described(parameters=[{"name": "p", "type": "int_vector", "length": -1}]))
    catalog("catalog-invalid-duplicate-processor-name", "Two descriptions named vectors.good: the "
            "later one is dropped.", ["CAT-11", "CAT-12"],
            [good_description(), described("vectors.other"), good_description()],
            ["vectors.good", "vectors.other"], [(2, "vectors.good", "CAT-11")])
    catalog("catalog-invalid-several", "Bad descriptions around good ones: each bad one is "
            "dropped, every good one kept in order.", ["CAT-12", "CAT-3", "CAT-5"],
            [described("vectors.dup", inputs=[{"name": "x", "type": "image"}],
                       outputs=[{"name": "x", "type": "image"}]),
             good_description(),
             described("vectors.param", parameters=[{"name": "p", "type": "image"}]),
             described("vectors.other")],
            ["vectors.good", "vectors.other"],
            [(0, "vectors.dup", "CAT-3"), (2, "vectors.param", "CAT-5")])
    return f

# --------------------------------------------------------------------------------------------
# descriptors.json: descriptor references and the memory files passed with them (section 3.5)
# --------------------------------------------------------------------------------------------

ALL_SEALS = ["write", "shrink", "grow"]


def fd_ref(index, offset, length, form=b"\xc7\x14\x02"):
    return form + struct.pack(">IQQ", index, offset, length)


def memfd(data, seals=ALL_SEALS, size=None):
    entry = {"kind": "memfd", "hex": bytes(data).hex(), "seals": list(seals)}
    if size is not None:
        entry["size"] = size
    return entry


def descriptors_file():
    f = VectorFile("descriptors.json", "Descriptor references (ext type 2) with the descriptors "
                   "passed with the frame: `descriptors` lists them in ancillary-data order "
                   "(`memfd` with its contents and seals, or another kind of descriptor); "
                   "`in_force` says whether transfer.memfd is in force. A receiver creates "
                   "them, decodes the frame with them and closes every one afterwards.")
    payload = bytes(range(1, 17))

    def accept(vector_id, description, requirements, head, descriptors, **kwargs):
        f.accept(vector_id, description, requirements, head,
                 extra={"in_force": True, "descriptors": descriptors}, **kwargs)

    def reject(vector_id, description, requirements, head_bytes, descriptors, *,
               error="invalid_message", in_force=True, bulk=b"", limits=None):
        f.reject(vector_id, description, requirements, error,
                 frame(head_bytes=head_bytes, bulk=bulk), limits=limits,
                 extra={"in_force": in_force, "descriptors": descriptors})

    def seg(index, offset, length, raw, form=b"\xc7\x14\x02"):
        return Ref(0, 0, raw, ext=fd_ref(index, offset, length, form))

    def ref_head(reference_bytes):
        return ping_with(entry("x-segment", reference_bytes))

    accept("fd-ref-whole-file", "One descriptor reference to all 16 bytes of a sealed memfd.",
           ["FD-4", "FD-5"], ping_head(1, **{"x-segment": seg(0, 0, 16, payload)}),
           [memfd(payload)], canonical=False)
    accept("fd-ref-offset", "A reference to bytes 8..16 of the file: the receiver maps the file "
           "and views part of it.", ["FD-4", "FD-8"],
           ping_head(2, **{"x-segment": seg(0, 8, 8, payload[8:])}), [memfd(payload)],
           canonical=False)
    accept("fd-ref-two-of-one-file", "Two references into one descriptor.", ["FD-3", "FD-4"],
           ping_head(3, **{"x-pair": [seg(0, 0, 4, payload[:4]), seg(0, 4, 12, payload[4:])]}),
           [memfd(payload)], canonical=False)
    accept("fd-ref-second-descriptor", "Index 1 designates the second descriptor received.",
           ["FD-3", "FD-4"],
           ping_head(4, **{"x-pair": [seg(1, 0, 2, b"ab"), seg(0, 0, 2, b"xy")]}),
           [memfd(b"xy"), memfd(b"ab")], canonical=False)
    accept("fd-ref-beside-in-band", "A descriptor reference and an in-band bulk reference in one "
           "frame.", ["FD-1", "FD-4"],
           ping_head(5, **{"x-pair": [Bulk(b"in-band!"), seg(0, 0, 16, payload)]}),
           [memfd(payload)], canonical=False)
    accept("fd-ref-empty-at-end", "A zero-length reference at the end of the file.", ["FD-4"],
           ping_head(6, **{"x-segment": seg(0, 16, 0, b"")}), [memfd(payload)], canonical=False)
    accept("fd-ref-file-larger", "The file is larger than the bytes referenced (fstat size 4096).",
           ["FD-5"], ping_head(7, **{"x-segment": seg(0, 0, 4, payload[:4])}),
           [memfd(payload, size=4096)], canonical=False)
    accept("fd-ref-as-ext32", "A descriptor reference written as ext 32 ([HEAD-3]).",
           ["FD-4", "HEAD-3"],
           ping_head(8, **{"x-segment": seg(0, 0, 16, payload, form=b"\xc9\x00\x00\x00\x14\x02")}),
           [memfd(payload)], canonical=False)

    good = fd_ref(0, 0, 16)
    reject("fd-not-in-force", "A valid reference and its descriptor, but transfer.memfd is not "
           "in force: ext type 2 is unknown.", ["FD-4", "FD-6", "BULK-4"], ref_head(good),
           [memfd(payload)], in_force=False)
    reject("fd-descriptor-without-capability", "A plain ping that carries a descriptor while "
           "transfer.memfd is not in force.", ["FD-6"], encode_head(ping_head(9))[0],
           [memfd(payload)], in_force=False)
    reject("fd-descriptor-unreferenced", "Two descriptors, only the first referenced.",
           ["FD-2", "FD-6"], ref_head(good), [memfd(payload), memfd(payload)])
    for length in (16, 19, 21, 24):
        reject(f"fd-ref-ext-length-{length}", f"An ext type 2 of length {length}.", ["FD-4"],
               ref_head(b"\xc7" + bytes([length]) + b"\x02" + bytes(length)), [memfd(payload)])
    reject("fd-ref-index-out-of-range", "Index 1 with one descriptor.", ["FD-4"],
           ref_head(fd_ref(1, 0, 16)), [memfd(payload)])
    reject("fd-ref-no-descriptor", "Index 0 in a frame that carries no descriptor.", ["FD-4"],
           ref_head(good), [])
    reject("fd-ref-past-file-size", "length 17 > the 16 bytes fstat reports.", ["FD-4", "FD-5"],
           ref_head(fd_ref(0, 0, 17)), [memfd(payload)])
    reject("fd-ref-offset-past-end", "A zero-length reference at offset 17 of a 16-byte file.",
           ["FD-4"], ref_head(fd_ref(0, 17, 0)), [memfd(payload)])
    reject("fd-ref-overflow", "offset 2^64-8 + length 16 overflows to 8, which would fit.",
           ["FD-4"], ref_head(fd_ref(0, 2**64 - 8, 16)), [memfd(payload)])
    reject("fd-unsealed", "A memfd without seals.", ["FD-5", "FD-8"], ref_head(good),
           [memfd(payload, seals=[])])
    for missing in ALL_SEALS:
        reject(f"fd-seal-{missing}-missing", f"A memfd sealed against all but {missing}.",
               ["FD-5", "FD-9"], ref_head(good),
               [memfd(payload, seals=[s for s in ALL_SEALS if s != missing])])
    reject("fd-pipe", "The descriptor is the read end of a pipe.", ["FD-5", "FD-9"],
           ref_head(good), [{"kind": "pipe"}])
    reject("fd-directory", "The descriptor is an open directory.", ["FD-5", "FD-9"],
           ref_head(good), [{"kind": "directory"}])
    reject("fd-too-many", "17 descriptors with one frame, over the limit of 16.",
           ["FD-2", "FD-3"], ref_head(good), [memfd(payload)] * 17)
    big = ref_head(fd_ref(0, 0, 4096))
    reject("fd-over-max-frame", "A 4096-byte descriptor segment in a frame of max_frame 1024.",
           ["FD-7"], big, [memfd(bytes(4096))], error="frame_too_large",
           limits={"max_frame": 1024})
    return f


# --------------------------------------------------------------------------------------------
# Decision tables (decisions/*.json): what a peer decides, as state and event in, action out.
# Both servers and both pools decide through functions these tables test case by case.
# --------------------------------------------------------------------------------------------

PHASES = ("awaiting_hello", "established", "draining", "closed")
# inbound kind -> (what the frame holds, requirements); see decisions/README in spec/vectors
INBOUND = {
    "stream_ended": ("the stream ended, was reset or cut a frame short", ["DROP-1"]),
    "bad_frame": ("a frame header the stream refused", ["FRAME-7"]),
    "undecodable": ("a head that is not MessagePack, not a map or lacks a string kind",
                    ["MSG-11", "HELLO-9"]),
    "request_with_bad_bulk": ("a request with a valid id and a bad bulk reference", ["BULK-9"]),
    "bad_bulk": ("a head other than a request with a valid id, with a bad bulk reference",
                 ["BULK-9"]),
    "hello": ("a well-formed client hello", ["HELLO-1", "HELLO-7"]),
    "malformed_hello": ("a hello that is not a well-formed client hello", ["HELLO-5", "HELLO-7"]),
    "request": ("a well-formed request", ["HELLO-2", "MSG-5", "BYE-2"]),
    "malformed_request": ("a request with a valid id and another field malformed", ["MSG-12"]),
    "request_without_id": ("a request whose id is absent or invalid", ["MSG-12"]),
    "response": ("a response", ["MSG-3"]),
    "cancel": ("a well-formed cancel notification", ["CANCEL-1", "CANCEL-4"]),
    "notification": ("a notification with a string method other than a well-formed cancel",
                     ["MSG-9", "MSG-16", "PROG-5"]),
    "notification_without_method": ("a notification without a string method", ["MSG-16"]),
    "unknown_kind": ("a head with an unknown kind", ["MSG-10"]),
}
# kinds whose event carries the decoder's error
CARRIES_ERROR = {"bad_frame": "frame_too_large", "undecodable": "invalid_message",
                 "request_with_bad_bulk": "unsupported_codec", "bad_bulk": "invalid_message"}
ID_KINDS = ("request", "malformed_request", "request_with_bad_bulk", "cancel")


def connection_rule(phase, kind, id_open, error):
    """(action, error) by sections 4 to 6."""
    if phase == "closed":
        return "ignore", None
    if kind == "stream_ended":
        return "close", None
    if kind == "bad_frame":
        return "refuse", error
    if phase == "awaiting_hello":  # [HELLO-9]: every error closes
        if kind in ("undecodable", "request_with_bad_bulk", "bad_bulk"):
            return "refuse", error
        if kind == "hello":
            return "negotiate", None
        if kind == "malformed_hello":
            return "refuse", "invalid_message"
        return "refuse", "handshake_required"
    if kind in ("undecodable", "bad_bulk"):
        return "connection_error", error
    if kind in ("request", "malformed_request", "request_with_bad_bulk") and id_open:
        return "connection_error", "duplicate_id"
    if kind == "request_with_bad_bulk":
        return "answer_error", error
    if kind in ("hello", "malformed_hello", "request_without_id", "response",
                "notification_without_method"):
        return "connection_error", "invalid_message"
    if kind == "request":
        return ("answer_error", "shutting_down") if phase == "draining" else ("admit", None)
    if kind == "malformed_request":
        return "answer_error", "invalid_message"
    if kind == "cancel":
        return ("cancel_call" if id_open else "ignore"), None
    if kind == "notification":
        return "ignore", None
    return "connection_error", "unknown_kind"


def connection_decisions_file():
    f = VectorFile("decisions/connection_decisions.json",
                   "What a server does with each frame: the connection's phase and what the frame "
                   "holds in, one action out (answer under the request's id, connection-level "
                   "error, refuse and close, admit, ignore, close).")
    for phase in PHASES:
        for kind, (what, requirements) in INBOUND.items():
            for id_open in ((False, True) if kind in ID_KINDS else (False,)):
                error = CARRIES_ERROR.get(kind)
                action, action_error = connection_rule(phase, kind, id_open, error)
                suffix = "-open" if id_open else ""
                entry = {"id": f"conn-{phase}-{kind}{suffix}".replace("_", "-"),
                         "description": f"{phase}: {what}" + (", its id open" if id_open else ""),
                         "requirements": requirements + (["HELLO-9"] if phase == "awaiting_hello"
                                                         and action == "refuse" else []),
                         "phase": phase, "inbound": kind, "id_open": id_open, "error": error,
                         "action": action, "action_error": action_error}
                f.add(entry)
    return f


CALL_PHASES = ("queued", "computing", "stopping", "answered", "dropped")
CALL_EVENTS = {"start": ["LIMIT-10"], "cancel": ["CANCEL-1", "CANCEL-2", "CANCEL-4"],
               "deadline": ["INV-6"], "grace_expired": ["CANCEL-3"], "computed": ["CANCEL-2"],
               "shutdown": ["RESEND-1"], "drop": ["DROP-1"]}


def call_rule(phase, event):
    """(next phase, action, error) of one admitted invoke."""
    if phase in ("answered", "dropped"):
        return phase, "none", None  # exactly one response [MSG-4]
    if event == "drop":
        return "dropped", "discard", None
    if event == "deadline":
        return "answered", "answer_error", "deadline_exceeded"
    if event == "shutdown":
        return "answered", "answer_error", "shutting_down"
    if event == "start":
        return ("computing", "run", None) if phase == "queued" else (phase, "none", None)
    if event == "cancel":
        if phase == "queued":
            return "answered", "answer_error", "cancelled"
        if phase == "computing":
            return "stopping", "request_stop", None
        return phase, "none", None
    if event == "grace_expired":
        return ("answered", "answer_error", "cancelled") if phase == "stopping" \
            else (phase, "none", None)
    # computed
    return (phase, "none", None) if phase == "queued" else ("answered", "answer_computed", None)


def call_transitions_file():
    f = VectorFile("decisions/call_transitions.json",
                   "The life of one admitted invoke: its phase and an event in, the next phase "
                   "and one action out.")
    for phase in CALL_PHASES:
        for event, requirements in CALL_EVENTS.items():
            next_phase, action, error = call_rule(phase, event)
            f.add({"id": f"call-{phase}-{event}".replace("_", "-"),
                   "description": f"{event} while {phase}",
                   "requirements": requirements + (["MSG-4"] if action == "none" else []),
                   "phase": phase, "event": event, "next": next_phase, "action": action,
                   "error": error})
    return f


# A pooled call's outcome on one connection -> what the client does ([RESEND-1] to [RESEND-5]).
RESEND_OUTCOMES = ("answered", "error", "shutting_down", "lost")


def resend_rule(outcome, idempotent, attempts, max_retries):
    """(action, error, connection): the rules of section 6.8 as the generator states them."""
    connection = {"lost": "replace", "shutting_down": "drain"}.get(outcome, "keep")
    if outcome == "answered":
        return "complete", None, connection
    if outcome == "error":
        return "complete", "invalid_argument", connection
    if idempotent is not True:
        # [RESEND-5]; a refusal is the server's answer, a lost connection is not
        return "fail", "connection_lost" if outcome == "lost" else "shutting_down", connection
    if attempts > max_retries:
        return "fail", "retries_exhausted", connection  # [RESEND-3]
    return "resend", None, connection


def resend_decisions_file():
    f = VectorFile("decisions/resend_decisions.json",
                   "A pool's decision on a call that one connection carried: its outcome there, "
                   "whether the catalog says its processor is idempotent (null: not known), "
                   "how many times it was sent and max_retries in, the action, the call's "
                   "error and what becomes of the connection out (section 6.8).")
    for outcome in RESEND_OUTCOMES:
        for idempotent in (True, False, None):
            for attempts, max_retries in ((1, 2), (3, 2), (1, 0)):
                action, error, connection = resend_rule(outcome, idempotent, attempts,
                                                        max_retries)
                if outcome in ("answered", "error"):
                    requirements = ["RESEND-1", "RESEND-4"]
                elif action == "resend":
                    requirements = ["RESEND-1", "RESEND-2"]
                elif error == "retries_exhausted":
                    requirements = ["RESEND-3"]
                else:
                    requirements = ["RESEND-5"]
                known = {True: "idempotent", False: "not idempotent", None: "unknown"}[idempotent]
                f.add({"id": f"resend-{outcome}-{known}-{attempts}-of-{max_retries + 1}"
                             .replace("_", "-").replace(" ", "-"),
                       "description": f"{outcome} on the connection, processor {known}, sent "
                                      f"{attempts} time(s), max_retries {max_retries}",
                       "requirements": requirements,
                       "outcome": outcome,
                       "call_error": "invalid_argument" if outcome == "error" else
                       "shutting_down" if outcome == "shutting_down" else None,
                       "idempotent": idempotent, "attempts": attempts,
                       "max_retries": max_retries,
                       "action": action, "error": error, "connection": connection})
    return f


def handshake_decisions_file():
    f = VectorFile("decisions/handshake_decisions.json",
                   "negotiate(): a client hello and the server's options in, the server's hello "
                   "(capabilities in force, grease left out) or the connection-level error it "
                   "refuses with out.")
    default_server = {"token": None, "codecs": ["zstd", "lz4"]}

    def add(vector_id, description, requirements, hello, expected, server=None):
        client = {"min_version": [1, 0], "max_version": [1, 1], "capabilities": []}
        client.update(hello)
        f.add({"id": f"negotiate-{vector_id}", "description": description,
               "requirements": requirements, "hello": client,
               "server": dict(default_server, **(server or {})), **expected})

    def accept(version, capabilities, progress=False):
        return {"outcome": "accept", "version": version, "capabilities": capabilities,
                "progress": progress, "error": None}

    def refuse(error):
        return {"outcome": "refuse", "error": error}

    add("plain", "A 1.0 to 1.1 client offering nothing: 1.1, cancel only.",
        ["HELLO-3", "CAP-4"], {}, accept([1, 1], ["cancel"]))
    add("old-client", "A 1.0-only client gets 1.0.", ["HELLO-3", "VER-1"],
        {"max_version": [1, 0]}, accept([1, 0], ["cancel"]))
    add("future-client", "A client speaking 1.0 to 1.9 gets the server's newest, 1.1.",
        ["HELLO-3", "VER-1"], {"max_version": [1, 9]}, accept([1, 1], ["cancel"]))
    add("no-common-version", "A client speaking 2.0 only: unsupported_version.", ["HELLO-3"],
        {"min_version": [2, 0], "max_version": [2, 0]}, refuse("unsupported_version"))
    add("empty-range", "A range whose min is above its max holds no version.", ["HELLO-3"],
        {"min_version": [1, 1], "max_version": [1, 0]}, refuse("unsupported_version"))
    add("progress", "A client asking for progress has it in force.", ["CAP-3", "CAP-4"],
        {"capabilities": ["progress"]}, accept([1, 1], ["cancel", "progress"], True))
    add("unknown-capabilities", "Unknown and grease capabilities are not echoed.",
        ["CAP-1", "CAP-4"], {"capabilities": ["x-grease-7a", "teleport", "progress"]},
        accept([1, 1], ["cancel", "progress"], True))
    add("codecs", "Both codecs offered and served: both in force, zstd first.",
        ["CODEC-1", "CAP-4"], {"capabilities": ["codec.lz4", "codec.zstd"]},
        accept([1, 1], ["cancel", "codec.zstd", "codec.lz4"]))
    add("codec-not-served", "A codec the server does not serve is not in force.",
        ["CODEC-1", "CAP-4"], {"capabilities": ["codec.lz4", "codec.zstd"]},
        accept([1, 1], ["cancel", "codec.zstd"]), {"codecs": ["zstd"]})
    add("codec-not-offered", "A codec the client did not offer is not in force.",
        ["CODEC-1", "CAP-4"], {"capabilities": ["codec.lz4"]},
        accept([1, 1], ["cancel", "codec.lz4"]))
    add("token-right", "The right token is accepted.", ["SEC-3"], {"token": "s3cret-token-0123456789abcdef"},
        accept([1, 1], ["cancel"]), {"token": "s3cret-token-0123456789abcdef"})
    add("token-missing", "A server requiring a token refuses a hello without one.",
        ["SEC-3", "HELLO-8"], {}, refuse("unauthorized"), {"token": "s3cret-token-0123456789abcdef"})
    add("token-wrong", "A wrong token gets the same answer as a missing one.", ["SEC-3", "SEC-8"],
        {"token": "s3cret-tokem-0123456789abcdef"}, refuse("unauthorized"), {"token": "s3cret-token-0123456789abcdef"})
    add("token-before-version", "Without the token, even a version mismatch is unauthorized: "
        "nothing about the server is revealed.", ["HELLO-8", "SEC-8"],
        {"min_version": [2, 0], "max_version": [2, 0]}, refuse("unauthorized"),
        {"token": "s3cret-token-0123456789abcdef"})
    add("token-unneeded", "A token sent to a server that requires none is ignored.", ["SEC-3"],
        {"token": "whatever-0123456789abcdef"}, accept([1, 1], ["cancel"]))
    return f


# --------------------------------------------------------------------------------------------
# Decision tables of the server's availability (section 7.1): the byte budgets ([LIMIT-9]) and
# the fair worker queue ([LIMIT-10]). Scripts: a configuration, then steps, each an event or an
# observation with its outcome. The rules are stated here, independently of both servers.
# --------------------------------------------------------------------------------------------

class BudgetRule:
    """[LIMIT-9] as this generator states it. A frame is reserved whole once its header has
    announced its size. It fits when its connection holds nothing or it fits in what is left of
    the connection's budget, and the server holds nothing or it fits in what is left of the
    total: so a frame larger than a whole budget gets in when nothing else is held there. A
    frame that does not fit waits, reading paused, and holds nothing while it waits. Bytes added
    for answers are never refused. A release lets in every waiting frame that then fits. A
    connection starts reading a new frame only while neither its budget nor the total is spent
    (held < budget)."""

    def __init__(self, total, limits):
        self.total, self.limits = total, dict(limits)
        self.held = {connection: 0 for connection in limits}
        self.waiting = {}  # connection -> size of its frame that waits

    def _fits(self, held, connection, size):
        mine, everyone = held[connection], sum(held.values())
        return ((mine == 0 or mine + size <= self.limits[connection])
                and (everyone == 0 or everyone + size <= self.total))

    def reserve_frame(self, connection, size):
        assert connection not in self.waiting, "one frame at a time per connection"
        assert size >= 16, "a frame holds at least its header"
        if self._fits(self.held, connection, size):
            self.held[connection] += size
            return {"expect": "admitted"}
        self.waiting[connection] = size
        return {"expect": "waits"}

    def add(self, connection, size):
        self.held[connection] += size
        return {}

    def release(self, connection, size):
        assert 0 < size <= self.held[connection], "releases only what is held"
        self.held[connection] -= size
        # Waiting frames are retried in an order the spec leaves open: a case's outcome must be
        # the same in every order (one pass suffices: an admission only fills the budgets).
        outcomes = set()
        for order in itertools.permutations(sorted(self.waiting)):
            held, admitted = dict(self.held), []
            for waiter in order:
                if self._fits(held, waiter, self.waiting[waiter]):
                    held[waiter] += self.waiting[waiter]
                    admitted.append(waiter)
            outcomes.add((tuple(sorted(admitted)), tuple(sorted(held.items()))))
        assert len(outcomes) == 1, "the outcome depends on the order of the waiting frames"
        admitted, held = outcomes.pop()
        self.held = dict(held)
        for waiter in admitted:
            del self.waiting[waiter]
        return {"admits": list(admitted)}

    def observe(self, connection):
        assert connection not in self.waiting, "a connection whose frame waits reads nothing"
        spent = (self.held[connection] >= self.limits[connection]
                 or sum(self.held.values()) >= self.total)
        return {"expect": "paused" if spent else "reads"}


def budget_decisions_file():
    f = VectorFile("decisions/budget_decisions.json",
                   "The byte budgets of a server ([LIMIT-9]): a total for all connections and "
                   "one per connection (`total`, `connections`: name -> budget, in bytes). Each "
                   "step concerns one connection: `reserve_frame` (a frame's header announced "
                   "this many bytes, header included) -> `expect` `admitted` (reserved whole) "
                   "or `waits` (reading paused; the frame holds nothing until a release lets it "
                   "in); `add` (an answer's bytes: never refused, no outcome); `release` (bytes "
                   "of that connection given back) -> `admits`, the connections whose waiting "
                   "frame is now reserved (sorted; no case depends on the order in which "
                   "waiting frames are retried); `observe` `next_frame` -> `expect` `reads` "
                   "(the connection may start reading a new frame) or `paused` (its budget or "
                   "the total is spent: held >= budget). A frame fits when its connection holds "
                   "nothing or it fits in what is left of the connection's budget, and the "
                   "server holds nothing or it fits in what is left of the total. A frame once "
                   "admitted completes: its bytes stay held until released. `held` gives the "
                   "bytes held at the end, in all and by connection.")

    def case(name, description, total, connections, steps):
        rule = BudgetRule(total, connections)
        scripted = []
        for connection, event, *size in steps:
            step = {"connection": connection}
            if event == "observe":
                step["observe"] = "next_frame"
                step.update(rule.observe(connection))
            else:
                step[event] = size[0]
                step.update(getattr(rule, event)(connection, size[0]))
            scripted.append(step)
        assert not rule.waiting, "every case ends with no frame waiting"
        f.add({"id": f"budget-{name}", "description": description, "requirements": ["LIMIT-9"],
               "total": total, "connections": connections, "steps": scripted,
               "held": {"total": sum(rule.held.values()), **rule.held}})

    case("connection-exactly-spent", "A frame that fills the connection's budget exactly is "
         "admitted; the connection then stops reading until bytes are released.",
         1000, {"a": 600},
         [("a", "observe"), ("a", "reserve_frame", 600), ("a", "observe"),
          ("a", "release", 600), ("a", "observe")])
    case("connection-one-byte-over", "With 350 bytes held (a call's input and an answer), a "
         "frame of 250 fits a budget of 600 exactly; one of 251 waits until the answer's bytes "
         "are released.", 1000, {"a": 600},
         [("a", "reserve_frame", 300), ("a", "add", 50), ("a", "observe"),
          ("a", "reserve_frame", 250), ("a", "release", 250), ("a", "reserve_frame", 251),
          ("a", "release", 50), ("a", "observe"), ("a", "release", 551)])
    case("total-exactly-spent", "Two connections fill the total exactly: both stop reading, "
         "though neither has spent its own budget.", 1000, {"a": 1000, "b": 1000},
         [("a", "reserve_frame", 700), ("b", "reserve_frame", 300), ("a", "observe"),
          ("b", "observe"), ("b", "release", 300), ("a", "observe"), ("b", "observe")])
    case("total-one-byte-over", "A frame one byte over what is left of the total waits, "
         "however much of its connection's budget is free; one released byte lets it in.",
         1000, {"a": 1000, "b": 1000},
         [("a", "reserve_frame", 700), ("b", "observe"), ("b", "reserve_frame", 301),
          ("a", "release", 1), ("a", "observe"), ("a", "release", 699), ("b", "release", 301)])
    case("larger-than-connection-budget", "A frame larger than its connection's whole budget is "
         "admitted when the connection holds nothing (the total has room); while the "
         "connection holds anything it waits.", 1000, {"a": 100, "b": 100},
         [("a", "reserve_frame", 500), ("a", "observe"), ("b", "observe"),
          ("b", "reserve_frame", 100), ("a", "release", 500), ("a", "reserve_frame", 20),
          ("a", "reserve_frame", 200), ("a", "release", 20), ("a", "release", 200),
          ("b", "release", 100)])
    case("larger-than-total-waits-for-others", "A frame larger than the whole total waits while "
         "another connection holds anything, and is received once the server holds nothing "
         "else; then every connection stops reading, and a frame announced meanwhile waits.",
         100, {"a": 50, "b": 50},
         [("a", "reserve_frame", 20), ("b", "reserve_frame", 1000), ("a", "add", 10),
          ("a", "release", 20), ("a", "release", 10), ("a", "observe"), ("b", "observe"),
          ("a", "reserve_frame", 16), ("b", "release", 1000)])
    case("larger-than-total-alone", "A frame larger than the whole total is admitted at once "
         "when nothing is held.", 100, {"a": 50, "b": 50},
         [("a", "reserve_frame", 1000), ("a", "observe"), ("b", "observe"),
          ("a", "release", 1000), ("b", "observe")])
    case("larger-than-total-own-answer", "An answer of the same connection counts too: the "
         "large frame waits until it is released.", 100, {"a": 100},
         [("a", "add", 1), ("a", "observe"), ("a", "reserve_frame", 1000), ("a", "release", 1),
          ("a", "release", 1000)])
    case("answers-never-refused", "Answers are added beyond the connection's budget and the "
         "total; reading pauses everywhere until enough is released, below each budget.",
         1000, {"a": 600, "b": 600},
         [("a", "reserve_frame", 500), ("a", "add", 400), ("a", "add", 300), ("a", "observe"),
          ("b", "observe"), ("b", "reserve_frame", 16), ("a", "release", 500),
          ("a", "observe"), ("a", "release", 100), ("a", "observe"), ("a", "release", 1),
          ("a", "observe"), ("a", "release", 599), ("b", "release", 16)])
    case("waiting-frame-holds-nothing", "A frame that waits reserves nothing: another "
         "connection's frame that fits is admitted meanwhile, up to the total exactly.",
         1000, {"a": 1000, "b": 1000, "c": 1000},
         [("c", "reserve_frame", 600), ("a", "reserve_frame", 500), ("b", "reserve_frame", 400),
          ("b", "release", 400), ("c", "release", 600), ("a", "release", 500)])
    case("release-admits-every-fitting-frame", "One release lets in every waiting frame that "
         "then fits, whatever the order they are retried in.",
         1000, {"a": 1000, "b": 1000, "c": 1000},
         [("a", "reserve_frame", 900), ("b", "reserve_frame", 300), ("c", "reserve_frame", 300),
          ("a", "release", 900), ("b", "observe"), ("b", "release", 300), ("c", "release", 300)])
    case("release-admits-only-fitting-frames", "A release lets in the waiting frames that fit "
         "in both budgets; one still over its connection's budget waits for that connection's "
         "release.", 1000, {"a": 1000, "b": 1000, "c": 600},
         [("c", "reserve_frame", 500), ("a", "reserve_frame", 400), ("b", "reserve_frame", 300),
          ("c", "reserve_frame", 200), ("a", "release", 400), ("c", "release", 500),
          ("b", "release", 300), ("c", "release", 200)])
    return f


class FairRule:
    """[LIMIT-10] as this generator states it: W workers; a call starts as soon as a worker is
    free; when calls of several connections wait, the next comes from one with the fewest
    running (`allowed`). Among those, these implementations take the one that has waited longest
    for a start: since its oldest waiting call arrived, or since its last call started if that
    is later (so equal connections take turns)."""

    def __init__(self, workers):
        self.workers = workers
        self.waiting, self.running, self.since = {}, {}, {}
        self.clock = 0

    def _now(self):
        self.clock += 1
        return self.clock

    def push(self, connection):
        if not self.waiting.get(connection):
            self.since[connection] = self._now()
        self.waiting[connection] = self.waiting.get(connection, 0) + 1
        return self._next()

    def finished(self, connection):
        assert self.running.get(connection, 0) > 0, "only a running call finishes"
        self.running[connection] -= 1
        return self._next()

    def _next(self):
        waiting = [c for c, count in self.waiting.items() if count]
        if sum(self.running.values()) >= self.workers or not waiting:
            return {"starts": None}
        fewest = min(self.running.get(c, 0) for c in waiting)
        allowed = sorted(c for c in waiting if self.running.get(c, 0) == fewest)
        chosen = min(allowed, key=lambda c: self.since[c])
        self.waiting[chosen] -= 1
        self.running[chosen] = self.running.get(chosen, 0) + 1
        self.since[chosen] = self._now()
        outcome = {"starts": chosen}
        if len(allowed) > 1:
            outcome["starts_one_of"] = allowed
        return outcome


def fair_queue_decisions_file():
    f = VectorFile("decisions/fair_queue_decisions.json",
                   "Which call a server's workers run next ([LIMIT-10]): `workers` W, then "
                   "steps `push` (a call of that connection arrives) or `finished` (a running "
                   "call of that connection ends), each -> `starts`, the connection whose "
                   "waiting call starts now on a free worker, or null (no worker free, or "
                   "nothing waits). A call starts as soon as a worker is free. When calls of "
                   "several connections wait, the next comes from one with the fewest calls "
                   "running: the spec's rule. A step where several connections tie lists them "
                   "all in `starts_one_of`; any of them conforms. `starts` is then what these "
                   "implementations' rule picks (C++ detail/fair_queue.hpp, Python "
                   "availability.FairQueue): among the tied, the connection that has waited "
                   "longest for a start, counted from the arrival of its oldest waiting call or "
                   "from its last call's start if that is later, so that tied connections take "
                   "turns. Steps without `starts_one_of` follow from the spec's rule alone. "
                   "Calls of one connection are not told apart.")

    def case(name, description, workers, steps):
        rule = FairRule(workers)
        scripted = []
        for event, connection in steps:
            scripted.append({event: connection, **getattr(rule, event)(connection)})
        f.add({"id": f"fair-{name}", "description": description, "requirements": ["LIMIT-10"],
               "workers": workers, "steps": scripted})

    def push(connection, times=1):
        return [("push", connection)] * times

    def finished(connection, times=1):
        return [("finished", connection)] * times

    case("one-connection-takes-every-worker", "Alone, one connection's calls take every "
         "worker; its further calls wait for a worker to be freed.", 3,
         push("a", 4) + finished("a") + finished("a", 3))
    case("free-worker-starts-at-once", "While a worker is free a call starts at once, however "
         "many the other connections run.", 3, push("a", 2) + push("b") + finished("a"))
    case("waiting-connection-before-busy-one", "One connection queues ten calls on two "
         "workers; another's one call runs on the next freed worker, before the first's "
         "others.", 2, push("a", 10) + push("b") + finished("a", 2) + finished("b"))
    case("fewest-running-over-longest-waiting", "A connection running nothing goes before one "
         "running a call, though the latter's call waited longer.", 2,
         push("a", 3) + push("b") + finished("a") + finished("a") + finished("b"))
    case("fewest-running-then-turns", "Connection c runs nothing and goes first; then a and b "
         "run one each: a tie.", 3,
         push("a", 2) + push("b") + push("a") + push("c") + push("b") + finished("a")
         + finished("c") + finished("a"))
    case("tied-connections-take-turns", "On one worker, connections running nothing tie "
         "each time; by these implementations' rule they take turns: a, whose calls arrived "
         "first, has one started, then b and c go before a's second call, though it arrived "
         "before theirs.", 1,
         push("x") + push("a", 2) + push("b") + push("c") + finished("x") + finished("a")
         + finished("b") + finished("c") + finished("a"))
    case("nothing-waits", "A finished call with nothing waiting starts nothing; a worker freed "
         "by one connection serves another.", 1,
         push("a") + finished("a") + push("b") + push("a") + finished("b") + finished("a"))
    case("connections-come-and-go", "Connections that come and go one call at a time start "
         "afresh each time; then equal connections take turns.", 1,
         (push("a") + finished("a") + push("b") + finished("b")) * 3
         + push("c") + push("d") + push("e") + push("d") + finished("c") + finished("d")
         + finished("e") + finished("d"))
    return f


# --------------------------------------------------------------------------------------------
# client_call_table.json: the client's decisions on its open calls, no frames
# --------------------------------------------------------------------------------------------

def client_call_table_file():
    f = VectorFile("client_call_table.json", "The client's call table: a sequence of events on "
                   "the calls open on one connection and the actions a client takes for each, in "
                   "order (sections 5, 6.4 to 6.6). No bytes: every client runs them against "
                   "its own decision logic.")

    def start(call, method="invoke", give_up_after=None):
        event = {"event": "start", "id": call, "method": method}
        if give_up_after is not None:
            event["give_up_after"] = give_up_after
        return event

    def answer(call, error=None, malformed=False):
        event = {"event": "response", "id": call, "error": error}
        if malformed:
            event["malformed"] = True
        return event

    def progress(call, fraction):
        return {"event": "progress", "id": call, "fraction": fraction}

    def act(action, call=None, **fields):
        out = {"action": action}
        if call is not None:
            out["id"] = call
        out.update(fields)
        return out

    def sent(call):
        return [act("send_request", call)]

    def done(call, error=None):
        return act("complete", call, error=error)

    def report(requirement):
        return act("report", requirement=requirement)

    def case(vector_id, description, requirements, steps, cancel_in_force=True,
             max_in_flight=None):
        vector = {"id": vector_id, "description": description, "class": "decision",
                  "requirements": requirements, "cancel_in_force": cancel_in_force}
        if max_in_flight is not None:
            vector["max_in_flight"] = max_in_flight
        vector["steps"] = [{"event": event, "actions": actions} for event, actions in steps]
        f.add(vector)

    def held(call):
        return [act("hold_request", call)]

    case("calls-answered-once", "A call is answered once; a second response to its id answers "
         "nothing and is reported.", ["MSG-4", "MSG-8"],
         [(start(1, "ping"), sent(1)), (answer(1), [done(1)]),
          (answer(1), [report("MSG-8")])])
    case("calls-answered-out-of-order", "Responses may come in any order; each completes its "
         "own call.", ["MSG-4"],
         [(start(1, "ping"), sent(1)), (start(2, "invoke"), sent(2)),
          (answer(2, "invalid_argument"), [done(2, "invalid_argument")]),
          (answer(1), [done(1)])])
    case("calls-unknown-id", "A response to an id never used is reported and completes "
         "nothing.", ["MSG-8"],
         [(start(1, "ping"), sent(1)), (answer(5), [report("MSG-8")]), (answer(1), [done(1)])])
    case("calls-duplicate-id", "Starting a call under an id already open fails the new call "
         "with duplicate_id and leaves the open one as it was.", ["MSG-1"],
         [(start(7, "invoke"), sent(7)), (start(7, "ping"), [done(7, "duplicate_id")]),
          (progress(7, 0.5), [act("deliver_progress", 7, fraction=0.5)]),
          (answer(7), [done(7)])])
    case("calls-send-failed", "A call whose request cannot be written fails with that error and "
         "is no longer open.", ["LIMIT-1"],
         [(start(1, "invoke", 5.0), sent(1) + [act("arm_timer", 1, seconds=5.0)]),
          ({"event": "send_failed", "id": 1, "error": "too_large"},
           [act("disarm_timer", 1), done(1, "too_large")]),
          (answer(1), [report("MSG-8")])])
    case("calls-connection-level-error", "A connection-level error is reported and completes "
         "no call.", ["MSG-17"],
         [(start(1, "invoke"), sent(1)), (answer(None, "unknown_kind"), [report("MSG-17")]),
          (answer(1), [done(1)])])
    case("calls-malformed-response", "A malformed response for an open call fails it with "
         "invalid_message and stops its give-up timer.", ["MSG-15"],
         [(start(3, "describe", 10.0), sent(3) + [act("arm_timer", 3, seconds=10.0)]),
          (answer(3, "invalid_message", malformed=True),
           [report("MSG-15"), act("disarm_timer", 3), done(3, "invalid_message")])])
    case("progress-in-order", "Progress of an open invoke reaches its caller; an equal fraction "
         "is not a decrease.", ["PROG-1"],
         [(start(1), sent(1)), (progress(1, 0.25), [act("deliver_progress", 1, fraction=0.25)]),
          (progress(1, 0.25), [act("deliver_progress", 1, fraction=0.25)]),
          (progress(1, 1.0), [act("deliver_progress", 1, fraction=1.0)]), (answer(1), [done(1)])])
    case("progress-decreases", "A fraction below the last one breaks the server's word: the "
         "client reports it, asks the server to stop and fails the call with invalid_message; "
         "the server's later answer is a response to an id that is not open.",
         ["PROG-1", "CANCEL-1", "MSG-8"],
         [(start(2, "invoke", 30.0), sent(2) + [act("arm_timer", 2, seconds=30.0)]),
          (progress(2, 0.6), [act("deliver_progress", 2, fraction=0.6)]),
          (progress(2, 0.3), [report("PROG-1"), act("send_cancel", 2), act("disarm_timer", 2),
                              done(2, "invalid_message")]),
          (answer(2, "cancelled"), [report("MSG-8")])])
    case("progress-decreases-cancel-not-in-force", "The same, with a server that did not list "
         "cancel: no cancel is sent.", ["PROG-1", "CANCEL-5"],
         [(start(2), sent(2)), (progress(2, 0.6), [act("deliver_progress", 2, fraction=0.6)]),
          (progress(2, 0.3), [report("PROG-1"), done(2, "invalid_message")])],
         cancel_in_force=False)
    case("progress-not-an-open-invoke", "Progress for a call that is not an invoke, for an id "
         "never used and after the call's response is reported and ignored.",
         ["PROG-2", "PROG-3"],
         [(start(1, "ping"), sent(1)), (progress(1, 0.5), [report("PROG-3")]),
          (progress(9, 0.5), [report("PROG-3")]), (answer(1), [done(1)]),
          (start(2), sent(2)), (answer(2), [done(2)]), (progress(2, 1.0), [report("PROG-3")])])
    case("cancel-sent-once", "A cancel request sends one cancel, however often it is repeated; "
         "the call still gets its one answer, here the result that won the race.",
         ["CANCEL-1", "CANCEL-2"],
         [(start(4), sent(4)), ({"event": "cancel_requested", "id": 4}, [act("send_cancel", 4)]),
          ({"event": "cancel_requested", "id": 4}, []), (answer(4), [done(4)]),
          ({"event": "cancel_requested", "id": 4}, [])])
    case("cancel-answered-cancelled", "A cancelled call completes with the server's cancelled.",
         ["CANCEL-2"],
         [(start(4), sent(4)), ({"event": "cancel_requested", "id": 4}, [act("send_cancel", 4)]),
          (answer(4, "cancelled"), [done(4, "cancelled")])])
    case("cancel-not-in-force", "A server that did not list cancel gets none; the call waits "
         "for its normal answer.", ["CANCEL-5"],
         [(start(4), sent(4)), ({"event": "cancel_requested", "id": 4}, []),
          (answer(4), [done(4)])], cancel_in_force=False)
    case("cancel-not-open", "A cancel request for an id that is not open sends nothing.",
         ["CANCEL-1"],
         [({"event": "cancel_requested", "id": 8}, []), (start(1, "ping"), sent(1)),
          (answer(1), [done(1)]), ({"event": "cancel_requested", "id": 1}, [])])
    case("cancel-reserved-before-start", "A call whose id the caller reserved and cancelled "
         "before starting it fails with cancelled when it starts; nothing is sent.",
         ["CANCEL-2"],
         [({"event": "reserve", "id": 6}, []), ({"event": "cancel_requested", "id": 6}, []),
          (start(6), [done(6, "cancelled")]), (answer(6), [report("MSG-8")])])
    case("cancel-reserved-after-start", "A reserved id is an ordinary call once started: a "
         "cancel then is sent.", ["CANCEL-1", "CANCEL-2"],
         [({"event": "reserve", "id": 6}, []), (start(6), sent(6)),
          ({"event": "cancel_requested", "id": 6}, [act("send_cancel", 6)]),
          (answer(6, "cancelled"), [done(6, "cancelled")])])
    case("give-up", "The give-up timer of a silent call asks the server to stop it and fails "
         "it with deadline_exceeded; the server's late answer is reported.", ["INV-6", "MSG-8"],
         [(start(5, "invoke", 12.5), sent(5) + [act("arm_timer", 5, seconds=12.5)]),
          ({"event": "give_up", "id": 5}, [act("send_cancel", 5), done(5, "deadline_exceeded")]),
          (answer(5, "deadline_exceeded"), [report("MSG-8")])])
    case("give-up-after-answer", "A give-up timer that fires after its call was answered does "
         "nothing.", ["INV-6"],
         [(start(5, "invoke", 12.5), sent(5) + [act("arm_timer", 5, seconds=12.5)]),
          (answer(5), [act("disarm_timer", 5), done(5)]), ({"event": "give_up", "id": 5}, [])])
    case("connection-lost", "A lost connection fails every open call with the connection's "
         "error (`connection_lost`), in the order of their ids, and every call started later.",
         ["DROP-1"],
         [(start(3, "invoke", 1.0), sent(3) + [act("arm_timer", 3, seconds=1.0)]),
          (start(1, "ping"), sent(1)), (start(2, "catalog"), sent(2)),
          ({"event": "connection_lost"}, [done(1, "connection_lost"), done(2, "connection_lost"),
                                          act("disarm_timer", 3), done(3, "connection_lost")]),
          ({"event": "connection_lost"}, []), (start(4, "ping"), [done(4, "connection_lost")]),
          (answer(3), [report("MSG-8")])])
    case("hold-beyond-max-in-flight", "With max_in_flight invokes open, a further invoke is "
         "held, unsent (its give-up timer runs from its start); other requests are not held. "
         "Each invoke that ends sends the oldest held one before its own completion.",
         ["LIMIT-13", "LIMIT-2"],
         [(start(1), sent(1)), (start(2), sent(2)),
          (start(3, "invoke", 5.0), held(3) + [act("arm_timer", 3, seconds=5.0)]),
          (start(4, "ping"), sent(4)), (start(5), held(5)),
          (progress(3, 0.5), [report("PROG-3")]),
          (answer(2), sent(3) + [done(2)]), (answer(4), [done(4)]),
          (answer(1, "cancelled"), sent(5) + [done(1, "cancelled")]),
          (answer(3), [act("disarm_timer", 3), done(3)]), (answer(5), [done(5)]),
          (start(6), sent(6))], max_in_flight=2)
    case("hold-cancel-and-give-up", "A held call that is cancelled completes with cancelled, "
         "and one whose give-up timer fires with deadline_exceeded; nothing is sent for "
         "either, and neither takes a place of the open invokes.",
         ["LIMIT-13", "CANCEL-2", "INV-6"],
         [(start(1), sent(1)), (start(2, "invoke", 3.0), held(2) + [act("arm_timer", 2, seconds=3.0)]),
          (start(3, "invoke", 4.0), held(3) + [act("arm_timer", 3, seconds=4.0)]),
          ({"event": "cancel_requested", "id": 2}, [act("disarm_timer", 2), done(2, "cancelled")]),
          ({"event": "give_up", "id": 3}, [done(3, "deadline_exceeded")]),
          (answer(1), [done(1)]), (start(4), sent(4)), (answer(2), [report("MSG-8")]),
          (answer(4), [done(4)])], max_in_flight=1)
    case("hold-released-by-client-side-ends", "An invoke that ends on the client's side (given "
         "up, its progress broke the server's word, its request failed to be written) frees its "
         "place for the oldest held call, as an answer does.",
         ["LIMIT-13", "INV-6", "PROG-1", "LIMIT-1"],
         [(start(1, "invoke", 5.0), sent(1) + [act("arm_timer", 1, seconds=5.0)]),
          (start(2), held(2)), (start(3), held(3)), (start(4), held(4)),
          ({"event": "give_up", "id": 1}, [act("send_cancel", 1)] + sent(2)
           + [done(1, "deadline_exceeded")]),
          (progress(2, 0.5), [act("deliver_progress", 2, fraction=0.5)]),
          (progress(2, 0.25), [report("PROG-1"), act("send_cancel", 2)] + sent(3)
           + [done(2, "invalid_message")]),
          ({"event": "send_failed", "id": 3, "error": "too_large"},
           sent(4) + [done(3, "too_large")]),
          (answer(4), [done(4)])], max_in_flight=1)
    case("hold-connection-lost", "A lost connection fails held calls with the open ones, all "
         "in the order of their ids, and sends none of them.", ["LIMIT-13", "DROP-1"],
         [(start(2, "invoke", 1.0), sent(2) + [act("arm_timer", 2, seconds=1.0)]),
          (start(1, "invoke", 2.0), held(1) + [act("arm_timer", 1, seconds=2.0)]),
          (start(3), held(3)),
          ({"event": "connection_lost"}, [act("disarm_timer", 1), done(1, "connection_lost"),
                                          act("disarm_timer", 2), done(2, "connection_lost"),
                                          done(3, "connection_lost")]),
          (start(4), [done(4, "connection_lost")])], max_in_flight=1)
    case("hold-duplicate-id", "An id held is taken: starting another call under it fails with "
         "duplicate_id. Progress or a response for a held call is for an id that is not open.",
         ["LIMIT-13", "MSG-1", "MSG-8", "PROG-3"],
         [(start(1), sent(1)), (start(7), held(7)), (start(7, "ping"), [done(7, "duplicate_id")]),
          (progress(7, 0.5), [report("PROG-3")]), (answer(7), [report("MSG-8")]),
          (answer(1), sent(7) + [done(1)]), (answer(7), [done(7)])], max_in_flight=1)
    case("hold-goodbye-after-held-calls", "A goodbye started while calls are held is held "
         "behind them and sent once the last of them has gone, so that no request follows it "
         "(a held call that ends unsent no longer holds it back).", ["LIMIT-13", "BYE-1"],
         [(start(1), sent(1)), (start(2), held(2)), (start(3), held(3)),
          (start(4, "goodbye"), held(4)),
          ({"event": "cancel_requested", "id": 3}, [done(3, "cancelled")]),
          (answer(1), sent(2) + sent(4) + [done(1)]), (answer(2), [done(2)]),
          (answer(4), [done(4)])], max_in_flight=1)
    case("hold-goodbye-alone", "With no call held, goodbye is sent at once, whatever is open.",
         ["LIMIT-13", "BYE-2"],
         [(start(1), sent(1)), (start(2, "goodbye"), sent(2)), (answer(1), [done(1)]),
          (answer(2), [done(2)])], max_in_flight=1)
    case("hold-id-started-again", "A held call cancelled, then started again under the same "
         "id, is held behind the calls held meanwhile: held calls go in the order they started.",
         ["LIMIT-13", "MSG-1"],
         [(start(1), sent(1)), (start(2), held(2)),
          ({"event": "cancel_requested", "id": 2}, [done(2, "cancelled")]),
          (start(3), held(3)), (start(2), held(2)), (answer(1), sent(3) + [done(1)]),
          (answer(3), sent(2) + [done(3)]), (answer(2), [done(2)])], max_in_flight=1)
    case("hold-default-max-in-flight", "A server that announces no max_in_flight has the "
         "default, 64: the 65th open invoke is held.", ["LIMIT-13"],
         [(start(i), sent(i)) for i in range(1, 65)] + [(start(65), held(65)),
                                                        (answer(64), sent(65) + [done(64)])])
    return f


# --------------------------------------------------------------------------------------------
# Availability decision tables (decisions/timeout_decisions.json, token_delay_decisions.json):
# when a server closes a connection that does not move ([LIMIT-5] to [LIMIT-7]) and how long
# it delays the answer to a failed token ([SEC-11]). Times are integer milliseconds.
# --------------------------------------------------------------------------------------------

TIMEOUT_STATE = ("hello_done", "mid_frame", "reading_paused", "calls_open", "answers_waiting")


def timeout_stretch(steps, i, holds, restarts):
    """When the stretch of steps up to step i began in which `holds` was true at every step and
    `restarts` at none but its first: a state holds from its step until the next one."""
    k = i
    while k > 0 and holds(steps[k - 1]) and not restarts(steps[k]):
        k -= 1
    return steps[k]["at"]


def timeout_rule(timeouts, steps, i):
    """The reasons to close at step i, by section 7.1. [LIMIT-5]: no hello within `hello` of the
    opening (time 0), however slowly it arrives. [LIMIT-7]: a frame begun and no byte of it for
    `stall` while the server reads (a pause of the server's does not count); an answer waiting
    and no byte of it leaving for `stall`, since it began to wait. [LIMIT-6]: after the hello,
    no open request, no answer waiting, no frame begun, reading not paused by the server and
    nothing received for `idle` (read as: all of these for the whole timeout, so a connection
    that just sent an answer is not idle).
    0 disables a timeout. Before the hello, idle and a stalled answer are not stated: the spec
    leaves them to the server, bounded by the hello timeout."""
    step, now = steps[i], steps[i]["at"]
    state = set(step["state"])

    def receiving(s):
        return "mid_frame" in s["state"] and "reading_paused" not in s["state"]

    def waiting(s):
        return "answers_waiting" in s["state"]

    def unoccupied(s):
        return not set(s["state"]) & {"calls_open", "answers_waiting", "mid_frame",
                                      "reading_paused"}

    due = []
    if "hello_done" not in state and timeouts["hello"] and now >= timeouts["hello"]:
        due.append("hello")
    if timeouts["stall"] and "hello_done" in state and waiting(step) and \
            now - timeout_stretch(steps, i, waiting, lambda s: s["sent"] > 0) >= timeouts["stall"]:
        due.append("send_stalled")
    if timeouts["stall"] and receiving(step) and \
            now - timeout_stretch(steps, i, receiving, lambda s: s["received"] > 0) \
            >= timeouts["stall"]:
        due.append("receive_stalled")
    if timeouts["idle"] and "hello_done" in state and unoccupied(step) and \
            now - timeout_stretch(steps, i, unoccupied, lambda s: s["received"] > 0) \
            >= timeouts["idle"]:
        due.append("idle")
    if len(due) > 1:  # which one is named is the implementation's choice: keep cases apart
        raise SystemExit(f"timeout case with two reasons at {now} ms: {due}")
    return due[0] if due else None


def timeout_decisions_file():
    f = VectorFile("decisions/timeout_decisions.json",
                   "When a server closes a connection that does not move (section 7.1): its "
                   "timeouts in milliseconds (0 disables one), then steps, each a time in ms "
                   "since the connection opened, the bytes that arrived and left at that moment "
                   "and the state that holds from then until the next step, in; whether the "
                   "server closes the connection at that moment, and why, out. States change "
                   "only at steps, so an implementation that looks at its connections at ticks "
                   "of its own can be observed at each step; a case ends with its close.")

    def step(at, state=(), received=0, sent=0):
        unknown = set(state) - set(TIMEOUT_STATE)
        if unknown:
            raise SystemExit(f"unknown timeout state {unknown}")
        return {"at": at, "received": received, "sent": sent,
                "state": [name for name in TIMEOUT_STATE if name in state]}

    def case(vector_id, description, requirements, timeouts, steps):
        config = dict(zip(("hello", "idle", "stall"), timeouts))
        for i, s in enumerate(steps):
            if i and s["at"] <= steps[i - 1]["at"]:
                raise SystemExit(f"{vector_id}: steps out of order")
            if "hello_done" in s["state"] and (i == 0 or "hello_done" not in
                                               steps[i - 1]["state"]) and not s["received"]:
                raise SystemExit(f"{vector_id}: the hello is done with its last bytes")
            s["close"] = timeout_rule(config, steps, i)
            if s["close"] and i != len(steps) - 1:
                raise SystemExit(f"{vector_id}: closes before its last step")
        f.add({"id": f"timeout-{vector_id}", "description": description,
               "requirements": requirements, "timeouts": config, "steps": steps})

    usual = (10000, 30000, 5000)  # hello, idle, stall
    hello = ("hello_done",)
    call, waiting, mid = hello + ("calls_open",), hello + ("answers_waiting",), \
        hello + ("mid_frame",)

    # [LIMIT-5]
    case("hello-silent", "A connection that sends nothing is closed at the hello timeout, not "
         "1 ms before.", ["LIMIT-5"], usual, [step(0), step(9999), step(10000)])
    case("hello-trickled", "A hello whose bytes keep coming, a byte every 2 s, is still closed "
         "at the hello timeout however slowly it arrives.", ["LIMIT-5"], usual,
         [step(t, ("mid_frame",), received=1) for t in (0, 2000, 4000, 6000, 8000, 9999)]
         + [step(10000, ("mid_frame",), received=1)])
    case("hello-in-time", "A hello done 1 ms before the hello timeout: the hello timeout no "
         "longer applies, and with the idle timeout off nothing closes the connection.",
         ["LIMIT-5"], (10000, 0, 5000),
         [step(0), step(9999, hello, received=60, sent=40), step(10000, hello),
          step(3600000, hello)])
    case("hello-disabled", "A hello timeout of 0 is off: a connection that sends nothing stays "
         "open (its idle timeout off too).", ["LIMIT-5"], (0, 0, 5000),
         [step(0), step(3600000)])
    case("hello-answer-delayed", "A hello that arrived whole but whose answer the server delays "
         "(a failed token) is still closed at the hello timeout.", ["LIMIT-5", "SEC-11"], usual,
         [step(0), step(2000, received=60), step(9999), step(10000)])
    case("hello-stalled", "A hello that stops arriving is a stalled frame: with a stall timeout "
         "shorter than the hello timeout, it closes the connection first.",
         ["LIMIT-7", "LIMIT-5"], (10000, 30000, 3000),
         [step(0), step(1000, ("mid_frame",), received=16), step(3999, ("mid_frame",)),
          step(4000, ("mid_frame",))])
    case("hello-reading-paused", "A hello whose reading the server paused does not stall, but "
         "the hello timeout still closes the connection.", ["LIMIT-5", "LIMIT-7", "LIMIT-9"],
         usual, [step(0), step(1000, ("mid_frame", "reading_paused"), received=16),
                 step(9999, ("mid_frame", "reading_paused")),
                 step(10000, ("mid_frame", "reading_paused"))])
    # [LIMIT-6]
    case("idle", "A connection with nothing to do after its hello is closed at the idle "
         "timeout, not 1 ms before.", ["LIMIT-6"], usual,
         [step(0), step(500, hello, received=60, sent=40), step(30499, hello),
          step(30500, hello)])
    case("idle-restarted", "Bytes received restart the idle timeout (a notification, no call).",
         ["LIMIT-6"], usual,
         [step(0), step(500, hello, received=60, sent=40), step(20000, hello, received=30),
          step(49999, hello), step(50000, hello)])
    case("idle-not-while-call-open", "No idle close while a request is open, however long, nor "
         "while its answer waits to leave; the idle timeout counts from when the answer has "
         "left.", ["LIMIT-6"], usual,
         [step(0), step(500, hello, received=60, sent=40), step(1000, call, received=50),
          step(60000, call), step(100000, waiting, sent=4096), step(100200, hello, sent=1000),
          step(130199, hello), step(130200, hello)])
    case("idle-not-while-reading-paused", "No idle close while the server has paused reading "
         "the connection (its byte budget), even with no frame begun: a request may be waiting "
         "in it. The idle timeout counts from when reading resumes.", ["LIMIT-6", "LIMIT-9"],
         usual,
         [step(0), step(500, hello, received=60, sent=40),
          step(1000, hello + ("reading_paused",)), step(60000, hello + ("reading_paused",)),
          step(60001, hello), step(90000, hello), step(90001, hello)])
    case("idle-disabled", "An idle timeout of 0 is off.", ["LIMIT-6"], (10000, 0, 5000),
         [step(0), step(500, hello, received=60, sent=40), step(3600000, hello)])
    # [LIMIT-7]
    case("receive-stalled", "A frame begun after the hello whose bytes stop arriving is closed "
         "a stall timeout after its last byte, not 1 ms before.", ["LIMIT-7"], usual,
         [step(0), step(500, hello, received=60, sent=40), step(1000, mid, received=20),
          step(3000, mid, received=100), step(7999, mid), step(8000, mid)])
    case("receive-slow", "A frame whose bytes keep coming, each within the stall timeout of the "
         "last, is not closed; once whole, its call may take as long as it needs.",
         ["LIMIT-7", "LIMIT-6"], usual,
         [step(0), step(500, hello, received=60, sent=40), step(1000, mid, received=16),
          step(5999, mid, received=100), step(10998, mid, received=100),
          step(10999, call, received=100), step(100000, call)])
    case("receive-paused", "While the server has paused reading (its byte budget), a frame "
         "does not stall; the stall timeout counts again from when reading resumes.",
         ["LIMIT-7", "LIMIT-9"], usual,
         [step(0), step(500, hello, received=60, sent=40), step(1000, mid, received=16),
          step(2000, mid + ("reading_paused",)), step(60000, mid + ("reading_paused",)),
          step(60001, mid), step(65000, mid), step(65001, mid)])
    case("send-stalled", "An answer whose bytes stop leaving is closed a stall timeout after "
         "its last byte left, not 1 ms before; bytes leaving within it keep it open.",
         ["LIMIT-7"], usual,
         [step(0), step(500, hello, received=60, sent=40), step(1000, call, received=50),
          step(2000, waiting, sent=1000), step(6999, waiting, sent=1000),
          step(11998, waiting), step(11999, waiting)])
    case("send-stalled-from-the-start", "An answer none of whose bytes leave stalls from when it "
         "began to wait, not from before.", ["LIMIT-7"], usual,
         [step(0), step(500, hello, received=60, sent=40), step(1000, call, received=50),
          step(2000, waiting), step(6999, waiting), step(7000, waiting)])
    case("stall-disabled", "A stall timeout of 0 is off: neither a frame that stops arriving nor "
         "an answer that stops leaving closes the connection.", ["LIMIT-7"], (10000, 0, 0),
         [step(0), step(500, hello, received=60, sent=40), step(1000, call, received=50),
          step(2000, waiting), step(3000, waiting + ("mid_frame",), received=10),
          step(3600000, waiting + ("mid_frame",))])
    return f


def token_delay_decisions_file():
    f = VectorFile("decisions/token_delay_decisions.json",
                   "How long a server delays its unauthorized answer to a missing or wrong token "
                   "([SEC-11]): its configuration in milliseconds (`first`, the delay after a "
                   "first failure from an address; `longest`, where doubling stops; `quiet`, the "
                   "time without failures after which an address starts again at `first`), "
                   "then steps, each a time in ms, a client's network address and the token it "
                   "sent (right, wrong or missing), in; the delay before the answer out (0 for a "
                   "right token). Most cases use the RECOMMENDED 100 ms, 5 s and a minute. A "
                   "case names at most two addresses, fewer than any bound on the addresses "
                   "remembered.")
    recommended = {"first": 100, "longest": 5000, "quiet": 60000}

    def delay_rule(config, steps, i):
        """Delays double per failure from one address up to `longest`; a right token from the
        address, or `quiet` since its last failure, starts it again at `first`."""
        step = steps[i]
        if step["token"] == "right":
            return 0
        delay, last = None, None
        for earlier in steps[:i]:
            if earlier["address"] != step["address"]:
                continue
            if earlier["token"] == "right":
                delay = None
            else:
                fresh = delay is None or earlier["at"] - last >= config["quiet"]
                delay = config["first"] if fresh else min(2 * delay, config["longest"])
                last = earlier["at"]
        if delay is None or step["at"] - last >= config["quiet"]:
            return config["first"]
        return min(2 * delay, config["longest"])

    def case(vector_id, description, steps, config=recommended):
        steps = [{"at": at, "address": address, "token": token}
                 for at, address, token in steps]
        for i, s in enumerate(steps):
            s["delay"] = delay_rule(config, steps, i)
        f.add({"id": f"token-delay-{vector_id}", "description": description,
               "requirements": ["SEC-11"], "config": config, "steps": steps})

    a, b = "192.0.2.1", "2001:db8::7"
    case("first", "A first failure waits 100 ms.", [(0, a, "wrong")])
    case("doubling", "Each further failure doubles the delay, up to 5 s; a missing token counts "
         "as a wrong one.",
         [(t, a, "missing" if t == 3000 else "wrong") for t in range(0, 8000, 1000)])
    case("right-token", "A right token from the address starts it again at 100 ms.",
         [(0, a, "wrong"), (1000, a, "wrong"), (2000, a, "wrong"), (3000, a, "right"),
          (4000, a, "wrong"), (5000, a, "wrong")])
    case("quiet-minute", "A minute without failures from the address, counted from its last "
         "one, starts it again at 100 ms; 1 ms less does not.",
         [(0, a, "wrong"), (59999, a, "wrong"), (119998, a, "wrong"), (179998, a, "wrong")])
    case("per-address", "Each address has its own count: failures and a right token from one "
         "do not change the other's delay.",
         [(0, a, "wrong"), (1000, a, "wrong"), (2000, b, "wrong"), (3000, a, "wrong"),
          (4000, b, "wrong"), (5000, b, "right"), (6000, a, "wrong"), (7000, b, "wrong")])
    case("right-before-failures", "A right token from an address that never failed changes "
         "nothing.", [(0, a, "right"), (1000, a, "wrong"), (2000, a, "wrong")])
    case("configured", "A server configured otherwise (250 ms, up to 1 s, quiet after 10 s) "
         "follows the same rule.",
         [(0, a, "wrong"), (100, a, "wrong"), (200, a, "wrong"), (300, a, "wrong"),
          (10299, a, "wrong"), (20299, a, "wrong")],
         {"first": 250, "longest": 1000, "quiet": 10000})
    return f


def main():
    builders = (frames_file, handshake_file, messages_file, data_file, malformed_file,
                invalid_messages_file, invalid_data_file, catalog_file, descriptors_file,
                client_call_table_file, handshake_decisions_file, connection_decisions_file,
                call_transitions_file, resend_decisions_file)
    builders += (budget_decisions_file, fair_queue_decisions_file)  # section 7.1
    builders += (timeout_decisions_file, token_delay_decisions_file)  # section 7.1, [SEC-11]
    total = 0
    for build in builders:
        vector_file = build()
        count = vector_file.write()
        total += count
        print(f"{vector_file.name}: {count} vectors")
    print(f"{total} vectors written to {OUT_DIR}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
