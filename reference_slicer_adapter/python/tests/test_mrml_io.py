"""mrml_io.py against fake_mrml.py, a small documented fake of the MRML API: the calls made,
geometry in the IJK-to-RAS matrix, parent transforms refused or hardened, outputs written."""

import json
import math

import numpy as np
import pytest
from vtkmodules.util import numpy_support
from vtkmodules.vtkCommonDataModel import vtkUnstructuredGrid
from vtkmodules.vtkCommonMath import vtkMatrix4x4

from fake_mrml import (CLASSES, FakeColorTableNode, FakeDisplayNode, FakeOrientedImageData,
                       FakeScene)
from SlicerBridgeLib.conversions import (ImageValue, MeshValue, PointsValue, Segment, TableValue,
                                         TransformValue, matrix_from_vtk, matrix_to_vtk)
from SlicerBridgeLib.mrml_io import (SEGMENTS_ATTRIBUTE, MRMLIO, NodeError,
                                     ParentTransformError)


def oblique():
    angle = math.radians(30)
    matrix = np.array([[math.cos(angle), -math.sin(angle), 0, 0],
                       [math.sin(angle), math.cos(angle), 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]])
    matrix = matrix @ np.diag([0.8, 1.2, 3.0, 1.0])
    matrix[:3, 3] = [-90.5, 12.25, 40.0]
    return matrix


def shift(x, y, z):
    matrix = np.eye(4)
    matrix[:3, 3] = [x, y, z]
    return matrix


def image_of(voxels):
    value = ImageValue(voxels, np.eye(4), "vector" if voxels.ndim == 4 else "scalar")
    return value.to_vtk()[0]


@pytest.fixture
def scene():
    return FakeScene()


@pytest.fixture
def io(scene):
    return MRMLIO(scene, CLASSES)


def add_volume(scene, class_name, voxels, matrix, name="volume"):
    node = scene.AddNewNodeByClass(class_name, name)
    node.SetIJKToRASMatrix(matrix_to_vtk(matrix))
    node.SetAndObserveImageData(image_of(voxels))
    return node


def add_linear(scene, matrix, parent=None, name="transform"):
    node = scene.AddNewNodeByClass("vtkMRMLLinearTransformNode", name)
    node.SetMatrixTransformToParent(matrix_to_vtk(matrix))
    if parent is not None:
        node.SetAndObserveTransformNodeID(parent.GetID())
    return node


SCALAR_SLOT = {"name": "volume", "type": "image", "image_kind": "scalar", "label": "Volume"}


def test_an_oblique_volume_is_read_from_its_ijk_to_ras_matrix_and_written_back(scene, io):
    """[IMG-2]"""
    voxels = np.arange(24, dtype=np.int16).reshape(2, 3, 4)
    node = add_volume(scene, "vtkMRMLScalarVolumeNode", voxels, oblique())
    value = io.read(node, SCALAR_SLOT)
    assert value.kind == "scalar"
    assert np.array_equal(value.voxels, voxels)
    assert np.array_equal(value.ijk_to_ras, oblique())
    value.voxels[0, 0, 0] = 999  # a copy: the node's voxels stay
    assert node.GetImageData().GetScalarComponentAsDouble(0, 0, 0, 0) == 0

    written = io.write(value, {"name": "out", "type": "image", "label": "Smoothed"})
    assert scene.calls[-1] == ("AddNewNodeByClass", "vtkMRMLScalarVolumeNode", "Smoothed")
    assert written.calls == ["SetIJKToRASMatrix", "SetAndObserveImageData",
                             "CreateDefaultDisplayNodes"]
    assert np.array_equal(matrix_from_vtk(written.ijk_to_ras), oblique())
    stored = numpy_support.vtk_to_numpy(written.GetImageData().GetPointData().GetScalars())
    assert stored[0] == 999 and stored[23] == 23


