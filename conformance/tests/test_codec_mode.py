"""Codec mode: the adapter protocol and the vector checks, against the fixture adapter on vectors
written here (so the expectations do not move with spec/vectors) and on the spec's own vectors."""

from __future__ import annotations

import glob
import json
import os

import pytest

from conftest import FIXTURE_ADAPTER, PYTHON, REPOSITORY, run_suite
from slicerbridge_conformance import data, wire

SPEC_VECTORS = os.path.join(REPOSITORY, "spec", "vectors")


def _vector(vector_id: str, frame: bytes, **fields) -> dict:
    return {"id": vector_id, "description": vector_id, "requirements": fields.pop("requirements", []),
            "hex": frame.hex(), **fields}


def _accept(vector_id: str, head, canonical: bool = True, **fields) -> dict:
    frame = wire.encode_frame(head)
    decoded, _ = wire.decode_frame(frame, wire.Limits())
    return _vector(vector_id, frame, **{"class": "accept", "decoded": wire.to_json(decoded.head),
                                        "canonical": canonical, **fields})


@pytest.fixture
def vectors(tmp_path):
    """A small vector directory covering every op and outcome."""
    ping = {"kind": "request", "id": 1, "method": "ping"}
    image = data.make_image("int16", (3, 2, 1), space="LPS", values=data.np.arange(6, dtype="i2") - 3)
    invoke = {"kind": "request", "id": 2, "method": "invoke",
              "params": {"processor": "echo", "inputs": {"input": image}}}
    ras = data.FLIP @ data.np.array(image["ijk_to_space"]).reshape(4, 4)
    bad_image = dict(image, dims=[3, 2])
    files = {
        "frames.json": [
            _accept("ping", ping, requirements=["FRAME-1"]),
            _accept("float", {"kind": "request", "id": 1, "method": "ping", "params": {"x-f": 0.5}}),
            _vector("non-minimal", wire.encode_frame({"kind": "request", "id": wire.Int(1, "uint32"),
                                                      "method": "ping"}),
                    **{"class": "accept", "decoded": {"kind": "request", "id": 1, "method": "ping"},
                       "canonical": False}),
        ],
        "malformed.json": [
            _vector("bad-magic", wire.encode_frame(ping, magic=b"XX"), **{"class": "reject", "error": "malformed_frame"}),
            _vector("cut", wire.encode_frame(ping)[:20], **{"class": "reject", "error": "truncated", "truncated": True}),
            _vector("deep", wire.encode_frame(wire.Raw(b"\x81\xa4kind" + b"\x91" * 40 + b"\xc0")),
                    **{"class": "reject", "error": "invalid_message"}),
        ],
        "data.json": [
            _accept("image", invoke, data_path=["params", "inputs", "input"], ijk_to_ras=ras.reshape(-1).tolist(),
                    typed_values=[{"path": ["params", "inputs", "input"], "dtype": "int16", "components": 1,
                                   "byte_order": "little", "values": [-3, -2, -1, 0, 1, 2]}]),
        ],
        "data_invalid.json": [
            _vector("dims-two", wire.encode_frame(dict(invoke, params={"processor": "echo", "inputs": {"input": bad_image}})),
                    **{"class": "reject", "error": "invalid_argument", "data_path": ["params", "inputs", "input"],
                       "decoded": None}),
        ],
        "messages_invalid.json": [
            _vector("unknown-method", wire.encode_frame({"kind": "request", "id": 4, "method": "reboot"}),
                    **{"class": "reject", "error": "method_not_found", "receiver": "server", "state": "established",
                       "response_id": 4, "decoded": {"kind": "request", "id": 4, "method": "reboot"}}),
            _vector("id-missing", wire.encode_frame({"kind": "request", "method": "ping"}),
                    **{"class": "reject", "error": "invalid_message", "receiver": "server", "state": "established",
                       "response_id": None, "decoded": {"kind": "request", "method": "ping"}}),
        ],
    }
    good = {"name": "good", "inputs": [{"name": "input", "type": "image"}], "outputs": [], "parameters": []}
    bad = {"name": "bad", "inputs": [], "outputs": [], "parameters": [{"name": "p", "type": "mesh"}]}
    files["catalog.json"] = [
        _accept("two", {"kind": "response", "id": 7, "result": {"processors": [good, bad]}},
                requirements=["CAT-5", "CAT-12"], result_of="catalog", receiver="client", kept=["good"],
                dropped=[{"index": 1, "name": "bad", "requirement": "CAT-5"}]),
    ]
    frame, _ = wire.decode_frame(bytes.fromhex(files["data_invalid.json"][0]["hex"]), wire.Limits())
    files["data_invalid.json"][0]["decoded"] = wire.to_json(frame.head)
    directory = tmp_path / "vectors"
    directory.mkdir()
    for name, entries in files.items():
        (directory / name).write_text(json.dumps({"spec_version": "1.0", "vectors": entries}))
    return directory


