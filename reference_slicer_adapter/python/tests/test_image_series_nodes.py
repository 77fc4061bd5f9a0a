"""Image series (spec 11.7) <-> Slicer's sequence and MultiVolume nodes, against fake_mrml.py:
a geometry per volume in sequences, one in MultiVolumes, axis values from index values and frame
labels, and what a MultiVolume cannot hold refused."""

import math

import numpy as np
import pytest

from fake_mrml import CLASSES, FakeScene
from SlicerBridgeLib.conversions import ConversionError, ImageSeriesValue, ImageValue
from SlicerBridgeLib.form import input_selectors, output_selectors
from SlicerBridgeLib.mrml_io import DIFFUSION_ATTRIBUTE, MRMLIO, NodeError

SERIES_SLOT = {"name": "series", "type": "image_series"}


def oblique(dx=0.0):
    angle = math.radians(30)
    matrix = np.array([[math.cos(angle), -math.sin(angle), 0, 0],
                       [math.sin(angle), math.cos(angle), 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]])
    matrix = matrix @ np.diag([0.8, 1.2, 3.0, 1.0])
    matrix[:3, 3] = [-90.5 + dx, 12.25, 40.0]
    return matrix


def series(count=3, *, moving=True, axis="time", values=None, gradients=None):
    volumes = [ImageValue(np.arange(24, dtype=np.int16).reshape(2, 3, 4) + 100 * v,
                          oblique(0.5 * v if moving else 0.0)) for v in range(count)]
    return ImageSeriesValue(volumes, values if values is not None else
                            [1.5 * v for v in range(count)], axis, gradients)


def test_a_sequence_keeps_every_volume_and_its_geometry_SER_2():
    """[SER-2] [SER-3]"""
    scene = FakeScene()
    io = MRMLIO(scene, CLASSES)
    sent = series()
    node = io.write(sent, SERIES_SLOT, name="fMRI")
    assert node.IsA("vtkMRMLSequenceNode")
    assert (node.GetIndexName(), node.GetIndexUnit()) == ("time", "s")
    assert [node.GetNthIndexValue(i) for i in range(3)] == ["0.0", "1.5", "3.0"]
    back = io.read(node, SERIES_SLOT)
    assert back.axis == "time" and back.values.tolist() == [0.0, 1.5, 3.0]
    for mine, theirs in zip(sent.volumes, back.volumes):
        assert np.array_equal(mine.voxels, theirs.voxels)
        assert np.array_equal(mine.ijk_to_ras, theirs.ijk_to_ras)
    assert not back.shares_geometry()


def test_sequence_index_units_and_names_give_the_axis_SER_3():
    """[SER-3]: milliseconds become seconds; an echo-time index is echo_time; a unitless index
    is an index; an index value that is not a number is refused."""
    scene = FakeScene()
    io = MRMLIO(scene, CLASSES)
    node = io.write(series(), SERIES_SLOT)
    node.SetIndexUnit("ms")
    assert io.read(node, SERIES_SLOT).values.tolist() == [0.0, 0.0015, 0.003]
    node.SetIndexName("Echo Time")
    with pytest.raises(NodeError, match="echo times must be > 0"):  # the first is at 0 ms
        io.read(node, SERIES_SLOT)
    node.items[0] = ("0.5", node.items[0][1])
    echoes = io.read(node, SERIES_SLOT)
    assert echoes.axis == "echo_time" and echoes.values.tolist() == [0.0005, 0.0015, 0.003]
    node.SetIndexName("frame")
    node.SetIndexUnit("")
    assert io.read(node, SERIES_SLOT).axis == "index"
    node.items[1] = ("second", node.items[1][1])
    with pytest.raises(NodeError, match="not a number"):
        io.read(node, SERIES_SLOT)


