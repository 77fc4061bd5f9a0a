"""The project's one MessagePack encoder in Python for test bytes, written from protocol.md alone.

Standard library only. spec/vectors/generate.py writes the golden vectors with it and the
conformance suite (conformance/slicerbridge_conformance/wire.py) builds the frames it sends with
it. It shares no code with the decoder, msgpack_oracle.py: check.py decodes what this wrote, so a
mistake in one shows up against the other.

`pack` writes the canonical encoding of section 12 ([CANON-2] to [CANON-5]): the smallest format
for every integer, string, binary, array, map and ext; floats as float 64, NaN as 0x7ff8 followed by
zeros. The wrapper types write valid non-minimal encodings (`Int`, `Str`, `Float32`, `Array32`,
`Map32`) or any bytes at all (`Raw`), for vectors and malformed cases. Anything else (bulk
segments, which need a frame's bulk section) goes to the caller's `extension`.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from typing import Any, Callable, Optional


@dataclass(frozen=True)
class Raw:
    """Bytes written verbatim where a MessagePack object is expected."""

    data: bytes


@dataclass(frozen=True)
class Float32:
    value: float


@dataclass(frozen=True)
class Int:
    """An integer in an explicit, possibly non-minimal, format such as "uint32"."""

    value: int
    format: str


@dataclass(frozen=True)
class Str:
    """A string in an explicit, possibly non-minimal, format: "str8", "str16" or "str32"."""

    value: str
    format: str


@dataclass(frozen=True)
class Array32:
    """An array written in the array 32 format whatever its size."""

    items: tuple


@dataclass(frozen=True)
class Map32:
    """A map written in the map 32 format whatever its size."""

    items: tuple  # of (key, value) pairs


#: Called with (value, out) for a value `pack` does not know; returns whether it wrote it.
Extension = Callable[[Any, bytearray], bool]

_UNSIGNED = ((0xFF, 0xCC, ">B"), (0xFFFF, 0xCD, ">H"), (0xFFFFFFFF, 0xCE, ">I"),
             (2**64 - 1, 0xCF, ">Q"))
_SIGNED = ((-2**7, 0xD0, ">b"), (-2**15, 0xD1, ">h"), (-2**31, 0xD2, ">i"), (-2**63, 0xD3, ">q"))
_EXPLICIT_INTS = {"uint8": (0xCC, ">B"), "uint16": (0xCD, ">H"), "uint32": (0xCE, ">I"),
                  "uint64": (0xCF, ">Q"), "int8": (0xD0, ">b"), "int16": (0xD1, ">h"),
                  "int32": (0xD2, ">i"), "int64": (0xD3, ">q")}
_EXPLICIT_STRS = {"str8": (0xD9, ">B"), "str16": (0xDA, ">H"), "str32": (0xDB, ">I")}
STR_FORMATS = ((0xFF, 0xD9, ">B"), (0xFFFF, 0xDA, ">H"), (0xFFFFFFFF, 0xDB, ">I"))
BIN_FORMATS = ((0xFF, 0xC4, ">B"), (0xFFFF, 0xC5, ">H"), (0xFFFFFFFF, 0xC6, ">I"))
ARRAY_FORMATS = ((0xFFFF, 0xDC, ">H"), (0xFFFFFFFF, 0xDD, ">I"))
MAP_FORMATS = ((0xFFFF, 0xDE, ">H"), (0xFFFFFFFF, 0xDF, ">I"))
_EXT_FORMATS = ((0xFF, 0xC7, ">B"), (0xFFFF, 0xC8, ">H"), (0xFFFFFFFF, 0xC9, ">I"))
_FIXED_EXT = {1: 0xD4, 2: 0xD5, 4: 0xD6, 8: 0xD7, 16: 0xD8}


def length_header(length: int, fix_base: Optional[int], fix_max: int, formats) -> bytes:
    """The header of a str, bin, array or map of `length` bytes or elements, smallest format."""
    if fix_base is not None and length <= fix_max:
        return bytes([fix_base | length])
    for limit, marker, fmt in formats:
        if length <= limit:
            return bytes([marker]) + struct.pack(fmt, length)
    raise ValueError(f"length {length} too large for MessagePack")


def int_bytes(value: int) -> bytes:
    if 0 <= value <= 0x7F or -32 <= value < 0:
        return struct.pack(">b" if value < 0 else ">B", value)
    for bound, marker, fmt in (_UNSIGNED if value >= 0 else _SIGNED):
        if (value <= bound) if value >= 0 else (value >= bound):
            return bytes([marker]) + struct.pack(fmt, value)
    raise ValueError(f"integer {value} does not fit MessagePack")


def ext_bytes(ext_type: int, data: bytes) -> bytes:
    if len(data) in _FIXED_EXT:
        header = bytes([_FIXED_EXT[len(data)]])
    else:
        header = length_header(len(data), None, 0, _EXT_FORMATS)
    return header + struct.pack(">b", ext_type) + data


def pack(value: Any, out: Optional[bytearray] = None,
         extension: Optional[Extension] = None) -> bytes:
    """Appends the encoding of `value` to `out` (a new buffer if None) and returns all of it."""
    out = bytearray() if out is None else out
    _pack_into(out, value, extension)
    return bytes(out)


def _pack_into(out: bytearray, value: Any, extension: Optional[Extension]) -> None:
    if extension is not None and extension(value, out):
        return
    if value is None:
        out.append(0xC0)
    elif isinstance(value, bool):
        out.append(0xC3 if value else 0xC2)
    elif isinstance(value, int):
        out += int_bytes(value)
    elif isinstance(value, float):
        out += b"\xcb" + (b"\x7f\xf8" + bytes(6) if math.isnan(value) else struct.pack(">d", value))
    elif isinstance(value, str):
        data = value.encode("utf-8")
        out += length_header(len(data), 0xA0, 31, STR_FORMATS) + data
    elif isinstance(value, (bytes, bytearray, memoryview)):
        data = bytes(value)
        out += length_header(len(data), None, 0, BIN_FORMATS) + data
    elif isinstance(value, (list, tuple)):
        out += length_header(len(value), 0x90, 15, ARRAY_FORMATS)
        for item in value:
            _pack_into(out, item, extension)
    elif isinstance(value, dict):
        out += length_header(len(value), 0x80, 15, MAP_FORMATS)
        for key, item in value.items():
            _pack_into(out, key, extension)
            _pack_into(out, item, extension)
    elif isinstance(value, Raw):
        out += value.data
    elif isinstance(value, Float32):
        out += b"\xca" + struct.pack(">f", value.value)
    elif isinstance(value, Int):
        marker, fmt = _EXPLICIT_INTS[value.format]
        out += bytes([marker]) + struct.pack(fmt, value.value)
    elif isinstance(value, Str):
        marker, fmt = _EXPLICIT_STRS[value.format]
        data = value.value.encode("utf-8")
        out += bytes([marker]) + struct.pack(fmt, len(data)) + data
    elif isinstance(value, Array32):
        out += b"\xdd" + struct.pack(">I", len(value.items))
        for item in value.items:
            _pack_into(out, item, extension)
    elif isinstance(value, Map32):
        out += b"\xdf" + struct.pack(">I", len(value.items))
        for key, item in value.items:
            _pack_into(out, key, extension)
            _pack_into(out, item, extension)
    else:
        raise TypeError(f"cannot encode {type(value).__name__}")
