"""Tests of the spec tooling: the vector checker, the model-driven semantics and the coverage tool.

Run with: /usr/bin/python3 -m pytest -q spec/tests
"""

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest

SPEC = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(SPEC / "vectors"))
sys.path.insert(0, str(SPEC / "tools"))

import check  # noqa: E402
import coverage  # noqa: E402
import semantics  # noqa: E402

MODEL = json.loads((SPEC / "model.json").read_text(encoding="utf-8"))
KNOWN_IDS, KNOWN_ERRORS = check.spec_ids_and_errors()


def vector(file_name, vector_id):
    document = json.loads((SPEC / "vectors" / file_name).read_text(encoding="utf-8"))
    return next(v for v in document["vectors"] if v["id"] == vector_id)


def verify(file_name, entry):
    check.check_vector(file_name, entry, MODEL, KNOWN_IDS, KNOWN_ERRORS, verbose=False)


# ---------------------------------------------------------------------------------------------
# check.py and the committed vectors

def test_every_committed_vector_is_consistent_VER_6():
    """The committed vector files pass the independent checker [VER-6]."""
    assert check.main([]) == 0


def test_the_worked_example_is_the_ping_vector_FRAME_1():
    """protocol.md section 2.1 and frame-ping-request hold the same 46 bytes [FRAME-1] [FRAME-4]."""
    text = (SPEC / "protocol.md").read_text(encoding="utf-8")
    example = text.split("### 2.1", 1)[1].split("```", 2)[1]
    hex_bytes = "".join(line.split("  ")[0].replace(" ", "") for line in example.splitlines())
    assert hex_bytes == vector("frames.json", "frame-ping-request")["hex"]
    assert len(hex_bytes) == 2 * 46


@pytest.mark.parametrize("file_name, vector_id", [("frames.json", "frame-ping-request"),
                                                  ("frames.json", "frame-nonminimal-str16")])
def test_a_wrong_canonical_flag_is_caught_CANON_9(file_name, vector_id):
    """Flipping `canonical` makes the re-encoding check fail in both directions [CANON-9]."""
    entry = copy.deepcopy(vector(file_name, vector_id))
    verify(file_name, entry)
    entry["canonical"] = not entry["canonical"]
    with pytest.raises(AssertionError, match="canonical"):
        verify(file_name, entry)


def test_an_integer_decoded_as_a_float_is_caught_HEAD_4():
    """`decoded` distinguishes 1 from 1.0 [HEAD-4]."""
    entry = copy.deepcopy(vector("frames.json", "frame-ping-request"))
    entry["decoded"]["id"] = 1.0
    with pytest.raises(AssertionError, match="decoded differs"):
        verify("frames.json", entry)


def test_a_wrong_expected_error_is_caught_FRAME_3():
    entry = copy.deepcopy(vector("malformed.json", "malformed-head-over-default-limit"))
    verify("malformed.json", entry)
    entry["error"] = "truncated"
    entry["truncated"] = True
    with pytest.raises(AssertionError, match="expected truncated, got frame_too_large"):
        verify("malformed.json", entry)


def test_typed_values_are_read_in_the_declared_byte_order_ARRAY_2():
    """A big-endian vector's values differ from its bytes read little-endian [ARRAY-2]."""
    entry = copy.deepcopy(vector("data.json", "data-image-int32-big-endian"))
    verify("data.json", entry)
    entry["typed_values"][0]["byte_order"] = "little"
    with pytest.raises(AssertionError):
        verify("data.json", entry)


def test_lps_geometry_must_match_the_ras_matrix_IMG_5():
    entry = copy.deepcopy(vector("data.json", "data-image-oblique-lps"))
    entry["decoded"]["params"]["inputs"]["input"]["space"] = "RAS"
    entry["decoded"]["params"]["inputs"]["input"]["ijk_to_space"][0] *= -1
    with pytest.raises(AssertionError):
        verify("data.json", entry)


def test_unknown_requirement_ids_are_refused():
    entry = copy.deepcopy(vector("frames.json", "frame-ping-request"))
    entry["requirements"] = ["FRAME-999"]
    with pytest.raises(AssertionError, match="FRAME-999"):
        verify("frames.json", entry)


