"""numpy and VTK values in the shapes the protocol defines (spec section 11), and back.

The values here are what the client core (``vtkSlicerBridgeCall``) takes and returns, held in
small classes that say what they are: ``ImageValue`` (voxels indexed ``[k, j, i]`` plus the
IJK-to-RAS matrix of voxel centres), ``MeshValue`` (a vtkPolyData), ``TransformValue`` (a 4x4
child-to-parent matrix), ``PointsValue`` (an N x 3 array and optional labels) and ``TableValue``
(named columns). Geometry is RAS throughout, as in Slicer; the ``*_in_space`` helpers give the
LPS forms of spec [IMG-5], [MESH-3] and [XFM-1] for code that needs them.

Nothing here imports Slicer: these functions work in Slicer's Python and in any Python with
numpy and VTK.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
from vtkmodules.util import numpy_support
from vtkmodules.vtkCommonCore import (VTK_SIGNED_CHAR, vtkBitArray, vtkPoints, vtkStringArray,
                                      vtkVariantArray)
from vtkmodules.vtkCommonDataModel import vtkCellArray, vtkImageData, vtkPolyData, vtkTable
from vtkmodules.vtkCommonMath import vtkMatrix4x4

DTYPES = ("int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64", "float32",
          "float64")
IMAGE_KINDS = ("scalar", "label", "vector")
SPACES = ("RAS", "LPS")
RAS_LPS_FLIP = np.diag([-1.0, -1.0, 1.0, 1.0])
_LAST_ROW = np.array([0.0, 0.0, 0.0, 1.0])


class ConversionError(ValueError):
    """A value that the protocol cannot carry; the message says why, never what the data is."""


# ---------------------------------------------------------------------------------------------
# Matrices and spaces

def matrix_to_vtk(matrix: Any) -> vtkMatrix4x4:
    """A vtkMatrix4x4 holding the 4x4 (row-major) ``matrix``."""
    values = np.asarray(matrix, dtype=np.float64)
    if values.shape != (4, 4):
        raise ConversionError("a matrix must be 4 x 4")
    result = vtkMatrix4x4()
    result.DeepCopy(values.ravel().tolist())
    return result


def matrix_from_vtk(matrix: vtkMatrix4x4) -> np.ndarray:
    """The 4x4 numpy array of a vtkMatrix4x4."""
    return np.array([[matrix.GetElement(row, column) for column in range(4)]
                     for row in range(4)])


def check_affine(matrix: np.ndarray, what: str, *, invertible: bool) -> None:
    """[IMG-2], [XFM-1]: finite entries, last row [0, 0, 0, 1], and for images an invertible
    3x3 part."""
    if not np.all(np.isfinite(matrix)):
        raise ConversionError(f"{what}: the matrix has non-finite entries")
    if not np.array_equal(matrix[3], _LAST_ROW):
        raise ConversionError(f"{what}: the matrix's last row must be [0, 0, 0, 1]")
    if invertible and abs(np.linalg.det(matrix[:3, :3])) < 1e-12:
        raise ConversionError(f"{what}: the matrix's 3x3 part is not invertible")


def _check_space(space: str) -> None:
    if space not in SPACES:
        raise ConversionError("space must be RAS or LPS")


def image_matrix_in_space(ijk_to_ras: Any, space: str) -> np.ndarray:
    """An IJK-to-RAS matrix expressed in ``space``: M_lps = diag(-1, -1, 1, 1) M_ras [IMG-5].
    The same product converts back."""
    _check_space(space)
    matrix = np.asarray(ijk_to_ras, dtype=np.float64)
    return matrix.copy() if space == "RAS" else RAS_LPS_FLIP @ matrix


def transform_in_space(to_parent: Any, space: str) -> np.ndarray:
    """A RAS child-to-parent matrix in ``space``: T_lps = F T_ras F [XFM-1]."""
    _check_space(space)
    matrix = np.asarray(to_parent, dtype=np.float64)
    return matrix.copy() if space == "RAS" else RAS_LPS_FLIP @ matrix @ RAS_LPS_FLIP


def points_in_space(points: Any, space: str) -> np.ndarray:
    """N x 3 RAS points in ``space``: x and y negated for LPS [MESH-3]."""
    _check_space(space)
    result = np.array(points, dtype=np.float64).reshape(-1, 3)
    if space == "LPS":
        result[:, :2] *= -1.0
    return result


# ---------------------------------------------------------------------------------------------
# Arrays

def _protocol_dtype(dtype: np.dtype, what: str) -> np.dtype:
    native = dtype.newbyteorder("=")
    if native.name not in DTYPES:
        raise ConversionError(f"{what}: {dtype} is not a protocol dtype ({', '.join(DTYPES)})")
    return native


def array_to_vtk(values: np.ndarray, what: str, name: Optional[str] = None):
    """A vtkDataArray holding a copy of ``values`` (shape (n,) or (n, components))."""
    values = np.asarray(values)
    dtype = _protocol_dtype(values.dtype, what)
    values = np.ascontiguousarray(values, dtype=dtype)
    array_type = VTK_SIGNED_CHAR if dtype == np.int8 else None
    result = numpy_support.numpy_to_vtk(values, deep=True, array_type=array_type)
    if name is not None:
        result.SetName(name)
    return result


def array_from_vtk(array) -> np.ndarray:
    """A copy of a numeric vtkDataArray: shape (n,) for one component, else (n, components)."""
    values = numpy_support.vtk_to_numpy(array)
    _protocol_dtype(values.dtype, array.GetName() or "array")
    return np.array(values, copy=True)


# ---------------------------------------------------------------------------------------------
# Images (11.1)

@dataclasses.dataclass(frozen=True)
class Segment:
    """A named label value of a label image; ``color`` is red, green, blue in [0, 1]."""

    value: int
    name: str
    color: Tuple[float, float, float] = (1.0, 1.0, 0.0)

    def to_json(self) -> dict:
        return {"value": int(self.value), "name": self.name,
                "color": [float(c) for c in self.color]}


@dataclasses.dataclass
class ImageValue:
    """Voxels indexed ``[k, j, i]`` (``[k, j, i, c]`` for several components) and the matrix
    from voxel index to the RAS position of the voxel's centre [IMG-1] [IMG-2]."""

    voxels: np.ndarray
    ijk_to_ras: np.ndarray
    kind: str = "scalar"
    segments: Sequence[Segment] = ()

    def __post_init__(self) -> None:
        self.voxels = np.asarray(self.voxels)
        self.ijk_to_ras = np.asarray(self.ijk_to_ras, dtype=np.float64)
        self.validate()

    @property
    def components(self) -> int:
        return 1 if self.voxels.ndim == 3 else int(self.voxels.shape[3])

    @property
    def dims(self) -> Tuple[int, int, int]:
        """(i, j, k) sizes."""
        k, j, i = self.voxels.shape[:3]
        return int(i), int(j), int(k)

    def validate(self) -> None:
        """[IMG-2] [IMG-4] [IMG-6]; raises ConversionError."""
        if self.kind not in IMAGE_KINDS:
            raise ConversionError(f"image kind must be one of {IMAGE_KINDS}")
        if self.voxels.ndim not in (3, 4):
            raise ConversionError("voxels must be indexed [k, j, i] or [k, j, i, component]")
        dtype = _protocol_dtype(self.voxels.dtype, "voxels")
        if self.kind != "vector" and self.components != 1:
            raise ConversionError(f"a {self.kind} image has one component; use kind 'vector'")
        if self.kind == "label" and dtype.kind not in "iu":
            raise ConversionError("a label image needs an integer dtype")
        if self.ijk_to_ras.shape != (4, 4):
            raise ConversionError("ijk_to_ras must be a 4 x 4 matrix")
        check_affine(self.ijk_to_ras, "image", invertible=True)
        values = [segment.value for segment in self.segments]
        if len(set(values)) != len(values):
            raise ConversionError("segment values must be unique")
        for segment in self.segments:
            if len(segment.color) != 3 or not all(0.0 <= c <= 1.0 for c in segment.color):
                raise ConversionError("segment colors must be three numbers in [0, 1]")
        if self.segments and self.kind != "label":
            raise ConversionError("only label images have segments")

    def to_vtk(self) -> Tuple[vtkImageData, vtkMatrix4x4]:
        """A vtkImageData (extent from 0, origin 0, spacing 1) holding a copy of the voxels, and
        the IJK-to-RAS matrix."""
        image = vtkImageData()
        i, j, k = self.dims
        image.SetExtent(0, i - 1, 0, j - 1, 0, k - 1)
        flat = self.voxels.reshape(-1, self.components) if self.components > 1 \
            else self.voxels.reshape(-1)
        image.GetPointData().SetScalars(array_to_vtk(flat, "voxels", "ImageScalars"))
        return image, matrix_to_vtk(self.ijk_to_ras)

    @classmethod
    def from_vtk(cls, image: vtkImageData, ijk_to_ras: Union[vtkMatrix4x4, Any],
                 kind: Optional[str] = None, segments: Sequence[Segment] = ()) -> "ImageValue":
        """The scalars of ``image`` (copied) placed by ``ijk_to_ras``, a matrix from the image's
        structured indices to RAS (Slicer's IJK-to-RAS). An extent that does not start at 0 (a
        segment's labelmap, a cropped image) is folded into the matrix. The image's own origin,
        spacing and direction are ignored. ``kind`` defaults to scalar, or vector for several
        components."""
        scalars = image.GetPointData().GetScalars()
        if scalars is None:
            raise ConversionError("the image has no scalars")
        matrix = matrix_from_vtk(ijk_to_ras) if isinstance(ijk_to_ras, vtkMatrix4x4) \
            else np.asarray(ijk_to_ras, dtype=np.float64)
        extent = image.GetExtent()
        dims = [max(extent[2 * axis + 1] - extent[2 * axis] + 1, 0) for axis in range(3)]
        values = array_from_vtk(scalars)
        components = scalars.GetNumberOfComponents()
        shape = (dims[2], dims[1], dims[0]) + ((components,) if components > 1 else ())
        start = np.array([extent[0], extent[2], extent[4], 0.0])
        folded = matrix.copy()
        folded[:3, 3] = (matrix @ start)[:3] + matrix[:3, 3]
        if kind is None:
            kind = "vector" if components > 1 else "scalar"
        return cls(values.reshape(shape), folded, kind, tuple(segments))

    @classmethod
    def from_vtk_geometry(cls, image: vtkImageData, kind: Optional[str] = None) -> "ImageValue":
        """An image whose geometry is held by the vtkImageData itself (origin, spacing and
        direction, in RAS), as VTK's file readers leave it."""
        direction = np.array([[image.GetDirectionMatrix().GetElement(r, c) for c in range(3)]
                              for r in range(3)])
        matrix = np.eye(4)
        matrix[:3, :3] = direction @ np.diag(image.GetSpacing())
        matrix[:3, 3] = image.GetOrigin()
        return cls.from_vtk(image, matrix, kind)

    def in_space(self, space: str) -> np.ndarray:
        """The matrix in ``space`` (the voxels never change, [IMG-5])."""
        return image_matrix_in_space(self.ijk_to_ras, space)


