"""Pure-Python zstd (RFC 8878) and LZ4 frame codecs, so the suite needs no compression library.

Decoders are complete (every block, literals and sequence mode), because a server under test may
compress its outputs with any setting. Decoders accept exactly one frame, as bulk segments hold (spec [BULK-8]). Encoders are
deliberately simple but produce valid frames:
zstd raw and RLE blocks (an RLE block is also how the suite builds decompression bombs), and LZ4
blocks from a greedy matcher. Every decoder refuses to produce more than `max_output` bytes.
"""

from __future__ import annotations

import struct


class CodecError(ValueError):
    """Corrupt compressed data, or output beyond the allowed size."""


_MASK32 = 0xFFFFFFFF
_MASK64 = 0xFFFFFFFFFFFFFFFF

# ---------------------------------------------------------------------------------------------
# xxHash (checksums of both frame formats)

_P32_1, _P32_2, _P32_3, _P32_4, _P32_5 = 2654435761, 2246822519, 3266489917, 668265263, 374761393


def _rotl32(value: int, count: int) -> int:
    return ((value << count) | (value >> (32 - count))) & _MASK32


def xxh32(data: bytes, seed: int = 0) -> int:
    length = len(data)
    index = 0
    if length >= 16:
        acc = [(seed + _P32_1 + _P32_2) & _MASK32, (seed + _P32_2) & _MASK32, seed & _MASK32,
               (seed - _P32_1) & _MASK32]
        limit = length - 16
        while index <= limit:
            lanes = struct.unpack_from("<4I", data, index)
            for lane in range(4):
                value = (acc[lane] + lanes[lane] * _P32_2) & _MASK32
                acc[lane] = (_rotl32(value, 13) * _P32_1) & _MASK32
            index += 16
        digest = (_rotl32(acc[0], 1) + _rotl32(acc[1], 7) + _rotl32(acc[2], 12)
                  + _rotl32(acc[3], 18)) & _MASK32
    else:
        digest = (seed + _P32_5) & _MASK32
    digest = (digest + length) & _MASK32
    while index + 4 <= length:
        (word,) = struct.unpack_from("<I", data, index)
        digest = (digest + word * _P32_3) & _MASK32
        digest = (_rotl32(digest, 17) * _P32_4) & _MASK32
        index += 4
    while index < length:
        digest = (digest + data[index] * _P32_5) & _MASK32
        digest = (_rotl32(digest, 11) * _P32_1) & _MASK32
        index += 1
    digest ^= digest >> 15
    digest = (digest * _P32_2) & _MASK32
    digest ^= digest >> 13
    digest = (digest * _P32_3) & _MASK32
    digest ^= digest >> 16
    return digest


_P64_1, _P64_2, _P64_3 = 11400714785074694791, 14029467366897019727, 1609587929392839161
_P64_4, _P64_5 = 9650029242287828579, 2870177450012600261


def _rotl64(value: int, count: int) -> int:
    return ((value << count) | (value >> (64 - count))) & _MASK64


def _xxh64_round(acc: int, lane: int) -> int:
    acc = (acc + lane * _P64_2) & _MASK64
    return (_rotl64(acc, 31) * _P64_1) & _MASK64


def xxh64(data: bytes, seed: int = 0) -> int:
    length = len(data)
    index = 0
    if length >= 32:
        acc = [(seed + _P64_1 + _P64_2) & _MASK64, (seed + _P64_2) & _MASK64, seed & _MASK64,
               (seed - _P64_1) & _MASK64]
        limit = length - 32
        while index <= limit:
            lanes = struct.unpack_from("<4Q", data, index)
            for lane in range(4):
                acc[lane] = _xxh64_round(acc[lane], lanes[lane])
            index += 32
        digest = (_rotl64(acc[0], 1) + _rotl64(acc[1], 7) + _rotl64(acc[2], 12)
                  + _rotl64(acc[3], 18)) & _MASK64
        for lane in range(4):
            digest ^= _xxh64_round(0, acc[lane])
            digest = (digest * _P64_1 + _P64_4) & _MASK64
    else:
        digest = (seed + _P64_5) & _MASK64
    digest = (digest + length) & _MASK64
    while index + 8 <= length:
        (word,) = struct.unpack_from("<Q", data, index)
        digest ^= _xxh64_round(0, word)
        digest = (_rotl64(digest, 27) * _P64_1 + _P64_4) & _MASK64
        index += 8
    if index + 4 <= length:
        (word,) = struct.unpack_from("<I", data, index)
        digest ^= (word * _P64_1) & _MASK64
        digest = (_rotl64(digest, 23) * _P64_2 + _P64_3) & _MASK64
        index += 4
    while index < length:
        digest ^= (data[index] * _P64_5) & _MASK64
        digest = (_rotl64(digest, 11) * _P64_1) & _MASK64
        index += 1
    digest ^= digest >> 33
    digest = (digest * _P64_2) & _MASK64
    digest ^= digest >> 29
    digest = (digest * _P64_3) & _MASK64
    digest ^= digest >> 32
    return digest