def test_b_values_travel_with_their_gradients_in_a_sequence_SER_4():
    """[SER-4]"""
    scene = FakeScene()
    io = MRMLIO(scene, CLASSES)
    gradients = [[0.0, 0.0, 0.0], [0.0, 0.6, 0.8], [1.0, 0.0, 0.0]]
    sent = series(axis="b_value", values=[0.0, 1000.0, 1000.0], gradients=gradients)
    node = io.write(sent, SERIES_SLOT)
    assert node.GetNumberOfDataNodes() == 3  # b = 1000 twice: indexed by volume number
    back = io.read(node, SERIES_SLOT)
    assert back.axis == "b_value" and np.array_equal(back.gradients, gradients)
    assert back.values.tolist() == [0.0, 1000.0, 1000.0]
    node.GetNthDataNode(2).attributes.pop(DIFFUSION_ATTRIBUTE)
    assert io.read(node, SERIES_SLOT).axis == "index"  # without them, a plain series


def test_a_multivolume_holds_one_geometry_and_frame_labels_SER_2():
    """[SER-2]: a series of one geometry round-trips through a MultiVolume node; one whose
    volumes differ is refused rather than given one volume's geometry."""
    scene = FakeScene()
    io = MRMLIO(scene, CLASSES)
    node = scene.AddNewNodeByClass("vtkMRMLMultiVolumeNode", "DCE")
    sent = series(4, moving=False)
    io.write(sent, SERIES_SLOT, node)
    assert node.GetImageData().GetNumberOfScalarComponents() == 4
    assert node.GetAttribute("MultiVolume.FrameLabels") == "0.0,1.5,3.0,4.5"
    back = io.read(node, SERIES_SLOT)
    assert back.values.tolist() == [0.0, 1.5, 3.0, 4.5] and back.axis == "time"
    for mine, theirs in zip(sent.volumes, back.volumes):
        assert np.array_equal(mine.voxels, theirs.voxels)
        assert np.array_equal(mine.ijk_to_ras, theirs.ijk_to_ras)
    node.SetAttribute("MultiVolume.FrameIdentifyingDICOMTagUnits", "ms")
    assert io.read(node, SERIES_SLOT).values.tolist() == [0.0, 0.0015, 0.003, 0.0045]
    with pytest.raises(NodeError, match="SER-2"):
        io.write(series(), SERIES_SLOT, node)
    diffusion = series(axis="b_value", values=[0.0, 500.0, 1000.0], moving=False,
                       gradients=[[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    with pytest.raises(NodeError, match="SER-4"):
        io.write(diffusion, SERIES_SLOT, node)


def test_a_multivolume_with_mismatched_labels_is_refused():
    scene = FakeScene()
    io = MRMLIO(scene, CLASSES)
    node = scene.AddNewNodeByClass("vtkMRMLMultiVolumeNode", "DCE")
    io.write(series(3, moving=False), SERIES_SLOT, node)
    node.SetAttribute("MultiVolume.FrameLabels", "0,1")
    with pytest.raises(NodeError, match="3 frames and 2 frame labels"):
        io.read(node, SERIES_SLOT)


def test_series_values_follow_the_spec_rules_SER_3_SER_4():
    """[SER-3] [SER-4]"""
    with pytest.raises(ConversionError, match="strictly increasing"):
        series(values=[0.0, 2.0, 1.0])
    with pytest.raises(ConversionError, match="gradient"):
        series(axis="b_value", values=[0.0, 1.0, 2.0])
    with pytest.raises(ConversionError, match="unit length"):
        series(axis="b_value", values=[0.0, 1.0, 2.0],
               gradients=[[0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    with pytest.raises(ConversionError, match="share dims"):
        ImageSeriesValue([ImageValue(np.zeros((1, 1, 1), np.int16), np.eye(4)),
                          ImageValue(np.zeros((1, 1, 2), np.int16), np.eye(4))], [0.0, 1.0])


def test_series_slots_select_sequence_and_multivolume_nodes():
    """A 1.1 server's echo has image_series slots; the form offers sequences and MultiVolumes
    for them (and creates a sequence for an output) instead of failing on the type."""
    description = {"name": "echo", "inputs": [{"name": "s", "type": "image_series",
                                               "optional": True}],
                   "outputs": [{"name": "s_out", "type": "image_series"}], "parameters": []}
    [selector] = input_selectors(description)
    assert selector.node_classes == ["vtkMRMLSequenceNode", "vtkMRMLMultiVolumeNode"]
    [output] = output_selectors(description)
    assert output.new_node_class == "vtkMRMLSequenceNode"
