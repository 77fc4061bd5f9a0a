"""The @processor decorator, descriptions (spec section 10) and argument checking [INV-2]."""

from typing import Optional

import numpy as np
import pytest

from conftest import oblique_matrix
from slicerbridge import (Context, Enum, Float, FloatVector, Image, Input, Int, IntVector,
                          Mesh, Output, ProcessorDescription, String, StringVector, Table,
                          processor)
from slicerbridge.catalog import Slot
from slicerbridge.errors import ErrorCode, SlicerBridgeError
from slicerbridge.processors import box_smooth, label_statistics, threshold


@processor(name="demo.full", title="Demo", category="Testing.Demo", contributor="Tests")
def full(ctx, volume: Input(Image, label="Volume", image_kind="scalar"),
         surface: Optional[Mesh] = None,
         flag: bool = False,
         count: Int(min=1, max=10, step=1, group="Advanced") = 3,
         scale: Float(min=0.0, max=2.0) = 1.0,
         name: String(description="A name") = "x",
         mode: Enum(["fast", "exact"]) = "fast",
         sizes: IntVector(length=3) = (1, 2, 3),
         weights: FloatVector(min=0.0) = (0.5,),
         tags: StringVector() = (),
         required: int = None) -> {"result": Output(Image, image_kind="label"),
                                   "report": Optional[Table]}:
    """A processor with one slot of every kind."""
    return {"result": volume.with_voxels(np.zeros_like(volume.voxels, np.uint8), kind="label")}


def slot(description, name):
    for role in ("inputs", "outputs", "parameters"):
        for item in getattr(description, role):
            if item.name == name:
                return item
    raise KeyError(name)


def test_decorator_builds_the_description_from_annotations():
    d = full.description
    assert (d.name, d.title, d.category, d.contributor) == ("demo.full", "Demo", "Testing.Demo",
                                                            "Tests")
    assert d.description == "A processor with one slot of every kind."
    assert [s.name for s in d.inputs] == ["volume", "surface"]
    assert [s.name for s in d.outputs] == ["result", "report"]
    assert [(s.name, s.type) for s in d.parameters] == [
        ("flag", "bool"), ("count", "int"), ("scale", "float"), ("name", "string"),
        ("mode", "enum"), ("sizes", "int_vector"), ("weights", "float_vector"),
        ("tags", "string_vector"), ("required", "int")]
    volume = slot(d, "volume")
    assert (volume.label, volume.image_kind, volume.optional) == ("Volume", "scalar", False)
    assert slot(d, "surface").optional and slot(d, "report").optional
    count = slot(d, "count")
    assert (count.minimum, count.maximum, count.step, count.group, count.default) == (
        1, 10, 1, "Advanced", 3)
    assert slot(d, "mode").choices == ["fast", "exact"]
    assert slot(d, "sizes").length == 3 and slot(d, "sizes").default == [1, 2, 3]
    assert slot(d, "flag").label == "Flag"


def test_description_carries_every_key_and_reads_back_CAT_6():
    """[CAT-6]"""
    wire = full.description.to_wire()
    assert list(wire)[:5] == ["name", "version", "title", "description", "category"]
    assert all(key in wire for key in ("inputs", "outputs", "parameters"))
    assert all("name" in s and "type" in s for s in wire["parameters"])
    assert ProcessorDescription.from_wire(wire) == full.description


def test_minimal_description_is_accepted_CAT_6():
    """[CAT-6]"""
    minimal = ProcessorDescription.from_wire({
        "name": "p", "inputs": [{"name": "a", "type": "image"}], "outputs": [],
        "parameters": [{"name": "b", "type": "float"}]})
    assert minimal.title == "" and minimal.inputs[0].label == "" and minimal.parameters[0].type \
        == "float"
    with pytest.raises(SlicerBridgeError) as raised:
        ProcessorDescription.from_wire({"name": "p", "inputs": [{"name": 3, "type": "image"}]})
    assert raised.value.code == ErrorCode.INVALID_MESSAGE


