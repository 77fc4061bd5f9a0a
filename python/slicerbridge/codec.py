"""Heads (MessagePack maps) and the bulk segments they reference (spec section 3).

Decoding: the head is scanned once for nesting depth and ext types before anything is allocated
for its elements [HEAD-5], [BULK-4]; then bulk references become ``Bulk`` objects whose ``data`` is
a zero-copy view into the frame's bulk (or the output of decompression) [BULK-1], [BULK-5].

Encoding is canonical: the smallest MessagePack formats for integers, strings, binaries, arrays
and maps, every float as float64, map keys in insertion order, and bulk segments placed in the
order the depth-first packing meets them, each at the next 8-byte aligned offset, zero padded,
with no padding after the last one [BULK-2]. Segments are never copied: the encoder returns the
list of buffers to write with one scatter-gather call.
"""

from __future__ import annotations

import importlib.util
import struct
from typing import Any, Iterable, List, NamedTuple, Optional

import msgpack
import numpy as np

from .errors import ErrorCode, SlicerBridgeError
from .frame import encode_header
from .memfd import DESCRIPTOR_EXT_TYPE

BULK_EXT_TYPE = 1
_RAW_REF = struct.Struct(">QQ")
_COMPRESSED_REF = struct.Struct(">QQBQ")
_FLOAT64 = struct.Struct(">d")
_ZERO_PADDING = bytes(8)

CODEC_IDS = {"zstd": 1, "lz4": 2}
CODEC_NAMES = {number: name for name, number in CODEC_IDS.items()}


def available_codecs() -> frozenset:
    """The codec names whose Python modules are installed (the ``zstandard`` / ``lz4`` extras)."""
    modules = {"zstd": "zstandard", "lz4": "lz4"}
    return frozenset(name for name, module in modules.items()
                     if importlib.util.find_spec(module) is not None)


class Bulk:
    """A segment of bulk bytes referenced from a head.

    ``data`` is a one-dimensional byte memoryview. On a received message it views the frame's
    bulk directly (or the decompressed bytes; ``codec`` then names the codec that carried it).
    """

    __slots__ = ("data", "codec")

    def __init__(self, data, codec: Optional[str] = None):
        if isinstance(data, np.ndarray):
            data = np.ascontiguousarray(data).reshape(-1).view(np.uint8)
        view = data if isinstance(data, memoryview) else memoryview(data)
        if view.format != "B" or view.ndim != 1:
            view = view.cast("B")
        self.data = view
        self.codec = codec

    def __len__(self) -> int:
        return len(self.data)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Bulk) and self.data == other.data and self.codec == other.codec

    def __repr__(self) -> str:
        codec = f", codec={self.codec!r}" if self.codec else ""
        return f"Bulk({len(self.data)} bytes{codec})"


# ---------------------------------------------------------------------------------------------
# Decoding

# For the type bytes 0xc0..0xdf: (size of the fixed part, width of the length field that
# follows the type byte, what the length counts). Kinds: "fixed", "payload" (bytes follow),
# "ext" (payload plus a type byte), "array", "map", "invalid".
_FIXED, _PAYLOAD, _EXT, _ARRAY, _MAP, _INVALID = range(6)
_FORMATS = {
    0xc0: (_FIXED, 1, 0), 0xc1: (_INVALID, 1, 0), 0xc2: (_FIXED, 1, 0), 0xc3: (_FIXED, 1, 0),
    0xc4: (_PAYLOAD, 2, 1), 0xc5: (_PAYLOAD, 3, 2), 0xc6: (_PAYLOAD, 5, 4),
    0xc7: (_EXT, 3, 1), 0xc8: (_EXT, 4, 2), 0xc9: (_EXT, 6, 4),
    0xca: (_FIXED, 5, 0), 0xcb: (_FIXED, 9, 0),
    0xcc: (_FIXED, 2, 0), 0xcd: (_FIXED, 3, 0), 0xce: (_FIXED, 5, 0), 0xcf: (_FIXED, 9, 0),
    0xd0: (_FIXED, 2, 0), 0xd1: (_FIXED, 3, 0), 0xd2: (_FIXED, 5, 0), 0xd3: (_FIXED, 9, 0),
    0xd4: (_EXT, 2, -1), 0xd5: (_EXT, 2, -2), 0xd6: (_EXT, 2, -4), 0xd7: (_EXT, 2, -8),
    0xd8: (_EXT, 2, -16),
    0xd9: (_PAYLOAD, 2, 1), 0xda: (_PAYLOAD, 3, 2), 0xdb: (_PAYLOAD, 5, 4),
    0xdc: (_ARRAY, 3, 2), 0xdd: (_ARRAY, 5, 4), 0xde: (_MAP, 3, 2), 0xdf: (_MAP, 5, 4),
}


