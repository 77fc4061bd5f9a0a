"""The data types of spec section 11 and their conversion to and from wire maps.

Arrays received from the wire are zero-copy numpy views of the frame's bulk: an image's voxels
are indexed ``[k, j, i]`` (plus a trailing component axis for vector images), exactly the layout
of [IMG-1] and of ``slicer.util.arrayFromVolume``. Byte order is kept as received (``>`` dtypes
for big-endian data) rather than converted [ARRAY-2]. Arrays being sent are referenced, not
copied, when they are C-contiguous.

Every ``from_wire`` checks the invariants of the spec and raises ``SlicerBridgeError`` with
``invalid_argument``; values are never altered [IMG-5].
"""

from __future__ import annotations

import math
import sys
from typing import Any, Dict, List, NamedTuple, Optional, Sequence, Union

import numpy as np

from .codec import Bulk
from .errors import ErrorCode, SlicerBridgeError
from .values import is_integer, is_number

DTYPES = ("int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64",
          "float32", "float64")
SPACES = ("RAS", "LPS")
IMAGE_KINDS = ("scalar", "label", "vector")
_RAS_LPS_FLIP = np.diag([-1.0, -1.0, 1.0, 1.0])
_LAST_ROW = np.array([0.0, 0.0, 0.0, 1.0])


def _invalid(message: str, **details: Any) -> SlicerBridgeError:
    return SlicerBridgeError(ErrorCode.INVALID_ARGUMENT, message, details or None)


def _field(value: dict, key: str, expected: type, what: str, *, required: bool = True,
           default=None):
    if key not in value:
        if required:
            raise _invalid(f"{what}: missing {key}", key=key)
        return default
    item = value[key]
    if not isinstance(item, expected) or (isinstance(item, bool) and expected is not bool):
        raise _invalid(f"{what}: {key} has the wrong type", key=key)
    return item


def _space(value: dict, what: str) -> str:
    space = _field(value, "space", str, what)
    if space not in SPACES:
        raise _invalid(f"{what}: space must be RAS or LPS", key="space")  # [DATA-2]
    return space


def _check_space_argument(space: str) -> str:
    if space not in SPACES:
        raise ValueError("space must be 'RAS' or 'LPS'")
    return space


# ---------------------------------------------------------------------------------------------
# Typed arrays (spec 3.3)

def byte_order_of(dtype: np.dtype) -> str:
    order = dtype.byteorder
    if order == "=":
        return sys.byteorder
    return "big" if order == ">" else "little"


def _wire_dtype(array: np.ndarray, what: str) -> str:
    name = array.dtype.name
    if name not in DTYPES:
        raise ValueError(f"{what}: dtype {array.dtype} is not a protocol dtype")
    return name


def typed_array_to_wire(array: np.ndarray, components: int, what: str) -> dict:
    """The typed array map for ``array``, whose bytes are referenced (a copy only when the array
    is not C-contiguous). Keys in the order of spec 3.3; ``byte_order`` only when big."""
    wire = {"dtype": _wire_dtype(array, what), "components": components}
    if array.dtype.itemsize > 1 and byte_order_of(array.dtype) == "big":
        wire["byte_order"] = "big"  # "little" is the default and is left out
    wire["data"] = Bulk(array)
    return wire


def typed_array_from_wire(value: Any, what: str, *, count: Optional[int] = None,
                          dtypes: Sequence[str] = DTYPES,
                          components: Optional[int] = None) -> np.ndarray:
    """A read view of a typed array map. ``count`` is the element count fixed by the enclosing
    type (derived from the data length when None). Returns shape (count,) for one component,
    else (count, components)."""
    if not isinstance(value, dict):
        raise _invalid(f"{what}: typed array is not a map")
    dtype_name = _field(value, "dtype", str, what)
    if dtype_name not in DTYPES:
        raise _invalid(f"{what}: unknown dtype", dtype=dtype_name)  # [ARRAY-3]
    if dtype_name not in dtypes:
        raise _invalid(f"{what}: dtype {dtype_name} not allowed here", dtype=dtype_name)
    tuple_size = _field(value, "components", int, what, required=False, default=1)
    if tuple_size < 1:
        raise _invalid(f"{what}: components must be >= 1")
    if components is not None and tuple_size != components:
        raise _invalid(f"{what}: components must be {components}")
    byte_order = _field(value, "byte_order", str, what, required=False, default="little")
    if byte_order not in ("little", "big"):
        raise _invalid(f"{what}: byte_order must be little or big")
    data = _field(value, "data", Bulk, what)
    dtype = np.dtype(dtype_name).newbyteorder("<" if byte_order == "little" else ">")
    tuple_bytes = tuple_size * dtype.itemsize
    if count is None:
        if len(data) % tuple_bytes:
            raise _invalid(f"{what}: data length is not a whole number of elements")
        count = len(data) // tuple_bytes
    if len(data) != count * tuple_bytes:  # [ARRAY-1]; exact: Python integers do not wrap
        raise _invalid(f"{what}: data length does not match the element count",
                       data_length=len(data))
    array = np.frombuffer(data.data, dtype=dtype)
    return array if tuple_size == 1 else array.reshape(count, tuple_size)


def _tuple_size(array: np.ndarray) -> int:
    return 1 if array.ndim == 1 else int(array.shape[1])


def _matrix_from_wire(value: dict, key: str, what: str) -> np.ndarray:
    items = _field(value, key, list, what)
    if len(items) != 16 or not all(is_number(x) for x in items):
        raise _invalid(f"{what}: {key} must be 16 numbers", key=key)
    return np.array(items, dtype=np.float64).reshape(4, 4)


