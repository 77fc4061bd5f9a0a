"""Data values of spec section 11 and catalog descriptions of section 10: builders that make test
inputs, and checkers that judge what an implementation returns."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import spec_tools
from .wire import Bulk, BulkData, is_integer, is_number

DTYPES = {"int8": "i1", "uint8": "u1", "int16": "i2", "uint16": "u2", "int32": "i4",
          "uint32": "u4", "int64": "i8", "uint64": "u8", "float32": "f4", "float64": "f8"}
DATA_TYPES = ("image", "mesh", "transform", "points", "table")
IMAGE_KINDS = ("scalar", "label", "vector")
SPACES = ("RAS", "LPS")
CELL_KINDS = ("verts", "lines", "polys", "strips")
FLIP = np.diag([-1.0, -1.0, 1.0, 1.0])


def numpy_dtype(dtype: str, byte_order: str = "little") -> np.dtype:
    return np.dtype(DTYPES[dtype]).newbyteorder("<" if byte_order == "little" else ">")


def sample_values(dtype: str, count: int, seed: int) -> np.ndarray:
    """Values covering the dtype's whole range, including the extremes and, for floats,
    -0.0, infinities, NaN and subnormals (an echo must keep every bit)."""
    rng = np.random.default_rng(seed)
    native = np.dtype(DTYPES[dtype])
    if native.kind == "f":
        values = rng.standard_normal(count).astype(native) * native.type(1000)
        specials = [-0.0, math.inf, -math.inf, math.nan, np.finfo(native).tiny / 2,
                    np.finfo(native).max, np.finfo(native).min]
        values[:min(count, len(specials))] = specials[:count]
        return values
    info = np.iinfo(native)
    values = rng.integers(info.min, info.max, size=count, dtype=native, endpoint=True)
    values[:min(count, 2)] = [info.min, info.max][:count]
    return values


def oblique_matrix(space: str = "RAS") -> list[float]:
    """An oblique voxel-to-space matrix (rotated about two axes, anisotropic spacing)."""
    a, b = math.radians(17.0), math.radians(-31.0)
    rot_z = np.array([[math.cos(a), -math.sin(a), 0], [math.sin(a), math.cos(a), 0], [0, 0, 1]])
    rot_x = np.array([[1, 0, 0], [0, math.cos(b), -math.sin(b)], [0, math.sin(b), math.cos(b)]])
    matrix = np.eye(4)
    matrix[:3, :3] = rot_z @ rot_x @ np.diag([0.7, 1.3, 2.5])
    matrix[:3, 3] = [-112.25, 37.5, 1021.125]
    if space == "LPS":
        matrix = FLIP @ matrix
    return [float(value) for value in matrix.reshape(-1)]


def typed_array(values: np.ndarray, dtype: str, components: int = 1, byte_order: str = "little",
                codec: str | None = None) -> dict:
    data = np.ascontiguousarray(values, dtype=numpy_dtype(dtype, byte_order)).tobytes()
    return {"dtype": dtype, "components": components, "byte_order": byte_order,
            "data": Bulk(data, codec=codec)}


def make_image(dtype: str = "int16", dims: tuple = (5, 4, 3), components: int = 1,
               kind: str = "scalar", space: str = "RAS", byte_order: str = "little", seed: int = 1,
               codec: str | None = None, values: np.ndarray | None = None) -> dict:
    count = dims[0] * dims[1] * dims[2] * components
    if values is None:
        values = sample_values(dtype, count, seed)
    image = {"type": "image", "dims": list(dims),
             **typed_array(values, dtype, components, byte_order, codec),
             "ijk_to_space": oblique_matrix(space), "space": space, "kind": kind}
    if kind == "label":
        image["segments"] = [{"value": 1, "name": "liver", "color": [0.8, 0.2, 0.1]},
                             {"value": 2, "name": "spleen", "color": [0.1, 0.5, 1.0]}]
    return image


def make_image_series(space: str = "LPS", seed: int = 6) -> dict:
    """A float32 diffusion series of 3 volumes (spec 11.7, 1.1) whose third volume is shifted:
    b = 0 and two unit gradients, a geometry per volume [SER-2] [SER-4]."""
    dims = (4, 3, 2)
    values = sample_values("float32", dims[0] * dims[1] * dims[2] * 3, seed)
    matrix = oblique_matrix(space)
    moved = list(matrix)
    moved[3] += 1.5
    gradients = [[0.0, 0.0, 0.0], [0.0, 0.6, 0.8], [-1.0, 0.0, 0.0]]
    return {"type": "image_series", "dims": list(dims), **typed_array(values, "float32"),
            "space": space, "kind": "scalar", "axis": "b_value",
            "volumes": [{"ijk_to_space": m, "value": b, "gradient": g}
                        for m, b, g in zip([matrix, matrix, moved], [0.0, 1000.0, 1000.0],
                                           gradients)]}


def make_mesh(space: str = "RAS", points_dtype: str = "float64", seed: int = 2) -> dict:
    rng = np.random.default_rng(seed)
    point_count = 9
    points = rng.uniform(-100, 100, size=point_count * 3)

    def cells(offsets: list[int], connectivity: list[int]) -> dict:
        return {"offsets": typed_array(np.array(offsets), "int64"),
                "connectivity": typed_array(np.array(connectivity), "int64")}

    return {"type": "mesh", "space": space, "points": typed_array(points, points_dtype, 3),
            "verts": cells([0, 1, 2], [0, 8]),
            "lines": cells([0, 3], [1, 2, 3]),
            "polys": cells([0, 3, 7], [0, 1, 2, 3, 4, 5, 6]),
            "strips": cells([0, 4], [5, 6, 7, 8]),
            "point_data": [{"name": "curvature", **typed_array(rng.standard_normal(point_count), "float32")},
                           {"name": "normals", **typed_array(rng.standard_normal(point_count * 3), "float64", 3)}],
            "cell_data": [{"name": "region", **typed_array(np.array([3, 1, 4, 1, 5, 9]), "int32")}]}


def make_transform(space: str = "RAS") -> dict:
    matrix = np.array(oblique_matrix("RAS")).reshape(4, 4)
    if space == "LPS":
        matrix = FLIP @ matrix @ FLIP
    return {"type": "transform", "matrix": [float(v) for v in matrix.reshape(-1)], "space": space,
            "direction": "to_parent"}


def make_points(space: str = "RAS", seed: int = 3) -> dict:
    rng = np.random.default_rng(seed)
    return {"type": "points", "space": space, "points": typed_array(rng.uniform(-50, 50, 12), "float64", 3),
            "labels": ["F-1", "F-2", "apex", ""]}


def make_table(seed: int = 4) -> dict:
    rng = np.random.default_rng(seed)
    return {"type": "table", "columns": [
        {"name": "label", **typed_array(np.array([1, 2, 7]), "int32")},
        {"name": "volume_mm3", **typed_array(rng.uniform(0, 1e5, 3), "float64")},
        {"name": "name", "dtype": "string", "values": ["liver", "spleen", "k\u00e9rn \u2603"]},
        {"name": "checked", "dtype": "bool", "values": [True, False, True]}]}


# ---------------------------------------------------------------------------------------------
# Comparing what came back with what was sent


class Mismatch(Exception):
    pass


def _bulk_bytes(value: Any, where: str) -> bytes:
    if isinstance(value, BulkData):
        return value.data
    if isinstance(value, Bulk):
        return value.data
    raise Mismatch(f"{where}: expected a bulk reference, got {type(value).__name__}")


def array_values(array: Any, where: str) -> tuple[str, int, np.ndarray]:
    """A typed array's dtype, components and values in little-endian order, byte order resolved."""
    if not isinstance(array, dict):
        raise Mismatch(f"{where}: expected a typed array map")
    dtype = array.get("dtype")
    if dtype not in DTYPES:
        raise Mismatch(f"{where}: dtype {dtype!r}")
    components = array.get("components", 1)
    byte_order = array.get("byte_order", "little")
    if byte_order not in ("little", "big"):
        raise Mismatch(f"{where}: byte_order {byte_order!r}")
    data = _bulk_bytes(array.get("data"), f"{where}.data")
    source = numpy_dtype(dtype, byte_order)
    if len(data) % source.itemsize:
        raise Mismatch(f"{where}: {len(data)} bytes is not a whole number of {dtype}")
    values = np.frombuffer(data, dtype=source).astype(numpy_dtype(dtype, "little"))
    return dtype, components, values


