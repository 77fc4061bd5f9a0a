"""Data types: lossless round trips through the wire (every dtype, byte order, both spaces,
compression) and every invariant of spec section 11 checked on receipt."""

import numpy as np
import pytest

from conftest import oblique_matrix
from slicerbridge.codec import Bulk, decode_head, encode_frame
from slicerbridge.data import (DTYPES, CellArray, Image, Mesh, PointList, Segment, Table,
                               Transform, data_from_wire)
from slicerbridge.errors import ErrorCode, SlicerBridgeError
from slicerbridge.frame import HEADER_SIZE

FLIP = np.diag([-1.0, -1.0, 1.0, 1.0])


def through_wire(value, compression=None):
    """Encode a data value in a frame, decode the frame, convert back: the received object."""
    frame = encode_frame({"v": value.to_wire()}, compression=compression)
    head_length = int.from_bytes(frame[4:8], "big")
    bulk = memoryview(bytearray(frame[HEADER_SIZE + head_length:]))
    decoded = decode_head(frame[HEADER_SIZE:HEADER_SIZE + head_length], bulk, max_depth=32,
                          codecs=("zstd", "lz4"))
    assert decoded.bulk_error is None
    return data_from_wire(decoded.value["v"]), bulk


def sample(dtype: np.dtype, shape) -> np.ndarray:
    """Values spanning the dtype's range, including its extremes."""
    count = int(np.prod(shape))
    if dtype.kind == "f":
        info = np.finfo(dtype)
        base = np.array([0.0, -0.0, info.max, info.min, info.tiny, np.inf, -np.inf, 1.5],
                        dtype=dtype)
    else:
        info = np.iinfo(dtype)
        base = np.array([info.min, info.max, 0, 1, info.max // 3], dtype=dtype)
    return np.resize(base, count).reshape(shape).astype(dtype)


@pytest.mark.parametrize("byte_order", ["<", ">"])
@pytest.mark.parametrize("dtype_name", DTYPES)
def test_image_every_dtype_and_byte_order_round_trips_bit_exact_ARRAY_2_IMG_5(dtype_name,
                                                                             byte_order):
    """[ARRAY-2] [IMG-5]"""
    dtype = np.dtype(dtype_name).newbyteorder(byte_order)
    voxels = sample(dtype, (2, 3, 4))
    image = Image(voxels, oblique_matrix(), space="RAS")
    received, _ = through_wire(image)
    assert received.dtype == dtype_name and received.dims == (4, 3, 2)
    assert received.byte_order == ("big" if byte_order == ">" and dtype.itemsize > 1
                                   else "little")
    assert received.voxels.tobytes() == voxels.tobytes()  # no value altered, even -0.0 or NaN
    assert np.array_equal(received.ijk_to_space, image.ijk_to_space)


def test_voxels_are_indexed_k_j_i_IMG_1():
    """[IMG-1]"""
    voxels = np.arange(24, dtype=np.int16).reshape(2, 3, 4)
    received, _ = through_wire(Image(voxels))
    # voxel (i, j, k) = (3, 1, 1) is element i + dims[0] * (j + dims[1] * k) = 3 + 4 * 4
    assert received.dims == (4, 3, 2) and received.voxels[1, 1, 3] == 3 + 4 * (1 + 3 * 1)


def test_received_voxels_are_a_view_of_the_frame_bulk_FRAME_6():
    """[FRAME-6]"""
    received, bulk = through_wire(Image(np.arange(64, dtype=np.float64).reshape(4, 4, 4)))
    assert np.shares_memory(received.voxels, np.frombuffer(bulk, dtype=np.uint8))


@pytest.mark.parametrize("space", ["RAS", "LPS"])
def test_oblique_geometry_in_both_spaces_IMG_2_IMG_5_DATA_2(space):
    """[IMG-2] [IMG-5] [DATA-2]"""
    matrix = oblique_matrix(0.7)
    received, _ = through_wire(Image(np.zeros((2, 2, 2), np.uint8), matrix, space=space))
    assert received.space == space and np.array_equal(received.ijk_to_space, matrix)
    other = "LPS" if space == "RAS" else "RAS"
    converted = received.in_space(other)
    assert np.array_equal(converted.ijk_to_space, FLIP @ matrix)
    assert converted.voxels is received.voxels
    assert np.array_equal(converted.in_space(space).ijk_to_space, matrix)


def test_vector_label_and_empty_images_IMG_4():
    """[IMG-4]"""
    vector = Image(np.arange(24, dtype=np.float32).reshape(1, 2, 4, 3), kind="vector")
    received, _ = through_wire(vector)
    assert received.components == 3 and received.voxels.shape == (1, 2, 4, 3)
    assert np.array_equal(received.voxels, vector.voxels)
    label = Image(np.array([[[0, 1, 2]]], np.uint16), kind="label",
                  segments=[Segment(1, "liver", (0.8, 0.2, 0.2)), Segment(2, "spleen")])
    received, _ = through_wire(label)
    assert received.kind == "label" and received.segments == label.segments
    empty, _ = through_wire(Image(np.zeros((0, 5, 3), np.int32)))
    assert empty.dims == (3, 5, 0) and empty.voxels.size == 0


@pytest.mark.parametrize("codec", ["zstd", "lz4"])
def test_compressed_image_round_trips_BULK_5(codec):
    """[BULK-5]"""
    voxels = (np.arange(32 * 32 * 8) % 7).astype(np.int16).reshape(8, 32, 32)
    received, _ = through_wire(Image(voxels, oblique_matrix(), space="LPS"), compression=codec)
    assert np.array_equal(received.voxels, voxels) and received.space == "LPS"


def test_mesh_round_trips_with_cells_and_arrays_MESH_1_MESH_2():
    """[MESH-1] [MESH-2]"""
    points = np.array([[0, 0, 0], [10, 0, 0], [10, 10, 0], [0, 10, 5]], np.float32)
    mesh = Mesh(points, space="LPS", verts=CellArray.from_cells([[0]]),
                lines=CellArray.from_cells([[0, 1]]),
                polys=CellArray.from_cells([[0, 1, 2], [0, 2, 3]]),
                strips=CellArray.from_cells([[0, 1, 2, 3]]),
                point_data={"thickness": np.arange(4, dtype=np.float64),
                            "normals": np.ones((4, 3), np.float32)},
                cell_data={"region": np.arange(5, dtype=np.int32)})
    received, _ = through_wire(mesh)
    assert received.space == "LPS" and np.array_equal(received.points, points)
    assert [c.tolist() for c in received.polys.cells()] == [[0, 1, 2], [0, 2, 3]]
    assert received.cell_count == 5
    assert np.array_equal(received.point_data["normals"], np.ones((4, 3), np.float32))
    assert np.array_equal(received.cell_data["region"], np.arange(5))


def test_mesh_space_conversion_negates_x_and_y_and_keeps_cells_MESH_3():
    """[MESH-3]"""
    mesh = Mesh(np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7, 8, 9]]),
                polys=CellArray.from_cells([[0, 1, 2]]))
    lps = mesh.in_space("LPS")
    assert lps.space == "LPS"
    assert np.array_equal(lps.points, [[-1, -2, 3], [-4, -5, 6], [-7, -8, 9]])
    assert np.array_equal(lps.polys.connectivity, [0, 1, 2])