def _matrix_to_wire(matrix: np.ndarray) -> list:
    return [float(x) for x in matrix.reshape(-1)]


def _check_affine(matrix: np.ndarray, what: str, *, invertible: bool) -> None:
    if not np.array_equal(matrix[3], _LAST_ROW):
        raise _invalid(f"{what}: last row must be [0, 0, 0, 1]")
    if not np.all(np.isfinite(matrix)):
        raise _invalid(f"{what}: matrix has non-finite values")
    if invertible and not _invertible(matrix[:3, :3]):
        raise _invalid(f"{what}: upper 3x3 is not invertible")


def _invertible(linear: np.ndarray) -> bool:
    """[IMG-2]: |det| above 1e-12 times the product of the column lengths."""
    with np.errstate(over="ignore", invalid="ignore"):
        determinant = float(np.linalg.det(linear))
        lengths = float(np.prod(np.linalg.norm(linear, axis=0)))
    return math.isfinite(determinant) and abs(determinant) > 1e-12 * lengths


def _as_matrix(matrix: Any, what: str) -> np.ndarray:
    result = np.array(matrix, dtype=np.float64)
    if result.shape != (4, 4):
        raise ValueError(f"{what} must be a 4x4 matrix")
    return result


# ---------------------------------------------------------------------------------------------
# image (11.1)

class Segment(NamedTuple):
    value: int
    name: str
    color: tuple = (1.0, 1.0, 0.0)

    def to_wire(self) -> dict:
        return {"value": int(self.value), "name": self.name,
                "color": [float(c) for c in self.color]}

    @classmethod
    def from_wire(cls, value: Any) -> "Segment":
        what = "segment"
        if not isinstance(value, dict):
            raise _invalid("segment is not a map")
        number = _field(value, "value", int, what)
        name = _field(value, "name", str, what)
        color = _field(value, "color", list, what)
        if len(color) != 3 or not all(is_number(c) and 0.0 <= c <= 1.0 for c in color):
            raise _invalid("segment color must be 3 numbers in [0, 1]")
        return cls(number, name, tuple(float(c) for c in color))