def _same_array(sent: Any, got: Any, where: str) -> None:
    sent_dtype, sent_components, sent_values = array_values(sent, where)
    got_dtype, got_components, got_values = array_values(got, where)
    if (sent_dtype, sent_components) != (got_dtype, got_components):
        raise Mismatch(f"{where}: sent {sent_dtype} x{sent_components}, got {got_dtype} x{got_components}")
    if sent_values.tobytes() != got_values.tobytes():
        differing = int(np.count_nonzero(sent_values.view(np.uint8) != got_values.view(np.uint8))) \
            if sent_values.nbytes == got_values.nbytes else None
        detail = f"{differing} bytes differ" if differing is not None else \
            f"{sent_values.nbytes} bytes sent, {got_values.nbytes} received"
        raise Mismatch(f"{where}: values differ ({detail})")


def _matrix(value: Any, where: str) -> np.ndarray:
    if not (isinstance(value, list) and len(value) == 16 and all(is_number(v) for v in value)):
        raise Mismatch(f"{where}: expected 16 numbers")
    return np.array(value, dtype=np.float64).reshape(4, 4)


def _space(value: dict, where: str) -> str:
    space = value.get("space")
    if space not in SPACES:
        raise Mismatch(f"{where}.space: {space!r}")
    return space


def _same_floats(sent: np.ndarray, got: np.ndarray, where: str) -> None:
    if sent.tobytes() != got.tobytes():
        raise Mismatch(f"{where}: differs (sent {sent.reshape(-1).tolist()}, got {got.reshape(-1).tolist()})")