# ---------------------------------------------------------------------------------------------
# zstd

ZSTD_MAGIC = 0xFD2FB528
_ZSTD_BLOCK_MAX = 128 * 1024


class _ForwardBits:
    """Little-endian bit reader used for FSE table descriptions."""

    def __init__(self, data: bytes, start: int, end: int) -> None:
        self._data = data
        self._bit = start * 8
        self._end_bit = end * 8

    def read(self, count: int) -> int:
        if self._bit + count > self._end_bit:
            raise CodecError("zstd: table description runs past its section")
        first = self._bit >> 3
        last = (self._bit + count + 7) >> 3
        word = int.from_bytes(self._data[first:last], "little")
        value = (word >> (self._bit & 7)) & ((1 << count) - 1)
        self._bit += count
        return value

    def rewind(self, count: int) -> None:
        self._bit -= count

    def byte_position(self) -> int:
        return (self._bit + 7) >> 3


class _BackwardBits:
    """Reader of zstd's backward bitstreams: read from the end, starting after the padding mark.

    Reading past the start yields zero bits, and `overflowed` turns true, which is how the
    interleaved FSE decoders of Huffman weights know they are done.
    """

    def __init__(self, data: bytes, start: int, end: int) -> None:
        if end <= start or data[end - 1] == 0:
            raise CodecError("zstd: bitstream without its end mark")
        self._data = data
        self._start_bit = start * 8
        self._pos = (end - 1) * 8 + data[end - 1].bit_length() - 1

    def read(self, count: int) -> int:
        if count == 0:
            return 0
        self._pos -= count
        relative = self._pos - self._start_bit
        if relative >= 0:
            first = self._pos >> 3
            last = (self._pos + count + 7) >> 3
            word = int.from_bytes(self._data[first:last], "little")
            return (word >> (self._pos & 7)) & ((1 << count) - 1)
        available = count + relative
        if available <= 0:
            return 0
        word = int.from_bytes(self._data[self._start_bit >> 3:(self._start_bit >> 3) + 8], "little")
        return (word & ((1 << available) - 1)) << (-relative)

    @property
    def overflowed(self) -> bool:
        return self._pos < self._start_bit

    @property
    def unread(self) -> int:
        """Bits left before the start; negative once reads went past it."""
        return self._pos - self._start_bit



def _read_fse_distribution(bits: _ForwardBits, max_symbol: int, max_accuracy: int):
    accuracy_log = bits.read(4) + 5
    if accuracy_log > max_accuracy:
        raise CodecError("zstd: FSE accuracy log too large")
    remaining = 1 << accuracy_log
    counts: list[int] = []
    while remaining > 0:
        if len(counts) > max_symbol:
            raise CodecError("zstd: FSE distribution has too many symbols")
        width = (remaining + 1).bit_length()
        value = bits.read(width)
        lower_mask = (1 << (width - 1)) - 1
        threshold = (1 << width) - 1 - (remaining + 1)
        if (value & lower_mask) < threshold:
            bits.rewind(1)
            value &= lower_mask
        elif value > lower_mask:
            value -= threshold
        probability = value - 1
        remaining -= -probability if probability < 0 else probability
        counts.append(probability)
        if probability == 0:
            while True:
                repeat = bits.read(2)
                counts.extend([0] * repeat)
                if repeat != 3:
                    break
    if remaining != 0 or len(counts) > max_symbol + 1:
        raise CodecError("zstd: corrupt FSE distribution")
    return counts, accuracy_log