class Image:
    """A 3-D image: voxels and the matrix from voxel index to physical coordinates (mm) of voxel
    centres [IMG-2].

    Axis order, stated once: the voxel array is indexed ``[k, j, i]`` (``[k, j, i, c]`` for a
    vector image), as numpy sees memory with i varying fastest [IMG-1] and as
    ``slicer.util.arrayFromVolume`` returns it. Everything else is named after its order:
    ``dims_ijk``/``spacing_ijk`` are (i, j, k), like the matrix's columns and index points;
    ``shape_kji``/``spacing_kji`` are in the voxel array's order, for numpy and scipy calls
    (``gaussian_filter(voxels, sigma_mm / image.spacing_kji)``). ``dims`` and ``spacing`` are
    the (i, j, k) ones.

    A new voxel array of another shape needs new geometry: ``with_voxels`` refuses it without
    ``ijk_to_space``; ``cropped`` and ``resampled`` make the common ones.
    """

    type = "image"

    def __init__(self, voxels: np.ndarray, ijk_to_space: Any = None, *, space: str = "RAS",
                 kind: str = "scalar", segments: Sequence[Segment] = ()):
        voxels = np.asarray(voxels)
        if kind not in IMAGE_KINDS:
            raise ValueError(f"kind must be one of {IMAGE_KINDS}")
        if kind == "vector" and voxels.ndim == 3:
            voxels = voxels[..., np.newaxis]
        elif kind != "vector" and voxels.ndim == 4 and voxels.shape[3] == 1:
            voxels = voxels[..., 0]
        expected_ndim = 4 if kind == "vector" else 3
        if voxels.ndim != expected_ndim:
            raise ValueError(f"a {kind} image needs a {expected_ndim}-D voxel array")
        _wire_dtype(voxels, "image")
        if kind == "label" and voxels.dtype.kind not in "iu":
            raise ValueError("a label image needs an integer dtype")
        if segments and kind != "label":
            raise ValueError("only label images have segments")
        if len({s[0] for s in segments}) != len(segments):
            raise ValueError("segment values must be unique")
        self.voxels = voxels
        self.ijk_to_space = (np.eye(4) if ijk_to_space is None
                             else _as_matrix(ijk_to_space, "ijk_to_space"))
        self.space = _check_space_argument(space)
        self.kind = kind
        self.segments = [Segment(*s) for s in segments]

    @property
    def dims(self) -> tuple:
        """Voxel counts along i, j, k (the same as ``dims_ijk``)."""
        return (self.voxels.shape[2], self.voxels.shape[1], self.voxels.shape[0])

    @property
    def dims_ijk(self) -> tuple:
        """Voxel counts along i, j, k."""
        return self.dims

    @property
    def shape_kji(self) -> tuple:
        """Voxel counts in the voxel array's order: (k, j, i)."""
        return tuple(self.voxels.shape[:3])

    @property
    def components(self) -> int:
        return self.voxels.shape[3] if self.voxels.ndim == 4 else 1

    @property
    def dtype(self) -> str:
        return self.voxels.dtype.name

    @property
    def byte_order(self) -> str:
        return byte_order_of(self.voxels.dtype)

    @property
    def spacing(self) -> np.ndarray:
        """Voxel size (mm) along i, j, k (the same as ``spacing_ijk``)."""
        return self.spacing_ijk

    @property
    def spacing_ijk(self) -> np.ndarray:
        """Voxel size (mm) along i, j, k: the lengths of the matrix columns."""
        return np.linalg.norm(self.ijk_to_space[:3, :3], axis=0)

    @property
    def spacing_kji(self) -> np.ndarray:
        """Voxel size (mm) in the voxel array's axis order, (k, j, i)."""
        return self.spacing_ijk[::-1].copy()

    @property
    def origin(self) -> np.ndarray:
        """Where the centre of voxel (0, 0, 0) is, in ``space`` (mm)."""
        return self.ijk_to_space[:3, 3].copy()

    @property
    def directions(self) -> np.ndarray:
        """Unit vectors of the i, j and k axes in ``space``, as the columns of a 3x3 matrix."""
        return self.ijk_to_space[:3, :3] / self.spacing_ijk

    def index_to_space(self, ijk: Any) -> np.ndarray:
        """Physical coordinates (mm, in ``space``) of voxel indices (i, j, k); an (n, 3) array
        gives n points."""
        points = np.asarray(ijk, dtype=np.float64)
        return points @ self.ijk_to_space[:3, :3].T + self.ijk_to_space[:3, 3]

    def space_to_index(self, points: Any) -> np.ndarray:
        """Continuous voxel indices (i, j, k) of physical points (mm, in ``space``)."""
        inverse = np.linalg.inv(self.ijk_to_space)
        points = np.asarray(points, dtype=np.float64)
        return points @ inverse[:3, :3].T + inverse[:3, 3]

    def same_grid(self, other: "Image", tolerance: float = 1e-6) -> bool:
        """Whether ``other`` has the same dimensions and voxel positions (its matrix, in this
        image's space, equal within ``tolerance`` mm)."""
        if self.dims != other.dims:
            return False
        return bool(np.allclose(other.in_space(self.space).ijk_to_space, self.ijk_to_space,
                                rtol=0.0, atol=tolerance))

    def in_space(self, space: str) -> "Image":
        """The same image with its matrix expressed in ``space``; voxels are shared [IMG-5]."""
        if _check_space_argument(space) == self.space:
            return self
        return Image(self.voxels, _RAS_LPS_FLIP @ self.ijk_to_space, space=space,
                     kind=self.kind, segments=self.segments)

    def with_voxels(self, voxels: np.ndarray, *, kind: Optional[str] = None,
                    segments: Sequence[Segment] = (),
                    ijk_to_space: Any = None) -> "Image":
        """A new image (e.g. a processor's output) with these voxels, indexed [k, j, i], on the
        same grid as this one; a voxel array of another shape needs its own ``ijk_to_space``
        (or use ``cropped``/``resampled``), else ``ValueError``: the old geometry would put
        it in the wrong place."""
        voxels = np.asarray(voxels)
        if ijk_to_space is None and tuple(voxels.shape[:3]) != self.shape_kji:
            raise ValueError(
                f"with_voxels: the new voxels have the shape {tuple(voxels.shape[:3])} [k, j, i] "
                f"but this image's grid is {self.shape_kji}: give the new grid's ijk_to_space "
                f"(or use cropped() or resampled() for the geometry); voxel arrays are indexed "
                f"[k, j, i]")
        matrix = self.ijk_to_space if ijk_to_space is None else ijk_to_space
        return Image(voxels, matrix, space=self.space, kind=kind or self.kind,
                     segments=segments)

    def cropped(self, start_ijk: Sequence[int], stop_ijk: Sequence[int]) -> "Image":
        """The box of voxels from ``start_ijk`` up to (not including) ``stop_ijk``, both
        (i, j, k), with the geometry that keeps every voxel where it was. The voxels are a
        view of this image's."""
        start = [int(v) for v in start_ijk]
        stop = [int(v) for v in stop_ijk]
        if len(start) != 3 or len(stop) != 3 or not all(
                0 <= a < b <= n for a, b, n in zip(start, stop, self.dims)):
            raise ValueError(f"cropped: need 0 <= start < stop <= dims {self.dims} along (i, j, "
                             f"k), got start {tuple(start)} and stop {tuple(stop)}")
        voxels = self.voxels[start[2]:stop[2], start[1]:stop[1], start[0]:stop[0]]
        matrix = self.ijk_to_space.copy()
        matrix[:3, 3] = self.index_to_space(start)
        return Image(voxels, matrix, space=self.space, kind=self.kind, segments=self.segments)

    def resampled_geometry(self, spacing_ijk: Sequence[float]) -> tuple:
        """(dims_ijk, ijk_to_space) of a grid with voxels of ``spacing_ijk`` mm covering the
        same box as this one (the outer edges of its edge voxels), in the same directions."""
        new = np.asarray(spacing_ijk, dtype=np.float64)
        old = self.spacing_ijk
        if new.shape != (3,) or not np.all(new > 0):
            raise ValueError("resampled: spacing_ijk must be 3 positive numbers (mm) along i, "
                             "j, k")
        dims = tuple(max(1, int(round(n * o / s))) for n, o, s in zip(self.dims, old, new))
        scale = new / old  # new voxel size in old index units
        first = 0.5 * scale - 0.5  # old index of the new first voxel's centre
        matrix = self.ijk_to_space.copy()
        matrix[:3, :3] = self.ijk_to_space[:3, :3] * scale
        matrix[:3, 3] = self.index_to_space(first)
        return dims, matrix

    def resampled(self, spacing_ijk: Sequence[float], *, order: Optional[int] = None
                  ) -> "Image":
        """This image on a grid of ``spacing_ijk`` mm (i, j, k) over the same box: linear
        interpolation (``order=1``, the default for scalar and vector images) or the nearest
        voxel (``order=0``, the default and the only choice for label images). Voxels beyond
        the edge take the edge's value."""
        if order is None:
            order = 0 if self.kind == "label" else 1
        if order not in (0, 1) or (self.kind == "label" and order != 0):
            raise ValueError("resampled: order is 0 (nearest) or 1 (linear); labels take 0")
        dims, matrix = self.resampled_geometry(spacing_ijk)
        scale = np.asarray(spacing_ijk, dtype=np.float64) / self.spacing_ijk
        values = self.voxels
        work = values if order == 0 else values.astype(np.float64)
        for axis_ijk in range(3):
            axis = 2 - axis_ijk  # the voxel array's axis for i, j or k
            size = values.shape[axis]
            positions = np.clip((np.arange(dims[axis_ijk]) + 0.5) * scale[axis_ijk] - 0.5,
                                0, size - 1)
            if order == 0:
                work = np.take(work, np.floor(positions + 0.5).astype(np.intp), axis=axis)
                continue
            lower = np.floor(positions).astype(np.intp)
            upper = np.minimum(lower + 1, size - 1)
            weight = positions - lower
            shape = [1] * work.ndim
            shape[axis] = len(positions)
            weight = weight.reshape(shape)
            work = (np.take(work, lower, axis=axis) * (1 - weight)
                    + np.take(work, upper, axis=axis) * weight)
        if order == 1 and values.dtype.kind in "iu":
            info = np.iinfo(values.dtype)
            work = np.clip(np.rint(work), info.min, info.max)
        return Image(np.ascontiguousarray(work.astype(values.dtype)), matrix, space=self.space,
                     kind=self.kind, segments=self.segments)

    def to_wire(self) -> dict:
        wire = {"type": "image", "dims": list(self.dims)}
        wire.update(typed_array_to_wire(self.voxels, self.components, "image"))
        wire["ijk_to_space"] = _matrix_to_wire(self.ijk_to_space)
        wire["space"] = self.space
        wire["kind"] = self.kind
        if self.segments:
            wire["segments"] = [s.to_wire() for s in self.segments]
        return wire

    @classmethod
    def from_wire(cls, value: dict) -> "Image":
        what = "image"
        dims = _field(value, "dims", list, what)
        if len(dims) != 3 or not all(is_integer(d) and d >= 0 for d in dims):
            raise _invalid("image: dims must be 3 integers >= 0", key="dims")
        kind = _field(value, "kind", str, what)
        if kind not in IMAGE_KINDS:
            raise _invalid("image: unknown kind", kind=kind)
        space = _space(value, what)
        matrix = _matrix_from_wire(value, "ijk_to_space", what)
        _check_affine(matrix, "image ijk_to_space", invertible=True)  # [IMG-2]
        components = _field(value, "components", int, what, required=False, default=1)
        if kind != "vector" and components != 1:  # [IMG-4]
            raise _invalid(f"image: a {kind} image has 1 component")
        voxels = typed_array_from_wire(value, what, count=dims[0] * dims[1] * dims[2])  # [IMG-3]
        if kind == "label" and voxels.dtype.kind not in "iu":
            raise _invalid("image: a label image has an integer dtype", dtype=voxels.dtype.name)
        shape = (dims[2], dims[1], dims[0]) + ((components,) if kind == "vector" else ())
        segments = value.get("segments")
        if segments is not None:
            if kind != "label" or not isinstance(segments, list):
                raise _invalid("image: segments must be a list, on label images only")
            segments = [Segment.from_wire(s) for s in segments]
            if len({s.value for s in segments}) != len(segments):  # [IMG-6]
                raise _invalid("image: segment values must be unique")
        return cls(voxels.reshape(shape), matrix, space=space, kind=kind,
                   segments=segments or ())

    def __repr__(self) -> str:
        return (f"Image(dims={self.dims}, dtype={self.dtype}, components={self.components}, "
                f"kind={self.kind!r}, space={self.space!r})")