def compare_data(sent: dict, got: Any, where: str = "output") -> None:
    """Raises Mismatch unless `got` carries exactly the data of `sent` [IMG-5]: same values, same
    geometry; a change of space (RAS/LPS) is accepted only as the exact conversion of the spec."""
    if not isinstance(got, dict):
        raise Mismatch(f"{where}: expected a data value map, got {type(got).__name__}")
    kind = sent["type"]
    if got.get("type") != kind:
        raise Mismatch(f"{where}.type: sent {kind!r}, got {got.get('type')!r}")
    if kind == "image":
        _compare_image(sent, got, where)
    elif kind == "image_series":
        _compare_image_series(sent, got, where)
    elif kind == "mesh":
        _compare_mesh(sent, got, where)
    elif kind == "transform":
        matrix = _matrix(got.get("matrix"), f"{where}.matrix")
        if _space(got, where) != sent["space"]:
            matrix = FLIP @ matrix @ FLIP
        _same_floats(np.array(sent["matrix"]).reshape(4, 4), matrix, f"{where}.matrix")
        if got.get("direction") != sent["direction"]:
            raise Mismatch(f"{where}.direction: {got.get('direction')!r}")
    elif kind == "points":
        _compare_points(sent, got, where)
    elif kind == "table":
        _compare_table(sent, got, where)


def _compare_image(sent: dict, got: dict, where: str) -> None:
    for key in ("dims", "kind"):
        if got.get(key) != sent[key]:
            raise Mismatch(f"{where}.{key}: sent {sent[key]!r}, got {got.get(key)!r}")
    if got.get("segments", []) != sent.get("segments", []):
        raise Mismatch(f"{where}.segments differ")
    matrix = _matrix(got.get("ijk_to_space"), f"{where}.ijk_to_space")
    if _space(got, where) != sent["space"]:
        matrix = FLIP @ matrix
    _same_floats(np.array(sent["ijk_to_space"]).reshape(4, 4), matrix, f"{where}.ijk_to_space")
    _same_array(sent, got, f"{where} voxels")