def test_transform_round_trip_and_space_conversion_XFM_1():
    """[XFM-1]"""
    matrix = oblique_matrix(1.1)
    received, _ = through_wire(Transform(matrix, space="RAS"))
    assert np.array_equal(received.matrix, matrix)
    assert np.array_equal(received.in_space("LPS").matrix, FLIP @ matrix @ FLIP)


def test_points_and_table_round_trip_PTS_1_TBL_1():
    """[PTS-1] [TBL-1]"""
    points = PointList([[1, 2, 3], [-4.5, 5.5, 0]], ["F-1", "tip"], space="LPS")
    received, _ = through_wire(points)
    assert received.labels == ["F-1", "tip"] and np.array_equal(received.points, points.points)
    assert through_wire(PointList(np.zeros((0, 3))))[0].labels is None
    table = Table({"label": np.array([1, 2, 3], np.int32), "volume": [1250.5, 88.25, 0.0],
                   "name": ["liver", "spleen", "Gallenblase"], "present": [True, True, False]})
    received, _ = through_wire(table)
    assert list(received.columns) == ["label", "volume", "name", "present"]
    assert received.columns["label"].dtype == np.int32
    assert received.columns["name"] == ["liver", "spleen", "Gallenblase"]
    assert received.columns["present"].tolist() == [True, True, False]