# ---------------------------------------------------------------------------------------------
# image_series (11.7, version 1.1)

SERIES_AXES = ("time", "echo_time", "b_value", "index")
_INCREASING_AXES = ("time", "echo_time", "index")


def _check_series_values(axis: str, values: np.ndarray, gradients: Optional[np.ndarray],
                         fail) -> None:
    """[SER-3] and [SER-4]; ``fail(message)`` returns the exception to raise."""
    if not np.all(np.isfinite(values)):
        raise fail("axis values must be finite")
    if axis in _INCREASING_AXES and np.any(np.diff(values) <= 0):
        raise fail(f"{axis} values must be strictly increasing")
    if axis == "echo_time" and np.any(values <= 0):
        raise fail("echo times must be > 0")
    if axis == "b_value" and np.any(values < 0):
        raise fail("b-values must be >= 0")
    if (gradients is None) != (axis != "b_value"):
        raise fail("a gradient belongs to every volume of a b_value series and to no other")
    if gradients is not None:
        if gradients.shape != (len(values), 3) or not np.all(np.isfinite(gradients)):
            raise fail("gradients must be 3 finite numbers per volume")
        lengths = np.linalg.norm(gradients, axis=1)
        zero_at_b0 = (lengths == 0) & (values == 0)
        if not np.all(zero_at_b0 | (np.abs(lengths - 1) <= 1e-6)):
            raise fail("a gradient must have unit length (or be zero at b = 0)")