def test_decoder_rejects_a_header_over_limits_before_noticing_truncation_ERR_5():
    """A 16-byte header announcing a huge head is frame_too_large, not truncated [ERR-5]."""
    header = b"SB\x01\x00" + (2**32 - 1).to_bytes(4, "big") + bytes(8)
    with pytest.raises(check.Rejected) as rejection:
        check.decode_frame(header, check.limit_defaults(MODEL), [])
    assert rejection.value.error == "frame_too_large"
    with pytest.raises(check.Rejected) as rejection:
        check.decode_frame(header[:12], check.limit_defaults(MODEL), [])
    assert rejection.value.error == "truncated"


# ---------------------------------------------------------------------------------------------
# semantics.py

def test_semantics_answers_a_request_without_method_under_its_id_MSG_12():
    outcome = semantics.expected_outcome(MODEL, {"kind": "request", "id": 7}, {})
    assert outcome[:2] == ("invalid_message", 7)


def test_semantics_answers_an_unknown_kind_at_connection_level_MSG_10():
    outcome = semantics.expected_outcome(MODEL, {"kind": "event"}, {})
    assert outcome[:2] == ("unknown_kind", None)


def test_semantics_makes_bad_data_an_invalid_argument_DATA_4():
    head = vector("data.json", "data-mesh-full")["decoded"]
    assert semantics.expected_outcome(MODEL, head, {}) is None
    broken = copy.deepcopy(head)
    broken["params"]["inputs"]["input"]["cell_data"][0]["data"]["$bulk"]["hex"] = "00" * 4
    assert semantics.expected_outcome(MODEL, broken, {})[:2] == ("invalid_argument", 100)


def test_semantics_accepts_integers_where_floats_are_expected_HEAD_3():
    progress = {"kind": "notification", "method": "progress", "params": {"id": 1, "fraction": 1}}
    assert semantics.expected_outcome(MODEL, progress, {}) is None
    progress["params"]["fraction"] = 1.5
    assert semantics.expected_outcome(MODEL, progress, {})[0] == "invalid_message"


def test_model_names_every_error_of_the_registry_ERR_1():
    model_errors = {error["name"] for error in MODEL["errors"]}
    assert model_errors | {"truncated"} == KNOWN_ERRORS


# ---------------------------------------------------------------------------------------------
# coverage.py

PROTOCOL = """# Test protocol

## 2. Framing

- `[FRAME-1]` A sender MUST write the magic.
- `[FRAME-2]` A receiver SHOULD read in chunks.

## 3. Heads

- `[HEAD-1]` Integers use the smallest format.
"""


def make_repo(root, vectors_requirements=()):
    (root / "spec" / "vectors").mkdir(parents=True)
    (root / "spec" / "protocol.md").write_text(PROTOCOL, encoding="utf-8")
    document = {"spec_version": "1.0",
                "vectors": [{"id": "v", "requirements": list(vectors_requirements)}]}
    (root / "spec" / "vectors" / "frames.json").write_text(json.dumps(document), encoding="utf-8")
    (root / "python" / "tests").mkdir(parents=True)
    (root / "python" / "tests" / "test_frame.py").write_text(
        'def test_magic():\n    """Checks the magic [FRAME-1]."""\n', encoding="utf-8")
    (root / "test").mkdir()
    (root / "test" / "unit-frame.cpp").write_text(
        'TEST_CASE("magic is checked "\n          "[FRAME-1] [FRAME-7]") {\n}\n',
        encoding="utf-8")
    (root / "python" / "slicerbridge").mkdir()
    (root / "python" / "slicerbridge" / "frame.py").write_text("# [FRAME-2]\n", encoding="utf-8")


def run_coverage(root, *options):
    return subprocess.run([sys.executable, str(SPEC / "tools" / "coverage.py"), "--root",
                           str(root), *options], capture_output=True, text=True)


def test_coverage_classifies_each_requirement(tmp_path):
    make_repo(tmp_path, vectors_requirements=["HEAD-1"])
    assert run_coverage(tmp_path).returncode == 0
    rows = {line.split("|")[1].strip(): line
            for line in (tmp_path / "spec" / "coverage.md").read_text().splitlines()
            if line.startswith("| `")}
    assert "| covered |" in rows["`FRAME-1`"]
    assert "python/tests/test_frame.py: test_magic" in rows["`FRAME-1`"]
    assert "test/unit-frame.cpp: magic is checked [FRAME-1] [FRAME-7]" in rows["`FRAME-1`"]
    assert "| UNCOVERED |" in rows["`FRAME-2`"]  # cited only by implementation code
    assert "python/slicerbridge/frame.py" in rows["`FRAME-2`"]
    assert "| SHOULD |" in rows["`FRAME-2`"]
    assert "| vectors only |" in rows["`HEAD-1`"]
    assert "| 3 | - | vectors only |" in rows["`HEAD-1`"]  # no BCP 14 keyword
    text = (tmp_path / "spec" / "coverage.md").read_text()
    assert "`FRAME-7`: test/unit-frame.cpp" in text  # cited but not defined


