"""Images in files: NIfTI (with nibabel) and NRRD (a small, strict reader and writer here), and
tables as CSV, with the geometry kept exactly.

Geometry: NIfTI's affine maps voxel indices to RAS coordinates, so a NIfTI image is read as an
RAS image and an LPS image is converted on its matrix only when written (spec 11.1, [IMG-5]);
NIfTI stores the matrix as float32, so a float64 matrix keeps float32 precision. A NRRD file
names its space (``left-posterior-superior``, ``right-anterior-superior``; ``left-anterior-
superior`` is read as RAS with i flipped, and a file without a space is LPS, as ITK reads it) and
its directions and origin are written with every digit of a float64.

Voxel order: files store i fastest (NIfTI's arrays are indexed [i, j, k]); images here are
indexed [k, j, i] (see ``Image``).

Image series (spec 11.7): a 4-D NIfTI file holds one affine for every volume and a time step, so
``read_image_series`` gives every volume that affine, and ``write_image_series`` refuses a series
whose volumes differ in geometry [SER-2] or whose times are not equally spaced.
"""

from __future__ import annotations

import csv
import gzip
import os
import re
import sys
from typing import Dict, List, Optional, Tuple

import numpy as np

from .data import Image, ImageSeries, Table

_RAS_LPS_FLIP = np.diag([-1.0, -1.0, 1.0, 1.0])


class FileError(Exception):
    """A file that cannot be read or written; the message names it."""


def image_format(path: str) -> Optional[str]:
    lower = path.lower()
    if lower.endswith((".nii", ".nii.gz")):
        return "nifti"
    if lower.endswith((".nrrd", ".nhdr")):
        return "nrrd"
    return None


SUPPORTED = "NIfTI (.nii, .nii.gz; needs nibabel), NRRD (.nrrd, .nhdr with attached data); " \
            "image series: 4-D NIfTI; tables: CSV (.csv, or - for standard output)"


def read_image(path: str, kind: Optional[str] = None) -> Image:
    """Read an image; ``kind`` (``scalar``, ``label``, ``vector``) says how to read its voxels
    (by default: ``vector`` when they have components, else ``scalar``)."""
    form = image_format(path)
    if form is None:
        raise FileError(f"{path}: unknown image format (supported: {SUPPORTED})")
    if not os.path.isfile(path):
        raise FileError(f"{path}: no such file")
    voxels, matrix, space = _read_nifti(path) if form == "nifti" else _read_nrrd(path)
    if kind is None:
        kind = "vector" if voxels.ndim == 4 else "scalar"
    try:
        return Image(voxels, matrix, space=space, kind=kind)
    except ValueError as error:
        raise FileError(f"{path}: {error}") from None


def write_image(image: Image, path: str) -> None:
    form = image_format(path)
    if form is None:
        raise FileError(f"{path}: unknown image format (supported: {SUPPORTED})")
    try:
        if form == "nifti":
            _write_nifti(image, path)
        else:
            _write_nrrd(image, path)
    except OSError as error:
        raise FileError(f"{path}: {error.strerror or error}") from None


def write_table(table: Table, path: str) -> None:
    """A table as CSV (a header row of column names; vector columns as one column each
    component, ``name[0]``...); ``-`` is standard output."""
    names: List[str] = []
    columns: List[np.ndarray] = []
    for name, column in table.columns.items():
        values = np.asarray(column)
        if values.ndim == 2:
            for component in range(values.shape[1]):
                names.append(f"{name}[{component}]")
                columns.append(values[:, component])
        else:
            names.append(name)
            columns.append(values)
    rows = zip(*[c.tolist() for c in columns]) if columns else iter(())
    try:
        if path == "-":
            writer = csv.writer(sys.stdout, lineterminator="\n")
            writer.writerow(names)
            writer.writerows(rows)
            sys.stdout.flush()
            return
        with open(path, "w", newline="", encoding="utf-8") as file:
            writer = csv.writer(file, lineterminator="\n")
            writer.writerow(names)
            writer.writerows(rows)
    except OSError as error:
        raise FileError(f"{path}: {error.strerror or error}") from None


# -- NIfTI ---------------------------------------------------------------------------------------

