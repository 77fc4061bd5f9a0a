"""Head encoding and decoding: canonical output, bulk references, and every malformed head."""

import struct

import lz4.frame
import msgpack
import numpy as np
import pytest
import zstandard

from slicerbridge.codec import (Bulk, check_structure, decode_head, encode_frame,
                                encode_message)
from slicerbridge.errors import ErrorCode, SlicerBridgeError
from slicerbridge.frame import HEADER_SIZE, parse_header

ALL_CODECS = ("zstd", "lz4")


def decode(frame: bytes, *, max_depth=32, codecs=(), max_raw_total=2**32):
    head_length, bulk_length = parse_header(frame[:HEADER_SIZE], max_frame=2**62, max_head=2**32)
    head = frame[HEADER_SIZE:HEADER_SIZE + head_length]
    bulk = memoryview(bytearray(frame[HEADER_SIZE + head_length:]))
    assert len(bulk) == bulk_length
    return decode_head(head, bulk, max_depth=max_depth, codecs=codecs,
                       max_raw_total=max_raw_total)


def frame_with(head: bytes, bulk: bytes = b"") -> bytes:
    return struct.pack(">2sBBIQ", b"SB", 1, 0, len(head), len(bulk)) + head + bulk


def ref(offset, length):
    return msgpack.ExtType(1, struct.pack(">QQ", offset, length))


def compressed_ref(offset, length, codec, raw_length):
    return msgpack.ExtType(1, struct.pack(">QQBQ", offset, length, codec, raw_length))


def head_of(value) -> bytes:
    return msgpack.packb(value, use_bin_type=True)


def expect_invalid(head: bytes, code=ErrorCode.INVALID_MESSAGE, **options):
    with pytest.raises(SlicerBridgeError) as raised:
        decode(frame_with(head), **options)
    assert raised.value.code == code
    return raised.value


# -- canonical encoding ---------------------------------------------------------------------

def test_segments_are_aligned_in_depth_first_order_with_zero_padding_CANON_6_BULK_2():
    """[CANON-6] [BULK-2]"""
    message = {"kind": "x", "a": [Bulk(b"abc"), {"b": Bulk(bytes(range(8)))}],
               "c": Bulk(b"\xff" * 5)}
    frame = encode_frame(message)
    head_length, bulk_length = struct.unpack(">IQ", frame[4:16])
    bulk = frame[16 + head_length:]
    assert bulk_length == 21 == len(bulk)
    assert bulk == b"abc" + bytes(5) + bytes(range(8)) + b"\xff" * 5
    decoded = decode(frame).value
    assert bytes(decoded["a"][0].data) == b"abc"
    assert bytes(decoded["a"][1]["b"].data) == bytes(range(8))
    assert bytes(decoded["c"].data) == b"\xff" * 5
    # Re-encoding what was decoded reproduces the frame byte for byte [CANON-9].
    assert encode_frame(decoded) == frame


def test_no_segments_means_empty_bulk_CANON_6():
    """[CANON-6]"""
    assert encode_frame({"kind": "x"})[8:16] == bytes(8)


def test_references_use_fixext16_CANON_7():
    """[CANON-7]"""
    head = encode_message({"r": Bulk(b"x")}).head
    assert head == bytes.fromhex("81a172d801") + bytes(8) + struct.pack(">Q", 1)


@pytest.mark.parametrize("value,encoded", [
    (5, "05"), (200, "ccc8"), (65535, "cdffff"), (65536, "ce00010000"),
    (2**32, "cf0000000100000000"), (-1, "ff"), (-33, "d0df"), (-129, "d1ff7f"),
    (-2**31, "d280000000"), (-2**63, "d38000000000000000"),
    (1.5, "cb3ff8000000000000"), (np.float32(0.5), "cb3fe0000000000000"),
    (np.int16(-3), "fd"), ("", "a0"), ("a" * 32, "d920" + "61" * 32), (b"\x01", "c40101"),
    (True, "c3"), (None, "c0")])
def test_smallest_formats_and_float64_CANON_2_CANON_3_CANON_4(value, encoded):
    """[CANON-2] [CANON-3] [CANON-4]"""
    assert encode_message(value).head.hex() == encoded


def test_non_minimal_encodings_are_accepted_HEAD_3():
    """[HEAD-3]"""
    head = bytes.fromhex("82a4") + b"kind" + bytes.fromhex("da0001") + b"x" + \
        bytes.fromhex("a1") + b"v" + bytes.fromhex("ce00000005")
    assert decode(frame_with(head)).value == {"kind": "x", "v": 5}
    float32 = bytes.fromhex("81a166ca3f400000")
    assert decode(frame_with(float32)).value == {"f": 0.75}