def _compare_image_series(sent: dict, got: dict, where: str) -> None:
    """Voxels, axis, values, and every volume's matrix and gradient, the latter two converted
    exactly when the space changed [SER-5]."""
    for key in ("dims", "kind", "axis"):
        if got.get(key) != sent[key]:
            raise Mismatch(f"{where}.{key}: sent {sent[key]!r}, got {got.get(key)!r}")
    volumes = got.get("volumes")
    if not isinstance(volumes, list) or len(volumes) != len(sent["volumes"]):
        raise Mismatch(f"{where}.volumes: expected {len(sent['volumes'])} volumes")
    flipped = _space(got, where) != sent["space"]
    for index, (mine, theirs) in enumerate(zip(sent["volumes"], volumes)):
        at = f"{where}.volumes[{index}]"
        if not isinstance(theirs, dict):
            raise Mismatch(f"{at}: expected a map")
        matrix = _matrix(theirs.get("ijk_to_space"), f"{at}.ijk_to_space")
        _same_floats(np.array(mine["ijk_to_space"]).reshape(4, 4),
                     FLIP @ matrix if flipped else matrix, f"{at}.ijk_to_space")
        if theirs.get("value") != mine["value"]:
            raise Mismatch(f"{at}.value: sent {mine['value']!r}, got {theirs.get('value')!r}")
        if "gradient" in mine:
            gradient = np.array(theirs.get("gradient", []), dtype=np.float64)
            if gradient.shape != (3,):
                raise Mismatch(f"{at}.gradient: expected 3 numbers")
            if flipped:
                gradient = gradient * [-1.0, -1.0, 1.0]
            _same_floats(np.array(mine["gradient"]), gradient, f"{at}.gradient")
    _same_array(sent, got, f"{where} voxels")


def _flip_points(values: np.ndarray) -> np.ndarray:
    flipped = values.copy().reshape(-1, 3)
    flipped[:, :2] = -flipped[:, :2]
    return flipped.reshape(-1)


def _compare_point_array(sent: dict, got: dict, where: str, same_space: bool) -> None:
    sent_dtype, _, sent_values = array_values(sent["points"], f"{where}.points")
    got_dtype, got_components, got_values = array_values(got.get("points"), f"{where}.points")
    if (got_dtype, got_components) != (sent_dtype, 3):
        raise Mismatch(f"{where}.points: got {got_dtype} x{got_components}")
    if not same_space:
        got_values = _flip_points(got_values)
    if sent_values.tobytes() != got_values.tobytes():
        raise Mismatch(f"{where}.points: coordinates differ")


def _compare_mesh(sent: dict, got: dict, where: str) -> None:
    _compare_point_array(sent, got, where, _space(got, where) == sent["space"])
    for cell_kind in CELL_KINDS:
        if cell_kind not in sent:
            if got.get(cell_kind) not in (None, {}):
                _, _, offsets = array_values(got[cell_kind].get("offsets"), f"{where}.{cell_kind}")
                if len(offsets) > 1:
                    raise Mismatch(f"{where}.{cell_kind}: cells appeared")
            continue
        cells = got.get(cell_kind)
        if not isinstance(cells, dict):
            raise Mismatch(f"{where}.{cell_kind}: missing")
        for part in ("offsets", "connectivity"):
            _same_array(sent[cell_kind][part], cells.get(part), f"{where}.{cell_kind}.{part}")
    for section in ("point_data", "cell_data"):
        sent_arrays = {array["name"]: array for array in sent.get(section, [])}
        got_list = got.get(section, [])
        if not isinstance(got_list, list):
            raise Mismatch(f"{where}.{section}: not an array")
        got_arrays = {array.get("name"): array for array in got_list if isinstance(array, dict)}
        if set(got_arrays) != set(sent_arrays):
            raise Mismatch(f"{where}.{section}: names {sorted(map(str, got_arrays))}, sent {sorted(sent_arrays)}")
        for name, array in sent_arrays.items():
            _same_array(array, got_arrays[name], f"{where}.{section}[{name}]")