class _FseTable:
    def __init__(self, counts: list[int], accuracy_log: int) -> None:
        size = 1 << accuracy_log
        self.accuracy_log = accuracy_log
        symbols = [0] * size
        next_state = [0] * len(counts)
        high = size
        for symbol, count in enumerate(counts):
            if count == -1:
                high -= 1
                symbols[high] = symbol
                next_state[symbol] = 1
        step = (size >> 1) + (size >> 3) + 3
        mask = size - 1
        position = 0
        for symbol, count in enumerate(counts):
            if count <= 0:
                continue
            next_state[symbol] = count
            for _ in range(count):
                symbols[position] = symbol
                position = (position + step) & mask
                while position >= high:
                    position = (position + step) & mask
        if position != 0:
            raise CodecError("zstd: FSE distribution does not fill its table")
        self.symbols = symbols
        self.bit_counts = [0] * size
        self.baselines = [0] * size
        for state in range(size):
            descriptor = next_state[symbols[state]]
            next_state[symbols[state]] += 1
            bit_count = accuracy_log - (descriptor.bit_length() - 1)
            self.bit_counts[state] = bit_count
            self.baselines[state] = (descriptor << bit_count) - size

    @classmethod
    def rle(cls, symbol: int) -> "_FseTable":
        table = cls.__new__(cls)
        table.accuracy_log = 0
        table.symbols = [symbol]
        table.bit_counts = [0]
        table.baselines = [0]
        return table


_LL_DEFAULT = [4, 3, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 3, 2, 1, 1,
               1, 1, 1, -1, -1, -1, -1]
_ML_DEFAULT = [1, 4, 3, 2, 2, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
               1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, -1, -1, -1, -1, -1, -1, -1]
_OF_DEFAULT = [1, 1, 1, 1, 1, 1, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, -1, -1, -1, -1,
               -1]

_LL_BASE = list(range(16)) + [16, 18, 20, 22, 24, 28, 32, 40, 48, 64, 128, 256, 512, 1024, 2048,
                              4096, 8192, 16384, 32768, 65536]
_LL_BITS = [0] * 16 + [1, 1, 1, 1, 2, 2, 3, 3, 4, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]
_ML_BASE = list(range(3, 35)) + [35, 37, 39, 41, 43, 47, 51, 59, 67, 83, 99, 131, 259, 515, 1027,
                                 2051, 4099, 8195, 16387, 32771, 65539]
_ML_BITS = [0] * 32 + [1, 1, 1, 1, 2, 2, 3, 3, 4, 4, 5, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]

_LL_MAX_SYMBOL, _ML_MAX_SYMBOL, _OF_MAX_SYMBOL = 35, 52, 31
_LL_MAX_LOG, _ML_MAX_LOG, _OF_MAX_LOG = 9, 9, 8


class _Huffman:
    def __init__(self, weights: list[int]) -> None:
        if not weights or len(weights) > 255:
            raise CodecError("zstd: bad Huffman weight count")
        total = 0
        for weight in weights:
            if weight > 11:
                raise CodecError("zstd: Huffman weight too large")
            if weight:
                total += 1 << (weight - 1)
        if total == 0:
            raise CodecError("zstd: Huffman weights all zero")
        max_bits = total.bit_length()
        left = (1 << max_bits) - total
        if left & (left - 1):
            raise CodecError("zstd: Huffman weights do not complete a tree")
        weights = weights + [left.bit_length()]
        if max_bits > 11:
            raise CodecError("zstd: Huffman code too long")
        self.max_bits = max_bits
        size = 1 << max_bits
        lengths = [max_bits + 1 - weight if weight else 0 for weight in weights]
        rank_count = [0] * (max_bits + 2)
        for length in lengths:
            if length:
                rank_count[length] += 1
        rank_start = [0] * (max_bits + 2)
        rank_start[max_bits] = 0
        for length in range(max_bits, 0, -1):
            rank_start[length - 1] = rank_start[length] + rank_count[length] * (1 << (max_bits - length))
        self.symbols = [0] * size
        self.bit_counts = [0] * size
        for symbol, length in enumerate(lengths):
            if not length:
                continue
            start = rank_start[length]
            span = 1 << (max_bits - length)
            for state in range(start, start + span):
                self.symbols[state] = symbol
                self.bit_counts[state] = length
            rank_start[length] += span

    def decode_stream(self, data: bytes, start: int, end: int, count: int, out: bytearray) -> None:
        bits = _BackwardBits(data, start, end)
        mask = (1 << self.max_bits) - 1
        state = bits.read(self.max_bits)
        symbols, bit_counts = self.symbols, self.bit_counts
        for _ in range(count):
            out.append(symbols[state])
            length = bit_counts[state]
            state = ((state << length) | bits.read(length)) & mask
        # The last state update reads max_bits bits beyond the stream's start.
        if bits.unread != -self.max_bits:
            raise CodecError("zstd: Huffman stream length does not match its symbols")