def test_coverage_check_detects_a_stale_document(tmp_path):
    make_repo(tmp_path)
    assert run_coverage(tmp_path, "--check").returncode == 1  # not written yet
    assert run_coverage(tmp_path).returncode == 0
    assert run_coverage(tmp_path, "--check").returncode == 0
    (tmp_path / "python" / "tests" / "test_more.py").write_text(
        "def test_chunks():\n    # [FRAME-2]\n    pass\n", encoding="utf-8")
    assert run_coverage(tmp_path, "--check").returncode == 1


def test_coverage_usage_errors_exit_2(tmp_path):
    assert run_coverage(tmp_path).returncode == 2  # no spec/protocol.md
    assert run_coverage(tmp_path, "--bogus").returncode == 2


def test_coverage_levels_follow_the_protocol_text():
    levels = coverage.requirement_levels((SPEC / "protocol.md").read_text(encoding="utf-8"))
    assert levels["FRAME-1"] == ("2", "MUST")
    assert levels["FRAME-6"] == ("2", "SHOULD")
    assert levels["BULK-1"][0] == "3.2"
    assert len(levels) == len(KNOWN_IDS)


def test_semantics_checks_results_against_the_model_CAT_6_CAT_12():
    """A description without `inputs` or with a mistyped slot breaks [CAT-6] or [CAT-11]: a
    `describe` result fails, a `catalog` drops that processor only [CAT-12]."""
    entry = vector("messages.json", "msg-response-catalog")
    context = {"result_of": "catalog"}
    assert semantics.expected_outcome(MODEL, entry["decoded"], context) is None
    missing = copy.deepcopy(entry["decoded"])
    del missing["result"]["processors"][0]["inputs"]
    assert semantics.expected_outcome(MODEL, missing, context) is None
    processors = missing["result"]["processors"] + entry["decoded"]["result"]["processors"]
    kept, dropped, _ = semantics.catalog_verdict(MODEL, processors)
    assert kept == ["vectors.threshold"]
    assert dropped == [{"index": 0, "name": "vectors.threshold", "requirement": "CAT-6"}]
    describe = {"result_of": "describe"}
    described = dict(missing, result=missing["result"]["processors"][0])
    assert semantics.expected_outcome(MODEL, described, describe)[0] == "invalid_message"
    mistyped = copy.deepcopy(entry["decoded"])
    mistyped["result"]["processors"][0]["parameters"][0]["optional"] = "no"
    assert semantics.catalog_verdict(MODEL, mistyped["result"]["processors"])[1][0][
        "requirement"] == "CAT-11"
    mistyped["result"] = mistyped["result"]["processors"][0]
    assert semantics.expected_outcome(MODEL, mistyped, describe)[0] == "invalid_message"
    no_array = dict(entry["decoded"], result={"processors": {}})
    assert semantics.expected_outcome(MODEL, no_array, context)[0] == "invalid_message"


# ---------------------------------------------------------------------------------------------
# Versioning: 1.x against the published 1.0 baseline in spec/published/ ([VER-2], [VER-5], [VER-6])

PUBLISHED = SPEC / "published"
MODEL_1_0 = json.loads((PUBLISHED / "model-1.0.json").read_text(encoding="utf-8"))
VECTORS_1_0 = json.loads((PUBLISHED / "vectors-1.0.json").read_text(encoding="utf-8"))


def meaning_digest(entry):
    import hashlib
    meaning = {key: entry[key] for key in VECTORS_1_0["keys"] if key in entry}
    return hashlib.sha256(json.dumps(meaning, sort_keys=True).encode()).hexdigest()


def current_vectors():
    found = {}
    for path in sorted((SPEC / "vectors").glob("*.json")):
        for entry in json.loads(path.read_text(encoding="utf-8"))["vectors"]:
            found[entry["id"]] = (path.name, entry)
    return found