def _compare_points(sent: dict, got: dict, where: str) -> None:
    _compare_point_array(sent, got, where, _space(got, where) == sent["space"])
    if got.get("labels") != sent.get("labels"):
        raise Mismatch(f"{where}.labels: sent {sent.get('labels')!r}, got {got.get('labels')!r}")


def _compare_table(sent: dict, got: dict, where: str) -> None:
    columns = got.get("columns")
    if not isinstance(columns, list) or len(columns) != len(sent["columns"]):
        raise Mismatch(f"{where}.columns: expected {len(sent['columns'])} columns")
    for sent_column, got_column in zip(sent["columns"], columns):
        name = sent_column["name"]
        if not isinstance(got_column, dict) or got_column.get("name") != name:
            raise Mismatch(f"{where}.columns: expected column {name!r} in its place")
        if sent_column["dtype"] in ("string", "bool"):
            if got_column.get("dtype") != sent_column["dtype"] or got_column.get("values") != sent_column["values"]:
                raise Mismatch(f"{where}.columns[{name}]: values differ")
        else:
            _same_array(sent_column, got_column, f"{where}.columns[{name}]")


def check_data_type(value: Any, slot_type: str) -> str | None:
    """A problem with an output's declared type [INV-4], or None."""
    if not isinstance(value, dict) or value.get("type") != slot_type:
        found = value.get("type") if isinstance(value, dict) else type(value).__name__
        return f"expected a {slot_type} data value, got {found!r}"
    return None


# ---------------------------------------------------------------------------------------------
# Catalog descriptions (section 10)

_DESCRIPTION_STRINGS = ("version", "title", "description", "category")


def check_description(description: Any, version: tuple = (1, 0)) -> list[str]:
    """Problems with one processor description, as a peer of `version` receives it: the rules of
    section 10 that every receiver checks, as spec/tools/semantics.py reads them from
    spec/model.json ([CAT-3], [CAT-5], [CAT-6], [CAT-9], [CAT-11], the catalog vectors' rules),
    plus what a server owes its peer: every key of [CAT-6], and before 1.1 neither scalar outputs
    nor `idempotent` ([CAT-7], [CAT-8], [VER-4])."""
    name = description.get("name") if isinstance(description, dict) else None
    where = f"processor {name!r}"
    found = spec_tools.semantics.description_problems(spec_tools.MODEL, description)
    problems = [f"{where}: {message} [{requirement}]" for requirement, message in found]
    if not isinstance(description, dict):
        return problems
    for key in _DESCRIPTION_STRINGS:
        if key not in description:
            problems.append(f"{where}: {key} missing; a server sends it [CAT-6]")
    if version < (1, 1):
        if "idempotent" in description:
            problems.append(f"{where}: idempotent sent to a 1.0 peer [CAT-8] [VER-4]")
        for role in ("inputs", "outputs"):
            listed = description.get(role)
            for slot in listed if isinstance(listed, list) else []:
                if isinstance(slot, dict) and slot.get("type") == "image_series":
                    problems.append(f"{where}: image_series slot {slot.get('name')!r} sent to a "
                                    f"1.0 peer [SER-6] [VER-4]")
        outputs = description.get("outputs")
        for slot in outputs if isinstance(outputs, list) else []:
            if isinstance(slot, dict) and slot.get("type") not in DATA_TYPES + ("image_series",):
                problems.append(f"{where}: scalar output {slot.get('name')!r} sent to a 1.0 peer "
                                f"[CAT-7] [VER-4]")
    return problems


def slots(description: dict, section: str) -> list[dict]:
    return [slot for slot in description.get(section, []) if isinstance(slot, dict)]


def find_slot(description: dict, section: str, slot_type: str) -> dict | None:
    for slot in slots(description, section):
        if slot.get("type") == slot_type:
            return slot
    return None