def test_final_timing_can_be_patched_after_encoding():
    encoded = encode_message({"kind": "response", "timings": {"sending": 0.0}})
    encoded.replace_final_float(0.25)
    assert decode(encoded.to_bytes()).value["timings"]["sending"] == 0.25


# -- bulk references --------------------------------------------------------------------------

def test_received_segments_are_views_of_the_bulk_not_copies_FRAME_6():
    """[FRAME-6]"""
    frame = encode_frame({"kind": "x", "v": Bulk(np.arange(4, dtype=np.uint8))})
    head_length = struct.unpack(">I", frame[4:8])[0]
    bulk = memoryview(bytearray(frame[HEADER_SIZE + head_length:]))
    value = decode_head(frame[HEADER_SIZE:HEADER_SIZE + head_length], bulk, max_depth=32).value
    bulk[2] = 99
    assert value["v"].data[2] == 99


def test_overlapping_zero_length_and_uncovered_segments_are_accepted_BULK_3():
    """[BULK-3]"""
    head = head_of({"a": ref(0, 4), "b": ref(2, 4), "c": ref(6, 0), "d": ref(8, 0)})
    value = decode(frame_with(head, b"abcdefghXYZ")).value
    assert [bytes(value[k].data) for k in "abcd"] == [b"abcd", b"cdef", b"", b""]


@pytest.mark.parametrize("offset,length", [(0, 9), (9, 0), (5, 4), (2**64 - 1, 2),
                                           (2, 2**64 - 1)])
def test_reference_beyond_the_bulk_is_invalid_BULK_1(offset, length):
    """[BULK-1]"""
    result = decode(frame_with(head_of({"kind": "x", "v": ref(offset, length)}), b"12345678"))
    assert result.bulk_error.code == ErrorCode.INVALID_MESSAGE
    assert result.value["kind"] == "x"  # the head is still there to answer under its id


@pytest.mark.parametrize("ext", [
    "d701" + "00" * 8,              # type 1, 8 bytes
    "c71801" + "00" * 24,           # type 1, 24 bytes
    "d802" + "00" * 16,             # type 2
    "d800" + "00" * 16,             # type 0
    "d6ff00000001",                 # MessagePack timestamp (-1)
    "c7007f"])                      # type 127, empty
def test_other_ext_values_are_invalid_BULK_4(ext):
    """[BULK-4] [BULK-9]: refused, with the rest of the head kept for answering under its id."""
    result = decode(frame_with(bytes.fromhex("82a46b696e64a178a176") + bytes.fromhex(ext)))
    assert result.bulk_error.code == ErrorCode.INVALID_MESSAGE
    assert result.value == {"kind": "x", "v": None}


def zstd_segment(raw: bytes, **options) -> bytes:
    return zstandard.ZstdCompressor(**options).compress(raw)


RAW = bytes(range(256)) * 64


@pytest.mark.parametrize("codec,number,segment", [
    ("zstd", 1, zstd_segment(RAW)),
    ("zstd", 1, zstd_segment(RAW, write_content_size=False)),
    ("lz4", 2, lz4.frame.compress(RAW, content_checksum=True,
                                  block_size=lz4.frame.BLOCKSIZE_MAX64KB))])
def test_compressed_segments_decode_when_in_force_BULK_5_CODEC_4(codec, number, segment):
    """[BULK-5] [CODEC-4]"""
    head = head_of({"v": compressed_ref(0, len(segment), number, len(RAW))})
    value = decode(frame_with(head, segment), codecs=(codec,)).value
    assert bytes(value["v"].data) == RAW and value["v"].codec == codec


@pytest.mark.parametrize("number,codecs", [(1, ()), (2, ("zstd",)), (0, ALL_CODECS),
                                           (3, ALL_CODECS), (255, ALL_CODECS)])
def test_codec_not_in_force_or_unknown_is_unsupported_codec_BULK_5_BULK_7_CAP_2(number, codecs):
    """[BULK-5] [BULK-7] [CAP-2]"""
    segment = zstd_segment(RAW)
    head = head_of({"v": compressed_ref(0, len(segment), number, len(RAW))})
    result = decode(frame_with(head, segment), codecs=codecs)
    assert result.bulk_error.code == ErrorCode.UNSUPPORTED_CODEC


def test_raw_length_over_the_limit_is_frame_too_large_without_decompressing_BULK_6():
    """[BULK-6]"""
    segment = zstd_segment(RAW)
    head = head_of({"v": compressed_ref(0, len(segment), 1, 2**40)})
    result = decode(frame_with(head, segment), codecs=ALL_CODECS, max_raw_total=2**32)
    assert result.bulk_error.code == ErrorCode.FRAME_TOO_LARGE