SERIES_AXES = ("time", "echo_time", "b_value", "index")


@dataclasses.dataclass
class ImageSeriesValue:
    """An image series (spec 11.7): volumes of one dims, dtype and kind, each an ``ImageValue``
    with its own IJK-to-RAS matrix [SER-2], their positions on ``axis`` (seconds for ``time``
    and ``echo_time``, s/mm^2 for ``b_value``, none for ``index``) and, for ``b_value`` series
    only, one RAS gradient direction per volume [SER-3] [SER-4]."""

    volumes: Sequence[ImageValue]
    values: Sequence[float]
    axis: str = "time"
    gradients: Optional[Any] = None

    def __post_init__(self) -> None:
        self.volumes = list(self.volumes)
        self.values = np.asarray(self.values, dtype=np.float64).reshape(-1)
        if self.gradients is not None:
            self.gradients = np.asarray(self.gradients, dtype=np.float64)
        self.validate()

    def validate(self) -> None:
        """[SER-1] [SER-3] [SER-4] [SER-5]; raises ConversionError."""
        if not self.volumes:
            raise ConversionError("a series holds at least one volume")
        if self.axis not in SERIES_AXES:
            raise ConversionError(f"a series axis is one of {SERIES_AXES}")
        if len(self.values) != len(self.volumes):
            raise ConversionError("a series has one axis value per volume")
        first = self.volumes[0]
        for volume in self.volumes:
            if volume.voxels.shape != first.voxels.shape or \
                    volume.voxels.dtype != first.voxels.dtype or volume.kind != first.kind:
                raise ConversionError("the volumes of a series share dims, dtype and kind")
        values = self.values
        if not np.all(np.isfinite(values)):
            raise ConversionError("axis values must be finite")
        if self.axis != "b_value" and np.any(np.diff(values) <= 0):
            raise ConversionError(f"{self.axis} values must be strictly increasing")
        if self.axis == "echo_time" and np.any(values <= 0):
            raise ConversionError("echo times must be > 0")
        if self.axis == "b_value" and np.any(values < 0):
            raise ConversionError("b-values must be >= 0")
        if (self.gradients is None) != (self.axis != "b_value"):
            raise ConversionError("b_value series, and only they, have a gradient per volume")
        if self.gradients is not None:
            if self.gradients.shape != (len(values), 3):
                raise ConversionError("a series has one 3-D gradient per volume")
            lengths = np.linalg.norm(self.gradients, axis=1)
            if not np.all(((lengths == 0) & (values == 0)) | (np.abs(lengths - 1) <= 1e-6)):
                raise ConversionError("gradients have unit length (or are zero at b = 0)")

    def shares_geometry(self) -> bool:
        """Whether every volume has the same matrix exactly: only then may a single-geometry
        node (a MultiVolume) hold the series [SER-2]."""
        first = self.volumes[0].ijk_to_ras
        return all(np.array_equal(volume.ijk_to_ras, first) for volume in self.volumes)


