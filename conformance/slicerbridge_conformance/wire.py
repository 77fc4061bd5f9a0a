"""The suite's own SlicerBridge wire codec: frames, heads, bulk references (spec sections 2, 3, 8).

Written from the spec alone so that the suite is an independent oracle, on the spec's own
MessagePack writer and decoder (spec/tools/msgpack_writer.py, msgpack_oracle.py), which the golden
vectors are written and checked with. The encoder can produce every valid encoding (non-minimal
integers and strings, float 32, any bulk layout) and every kind of malformed input (forged
lengths, raw bytes, bad ext values). The decoder is strict: it is what judges the bytes an
implementation under test sends.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from typing import Any, Iterable

from . import compression, spec_tools

MAGIC = b"SB"
FORMAT = 1
HEADER_SIZE = 16
HANDSHAKE_MAX_FRAME = 65536
BULK_EXT_TYPE = 1
PROTOCOL_NAME = "slicerbridge"

ERROR_CODES = {
    "malformed_frame": 1,
    "frame_too_large": 2,
    "invalid_message": 3,
    "handshake_required": 4,
    "unsupported_version": 5,
    "unknown_kind": 6,
    "method_not_found": 7,
    "duplicate_id": 8,
    "too_many_in_flight": 9,
    "unauthorized": 10,
    "shutting_down": 11,
    "unsupported_codec": 12,
    "too_many_connections": 13,
    "cancelled": 100,
    "deadline_exceeded": 101,
    "unknown_processor": 102,
    "invalid_argument": 103,
    "too_large": 104,
    "internal_error": 105,
    "processor_failed": 106,
}
ERROR_NAMES = {code: name for name, code in ERROR_CODES.items()}
CODEC_CAPABILITIES = {"zstd": "codec.zstd", "lz4": "codec.lz4"}


def error_name(code: Any) -> str:
    if isinstance(code, int) and not isinstance(code, bool):
        if code in ERROR_NAMES:
            return ERROR_NAMES[code]
        if 1000 <= code <= 65535:
            return f"processor error {code}"
    return f"code {code!r}"


@dataclass
class Limits:
    """Receiver limits (spec section 7) with their defaults."""

    max_frame: int = 1 << 32
    max_head: int = 16 << 20
    max_in_flight: int = 64
    max_depth: int = 32
    cancel_grace: float = 5.0

    def to_map(self) -> dict:
        return {"max_frame": self.max_frame, "max_head": self.max_head,
                "max_in_flight": self.max_in_flight, "max_depth": self.max_depth,
                "cancel_grace": float(self.cancel_grace)}

    @classmethod
    def from_map(cls, values: Any) -> "Limits":
        """Reads a hello's `limits`: absent keys take the defaults, unknown keys are ignored."""
        limits = cls()
        if not isinstance(values, dict):
            return limits
        for name in ("max_frame", "max_head", "max_in_flight", "max_depth"):
            value = values.get(name)
            if is_integer(value) and value >= 0:
                setattr(limits, name, value)
        grace = values.get("cancel_grace")
        if is_number(grace) and grace >= 0:
            limits.cancel_grace = float(grace)
        return limits


def is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and not (isinstance(value, float) and math.isnan(value)))