def test_label_maps_are_labels_named_by_their_color_table(scene, io):
    """[IMG-4]"""
    voxels = np.array([[[0, 1, 1, 7]]], dtype=np.uint8)
    node = add_volume(scene, "vtkMRMLLabelMapVolumeNode", voxels, np.eye(4))
    node.display = FakeDisplayNode(FakeColorTableNode({1: ("liver", (0.5, 0.25, 0.0)),
                                                       2: ("unused", (1, 1, 1))}))
    value = io.read(node, {"name": "labels", "type": "image"})
    assert value.kind == "label"
    assert value.segments == (Segment(1, "liver", (0.5, 0.25, 0.0)),)

    written = io.write(value, {"name": "out", "type": "image"})
    assert written.IsA("vtkMRMLLabelMapVolumeNode")
    assert json.loads(written.GetAttribute(SEGMENTS_ATTRIBUTE)) == [
        {"value": 1, "name": "liver", "color": [0.5, 0.25, 0.0]}]


def test_vector_volumes_are_vector_images_and_need_vector_nodes(scene, io):
    """[IMG-4]"""
    voxels = np.random.default_rng(3).random((2, 2, 2, 3)).astype(np.float32)
    node = add_volume(scene, "vtkMRMLVectorVolumeNode", voxels, oblique())
    value = io.read(node, {"name": "field", "type": "image"})
    assert value.kind == "vector" and value.components == 3
    with pytest.raises(NodeError, match="3 components"):
        io.read(node, SCALAR_SLOT)
    scalar_node = add_volume(scene, "vtkMRMLScalarVolumeNode", voxels[..., 0], np.eye(4))
    with pytest.raises(NodeError, match="vector volume"):
        io.write(value, {"name": "out", "type": "image"}, scalar_node)
    written = io.write(value, {"name": "out", "type": "image"})
    assert written.IsA("vtkMRMLVectorVolumeNode")
    assert written.GetImageData().GetNumberOfScalarComponents() == 3


def test_a_parent_transform_is_refused_unless_hardening_is_asked_for(scene):
    parent = add_linear(scene, shift(10, -20, 5), name="Registration")
    node = add_volume(scene, "vtkMRMLScalarVolumeNode", np.zeros((1, 1, 2), np.uint8), oblique(),
                      name="CT")
    node.SetAndObserveTransformNodeID(parent.GetID())
    with pytest.raises(ParentTransformError, match="'CT' is under the transform 'Registration'"):
        MRMLIO(scene, CLASSES).read(node, SCALAR_SLOT)
    value = MRMLIO(scene, CLASSES, "harden").read(node, SCALAR_SLOT)
    assert np.allclose(value.ijk_to_ras, shift(10, -20, 5) @ oblique(), rtol=0, atol=1e-12)
    assert np.array_equal(matrix_from_vtk(node.ijk_to_ras), oblique())  # the scene is unchanged
    assert node.GetParentTransformNode() is parent


def test_hardening_composes_every_linear_parent_and_refuses_non_linear_ones(scene):
    grandparent = add_linear(scene, shift(1, 2, 3))
    parent = add_linear(scene, oblique(), grandparent)
    node = add_volume(scene, "vtkMRMLScalarVolumeNode", np.zeros((1, 1, 1), np.uint8), np.eye(4))
    node.SetAndObserveTransformNodeID(parent.GetID())
    value = MRMLIO(scene, CLASSES, "harden").read(node, SCALAR_SLOT)
    assert np.allclose(value.ijk_to_ras, shift(1, 2, 3) @ oblique(), rtol=0, atol=1e-12)

    grid = scene.AddNewNodeByClass("vtkMRMLGridTransformNode", "Warp")
    node.SetAndObserveTransformNodeID(grid.GetID())
    with pytest.raises(ParentTransformError, match="non-linear transform 'Warp'"):
        MRMLIO(scene, CLASSES, "harden").read(node, SCALAR_SLOT)
    with pytest.raises(ValueError):
        MRMLIO(scene, CLASSES, "ignore")