def segments_from_json(text: str) -> Tuple[Segment, ...]:
    """The segments of ``vtkSlicerBridgeCall.GetImageOutputSegmentsJSON``."""
    return tuple(Segment(int(s["value"]), str(s["name"]), tuple(float(c) for c in s["color"]))
                 for s in json.loads(text))


# ---------------------------------------------------------------------------------------------
# Meshes (11.2)

@dataclasses.dataclass
class MeshValue:
    """A surface mesh in RAS: points, cells, point and cell data, as a vtkPolyData."""

    polydata: vtkPolyData

    @classmethod
    def from_arrays(cls, points: Any, *, polys: Sequence[Sequence[int]] = (),
                    lines: Sequence[Sequence[int]] = (), verts: Sequence[Sequence[int]] = (),
                    strips: Sequence[Sequence[int]] = (),
                    point_data: Optional[Mapping[str, Any]] = None,
                    cell_data: Optional[Mapping[str, Any]] = None) -> "MeshValue":
        """A mesh of N x 3 points and cells given as lists of point indices. Cell data has one
        tuple per cell, counted verts, lines, polys then strips [MESH-2]."""
        coordinates = np.asarray(points, dtype=np.float64).reshape(-1, 3)
        polydata = vtkPolyData()
        vtk_points = vtkPoints()
        vtk_points.SetDataTypeToDouble()
        vtk_points.SetData(array_to_vtk(coordinates, "points"))
        polydata.SetPoints(vtk_points)
        for setter, cells in ((polydata.SetVerts, verts), (polydata.SetLines, lines),
                              (polydata.SetPolys, polys), (polydata.SetStrips, strips)):
            if len(cells):
                setter(_cell_array(cells, len(coordinates)))
        for attributes, arrays, count, what in (
                (polydata.GetPointData(), point_data, len(coordinates), "point"),
                (polydata.GetCellData(), cell_data, polydata.GetNumberOfCells(), "cell")):
            for name, values in (arrays or {}).items():
                values = np.asarray(values)
                if len(values) != count:
                    raise ConversionError(f"{what} data '{name}' needs one tuple per {what}")
                attributes.AddArray(array_to_vtk(values, f"{what} data '{name}'", name))
        return cls(polydata)

    @property
    def points(self) -> np.ndarray:
        if self.polydata.GetPoints() is None:
            return np.zeros((0, 3))
        return array_from_vtk(self.polydata.GetPoints().GetData()).reshape(-1, 3)

    def cells(self, kind: str) -> List[List[int]]:
        """The cells of ``kind`` ("verts", "lines", "polys" or "strips") as index lists."""
        cell_array = getattr(self.polydata, "Get" + kind.capitalize())()
        if cell_array is None or cell_array.GetNumberOfCells() == 0:
            return []
        offsets = array_from_vtk(cell_array.GetOffsetsArray())
        connectivity = array_from_vtk(cell_array.GetConnectivityArray())
        return [connectivity[offsets[c]:offsets[c + 1]].tolist() for c in range(len(offsets) - 1)]

    def point_data(self) -> Dict[str, np.ndarray]:
        return _named_arrays(self.polydata.GetPointData())

    def cell_data(self) -> Dict[str, np.ndarray]:
        return _named_arrays(self.polydata.GetCellData())