def structure_properties(model):
    return {structure["name"]: {prop["name"]: prop for prop in structure["properties"]}
            for structure in model["structures"]}


def test_every_1_0_vector_is_kept_unchanged_and_still_passes_VER_6():
    """[VER-6]: each vector published with 1.0 is still in its file, with the same bytes, class,
    error and decoded meaning, and the current spec's checks still accept it as that."""
    vectors = current_vectors()
    known_ids, known_errors = check.spec_ids_and_errors()
    assert len(VECTORS_1_0["vectors"]) == 245
    for vector_id, published in VECTORS_1_0["vectors"].items():
        assert vector_id in vectors, f"1.0 vector {vector_id} was removed"
        file_name, entry = vectors[vector_id]
        assert file_name == published["file"], f"{vector_id} moved to {file_name}"
        assert meaning_digest(entry) == published["sha256"], f"{vector_id} changed meaning"
        check.check_vector(file_name, entry, MODEL, known_ids, known_errors, False)


def test_a_changed_vector_is_caught_VER_6():
    """The digest sees a change of meaning (an error name), not only of bytes."""
    entry = next(entry for _, entry in current_vectors().values()
                 if entry.get("error") == "malformed_frame")
    assert meaning_digest(entry) == VECTORS_1_0["vectors"][entry["id"]]["sha256"]
    assert meaning_digest(dict(entry, error="invalid_message")) != \
        VECTORS_1_0["vectors"][entry["id"]]["sha256"]


def test_minor_versions_only_add_optional_keys_and_registry_entries_VER_2():
    """[VER-2]: against 1.0, the current model removes nothing and adds only optional keys to
    existing structures, and only new values to the registries (capabilities, methods,
    notifications, data types, dtypes, limit keys, error codes)."""
    old, new = structure_properties(MODEL_1_0), structure_properties(MODEL)
    for structure, properties in old.items():
        assert structure in new, f"structure {structure} removed"
        for name, prop in new[structure].items():
            if name not in properties:
                assert prop.get("optional"), f"{structure}.{name} added as a required key"
        assert set(properties) <= set(new[structure]), f"{structure} lost keys"
    registries = {"methods": "method", "notifications": "method", "capabilities": "name",
                  "dataTypes": "name", "dtypes": "name", "limits": "name", "errors": "code",
                  "parameterTypes": "name"}
    for registry, key in registries.items():
        before = {entry[key] for entry in MODEL_1_0[registry]}
        after = {entry[key] for entry in MODEL[registry]}
        assert before <= after, f"{registry} lost {sorted(before - after)}"
    for enumeration in MODEL_1_0["enumerations"]:
        current = next(e for e in MODEL["enumerations"] if e["name"] == enumeration["name"])
        assert enumeration["values"] == current["values"][:len(enumeration["values"])]


def test_minor_versions_change_no_meaning_and_make_no_optional_key_required_VER_5():
    """[VER-5]: every 1.0 key keeps its type, an optional one stays optional with its default,
    every error code keeps its name and every 1.0 method its params and result."""
    old, new = structure_properties(MODEL_1_0), structure_properties(MODEL)
    for structure, properties in old.items():
        for name, prop in properties.items():
            current = new[structure][name]
            assert widens(prop["type"], current["type"]), f"{structure}.{name} changed type"
            if prop.get("optional"):
                assert current.get("optional"), f"{structure}.{name} became required"
                assert current.get("default") == prop.get("default"), \
                    f"{structure}.{name} changed its default"
    codes = {entry["code"]: entry["name"] for entry in MODEL["errors"]}
    for entry in MODEL_1_0["errors"]:
        assert codes[entry["code"]] == entry["name"], f"error {entry['code']} renamed"
    for method in MODEL_1_0["methods"]:
        current = next(m for m in MODEL["methods"] if m["method"] == method["method"])
        assert (current["params"], current["result"]) == (method["params"], method["result"])
    for alias in MODEL_1_0["aliases"]:
        current = next(a for a in MODEL["aliases"] if a["name"] == alias["name"])
        assert widens(alias["type"], current["type"]), f"alias {alias['name']} changed"