class WireError(Exception):
    """A frame or head refused by the decoder; `name` is the spec's error name (or "truncated")."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"{name}: {message}")
        self.name = name
        self.message = message
        self.stage = "head"
        self.frame = b""
        #: A head that is well-formed MessagePack but holds a bad bulk reference, undecoded
        #: references left as they are: its id is known [BULK-9].
        self.head: Any = None


# ---------------------------------------------------------------------------------------------
# Values the encoder understands beyond plain Python ones


#: An ext value, as the oracle decodes it and as the encoder writes it.
Ext = spec_tools.msgpack_oracle.Ext

# The spec's MessagePack writer (spec/tools/msgpack_writer.py) and its explicit encodings.
Raw = spec_tools.msgpack_writer.Raw
Float32 = spec_tools.msgpack_writer.Float32
Int = spec_tools.msgpack_writer.Int
Str = spec_tools.msgpack_writer.Str
Array32 = spec_tools.msgpack_writer.Array32
Map32 = spec_tools.msgpack_writer.Map32


@dataclass
class Bulk:
    """Bytes to travel in the bulk section, referenced from the head (spec 3.2).

    `codec` compresses the segment (`payload` may carry pre-made compressed bytes instead).
    `place_at` puts the segment at an explicit bulk offset; `ref_offset`, `ref_length` and
    `ref_raw_length` forge the reference itself, for malformed cases.
    """

    data: bytes
    codec: str | None = None
    payload: bytes | None = None
    place_at: int | None = None
    ref_offset: int | None = None
    ref_length: int | None = None
    ref_raw_length: int | None = None


@dataclass
class BulkData:
    """A decoded bulk reference: the (decompressed) bytes and where they came from."""

    data: bytes
    codec: str | None
    offset: int
    length: int

    def __eq__(self, other: object) -> bool:
        if isinstance(other, BulkData):
            return self.data == other.data and self.codec == other.codec
        return NotImplemented


def bulk_ref_bytes(offset: int, length: int, codec: int | None = None,
                   raw_length: int | None = None) -> Ext:
    if codec is None:
        return Ext(BULK_EXT_TYPE, struct.pack(">QQ", offset, length))
    return Ext(BULK_EXT_TYPE, struct.pack(">QQBQ", offset, length, codec, raw_length))


# ---------------------------------------------------------------------------------------------
# Encoding


class BulkWriter:
    """Lays segments out in the order they are met, each at the next multiple of `align`."""

    def __init__(self, align: int = 8) -> None:
        self.data = bytearray()
        self.align = align

    def place(self, payload: bytes, place_at: int | None) -> int:
        if place_at is None:
            place_at = len(self.data)
            if self.align > 1 and place_at % self.align:
                place_at += self.align - place_at % self.align
        if len(self.data) < place_at + len(payload):
            self.data.extend(bytes(place_at + len(payload) - len(self.data)))
        self.data[place_at:place_at + len(payload)] = payload
        return place_at


def pack(value: Any, bulk: BulkWriter | None = None) -> bytes:
    def frame_values(item: Any, out: bytearray) -> bool:
        if isinstance(item, BulkData):
            item = Bulk(item.data, codec=item.codec)
        if isinstance(item, Bulk):
            _pack_bulk(out, item, bulk)
        elif isinstance(item, Ext):
            out += spec_tools.msgpack_writer.ext_bytes(item.type, item.data)
        else:
            return False
        return True

    return spec_tools.msgpack_writer.pack(value, None, frame_values)


def _pack_bulk(out: bytearray, item: Bulk, bulk: BulkWriter | None) -> None:
    if bulk is None:
        raise ValueError("a Bulk value needs a bulk section")
    payload = item.payload
    if payload is None:
        payload = compression.compress(item.codec, item.data) if item.codec else bytes(item.data)
    offset = bulk.place(payload, item.place_at)
    ref_offset = offset if item.ref_offset is None else item.ref_offset
    ref_length = len(payload) if item.ref_length is None else item.ref_length
    if item.codec is None:
        ext = bulk_ref_bytes(ref_offset, ref_length)
    else:
        raw_length = len(item.data) if item.ref_raw_length is None else item.ref_raw_length
        ext = bulk_ref_bytes(ref_offset, ref_length, compression.CODEC_IDS[item.codec], raw_length)
    out += spec_tools.msgpack_writer.ext_bytes(ext.type, ext.data)


def frame_header(head_length: int, bulk_length: int, *, magic: bytes = MAGIC, fmt: int = FORMAT,
                 flags: int = 0) -> bytes:
    return magic + bytes([fmt, flags]) + struct.pack(">IQ", head_length, bulk_length)


def encode_frame(head: Any, *, flags: int = 0, magic: bytes = MAGIC, fmt: int = FORMAT,
                 head_length: int | None = None, bulk_length: int | None = None,
                 trailing_bulk: bytes = b"", align: int = 8) -> bytes:
    """Encodes a frame; the keyword arguments forge header fields for malformed cases."""
    bulk = BulkWriter(align)
    head_bytes = head.data if isinstance(head, Raw) else pack(head, bulk)
    bulk_bytes = bytes(bulk.data) + trailing_bulk
    header = frame_header(len(head_bytes) if head_length is None else head_length,
                          len(bulk_bytes) if bulk_length is None else bulk_length,
                          magic=magic, fmt=fmt, flags=flags)
    return header + head_bytes + bulk_bytes


# ---------------------------------------------------------------------------------------------
# Decoding


@dataclass
class FrameHeader:
    magic: bytes
    format: int
    flags: int
    head_length: int
    bulk_length: int

    @property
    def frame_size(self) -> int:
        return HEADER_SIZE + self.head_length + self.bulk_length


def parse_header(data: bytes, limits: Limits) -> FrameHeader:
    """Checks a 16-byte frame header against `limits`, before anything else is read [FRAME-3]."""
    if len(data) < HEADER_SIZE:
        # The bytes present are checked first: a bad magic is malformed even when cut short [ERR-5].
        if data[:2] != MAGIC[:len(data[:2])] or (len(data) > 2 and data[2] != FORMAT):
            raise WireError("malformed_frame", f"bad magic or format in {bytes(data[:3]).hex()}")
        raise WireError("truncated", "stream ended inside a frame header")
    magic, fmt, flags, head_length, bulk_length = struct.unpack(">2sBBIQ", data[:HEADER_SIZE])
    header = FrameHeader(magic, fmt, flags, head_length, bulk_length)
    if magic != MAGIC:
        raise WireError("malformed_frame", f"bad magic {magic.hex()}")
    if fmt != FORMAT:
        raise WireError("malformed_frame", f"unknown format {fmt}")
    if head_length > limits.max_head:
        raise WireError("frame_too_large", f"head_length {head_length} over max_head {limits.max_head}")
    if header.frame_size > limits.max_frame:
        raise WireError("frame_too_large",
                        f"frame size {header.frame_size} over max_frame {limits.max_frame}")
    return header


def decode_msgpack(data: bytes, max_depth: int = 32) -> Any:
    """Decodes exactly one MessagePack object occupying all of `data` [FRAME-4], with the spec's
    oracle (spec/tools/msgpack_oracle.py), which spec/vectors/check.py uses too."""
    try:
        return spec_tools.msgpack_oracle.decode(data, max_depth)
    except spec_tools.msgpack_oracle.OracleError as error:
        raise WireError("invalid_message", str(error)) from None


def resolve_bulk(value: Any, bulk: bytes, limits: Limits, codecs: Iterable[str]) -> Any:
    """Turns ext type 1 values into BulkData, checking [BULK-1] and [BULK-4] to [BULK-8]."""
    codecs = frozenset(codecs)
    budget = [limits.max_frame]  # the raw_lengths of one frame add up to at most max_frame

    def walk(item: Any) -> Any:
        if isinstance(item, dict):
            return {key: walk(child) for key, child in item.items()}
        if isinstance(item, list):
            return [walk(child) for child in item]
        if isinstance(item, Ext):
            return _resolve_ref(item, bulk, limits, codecs, budget)
        return item

    return walk(value)


def _resolve_ref(ext: Ext, bulk: bytes, limits: Limits, codecs: frozenset, budget: list) -> BulkData:
    if ext.type != BULK_EXT_TYPE:
        raise WireError("invalid_message", f"ext type {ext.type} is not defined here")
    if len(ext.data) == 16:
        offset, length = struct.unpack(">QQ", ext.data)
        codec_id = raw_length = None
    elif len(ext.data) == 25:
        offset, length, codec_id, raw_length = struct.unpack(">QQBQ", ext.data)
    else:
        raise WireError("invalid_message", f"bulk reference of {len(ext.data)} bytes")
    if offset + length > len(bulk):
        raise WireError("invalid_message",
                        f"bulk reference {offset}+{length} beyond bulk_length {len(bulk)}")
    segment = bytes(bulk[offset:offset + length])
    if codec_id is None:
        return BulkData(segment, None, offset, length)
    codec = compression.CODEC_NAMES.get(codec_id)
    if codec is None or codec not in codecs:
        raise WireError("unsupported_codec", f"codec {codec_id} is not in force")
    if raw_length > budget[0]:
        raise WireError("frame_too_large", f"raw_length {raw_length}: the frame's decompressed "
                        f"segments would exceed max_frame {limits.max_frame}")
    budget[0] -= raw_length
    try:
        data = compression.decompress(codec, segment, raw_length)
    except compression.CodecError as error:
        raise WireError("invalid_message", str(error)) from None
    if len(data) != raw_length:
        raise WireError("invalid_message",
                        f"{codec} segment decompressed to {len(data)} bytes, raw_length {raw_length}")
    return BulkData(data, codec, offset, length)


def decode_head(head: bytes, bulk: bytes, limits: Limits, codecs: Iterable[str] = ()) -> Any:
    """A head: one MessagePack map [FRAME-4] [HEAD-1], its bulk references resolved."""
    value = decode_msgpack(head, limits.max_depth)
    if not isinstance(value, dict):
        raise WireError("invalid_message", f"head is a {type(value).__name__}, not a map")
    try:
        return resolve_bulk(value, bulk, limits, codecs)
    except WireError as error:
        error.head = value
        raise


@dataclass
class Frame:
    header: FrameHeader
    head_bytes: bytes
    bulk: bytes
    head: Any = None

    @property
    def raw(self) -> bytes:
        return frame_header(self.header.head_length, self.header.bulk_length, magic=self.header.magic,
                            fmt=self.header.format, flags=self.header.flags) + self.head_bytes + self.bulk


def decode_frame(data: bytes, limits: Limits, codecs: Iterable[str] = ()) -> tuple[Frame, int]:
    """Decodes the frame at the start of `data`; returns it and its size in bytes."""
    header = parse_header(data, limits)
    if len(data) < header.frame_size:
        raise WireError("truncated", f"frame of {header.frame_size} bytes, only {len(data)} present")
    head_end = HEADER_SIZE + header.head_length
    head_bytes = bytes(data[HEADER_SIZE:head_end])
    bulk = bytes(data[head_end:header.frame_size])
    frame = Frame(header, head_bytes, bulk, decode_head(head_bytes, bulk, limits, codecs))
    return frame, header.frame_size


def encode_canonical(head: Any) -> bytes:
    """Re-encodes a decoded head canonically (spec's canonical encoding: minimal formats, float 64,
    8-byte aligned bulk segments in depth-first order, 16-byte refs when uncompressed)."""
    return encode_frame(head)


# ---------------------------------------------------------------------------------------------
# The JSON convention of the golden vectors


def to_json(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: to_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [to_json(item) for item in value]
    if isinstance(value, float):
        if math.isnan(value):
            return {"$float": "nan"}
        if math.isinf(value):
            return {"$float": "inf" if value > 0 else "-inf"}
        return value
    if isinstance(value, bytes):
        return {"$bin": value.hex()}
    if isinstance(value, BulkData):
        bulk = {"hex": value.data.hex()}
        if value.codec:
            bulk["codec"] = value.codec
        return {"$bulk": bulk}
    if isinstance(value, Ext):
        return {"$ext": {"type": value.type, "hex": value.data.hex()}}
    return value


def from_json(value: Any) -> Any:
    if isinstance(value, dict):
        if len(value) == 1:
            (key, item), = value.items()
            if key == "$float":
                return {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}[item]
            if key == "$bin":
                return bytes.fromhex(item)
            if key == "$bulk":
                return BulkData(bytes.fromhex(item["hex"]), item.get("codec"), 0, 0)
        return {key: from_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [from_json(item) for item in value]
    return value


def describe_value(value: Any, limit: int = 64) -> Any:
    """JSON-friendly rendering for logs: bulk and binary contents shortened."""
    if isinstance(value, dict):
        return {key: describe_value(item, limit) for key, item in value.items()}
    if isinstance(value, list):
        if len(value) > limit:
            return [describe_value(item, limit) for item in value[:limit]] + [f"... {len(value)} items"]
        return [describe_value(item, limit) for item in value]
    if isinstance(value, BulkData):
        shown = value.data[:limit].hex() + ("..." if len(value.data) > limit else "")
        return {"$bulk": {"offset": value.offset, "length": value.length, "codec": value.codec,
                          "bytes": len(value.data), "hex": shown}}
    if isinstance(value, bytes):
        return {"$bin": value[:limit].hex() + ("..." if len(value) > limit else "")}
    if isinstance(value, Ext):
        return {"$ext": {"type": value.type, "hex": value.data.hex()}}
    if isinstance(value, float) and not math.isfinite(value):
        return {"$float": repr(value)}
    return value