def _cell_array(cells: Sequence[Sequence[int]], point_count: int) -> vtkCellArray:
    offsets = np.zeros(len(cells) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(cell) for cell in cells])
    connectivity = np.fromiter((index for cell in cells for index in cell), dtype=np.int64,
                               count=int(offsets[-1]))
    if connectivity.size and (connectivity.min() < 0 or connectivity.max() >= point_count):
        raise ConversionError("a cell refers to a point that does not exist")  # [MESH-1]
    result = vtkCellArray()
    result.SetData(array_to_vtk(offsets, "offsets"), array_to_vtk(connectivity, "connectivity"))
    return result


def _named_arrays(attributes) -> Dict[str, np.ndarray]:
    result = {}
    for index in range(attributes.GetNumberOfArrays()):
        array = attributes.GetArray(index)
        if array is not None:
            result[array.GetName() or f"array_{index}"] = array_from_vtk(array)
    return result


# ---------------------------------------------------------------------------------------------
# Transforms (11.3), points (11.4), tables (11.5)

@dataclasses.dataclass
class TransformValue:
    """A linear child-to-parent transform in RAS [XFM-1]."""

    to_parent: np.ndarray

    def __post_init__(self) -> None:
        self.to_parent = np.asarray(self.to_parent, dtype=np.float64)
        if self.to_parent.shape != (4, 4):
            raise ConversionError("a transform is a 4 x 4 matrix")
        check_affine(self.to_parent, "transform", invertible=False)

    def to_vtk(self) -> vtkMatrix4x4:
        return matrix_to_vtk(self.to_parent)


