"""Real-world-shaped volume files through the batch command line and the `echo` processor.

Every input is made here by a writer that is not ours: nibabel (Debian's python3-nibabel) for
NIfTI, hand-built headers for NRRD and MetaImage. Geometry is compared with nibabel's reading
(or the header's own numbers) to 1e-6 and voxels bit for bit; every bad file must end with exit
code 4, a message naming the file and the problem, and no output file; the server keeps serving.

Run with Debian's interpreter (/usr/bin/python3 -m pytest), with SLICERBRIDGE_SERVER_BIN and
SLICERBRIDGE_CLI_BIN naming the built programs (CTest sets them).
"""

import gzip
import os
import struct
import subprocess
import sys
import time

import numpy as np
import pytest

nib = pytest.importorskip("nibabel")

SERVER = os.environ.get("SLICERBRIDGE_SERVER_BIN", "build/reference_server/slicerbridge-server")
CLI = os.environ.get("SLICERBRIDGE_CLI_BIN", "build/reference_server/slicerbridge")

LPS = np.diag([-1.0, -1.0, 1.0, 1.0])

DTYPES = ["uint8", "int8", "int16", "uint16", "int32", "uint32", "int64", "uint64", "float32",
          "float64"]


@pytest.fixture(scope="module")
def server():
    process = subprocess.Popen([SERVER, "--listen", "127.0.0.1:0"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    line = process.stdout.readline().strip()
    assert line.startswith("listening on "), line
    yield line[len("listening on "):]
    process.terminate()
    process.wait(timeout=10)


def run_cli(server, *arguments, timeout=60):
    done = subprocess.run([CLI, "--server", server, *arguments], capture_output=True, text=True,
                          timeout=timeout)
    return done.returncode, done.stderr


def echo(server, source, target):
    return run_cli(server, "run", "echo", "--quiet", "--input", f"image={source}", "--output",
                   f"image_out={target}")


def oblique_affine(left_handed=False):
    """An oblique RAS affine with unequal spacings, as nibabel and scanners write them."""
    a, b = np.deg2rad(20.0), np.deg2rad(-35.0)
    rz = np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])
    rx = np.array([[1, 0, 0], [0, np.cos(b), -np.sin(b)], [0, np.sin(b), np.cos(b)]])
    linear = rz @ rx @ np.diag([0.7, 1.3, 2.5])
    if left_handed:
        linear[:, 2] = -linear[:, 2]
    affine = np.eye(4)
    affine[:3, :3] = linear
    affine[:3, 3] = [-40.5, 12.25, 30.0]
    return affine


def numbered(shape, dtype, seed=1):
    rng = np.random.default_rng(seed)
    kind = np.dtype(dtype)
    if kind.kind == "f":
        return rng.normal(100.0, 50.0, size=shape).astype(dtype)
    info = np.iinfo(kind)
    return rng.integers(max(info.min, -30000), min(info.max, 60000), size=shape,
                        endpoint=True).astype(dtype)


def save_nifti(path, data, affine, codes=(1, 1), header=None, version=1):
    image_class = nib.Nifti1Image if version == 1 else nib.Nifti2Image
    if header is None:
        header = image_class.header_class()
    header.set_data_dtype(data.dtype)
    img = image_class(data, affine, header=header)
    img.header.set_qform(affine, code=codes[0])
    img.header.set_sform(affine, code=codes[1])
    nib.save(img, str(path))
    return img


def no_output(folder, target):
    """The output does not exist and no temporary file was left beside it."""
    return not os.path.exists(target) and not [
        name for name in os.listdir(folder) if name.startswith(".slicerbridge")]


def check_bad(server, tmp_path, source, *phrases, output=None):
    target = str(tmp_path / (output or "never.nii.gz"))
    code, err = echo(server, source, target)
    assert code == 4, err
    assert os.path.basename(str(source)) in err, err
    for phrase in phrases:
        assert phrase.lower() in err.lower(), err
    assert no_output(tmp_path, target)
    assert "\n" not in err.strip(), "more than the command line's own message: " + err


# ---- NIfTI from nibabel ----------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("suffix", [".nii", ".nii.gz"])
def test_every_dtype_keeps_voxels_and_oblique_geometry(server, tmp_path, dtype, suffix):
    data = numbered((7, 6, 5), dtype)
    affine = oblique_affine()
    source = tmp_path / ("in" + suffix)
    save_nifti(source, data, affine)
    target = tmp_path / "out.nii.gz"
    code, err = echo(server, source, target)
    assert code == 0, err
    back = nib.load(str(target))
    assert back.get_data_dtype() == np.dtype(dtype)
    stored = np.asanyarray(back.dataobj)
    assert stored.dtype == np.dtype(dtype)
    assert stored.tobytes() == data.tobytes()
    assert np.allclose(back.affine, nib.load(str(source)).affine, atol=1e-6, rtol=0)


@pytest.mark.parametrize("suffix", [".nrrd", ".nhdr", ".mha", ".mhd", ".nii", ".hdr"])
def test_oblique_nifti_to_every_format_and_back(server, tmp_path, suffix):
    data = numbered((9, 8, 4), "int16")
    affine = oblique_affine()
    save_nifti(tmp_path / "in.nii", data, affine)
    middle = tmp_path / ("middle" + suffix)
    code, err = echo(server, tmp_path / "in.nii", middle)
    assert code == 0, err
    code, err = echo(server, middle, tmp_path / "back.nii")
    assert code == 0, err
    back = nib.load(str(tmp_path / "back.nii"))
    assert np.asanyarray(back.dataobj).tobytes() == data.tobytes()
    assert np.allclose(back.affine, affine, atol=1e-5, rtol=0)
    assert not [n for n in os.listdir(tmp_path) if n.startswith(".slicerbridge")]