class ImageSeries:
    """3-D volumes along a fourth axis, each with its own geometry [SER-1] [SER-2]: a time
    series, a diffusion acquisition or a multi-echo acquisition.

    ``voxels`` is indexed ``[v, k, j, i]`` (``[v, k, j, i, c]`` for vector series), volume v
    being ``voxels[v]``, laid out as an ``Image``'s voxels; this is also the memory order of the
    wire [SER-1] and of a 4-D NIfTI file. ``ijk_to_space`` has shape (n, 4, 4): one matrix per
    volume. ``values`` are the volumes' positions on ``axis`` in its unit (seconds for ``time``
    and ``echo_time``, s/mm^2 for ``b_value``, none for ``index``); ``gradients`` (n, 3), in
    ``space`` coordinates, belong to ``b_value`` series only."""

    type = "image_series"

    def __init__(self, voxels: np.ndarray, ijk_to_space: Any, values: Any, *,
                 axis: str = "time", gradients: Any = None, space: str = "RAS",
                 kind: str = "scalar", segments: Sequence[Segment] = ()):
        voxels = np.asarray(voxels)
        if kind not in IMAGE_KINDS:
            raise ValueError(f"kind must be one of {IMAGE_KINDS}")
        if axis not in SERIES_AXES:
            raise ValueError(f"axis must be one of {SERIES_AXES}")
        if kind == "vector" and voxels.ndim == 4:
            voxels = voxels[..., np.newaxis]
        expected_ndim = 5 if kind == "vector" else 4
        if voxels.ndim != expected_ndim:
            raise ValueError(f"a {kind} series needs a {expected_ndim}-D voxel array "
                             f"[v, k, j, i{', c' if kind == 'vector' else ''}]")
        count = voxels.shape[0]
        if count < 1:
            raise ValueError("a series holds at least one volume")
        matrices = np.array(ijk_to_space, dtype=np.float64)
        if matrices.shape == (4, 4):
            matrices = np.broadcast_to(matrices, (count, 4, 4)).copy()
        if matrices.shape != (count, 4, 4):
            raise ValueError("ijk_to_space must be one 4x4 matrix or one per volume")
        values = np.array(values, dtype=np.float64).reshape(-1)
        if values.shape != (count,):
            raise ValueError("values must hold one number per volume")
        gradients = None if gradients is None else np.array(gradients, dtype=np.float64)
        _check_series_values(axis, values, gradients, ValueError)
        # the per-volume rules of Image: dtype, kind, segments [SER-5]
        Image(voxels[0], matrices[0], space=space, kind=kind, segments=segments)
        self.voxels = voxels
        self.ijk_to_space = matrices
        self.values = values
        self.axis = axis
        self.gradients = gradients
        self.space = _check_space_argument(space)
        self.kind = kind
        self.segments = [Segment(*s) for s in segments]

    @classmethod
    def from_volumes(cls, volumes: Sequence[Image], values: Any, *, axis: str = "time",
                     gradients: Any = None) -> "ImageSeries":
        """A series of ``volumes``, which share dims, dtype, kind and space (copied into one
        array); each keeps its own matrix."""
        if not volumes:
            raise ValueError("a series holds at least one volume")
        first = volumes[0]
        for volume in volumes:
            if (volume.voxels.shape != first.voxels.shape or volume.voxels.dtype !=
                    first.voxels.dtype or volume.kind != first.kind or
                    volume.space != first.space):
                raise ValueError("volumes differ in dims, dtype, kind or space")
        return cls(np.stack([v.voxels for v in volumes]),
                   np.stack([v.ijk_to_space for v in volumes]), values, axis=axis,
                   gradients=gradients, space=first.space, kind=first.kind,
                   segments=first.segments)

    def __len__(self) -> int:
        return int(self.voxels.shape[0])

    @property
    def dims(self) -> tuple:
        """Voxel counts of every volume along i, j, k."""
        return (self.voxels.shape[3], self.voxels.shape[2], self.voxels.shape[1])

    @property
    def components(self) -> int:
        return self.voxels.shape[4] if self.voxels.ndim == 5 else 1

    @property
    def dtype(self) -> str:
        return self.voxels.dtype.name

    def volume(self, index: int) -> Image:
        """Volume ``index`` as an image with its own geometry (its voxels are a view)."""
        return Image(self.voxels[index], self.ijk_to_space[index], space=self.space,
                     kind=self.kind, segments=self.segments)

    def shares_geometry(self) -> bool:
        """Whether every volume has the same matrix exactly: only then may the series be held
        with one geometry (a 4-D NIfTI, a MultiVolume node) [SER-2]."""
        return bool(np.all(self.ijk_to_space == self.ijk_to_space[0]))

    def in_space(self, space: str) -> "ImageSeries":
        """The same series with every matrix and gradient expressed in ``space`` [SER-5]."""
        if _check_space_argument(space) == self.space:
            return self
        gradients = None if self.gradients is None else self.gradients * [-1.0, -1.0, 1.0] + 0.0
        return ImageSeries(self.voxels, _RAS_LPS_FLIP @ self.ijk_to_space, self.values,
                           axis=self.axis, gradients=gradients, space=space, kind=self.kind,
                           segments=self.segments)

    def to_wire(self) -> dict:
        wire = {"type": "image_series", "dims": list(self.dims)}
        wire.update(typed_array_to_wire(self.voxels, self.components, "image_series"))
        wire["space"] = self.space
        wire["kind"] = self.kind
        if self.segments:
            wire["segments"] = [s.to_wire() for s in self.segments]
        wire["axis"] = self.axis
        volumes = []
        for index in range(len(self)):
            volume = {"ijk_to_space": _matrix_to_wire(self.ijk_to_space[index]),
                      "value": float(self.values[index])}
            if self.gradients is not None:
                volume["gradient"] = [float(g) for g in self.gradients[index]]
            volumes.append(volume)
        wire["volumes"] = volumes
        return wire

    @classmethod
    def from_wire(cls, value: dict) -> "ImageSeries":
        what = "image_series"
        dims = _field(value, "dims", list, what)
        if len(dims) != 3 or not all(is_integer(d) and d >= 0 for d in dims):
            raise _invalid(f"{what}: dims must be 3 integers >= 0", key="dims")
        kind = _field(value, "kind", str, what)
        if kind not in IMAGE_KINDS:
            raise _invalid(f"{what}: unknown kind", kind=kind)
        space = _space(value, what)
        axis = _field(value, "axis", str, what)
        if axis not in SERIES_AXES:  # [SER-3]
            raise _invalid(f"{what}: unknown axis", axis=axis)
        volumes = _field(value, "volumes", list, what)
        if not volumes:  # [SER-1]
            raise _invalid(f"{what}: a series holds at least one volume", key="volumes")
        matrices, values, gradients = [], [], []
        for volume in volumes:
            if not isinstance(volume, dict):
                raise _invalid(f"{what}: a volume is not a map", key="volumes")
            matrix = _matrix_from_wire(volume, "ijk_to_space", f"{what} volume")
            _check_affine(matrix, f"{what} volume ijk_to_space", invertible=True)  # [SER-2]
            matrices.append(matrix)
            number = _field(volume, "value", (int, float), f"{what} volume")
            values.append(float(number))
            if "gradient" in volume:
                gradient = _field(volume, "gradient", list, f"{what} volume")
                if len(gradient) != 3 or not all(is_number(g) for g in gradient):
                    raise _invalid(f"{what}: a gradient is 3 numbers", key="gradient")
                gradients.append([float(g) for g in gradient])
        if gradients and len(gradients) != len(volumes):
            raise _invalid(f"{what}: a gradient belongs to every volume of a b_value series "
                           "and to no other")  # [SER-4]
        gradient_array = np.array(gradients, dtype=np.float64) if gradients else None
        _check_series_values(axis, np.array(values), gradient_array,
                             lambda message: _invalid(f"{what}: {message}"))
        components = _field(value, "components", int, what, required=False, default=1)
        if kind != "vector" and components != 1:  # [SER-5]
            raise _invalid(f"{what}: a {kind} series has 1 component")
        count = dims[0] * dims[1] * dims[2] * len(volumes)
        voxels = typed_array_from_wire(value, what, count=count)  # [SER-1]
        if kind == "label" and voxels.dtype.kind not in "iu":
            raise _invalid(f"{what}: a label series has an integer dtype",
                           dtype=voxels.dtype.name)
        shape = (len(volumes), dims[2], dims[1], dims[0]) + (
            (components,) if kind == "vector" else ())
        segments = value.get("segments")
        if segments is not None:
            if kind != "label" or not isinstance(segments, list):
                raise _invalid(f"{what}: segments must be a list, on label series only")
            segments = [Segment.from_wire(s) for s in segments]
            if len({s.value for s in segments}) != len(segments):
                raise _invalid(f"{what}: segment values must be unique")
        return cls(voxels.reshape(shape), np.stack(matrices), values, axis=axis,
                   gradients=gradient_array, space=space, kind=kind, segments=segments or ())

    def __repr__(self) -> str:
        return (f"ImageSeries(volumes={len(self)}, axis={self.axis!r}, dims={self.dims}, "
                f"dtype={self.dtype}, kind={self.kind!r}, space={self.space!r})")