@dataclasses.dataclass
class PointsValue:
    """N x 3 RAS points and, optionally, one label per point [PTS-1]."""

    points: np.ndarray
    labels: Optional[Sequence[str]] = None

    def __post_init__(self) -> None:
        self.points = np.asarray(self.points, dtype=np.float64).reshape(-1, 3)
        if not np.all(np.isfinite(self.points)):
            raise ConversionError("points must be finite")
        if self.labels is not None:
            self.labels = [str(label) for label in self.labels]
            if len(self.labels) != len(self.points):
                raise ConversionError("points need one label each")

    def to_vtk(self) -> Tuple[vtkPoints, Optional[vtkStringArray]]:
        points = vtkPoints()
        points.SetDataTypeToDouble()
        points.SetData(array_to_vtk(self.points, "points"))
        if self.labels is None:
            return points, None
        labels = vtkStringArray()
        for label in self.labels:
            labels.InsertNextValue(label)
        return points, labels

    @classmethod
    def from_vtk(cls, points: vtkPoints, labels: Optional[vtkStringArray] = None) -> "PointsValue":
        coordinates = np.array([points.GetPoint(i) for i in range(points.GetNumberOfPoints())],
                               dtype=np.float64).reshape(-1, 3)
        names = None
        if labels is not None and labels.GetNumberOfValues():
            names = [labels.GetValue(i) for i in range(labels.GetNumberOfValues())]
        return cls(coordinates, names)


