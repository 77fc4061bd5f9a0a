"""The suite's pure-Python zstd and LZ4 codecs against the reference libraries (tests only)."""

from __future__ import annotations

import os

import numpy as np
import pytest

from slicerbridge_conformance import compression

lz4_frame = pytest.importorskip("lz4.frame")
zstandard = pytest.importorskip("zstandard")

TEXT = b"SlicerBridge connects 3D Slicer to external processors. " * 300
SAMPLES = {
    "empty": b"",
    "byte": b"a",
    "repeats": b"abc" * 1000,
    "random": np.random.default_rng(5).integers(0, 256, 5000, dtype=np.uint8).tobytes(),
    "int16 wave": (np.sin(np.arange(100000) / 50) * 1000).astype(np.int16).tobytes(),
    "float32 ramp": np.arange(50000, dtype=np.float32).tobytes(),
    "text": TEXT,
    "zeros over 128 KiB": bytes(300000),
}


@pytest.mark.parametrize("name", SAMPLES)
@pytest.mark.parametrize("level", [1, 3, 9, 19, -5])
def test_zstd_decoder_reads_the_reference_encoder(name, level):
    raw = SAMPLES[name]
    for checksum in (False, True):
        frame = zstandard.ZstdCompressor(level=level, write_checksum=checksum,
                                         write_content_size=checksum).compress(raw)
        assert compression.zstd_decompress(frame, len(raw)) == raw


@pytest.mark.parametrize("name", SAMPLES)
def test_lz4_decoder_reads_the_reference_encoder(name):
    raw = SAMPLES[name]
    for linked in (False, True):
        for block_size in (lz4_frame.BLOCKSIZE_DEFAULT, lz4_frame.BLOCKSIZE_MAX64KB, lz4_frame.BLOCKSIZE_MAX256KB):
            frame = lz4_frame.compress(raw, block_linked=linked, content_checksum=linked,
                                       block_size=block_size, store_size=linked)
            assert compression.lz4_decompress(frame, len(raw)) == raw


@pytest.mark.parametrize("name", SAMPLES)
def test_encoders_are_read_by_the_reference_decoders(name):
    raw = SAMPLES[name]
    assert zstandard.ZstdDecompressor().decompress(compression.zstd_compress(raw), max_output_size=len(raw) + 1) == raw
    assert lz4_frame.decompress(compression.lz4_compress(raw)) == raw


def test_lz4_encoder_compresses():
    assert len(compression.lz4_compress(TEXT)) < len(TEXT) // 10


def test_decoders_stop_at_max_output_BULK_6():
    """[BULK-6]: a segment that expands without bound costs at most the allowed output."""
    bomb = compression.zstd_rle_bomb(0, 1 << 30)
    assert len(bomb) < 50000
    with pytest.raises(compression.CodecError):
        compression.zstd_decompress(bomb, 1 << 20)
    zeros = lz4_frame.compress(bytes(1 << 22), store_size=False)
    with pytest.raises(compression.CodecError):
        compression.lz4_decompress(zeros, 1 << 20)


def test_only_one_frame_and_nothing_after_it_BULK_8():
    """[BULK-8]"""
    for codec in ("zstd", "lz4"):
        frame = compression.compress(codec, b"data")
        for bad in (frame + b"\x00", frame + frame, frame[:-1], b"\x00" * 8):
            with pytest.raises(compression.CodecError):
                compression.decompress(codec, bad, 100)


def test_corrupt_checksums_are_refused():
    for codec in ("zstd", "lz4"):
        frame = bytearray(compression.compress(codec, TEXT))
        frame[-1] ^= 0xFF
        with pytest.raises(compression.CodecError):
            compression.decompress(codec, bytes(frame), len(TEXT))


def test_xxhash_known_values():
    assert compression.xxh32(b"") == 0x02CC5D05
    assert compression.xxh64(b"") == 0xEF46DB3751D8E999
    assert compression.xxh32(b"a") == 0x550D7456
    assert compression.xxh64(b"a") == 0xD24EC4F1A98C6E5B
    data = os.urandom(1000)
    frame = lz4_frame.compress(data, content_checksum=True)
    assert compression.lz4_decompress(frame, len(data)) == data