# ---------------------------------------------------------------------------------------------
# mesh (11.2)

CELL_TYPES = ("verts", "lines", "polys", "strips")


class CellArray(NamedTuple):
    """Cells as in VTK 9: ``offsets`` (cells + 1 values) and ``connectivity`` (point indices)."""

    offsets: np.ndarray
    connectivity: np.ndarray

    @classmethod
    def from_cells(cls, cells: Sequence[Sequence[int]]) -> "CellArray":
        sizes = [len(c) for c in cells]
        offsets = np.zeros(len(cells) + 1, dtype=np.int64)
        np.cumsum(sizes, out=offsets[1:])
        connectivity = np.fromiter((i for c in cells for i in c), dtype=np.int64,
                                   count=int(offsets[-1]))
        return cls(offsets, connectivity)

    @property
    def cell_count(self) -> int:
        return len(self.offsets) - 1

    def cells(self) -> List[np.ndarray]:
        return [self.connectivity[a:b] for a, b in zip(self.offsets[:-1], self.offsets[1:])]

    def check(self, point_count: int, what: str) -> None:
        """[MESH-1]: offsets start at 0, never decrease, end at the connectivity length, and
        every index names a point."""
        offsets, connectivity = self.offsets, self.connectivity
        if len(offsets) < 1 or offsets[0] != 0 or offsets[-1] != len(connectivity):
            raise _invalid(f"{what}: offsets must start at 0 and end at the connectivity length")
        if np.any(np.diff(offsets) < 0):
            raise _invalid(f"{what}: offsets decrease")
        if len(connectivity) and (connectivity.min() < 0 or connectivity.max() >= point_count):
            raise _invalid(f"{what}: connectivity holds an invalid point index")