def _nibabel():
    try:
        import nibabel
    except ImportError:
        raise FileError("NIfTI files need nibabel (pip install nibabel, or Debian's "
                        "python3-nibabel)") from None
    return nibabel


_NIFTI_DTYPES = ("int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64",
                 "float32", "float64")


def _read_nifti(path: str) -> Tuple[np.ndarray, np.ndarray, str]:
    nibabel = _nibabel()
    try:
        loaded = nibabel.load(path)
        data = np.asanyarray(loaded.dataobj)
    except Exception as error:  # nibabel raises many kinds for a bad file
        raise FileError(f"{path}: not a readable NIfTI file: {error}") from None
    if not isinstance(loaded, (nibabel.Nifti1Image, nibabel.Nifti2Image)):
        raise FileError(f"{path}: not a NIfTI image")
    if data.ndim == 5 and data.shape[3] == 1:  # NIfTI vectors: (i, j, k, t=1, c)
        data = data[:, :, :, 0, :]
    if data.ndim == 4 and data.shape[3] == 1:
        data = data[..., 0]
    if data.ndim == 2:
        data = data[..., np.newaxis]
    if data.ndim not in (3, 4):
        raise FileError(f"{path}: a {data.ndim}-D NIfTI image is not a 3-D image")
    if data.dtype.name not in _NIFTI_DTYPES:
        raise FileError(f"{path}: voxel type {data.dtype} is not supported")
    axes = (2, 1, 0) if data.ndim == 3 else (2, 1, 0, 3)
    voxels = np.ascontiguousarray(data.transpose(axes))  # [i, j, k] -> [k, j, i]
    return voxels, np.array(loaded.affine, dtype=np.float64), "RAS"


def _write_nifti(image: Image, path: str) -> None:
    nibabel = _nibabel()
    ras = image.in_space("RAS")
    voxels = ras.voxels
    if voxels.dtype.byteorder == ">":
        voxels = voxels.astype(voxels.dtype.newbyteorder("<"))  # same values
    axes = (2, 1, 0) if voxels.ndim == 3 else (2, 1, 0, 3)
    data = voxels.transpose(axes)
    if data.ndim == 4:  # NIfTI vectors go on the fifth axis
        data = data[:, :, :, np.newaxis, :]
    result = nibabel.Nifti1Image(data, ras.ijk_to_space)
    result.header.set_xyzt_units("mm")
    result.set_sform(ras.ijk_to_space, code=1)
    columns = ras.ijk_to_space[:3, :3] / np.linalg.norm(ras.ijk_to_space[:3, :3], axis=0)
    if np.allclose(columns.T @ columns, np.eye(3), atol=1e-6):
        result.set_qform(ras.ijk_to_space, code=1)  # the same matrix, as a rotation and sizes
    else:
        # A sheared grid has no qform; without one, every reader takes the sform (and none
        # takes an approximation of it).
        result.set_qform(None, code=0)
    if data.ndim == 5:
        result.header.set_intent("vector")
    nibabel.save(result, path)


_TIME_UNITS_PER_SECOND = {"sec": 1.0, "msec": 1e3, "usec": 1e6}