def _invalid_head(reason: str, **details: Any) -> SlicerBridgeError:
    return SlicerBridgeError(ErrorCode.INVALID_MESSAGE, reason, details or None)


def check_structure(head, max_depth: int) -> bool:
    """Walk the encoded head once without building anything and reject, with
    ``invalid_message``: a head that is not a map [HEAD-1]; nesting deeper than ``max_depth``
    [HEAD-5]; map keys that are not strings [HEAD-6]; declared lengths and counts beyond the
    bytes remaining [HEAD-8]; the never-used byte 0xc1, an incomplete object and bytes after the
    object [FRAME-4]. Returns whether the head holds an ext of type -1, which msgpack decodes as
    a timestamp instead of passing it to the bulk resolver.
    """
    timestamps = False
    size = len(head)
    if size and not (0x80 <= head[0] <= 0x8f or head[0] in (0xde, 0xdf)):
        raise _invalid_head("head is not a map")  # [HEAD-1]
    position = 0
    depth = 0
    remaining = 1          # elements still to read in the innermost open container
    in_map = False         # whether that container is a map (its elements alternate key, value)
    enclosing: List[tuple] = []
    while True:
        while remaining == 0:
            if not enclosing:
                if position != size:
                    raise _invalid_head("bytes after the head's object")
                return timestamps
            remaining, in_map = enclosing.pop()
            depth -= 1
        if position >= size:
            raise _invalid_head("head ends inside its object")
        byte = head[position]
        if in_map and remaining % 2 == 0 and not (0xa0 <= byte <= 0xbf or 0xd9 <= byte <= 0xdb):
            raise _invalid_head("map key is not a string")
        remaining -= 1
        if byte <= 0x7f or byte >= 0xe0:
            position += 1
            continue
        if byte <= 0x8f:
            is_map, count = True, (byte & 0x0f) * 2
            position += 1
        elif byte <= 0x9f:
            is_map, count = False, byte & 0x0f
            position += 1
        elif byte <= 0xbf:
            position += 1 + (byte & 0x1f)
            if position > size:
                raise _invalid_head("string longer than the head")
            continue
        else:
            kind, fixed, width = _FORMATS[byte]
            if kind == _INVALID:
                raise _invalid_head("invalid MessagePack type byte 0xc1")
            if position + fixed > size:
                raise _invalid_head("head ends inside its object")
            if width > 0:
                length = int.from_bytes(head[position + 1:position + 1 + width], "big")
            else:
                length = -width
            if kind == _FIXED:
                position += fixed
                continue
            if kind in (_PAYLOAD, _EXT):
                if length > size - position - fixed:
                    raise _invalid_head("declared length beyond the end of the head",
                                        length=length)
                # An ext of another type or length is well-formed MessagePack: the bulk
                # resolver rejects it, and the request is answered under its id [BULK-9].
                if kind == _EXT and head[position + fixed - 1] == 0xff:
                    timestamps = True
                position += fixed + length
                continue
            is_map = kind == _MAP
            count = length * 2 if is_map else length
            position += fixed
            # Every element takes at least one byte [HEAD-8].
            if count > size - position:
                raise _invalid_head("declared count beyond the end of the head", count=length)
        if depth + 1 > max_depth:
            raise _invalid_head("head nested too deeply", max_depth=max_depth)
        if count:
            enclosing.append((remaining, in_map))
            remaining, in_map = count, is_map
            depth += 1


