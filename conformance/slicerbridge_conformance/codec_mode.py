"""Codec mode: every golden vector of spec/vectors/ fed to an adapter program, protobuf-conformance
style. The adapter protocol (README): each request and each reply is a 4-byte big-endian length
followed by that many bytes of UTF-8 JSON. Requests carry an `op`:

- `decode`: {"op", "hex", "limits", "codecs"} -> {"accepted": true, "decoded", "reencoded"} or
  {"accepted": false, "error"}
- `message`: {"op", "hex", "limits", "codecs", "receiver", "state"} -> {"accepted": true} or
  {"accepted": false, "error", "response_id"} (response_id absent when nothing would be sent)
- `data`: {"op", "hex", "limits", "codecs", "data_path", "typed_paths", "geometry"} ->
  {"accepted": true, "typed_values": [{"path", "values"}], "matrix_ras"} or
  {"accepted": false, "error"}
- `catalog`: {"op", "hex", "limits", "codecs"}, a `catalog` response, read as a client reads it
  ([CAT-12]) -> {"accepted": true, "kept": [name], "dropped": [{"index", "name", "requirement"}]}
  or {"accepted": false, "error"}

Any reply may instead be {"unsupported": "<why>"}: the case is SKIPPED.
"""

from __future__ import annotations

import glob
import json
import math
import os
import queue
import struct
import subprocess
import threading
from typing import Any, Callable

from .framework import (Case, CaseFailed, CaseNonStrict, CaseSkipped, ImplementationCrashed, Result,
                        UsageError, execute)
from .process import OutputTail

MAX_REPLY = 256 << 20
CODEC_FILES = ("frames.json", "handshake.json", "messages.json", "data.json", "malformed.json",
               "catalog.json")


def load_cases(directory: str) -> list[Case]:
    """The cases of every vector file in `directory` (none when it holds no vectors)."""
    cases = []
    for path in sorted(glob.glob(os.path.join(directory, "*.json"))):
        name = os.path.basename(path)
        try:
            with open(path, encoding="utf-8") as handle:
                vectors = json.load(handle)["vectors"]
        except (OSError, ValueError, KeyError) as error:
            raise UsageError(f"cannot read vectors from {path}: {error}") from None
        for vector in vectors:
            requirements = tuple(vector.get("requirements", ()))
            description = f"{vector.get('description', '')} ({name})"
            if name in CODEC_FILES:
                canonical = ("CANON-1",) if vector.get("canonical") and "CANON-1" not in requirements else ()
                cases.append(Case(f"codec.{vector['id']}", requirements + canonical, "MUST", description,
                                  _decode_case, data=vector))
            if name in ("data.json", "data_invalid.json"):
                cases.append(Case(f"data.{vector['id']}", requirements, "MUST", description,
                                  _data_case, data=vector))
            if name == "catalog.json":
                cases.append(Case(f"catalog.{vector['id']}", requirements, "MUST", description,
                                  _catalog_case, data=vector))
            if name == "messages_invalid.json":
                cases.append(Case(f"message.{vector['id']}", requirements, "MUST", description,
                                  _message_case, data=vector))
    return cases


# ---------------------------------------------------------------------------------------------
# The adapter process