class Mesh:
    """A surface or line mesh (vtkPolyData): points, optional cells, point and cell arrays."""

    type = "mesh"

    def __init__(self, points: np.ndarray, *, space: str = "RAS",
                 verts: Optional[CellArray] = None, lines: Optional[CellArray] = None,
                 polys: Optional[CellArray] = None, strips: Optional[CellArray] = None,
                 point_data: Optional[Dict[str, np.ndarray]] = None,
                 cell_data: Optional[Dict[str, np.ndarray]] = None):
        points = np.asarray(points)
        if points.ndim != 2 or points.shape[1] != 3 or points.dtype.name not in ("float32",
                                                                                 "float64"):
            raise ValueError("mesh points must be an (n, 3) float32 or float64 array")
        self.points = points
        self.space = _check_space_argument(space)
        self.verts, self.lines, self.polys, self.strips = (
            None if c is None else CellArray(np.asarray(c[0], dtype=np.int64),
                                             np.asarray(c[1], dtype=np.int64))
            for c in (verts, lines, polys, strips))
        self.point_data = dict(point_data or {})
        self.cell_data = dict(cell_data or {})
        for name, array in self.cell_arrays().items():
            array.check(len(points), f"mesh {name}")
        for name, array in self.point_data.items():
            if len(array) != len(points):
                raise ValueError(f"point data {name!r} needs one tuple per point")
        for name, array in self.cell_data.items():
            if len(array) != self.cell_count:
                raise ValueError(f"cell data {name!r} needs one tuple per cell")

    def cell_arrays(self) -> Dict[str, CellArray]:
        return {name: getattr(self, name) for name in CELL_TYPES
                if getattr(self, name) is not None}

    @property
    def cell_count(self) -> int:
        return sum(c.cell_count for c in self.cell_arrays().values())

    def in_space(self, space: str) -> "Mesh":
        """The mesh in ``space``: x and y negated, cells and winding kept [MESH-3]."""
        if _check_space_argument(space) == self.space:
            return self
        flipped = self.points * np.array([-1, -1, 1], dtype=self.points.dtype)
        return Mesh(flipped, space=space, point_data=self.point_data,
                    cell_data=self.cell_data, **self.cell_arrays())

    def to_wire(self) -> dict:
        wire: dict = {"type": "mesh", "space": self.space,
                      "points": typed_array_to_wire(self.points, 3, "mesh points")}
        for name, cells in self.cell_arrays().items():
            wire[name] = {
                "offsets": typed_array_to_wire(cells.offsets, 1, f"mesh {name}"),
                "connectivity": typed_array_to_wire(cells.connectivity, 1, f"mesh {name}")}
        for key, arrays in (("point_data", self.point_data), ("cell_data", self.cell_data)):
            if arrays:
                wire[key] = [{"name": name,
                              **typed_array_to_wire(array, _tuple_size(array), key)}
                             for name, array in arrays.items()]
        return wire

    @classmethod
    def from_wire(cls, value: dict) -> "Mesh":
        what = "mesh"
        space = _space(value, what)
        points = typed_array_from_wire(_field(value, "points", dict, what), "mesh points",
                                       dtypes=("float32", "float64"), components=3)
        points = points.reshape(-1, 3)
        cells = {}
        for name in CELL_TYPES:
            cell_value = _field(value, name, dict, what, required=False)
            if cell_value is not None:
                arrays = [typed_array_from_wire(_field(cell_value, part, dict, f"mesh {name}"),
                                                f"mesh {name} {part}", dtypes=("int64",),
                                                components=1)
                          for part in ("offsets", "connectivity")]
                cells[name] = CellArray(*arrays)  # checked by the constructor [MESH-1]
        named = {}
        for key in ("point_data", "cell_data"):
            entries = _field(value, key, list, what, required=False, default=[])
            named[key] = {}
            for entry in entries:
                if not isinstance(entry, dict):
                    raise _invalid(f"mesh {key}: entry is not a map")
                name = _field(entry, "name", str, f"mesh {key}")
                if name in named[key]:
                    raise _invalid(f"mesh {key}: duplicate name", name=name)
                named[key][name] = typed_array_from_wire(entry, f"mesh {key} {name}")
        cell_count = sum(c.cell_count for c in cells.values())
        for key, count in (("point_data", len(points)), ("cell_data", cell_count)):
            for name, array in named[key].items():  # [MESH-2]
                if len(array) != count:
                    raise _invalid(f"mesh {key}: wrong number of tuples", name=name)
        return cls(points, space=space, point_data=named["point_data"],
                   cell_data=named["cell_data"], **cells)

    def __repr__(self) -> str:
        return f"Mesh(points={len(self.points)}, cells={self.cell_count}, space={self.space!r})"


# ---------------------------------------------------------------------------------------------
# transform (11.3)

class Transform:
    """A linear transform from the child to the parent coordinate system [XFM-1]."""

    type = "transform"

    def __init__(self, matrix: Any = None, *, space: str = "RAS"):
        self.matrix = np.eye(4) if matrix is None else _as_matrix(matrix, "transform matrix")
        self.space = _check_space_argument(space)

    def in_space(self, space: str) -> "Transform":
        """``T_lps = F T_ras F`` with ``F = diag(-1, -1, 1, 1)`` [XFM-1]."""
        if _check_space_argument(space) == self.space:
            return self
        return Transform(_RAS_LPS_FLIP @ self.matrix @ _RAS_LPS_FLIP, space=space)

    def to_wire(self) -> dict:
        return {"type": "transform", "matrix": _matrix_to_wire(self.matrix),
                "space": self.space, "direction": "to_parent"}

    @classmethod
    def from_wire(cls, value: dict) -> "Transform":
        what = "transform"
        matrix = _matrix_from_wire(value, "matrix", what)
        _check_affine(matrix, what, invertible=False)
        space = _space(value, what)
        if _field(value, "direction", str, what) != "to_parent":
            raise _invalid("transform: direction must be to_parent", key="direction")
        return cls(matrix, space=space)

    def __repr__(self) -> str:
        return f"Transform(space={self.space!r})"


# ---------------------------------------------------------------------------------------------
# points (11.4)