def _codec(vectors, tmp_path, *adapter_arguments, extra=()):
    return run_suite(["codec", "--vectors", str(vectors), "--timeout", "3", *extra, "--",
                      *FIXTURE_ADAPTER, *adapter_arguments], tmp_path)


def test_good_adapter_passes_every_vector(vectors, tmp_path):
    run = _codec(vectors, tmp_path)
    assert set(run.outcomes().values()) == {"PASS"}
    assert sorted(run.outcomes()) == sorted([
        "codec.ping", "codec.float", "codec.non-minimal", "codec.bad-magic", "codec.cut", "codec.deep",
        "codec.image", "data.image", "data.dims-two", "message.unknown-method", "message.id-missing",
        "codec.two", "catalog.two"])
    assert run.returncode == 0


@pytest.mark.parametrize("flaw, status, expected", [
    ("accept-everything", 1, {"FAIL": ["catalog.two", "codec.bad-magic", "codec.cut", "codec.deep",
                                       "data.dims-two", "message.id-missing", "message.unknown-method"]}),
    ("float32-reencoding", 0, {"NON-STRICT": ["codec.float", "codec.image"]}),
    ("crash-on-truncated", 3, {"ERROR": ["codec.cut"]}),
    ("hang-on-deep-head", 3, {"ERROR": ["codec.deep"]}),
    ("truncated-as-invalid", 1, {"FAIL": ["codec.cut"]}),
    ("no-message-op", 0, {}),
    ("connection-level-only", 1, {"FAIL": ["message.unknown-method"]}),
    ("refuse-whole-catalog", 1, {"FAIL": ["catalog.two"]}),
])
def test_adapter_flaw_fails_exactly_its_vectors_CANON_1_ERR_5(flaw, status, expected, vectors, tmp_path):
    """[CANON-1] [ERR-5]"""
    run = _codec(vectors, tmp_path, "--flaw", flaw)
    assert run.not_passing() == expected
    assert run.returncode == status


def test_unsupported_op_is_skipped(vectors, tmp_path):
    run = _codec(vectors, tmp_path, "--flaw", "no-message-op")
    assert run.outcomes()["message.unknown-method"] == "SKIPPED"


def test_canonical_differences_fail_with_strict(vectors, tmp_path):
    run = _codec(vectors, tmp_path, "--flaw", "float32-reencoding", extra=["--strict"])
    assert run.returncode == 1


def test_adapter_replying_garbage_fails_and_one_that_exits_is_error(vectors, tmp_path):
    garbage = run_suite(["codec", "--vectors", str(vectors), "--run", "codec.ping", "--", PYTHON, "-c",
                         "import sys; sys.stdin.buffer.read(4); sys.stdout.buffer.write(b'\\x00\\x00\\x00\\x03abc'); "
                         "sys.stdout.flush(); sys.stdin.buffer.read()"], tmp_path, "garbage")
    assert garbage.outcomes() == {"codec.ping": "FAIL"}
    gone = run_suite(["codec", "--vectors", str(vectors), "--run", "codec.ping", "--", PYTHON, "-c", "pass"],
                     tmp_path, "gone")
    assert gone.outcomes() == {"codec.ping": "ERROR"}
    assert gone.returncode == 3


@pytest.mark.skipif(not glob.glob(os.path.join(SPEC_VECTORS, "*.json")), reason="spec/vectors holds no vectors")
def test_good_adapter_passes_the_spec_vectors(tmp_path):
    run = _codec(SPEC_VECTORS, tmp_path)
    assert run.not_passing() == {}
    assert run.returncode == 0
