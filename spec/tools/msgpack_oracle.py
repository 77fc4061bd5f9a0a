"""The project's one independent MessagePack decoder in Python, written from protocol.md alone.

Standard library only. spec/vectors/check.py verifies the golden vectors with it and the
conformance suite (conformance/slicerbridge_conformance/wire.py) judges the bytes that
implementations send with it, so that the spec and the suite cannot drift apart; it shares no
code with the implementations or with the encoder both of them use (msgpack_writer.py), so a
mistake in one shows up against the other.

It is strict where protocol.md section 3.1 is: exactly one object ([FRAME-4]), nesting bounded
while decoding ([HEAD-5]), declared counts checked against the bytes present before anything is
allocated ([HEAD-8]), string map keys ([HEAD-6]) without duplicates ([HEAD-7]), valid UTF-8
([HEAD-9]), the byte 0xc1 refused. Non-minimal encodings are accepted ([HEAD-3]). Ext values are
returned as `Ext` for the caller to resolve: bulk references are a protocol matter
(`bulk_reference` reads their two layouts, section 3.2).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any


class OracleError(Exception):
    """The bytes are not one valid MessagePack object under protocol.md section 3.1."""


@dataclass(frozen=True)
class Ext:
    type: int
    data: bytes


_NUMBERS = {0xCA: ">f", 0xCB: ">d", 0xCC: ">B", 0xCD: ">H", 0xCE: ">I", 0xCF: ">Q",
            0xD0: ">b", 0xD1: ">h", 0xD2: ">i", 0xD3: ">q"}
_STR_LENGTHS = {0xD9: ">B", 0xDA: ">H", 0xDB: ">I"}
_BIN_LENGTHS = {0xC4: ">B", 0xC5: ">H", 0xC6: ">I"}
_FIXED_EXT = {0xD4: 1, 0xD5: 2, 0xD6: 4, 0xD7: 8, 0xD8: 16}
_EXT_LENGTHS = {0xC7: ">B", 0xC8: ">H", 0xC9: ">I"}
_SIMPLE = {0xC0: None, 0xC2: False, 0xC3: True}


class _Decoder:
    def __init__(self, data: bytes, max_depth: int) -> None:
        self.data = data
        self.position = 0
        self.max_depth = max_depth

    def take(self, count: int) -> bytes:
        end = self.position + count
        if end > len(self.data):
            raise OracleError("MessagePack object runs past the end of the head")
        chunk = self.data[self.position:end]
        self.position = end
        return chunk

    def unpack(self, fmt: str) -> Any:
        (value,) = struct.unpack(fmt, self.take(struct.calcsize(fmt)))
        return value

    def count_fits(self, count: int) -> None:
        # Every element takes at least one byte: a larger count is a lie, refused before allocating.
        if count > len(self.data) - self.position:
            raise OracleError(f"declared {count} elements but only "
                              f"{len(self.data) - self.position} bytes remain")

    def read_str(self, length: int) -> str:
        try:
            return self.take(length).decode("utf-8")
        except UnicodeDecodeError:
            raise OracleError("string is not valid UTF-8") from None

    def read(self, depth: int) -> Any:
        marker = self.unpack(">B")
        if marker <= 0x7F:
            return marker
        if marker >= 0xE0:
            return marker - 0x100
        if 0xA0 <= marker <= 0xBF:
            return self.read_str(marker & 0x1F)
        if 0x90 <= marker <= 0x9F:
            return self.read_array(marker & 0x0F, depth)
        if 0x80 <= marker <= 0x8F:
            return self.read_map(marker & 0x0F, depth)
        if marker in _SIMPLE:
            return _SIMPLE[marker]
        if marker == 0xC1:
            raise OracleError("byte 0xc1 is never valid MessagePack")
        if marker in _NUMBERS:
            value = self.unpack(_NUMBERS[marker])
            return float(value) if marker in (0xCA, 0xCB) else value
        if marker in _STR_LENGTHS:
            return self.read_str(self.unpack(_STR_LENGTHS[marker]))
        if marker in _BIN_LENGTHS:
            return self.take(self.unpack(_BIN_LENGTHS[marker]))
        if marker in (0xDC, 0xDD):
            return self.read_array(self.unpack(">H" if marker == 0xDC else ">I"), depth)
        if marker in (0xDE, 0xDF):
            return self.read_map(self.unpack(">H" if marker == 0xDE else ">I"), depth)
        length = _FIXED_EXT[marker] if marker in _FIXED_EXT else self.unpack(_EXT_LENGTHS[marker])
        self.count_fits(length + 1)
        ext_type = self.unpack(">b")
        return Ext(ext_type, self.take(length))

    def enter(self, depth: int) -> int:
        if depth + 1 > self.max_depth:
            raise OracleError(f"nesting deeper than max_depth {self.max_depth}")
        return depth + 1

    def read_array(self, count: int, depth: int) -> list:
        depth = self.enter(depth)
        self.count_fits(count)
        return [self.read(depth) for _ in range(count)]

    def read_map(self, count: int, depth: int) -> dict:
        depth = self.enter(depth)
        self.count_fits(2 * count)
        result = {}
        for _ in range(count):
            key = self.read(depth)
            if not isinstance(key, str):
                raise OracleError("map key is not a string")
            if key in result:
                raise OracleError(f"duplicate map key {key!r}")
            result[key] = self.read(depth)
        return result


def decode(data: bytes, max_depth: int = 32) -> Any:
    """Exactly one MessagePack object occupying all of `data` [FRAME-4]; containers nested at
    most `max_depth` deep (the head's own map is at depth 1) [HEAD-5]. Raises OracleError."""
    data = bytes(data)
    if not data:
        raise OracleError("empty head (head_length 0)")
    decoder = _Decoder(data, max_depth)
    value = decoder.read(0)
    if decoder.position != len(data):
        raise OracleError(f"{len(data) - decoder.position} bytes after the head's MessagePack "
                          f"object")
    return value


def bulk_reference(ext: Ext) -> tuple:
    """`(offset, length, codec id or None, raw_length or None)` of a bulk reference (ext type 1,
    16 or 25 bytes, [BULK-4]); raises OracleError for any other ext value."""
    if ext.type != 1:
        raise OracleError(f"ext type {ext.type} is not defined here")
    if len(ext.data) == 16:
        offset, length = struct.unpack(">QQ", ext.data)
        return offset, length, None, None
    if len(ext.data) == 25:
        return struct.unpack(">QQBQ", ext.data)
    raise OracleError(f"bulk reference of {len(ext.data)} bytes")
