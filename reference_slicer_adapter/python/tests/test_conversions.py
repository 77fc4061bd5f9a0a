"""numpy/VTK values in the protocol's shapes (SlicerBridgeLib.conversions); no server needed."""

import json
import math

import numpy as np
import pytest
from vtkmodules.vtkCommonCore import vtkBitArray, vtkStringArray
from vtkmodules.vtkCommonDataModel import vtkImageData
from vtkmodules.vtkCommonMath import vtkMatrix3x3

from SlicerBridgeLib.conversions import (ConversionError, ImageValue, MeshValue, PointsValue,
                                         Segment, TableValue, TransformValue,
                                         image_matrix_in_space, matrix_from_vtk, matrix_to_vtk,
                                         parameters_to_json, points_in_space, transform_in_space)

F = np.diag([-1.0, -1.0, 1.0, 1.0])


def oblique_matrix():
    """A rotation about an oblique axis, anisotropic spacing and an offset origin."""
    angle = math.radians(23.0)
    axis = np.array([1.0, 2.0, 2.0]) / 3.0
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    rotation = np.eye(3) + math.sin(angle) * k + (1 - math.cos(angle)) * k @ k
    matrix = np.eye(4)
    matrix[:3, :3] = rotation @ np.diag([0.7, 1.3, 2.5])
    matrix[:3, 3] = [-120.25, 33.5, 17.0]
    return matrix


def test_image_voxel_order_and_geometry_survive_vtk_and_back():
    """[IMG-1] voxel (i, j, k) is element i + ni (j + nj k); [IMG-2] the matrix is kept."""
    voxels = np.arange(4 * 3 * 2, dtype=np.int16).reshape(2, 3, 4) * 3 - 7
    value = ImageValue(voxels, oblique_matrix())
    image, matrix = value.to_vtk()
    assert image.GetDimensions() == (4, 3, 2)
    assert image.GetOrigin() == (0.0, 0.0, 0.0) and image.GetSpacing() == (1.0, 1.0, 1.0)
    assert image.GetScalarComponentAsDouble(3, 1, 1, 0) == voxels[1, 1, 3]
    assert np.array_equal(matrix_from_vtk(matrix), oblique_matrix())
    back = ImageValue.from_vtk(image, matrix)
    assert back.voxels.dtype == np.int16
    assert np.array_equal(back.voxels, voxels)
    assert np.array_equal(back.ijk_to_ras, oblique_matrix())
    assert back.kind == "scalar"


def test_an_extent_not_starting_at_zero_is_folded_into_the_matrix():
    """[IMG-2]"""
    image = vtkImageData()
    image.SetExtent(3, 5, -2, 0, 7, 7)
    image.AllocateScalars(11, 1)  # VTK_DOUBLE
    image.SetScalarComponentFromDouble(3, -2, 7, 0, 42.0)
    image.SetOrigin(1000, 1000, 1000)  # ignored: geometry is the matrix's
    value = ImageValue.from_vtk(image, oblique_matrix())
    assert value.dims == (3, 3, 1)
    assert value.voxels[0, 0, 0] == 42.0
    expected_origin = oblique_matrix() @ np.array([3, -2, 7, 1.0])
    assert np.allclose(value.ijk_to_ras[:, 3], expected_origin, rtol=0, atol=1e-12)
    assert np.array_equal(value.ijk_to_ras[:3, :3], oblique_matrix()[:3, :3])


def test_geometry_held_by_a_vtk_image_becomes_the_matrix():
    image = vtkImageData()
    image.SetDimensions(2, 2, 2)
    image.AllocateScalars(10, 1)  # VTK_FLOAT
    image.SetSpacing(0.5, 2.0, 3.0)
    image.SetOrigin(10.0, -5.0, 1.0)
    direction = vtkMatrix3x3()
    direction.DeepCopy([0, -1, 0, 1, 0, 0, 0, 0, 1])
    image.SetDirectionMatrix(direction)
    value = ImageValue.from_vtk_geometry(image)
    assert np.allclose(value.ijk_to_ras, [[0, -2, 0, 10], [0.5, 0, 0, -5], [0, 0, 3, 1],
                                          [0, 0, 0, 1]])