def read_image_series(path: str) -> ImageSeries:
    """A 4-D NIfTI file ([i, j, k, t]) as an image series (spec 11.7): every volume takes the
    file's affine; the values are ``toffset + t * pixdim[4]`` in seconds (axis ``time``) when
    the file's time unit is seconds, milliseconds or microseconds and the step is positive,
    else 0, 1, 2... (axis ``index``)."""
    if image_format(path) != "nifti":
        raise FileError(f"{path}: image series are read from NIfTI files (.nii, .nii.gz)")
    if not os.path.isfile(path):
        raise FileError(f"{path}: no such file")
    nibabel = _nibabel()
    try:
        loaded = nibabel.load(path)
        data = np.asanyarray(loaded.dataobj)
    except Exception as error:  # nibabel raises many kinds for a bad file
        raise FileError(f"{path}: not a readable NIfTI file: {error}") from None
    if not isinstance(loaded, (nibabel.Nifti1Image, nibabel.Nifti2Image)) or data.ndim != 4:
        raise FileError(f"{path}: not a 4-D NIfTI image")
    if data.dtype.name not in _NIFTI_DTYPES:
        raise FileError(f"{path}: voxel type {data.dtype} is not supported")
    count = data.shape[3]
    unit = loaded.header.get_xyzt_units()[1]
    step = float(loaded.header["pixdim"][4])
    if unit in _TIME_UNITS_PER_SECOND and step > 0:
        per_second = _TIME_UNITS_PER_SECOND[unit]
        offset = float(loaded.header["toffset"])
        axis, values = "time", [(offset + step * t) / per_second for t in range(count)]
    else:
        axis, values = "index", [float(t) for t in range(count)]
    voxels = np.ascontiguousarray(data.transpose(3, 2, 1, 0))  # [i, j, k, t] -> [t, k, j, i]
    try:
        return ImageSeries(voxels, np.array(loaded.affine, dtype=np.float64), values,
                           axis=axis, space="RAS")
    except ValueError as error:
        raise FileError(f"{path}: {error}") from None


def write_image_series(series: ImageSeries, path: str) -> None:
    """A time or index series as a 4-D NIfTI file: one affine for every volume and equally
    spaced values (``toffset`` and ``pixdim[4]`` in seconds). A series whose volumes differ in
    geometry is refused rather than given one volume's geometry [SER-2]; so are series with
    other axes or uneven steps, which the file cannot hold."""
    if image_format(path) != "nifti":
        raise FileError(f"{path}: image series are written to NIfTI files (.nii, .nii.gz)")
    if not series.shares_geometry():
        raise FileError(f"{path}: the volumes of this series differ in geometry, and a NIfTI "
                        f"file holds one for all of them [SER-2]")
    if series.axis not in ("time", "index") or series.kind == "vector":
        raise FileError(f"{path}: a NIfTI file holds scalar or label time and index series "
                        f"only")
    values = series.values
    step = float(values[1] - values[0]) if len(values) > 1 else 1.0
    if not np.array_equal(values, values[0] + step * np.arange(len(values))):
        raise FileError(f"{path}: a NIfTI file holds equally spaced times only")
    nibabel = _nibabel()
    ras = series.in_space("RAS")
    voxels = ras.voxels
    if voxels.dtype.byteorder == ">":
        voxels = voxels.astype(voxels.dtype.newbyteorder("<"))  # same values
    affine = ras.ijk_to_space[0]
    result = nibabel.Nifti1Image(voxels.transpose(3, 2, 1, 0), affine)
    result.header.set_xyzt_units("mm", "sec" if series.axis == "time" else "unknown")
    result.header["pixdim"][4] = step
    result.header["toffset"] = float(values[0])
    result.set_sform(affine, code=1)
    columns = affine[:3, :3] / np.linalg.norm(affine[:3, :3], axis=0)
    if np.allclose(columns.T @ columns, np.eye(3), atol=1e-6):
        result.set_qform(affine, code=1)
    else:
        result.set_qform(None, code=0)  # a sheared grid has no qform (see _write_nifti)
    try:
        nibabel.save(result, path)
    except OSError as error:
        raise FileError(f"{path}: {error.strerror or error}") from None


# -- NRRD ----------------------------------------------------------------------------------------

_NRRD_TYPES: Dict[str, str] = {}
for _names, _dtype in (
        (("signed char", "int8", "int8_t"), "int8"),
        (("uchar", "unsigned char", "uint8", "uint8_t"), "uint8"),
        (("short", "short int", "signed short", "signed short int", "int16", "int16_t"), "int16"),
        (("ushort", "unsigned short", "unsigned short int", "uint16", "uint16_t"), "uint16"),
        (("int", "signed int", "int32", "int32_t"), "int32"),
        (("uint", "unsigned int", "uint32", "uint32_t"), "uint32"),
        (("longlong", "long long", "long long int", "signed long long", "signed long long int",
          "int64", "int64_t"), "int64"),
        (("ulonglong", "unsigned long long", "unsigned long long int", "uint64", "uint64_t"),
         "uint64"),
        (("float",), "float32"), (("double",), "float64")):
    for _name in _names:
        _NRRD_TYPES[_name] = _dtype