def _decode_huffman_weights(data: bytes, position: int) -> tuple[list[int], int]:
    header = data[position]
    position += 1
    if header >= 128:
        count = header - 127
        size = (count + 1) // 2
        packed = data[position:position + size]
        if len(packed) < size:
            raise CodecError("zstd: truncated Huffman weights")
        weights = []
        for value in packed:
            weights.extend((value >> 4, value & 15))
        return weights[:count], position + size
    end = position + header
    if end > len(data):
        raise CodecError("zstd: truncated Huffman weights")
    table_bits = _ForwardBits(data, position, end)
    counts, accuracy_log = _read_fse_distribution(table_bits, 255, 6)
    table = _FseTable(counts, accuracy_log)
    stream = _BackwardBits(data, table_bits.byte_position(), end)
    state1 = stream.read(accuracy_log)
    state2 = stream.read(accuracy_log)
    weights = []
    while len(weights) < 255:
        weights.append(table.symbols[state1])
        state1 = table.baselines[state1] + stream.read(table.bit_counts[state1])
        if stream.overflowed:
            weights.append(table.symbols[state2])
            break
        weights.append(table.symbols[state2])
        state2 = table.baselines[state2] + stream.read(table.bit_counts[state2])
        if stream.overflowed:
            weights.append(table.symbols[state1])
            break
    return weights, end


class _ZstdFrameState:
    def __init__(self) -> None:
        self.huffman: _Huffman | None = None
        self.tables: dict[str, _FseTable | None] = {"ll": None, "of": None, "ml": None}
        self.repeat_offsets = [1, 4, 8]


def _decode_literals(data: bytes, position: int, end: int, state: _ZstdFrameState):
    first = data[position]
    block_type = first & 3
    size_format = (first >> 2) & 3
    if block_type in (0, 1):
        if size_format in (0, 2):
            regenerated, header = first >> 3, 1
        elif size_format == 1:
            regenerated, header = (first >> 4) | (data[position + 1] << 4), 2
        else:
            regenerated = (first >> 4) | (data[position + 1] << 4) | (data[position + 2] << 12)
            header = 3
        position += header
        if block_type == 0:
            if position + regenerated > end:
                raise CodecError("zstd: truncated raw literals")
            return bytes(data[position:position + regenerated]), position + regenerated
        if position >= end:
            raise CodecError("zstd: truncated RLE literals")
        return bytes([data[position]]) * regenerated, position + 1
    header = 3 if size_format < 2 else size_format + 2
    field_bits = (10, 10, 14, 18)[size_format]
    value = int.from_bytes(data[position:position + header], "little")
    regenerated = (value >> 4) & ((1 << field_bits) - 1)
    compressed = (value >> (4 + field_bits)) & ((1 << field_bits) - 1)
    streams = 1 if size_format == 0 else 4
    position += header
    section_end = position + compressed
    if section_end > end:
        raise CodecError("zstd: truncated compressed literals")
    if block_type == 2:
        weights, position = _decode_huffman_weights(data, position)
        state.huffman = _Huffman(weights)
    elif state.huffman is None:
        raise CodecError("zstd: treeless literals without a previous Huffman table")
    out = bytearray()
    if streams == 1:
        state.huffman.decode_stream(data, position, section_end, regenerated, out)
    else:
        if position + 6 > section_end:
            raise CodecError("zstd: truncated jump table")
        sizes = list(struct.unpack_from("<3H", data, position))
        position += 6
        sizes.append(section_end - position - sum(sizes))
        if sizes[3] <= 0:
            raise CodecError("zstd: corrupt jump table")
        per_stream = (regenerated + 3) // 4
        counts = [per_stream, per_stream, per_stream, regenerated - 3 * per_stream]
        if counts[3] < 0:
            raise CodecError("zstd: corrupt literal sizes")
        for size, count in zip(sizes, counts):
            state.huffman.decode_stream(data, position, position + size, count, out)
            position += size
    return bytes(out), section_end


def _sequence_table(mode: int, name: str, data: bytes, position: int, end: int,
                    state: _ZstdFrameState, default: list[int], default_log: int, max_symbol: int,
                    max_log: int) -> int:
    if mode == 0:
        state.tables[name] = _FseTable(default, default_log)
    elif mode == 1:
        if position >= end:
            raise CodecError("zstd: truncated RLE sequence table")
        if data[position] > max_symbol:
            raise CodecError("zstd: RLE sequence symbol out of range")
        state.tables[name] = _FseTable.rle(data[position])
        position += 1
    elif mode == 2:
        bits = _ForwardBits(data, position, end)
        counts, accuracy_log = _read_fse_distribution(bits, max_symbol, max_log)
        state.tables[name] = _FseTable(counts, accuracy_log)
        position = bits.byte_position()
    elif state.tables[name] is None:
        raise CodecError("zstd: repeated sequence table without a previous one")
    return position


