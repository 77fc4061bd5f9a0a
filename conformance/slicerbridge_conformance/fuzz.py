"""Seeded fuzz cases: valid frames, mutated. The server must answer, or close, and keep serving;
it must never crash or hang. The same seed gives the same mutations."""

from __future__ import annotations

import random
import struct
import time
from functools import partial

from . import data, wire
from .connection import PeerClosed, TimedOut
from .framework import Case, CaseFailed
from .server_mode import ServerContext

SETTLE_SECONDS = 1.0


def _base_frames(context: ServerContext) -> list[tuple[str, bytes]]:
    frames = [
        ("ping", wire.encode_frame({"kind": "request", "id": 11, "method": "ping"})),
        ("catalog", wire.encode_frame({"kind": "request", "id": 12, "method": "catalog", "params": {}})),
        ("describe", wire.encode_frame({"kind": "request", "id": 13, "method": "describe",
                                        "params": {"processor": "echo"}})),
        ("cancel", wire.encode_frame({"kind": "notification", "method": "cancel", "params": {"id": 11}})),
    ]
    echo = context.info.processors.get("echo") if context.info else None
    if echo:
        inputs = {}
        for value in (data.make_image("int16", (4, 3, 2)), data.make_mesh()):
            slot = data.find_slot(echo, "inputs", value["type"])
            if slot:
                inputs[slot["name"]] = value
        frames.append(("echo", wire.encode_frame({"kind": "request", "id": 14, "method": "invoke",
                                                  "params": {"processor": "echo", "inputs": inputs}})))
    return frames


_BOUNDARIES = [0, 1, 0x7F, 0x80, 0xC1, 0xDD, 0xDF, 0xFF]
_LENGTHS = [0, 1, 15, 16, 17, (1 << 31) - 1, 1 << 31, (1 << 32) - 1, 1 << 32, (1 << 63), (1 << 64) - 1]


def mutate(rng: random.Random, frame: bytes) -> tuple[bytes, str]:
    data_ = bytearray(frame)
    kind = rng.randrange(9)
    if kind == 0:
        flips = rng.randint(1, 8)
        positions = sorted(rng.randrange(len(data_)) for _ in range(flips))
        for position in positions:
            data_[position] ^= 1 << rng.randrange(8)
        return bytes(data_), f"flipped {flips} bits at {positions}"
    if kind == 1:
        position = rng.randrange(len(data_))
        value = rng.choice(_BOUNDARIES)
        data_[position] = value
        return bytes(data_), f"byte {position} set to {value:#04x}"
    if kind == 2:
        cut = rng.randrange(1, len(data_))
        return bytes(data_[:cut]), f"truncated to {cut} of {len(data_)} bytes"
    if kind == 3:
        position = rng.randrange(wire.HEADER_SIZE, len(data_) + 1)
        extra = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
        return bytes(data_[:position] + extra + data_[position:]), f"inserted {len(extra)} bytes at {position}"
    if kind == 4:
        start = rng.randrange(wire.HEADER_SIZE, len(data_))
        end = min(len(data_), start + rng.randint(1, 16))
        return bytes(data_[:start] + data_[end:]), f"deleted bytes {start}..{end}"
    if kind == 5:
        value = rng.choice(_LENGTHS) & 0xFFFFFFFF
        struct.pack_into(">I", data_, 4, value)
        return bytes(data_), f"head_length set to {value}"
    if kind == 6:
        value = rng.choice(_LENGTHS)
        struct.pack_into(">Q", data_, 8, value)
        return bytes(data_), f"bulk_length set to {value}"
    if kind == 7:
        head_length = struct.unpack_from(">I", data_, 4)[0]
        start = rng.randrange(wire.HEADER_SIZE, wire.HEADER_SIZE + head_length)
        marker = rng.choice([0xC1, 0xDC, 0xDD, 0xDE, 0xDF, 0xDB, 0xC6, 0xC9, 0xD8, 0x9F, 0x8F])
        data_[start] = marker
        return bytes(data_), f"head byte {start} replaced by MessagePack marker {marker:#04x}"
    copies = rng.randint(2, 50)
    return bytes(frame) * copies, f"frame repeated {copies} times"


def _run(case_seed: int, context: ServerContext) -> None:
    rng = random.Random(case_seed)
    name, frame = rng.choice(_base_frames(context))
    mutated, how = mutate(rng, frame)
    peer = context.connect()
    peer.lenient = True
    sentinel = peer.new_id() + 1000
    try:
        peer.conn.send_bytes(mutated, f"{name} frame, {how}")
        peer.conn.send({"kind": "request", "id": sentinel, "method": "ping"}, note="sentinel ping")
    except PeerClosed:
        return
    deadline = time.monotonic() + SETTLE_SECONDS
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        try:
            message = peer.receive(remaining)
        except PeerClosed:
            return
        except TimedOut:
            break
        if message.get("kind") == "response" and message.get("id") == sentinel:
            return
    # The server may be waiting for the rest of a frame whose lengths grew: end the stream, which
    # makes it a truncated frame, a dropped connection [FRAME-8].
    peer.conn.shutdown_write()
    while True:
        try:
            peer.receive()
        except PeerClosed:
            return
        except TimedOut:
            raise CaseFailed(f"after the {name} frame ({how}) and end of stream, the server "
                             "neither answered nor closed the connection") from None


def fuzz_cases(seed: int, count: int) -> list[Case]:
    rng = random.Random(seed)
    cases = []
    for index in range(count):
        case_seed = rng.getrandbits(64)
        cases.append(Case(
            f"fuzz.{index:03d}", ("DROP-2", "FRAME-7", "FRAME-8"), "MUST",
            f"Mutated frame {index} of seed {seed}: the server answers or closes, never crashes "
            "or hangs, and keeps serving new connections.",
            partial(_run, case_seed), hostile=True))
    return cases