class Adapter:
    """The adapter under test, started once and restarted after it crashes or hangs."""

    def __init__(self, command: list[str], timeout: float) -> None:
        self.command = command
        self.timeout = timeout
        self.process: subprocess.Popen | None = None
        self.replies: queue.Queue = queue.Queue()
        self.stderr: OutputTail | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(self.command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, start_new_session=True)
        self.replies = queue.Queue()
        self.stderr = OutputTail(self.process.stderr)
        threading.Thread(target=self._read, args=(self.process.stdout, self.replies), daemon=True).start()

    @staticmethod
    def _read(stream, replies: queue.Queue) -> None:
        while True:
            header = stream.read(4)
            if len(header) < 4:
                replies.put(EOFError("the adapter closed its stdout"))
                return
            (length,) = struct.unpack(">I", header)
            if length > MAX_REPLY:
                replies.put(ValueError(f"reply of {length} bytes announced"))
                return
            body = stream.read(length)
            if len(body) < length:
                replies.put(EOFError("the adapter's stdout ended inside a reply"))
                return
            replies.put(body)

    def request(self, message: dict) -> dict:
        if self.process is None or self.process.poll() is not None:
            self.restart()
        body = json.dumps(message).encode("utf-8")
        try:
            self.process.stdin.write(struct.pack(">I", len(body)) + body)
            self.process.stdin.flush()
        except OSError:
            raise ImplementationCrashed(self._crash("the adapter stopped reading its stdin")) from None
        try:
            reply = self.replies.get(timeout=self.timeout)
        except queue.Empty:
            self.stop()
            raise ImplementationCrashed(f"the adapter did not reply within {self.timeout:g}s (hung)") from None
        if isinstance(reply, Exception):
            raise ImplementationCrashed(self._crash(str(reply)))
        try:
            decoded = json.loads(reply.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as error:
            raise CaseFailed(f"the adapter's reply is not UTF-8 JSON: {error}") from None
        if not isinstance(decoded, dict):
            raise CaseFailed("the adapter's reply is not a JSON object")
        if "unsupported" in decoded:
            raise CaseSkipped(f"the adapter does not support this: {decoded['unsupported']}")
        return decoded

    def _crash(self, what: str) -> str:
        status = self.process.wait(timeout=2) if self.process else None
        self.process = None
        tail = self.stderr.text() if self.stderr else ""
        return f"{what} (exit status {status}); stderr:\n{tail}"

    def restart(self) -> None:
        self.stop()
        self.start()

    def stop(self) -> None:
        if self.process is not None:
            try:
                self.process.stdin.close()
            except OSError:
                pass
            try:
                self.process.wait(timeout=2)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None


# ---------------------------------------------------------------------------------------------
# Comparing the adapter's answers with the vectors


def same_json(actual: Any, expected: Any) -> bool:
    """JSON-convention equality: integers and floats are distinct, bools are not integers, map
    keys compare in order, floats compare by value."""
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(actual) is type(expected) and actual == expected
    if isinstance(expected, float) or isinstance(actual, float):
        return isinstance(actual, float) and isinstance(expected, float) and actual == expected
    if isinstance(expected, int):
        return isinstance(actual, int) and actual == expected
    if isinstance(expected, dict):
        return (isinstance(actual, dict) and list(actual) == list(expected)
                and all(same_json(actual[key], expected[key]) for key in expected))
    if isinstance(expected, list):
        return (isinstance(actual, list) and len(actual) == len(expected)
                and all(same_json(a, e) for a, e in zip(actual, expected)))
    return actual == expected


def first_difference(actual: Any, expected: Any, path: str = "") -> str:
    if isinstance(expected, dict) and isinstance(actual, dict):
        if list(actual) != list(expected):
            return f"{path or 'head'}: keys {list(actual)} instead of {list(expected)}"
        for key in expected:
            if not same_json(actual[key], expected[key]):
                return first_difference(actual[key], expected[key], f"{path}.{key}" if path else key)
    if isinstance(expected, list) and isinstance(actual, list) and len(actual) == len(expected):
        for index, (a, e) in enumerate(zip(actual, expected)):
            if not same_json(a, e):
                return first_difference(a, e, f"{path}[{index}]")
    shown = json.dumps(actual)
    return f"{path or 'head'}: {shown[:200]} instead of {json.dumps(expected)[:200]}"


def _request(vector: dict, op: str, **extra: Any) -> dict:
    message = {"op": op, "hex": vector["hex"], "limits": vector.get("limits", {}),
               "codecs": vector.get("codecs", [])}
    message.update(extra)
    return message


def _expect_accepted(reply: dict, vector: dict, what: str) -> None:
    if reply.get("accepted") is not True:
        raise CaseFailed(f"{what}: refused with {reply.get('error')!r}, the vector must be accepted")


def _expect_rejected(reply: dict, expected: str, what: str) -> None:
    if reply.get("accepted") is not False:
        raise CaseFailed(f"{what}: accepted, the vector must be rejected with {expected}")
    if reply.get("error") != expected:
        raise CaseFailed(f"{what}: rejected with {reply.get('error')!r}, expected {expected}")


def _check_decode(adapter: Adapter, vector: dict, reencode: bool = True) -> None:
    """Accept vectors decode to `decoded` (and, with `reencode`, canonical ones re-encode byte for
    byte); reject vectors of the codec layer fail with `error`."""
    reply = adapter.request(_request(vector, "decode"))
    if vector["class"] == "reject" and "decoded" not in vector:
        _expect_rejected(reply, vector["error"], "decode")
        return
    _expect_accepted(reply, vector, "decode")
    if not same_json(reply.get("decoded"), vector["decoded"]):
        raise CaseFailed(f"decoded differently: {first_difference(reply.get('decoded'), vector['decoded'])}")
    if reencode and vector.get("canonical"):
        reencoded = reply.get("reencoded")
        if reencoded is None:
            raise CaseNonStrict("the adapter gave no re-encoding of a canonical vector [CANON-1]")
        if reencoded != vector["hex"]:
            raise CaseNonStrict(f"re-encoding differs from the canonical bytes [CANON-1]: "
                                f"first difference at byte {_first_byte_difference(reencoded, vector['hex'])}")


def _first_byte_difference(left: str, right: str) -> int:
    a, b = bytes.fromhex(left), bytes.fromhex(right)
    for index, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return index
    return min(len(a), len(b))


def _decode_case(adapter: Adapter, vector: dict) -> None:
    _check_decode(adapter, vector)


def _message_case(adapter: Adapter, vector: dict) -> None:
    _check_decode(adapter, vector, reencode=False)
    reply = adapter.request(_request(vector, "message", receiver=vector["receiver"], state=vector["state"]))
    _expect_rejected(reply, vector["error"], f"{vector['receiver']} {vector['state']}")
    if "response_id" in vector:
        if "response_id" not in reply or reply["response_id"] != vector["response_id"] \
                or isinstance(reply["response_id"], bool):
            raise CaseFailed(f"the error would be sent under id {reply.get('response_id', 'absent')!r}, "
                             f"expected {vector['response_id']!r}")
    elif reply.get("response_id") is not None:
        raise CaseFailed(f"an error response under id {reply['response_id']!r} would be sent; none is expected")


def _same_number(actual: Any, expected: Any) -> bool:
    if isinstance(expected, dict) and "$float" in expected:
        value = float(expected["$float"])
        if isinstance(actual, dict) and "$float" in actual:
            return actual == expected
        return isinstance(actual, float) and (actual == value or (math.isnan(value) and math.isnan(actual)))
    return same_json(actual, expected)


def _data_case(adapter: Adapter, vector: dict) -> None:
    _check_decode(adapter, vector, reencode=False)
    typed = vector.get("typed_values", [])
    geometry = "ijk_to_ras" if "ijk_to_ras" in vector else "matrix_ras" if "matrix_ras" in vector else None
    reply = adapter.request(_request(vector, "data", data_path=vector["data_path"],
                                     typed_paths=[entry["path"] for entry in typed], geometry=geometry))
    if vector["class"] == "reject":
        _expect_rejected(reply, vector["error"], "data value")
        return
    _expect_accepted(reply, vector, "data value")
    answered = {json.dumps(entry.get("path")): entry.get("values") for entry in reply.get("typed_values", [])
                if isinstance(entry, dict)}
    for entry in typed:
        values = answered.get(json.dumps(entry["path"]))
        if values is None:
            raise CaseFailed(f"no typed values for {entry['path']}")
        if not (isinstance(values, list) and len(values) == len(entry["values"])
                and all(_same_number(a, e) for a, e in zip(values, entry["values"]))):
            raise CaseFailed(f"typed array at {entry['path']} reads {str(values)[:200]}, "
                             f"expected {str(entry['values'])[:200]} [IMG-1] [ARRAY-2]")
    if geometry:
        matrix = reply.get("matrix_ras")
        if not (isinstance(matrix, list) and len(matrix) == 16
                and all(_same_number(a, float(e)) for a, e in zip(matrix, vector[geometry]))):
            raise CaseFailed(f"matrix in RAS {matrix} instead of {vector[geometry]} [IMG-5] [XFM-1]")


def _catalog_case(adapter: Adapter, vector: dict) -> None:
    """[CAT-12]: the processors the adapter's client keeps, and those it drops with their rule."""
    reply = adapter.request(_request(vector, "catalog"))
    _expect_accepted(reply, vector, "catalog")
    if reply.get("kept") != vector["kept"]:
        raise CaseFailed(f"keeps {reply.get('kept')!r}, expected {vector['kept']!r} [CAT-12]")
    dropped = reply.get("dropped")
    expected = vector["dropped"]
    if not isinstance(dropped, list) or len(dropped) != len(expected):
        raise CaseFailed(f"drops {dropped!r}, expected {expected!r} [CAT-12]")
    for got, want in zip(dropped, expected):
        if not isinstance(got, dict) or any(got.get(key) != want[key] or isinstance(got.get(key), bool)
                                            for key in ("index", "name")):
            raise CaseFailed(f"drops {got!r}, expected the description {want} [CAT-12]")
        if got.get("requirement") != want["requirement"]:
            raise CaseFailed(f"drops description {want['index']} for {got.get('requirement')!r}, "
                             f"it breaks [{want['requirement']}]")


# ---------------------------------------------------------------------------------------------
# Running the mode


def run_cases(cases: list[Case], command: list[str], timeout: float,
              progress: Callable[[Result], None]) -> list[Result]:
    adapter = Adapter(command, timeout)
    results = []
    try:
        for case in cases:
            result = execute(case, lambda: case.run(adapter, case.data))
            results.append(result)
            progress(result)
    finally:
        adapter.stop()
    return results