def _unique_keys(pairs: list) -> dict:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise _invalid_head("duplicate map key")  # [HEAD-7]
    return result


class DecodedHead(NamedTuple):
    value: Any
    #: The first problem met while resolving bulk references, if any. The rest of the head
    #: decoded, so that the error can be answered under the request's id [MSG-12].
    bulk_error: Optional[SlicerBridgeError]


class _BulkResolver:
    def __init__(self, bulk: memoryview, codecs: frozenset, max_raw_total: int,
                 descriptors=None):
        self.bulk = bulk
        self.codecs = codecs
        self.raw_budget = max_raw_total
        #: The frame's ReceivedDescriptors (memfd.py), if it was read from a Unix socket.
        self.descriptors = descriptors
        self.error: Optional[SlicerBridgeError] = None

    def __call__(self, ext_type: int, payload: bytes):
        try:
            return self._resolve(ext_type, payload)
        except SlicerBridgeError as error:
            if self.error is None:
                # Without its traceback: the frames would keep this resolver, and with it the
                # mappings of received descriptors, alive in a reference cycle [FD-6].
                self.error = error.with_traceback(None)
            return None

    def _resolve(self, ext_type: int, payload: bytes) -> Bulk:
        if (ext_type == DESCRIPTOR_EXT_TYPE and self.descriptors is not None
                and self.descriptors.in_force):
            return Bulk(self.descriptors.resolve(payload))  # [FD-4]
        if ext_type != BULK_EXT_TYPE:
            raise SlicerBridgeError(ErrorCode.INVALID_MESSAGE, "unexpected ext type")
        if len(payload) == _RAW_REF.size:
            offset, length = _RAW_REF.unpack(payload)
            codec_id = raw_length = None
        elif len(payload) == _COMPRESSED_REF.size:
            offset, length, codec_id, raw_length = _COMPRESSED_REF.unpack(payload)
        else:
            raise SlicerBridgeError(ErrorCode.INVALID_MESSAGE, "bulk reference of invalid length")
        # Python integers do not overflow: the sum is exact [BULK-1].
        if offset + length > len(self.bulk):
            raise SlicerBridgeError(ErrorCode.INVALID_MESSAGE, "bulk reference out of range",
                                    {"offset": offset, "length": length,
                                     "bulk_length": len(self.bulk)})
        segment = self.bulk[offset:offset + length]
        if codec_id is None:
            return Bulk(segment)
        codec = CODEC_NAMES.get(codec_id)
        if codec is None or codec not in self.codecs:
            raise SlicerBridgeError(ErrorCode.UNSUPPORTED_CODEC, "codec not in force",
                                    {"codec": codec_id})
        if raw_length > self.raw_budget:
            raise SlicerBridgeError(ErrorCode.FRAME_TOO_LARGE,
                                    "decompressed size over the limit",
                                    {"raw_length": raw_length})
        self.raw_budget -= raw_length
        return Bulk(decompress(codec, segment, raw_length), codec)


