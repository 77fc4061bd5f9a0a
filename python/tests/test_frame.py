"""Framing: header checks before allocation, incremental reads, truncation, partial writes."""

import struct

import numpy as np
import pytest

from conftest import MemoryTransport
from slicerbridge.codec import Bulk, encode_frame, encode_message
from slicerbridge.errors import ConnectionLost, ErrorCode, FatalProtocolError
from slicerbridge.frame import HEADER_SIZE, FrameReader, encode_header, parse_header

PING = {"kind": "request", "id": 1, "method": "ping"}


def header(magic=b"SB", fmt=1, flags=0, head_length=30, bulk_length=0):
    return struct.pack(">2sBBIQ", magic, fmt, flags, head_length, bulk_length)


def test_header_layout_is_big_endian_with_magic_and_format_FRAME_1_FRAME_2():
    """[FRAME-1] [FRAME-2]"""
    assert encode_header(0x1e, 0x0102030405) == bytes.fromhex(
        "53420100" "0000001e" "0000000102030405")


@pytest.mark.parametrize("bad", [header(magic=b"XB"), header(fmt=2), header(fmt=0)])
def test_bad_magic_or_format_is_malformed_frame_FRAME_1(bad):
    """[FRAME-1]"""
    with pytest.raises(FatalProtocolError) as raised:
        parse_header(bad, max_frame=2**32, max_head=2**24)
    assert raised.value.code == ErrorCode.MALFORMED_FRAME


def test_flags_are_ignored_FRAME_2():
    """[FRAME-2]"""
    assert parse_header(header(flags=0xa5), max_frame=2**32, max_head=2**24) == (30, 0)


def test_oversized_head_and_frame_are_refused_from_the_header_alone_FRAME_3():
    """[FRAME-3]"""
    with pytest.raises(FatalProtocolError) as raised:
        parse_header(header(head_length=2**32 - 1), max_frame=2**40, max_head=2**24)
    assert raised.value.code == ErrorCode.FRAME_TOO_LARGE
    with pytest.raises(FatalProtocolError) as raised:
        parse_header(header(head_length=30, bulk_length=2**32 - 46 + 1), max_frame=2**32,
                     max_head=2**24)
    assert raised.value.code == ErrorCode.FRAME_TOO_LARGE
    assert parse_header(header(head_length=30, bulk_length=2**32 - 46), max_frame=2**32,
                        max_head=2**24) == (30, 2**32 - 46)


def test_frame_size_does_not_wrap_around_FRAME_9():
    # head + bulk beyond 2^64 - 1 must not wrap to a small size.
    """[FRAME-9]"""
    with pytest.raises(FatalProtocolError) as raised:
        parse_header(header(head_length=0xffffffff, bulk_length=2**64 - 1), max_frame=2**64,
                     max_head=2**32)
    assert raised.value.code == ErrorCode.FRAME_TOO_LARGE


def test_oversized_header_is_reported_before_the_missing_rest_ERR_5():
    """[ERR-5]"""
    reader = FrameReader(MemoryTransport(header(head_length=2**32 - 1)))
    with pytest.raises(FatalProtocolError) as raised:
        reader.read_frame(max_frame=2**32, max_head=2**24)
    assert raised.value.code == ErrorCode.FRAME_TOO_LARGE


def test_reader_reads_consecutive_frames_one_byte_at_a_time_FRAME_6():
    """[FRAME-6]"""
    payload = np.arange(70000, dtype=np.uint8)
    data = encode_frame(PING) + encode_frame({"kind": "x", "v": Bulk(payload)}) + encode_frame(PING)
    reader = FrameReader(MemoryTransport(data, chunk=1), buffer_size=64)
    first = reader.read_frame(max_frame=2**32, max_head=2**24)
    second = reader.read_frame(max_frame=2**32, max_head=2**24)
    third = reader.read_frame(max_frame=2**32, max_head=2**24)
    assert bytes(first.head) == bytes(third.head) == encode_frame(PING)[HEADER_SIZE:]
    assert bytes(second.bulk) == payload.tobytes()
    assert reader.read_frame(max_frame=2**32, max_head=2**24) is None


def test_large_bulk_goes_straight_into_its_buffer_FRAME_6():
    """[FRAME-6]"""
    payload = np.arange(1 << 20, dtype=np.uint32)
    data = encode_frame({"kind": "x", "v": Bulk(payload)})
    transport = MemoryTransport(data)
    frame = FrameReader(transport).read_frame(max_frame=2**32, max_head=2**24)
    # One read fills the small buffer with header, head and the start of the bulk; the rest of
    # the bulk arrives in one read into its own buffer.
    assert transport.reads == 2
    assert np.array_equal(np.frombuffer(frame.bulk, dtype=np.uint32), payload)


@pytest.mark.parametrize("cut", [1, 10, 15, 16, 20, 45])
def test_stream_ending_inside_a_frame_is_a_dropped_connection_FRAME_8(cut):
    """[FRAME-8]"""
    data = encode_frame({"kind": "x", "v": Bulk(b"abcdefgh")})
    reader = FrameReader(MemoryTransport(data[:cut]))
    with pytest.raises(ConnectionLost):
        reader.read_frame(max_frame=2**32, max_head=2**24)


def test_end_of_stream_between_frames_is_clean_FRAME_12():
    """[FRAME-12]: before any frame and after a whole one, end of stream is not a truncation."""
    reader = FrameReader(MemoryTransport(b""))
    assert reader.read_frame(max_frame=2**32, max_head=2**24) is None
    reader = FrameReader(MemoryTransport(encode_frame(PING)))
    assert reader.read_frame(max_frame=2**32, max_head=2**24) is not None
    assert reader.read_frame(max_frame=2**32, max_head=2**24) is None


def test_empty_head_is_consumed_with_its_bulk_FRAME_4_FRAME_10():
    """[FRAME-4] [FRAME-10]"""
    data = header(head_length=0, bulk_length=3) + b"xyz" + encode_frame(PING)
    reader = FrameReader(MemoryTransport(data))
    empty = reader.read_frame(max_frame=2**32, max_head=2**24)
    assert len(empty.head) == 0 and bytes(empty.bulk) == b"xyz"
    assert bytes(reader.read_frame(max_frame=2**32, max_head=2**24).head) == \
        encode_frame(PING)[HEADER_SIZE:]


def test_write_all_resumes_partial_writes():
    transport = MemoryTransport()
    encoded = encode_message({"kind": "x", "a": Bulk(b"12345678901"), "b": Bulk(b"z")})
    transport.write_all(encoded.buffers())
    assert bytes(transport.written) == encoded.to_bytes()