def test_left_handed_file_keeps_its_voxel_order(server, tmp_path):
    data = numbered((6, 5, 4), "float32")
    affine = oblique_affine(left_handed=True)
    assert np.linalg.det(affine) < 0
    save_nifti(tmp_path / "left.nii.gz", data, affine)
    code, err = echo(server, tmp_path / "left.nii.gz", tmp_path / "out.nii.gz")
    assert code == 0, err
    back = nib.load(str(tmp_path / "out.nii.gz"))
    assert np.asanyarray(back.dataobj).tobytes() == data.tobytes()
    assert np.allclose(back.affine, affine, atol=1e-6, rtol=0)


def test_big_endian_nifti(server, tmp_path):
    data = numbered((5, 4, 3), "int32")
    header = nib.Nifti1Header(endianness=">")
    save_nifti(tmp_path / "big.nii", data.astype(">i4"), oblique_affine(), header=header)
    with open(tmp_path / "big.nii", "rb") as f:
        assert struct.unpack(">i", f.read(4))[0] == 348  # really big-endian
    code, err = echo(server, tmp_path / "big.nii", tmp_path / "out.nii")
    assert code == 0, err
    back = np.asanyarray(nib.load(str(tmp_path / "out.nii")).dataobj)
    assert np.array_equal(back, data)


@pytest.mark.parametrize("dtype", ["int16", "uint8", "float32"])
def test_scaled_values_reach_the_processor_as_physical_values(server, tmp_path, dtype):
    raw = numbered((6, 5, 4), dtype)
    img = nib.Nifti1Image(raw, oblique_affine())
    img.set_data_dtype(raw.dtype)
    img.header.set_slope_inter(2.5, -1024.0)
    img.header.set_qform(oblique_affine(), code=1)
    img.header.set_sform(oblique_affine(), code=1)
    # nibabel scales the array it is given on save; write the raw values with the scale fields.
    img.header["scl_slope"] = 2.5
    img.header["scl_inter"] = -1024.0
    with open(tmp_path / "scaled.nii", "wb") as f:
        header = img.header.copy()
        header.set_data_offset(352)
        f.write(header.binaryblock)
        f.write(b"\0" * 4)
        f.write(raw.tobytes(order="F"))
    physical = nib.load(str(tmp_path / "scaled.nii")).get_fdata()
    code, err = echo(server, tmp_path / "scaled.nii", tmp_path / "out.nii")
    assert code == 0, err
    out = nib.load(str(tmp_path / "out.nii"))
    values = np.asanyarray(out.dataobj)
    assert values.dtype == np.float32
    expected = (raw.astype(np.float64) * np.float64(np.float32(2.5)) - 1024.0).astype(np.float32)
    assert values.tobytes() == expected.tobytes()
    assert np.allclose(values, physical, rtol=1e-6)


def test_nan_and_inf_survive(server, tmp_path):
    data = numbered((4, 4, 3), "float32")
    data[0, 0, 0] = np.nan
    data[1, 0, 0] = np.inf
    data[2, 0, 0] = -np.inf
    save_nifti(tmp_path / "nan.nii.gz", data, oblique_affine())
    code, err = echo(server, tmp_path / "nan.nii.gz", tmp_path / "out.nrrd")
    assert code == 0, err
    code, err = echo(server, tmp_path / "out.nrrd", tmp_path / "back.nii.gz")
    assert code == 0, err
    back = np.asanyarray(nib.load(str(tmp_path / "back.nii.gz")).dataobj)
    assert back.tobytes() == data.tobytes()


def test_2d_nifti(server, tmp_path):
    data = numbered((5, 6), "int16")
    affine = np.diag([0.5, 0.75, 1.0, 1.0])
    save_nifti(tmp_path / "flat.nii", data, affine)
    code, err = echo(server, tmp_path / "flat.nii", tmp_path / "out.nii")
    assert code == 0, err
    back = nib.load(str(tmp_path / "out.nii"))
    assert back.shape[:2] == (5, 6)
    assert np.asanyarray(back.dataobj).tobytes() == data.tobytes()


def test_4d_with_one_volume_is_3d(server, tmp_path):
    data = numbered((4, 3, 2, 1), "int16")
    save_nifti(tmp_path / "one.nii", data, oblique_affine())
    code, err = echo(server, tmp_path / "one.nii", tmp_path / "out.nii")
    assert code == 0, err
    assert np.asanyarray(nib.load(str(tmp_path / "out.nii")).dataobj).tobytes() == data.tobytes()


# ---- NIfTI that must be refused --------------------------------------------------------------


def test_4d_and_5d_are_refused_not_truncated(server, tmp_path):
    save_nifti(tmp_path / "fmri.nii.gz", numbered((4, 4, 3, 5), "int16"), oblique_affine())
    check_bad(server, tmp_path, tmp_path / "fmri.nii.gz", "4-D", "5 volumes")
    save_nifti(tmp_path / "vt.nii", numbered((4, 4, 3, 2, 3), "float32"), oblique_affine())
    check_bad(server, tmp_path, tmp_path / "vt.nii", "4-D")


def test_cifti_matrix_is_refused(server, tmp_path):
    img = nib.Nifti1Image(numbered((1, 1, 1, 1, 10, 10), "float32"), np.eye(4))
    img.header.set_intent(3001)
    nib.save(img, str(tmp_path / "conn.nii"))
    check_bad(server, tmp_path, tmp_path / "conn.nii", "CIFTI")


