"""The suite's own wire codec: what it accepts and refuses is what the suite judges others by."""

from __future__ import annotations

import glob
import json
import os
import struct

import msgpack
import pytest

from conftest import REPOSITORY
from slicerbridge_conformance import compression, wire
from slicerbridge_conformance.codec_mode import same_json

LIMITS = wire.Limits()


def head_error(head: bytes, limits: wire.Limits = LIMITS, bulk: bytes = b"", codecs=()) -> str:
    with pytest.raises(wire.WireError) as raised:
        wire.decode_head(head, bulk, limits, codecs)
    return raised.value.name


@pytest.mark.parametrize("value", [
    0, 127, 128, 255, 256, 65535, 65536, (1 << 32) - 1, 1 << 32, (1 << 64) - 1, -1, -32, -33, -128,
    -129, -32768, -32769, -(1 << 31), -(1 << 31) - 1, -(1 << 63), "", "a" * 31, "a" * 32, "a" * 255,
    "a" * 256, "a" * 65536, "snow \u2603", b"", b"\x00" * 300, [], [1] * 15, [1] * 16, [1] * 65536,
    {}, {"k%d" % i: i for i in range(16)}, None, True, False, 0.5, -0.0, float("inf"),
])
def test_encoder_writes_the_smallest_formats_like_msgpack_CANON_2_CANON_4(value):
    """[CANON-2] [CANON-4]: msgpack-python also writes the smallest formats (and str 8)."""
    assert wire.pack(value) == msgpack.packb(value, use_bin_type=True)


def test_floats_are_float64_and_nan_is_the_quiet_nan_CANON_3():
    """[CANON-3]"""
    assert wire.pack(1.0) == b"\xcb" + struct.pack(">d", 1.0)
    assert wire.pack(float("nan")) == bytes.fromhex("cb7ff8000000000000")


def test_non_minimal_encodings_decode_to_the_same_values_HEAD_3():
    """[HEAD-3]"""
    head = wire.pack(wire.Map32(((wire.Str("kind", "str32"), wire.Str("x", "str16")),
                                 ("n", wire.Int(5, "uint64")), ("m", wire.Int(-1, "int64")),
                                 ("f", wire.Float32(0.5)), ("a", wire.Array32((1,))))))
    assert wire.decode_head(head, b"", LIMITS) == {"kind": "x", "n": 5, "m": -1, "f": 0.5, "a": [1]}


@pytest.mark.parametrize("head, why", [
    (b"", "empty head [FRAME-4]"),
    (b"\xc1", "never valid [MSG-11]"),
    (b"\x81\xa1k\xc0\xc0", "bytes after the object [FRAME-4]"),
    (b"\x82\xa1k\xc0", "incomplete map [FRAME-4]"),
    (b"\x92\x01\x02", "not a map [HEAD-1]"),
    (b"\x81\x01\xc0", "integer key [HEAD-6]"),
    (b"\x81\xa1k\x81\x01\xc0", "nested integer key [HEAD-6]"),
    (b"\x82\xa1k\x01\xa1k\x02", "duplicate key [HEAD-7]"),
    (b"\x81\xa1k\xdd\xff\xff\xff\xff\x00", "array count beyond the bytes [HEAD-8]"),
    (b"\x81\xa1k\xdf\x7f\xff\xff\xff\x00", "map count beyond the bytes [HEAD-8]"),
    (b"\x81\xa1k\xdb\xff\xff\xff\xffab", "string length beyond the bytes [HEAD-8]"),
    (b"\x81\xa1k\xa2\xff\xfe", "invalid UTF-8 [HEAD-9]"),
    (b"\x81\xa1k\xd6\xff\x00\x00\x00\x01", "timestamp ext [BULK-4]"),
    (b"\x81\xa1k\xc7\x0c\x01" + bytes(12), "bulk reference of 12 bytes [BULK-4]"),
])
def test_malformed_heads_are_invalid_message(head, why):
    assert head_error(head) == "invalid_message", why