# -- invariants checked on receipt -----------------------------------------------------------

def image_wire():
    return {"type": "image", "dims": [2, 1, 1], "dtype": "uint16", "components": 1,
            "data": Bulk(np.array([1, 2], "<u2")), "ijk_to_space": np.eye(4).ravel().tolist(),
            "space": "RAS", "kind": "label",
            "segments": [{"value": 1, "name": "a", "color": [1.0, 0.0, 0.0]}]}


def with_change(base, path, value):
    """A copy of ``base`` with the item at ``path`` replaced (or deleted); containers along the
    path are copied, everything else is shared."""
    def copied(container):
        return dict(container) if isinstance(container, dict) else list(container)

    root = target = copied(base)
    for key in path[:-1]:
        target[key] = copied(target[key])
        target = target[key]
    if value is DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return root


DELETE = object()
SINGULAR = [1.0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]


@pytest.mark.parametrize("path,value", [
    (["dims"], [2, 1]), (["dims"], [2, 1, -1]), (["dims"], [2.0, 1, 1]),
    (["dims"], [2**32, 2**32, 2**32]),                                     # [IMG-3]
    (["data"], Bulk(b"\x01\x00\x02")), (["data"], Bulk(bytes(6))),           # [ARRAY-1]
    (["data"], b"\x01\x00\x02\x00"),                                         # bin, not a reference
    (["dtype"], "float16"), (["dtype"], "string"),                           # [ARRAY-3]
    (["byte_order"], "middle"), (["components"], 0),                        # [ARRAY-4]
    (["ijk_to_space"], SINGULAR), (["ijk_to_space"], [1.0] * 15),            # [IMG-2]
    (["ijk_to_space"], np.eye(4).ravel().tolist()[:12] + [0, 0, 1, 1]),
    (["space"], DELETE), (["space"], "XYZ"),                                 # [DATA-2]
    (["kind"], "rgb"), (["kind"], DELETE), (["components"], 2),             # [IMG-4]
    (["segments", 0, "color"], [1.5, 0, 0]), (["segments", 0, "value"], 1.0),
    (["segments", 1], {"value": 1, "name": "b", "color": [0.0, 0.0, 0.0]}),  # [IMG-6]
    (["type"], "volume")])                                                   # [DATA-1]
def test_invalid_images_are_invalid_argument(path, value):
    wire = image_wire()
    if path[0] == "segments" and len(path) == 2:
        wire["segments"] = wire["segments"] + [value]
    else:
        wire = with_change(wire, path, value)
    with pytest.raises(SlicerBridgeError) as raised:
        data_from_wire(wire)
    assert raised.value.code == ErrorCode.INVALID_ARGUMENT


def test_invertible_means_a_determinant_above_a_relative_tolerance_IMG_2():
    """[IMG-2]: |det| > 1e-12 times the product of the upper 3x3's column lengths, whatever the
    spacing; a nearly singular matrix that numerical rank would let through is refused."""
    def matrix(linear):
        m = np.eye(4)
        m[:3, :3] = linear
        return m.ravel().tolist()
    for accepted in (np.diag([1e-6, 1e6, 1.0]), np.diag([1e-30, 1e-30, 1e-30]) * 1e10,
                     [[1, 1, 0], [0, 1e-6, 0], [0, 0, 1]]):
        data_from_wire(with_change(image_wire(), ["ijk_to_space"], matrix(accepted)))
    for refused in ([[1, 1, 0], [0, 1e-14, 0], [0, 0, 1]], np.diag([1e-200, 1e-200, 1e-200])):
        with pytest.raises(SlicerBridgeError) as raised:
            data_from_wire(with_change(image_wire(), ["ijk_to_space"], matrix(refused)))
        assert raised.value.code == ErrorCode.INVALID_ARGUMENT