_NRRD_WRITE_TYPES = {"int8": "int8", "uint8": "uint8", "int16": "short", "uint16": "ushort",
                     "int32": "int", "uint32": "uint", "int64": "longlong",
                     "uint64": "ulonglong", "float32": "float", "float64": "double"}
_VECTOR_KINDS = ("vector", "covariant-vector", "normal", "RGB-color", "RGBA-color",
                 "3-color", "4-color", "list", "point", "complex", "2-vector", "3-vector",
                 "4-vector", "3-gradient", "3-normal", "quaternion")


def _nrrd_space(name: str, path: str) -> Tuple[str, np.ndarray]:
    """Our space for the header's, and the flip that takes its coordinates there."""
    if name in ("right-anterior-superior", "RAS"):
        return "RAS", np.ones(3)
    if name in ("left-posterior-superior", "LPS"):
        return "LPS", np.ones(3)
    if name in ("left-anterior-superior", "LAS"):
        return "RAS", np.array([-1.0, 1.0, 1.0])
    raise FileError(f'{path}: unsupported NRRD space "{name}"')


def _nrrd_vector(text: str, path: str) -> Optional[np.ndarray]:
    text = text.strip()
    if text == "none":
        return None
    match = re.fullmatch(r"\(([^()]*)\)", text)
    if not match:
        raise FileError(f"{path}: bad NRRD vector {text!r}")
    try:
        values = np.array([float(v) for v in match.group(1).split(",")])
    except ValueError:
        raise FileError(f"{path}: bad NRRD vector {text!r}") from None
    if values.shape != (3,) or not np.all(np.isfinite(values)):
        raise FileError(f"{path}: a NRRD vector here has 3 finite numbers, not {text!r}")
    return values


def _read_nrrd(path: str) -> Tuple[np.ndarray, np.ndarray, str]:
    with open(path, "rb") as file:
        content = file.read()
    if not re.match(rb"NRRD000[1-5]\r?\n", content):
        raise FileError(f"{path}: not a NRRD file (no NRRD000N magic line)")
    end = re.search(rb"\r?\n\r?\n", content)
    if end is None:
        raise FileError(f"{path}: the NRRD header does not end with a blank line")
    fields: Dict[str, str] = {}
    for line in content[:end.start()].decode("latin-1").splitlines()[1:]:
        if not line or line.startswith("#") or ":=" in line.split(": ", 1)[0]:
            continue
        key, separator, value = line.partition(": ")
        if not separator:
            raise FileError(f"{path}: bad NRRD header line {line!r}")
        if key in fields:
            raise FileError(f"{path}: NRRD field {key!r} given twice")
        fields[key] = value.strip()
    for key in ("data file", "datafile"):
        if key in fields:
            raise FileError(f"{path}: detached NRRD data ({key}) is not supported; "
                            "use a .nrrd file with attached data")
    for key in ("type", "dimension", "sizes", "encoding"):
        if key not in fields:
            raise FileError(f"{path}: the NRRD header has no {key!r}")
    dtype_name = _NRRD_TYPES.get(fields["type"])
    if dtype_name is None:
        raise FileError(f'{path}: unsupported NRRD type "{fields["type"]}"')
    try:
        dimension = int(fields["dimension"])
        sizes = [int(v) for v in fields["sizes"].split()]
    except ValueError:
        raise FileError(f"{path}: bad NRRD dimension or sizes") from None
    if dimension not in (3, 4) or len(sizes) != dimension or min(sizes) < 0:
        raise FileError(f"{path}: a 3-D image (or 4-D with a vector axis first) is needed, not "
                        f"dimension {fields['dimension']} with sizes {fields['sizes']}")
    kinds = fields.get("kinds", "").split()
    directions_text = re.findall(r"\([^()]*\)|none", fields.get("space directions", ""))
    vector_axis = dimension == 4
    if vector_axis and ((kinds and kinds[0] not in _VECTOR_KINDS)
                        or (directions_text and directions_text[0] != "none")):
        raise FileError(f"{path}: the first of 4 axes must be the vector axis")
    for key in ("line skip", "lineskip", "byte skip", "byteskip"):
        if fields.get(key, "0") != "0":
            raise FileError(f"{path}: NRRD {key} is not supported")
    space, flip = _nrrd_space(fields["space"], path) if "space" in fields \
        else ("LPS", np.ones(3))
    matrix = np.eye(4)
    if "space directions" in fields:
        spatial = directions_text[1:] if vector_axis else directions_text
        if len(directions_text) != dimension or len(spatial) != 3:
            raise FileError(f"{path}: NRRD space directions do not match the dimension")
        for axis, text in enumerate(spatial):
            vector = _nrrd_vector(text, path)
            if vector is None:
                raise FileError(f"{path}: a spatial axis has the direction none")
            matrix[:3, axis] = vector * flip
    elif "spacings" in fields:
        spacings = fields["spacings"].split()[1 if vector_axis else 0:]
        try:
            matrix[:3, :3] = np.diag([float(s) for s in spacings])
        except ValueError:
            raise FileError(f"{path}: bad NRRD spacings") from None
    if "space origin" in fields:
        origin = _nrrd_vector(fields["space origin"], path)
        if origin is None:
            raise FileError(f"{path}: NRRD space origin is none")
        matrix[:3, 3] = origin * flip
    dtype = np.dtype(dtype_name)
    if dtype.itemsize > 1:
        endian = fields.get("endian")
        if endian not in ("little", "big"):
            raise FileError(f"{path}: the NRRD header needs endian: little or big")
        dtype = dtype.newbyteorder("<" if endian == "little" else ">")
    data = content[end.end():]
    encoding = fields["encoding"]
    if encoding in ("gzip", "gz"):
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as error:
            raise FileError(f"{path}: bad gzip data: {error}") from None
    elif encoding != "raw":
        raise FileError(f'{path}: unsupported NRRD encoding "{encoding}"')
    count = int(np.prod(sizes, dtype=np.int64))
    if len(data) != count * dtype.itemsize:
        raise FileError(f"{path}: {len(data)} bytes of voxel data where the header says "
                        f"{count * dtype.itemsize}")
    flat = np.frombuffer(data, dtype=dtype)
    if vector_axis:
        voxels = flat.reshape(sizes[3], sizes[2], sizes[1], sizes[0])
    else:
        voxels = flat.reshape(sizes[2], sizes[1], sizes[0])
    return voxels, matrix, space