def _decode_compressed_block(data: bytes, position: int, end: int, state: _ZstdFrameState,
                             out: bytearray, max_output: int) -> None:
    literals, position = _decode_literals(data, position, end, state)
    if position >= end:
        raise CodecError("zstd: missing sequences section")
    first = data[position]
    if first == 0:
        count, position = 0, position + 1
    elif first < 128:
        count, position = first, position + 1
    elif first < 255:
        count, position = ((first - 128) << 8) + data[position + 1], position + 2
    else:
        count, position = data[position + 1] + (data[position + 2] << 8) + 0x7F00, position + 3
    if count == 0:
        if len(out) + len(literals) > max_output:
            raise CodecError("zstd: output larger than allowed")
        out += literals
        return
    modes = data[position]
    position += 1
    if modes & 3:
        raise CodecError("zstd: reserved bits set in sequence modes")
    position = _sequence_table(modes >> 6, "ll", data, position, end, state, _LL_DEFAULT, 6,
                               _LL_MAX_SYMBOL, _LL_MAX_LOG)
    position = _sequence_table((modes >> 4) & 3, "of", data, position, end, state, _OF_DEFAULT, 5,
                               _OF_MAX_SYMBOL, _OF_MAX_LOG)
    position = _sequence_table((modes >> 2) & 3, "ml", data, position, end, state, _ML_DEFAULT, 6,
                               _ML_MAX_SYMBOL, _ML_MAX_LOG)
    ll_table, of_table, ml_table = state.tables["ll"], state.tables["of"], state.tables["ml"]
    bits = _BackwardBits(data, position, end)
    ll_state = bits.read(ll_table.accuracy_log)
    of_state = bits.read(of_table.accuracy_log)
    ml_state = bits.read(ml_table.accuracy_log)
    repeats = state.repeat_offsets
    literal_position = 0
    for index in range(count):
        ll_code = ll_table.symbols[ll_state]
        of_code = of_table.symbols[of_state]
        ml_code = ml_table.symbols[ml_state]
        if ll_code > _LL_MAX_SYMBOL or ml_code > _ML_MAX_SYMBOL or of_code > _OF_MAX_SYMBOL:
            raise CodecError("zstd: sequence code out of range")
        offset_value = (1 << of_code) + bits.read(of_code)
        match_length = _ML_BASE[ml_code] + bits.read(_ML_BITS[ml_code])
        literal_length = _LL_BASE[ll_code] + bits.read(_LL_BITS[ll_code])
        if offset_value > 3:
            offset = offset_value - 3
            repeats = [offset, repeats[0], repeats[1]]
        else:
            slot = offset_value - 1 + (1 if literal_length == 0 else 0)
            if slot == 0:
                offset = repeats[0]
            elif slot == 3:
                offset = repeats[0] - 1
                repeats = [offset, repeats[0], repeats[1]]
            elif slot == 1:
                offset = repeats[1]
                repeats = [offset, repeats[0], repeats[2]]
            else:
                offset = repeats[2]
                repeats = [offset, repeats[0], repeats[1]]
        if index != count - 1:
            ll_state = ll_table.baselines[ll_state] + bits.read(ll_table.bit_counts[ll_state])
            ml_state = ml_table.baselines[ml_state] + bits.read(ml_table.bit_counts[ml_state])
            of_state = of_table.baselines[of_state] + bits.read(of_table.bit_counts[of_state])
        if literal_position + literal_length > len(literals):
            raise CodecError("zstd: sequence uses more literals than decoded")
        if len(out) + literal_length + match_length > max_output:
            raise CodecError("zstd: output larger than allowed")
        out += literals[literal_position:literal_position + literal_length]
        literal_position += literal_length
        if offset <= 0 or offset > len(out):
            raise CodecError("zstd: match offset out of range")
        start = len(out) - offset
        if offset >= match_length:
            out += out[start:start + match_length]
        else:
            for step in range(match_length):
                out.append(out[start + step])
    if bits.overflowed:
        raise CodecError("zstd: sequence bitstream overran")
    state.repeat_offsets = repeats
    if len(out) + len(literals) - literal_position > max_output:
        raise CodecError("zstd: output larger than allowed")
    out += literals[literal_position:]