def test_multi_component_images_are_vector_images():
    """[IMG-4]"""
    voxels = np.random.default_rng(1).random((2, 3, 4, 3)).astype(np.float32)
    value = ImageValue(voxels, np.eye(4), "vector")
    image, matrix = value.to_vtk()
    assert image.GetNumberOfScalarComponents() == 3
    assert image.GetScalarComponentAsDouble(2, 1, 0, 2) == pytest.approx(voxels[0, 1, 2, 2])
    back = ImageValue.from_vtk(image, matrix)
    assert back.kind == "vector" and back.components == 3
    assert np.array_equal(back.voxels, voxels)
    with pytest.raises(ConversionError, match="one component"):
        ImageValue(voxels, np.eye(4), "scalar")


@pytest.mark.parametrize("voxels, kind, message", [
    (np.zeros((1, 1, 1), np.float32), "label", "integer dtype"),
    (np.zeros((1, 1, 1), np.bool_), "scalar", "not a protocol dtype"),
    (np.zeros((1, 1, 1), np.float16), "scalar", "not a protocol dtype"),
    (np.zeros((1, 1), np.uint8), "scalar", r"\[k, j, i\]"),
    (np.zeros((1, 1, 1), np.uint8), "tensor", "kind"),
])
def test_images_the_protocol_cannot_carry_are_refused(voxels, kind, message):
    """[IMG-4]"""
    with pytest.raises(ConversionError, match=message):
        ImageValue(voxels, np.eye(4), kind)


@pytest.mark.parametrize("matrix, message", [
    (np.diag([1.0, 0.0, 1.0, 1.0]), "not invertible"),
    (np.array([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0.5, 0, 1.0]]), "last row"),
    (np.diag([1.0, np.nan, 1.0, 1.0]), "non-finite"),
])
def test_image_matrices_must_be_affine_and_invertible(matrix, message):
    """[IMG-2]"""
    with pytest.raises(ConversionError, match=message):
        ImageValue(np.zeros((1, 1, 1), np.uint8), matrix)


def test_segments_are_unique_and_colored_in_range():
    """[IMG-6]"""
    labels = np.array([[[0, 1, 2]]], dtype=np.uint8)
    ImageValue(labels, np.eye(4), "label", [Segment(1, "a", (1, 0, 0)), Segment(2, "b")])
    with pytest.raises(ConversionError, match="unique"):
        ImageValue(labels, np.eye(4), "label", [Segment(1, "a"), Segment(1, "b")])
    with pytest.raises(ConversionError, match=r"\[0, 1\]"):
        ImageValue(labels, np.eye(4), "label", [Segment(1, "a", (1.5, 0, 0))])
    with pytest.raises(ConversionError, match="only label"):
        ImageValue(labels, np.eye(4), "scalar", [Segment(1, "a")])


def test_ras_lps_conversions():
    """[IMG-5] [XFM-1] [MESH-3]"""
    matrix = oblique_matrix()
    lps = image_matrix_in_space(matrix, "LPS")
    assert np.array_equal(lps, F @ matrix)
    assert np.allclose(image_matrix_in_space(lps, "LPS"), matrix, rtol=0, atol=0)
    assert np.array_equal(image_matrix_in_space(matrix, "RAS"), matrix)
    assert np.array_equal(transform_in_space(matrix, "LPS"), F @ matrix @ F)
    assert np.array_equal(points_in_space([[1, 2, 3], [-4, 5, 6]], "LPS"),
                          [[-1, -2, 3], [4, -5, 6]])
    with pytest.raises(ConversionError):
        points_in_space([[0, 0, 0]], "RAI")