def test_decompressed_sizes_are_bounded_together_SEC_4():
    """[SEC-4]"""
    segment = zstd_segment(RAW)
    head = head_of({"a": compressed_ref(0, len(segment), 1, len(RAW)),
                    "b": compressed_ref(0, len(segment), 1, len(RAW))})
    result = decode(frame_with(head, segment), codecs=ALL_CODECS,
                    max_raw_total=len(RAW) * 2 - 1)
    assert result.bulk_error.code == ErrorCode.FRAME_TOO_LARGE


@pytest.mark.parametrize("codec,number,segment,raw_length", [
    ("zstd", 1, zstd_segment(RAW), len(RAW) - 1),                       # declared size differs
    ("zstd", 1, zstd_segment(RAW, write_content_size=False), len(RAW) - 1),  # output too long
    ("zstd", 1, zstd_segment(RAW, write_content_size=False), len(RAW) + 1),  # output too short
    ("zstd", 1, zstd_segment(RAW) + zstd_segment(RAW), len(RAW)),         # two frames
    ("zstd", 1, zstd_segment(RAW) + b"junk", len(RAW)),                   # trailing bytes
    ("zstd", 1, b"\x00" * 4 + zstd_segment(RAW)[4:], len(RAW)),          # corrupt magic
    ("zstd", 1, zstd_segment(RAW)[:-3], len(RAW)),                        # truncated
    ("lz4", 2, lz4.frame.compress(RAW), len(RAW) - 1),
    ("lz4", 2, lz4.frame.compress(RAW), len(RAW) + 1),
    ("lz4", 2, lz4.frame.compress(RAW) + b"x", len(RAW)),
    ("lz4", 2, b"\x00" * 4 + lz4.frame.compress(RAW)[4:], len(RAW)),
    ("lz4", 2, lz4.frame.compress(RAW)[:-5], len(RAW))])
def test_bad_compressed_segments_are_invalid_BULK_5_BULK_8(codec, number, segment, raw_length):
    """[BULK-5] [BULK-8]"""
    head = head_of({"v": compressed_ref(0, len(segment), number, raw_length)})
    result = decode(frame_with(head, segment), codecs=ALL_CODECS)
    assert result.bulk_error.code == ErrorCode.INVALID_MESSAGE


def test_decompression_bomb_stops_at_raw_length_BULK_6():
    """[BULK-6]"""
    bomb = zstd_segment(bytes(256 << 20), write_content_size=False)
    lz4_bomb = lz4.frame.compress(bytes(256 << 20))
    for number, segment in ((1, bomb), (2, lz4_bomb)):
        head = head_of({"v": compressed_ref(0, len(segment), number, 4096)})
        result = decode(frame_with(head, segment), codecs=ALL_CODECS)
        assert result.bulk_error.code == ErrorCode.INVALID_MESSAGE


@pytest.mark.parametrize("codec", ALL_CODECS)
def test_encoder_compresses_only_segments_it_shrinks_CODEC_2(codec):
    """[CODEC-2]"""
    noise = np.random.default_rng(7).integers(0, 256, 4096, dtype=np.uint8)
    message = {"kind": "x", "zeros": Bulk(bytes(100000)), "noise": Bulk(noise)}
    frame = encode_frame(message, compression=codec)
    assert len(frame) < 100000
    value = decode(frame, codecs=(codec,)).value
    assert value["zeros"].codec == codec and bytes(value["zeros"].data) == bytes(100000)
    assert value["noise"].codec is None and bytes(value["noise"].data) == noise.tobytes()


# -- malformed heads --------------------------------------------------------------------------

def nested(depth: int) -> bytes:
    return b"\x91" * (depth - 1) + b"\x90"


def test_depth_up_to_the_limit_is_accepted_and_beyond_it_refused_HEAD_5():
    """[HEAD-5]"""
    assert decode(frame_with(b"\x81\xa1d" + nested(31)), max_depth=32).value["d"] is not None
    expect_invalid(b"\x81\xa1d" + nested(32), max_depth=32)
    expect_invalid(b"\x81\xa1d" + nested(4), max_depth=4)
    assert decode(frame_with(b"\x81\xa1d" + nested(3)), max_depth=4).value == {"d": [[[]]]}


def test_nesting_bomb_is_refused_before_building_anything_HEAD_5_SEC_4():
    """[HEAD-5] [SEC-4]"""
    bomb = b"\x81\xa1d" + b"\xdd\x00\x00\x00\x01" * 1_000_000 + b"\xc0"
    expect_invalid(bomb)
    map_bomb = b"\x81\xa1d" + b"\x81\xa1k" * 100_000 + b"\xc0"
    expect_invalid(map_bomb)


@pytest.mark.parametrize("head", [
    bytes.fromhex("81") + b"\x01" + b"\x02",                      # integer key
    bytes.fromhex("81c403") + b"key" + b"\x01",                   # binary key
    bytes.fromhex("81a16b81c0c0"),                                # nil key in a nested map
    bytes.fromhex("81a16b91819001")])                             # array key