def add_segment(node, name, color, extent, matrix, voxels):
    labelmap = FakeOrientedImageData()
    labelmap.SetExtent(extent)
    labelmap.GetPointData().SetScalars(numpy_support.numpy_to_vtk(
        np.asarray(voxels, dtype=np.uint8).reshape(-1), deep=True))
    labelmap.SetImageToWorldMatrix(matrix_to_vtk(matrix))
    node.AddSegmentFromBinaryLabelmapRepresentation(labelmap, name, color)


def test_segments_merge_into_one_label_image_on_their_common_grid(scene, io):
    node = scene.AddNewNodeByClass("vtkMRMLSegmentationNode", "Segmentation")
    # "liver" covers i 2..3, j 0, k 0; "tumor" i 3..4, j 0..1, k 0 (overlapping liver at i=3)
    add_segment(node, "liver", (0.8, 0.1, 0.1), (2, 3, 0, 0, 0, 0), oblique(), [1, 1])
    add_segment(node, "tumor", (0.1, 0.9, 0.2), (3, 4, 0, 1, 0, 0), oblique(), [1, 0, 1, 1])
    add_segment(node, "empty", (0, 0, 1), (0, -1, 0, -1, 0, -1), oblique(), [])
    value = io.read(node, {"name": "labels", "type": "image", "image_kind": "label"})
    assert "CreateBinaryLabelmapRepresentation" in node.calls
    assert value.kind == "label" and value.voxels.dtype == np.int16
    assert value.voxels.tolist() == [[[1, 2, 0], [0, 2, 2]]]  # i 2..4, j 0..1; tumor wins at i=3
    assert np.allclose(value.ijk_to_ras, oblique() @ shift(2, 0, 0), rtol=0, atol=1e-12)
    assert [s.name for s in value.segments] == ["liver", "tumor", "empty"]
    assert [s.value for s in value.segments] == [1, 2, 3]
    assert value.segments[1].color == (0.1, 0.9, 0.2)


def test_segments_on_different_grids_are_refused(scene, io):
    node = scene.AddNewNodeByClass("vtkMRMLSegmentationNode", "Segmentation")
    add_segment(node, "a", (1, 0, 0), (0, 0, 0, 0, 0, 0), np.eye(4), [1])
    add_segment(node, "b", (0, 1, 0), (0, 0, 0, 0, 0, 0), oblique(), [1])
    with pytest.raises(NodeError, match="different grids"):
        io.read(node, {"name": "labels", "type": "image"})
    empty = scene.AddNewNodeByClass("vtkMRMLSegmentationNode", "Nothing")
    with pytest.raises(NodeError, match="no segments"):
        io.read(empty, {"name": "labels", "type": "image"})


def test_a_label_image_written_into_a_segmentation_replaces_its_segments(scene, io):
    node = scene.AddNewNodeByClass("vtkMRMLSegmentationNode", "Segmentation")
    add_segment(node, "old", (1, 1, 1), (0, 0, 0, 0, 0, 0), np.eye(4), [1])
    voxels = np.array([[[0, 2, 2], [5, 0, 2]]], dtype=np.uint8)
    value = ImageValue(voxels, oblique(), "label", [Segment(2, "vessel", (1.0, 0.0, 0.0))])
    io.write(value, {"name": "out", "type": "image"}, node)
    segments = node.GetSegmentation().segments
    assert [s.name for s in segments.values()] == ["vessel", "label 5"]
    vessel = list(segments.values())[0]
    assert vessel.color == (1.0, 0.0, 0.0)
    mask = numpy_support.vtk_to_numpy(vessel.labelmap.GetPointData().GetScalars())
    assert mask.tolist() == [0, 1, 1, 0, 0, 1]
    image_to_world = vtkMatrix4x4()
    vessel.labelmap.GetImageToWorldMatrix(image_to_world)
    assert np.array_equal(matrix_from_vtk(image_to_world), oblique())
    with pytest.raises(NodeError, match="only label images"):
        io.write(ImageValue(voxels, np.eye(4)), {"name": "out", "type": "image"}, node)