def decode_head(head, bulk: memoryview, *, max_depth: int, codecs: Iterable[str] = (),
                max_raw_total: int = 2**32, descriptors=None) -> DecodedHead:
    """Decode a head whose bulk references point into ``bulk``.

    Raises SlicerBridgeError(invalid_message) when the head is not exactly one valid MessagePack
    object [FRAME-4] (see ``check_structure``), holds a duplicate key [HEAD-7] or invalid UTF-8
    [HEAD-9]. Problems with bulk references are returned in
    ``bulk_error``. ``max_raw_total`` bounds the sum of the decompressed sizes [SEC-4].
    ``descriptors`` (memfd.ReceivedDescriptors) are those passed beside the frame: descriptor
    references map them, and descriptors that must not be there are a ``bulk_error`` [FD-6].
    """
    timestamps = check_structure(head, max_depth)
    resolver = _BulkResolver(bulk, frozenset(codecs), max_raw_total, descriptors)
    try:
        # check_structure bounded every length already; msgpack's own limits repeat it.
        size = len(head)
        value = msgpack.unpackb(head, raw=False, strict_map_key=False, use_list=True,
                                ext_hook=resolver, object_pairs_hook=_unique_keys,
                                max_str_len=size, max_bin_len=size, max_array_len=size,
                                max_map_len=size // 2, max_ext_len=size)
    except SlicerBridgeError:
        raise
    except Exception as error:  # msgpack raises many types: all mean "not one valid object".
        raise SlicerBridgeError(ErrorCode.INVALID_MESSAGE,
                                f"head is not valid MessagePack ({type(error).__name__})") from None
    if timestamps:
        value = _without_timestamps(value, resolver)
    if descriptors is not None and resolver.error is None:
        resolver.error = descriptors.unused_error()
    return DecodedHead(value, resolver.error)


def _without_timestamps(value, resolver: "_BulkResolver"):
    """``value`` with every msgpack timestamp replaced by None, as the resolver does for other
    ext types [BULK-4] [BULK-9]."""
    if isinstance(value, msgpack.Timestamp):
        resolver(-1, b"")
        return None
    if isinstance(value, dict):
        return {key: _without_timestamps(item, resolver) for key, item in value.items()}
    if isinstance(value, list):
        return [_without_timestamps(item, resolver) for item in value]
    return value


# ---------------------------------------------------------------------------------------------
# Compression

def compress(codec: str, data: memoryview) -> bytes:
    if codec == "zstd":
        import zstandard
        return zstandard.ZstdCompressor(level=1, write_content_size=True).compress(data)
    if codec == "lz4":
        import lz4.frame
        return lz4.frame.compress(data, store_size=True)
    raise ValueError(f"unknown codec {codec!r}")


def _invalid_compressed(reason: str) -> SlicerBridgeError:
    return SlicerBridgeError(ErrorCode.INVALID_MESSAGE, f"compressed segment rejected: {reason}")


def decompress(codec: str, data: memoryview, raw_length: int) -> memoryview:
    """Decompress one frame of ``codec`` whose output must be exactly ``raw_length`` bytes
    [BULK-5]. Allocation is bounded by ``raw_length``, checked by the caller against limits."""
    if codec == "zstd":
        import zstandard
        try:
            declared = zstandard.frame_content_size(data)
            if declared not in (-1, raw_length):
                raise _invalid_compressed("declared size differs from raw_length")
            decompressor = zstandard.ZstdDecompressor()
            if declared == -1:
                # Without a declared size, first check the size with a bounded output.
                decompressor.decompress(data, max_output_size=raw_length)
            stream = decompressor.decompressobj()
            output = stream.decompress(data)
            complete = stream.eof and not stream.unused_data
        except zstandard.ZstdError:
            raise _invalid_compressed("zstd error") from None
    elif codec == "lz4":
        import lz4.frame
        stream = lz4.frame.LZ4FrameDecompressor()
        try:
            output = stream.decompress(data, max_length=raw_length)
        except RuntimeError:
            raise _invalid_compressed("lz4 error") from None
        complete = stream.eof and not stream.unused_data
    else:
        raise ValueError(f"unknown codec {codec!r}")
    if not complete:
        raise _invalid_compressed("not exactly one complete frame of raw_length bytes")
    if len(output) != raw_length:
        raise _invalid_compressed("size differs from raw_length")
    return memoryview(output)


# ---------------------------------------------------------------------------------------------
# Encoding

class EncodedFrame:
    """A frame ready to write: header, head and the bulk segments with their padding."""

    __slots__ = ("head", "segments", "bulk_length", "fds", "_keep")

    def __init__(self, head: bytes, segments: list, bulk_length: int, fds=(), keep=()):
        self.head = head
        self.segments = segments
        self.bulk_length = bulk_length
        #: Descriptors to pass beside the frame's first byte [FD-2]; ``_keep`` holds them open.
        self.fds = list(fds)
        self._keep = list(keep)

    @property
    def size(self) -> int:
        return 16 + len(self.head) + self.bulk_length

    def buffers(self) -> list:
        return [encode_header(len(self.head), self.bulk_length), self.head, *self.segments]

    def to_bytes(self) -> bytes:
        return b"".join(bytes(b) for b in self.buffers())

    def replace_final_float(self, value: float) -> None:
        """Overwrite the float64 that ends the head (the last timing of a response), so that a
        value measured after encoding can still be reported without encoding again."""
        if len(self.head) < 9 or self.head[-9] != 0xcb:
            raise ValueError("head does not end with a float64")
        self.head = self.head[:-8] + _FLOAT64.pack(value)


class _SegmentGatherer:
    """The Packer's ``default`` hook: turns Bulk objects into references, in packing order."""

    def __init__(self, compression: Optional[str], descriptors=None):
        self.compression = compression
        self.descriptors = descriptors  # a memfd.DescriptorSender, with transfer.memfd in force
        self.segments: list = []
        self.length = 0

    def __call__(self, value: Any) -> Any:
        if isinstance(value, Bulk):
            return self._reference(value)
        if isinstance(value, np.generic):
            return value.item()
        raise TypeError(f"cannot encode {type(value).__name__}")

    def _reference(self, bulk: Bulk) -> msgpack.ExtType:
        data = bulk.data
        if self.descriptors is not None:
            payload = self.descriptors.reference(data)
            if payload is not None:
                return msgpack.ExtType(DESCRIPTOR_EXT_TYPE, payload)
        codec_id = None
        if self.compression is not None and len(data):
            compressed = compress(self.compression, data)
            if len(compressed) < len(data):
                codec_id, data = CODEC_IDS[self.compression], memoryview(compressed)
        padding = -self.length % 8
        if padding:
            self.segments.append(_ZERO_PADDING[:padding])
            self.length += padding
        offset = self.length
        self.segments.append(data)
        self.length += len(data)
        if codec_id is None:
            return msgpack.ExtType(BULK_EXT_TYPE, _RAW_REF.pack(offset, len(data)))
        return msgpack.ExtType(BULK_EXT_TYPE,
                               _COMPRESSED_REF.pack(offset, len(data), codec_id, len(bulk.data)))


def encode_message(message: Any, *, compression: Optional[str] = None,
                   descriptors=None) -> EncodedFrame:
    """Encode a message canonically; ``Bulk`` values anywhere in it go to the bulk section.

    ``compression`` names a codec to apply to every segment it makes smaller; the caller must
    only pass a codec that is in force [CAP-2]. ``descriptors`` (a memfd.DescriptorSender, only
    with transfer.memfd in force) passes large segments as memory files instead [FD-1].
    """
    gatherer = _SegmentGatherer(compression, descriptors)
    packer = msgpack.Packer(default=gatherer, use_bin_type=True, use_single_float=False,
                            datetime=False)
    head = packer.pack(message)
    if descriptors is None:
        return EncodedFrame(head, gatherer.segments, gatherer.length)
    return EncodedFrame(head, gatherer.segments, gatherer.length, descriptors.fds,
                        descriptors.keep)


def encode_frame(message: Any, *, compression: Optional[str] = None) -> bytes:
    """The whole frame as one bytes object (tests and small messages)."""
    return encode_message(message, compression=compression).to_bytes()