def _decode_zstd_frame(data: bytes, position: int, out: bytearray, max_output: int) -> int:
    if position + 1 > len(data):
        raise CodecError("zstd: truncated frame header")
    descriptor = data[position]
    position += 1
    content_size_flag = descriptor >> 6
    single_segment = (descriptor >> 5) & 1
    if descriptor & 0x08:
        raise CodecError("zstd: reserved frame header bit set")
    has_checksum = (descriptor >> 2) & 1
    dictionary_id_size = (0, 1, 2, 4)[descriptor & 3]
    if not single_segment:
        position += 1
    if dictionary_id_size:
        dictionary_id = int.from_bytes(data[position:position + dictionary_id_size], "little")
        if dictionary_id:
            raise CodecError("zstd: frames needing a dictionary are not supported")
        position += dictionary_id_size
    content_size_bytes = (1 if single_segment else 0, 2, 4, 8)[content_size_flag]
    content_size = None
    if content_size_bytes:
        if position + content_size_bytes > len(data):
            raise CodecError("zstd: truncated frame header")
        content_size = int.from_bytes(data[position:position + content_size_bytes], "little")
        if content_size_bytes == 2:
            content_size += 256
        position += content_size_bytes
    if content_size is not None and len(out) + content_size > max_output:
        raise CodecError("zstd: declared content size larger than allowed")
    frame_start = len(out)
    state = _ZstdFrameState()
    while True:
        if position + 3 > len(data):
            raise CodecError("zstd: truncated block header")
        header = int.from_bytes(data[position:position + 3], "little")
        position += 3
        last = header & 1
        block_type = (header >> 1) & 3
        block_size = header >> 3
        if block_type == 0:
            if position + block_size > len(data):
                raise CodecError("zstd: truncated raw block")
            if len(out) + block_size > max_output:
                raise CodecError("zstd: output larger than allowed")
            out += data[position:position + block_size]
            position += block_size
        elif block_type == 1:
            if position >= len(data):
                raise CodecError("zstd: truncated RLE block")
            if len(out) + block_size > max_output:
                raise CodecError("zstd: output larger than allowed")
            out += bytes([data[position]]) * block_size
            position += 1
        elif block_type == 2:
            if block_size > _ZSTD_BLOCK_MAX or position + block_size > len(data):
                raise CodecError("zstd: truncated or oversized compressed block")
            _decode_compressed_block(data, position, position + block_size, state, out, max_output)
            position += block_size
        else:
            raise CodecError("zstd: reserved block type")
        if last:
            break
    if content_size is not None and len(out) - frame_start != content_size:
        raise CodecError("zstd: frame content size mismatch")
    if has_checksum:
        if position + 4 > len(data):
            raise CodecError("zstd: truncated checksum")
        (expected,) = struct.unpack_from("<I", data, position)
        if xxh64(bytes(out[frame_start:])) & _MASK32 != expected:
            raise CodecError("zstd: checksum mismatch")
        position += 4
    return position


def zstd_decompress(data: bytes, max_output: int) -> bytes:
    """Decodes exactly one zstd frame with nothing after it (spec [BULK-8])."""
    data = bytes(data)
    if len(data) < 4 or struct.unpack_from("<I", data, 0)[0] != ZSTD_MAGIC:
        raise CodecError("zstd: not a zstd frame")
    out = bytearray()
    end = _decode_zstd_frame(data, 4, out, max_output)
    if end != len(data):
        raise CodecError(f"zstd: {len(data) - end} bytes after the frame")
    return bytes(out)


def zstd_compress(data: bytes, *, checksum: bool = True) -> bytes:
    """Encodes one zstd frame of raw and RLE blocks (valid for every decoder, no entropy coding)."""
    data = bytes(data)
    size = len(data)
    descriptor = 0x20 | (0x04 if checksum else 0)
    if size < 256:
        content_size = bytes([size])
    elif size < 65536 + 256:
        descriptor |= 0x40
        content_size = struct.pack("<H", size - 256)
    elif size < 1 << 32:
        descriptor |= 0x80
        content_size = struct.pack("<I", size)
    else:
        descriptor |= 0xC0
        content_size = struct.pack("<Q", size)
    out = bytearray(struct.pack("<I", ZSTD_MAGIC))
    out.append(descriptor)
    out += content_size
    blocks = [data[i:i + _ZSTD_BLOCK_MAX] for i in range(0, size, _ZSTD_BLOCK_MAX)] or [b""]
    for index, block in enumerate(blocks):
        last = 1 if index == len(blocks) - 1 else 0
        if len(block) > 1 and block.count(block[:1]) == len(block):
            out += ((len(block) << 3) | (1 << 1) | last).to_bytes(3, "little")
            out.append(block[0])
        else:
            out += ((len(block) << 3) | last).to_bytes(3, "little")
            out += block
    if checksum:
        out += struct.pack("<I", xxh64(data) & _MASK32)
    return bytes(out)