def nifti_bytes(tmp_path, dtype="int16", shape=(8, 8, 8)):
    save_nifti(tmp_path / "good.nii", numbered(shape, dtype), oblique_affine())
    return bytearray((tmp_path / "good.nii").read_bytes())


def test_truncated_nifti(server, tmp_path):
    good = nifti_bytes(tmp_path)
    (tmp_path / "cut.nii").write_bytes(good[:-100])
    check_bad(server, tmp_path, tmp_path / "cut.nii", "truncated")
    (tmp_path / "cut.nii.gz").write_bytes(gzip.compress(bytes(good[:-100])))
    check_bad(server, tmp_path, tmp_path / "cut.nii.gz", "truncated")
    squeezed = gzip.compress(bytes(good))
    (tmp_path / "cutgz.nii.gz").write_bytes(squeezed[: len(squeezed) // 2])
    check_bad(server, tmp_path, tmp_path / "cutgz.nii.gz")


def test_corrupt_compressed_nifti(server, tmp_path):
    good = nifti_bytes(tmp_path, shape=(32, 32, 32))
    squeezed = bytearray(gzip.compress(bytes(good)))
    for i in range(200, 400):
        squeezed[i] ^= 0x5A
    (tmp_path / "corrupt.nii.gz").write_bytes(squeezed)
    check_bad(server, tmp_path, tmp_path / "corrupt.nii.gz")


def test_data_offset_past_the_end(server, tmp_path):
    good = nifti_bytes(tmp_path)
    struct.pack_into("<f", good, 108, 1e6)
    (tmp_path / "offset.nii").write_bytes(good)
    check_bad(server, tmp_path, tmp_path / "offset.nii", "past the end")


def test_unknown_datatype(server, tmp_path):
    good = nifti_bytes(tmp_path)
    struct.pack_into("<h", good, 70, 999)
    (tmp_path / "type.nii").write_bytes(good)
    check_bad(server, tmp_path, tmp_path / "type.nii", "datatype 999")


def test_complex_datatype(server, tmp_path):
    good = nifti_bytes(tmp_path)
    struct.pack_into("<hh", good, 70, 32, 64)
    (tmp_path / "complex.nii").write_bytes(good)
    check_bad(server, tmp_path, tmp_path / "complex.nii", "complex")


def test_absurd_and_zero_dimensions(server, tmp_path):
    good = nifti_bytes(tmp_path)
    huge = bytearray(good)
    struct.pack_into("<hhh", huge, 42, 32767, 32767, 32767)
    (tmp_path / "huge.nii").write_bytes(huge)
    started = time.monotonic()
    check_bad(server, tmp_path, tmp_path / "huge.nii", "truncated")
    assert time.monotonic() - started < 10
    (tmp_path / "huge.nii.gz").write_bytes(gzip.compress(bytes(huge)))
    check_bad(server, tmp_path, tmp_path / "huge.nii.gz")
    zero = bytearray(good)
    struct.pack_into("<h", zero, 44, 0)
    (tmp_path / "zero.nii").write_bytes(zero)
    check_bad(server, tmp_path, tmp_path / "zero.nii", "dimension 2 is 0")
    bad_rank = bytearray(good)
    struct.pack_into("<h", bad_rank, 40, 9)
    (tmp_path / "rank.nii").write_bytes(bad_rank)
    check_bad(server, tmp_path, tmp_path / "rank.nii", "dim[0]")


def test_not_a_nifti(server, tmp_path):
    (tmp_path / "text.nii").write_bytes(b"hello, this is not an image\n" * 20)
    check_bad(server, tmp_path, tmp_path / "text.nii")
    (tmp_path / "empty.nii.gz").write_bytes(b"")
    check_bad(server, tmp_path, tmp_path / "empty.nii.gz")


def test_analyze_pair(server, tmp_path):
    data = numbered((6, 5, 4), "int16")
    img = nib.Nifti1Pair(data, oblique_affine())
    img.header.set_qform(oblique_affine(), code=1)
    img.header.set_sform(oblique_affine(), code=1)
    nib.save(img, str(tmp_path / "pair.img"))
    code, err = echo(server, tmp_path / "pair.hdr", tmp_path / "out.nii")
    assert code == 0, err
    back = nib.load(str(tmp_path / "out.nii"))
    assert np.asanyarray(back.dataobj).tobytes() == data.tobytes()
    assert np.allclose(back.affine, oblique_affine(), atol=1e-6, rtol=0)
    os.remove(tmp_path / "pair.img")
    check_bad(server, tmp_path, tmp_path / "pair.hdr", "pair.img")


# ---- NRRD and MetaImage from hand-built headers ---------------------------------------------


def nrrd_header(type_name, sizes, directions, origin, space="left-posterior-superior",
                endian="little", encoding="raw", extra=""):
    lines = ["NRRD0004", f"type: {type_name}", f"dimension: {len(sizes)}", f"space: {space}",
             "sizes: " + " ".join(str(s) for s in sizes),
             "space directions: " + " ".join(
                 "none" if d is None else "(" + ",".join(repr(float(x)) for x in d) + ")"
                 for d in directions),
             f"endian: {endian}", f"encoding: {encoding}",
             "space origin: (" + ",".join(repr(float(x)) for x in origin) + ")"]
    return ("\n".join(lines) + "\n" + extra + "\n").encode()


def lps_of(affine_ras):
    return LPS @ affine_ras


def test_nrrd_oblique_big_endian_and_gzip(server, tmp_path):
    data = numbered((7, 5, 3), "int16")  # (i, j, k)
    affine = oblique_affine()
    lps = lps_of(affine)
    directions = [lps[:3, axis] for axis in range(3)]
    for name, endian, encoding in [("raw.nrrd", "little", "raw"), ("big.nrrd", "big", "raw"),
                                   ("gz.nrrd", "little", "gzip")]:
        body = data.astype(">i2" if endian == "big" else "<i2").tobytes(order="F")
        if encoding == "gzip":
            body = gzip.compress(body)
        (tmp_path / name).write_bytes(
            nrrd_header("short", data.shape, directions, lps[:3, 3], endian=endian,
                        encoding=encoding) + body)
        code, err = echo(server, tmp_path / name, tmp_path / "out.nii")
        assert code == 0, (name, err)
        back = nib.load(str(tmp_path / "out.nii"))
        assert np.array_equal(np.asanyarray(back.dataobj), data), name
        assert np.allclose(back.affine, affine, atol=1e-5, rtol=0), name


def test_nrrd_ras_space_and_detached_data(server, tmp_path):
    data = numbered((4, 3, 2), "float32")
    affine = oblique_affine()
    (tmp_path / "voxels.raw").write_bytes(data.tobytes(order="F"))
    (tmp_path / "ras.nhdr").write_bytes(
        nrrd_header("float", data.shape, [affine[:3, a] for a in range(3)], affine[:3, 3],
                    space="right-anterior-superior", extra="data file: voxels.raw\n"))
    code, err = echo(server, tmp_path / "ras.nhdr", tmp_path / "out.nii")
    assert code == 0, err
    back = nib.load(str(tmp_path / "out.nii"))
    assert np.asanyarray(back.dataobj).tobytes() == data.tobytes()
    assert np.allclose(back.affine, affine, atol=1e-5, rtol=0)


def test_2d_nrrd_and_metaimage_are_accepted(server, tmp_path):
    data = numbered((6, 4), "uint8")
    header = ("NRRD0004\ntype: uchar\ndimension: 2\nsizes: 6 4\nspace dimension: 2\n"
              "space directions: (0.5,0) (0,0.25)\nspace origin: (1,2)\nencoding: raw\n\n")
    (tmp_path / "flat.nrrd").write_bytes(header.encode() + data.tobytes(order="F"))
    code, err = echo(server, tmp_path / "flat.nrrd", tmp_path / "out.nii")
    assert code == 0, err
    assert np.asanyarray(nib.load(str(tmp_path / "out.nii")).dataobj).tobytes() == data.tobytes()
    mha = ("ObjectType = Image\nNDims = 2\nBinaryData = True\nBinaryDataByteOrderMSB = False\n"
           "ElementSpacing = 0.5 0.25\nOffset = 1 2\nDimSize = 6 4\nElementType = MET_UCHAR\n"
           "ElementDataFile = LOCAL\n")
    (tmp_path / "flat.mha").write_bytes(mha.encode() + data.tobytes(order="F"))
    code, err = echo(server, tmp_path / "flat.mha", tmp_path / "out2.nii")
    assert code == 0, err
    assert np.asanyarray(nib.load(str(tmp_path / "out2.nii")).dataobj).tobytes() == data.tobytes()


def test_vector_nrrd_keeps_components(server, tmp_path):
    data = numbered((3, 4, 3, 2), "float32")  # (component, i, j, k)
    header = ("NRRD0004\ntype: float\ndimension: 4\nspace: left-posterior-superior\n"
              "sizes: 3 4 3 2\nspace directions: none (1,0,0) (0,1,0) (0,0,1)\n"
              "kinds: vector domain domain domain\nendian: little\nencoding: raw\n"
              "space origin: (0,0,0)\n\n")
    (tmp_path / "rgb.nrrd").write_bytes(header.encode() + data.tobytes(order="F"))
    code, err = echo(server, tmp_path / "rgb.nrrd", tmp_path / "out.nrrd")
    assert code == 0, err
    out = (tmp_path / "out.nrrd").read_bytes()
    head, body = out.split(b"\n\n", 1)
    assert b"sizes: 3 4 3 2" in head
    assert body == data.tobytes(order="F")


def test_bad_nrrd_files(server, tmp_path):
    data = numbered((4, 3, 2), "int16").tobytes(order="F")
    eye = [np.eye(3)[a] for a in range(3)]
    (tmp_path / "cut.nrrd").write_bytes(nrrd_header("short", (4, 3, 2), eye, (0, 0, 0)) +
                                        data[:-5])
    check_bad(server, tmp_path, tmp_path / "cut.nrrd", "truncated")
    (tmp_path / "huge.nrrd").write_bytes(
        nrrd_header("short", (100000, 100000, 100000), eye, (0, 0, 0)) + data)
    check_bad(server, tmp_path, tmp_path / "huge.nrrd", "truncated")
    (tmp_path / "zero.nrrd").write_bytes(nrrd_header("short", (4, 0, 2), eye, (0, 0, 0)))
    check_bad(server, tmp_path, tmp_path / "zero.nrrd", "at least one voxel")
    (tmp_path / "type.nrrd").write_bytes(nrrd_header("quaternion", (4, 3, 2), eye, (0, 0, 0)) +
                                         data)
    check_bad(server, tmp_path, tmp_path / "type.nrrd", "unknown NRRD type")
    four = nrrd_header("short", (2, 3, 2, 2), eye + [None], (0, 0, 0),
                       extra="kinds: domain domain domain domain\n")
    (tmp_path / "time.nrrd").write_bytes(four + data)
    check_bad(server, tmp_path, tmp_path / "time.nrrd", "4-D")
    squeezed = bytearray(gzip.compress(numbered((16, 16, 16), "int16").tobytes()))
    (tmp_path / "gz.nrrd").write_bytes(
        nrrd_header("short", (16, 16, 16), eye, (0, 0, 0), encoding="gzip") +
        bytes(squeezed[: len(squeezed) // 2]))
    check_bad(server, tmp_path, tmp_path / "gz.nrrd")
    (tmp_path / "missing.nhdr").write_bytes(
        nrrd_header("short", (4, 3, 2), eye, (0, 0, 0), extra="data file: nowhere.raw\n"))
    check_bad(server, tmp_path, tmp_path / "missing.nhdr", "nowhere.raw")
    (tmp_path / "junk.nrrd").write_bytes(b"NRRD0004\nthis is not a header\n\n")
    check_bad(server, tmp_path, tmp_path / "junk.nrrd")


def metaimage(dims, element_type, body, ndims=None, extra=""):
    header = (f"ObjectType = Image\nNDims = {ndims or len(dims)}\nBinaryData = True\n"
              "BinaryDataByteOrderMSB = False\nCompressedData = False\n"
              "TransformMatrix = 1 0 0 0 1 0 0 0 1\nOffset = 0 0 0\n"
              f"DimSize = {' '.join(map(str, dims))}\nElementType = {element_type}\n{extra}"
              "ElementDataFile = LOCAL\n")
    return header.encode() + body


def test_metaimage_good_and_bad(server, tmp_path):
    data = numbered((4, 3, 2), "uint16")
    (tmp_path / "ok.mha").write_bytes(metaimage((4, 3, 2), "MET_USHORT", data.tobytes("F")))
    code, err = echo(server, tmp_path / "ok.mha", tmp_path / "out.nii")
    assert code == 0, err
    assert np.asanyarray(nib.load(str(tmp_path / "out.nii")).dataobj).tobytes() == data.tobytes()
    (tmp_path / "cut.mha").write_bytes(metaimage((4, 3, 2), "MET_USHORT", data.tobytes("F")[:-3]))
    check_bad(server, tmp_path, tmp_path / "cut.mha", "truncated")
    (tmp_path / "huge.mha").write_bytes(metaimage((90000, 90000, 90000), "MET_USHORT", b"x"))
    check_bad(server, tmp_path, tmp_path / "huge.mha", "truncated")
    (tmp_path / "type.mha").write_bytes(metaimage((4, 3, 2), "MET_OCTONION", data.tobytes("F")))
    check_bad(server, tmp_path, tmp_path / "type.mha", "ElementType")
    (tmp_path / "four.mha").write_bytes(
        metaimage((2, 2, 3, 2), "MET_USHORT", data.tobytes("F")).replace(
            b"TransformMatrix = 1 0 0 0 1 0 0 0 1\nOffset = 0 0 0\n", b""))
    check_bad(server, tmp_path, tmp_path / "four.mha", "4-D")


# ---- outputs ---------------------------------------------------------------------------------


def test_unwritable_output_is_found_before_the_call(server, tmp_path):
    save_nifti(tmp_path / "in.nii", numbered((4, 4, 4), "int16"), oblique_affine())
    (tmp_path / "plain-file").write_bytes(b"")
    for target in [tmp_path / "no-such-folder" / "out.nii", tmp_path / "plain-file" / "out.nii",
                   tmp_path / "out.png", tmp_path]:
        code, err = echo(server, tmp_path / "in.nii", target)
        assert code == 4, (target, err)
        assert "echo" not in err, err  # refused before the call


def test_server_keeps_serving_after_bad_files(server):
    code, err = run_cli(server, "ping")
    assert code == 0, err


# ---- header meaning --------------------------------------------------------------------------


def test_nifti_codes_time_step_and_units_survive_an_echo(server, tmp_path):
    data = numbered((6, 5, 4), "int16")
    affine = oblique_affine()
    img = nib.Nifti1Image(data, affine)
    img.set_data_dtype(np.int16)
    img.header.set_qform(affine, code=1)  # scanner
    img.header.set_sform(affine, code=2)  # aligned
    img.header.set_xyzt_units("mm", "msec")
    img.header["pixdim"][4] = 2000.0
    nib.save(img, str(tmp_path / "coded.nii.gz"))
    code, err = echo(server, tmp_path / "coded.nii.gz", tmp_path / "out.nii.gz")
    assert code == 0, err
    out = nib.load(str(tmp_path / "out.nii.gz")).header
    assert int(out["qform_code"]) == 1
    assert int(out["sform_code"]) == 2
    assert out.get_xyzt_units() == ("mm", "msec")
    assert float(out["pixdim"][4]) == 2000.0
    assert np.allclose(out.get_sform(), affine, atol=1e-6, rtol=0)


def test_sheared_sform_is_the_geometry(server, tmp_path):
    affine = oblique_affine()
    affine[0, 1] += 0.4  # a shear: columns no longer orthogonal
    data = numbered((6, 5, 4), "float32")
    img = nib.Nifti1Image(data, affine)
    img.header.set_sform(affine, code=2)
    img.header.set_qform(oblique_affine(), code=1)
    nib.save(img, str(tmp_path / "shear.nii"))
    for suffix in [".nii", ".nrrd", ".mha"]:
        code, err = echo(server, tmp_path / "shear.nii", tmp_path / ("mid" + suffix))
        assert code == 0, err
        code, err = echo(server, tmp_path / ("mid" + suffix), tmp_path / "out.nii")
        assert code == 0, err
        back = nib.load(str(tmp_path / "out.nii"))
        assert np.allclose(back.affine, affine, atol=1e-5, rtol=0), suffix
        assert np.asanyarray(back.dataobj).tobytes() == data.tobytes()


def test_metres_become_millimetres(server, tmp_path):
    data = numbered((4, 3, 2), "int16")
    affine = np.diag([0.001, 0.002, 0.003, 1.0])
    affine[:3, 3] = [0.01, 0.02, 0.03]
    img = nib.Nifti1Image(data, affine)
    img.set_data_dtype(np.int16)
    img.header.set_sform(affine, code=1)
    img.header.set_qform(affine, code=1)
    img.header.set_xyzt_units("meter")
    nib.save(img, str(tmp_path / "metres.nii"))
    code, err = echo(server, tmp_path / "metres.nii", tmp_path / "out.nii")
    assert code == 0, err
    back = nib.load(str(tmp_path / "out.nii"))
    assert back.header.get_xyzt_units()[0] == "mm"
    assert np.allclose(back.affine, np.diag([1000, 1000, 1000, 1]) @ affine, atol=1e-6, rtol=0)


def test_las_nrrd_follows_the_nrrd_specification(server, tmp_path):
    data = numbered((4, 3, 2), "int16")
    header = nrrd_header("short", data.shape, [(1, 0, 0), (0, 2, 0), (0, 0, 3)], (5, 6, 7),
                         space="left-anterior-superior")
    (tmp_path / "las.nrrd").write_bytes(header + data.tobytes(order="F"))
    code, err = echo(server, tmp_path / "las.nrrd", tmp_path / "out.nii")
    assert code == 0, err
    expected = np.array([[-1, 0, 0, -5], [0, 2, 0, 6], [0, 0, 3, 7], [0, 0, 0, 1]], float)
    assert np.allclose(nib.load(str(tmp_path / "out.nii")).affine, expected, atol=1e-9)


def test_nrrd_geometry_is_kept_to_the_last_bit(server, tmp_path):
    data = numbered((5, 4, 3), "int16")
    lps = lps_of(oblique_affine())
    header = nrrd_header("short", data.shape, [lps[:3, a] for a in range(3)], lps[:3, 3])
    (tmp_path / "in.nrrd").write_bytes(header + data.tobytes(order="F"))
    code, err = echo(server, tmp_path / "in.nrrd", tmp_path / "out.nrrd")
    assert code == 0, err
    fields = {}
    for line in (tmp_path / "out.nrrd").read_bytes().split(b"\n\n")[0].decode().splitlines():
        if ": " in line:
            key, value = line.split(": ", 1)
            fields[key] = value
    columns = [[float(x) for x in v.strip("()").split(",")]
               for v in fields["space directions"].split()]
    assert np.array_equal(np.array(columns).T, lps[:3, :3])
    assert [float(x) for x in fields["space origin"].strip("()").split(",")] == list(lps[:3, 3])


# ---- DICOM series (pydicom writes them) --------------------------------------------------------


def write_dicom_series(folder, slices=4, series_uid=None, slope=1.0, intercept=-1024.0):
    pydicom = pytest.importorskip("pydicom")
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    folder.mkdir(exist_ok=True)
    series_uid = series_uid or generate_uid()
    study_uid = generate_uid()
    frame_uid = generate_uid()
    row = np.array([np.cos(0.3), np.sin(0.3), 0.0])  # LPS direction of a row (i)
    column = np.array([-np.sin(0.3) * np.cos(0.2), np.cos(0.3) * np.cos(0.2), np.sin(0.2)])
    normal = np.cross(row, column)
    spacing = (0.8, 0.6)  # (row spacing: between rows, column spacing: between columns)
    thickness = 2.5
    origin = np.array([-100.0, -120.0, 40.0])
    raws = []
    for k in range(slices):
        raw = numbered((5, 6), "int16", seed=k + 10)  # (rows, columns)
        raws.append(raw)
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
        meta.MediaStorageSOPInstanceUID = generate_uid()
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds = Dataset()
        ds.file_meta = meta
        ds.is_little_endian = True
        ds.is_implicit_VR = False
        ds.SOPClassUID = meta.MediaStorageSOPClassUID
        ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
        ds.Modality = "CT"
        ds.PatientName = "Phantom^Test"
        ds.PatientID = "0"
        ds.StudyInstanceUID = study_uid
        ds.SeriesInstanceUID = series_uid
        ds.FrameOfReferenceUID = frame_uid
        ds.SeriesNumber = 1
        ds.InstanceNumber = k + 1
        ds.ImageOrientationPatient = [float(x) for x in list(row) + list(column)]
        ds.ImagePositionPatient = [float(x) for x in origin + k * thickness * normal]
        ds.PixelSpacing = [spacing[0], spacing[1]]
        ds.SliceThickness = thickness
        ds.Rows, ds.Columns = raw.shape
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.BitsAllocated = 16
        ds.BitsStored = 16
        ds.HighBit = 15
        ds.PixelRepresentation = 1
        ds.RescaleSlope = slope
        ds.RescaleIntercept = intercept
        ds.PixelData = raw.astype("<i2").tobytes()
        ds.save_as(str(folder / f"slice{k:03d}.dcm"), write_like_original=False)
    lps = np.eye(4)
    lps[:3, 0] = row * spacing[1]
    lps[:3, 1] = column * spacing[0]
    lps[:3, 2] = normal * thickness
    lps[:3, 3] = origin
    voxels = np.stack([r.T for r in raws], axis=2)  # (i = column, j = row, k)
    return LPS @ lps, voxels * slope + intercept


def test_dicom_series_folder(server, tmp_path):
    affine, values = write_dicom_series(tmp_path / "series")
    code, err = echo(server, tmp_path / "series", tmp_path / "out.nii")
    assert code == 0, err
    back = nib.load(str(tmp_path / "out.nii"))
    assert np.allclose(back.affine, affine, atol=1e-4, rtol=0)
    assert np.array_equal(np.asanyarray(back.dataobj).astype(np.float64), values)


def test_dicom_folder_with_two_series_is_refused(server, tmp_path):
    write_dicom_series(tmp_path / "mixed")
    write_dicom_series(tmp_path / "other", slices=3)
    for name in os.listdir(tmp_path / "other"):
        os.rename(tmp_path / "other" / name, tmp_path / "mixed" / ("b" + name))
    target = tmp_path / "never.nii"
    code, err = echo(server, tmp_path / "mixed", target)
    assert code == 4, err
    assert "2 DICOM series" in err
    assert not target.exists()
    (tmp_path / "empty").mkdir()
    code, err = echo(server, tmp_path / "empty", target)
    assert code == 4, err


def test_nifti_without_orientation_is_read_as_itk_and_slicer_read_it(server, tmp_path):
    # Both codes 0: ITK (so Slicer) takes the pixdims along LPS from an origin of 0; nibabel
    # centres the grid and flips x; the output states the geometry used, with codes 1.
    header = nib.Nifti1Header()
    header.set_data_shape((4, 5, 6))
    header.set_zooms((2, 3, 4))
    header.set_data_dtype(np.int16)
    data = numbered((4, 5, 6), "int16")
    nib.save(nib.Nifti1Image(data, None, header=header), str(tmp_path / "bare.nii"))
    code, err = echo(server, tmp_path / "bare.nii", tmp_path / "out.nii")
    assert code == 0, err
    out = nib.load(str(tmp_path / "out.nii"))
    assert int(out.header["sform_code"]) == 1
    assert np.allclose(out.affine, np.diag([-2.0, -3.0, 4.0, 1.0]), atol=1e-9)
    assert np.asanyarray(out.dataobj).tobytes() == data.tobytes()


def test_nifti_vector_components_survive(server, tmp_path):
    data = numbered((4, 3, 2, 1, 3), "float32")
    img = nib.Nifti1Image(data, oblique_affine())
    img.header.set_intent("vector")
    nib.save(img, str(tmp_path / "vectors.nii.gz"))
    code, err = echo(server, tmp_path / "vectors.nii.gz", tmp_path / "out.nii.gz")
    assert code == 0, err
    back = nib.load(str(tmp_path / "out.nii.gz"))
    assert back.shape == (4, 3, 2, 1, 3)
    assert np.asanyarray(back.dataobj).tobytes() == data.tobytes()
    code, err = echo(server, tmp_path / "vectors.nii.gz", tmp_path / "out.nrrd")
    assert code == 0, err


# ---- NIfTI-2 (read and written by our code: Debian 12's ITK 5.2 has none) ----------------------


@pytest.mark.parametrize("suffix", [".nii", ".nii.gz"])
def test_nifti2_in_nifti2_out(server, tmp_path, suffix):
    data = numbered((6, 5, 4), "int16")
    affine = oblique_affine(left_handed=True)
    img = nib.Nifti2Image(data, affine)
    img.set_data_dtype(np.int16)
    img.header.set_qform(affine, code=1)
    img.header.set_sform(affine, code=4)
    img.header.set_xyzt_units("mm", "sec")
    img.header["pixdim"][4] = 1.5
    nib.save(img, str(tmp_path / ("two" + suffix)))
    code, err = echo(server, tmp_path / ("two" + suffix), tmp_path / ("out" + suffix))
    assert code == 0, err
    back = nib.load(str(tmp_path / ("out" + suffix)))
    assert isinstance(back, nib.Nifti2Image)
    assert np.asanyarray(back.dataobj).tobytes() == data.tobytes()
    assert np.allclose(back.affine, affine, atol=1e-9, rtol=0)
    assert np.allclose(back.header.get_qform(), affine, atol=1e-6, rtol=0)
    assert (int(back.header["qform_code"]), int(back.header["sform_code"])) == (1, 4)
    assert back.header.get_xyzt_units() == ("mm", "sec")
    assert float(back.header["pixdim"][4]) == 1.5


def test_nifti2_qform_scaling_vectors_and_refusals(server, tmp_path):
    affine = oblique_affine()
    raw = numbered((5, 4, 3), "int16")
    img = nib.Nifti2Image(raw, affine)
    img.set_data_dtype(np.int16)
    img.header.set_qform(affine, code=1)
    img.header.set_sform(None, code=0)
    img.header["scl_slope"] = 0.5
    img.header["scl_inter"] = 10.0
    header = img.header.copy()
    header.set_data_offset(544)
    (tmp_path / "scaled2.nii").write_bytes(header.binaryblock + b"\0" * 4 +
                                           raw.tobytes(order="F"))
    code, err = echo(server, tmp_path / "scaled2.nii", tmp_path / "out.nii")
    assert code == 0, err
    back = nib.load(str(tmp_path / "out.nii"))
    expected = (raw.astype(np.float64) * 0.5 + 10.0).astype(np.float32)
    assert np.asanyarray(back.dataobj).tobytes() == expected.tobytes()
    assert np.allclose(back.affine, nib.load(str(tmp_path / "scaled2.nii")).affine, atol=1e-6)

    vectors = numbered((4, 3, 2, 1, 3), "float32")
    vimg = nib.Nifti2Image(vectors, affine)
    vimg.header.set_intent("vector")
    nib.save(vimg, str(tmp_path / "vec2.nii.gz"))
    code, err = echo(server, tmp_path / "vec2.nii.gz", tmp_path / "vec-out.nii.gz")
    assert code == 0, err
    back = nib.load(str(tmp_path / "vec-out.nii.gz"))
    assert back.shape == (4, 3, 2, 1, 3)
    assert np.asanyarray(back.dataobj).tobytes() == vectors.tobytes()

    nib.save(nib.Nifti2Image(numbered((4, 3, 2, 6), "int16"), affine), str(tmp_path / "t2.nii"))
    check_bad(server, tmp_path, tmp_path / "t2.nii", "4-D", "6 volumes")
    good = bytearray((tmp_path / "scaled2.nii").read_bytes())
    (tmp_path / "cut2.nii").write_bytes(good[:-7])
    check_bad(server, tmp_path, tmp_path / "cut2.nii", "truncated")


def test_an_image_wider_than_nifti1_is_written_as_nifti2(server, tmp_path):
    data = numbered((40000, 2, 1), "int16")
    eye = [np.eye(3)[a] for a in range(3)]
    (tmp_path / "wide.nrrd").write_bytes(nrrd_header("short", data.shape, eye, (0, 0, 0)) +
                                         data.tobytes(order="F"))
    code, err = echo(server, tmp_path / "wide.nrrd", tmp_path / "wide.nii.gz")
    assert code == 0, err
    back = nib.load(str(tmp_path / "wide.nii.gz"))
    assert isinstance(back, nib.Nifti2Image)
    assert back.shape[:2] == (40000, 2)
    assert np.asanyarray(back.dataobj).tobytes() == data.tobytes()
    assert np.allclose(back.affine, LPS, atol=1e-12)


def test_names_that_look_like_other_formats(server, tmp_path):
    data = numbered((4, 3, 2), "int16")
    save_nifti(tmp_path / "scan.img.nii", data, oblique_affine())
    code, err = echo(server, tmp_path / "scan.img.nii", tmp_path / "copy.hdr.nii.gz")
    assert code == 0, err
    back = nib.load(str(tmp_path / "copy.hdr.nii.gz"))
    assert np.asanyarray(back.dataobj).tobytes() == data.tobytes()
    assert sorted(os.listdir(tmp_path)) == ["copy.hdr.nii.gz", "scan.img.nii"]


# ---- the same files through the Slicer CLI-module proxy ---------------------------------------

CLI_MODULE = os.environ.get("SLICERBRIDGE_CLI_MODULE_BIN",
                            "build/reference_slicer_adapter/cli_module/slicerbridge-cli-module")


@pytest.fixture(scope="module")
def echo_module(server, tmp_path_factory):
    if not os.path.exists(CLI_MODULE):
        pytest.skip("the Slicer CLI-module proxy is not built")
    folder = tmp_path_factory.mktemp("modules")
    done = subprocess.run([CLI_MODULE, "--output_directory", str(folder), "--server", server],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return str(folder / "SlicerBridge_echo")


def module_echo(entry, source, target):
    done = subprocess.run([entry, "--image", str(source), "--image_out", str(target)],
                          capture_output=True, text=True, timeout=60)
    return done.returncode, done.stderr


def test_the_cli_module_reads_what_the_command_line_reads(echo_module, tmp_path):
    data = numbered((6, 5, 4), "float32")
    data[0, 0, 0] = np.nan
    affine = oblique_affine(left_handed=True)
    save_nifti(tmp_path / "in.nii.gz", data, affine)
    code, err = module_echo(echo_module, tmp_path / "in.nii.gz", tmp_path / "out.nii.gz")
    assert code == 0, err
    back = nib.load(str(tmp_path / "out.nii.gz"))
    assert np.asanyarray(back.dataobj).tobytes() == data.tobytes()
    assert np.allclose(back.affine, affine, atol=1e-6, rtol=0)


def test_the_cli_module_refuses_the_same_bad_files(echo_module, tmp_path):
    save_nifti(tmp_path / "fmri.nii", numbered((4, 4, 3, 5), "int16"), oblique_affine())
    good = nifti_bytes(tmp_path)
    (tmp_path / "cut.nii").write_bytes(good[:-100])
    huge = bytearray(good)
    struct.pack_into("<hhh", huge, 42, 32767, 32767, 32767)
    (tmp_path / "huge.nii").write_bytes(huge)
    cifti = nib.Nifti1Image(numbered((1, 1, 1, 1, 10, 10), "float32"), np.eye(4))
    cifti.header.set_intent(3001)
    nib.save(cifti, str(tmp_path / "conn.nii"))
    for name, phrase in [("fmri.nii", "4-D"), ("cut.nii", "truncated"), ("huge.nii", "truncated"),
                         ("conn.nii", "CIFTI")]:
        target = tmp_path / "never.nrrd"
        code, err = module_echo(echo_module, tmp_path / name, target)
        assert code == 4, (name, err)
        assert name in err and phrase in err, err
        assert no_output(tmp_path, target)