def test_slot_names_are_unique_across_inputs_outputs_and_parameters_CAT_3():
    """[CAT-3]"""
    with pytest.raises(ValueError):
        @processor()
        def clash(volume: Image) -> {"volume": Image}:
            return {}


def test_defaults_must_satisfy_their_constraints_CAT_5():
    """[CAT-5]"""
    with pytest.raises(ValueError):
        @processor()
        def bad_default(count: Int(min=1) = 0) -> {}:
            return {}
    with pytest.raises(ValueError):
        @processor()
        def bad_choice(mode: Enum(["a"]) = "b") -> {}:
            return {}


def test_names_follow_the_catalog_grammar():
    with pytest.raises(ValueError):
        processor(name="9lives")(lambda: {})
    with pytest.raises(TypeError):
        @processor()
        def unannotated(x) -> {}:
            return {}


def bind(parameters=None, inputs=None):
    image = Image(np.zeros((1, 1, 1), np.float32))
    given = {"volume": image} if inputs is None else inputs
    return full.bind(given, {"required": 1, **(parameters or {})})


def test_absent_parameters_take_their_defaults_INV_3():
    """[INV-3]"""
    arguments = bind()
    assert (arguments["count"], arguments["scale"], arguments["mode"], arguments["tags"]) == (
        3, 1.0, "fast", [])
    assert arguments["surface"] is None


def test_integers_are_accepted_for_floats_HEAD_3():
    """[HEAD-3]"""
    assert bind({"scale": 2})["scale"] == 2.0 and isinstance(bind({"scale": 2})["scale"], float)


@pytest.mark.parametrize("parameters,inputs,name", [
    ({}, {}, "volume"),                                   # missing input
    ({"required": None}, None, "required"),
    ({"nonsense": 1}, None, "nonsense"),                  # unknown parameter
    ({}, {"volume": Image(np.zeros((1, 1, 1))), "other": Image(np.zeros((1, 1, 1)))}, "other"),
    ({}, {"volume": Table({"a": [1]})}, "volume"),        # wrong data type
    ({}, {"volume": Image(np.zeros((1, 1, 1), np.uint8), kind="label")}, "volume"),  # [CAT-9]
    ({"count": 11}, None, "count"), ({"count": 0}, None, "count"),
    ({"count": 2.0}, None, "count"),                      # a float is not an integer [HEAD-4]
    ({"count": True}, None, "count"), ({"count": 2**63}, None, "count"),
    ({"scale": "1"}, None, "scale"), ({"scale": float("nan")}, None, "scale"),
    ({"flag": 1}, None, "flag"), ({"name": 5}, None, "name"),
    ({"mode": "slow"}, None, "mode"), ({"sizes": [1, 2]}, None, "sizes"),
    ({"sizes": [1, 2, "3"]}, None, "sizes"), ({"weights": [-1.0]}, None, "weights"),
    ({"weights": 0.5}, None, "weights"), ({"tags": ["a", 1]}, None, "tags")])
def test_bad_arguments_are_invalid_argument_naming_the_slot_INV_2(parameters, inputs, name):
    """[INV-2] [CAT-9]: an input image of another kind than its slot's image_kind too."""
    with pytest.raises(SlicerBridgeError) as raised:
        bind(parameters, inputs)
    assert raised.value.code == ErrorCode.INVALID_ARGUMENT
    assert raised.value.details["name"] == name


def test_outputs_are_checked_INV_4():
    """[INV-4]"""
    @processor()
    def missing() -> {"out": Image}:
        return {}

    @processor()
    def mistyped() -> {"out": Image}:
        return {"out": Table({"a": [1]})}

    @processor()
    def undeclared() -> {"out": Optional[Image]}:
        return {"other": Table({"a": [1]})}

    for proc in (missing, mistyped, undeclared):
        with pytest.raises(SlicerBridgeError) as raised:
            proc.run(Context(), {})
        assert raised.value.code == ErrorCode.PROCESSOR_FAILED