def zstd_rle_bomb(byte: int, size: int) -> bytes:
    """A tiny zstd frame (no declared content size) that expands to `size` copies of `byte`."""
    out = bytearray(struct.pack("<I", ZSTD_MAGIC))
    out.append(0x00)
    out.append(0x58)  # window descriptor: 2^(10+11) bytes window, enough for RLE blocks
    remaining = size
    while True:
        block = min(remaining, _ZSTD_BLOCK_MAX)
        remaining -= block
        last = 1 if remaining == 0 else 0
        out += ((block << 3) | (1 << 1) | last).to_bytes(3, "little")
        out.append(byte)
        if last:
            return bytes(out)


# ---------------------------------------------------------------------------------------------
# LZ4 frame format

LZ4_MAGIC = 0x184D2204
_LZ4_BLOCK_SIZES = {4: 64 * 1024, 5: 256 * 1024, 6: 1024 * 1024, 7: 4 * 1024 * 1024}


def _lz4_read_length(data: bytes, position: int, base: int) -> tuple[int, int]:
    length = base
    if base == 15:
        while True:
            if position >= len(data):
                raise CodecError("lz4: truncated length")
            value = data[position]
            position += 1
            length += value
            if value != 255:
                break
    return length, position


def _lz4_decode_block(block: bytes, out: bytearray, window_start: int, max_output: int) -> None:
    position = 0
    end = len(block)
    while position < end:
        token = block[position]
        position += 1
        literal_length, position = _lz4_read_length(block, position, token >> 4)
        if position + literal_length > end:
            raise CodecError("lz4: literals run past the block")
        if len(out) + literal_length > max_output:
            raise CodecError("lz4: output larger than allowed")
        out += block[position:position + literal_length]
        position += literal_length
        if position == end:
            return
        if position + 2 > end:
            raise CodecError("lz4: truncated match offset")
        offset = block[position] | (block[position + 1] << 8)
        position += 2
        match_length, position = _lz4_read_length(block, position, token & 15)
        match_length += 4
        if offset == 0 or offset > len(out) - window_start:
            raise CodecError("lz4: match offset out of range")
        if len(out) + match_length > max_output:
            raise CodecError("lz4: output larger than allowed")
        start = len(out) - offset
        if offset >= match_length:
            out += out[start:start + match_length]
        else:
            for step in range(match_length):
                out.append(out[start + step])
    raise CodecError("lz4: empty block")


def lz4_decompress(data: bytes, max_output: int) -> bytes:
    """Decodes exactly one LZ4 frame with nothing after it (spec [BULK-8])."""
    data = bytes(data)
    if len(data) < 4 or struct.unpack_from("<I", data, 0)[0] != LZ4_MAGIC:
        raise CodecError("lz4: not an LZ4 frame")
    out = bytearray()
    end = _lz4_decode_frame(data, 4, out, max_output)
    if end != len(data):
        raise CodecError(f"lz4: {len(data) - end} bytes after the frame")
    return bytes(out)