def tetrahedron():
    mesh = MeshValue.from_arrays([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]],
                                 polys=[[0, 1, 2], [0, 3, 1], [1, 3, 2], [2, 3, 0]],
                                 point_data={"Normals": np.eye(4, 3)})
    mesh.polydata.GetPointData().SetActiveNormals("Normals")
    return mesh


def test_models_are_read_as_copies_and_hardened_with_their_normals(scene):
    node = scene.AddNewNodeByClass("vtkMRMLModelNode", "Surface")
    node.SetAndObserveMesh(tetrahedron().polydata)
    value = MRMLIO(scene, CLASSES).read(node, {"name": "surface", "type": "mesh"})
    assert value.polydata is not node.GetPolyData()
    assert value.cells("polys")[1] == [0, 3, 1]
    parent = add_linear(scene, np.array([[0, -1, 0, 5], [1, 0, 0, 0], [0, 0, 1, 0],
                                         [0, 0, 0, 1.0]]))
    node.SetAndObserveTransformNodeID(parent.GetID())
    with pytest.raises(ParentTransformError):
        MRMLIO(scene, CLASSES).read(node, {"name": "surface", "type": "mesh"})
    hardened = MRMLIO(scene, CLASSES, "harden").read(node, {"name": "surface", "type": "mesh"})
    assert np.allclose(hardened.points[1], [5, 1, 0])
    assert np.allclose(hardened.point_data()["Normals"][0], [0, 1, 0])  # rotated with the mesh
    volumetric = scene.AddNewNodeByClass("vtkMRMLModelNode", "Tetra")
    volumetric.SetAndObserveMesh(vtkUnstructuredGrid())
    with pytest.raises(NodeError, match="volumetric mesh"):
        MRMLIO(scene, CLASSES).read(volumetric, {"name": "surface", "type": "mesh"})


def test_transforms_are_read_to_parent_or_to_world_when_hardening(scene):
    """[XFM-1]"""
    parent = add_linear(scene, shift(0, 0, 7))
    node = add_linear(scene, oblique(), parent, name="Placement")
    slot = {"name": "placement", "type": "transform"}
    with pytest.raises(ParentTransformError):
        MRMLIO(scene, CLASSES).read(node, slot)
    hardened = MRMLIO(scene, CLASSES, "harden").read(node, slot)
    assert np.allclose(hardened.to_parent, shift(0, 0, 7) @ oblique(), rtol=0, atol=1e-12)
    free = add_linear(scene, oblique())
    assert np.array_equal(MRMLIO(scene, CLASSES).read(free, slot).to_parent, oblique())
    grid = scene.AddNewNodeByClass("vtkMRMLGridTransformNode", "Warp")
    with pytest.raises(NodeError, match="not a linear transform"):
        MRMLIO(scene, CLASSES).read(grid, slot)
    written = MRMLIO(scene, CLASSES).write(TransformValue(oblique()), slot)
    assert written.calls == ["SetMatrixTransformToParent", "CreateDefaultDisplayNodes"]
    assert np.array_equal(matrix_from_vtk(written.to_parent), oblique())


def test_markups_are_read_in_world_coordinates_with_labels(scene):
    """[PTS-1]"""
    node = scene.AddNewNodeByClass("vtkMRMLMarkupsFiducialNode", "Landmarks")
    node.AddControlPoint([1, 2, 3], "nasion")
    node.AddControlPoint([4, 5, 6], "inion")
    slot = {"name": "landmarks", "type": "points"}
    value = MRMLIO(scene, CLASSES).read(node, slot)
    assert value.points.tolist() == [[1, 2, 3], [4, 5, 6]] and value.labels == ["nasion", "inion"]
    node.SetAndObserveTransformNodeID(add_linear(scene, shift(10, 0, 0)).GetID())
    with pytest.raises(ParentTransformError):
        MRMLIO(scene, CLASSES).read(node, slot)
    assert MRMLIO(scene, CLASSES, "harden").read(node, slot).points[0].tolist() == [11, 2, 3]

    target = scene.AddNewNodeByClass("vtkMRMLMarkupsFiducialNode", "Out")
    target.AddControlPoint([0, 0, 0], "stale")
    MRMLIO(scene, CLASSES).write(PointsValue([[7, 8, 9]], ["tip"]), slot, target)
    assert target.calls[-3:] == ["RemoveAllControlPoints", "AddControlPoint",
                                 "CreateDefaultDisplayNodes"]
    assert target.points == [([7.0, 8.0, 9.0], "tip")]