def test_matrices_round_trip_through_vtk():
    matrix = oblique_matrix()
    assert np.array_equal(matrix_from_vtk(matrix_to_vtk(matrix)), matrix)
    with pytest.raises(ConversionError):
        matrix_to_vtk(np.eye(3))


def test_meshes_from_arrays_keep_cells_and_arrays():
    """[MESH-1] [MESH-2]"""
    points = [[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]]
    mesh = MeshValue.from_arrays(points, polys=[[0, 1, 2], [0, 3, 1]], lines=[[0, 3]],
                                 verts=[[2]],
                                 point_data={"Normals": np.eye(4, 3, dtype=np.float32)},
                                 cell_data={"Region": np.arange(4, dtype=np.int32)})
    assert mesh.polydata.GetNumberOfCells() == 4
    assert mesh.cells("polys") == [[0, 1, 2], [0, 3, 1]]
    assert mesh.cells("lines") == [[0, 3]]
    assert mesh.cells("strips") == []
    assert np.array_equal(mesh.points, points)
    assert mesh.point_data()["Normals"].shape == (4, 3)
    assert mesh.cell_data()["Region"].tolist() == [0, 1, 2, 3]
    with pytest.raises(ConversionError, match="does not exist"):
        MeshValue.from_arrays(points, polys=[[0, 1, 4]])
    with pytest.raises(ConversionError, match="one tuple per cell"):
        MeshValue.from_arrays(points, polys=[[0, 1, 2]], cell_data={"x": [1, 2]})


def test_transforms_must_be_affine():
    """[XFM-1]"""
    TransformValue(oblique_matrix())
    projective = np.eye(4)
    projective[3, 0] = 0.1
    with pytest.raises(ConversionError, match="last row"):
        TransformValue(projective)


def test_points_need_one_label_each():
    """[PTS-1]"""
    value = PointsValue([[1, 2, 3], [4, 5, 6]], ["a", "b"])
    points, labels = value.to_vtk()
    back = PointsValue.from_vtk(points, labels)
    assert np.array_equal(back.points, value.points) and back.labels == ["a", "b"]
    assert PointsValue.from_vtk(points, vtkStringArray()).labels is None
    with pytest.raises(ConversionError, match="one label each"):
        PointsValue([[1, 2, 3]], ["a", "b"])


def test_tables_of_numbers_strings_and_bools():
    """[TBL-1]"""
    value = TableValue({"volume": np.array([1.5, 2.5]), "name": ["liver", "spleen"],
                        "flagged": [True, False], "count": [3, 4]})
    table = value.to_vtk()
    assert isinstance(table.GetColumnByName("flagged"), vtkBitArray)
    assert isinstance(table.GetColumnByName("name"), vtkStringArray)
    back = TableValue.from_vtk(table)
    assert back.columns["name"] == ["liver", "spleen"]
    assert back.columns["flagged"].tolist() == [True, False]
    assert back.columns["count"].dtype == np.int64
    assert back.row_count == 2
    with pytest.raises(ConversionError, match="same number of rows"):
        TableValue({"a": [1, 2], "b": [1]})
    with pytest.raises(ConversionError, match="one-dimensional"):
        TableValue({"a": np.zeros((2, 2))})


def test_parameters_become_json_with_floats_kept_floats():
    text = parameters_to_json({"sigma": np.float64(2.0), "radius": np.int32(3), "flag":
                               np.bool_(True), "radii": np.array([1, 2]), "mode": "fast",
                               "scale": [1.0, 2]})
    assert text == ('{"sigma": 2.0, "radius": 3, "flag": true, "radii": [1, 2], '
                    '"mode": "fast", "scale": [1.0, 2]}')
    assert json.loads(text)["sigma"] == 2.0
    with pytest.raises(ValueError):
        parameters_to_json({"x": float("nan")})
    with pytest.raises(ConversionError, match="no protocol form"):
        parameters_to_json({"x": object()})