def test_integer_slots_send_their_bounds_as_integers_CAT_10():
    """[CAT-10]: bounds of int slots go as integers, exact beyond 2^53; 1.0's floats are read."""
    wire = Slot("count", "int", minimum=-3.0, maximum=2**60 + 1, step=2.0).to_wire()
    assert (wire["minimum"], wire["maximum"], wire["step"]) == (-3, 2**60 + 1, 2)
    assert all(type(wire[key]) is int for key in ("minimum", "maximum", "step"))
    assert type(Slot("scale", "float", minimum=1.0).to_wire()["minimum"]) is float
    read = Slot.from_wire({"name": "count", "type": "int", "minimum": -3.0, "maximum": 10})
    assert (read.minimum, read.maximum) == (-3.0, 10)


def test_annotated_parameters_read_like_bare_specs():
    from typing import Annotated

    @processor(outputs={"out": Image})
    def typed(volume: Image, scale: Annotated[float, Float(min=0.0, label="Scale")] = 1.0,
              steps: Annotated[int, "not a spec"] = 2) -> dict:
        return {"out": volume}

    scale, steps = typed.description.parameters
    assert (scale.type, scale.minimum, scale.label, scale.default) == ("float", 0.0, "Scale", 1.0)
    assert (steps.type, steps.default) == ("int", 2)


def test_single_output_may_be_returned_bare():
    @processor()
    def bare(volume: Image) -> {"out": Image}:
        return volume

    image = Image(np.zeros((1, 2, 3), np.uint8))
    assert bare.run(Context(), {"volume": image}) == {"out": image}


def test_slot_check_value_for_vectors_and_enums():
    assert Slot("v", "float_vector", minimum=0).check_value([1, 2.5]) == [1.0, 2.5]
    with pytest.raises(SlicerBridgeError):
        Slot("e", "enum", choices=["a"]).check_value("b")


# -- the numpy processors ---------------------------------------------------------------------

def test_box_smooth_matches_a_direct_mean_and_keeps_geometry():
    rng = np.random.default_rng(3)
    voxels = rng.integers(0, 100, (4, 5, 6)).astype(np.int16)
    image = Image(voxels, oblique_matrix(), space="LPS")
    smoothed = box_smooth(Context(), image, radius=1)["smoothed"]
    padded = np.pad(voxels.astype(np.float64), 1, mode="edge")
    expected = np.zeros(voxels.shape)
    for dk in range(3):
        for dj in range(3):
            for di in range(3):
                expected += padded[dk:dk + 4, dj:dj + 5, di:di + 6]
    assert np.allclose(smoothed.voxels, expected / 27, atol=1e-4)
    assert smoothed.voxels.dtype == np.float32 and smoothed.space == "LPS"
    assert np.array_equal(smoothed.ijk_to_space, image.ijk_to_space)


def test_threshold_and_label_statistics():
    voxels = np.array([[[0, 5, 10], [15, 20, 25]]], np.float32)
    matrix = np.diag([2.0, 3.0, 4.0, 1.0])
    labels = threshold(Image(voxels, matrix), lower=10.0, upper=20.0, label=3)["labels"]
    assert labels.kind == "label" and labels.voxels.tolist() == [[[0, 0, 3], [3, 3, 0]]]
    stats = label_statistics(labels, Image(voxels, matrix))["statistics"]
    assert stats.columns["label"].tolist() == [3]
    assert stats.columns["voxel_count"].tolist() == [3]
    assert stats.columns["volume_mm3"].tolist() == pytest.approx([3 * 24.0])
    assert stats.columns["mean"].tolist() == [15.0]


def test_context_outside_a_server_drops_decreasing_progress_PROG_1():
    sent = []
    ctx = Context(progress_sink=lambda fraction, message: sent.append((fraction, message)))
    for fraction in (0.2, 0.1, 0.5, 7.0):
        ctx.progress(fraction, "m")
    assert sent == [(0.2, "m"), (0.5, "m"), (1.0, "m")]
    with pytest.raises(ValueError):
        ctx.progress(float("nan"))
    assert not Context().cancelled
    Context().check_cancelled()