def test_label_image_with_float_voxels_is_invalid_IMG_4():
    """[IMG-4]"""
    wire = dict(image_wire(), dtype="float32", data=Bulk(np.zeros(2, np.float32)))
    with pytest.raises(SlicerBridgeError):
        data_from_wire(wire)


def mesh_wire():
    return Mesh(np.zeros((3, 3)), polys=CellArray.from_cells([[0, 1, 2]]),
                point_data={"p": np.zeros(3)}, cell_data={"c": np.zeros(1)}).to_wire()


def typed(values, dtype="int64"):
    array = np.array(values, dtype=dtype)
    return {"dtype": dtype, "components": 1, "data": Bulk(array)}


@pytest.mark.parametrize("path,value", [
    (["polys", "connectivity"], typed([0, 1, 3])),            # [MESH-1]
    (["polys", "connectivity"], typed([0, -1, 2])),
    (["polys", "offsets"], typed([1, 3])),
    (["polys", "offsets"], typed([0, 2])),
    (["polys", "offsets"], typed([0, 3], "int32")),
    (["polys", "offsets"], typed([])),
    (["point_data", 0, "data"], Bulk(np.zeros(2))),           # [MESH-2]
    (["cell_data", 0, "data"], Bulk(np.zeros(2))),
    (["points"], {"dtype": "float64", "components": 2, "data": Bulk(np.zeros(6))}),
    (["points"], {"dtype": "int32", "components": 3, "data": Bulk(np.zeros(9, np.int32))}),
    (["space"], "ras")])
def test_invalid_meshes_are_invalid_argument(path, value):
    wire = with_change(mesh_wire(), path, value)
    with pytest.raises(SlicerBridgeError) as raised:
        data_from_wire(wire)
    assert raised.value.code == ErrorCode.INVALID_ARGUMENT


@pytest.mark.parametrize("wire", [
    dict(Transform().to_wire(), matrix=[1.0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 2]),
    dict(Transform().to_wire(), direction="from_parent"),
    {k: v for k, v in Transform().to_wire().items() if k != "direction"},
    dict(PointList(np.zeros((3, 3))).to_wire(), labels=["a", "b"]),          # [PTS-1]
    dict(PointList(np.zeros((3, 3))).to_wire(), labels=["a", "b", 3]),
    {"type": "points", "space": "RAS",
     "points": {"dtype": "float64", "components": 2, "data": Bulk(np.zeros(6))}},
    {"type": "table", "columns": [{"name": "a", **typed([1, 2, 3])},           # [TBL-1]
                                  {"name": "b", **typed([1, 2])}]},
    {"type": "table", "columns": [{"name": "a", **typed([1])}, {"name": "a", **typed([2])}]},
    {"type": "table", "columns": [{"name": "a", "dtype": "bool", "values": [True, 1]}]},
    {"type": "table", "columns": [{"name": "a", "dtype": "string", "values": ["x", None]}]},
    {"type": "table", "columns": [{"name": "a", "dtype": "int32", "components": 2,
                                   "data": Bulk(np.zeros(4, np.int32))}]},
    [1, 2, 3]])
def test_invalid_transforms_points_and_tables_are_invalid_argument_DATA_3(wire):
    """[DATA-3]"""
    with pytest.raises(SlicerBridgeError) as raised:
        data_from_wire(wire)
    assert raised.value.code == ErrorCode.INVALID_ARGUMENT


def test_constructors_refuse_what_cannot_be_sent():
    with pytest.raises(ValueError):
        Image(np.zeros((2, 2, 2), np.float32), kind="label")
    with pytest.raises(ValueError):
        Image(np.zeros((2, 2), np.uint8))
    with pytest.raises(ValueError):
        Image(np.zeros((2, 2, 2), np.uint8), space="XYZ")
    with pytest.raises(ValueError):
        Image(np.zeros((2, 2, 2), np.bool_))
    with pytest.raises(ValueError):
        Table({"a": [1, 2], "b": [1]})


def test_the_bases_of_the_invalid_cases_are_valid():
    assert data_from_wire(image_wire()).segments == [Segment(1, "a", (1.0, 0.0, 0.0))]
    assert data_from_wire(mesh_wire()).cell_count == 1