def _number(value: float) -> str:
    return repr(float(value))  # the shortest text that reads back as the same float64


def _write_nrrd(image: Image, path: str) -> None:
    voxels = image.voxels
    vector_axis = image.kind == "vector"
    m = image.ijk_to_space
    sizes = ([str(image.components)] if vector_axis else []) + [str(d) for d in image.dims]
    directions = ["none"] if vector_axis else []
    directions += [f"({_number(m[0, a])},{_number(m[1, a])},{_number(m[2, a])})"
                   for a in range(3)]
    lines = ["NRRD0004", "# Complete NRRD file format specification at:",
             "# http://teem.sourceforge.net/nrrd/format.html",
             f"type: {_NRRD_WRITE_TYPES[voxels.dtype.name]}",
             f"dimension: {4 if vector_axis else 3}",
             "space: " + ("right-anterior-superior" if image.space == "RAS"
                          else "left-posterior-superior"),
             "sizes: " + " ".join(sizes),
             "space directions: " + " ".join(directions),
             "kinds: " + ("vector " if vector_axis else "") + "domain domain domain"]
    if voxels.dtype.itemsize > 1:
        lines.append("endian: " + ("big" if voxels.dtype.byteorder == ">" else
                                   "little" if voxels.dtype.byteorder == "<" else sys.byteorder))
    compress = path.lower().endswith(".gz")
    lines.append("encoding: " + ("gzip" if compress else "raw"))
    lines.append(f"space origin: ({_number(m[0, 3])},{_number(m[1, 3])},{_number(m[2, 3])})")
    data = np.ascontiguousarray(voxels).tobytes()
    with open(path, "wb") as file:
        file.write(("\n".join(lines) + "\n\n").encode("ascii"))
        file.write(gzip.compress(data) if compress else data)