def test_depth_limit_is_exact_HEAD_5():
    """[HEAD-5]: a head map of scalars has depth 1; max_depth itself is accepted."""
    limits = wire.Limits(max_depth=5)
    at_limit = b"\x81\xa1k" + b"\x91" * 4 + b"\xc0"
    assert wire.decode_head(at_limit, b"", limits) == {"k": [[[[None]]]]}
    assert head_error(b"\x81\xa1k" + b"\x91" * 5 + b"\xc0", limits) == "invalid_message"
    assert head_error(b"\x81\xa1k" + b"\x91" * 100000 + b"\xc0") == "invalid_message"


@pytest.mark.parametrize("header, limits, error", [
    (b"XX\x01\x00" + bytes(12), LIMITS, "malformed_frame"),
    (b"SB\x02\x00" + bytes(12), LIMITS, "malformed_frame"),
    (wire.frame_header(101, 0), wire.Limits(max_head=100), "frame_too_large"),
    (wire.frame_header(10, 75), wire.Limits(max_frame=100), "frame_too_large"),
    (wire.frame_header(30, (1 << 64) - 22), LIMITS, "frame_too_large"),
])
def test_headers_are_checked_before_anything_else_FRAME_1_FRAME_3_FRAME_9(header, limits, error):
    """[FRAME-1] [FRAME-3] [FRAME-9]: the header alone decides, even with nothing after it."""
    with pytest.raises(wire.WireError) as raised:
        wire.decode_frame(header, limits)
    assert raised.value.name == error


def test_incomplete_frames_are_truncated_once_the_present_bytes_pass_ERR_5():
    """[ERR-5]"""
    frame = wire.encode_frame({"kind": "request", "id": 1, "method": "ping"})
    for cut in (1, 5, 16, 20, len(frame) - 1):
        with pytest.raises(wire.WireError) as raised:
            wire.decode_frame(frame[:cut], LIMITS)
        assert raised.value.name == "truncated"
    with pytest.raises(wire.WireError) as raised:
        wire.decode_frame(b"XX\x01", LIMITS)
    assert raised.value.name == "malformed_frame"


def test_flags_are_ignored_by_the_decoder_FRAME_2():
    """[FRAME-2]"""
    frame, _ = wire.decode_frame(wire.encode_frame({"kind": "x"}, flags=0xFF), LIMITS)
    assert frame.header.flags == 0xFF and frame.head == {"kind": "x"}


def test_bulk_segments_are_laid_out_canonically_CANON_6_CANON_7():
    """[CANON-6] [CANON-7]: depth-first order, each at the next multiple of 8, zero padding; an
    empty last segment still starts at a multiple of 8, so the bulk ends with its padding."""
    frame = wire.encode_frame({"a": wire.Bulk(b"\x01" * 3), "b": [wire.Bulk(b"\x02" * 9), wire.Bulk(b"")]})
    decoded, size = wire.decode_frame(frame, LIMITS)
    assert size == len(frame)
    assert [(v.offset, v.length) for v in (decoded.head["a"], *decoded.head["b"])] == [(0, 3), (8, 9), (24, 0)]
    assert decoded.bulk == b"\x01" * 3 + bytes(5) + b"\x02" * 9 + bytes(7)
    assert b"\xd8\x01" in decoded.head_bytes  # fixext 16, type 1


def ref_head(ext: wire.Ext) -> bytes:
    return wire.pack({"kind": "x", "data": ext})


@pytest.mark.parametrize("ext, bulk, codecs, error", [
    (wire.bulk_ref_bytes(0, 9), bytes(8), (), "invalid_message"),
    (wire.bulk_ref_bytes((1 << 64) - 4, 8), bytes(8), (), "invalid_message"),
    (wire.Ext(2, bytes(16)), bytes(8), (), "invalid_message"),
    (wire.bulk_ref_bytes(0, 8, 1, 8), bytes(8), (), "unsupported_codec"),
    (wire.bulk_ref_bytes(0, 8, 9, 8), bytes(8), ("zstd", "lz4"), "unsupported_codec"),
    (wire.bulk_ref_bytes(0, 8, 0, 8), bytes(8), ("zstd", "lz4"), "unsupported_codec"),
    (wire.bulk_ref_bytes(0, 8, 1, (1 << 32) + 1), bytes(8), ("zstd",), "frame_too_large"),
])
def test_bulk_references_are_checked_BULK_1_BULK_4_BULK_5_BULK_6_BULK_7(ext, bulk, codecs, error):
    """[BULK-1] [BULK-4] [BULK-5] [BULK-6] [BULK-7]"""
    assert head_error(ref_head(ext), bulk=bulk, codecs=codecs) == error