class PointList:
    """Named points (a markups point list): an (n, 3) float64 array and optional labels."""

    type = "points"

    def __init__(self, points: Any, labels: Optional[Sequence[str]] = None, *,
                 space: str = "RAS"):
        points = np.asarray(points, dtype=np.float64)
        if points.size == 0:
            points = points.reshape(0, 3)
        if points.ndim != 2 or points.shape[1] != 3:
            raise ValueError("points must be an (n, 3) array")
        if labels is not None:
            labels = list(labels)
            if len(labels) != len(points) or not all(isinstance(x, str) for x in labels):
                raise ValueError("labels must be one string per point")
        self.points = points
        self.labels = labels
        self.space = _check_space_argument(space)

    def in_space(self, space: str) -> "PointList":
        if _check_space_argument(space) == self.space:
            return self
        return PointList(self.points * np.array([-1.0, -1.0, 1.0]), self.labels, space=space)

    def to_wire(self) -> dict:
        wire = {"type": "points", "space": self.space,
                "points": typed_array_to_wire(self.points, 3, "points")}
        if self.labels is not None:
            wire["labels"] = list(self.labels)
        return wire

    @classmethod
    def from_wire(cls, value: dict) -> "PointList":
        what = "points"
        space = _space(value, what)
        points = typed_array_from_wire(_field(value, "points", dict, what), what,
                                       dtypes=("float64",), components=3).reshape(-1, 3)
        labels = _field(value, "labels", list, what, required=False)
        if labels is not None and (len(labels) != len(points)
                                   or not all(isinstance(x, str) for x in labels)):
            raise _invalid("points: labels must hold one string per point")  # [PTS-1]
        return cls(points, labels, space=space)

    def __repr__(self) -> str:
        return f"PointList(points={len(self.points)}, space={self.space!r})"


# ---------------------------------------------------------------------------------------------
# table (11.5)

Column = Union[np.ndarray, List[str]]


class Table:
    """Named columns of equal length: numeric arrays, booleans (a numpy bool array) or strings
    (a list of str) [TBL-1]."""

    type = "table"

    def __init__(self, columns: Optional[Dict[str, Any]] = None):
        self.columns: Dict[str, Column] = {}
        for name, column in (columns or {}).items():
            self.columns[name] = _column(column, name)
        if len({len(c) for c in self.columns.values()}) > 1:
            raise ValueError("table columns must have the same number of rows")

    @property
    def row_count(self) -> int:
        return len(next(iter(self.columns.values()))) if self.columns else 0

    def to_wire(self) -> dict:
        columns = []
        for name, column in self.columns.items():
            if isinstance(column, list):
                columns.append({"name": name, "dtype": "string", "values": column})
            elif column.dtype == np.bool_:
                columns.append({"name": name, "dtype": "bool",
                                "values": [bool(x) for x in column]})
            else:
                columns.append({"name": name, **typed_array_to_wire(column, 1, "column")})
        return {"type": "table", "columns": columns}

    @classmethod
    def from_wire(cls, value: dict) -> "Table":
        what = "table"
        columns: Dict[str, Column] = {}
        for entry in _field(value, "columns", list, what):
            if not isinstance(entry, dict):
                raise _invalid("table: column is not a map")
            name = _field(entry, "name", str, "table column")
            if name in columns:
                raise _invalid("table: duplicate column name", name=name)
            dtype = _field(entry, "dtype", str, "table column")
            if dtype == "string":
                values = _field(entry, "values", list, "table column")
                if not all(isinstance(x, str) for x in values):
                    raise _invalid("table: string column holds a non-string", name=name)
                columns[name] = values
            elif dtype == "bool":
                values = _field(entry, "values", list, "table column")
                if not all(isinstance(x, bool) for x in values):
                    raise _invalid("table: bool column holds a non-bool", name=name)
                columns[name] = np.array(values, dtype=np.bool_)
            else:
                columns[name] = typed_array_from_wire(entry, f"table column {name}",
                                                      components=1)
        if len({len(c) for c in columns.values()}) > 1:
            raise _invalid("table: columns differ in length")
        table = cls()
        table.columns = columns
        return table

    def __repr__(self) -> str:
        return f"Table(columns={list(self.columns)}, rows={self.row_count})"


def _column(column: Any, name: str) -> Column:
    if isinstance(column, np.ndarray):
        if column.dtype != np.bool_:
            _wire_dtype(column, f"column {name}")
        if column.ndim != 1:
            raise ValueError(f"column {name!r} must be 1-D")
        return column
    values = list(column)
    if values and all(isinstance(x, str) for x in values):
        return values
    if values and all(isinstance(x, (bool, np.bool_)) for x in values):
        return np.array(values, dtype=np.bool_)
    array = np.asarray(values)
    if not values:
        array = array.astype(np.float64)
    return _column(array, name)


# ---------------------------------------------------------------------------------------------

DATA_TYPES = {cls.type: cls for cls in (Image, Mesh, Transform, PointList, Table, ImageSeries)}
DataValue = Union[Image, Mesh, Transform, PointList, Table, ImageSeries]
IMAGE_SERIES_VERSION = (1, 1)  # a 1.0 peer never sees an image_series [SER-6]


def data_from_wire(value: Any) -> DataValue:
    """The data object for a wire map; an unknown ``type`` is ``invalid_argument`` [DATA-1]."""
    if not isinstance(value, dict):
        raise _invalid("data value is not a map")
    kind = value.get("type")
    cls = DATA_TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise _invalid("unknown data type", type=kind if isinstance(kind, str) else None)
    return cls.from_wire(value)


def data_to_wire(value: DataValue) -> dict:
    if not isinstance(value, tuple(DATA_TYPES.values())):
        raise TypeError(f"{type(value).__name__} is not a SlicerBridge data type")
    return value.to_wire()