def test_map_keys_must_be_strings_HEAD_6(head):
    """[HEAD-6]"""
    expect_invalid(head)


def test_duplicate_keys_are_refused_HEAD_7():
    """[HEAD-7]"""
    expect_invalid(bytes.fromhex("82a16b01a16b02"))
    expect_invalid(bytes.fromhex("81a16182a17801a17802"))


@pytest.mark.parametrize("head", [
    bytes.fromhex("dd7fffffff"),               # array 32 claiming 2^31 - 1 elements
    bytes.fromhex("df7fffffff"),               # map 32
    bytes.fromhex("81a16bdbffffffff"),          # str 32 of 4 GiB
    bytes.fromhex("81a16bc6ffffffff"),          # bin 32
    bytes.fromhex("81a16bc9ffffffff01"),        # ext 32
    bytes.fromhex("81a16bdc0003c0c0")])         # array 16 with fewer elements than declared
def test_declared_lengths_beyond_the_head_are_refused_HEAD_8(head):
    """[HEAD-8]"""
    expect_invalid(head)


def test_invalid_utf8_is_refused_HEAD_9():
    """[HEAD-9]"""
    expect_invalid(bytes.fromhex("81a16ba2c328"))


@pytest.mark.parametrize("head", [b"", b"\xc1", b"\x81\xa1k", b"\x80\x80", b"\x81\xa1k\x01\x00",
                                  b"\x81\xa1k\xcb\x00"])
def test_head_must_be_exactly_one_object_FRAME_4(head):
    """[FRAME-4]"""
    expect_invalid(head)


def test_structure_check_accepts_every_format():
    value = {"ints": [0, 127, 128, 255, 256, 65535, 65536, 2**32, 2**64 - 1, -1, -32, -33,
                      -128, -129, -32768, -32769, -2**31, -2**31 - 1, -2**63],
             "floats": [1.5, float("inf")], "strings": ["", "a" * 31, "b" * 32, "c" * 256,
                                                        "d" * 65536],
             "binary": [b"", b"x" * 256, b"y" * 65536], "nil": None, "bools": [True, False],
             "array16": list(range(16)), "map16": {f"k{i}": i for i in range(16)},
             "ref": Bulk(b"abc"), "zref": msgpack.ExtType(1, bytes(25))}
    check_structure(encode_message(value).head, 32)
    float32 = bytes.fromhex("81a166ca3f400000")
    check_structure(float32, 1)


def test_typed_data_travels_in_the_bulk_not_the_head_FRAME_11():
    """[FRAME-11]: a 1 MiB image and a mesh go out with their numbers as bulk references; the
    head holds only the small description of them."""
    from slicerbridge.data import Image, Mesh
    image = Image(np.arange(64 * 64 * 128, dtype=np.uint16).reshape(128, 64, 64))
    points = np.random.default_rng(11).random((5000, 3))
    mesh = Mesh(points)
    encoded = encode_message({"kind": "response", "id": 1,
                              "result": {"outputs": {"image": image.to_wire(),
                                                     "mesh": mesh.to_wire()}}})
    assert len(encoded.head) < 1024
    assert encoded.size - len(encoded.head) - HEADER_SIZE >= image.voxels.nbytes + points.nbytes
    head = msgpack.unpackb(encoded.head, raw=False, ext_hook=lambda code, data: ("ext", code))
    outputs = head["result"]["outputs"]
    assert outputs["image"]["data"] == ("ext", 1) and outputs["mesh"]["points"]["data"] == ("ext", 1)


@pytest.mark.parametrize("codec", ["zstd", "lz4"])
def test_compression_applies_to_bulk_segments_never_to_the_head_CODEC_3(codec):
    """[CODEC-3]: with a codec in force, the head is still plain MessagePack that any decoder
    reads; only the segment is compressed (a 25-byte reference with the codec's id)."""
    payload = bytes(1 << 20)  # compresses well
    encoded = encode_message({"kind": "request", "id": 1, "method": "ping",
                              "params": {"x-text": "a" * 4096, "x-blob": Bulk(payload)}},
                             compression=codec)
    refs = []
    head = msgpack.unpackb(encoded.head, raw=False,
                           ext_hook=lambda code, data: refs.append((code, data)) or "ref")
    assert head["params"]["x-text"] == "a" * 4096  # compressible, yet sent as is
    assert [(code, len(data)) for code, data in refs] == [(1, 25)]
    assert refs[0][1][16] == {"zstd": 1, "lz4": 2}[codec]
    assert encoded.size - len(encoded.head) - HEADER_SIZE < len(payload) // 10