@dataclasses.dataclass
class TableValue:
    """Named columns of equal length: numeric arrays (one component), strings or bools
    [TBL-1]."""

    columns: Dict[str, Any]

    def __post_init__(self) -> None:
        converted: Dict[str, Any] = {}
        for name, values in self.columns.items():
            if isinstance(values, np.ndarray) and values.dtype != object:
                if values.ndim != 1:
                    raise ConversionError(f"table column '{name}' must be one-dimensional")
                if values.dtype != np.bool_:
                    _protocol_dtype(values.dtype, f"table column '{name}'")
                converted[name] = values
            elif all(isinstance(v, (bool, np.bool_)) for v in values):
                converted[name] = np.array(values, dtype=np.bool_)
            elif all(isinstance(v, str) for v in values):
                converted[name] = [str(v) for v in values]
            else:
                converted[name] = np.asarray(values)
                _protocol_dtype(converted[name].dtype, f"table column '{name}'")
        lengths = {len(values) for values in converted.values()}
        if len(lengths) > 1:
            raise ConversionError("table columns must have the same number of rows")
        self.columns = converted

    @property
    def row_count(self) -> int:
        return len(next(iter(self.columns.values()))) if self.columns else 0

    def to_vtk(self) -> vtkTable:
        table = vtkTable()
        for name, values in self.columns.items():
            if isinstance(values, list):
                column = vtkStringArray()
                for value in values:
                    column.InsertNextValue(value)
            elif values.dtype == np.bool_:
                column = vtkBitArray()
                for value in values:
                    column.InsertNextValue(int(value))
            else:
                column = array_to_vtk(values, f"table column '{name}'")
            column.SetName(name)
            table.AddColumn(column)
        return table

    @classmethod
    def from_vtk(cls, table: vtkTable) -> "TableValue":
        columns: Dict[str, Any] = {}
        for index in range(table.GetNumberOfColumns()):
            column = table.GetColumn(index)
            name = table.GetColumnName(index) or f"column_{index}"
            if isinstance(column, vtkBitArray):
                columns[name] = np.array([column.GetValue(r) for r in
                                          range(column.GetNumberOfValues())], dtype=np.bool_)
            elif isinstance(column, (vtkStringArray, vtkVariantArray)):
                columns[name] = [column.GetVariantValue(r).ToString()
                                 for r in range(column.GetNumberOfValues())]
            else:
                columns[name] = array_from_vtk(column)
        return cls(columns)


# ---------------------------------------------------------------------------------------------
# Parameters (11.6)

def parameters_to_json(parameters: Mapping[str, Any]) -> str:
    """The JSON object ``vtkSlicerBridgeCall.SetParametersJSON`` takes. numpy scalars and arrays
    become plain numbers and lists; floats keep a fraction, so they stay floats on the wire."""
    def plain(value: Any) -> Any:
        if isinstance(value, (bool, np.bool_)):
            return bool(value)
        if isinstance(value, np.integer):
            return int(value)
        if isinstance(value, np.floating):
            return float(value)
        if isinstance(value, (np.ndarray, list, tuple)):
            return [plain(v) for v in (value.tolist() if isinstance(value, np.ndarray)
                                       else value)]
        if isinstance(value, (int, float, str)):
            return value
        raise ConversionError(f"a parameter value of type {type(value).__name__} "
                              "has no protocol form")
    return json.dumps({str(name): plain(value) for name, value in parameters.items()},
                      allow_nan=False)