def _lz4_decode_frame(data: bytes, position: int, out: bytearray, max_output: int) -> int:
    descriptor_start = position
    if position + 3 > len(data):
        raise CodecError("lz4: truncated frame descriptor")
    flags, block_descriptor = data[position], data[position + 1]
    position += 2
    if flags >> 6 != 1 or flags & 0x02 or block_descriptor & 0x8F:
        raise CodecError("lz4: unsupported frame version or reserved bits set")
    independent = (flags >> 5) & 1
    block_checksum = (flags >> 4) & 1
    has_content_size = (flags >> 3) & 1
    content_checksum = (flags >> 2) & 1
    has_dictionary = flags & 1
    block_max = _LZ4_BLOCK_SIZES.get(block_descriptor >> 4)
    if block_max is None:
        raise CodecError("lz4: invalid block maximum size")
    content_size = None
    if has_content_size:
        content_size = int.from_bytes(data[position:position + 8], "little")
        position += 8
        if len(out) + content_size > max_output:
            raise CodecError("lz4: declared content size larger than allowed")
    if has_dictionary:
        raise CodecError("lz4: frames needing a dictionary are not supported")
    if position >= len(data):
        raise CodecError("lz4: truncated frame descriptor")
    if (xxh32(data[descriptor_start:position]) >> 8) & 0xFF != data[position]:
        raise CodecError("lz4: frame descriptor checksum mismatch")
    position += 1
    frame_start = len(out)
    while True:
        if position + 4 > len(data):
            raise CodecError("lz4: truncated block size")
        (size_field,) = struct.unpack_from("<I", data, position)
        position += 4
        if size_field == 0:
            break
        uncompressed = size_field >> 31
        size = size_field & 0x7FFFFFFF
        if size > block_max or position + size > len(data):
            raise CodecError("lz4: block too large or truncated")
        block = data[position:position + size]
        position += size
        if block_checksum:
            if position + 4 > len(data):
                raise CodecError("lz4: truncated block checksum")
            (expected,) = struct.unpack_from("<I", data, position)
            if xxh32(block) != expected:
                raise CodecError("lz4: block checksum mismatch")
            position += 4
        if uncompressed:
            if len(out) + size > max_output:
                raise CodecError("lz4: output larger than allowed")
            out += block
        else:
            window_start = len(out) if independent else frame_start
            _lz4_decode_block(block, out, window_start, max_output)
    if content_size is not None and len(out) - frame_start != content_size:
        raise CodecError("lz4: frame content size mismatch")
    if content_checksum:
        if position + 4 > len(data):
            raise CodecError("lz4: truncated content checksum")
        (expected,) = struct.unpack_from("<I", data, position)
        if xxh32(bytes(out[frame_start:])) != expected:
            raise CodecError("lz4: content checksum mismatch")
        position += 4
    return position


def _lz4_write_length(out: bytearray, length: int) -> None:
    length -= 15
    while length >= 255:
        out.append(255)
        length -= 255
    out.append(length)


def _lz4_compress_block(data: bytes) -> bytes:
    size = len(data)
    out = bytearray()
    anchor = 0
    position = 0
    table: dict[bytes, int] = {}
    match_limit = size - 12
    while position < match_limit:
        key = data[position:position + 4]
        candidate = table.get(key)
        table[key] = position
        if candidate is None or position - candidate > 65535:
            position += 1
            continue
        length = 4
        while position + length < size - 5 and data[candidate + length] == data[position + length]:
            length += 1
        literal_length = position - anchor
        token_position = len(out)
        out.append(0)
        token = min(literal_length, 15) << 4
        if literal_length >= 15:
            _lz4_write_length(out, literal_length)
        out += data[anchor:position]
        out += struct.pack("<H", position - candidate)
        token |= min(length - 4, 15)
        if length - 4 >= 15:
            _lz4_write_length(out, length - 4)
        out[token_position] = token
        position += length
        anchor = position
    literal_length = size - anchor
    out.append(min(literal_length, 15) << 4)
    if literal_length >= 15:
        _lz4_write_length(out, literal_length)
    out += data[anchor:]
    return bytes(out)


def lz4_compress(data: bytes, *, checksum: bool = True) -> bytes:
    """Encodes one LZ4 frame of independent 64 KiB blocks, with content size and checksum."""
    data = bytes(data)
    flags = 0x40 | 0x20 | 0x08 | (0x04 if checksum else 0)
    descriptor = bytes([flags, 0x40]) + struct.pack("<Q", len(data))
    out = bytearray(struct.pack("<I", LZ4_MAGIC))
    out += descriptor
    out.append((xxh32(descriptor) >> 8) & 0xFF)
    block_max = _LZ4_BLOCK_SIZES[4]
    for start in range(0, len(data), block_max):
        block = data[start:start + block_max]
        compressed = _lz4_compress_block(block)
        if len(compressed) < len(block):
            out += struct.pack("<I", len(compressed))
            out += compressed
        else:
            out += struct.pack("<I", len(block) | 0x80000000)
            out += block
    out += struct.pack("<I", 0)
    if checksum:
        out += struct.pack("<I", xxh32(data))
    return bytes(out)


CODEC_IDS = {"zstd": 1, "lz4": 2}
CODEC_NAMES = {number: name for name, number in CODEC_IDS.items()}


def compress(codec: str, data: bytes) -> bytes:
    if codec == "zstd":
        return zstd_compress(data)
    if codec == "lz4":
        return lz4_compress(data)
    raise ValueError(f"unknown codec {codec!r}")


def decompress(codec: str, data: bytes, max_output: int) -> bytes:
    if codec == "zstd":
        return zstd_decompress(data, max_output)
    if codec == "lz4":
        return lz4_decompress(data, max_output)
    raise ValueError(f"unknown codec {codec!r}")
