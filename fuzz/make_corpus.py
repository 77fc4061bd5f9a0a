#!/usr/bin/env python3
"""Writes the fuzzers' seed corpus and dictionary from the golden vectors (spec/vectors).

Every vector's bytes (`hex`: one frame, or less for a truncated one) become one seed file named
after the vector's id, so a new vector is a new seed at the next build. The dictionary holds the
MessagePack encodings of every map key and short string in the vectors' `decoded` heads (keys,
methods, kinds, dtypes, slot types...), which lets the fuzzers splice in words the decoders know.

    make_corpus.py --vectors spec/vectors --out build-fuzz/fuzz/corpus --dict build-fuzz/fuzz/fuzz.dict

Standard library only: any Python 3 runs it.
"""

import argparse
import json
import pathlib
import shutil
import sys


def msgpack_str(text):
    data = text.encode("utf-8")
    n = len(data)
    if n < 32:
        return bytes([0xA0 | n]) + data
    if n < 256:
        return bytes([0xD9, n]) + data
    return None


def words(decoded, found):
    """Map keys and short strings, depth first (the vectors are at most a few levels deep)."""
    stack = [decoded]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key, value in item.items():
                if not key.startswith("$"):
                    found.add(key)
                stack.append(value)
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str) and len(item) <= 40:
            found.add(item)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vectors", required=True, type=pathlib.Path)
    parser.add_argument("--out", required=True, type=pathlib.Path, help="corpus directory (replaced)")
    parser.add_argument("--dict", type=pathlib.Path, help="libFuzzer dictionary to write")
    args = parser.parse_args()

    files = sorted(args.vectors.glob("*.json"))
    if not files:
        sys.exit(f"make_corpus.py: no vectors in {args.vectors}")
    if args.out.exists():
        shutil.rmtree(args.out)
    args.out.mkdir(parents=True)
    found = set()
    count = 0
    for path in files:
        for vector in json.loads(path.read_text(encoding="utf-8"))["vectors"]:
            if "hex" not in vector:  # a decision table's case: events, no bytes
                continue
            (args.out / vector["id"]).write_bytes(bytes.fromhex(vector["hex"]))
            count += 1
            if "decoded" in vector:
                words(vector["decoded"], found)
    if args.dict:
        lines = []
        for word in sorted(found):
            encoded = msgpack_str(word)
            if encoded is not None and word:
                escaped = "".join(f"\\x{b:02x}" for b in encoded)
                lines.append(f'"{escaped}"')
        args.dict.parent.mkdir(parents=True, exist_ok=True)
        args.dict.write_text("\n".join(lines) + "\n", encoding="ascii")
    print(f"make_corpus.py: {count} seeds in {args.out}, {len(found)} dictionary words")


if __name__ == "__main__":
    main()