def test_a_mesh_output_gets_its_normals_array_as_active_normals(scene, io):
    """The protocol has no active attributes: a point array named Normals becomes them again."""
    mesh = MeshValue.from_arrays([[0, 0, 0], [1, 0, 0], [0, 1, 0]], polys=[[0, 1, 2]],
                                 point_data={"Normals": np.tile([0.0, 0.0, 1.0], (3, 1))})
    assert mesh.polydata.GetPointData().GetNormals() is None
    node = io.write(mesh, {"name": "surface", "type": "mesh"})
    assert node.calls == ["SetAndObserveMesh", "CreateDefaultDisplayNodes"]
    assert node.GetPolyData().GetPointData().GetNormals().GetName() == "Normals"


def test_outputs_are_never_written_under_a_parent_transform(scene, io):
    target = scene.AddNewNodeByClass("vtkMRMLMarkupsFiducialNode", "Moved")
    target.SetAndObserveTransformNodeID(add_linear(scene, shift(1, 0, 0)).GetID())
    with pytest.raises(ParentTransformError, match="'Moved' is under a transform"):
        io.write(PointsValue([[0, 0, 0]]), {"name": "p", "type": "points"}, target)


def test_tables_are_read_and_written_whole(scene, io):
    node = scene.AddNewNodeByClass("vtkMRMLTableNode", "Stats")
    node.SetAndObserveTable(TableValue({"label": [1, 2], "name": ["a", "b"]}).to_vtk())
    value = io.read(node, {"name": "stats", "type": "table"})
    assert value.columns["name"] == ["a", "b"]
    written = io.write(TableValue({"volume": np.array([2.5])}), {"name": "out", "type": "table"},
                       node)
    assert written is node
    assert node.GetTable().GetValueByName(0, "volume").ToDouble() == 2.5


def test_64_bit_integer_voxels_are_stored_as_int32_or_float64(scene, io):
    slot = {"name": "out", "type": "image"}
    small = io.write(ImageValue(np.array([[[1, -2]]], dtype=np.int64), np.eye(4)), slot)
    assert small.GetImageData().GetScalarTypeAsString() == "int"
    large = io.write(ImageValue(np.array([[[1, 2**40]]], dtype=np.int64), np.eye(4)), slot)
    assert large.GetImageData().GetScalarTypeAsString() == "double"
    assert large.GetImageData().GetScalarComponentAsDouble(1, 0, 0, 0) == 2.0**40
    with pytest.raises(NodeError, match="int32"):
        io.write(ImageValue(np.array([[[2**40]]], dtype=np.uint64), np.eye(4), "label"), slot)


def test_nodes_that_do_not_fit_the_slot_are_refused(scene, io):
    model = scene.AddNewNodeByClass("vtkMRMLModelNode", "Surface")
    with pytest.raises(NodeError, match="not a volume"):
        io.read(model, SCALAR_SLOT)
    with pytest.raises(NodeError, match="no voxels"):
        io.read(scene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", "Empty"), SCALAR_SLOT)
    with pytest.raises(NodeError, match="unknown type"):
        io.read(model, {"name": "x", "type": "tensor"})
    with pytest.raises(NodeError, match="cannot hold a mesh"):
        io.write(tetrahedron(), {"name": "m", "type": "mesh"},
                 scene.AddNewNodeByClass("vtkMRMLTableNode", "T"))