def test_compressed_segments_decode_exactly_BULK_5_BULK_8():
    """[BULK-5] [BULK-8]: raw_length must match, and one frame only."""
    raw = bytes(range(200)) * 5
    for codec in ("zstd", "lz4"):
        payload = compression.compress(codec, raw)
        ext = wire.bulk_ref_bytes(0, len(payload), compression.CODEC_IDS[codec], len(raw))
        assert wire.decode_head(ref_head(ext), payload, LIMITS, [codec])["data"].data == raw
        wrong = wire.bulk_ref_bytes(0, len(payload), compression.CODEC_IDS[codec], len(raw) + 1)
        assert head_error(ref_head(wrong), bulk=payload, codecs=[codec]) == "invalid_message"
        padded = payload + b"\x00"
        extra = wire.bulk_ref_bytes(0, len(padded), compression.CODEC_IDS[codec], len(raw))
        assert head_error(ref_head(extra), bulk=padded, codecs=[codec]) == "invalid_message"


def test_raw_lengths_of_one_frame_share_max_frame_BULK_6():
    """[BULK-6]"""
    payload = compression.compress("lz4", bytes(600))
    ext = wire.bulk_ref_bytes(0, len(payload), 2, 600)
    head = wire.pack({"kind": "x", "a": ext, "b": ext})
    assert wire.decode_head(head, payload, wire.Limits(max_frame=1200), ["lz4"])["b"].data == bytes(600)
    assert head_error(head, wire.Limits(max_frame=1199), payload, ["lz4"]) == "frame_too_large"


def test_json_convention_tells_integers_from_floats():
    value = {"i": 1, "f": 1.0, "b": True, "n": float("nan"), "x": b"\x01", "s": wire.BulkData(b"\x02", "lz4", 0, 1)}
    converted = wire.to_json(value)
    assert converted == {"i": 1, "f": 1.0, "b": True, "n": {"$float": "nan"}, "x": {"$bin": "01"},
                         "s": {"$bulk": {"hex": "02", "codec": "lz4"}}}
    assert not same_json(1, 1.0) and not same_json(True, 1) and not same_json({"a": 1, "b": 2}, {"b": 2, "a": 1})
    assert wire.to_json(wire.from_json(converted)) == converted


SPEC_VECTORS = os.path.join(REPOSITORY, "spec", "vectors")
CODEC_VECTORS = [vector for name in ("frames", "handshake", "messages", "data", "malformed")
                 for path in glob.glob(os.path.join(SPEC_VECTORS, f"{name}.json"))
                 for vector in json.load(open(path, encoding="utf-8"))["vectors"]]


@pytest.mark.parametrize("vector", CODEC_VECTORS, ids=[v["id"] for v in CODEC_VECTORS])
def test_spec_vectors_CANON_9(vector):
    """[CANON-9]: the suite's decoder agrees with every golden vector of the codec layer."""
    limits = wire.Limits(**vector.get("limits", {}))
    data = bytes.fromhex(vector["hex"])
    if vector["class"] == "reject":
        with pytest.raises(wire.WireError) as raised:
            wire.decode_frame(data, limits, vector.get("codecs", []))
        assert raised.value.name == vector["error"]
        return
    frame, size = wire.decode_frame(data, limits, vector.get("codecs", []))
    assert size == len(data)
    assert same_json(wire.to_json(frame.head), vector["decoded"])
    if vector.get("canonical"):
        assert wire.encode_canonical(frame.head).hex() == vector["hex"]