def widens(old, new):
    """Whether type `new` is `old`, or admits it as one alternative (a 1.1 value added beside the
    1.0 ones, as InvokeResult.outputs admits scalar outputs beside data values, [CAT-7]), or is
    a union holding all of `old`'s alternatives and more (DataValue's image_series, [SER-6])."""
    if new == old:
        return True
    while new.get("kind") == "reference" and new != old:
        alias = next((a for a in MODEL["aliases"] if a["name"] == new["name"]), None)
        if alias is None:
            return False
        new = alias["type"]
    if new == old:
        return True
    if new.get("kind") == "or" and old.get("kind") == "or" \
            and new.get("discriminant") == old.get("discriminant") \
            and all(item in new["items"] for item in old["items"]):
        return True  # alternatives added beside the 1.0 ones (a 1.1 data type, [VER-2])
    if new.get("kind") == "or":
        return any(widens(old, item) for item in new["items"])
    if new.get("kind") == old.get("kind") and new.get("kind") in ("map", "array"):
        inner = "value" if new["kind"] == "map" else "element"
        rest = {key: value for key, value in new.items() if key != inner}
        return rest == {key: value for key, value in old.items() if key != inner} \
            and widens(old[inner], new[inner])
    return False


def test_widens_refuses_a_narrower_or_other_type_VER_5():
    integer = {"kind": "base", "name": "integer"}
    number = {"kind": "base", "name": "number"}
    assert widens(integer, {"kind": "or", "items": [integer, number]})
    assert not widens(number, integer)
    assert not widens({"kind": "array", "element": number}, {"kind": "array", "element": integer})


# ---------------------------------------------------------------------------------------------
# msgpack_writer.py: the one encoder of generate.py and the conformance suite

def writer_values():
    boundaries = [0, 1, 31, 32, 127, 128, 255, 256, 2**16 - 1, 2**16, 2**32 - 1, 2**32,
                  2**63, 2**64 - 1]
    integers = boundaries + [-n for n in (1, 32, 33, 128, 129, 2**15, 2**15 + 1, 2**31,
                                          2**31 + 1, 2**63)]
    strings = ["", "a" * 31, "a" * 32, "é" * 200, "x" * 2**16]
    binaries = [b"", bytes(255), bytes(256), bytes(2**16)]
    containers = [[], list(range(15)), list(range(16)), list(range(2**16)),
                  {f"k{i}": i for i in range(15)}, {f"k{i}": i for i in range(16)},
                  {"nested": [{"a": [1.5, None, True, False]}]}]
    return integers + strings + binaries + containers + [None, True, False, 0.0, -2.5, 1e300]


@pytest.mark.parametrize("value", writer_values(), ids=lambda v: repr(v)[:40])
def test_writer_is_canonical_like_msgpack_python_CANON_2(value):
    """The writer's canonical bytes are the smallest encoding, as msgpack-python writes it (a
    real encoder the project did not write), and the oracle decodes them back [CANON-2]."""
    import msgpack
    import msgpack_oracle
    import msgpack_writer

    encoded = msgpack_writer.pack(value)
    assert encoded == msgpack.packb(value, use_bin_type=True)
    assert msgpack_oracle.decode(encoded) == value


def test_writer_explicit_encodings_decode_to_their_values_HEAD_3():
    """Non-minimal encodings are valid MessagePack [HEAD-3]: each decodes to its value."""
    import msgpack_oracle
    import msgpack_writer as w

    cases = [(w.Int(7, "int64"), 7, b"\xd3"), (w.Int(200, "uint32"), 200, b"\xce"),
             (w.Str("ab", "str32"), "ab", b"\xdb"), (w.Float32(0.75), 0.75, b"\xca"),
             (w.Array32((1, 2)), [1, 2], b"\xdd"), (w.Map32((("a", 1),)), {"a": 1}, b"\xdf")]
    for value, decoded, marker in cases:
        encoded = w.pack(value)
        assert encoded[:1] == marker
        assert msgpack_oracle.decode(encoded) == decoded


def test_writer_refuses_what_messagepack_cannot_hold():
    import msgpack_writer

    for value in (2**64, -(2**63) - 1, object()):
        with pytest.raises((ValueError, TypeError)):
            msgpack_writer.pack(value)


def test_writer_passes_unknown_values_to_the_extension():
    import msgpack_writer

    marker = object()

    def extension(item, out):
        if item is marker:
            out += b"\xc0"
            return True
        return False

    assert msgpack_writer.pack([marker, 1], extension=extension) == b"\x92\xc0\x01"
