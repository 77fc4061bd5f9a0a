"""Image series (spec 11.7): the type, its rules, what a 1.0 peer sees, echo, and 4-D NIfTI files
written by nibabel."""

import os
import tempfile

import numpy as np
import pytest

from conftest import WAIT, RawPeer, start_server
from slicerbridge import Client, Image, ImageSeries, Server, processor
from slicerbridge.codec import decode_head, encode_frame
from slicerbridge.data import data_from_wire
from slicerbridge.errors import ErrorCode, SlicerBridgeError
from slicerbridge.files import FileError, read_image_series, write_image_series
from slicerbridge.frame import HEADER_SIZE
from slicerbridge.processors import ALL

OBLIQUE = np.array([[0.0, -0.75, 0.125, -120.5],
                    [0.875, 0.0, 0.0, 80.25],
                    [0.0, 0.0625, 2.5, -33.0],
                    [0.0, 0.0, 0.0, 1.0]])


def shifted(dx):
    matrix = OBLIQUE.copy()
    matrix[0, 3] += dx
    return matrix


def sample(count=3, *, moving=True):
    voxels = np.arange(count * 2 * 3 * 4, dtype=np.int16).reshape(count, 2, 3, 4)
    matrices = [shifted(0.5 * v if moving else 0.0) for v in range(count)]
    return ImageSeries(voxels, matrices, [2.5 * v for v in range(count)], space="LPS")


def through_frame(value):
    """The value as a receiver reads it: encoded in a frame, decoded, converted."""
    frame = encode_frame({"v": value.to_wire()})
    head_length = int.from_bytes(frame[4:8], "big")
    bulk = memoryview(bytearray(frame[HEADER_SIZE + head_length:]))
    decoded = decode_head(frame[HEADER_SIZE:HEADER_SIZE + head_length], bulk, max_depth=32)
    assert decoded.bulk_error is None
    return data_from_wire(decoded.value["v"])


def test_series_round_trip_volume_after_volume_SER_1_SER_3():
    """[SER-1] [SER-3]"""
    series = sample()
    back = through_frame(series)
    assert isinstance(back, ImageSeries) and len(back) == 3
    assert np.array_equal(back.voxels, series.voxels)
    assert back.voxels.dtype == np.int16
    assert np.array_equal(back.values, [0.0, 2.5, 5.0]) and back.axis == "time"
    # [SER-1]: voxel (i, j, k) of volume v sits at element i + 4 (j + 3 (k + 2 v))
    flat = np.frombuffer(bytes(series.to_wire()["data"].data), dtype=np.int16)
    assert flat[1 + 4 * (2 + 3 * (1 + 2 * 2))] == back.voxels[2, 1, 2, 1]


def test_each_volume_keeps_its_own_geometry_SER_2():
    """[SER-2]"""
    series = sample()
    back = through_frame(series)
    assert not back.shares_geometry()
    for v in range(3):
        assert np.array_equal(back.ijk_to_space[v], shifted(0.5 * v))
        volume = back.volume(v)
        assert isinstance(volume, Image)
        assert np.array_equal(volume.ijk_to_space, shifted(0.5 * v))
        assert np.shares_memory(volume.voxels, back.voxels)
    assert sample(moving=False).shares_geometry()


def rejected(edit, series=None):
    wire = (series or sample()).to_wire()
    edit(wire)
    with pytest.raises(SlicerBridgeError) as raised:
        data_from_wire(wire)
    assert raised.value.code == ErrorCode.INVALID_ARGUMENT
    return raised.value.message


def test_invalid_series_are_invalid_argument_SER_1_SER_2_SER_3():
    """[SER-1] [SER-2] [SER-3]"""
    assert "at least one volume" in rejected(lambda w: w.update(volumes=[]))
    assert "data length" in rejected(lambda w: w["volumes"].pop())
    assert "invertible" in rejected(
        lambda w: w["volumes"][1].update(ijk_to_space=[1.0, 2.0, 0.0, 0.0, 2.0, 4.0, 0.0, 0.0,
                                                       0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0]))
    assert "unknown axis" in rejected(lambda w: w.update(axis="frequency"))
    assert "strictly increasing" in rejected(lambda w: w["volumes"][2].update(value=2.5))
    assert "finite" in rejected(lambda w: w["volumes"][0].update(value=float("inf")))
    assert "wrong type" in rejected(lambda w: w["volumes"][0].update(value="0 s"))


def diffusion():
    voxels = np.ones((4, 1, 2, 2), dtype=np.uint16)
    gradients = [[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.6, 0.8], [0.0, 0.0, -1.0]]
    return ImageSeries(voxels, np.eye(4), [0.0, 1000.0, 1000.0, 2000.0], axis="b_value",
                       gradients=gradients, space="RAS")


def test_b_values_carry_unit_gradients_SER_4():
    """[SER-4]"""
    series = diffusion()
    back = through_frame(series)
    assert np.array_equal(back.gradients, series.gradients)
    assert np.array_equal(back.values, [0.0, 1000.0, 1000.0, 2000.0])
    assert "unit length" in rejected(lambda w: w["volumes"][1].update(gradient=[0.0, 0.0, 0.0]),
                                     series)
    assert "unit length" in rejected(lambda w: w["volumes"][1].update(gradient=[0.0, 2.0, 0.0]),
                                     series)
    assert "gradient" in rejected(lambda w: w["volumes"][3].pop("gradient"), series)
    assert "gradient" in rejected(lambda w: w["volumes"][0].update(gradient=[1.0, 0.0, 0.0]))
    with pytest.raises(ValueError):
        ImageSeries(np.ones((2, 1, 1, 1), np.uint8), np.eye(4), [0.0, 1.0], axis="b_value")


def test_ras_lps_flips_matrices_and_gradients_only_SER_5():
    """[SER-5]"""
    series = diffusion()
    lps = series.in_space("LPS")
    assert np.shares_memory(lps.voxels, series.voxels)
    assert np.array_equal(lps.ijk_to_space[0], np.diag([-1.0, -1.0, 1.0, 1.0]))
    assert np.array_equal(lps.gradients[2], [0.0, -0.6, 0.8])
    assert np.array_equal(lps.values, series.values)
    back = lps.in_space("RAS")
    assert np.array_equal(back.gradients, series.gradients)
    assert np.array_equal(back.ijk_to_space, series.ijk_to_space)


def test_label_series_follow_the_image_rules_SER_5():
    """[SER-5]"""
    labels = ImageSeries(np.zeros((2, 1, 1, 2), np.uint8), np.eye(4), [0.0, 1.0], axis="index",
                         kind="label", segments=[(1, "tumour", (1.0, 0.5, 0.0))])
    assert through_frame(labels).segments == labels.segments
    assert "integer dtype" in rejected(lambda w: w.update(kind="label"),
                                       ImageSeries(np.zeros((1, 1, 1, 1), np.float32),
                                                   np.eye(4), [0.0]))
    assert "1 component" in rejected(lambda w: w.update(components=2))


# -- negotiation and echo ---------------------------------------------------------------------

@processor(title="Needs a series", category="Testing",
           outputs={"mean": Image})
def needs_series(series: ImageSeries) -> dict:
    """Averages a series: its only input is a required image_series."""
    first = series.volume(0)
    return {"mean": first.with_voxels(series.voxels.mean(axis=0).astype(np.float32))}


def test_a_1_0_peer_sees_no_image_series_SER_6_VER_4_PROC_6():
    """[SER-6] [VER-4] [PROC-6]: echo's series slots, a processor that requires a series, and
    series outputs are left out for a 1.0 peer; a series sent anyway is an unknown data type."""
    server = Server(list(ALL) + [needs_series])
    address = server.listen_tcp("127.0.0.1", 0)
    try:
        for version, newer in (([1, 1], True), ([1, 0], False)):
            peer = RawPeer(address)
            peer.hello(max_version=version)
            catalog = peer.call(1, "catalog")["result"]["processors"]
            names = [d["name"] for d in catalog]
            assert ("needs_series" in names) is newer
            echo = next(d for d in catalog if d["name"] == "echo")
            slots = [s["name"] for s in echo["inputs"] + echo["outputs"]]
            assert ("image_series" in slots and "image_series_out" in slots) is newer
            described = peer.call(2, "describe", {"processor": "needs_series"})
            assert ("result" in described) is newer
            reply = peer.call(3, "invoke", {"processor": "echo",
                                            "inputs": {"image_series": sample().to_wire()}})
            if newer:
                back = data_from_wire(reply["result"]["outputs"]["image_series_out"])
                assert np.array_equal(back.voxels, sample().voxels)
                assert np.array_equal(back.ijk_to_space, sample().ijk_to_space)
            else:
                assert reply["error"]["code"] == ErrorCode.INVALID_ARGUMENT
            peer.close()
    finally:
        server.close()


def test_echo_returns_a_series_unchanged_through_the_client_PROC_6():
    """[PROC-6]"""
    instance = start_server()
    try:
        with Client.connect(instance.text_address, timeout=WAIT) as client:
            series = diffusion().in_space("LPS")
            result = client.invoke("echo", {"image_series": series})
            back = result.outputs["image_series_out"]
            assert isinstance(back, ImageSeries)
            assert np.array_equal(back.in_space("LPS").gradients, series.gradients)
            assert np.array_equal(back.in_space("LPS").ijk_to_space, series.ijk_to_space)
            assert np.array_equal(back.voxels, series.voxels)
    finally:
        instance.server.close()


# -- 4-D NIfTI through nibabel ------------------------------------------------------------------

def test_nibabel_written_4d_nifti_round_trips_exactly_SER_2():
    """[SER-2]: a 4-D NIfTI (one affine, a time step) read as a series and written again keeps
    the values, every volume's affine and the time step exactly."""
    nibabel = pytest.importorskip("nibabel")
    rng = np.random.default_rng(7)
    data = rng.integers(-1000, 1000, size=(5, 4, 3, 6), dtype=np.int16)  # [i, j, k, t]
    affine = OBLIQUE.copy()  # float32-exact, as NIfTI stores it
    written = nibabel.Nifti1Image(data, affine)
    written.header.set_xyzt_units("mm", "msec")
    written.header["pixdim"][4] = 1500.0  # 1.5 s between volumes
    written.header["toffset"] = 250.0
    written.set_sform(affine, code=1)
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "bold.nii.gz")
        nibabel.save(written, path)
        series = read_image_series(path)
        assert series.axis == "time" and series.space == "RAS" and len(series) == 6
        assert np.array_equal(series.values, 0.25 + 1.5 * np.arange(6))
        assert np.array_equal(series.voxels, data.transpose(3, 2, 1, 0))
        for v in range(6):
            assert np.array_equal(series.ijk_to_space[v], affine)
        again = os.path.join(directory, "again.nii")
        write_image_series(series.in_space("LPS"), again)
        reread = nibabel.load(again)
        assert np.array_equal(np.asanyarray(reread.dataobj), data)
        assert np.array_equal(reread.affine, affine)
        assert reread.header.get_xyzt_units()[1] == "sec"
        assert float(reread.header["pixdim"][4]) == 1.5
        assert float(reread.header["toffset"]) == 0.25
        assert read_image_series(again).values.tolist() == series.values.tolist()


def test_a_series_a_nifti_cannot_hold_is_refused_SER_2():
    """[SER-2]: volumes of different geometry, or times not equally spaced, do not fit one
    4-D NIfTI: writing fails instead of giving every volume one geometry."""
    pytest.importorskip("nibabel")
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "series.nii")
        with pytest.raises(FileError, match="SER-2"):
            write_image_series(sample(), path)
        uneven = ImageSeries(np.zeros((3, 1, 1, 1), np.float32), np.eye(4), [0.0, 1.0, 3.0])
        with pytest.raises(FileError, match="equally spaced"):
            write_image_series(uneven, path)
        assert not os.path.exists(path)


def test_run_reads_and_writes_4d_nifti_for_series_slots(tmp_path):
    """``run`` gives a series input a 4-D NIfTI file and writes a series output to one."""
    nibabel = pytest.importorskip("nibabel")
    import subprocess
    from conftest import PYTHON, PYTHON_DIR
    data = np.arange(4 * 3 * 2 * 5, dtype=np.float32).reshape(4, 3, 2, 5)
    written = nibabel.Nifti1Image(data, OBLIQUE)
    written.header.set_xyzt_units("mm", "sec")
    written.header["pixdim"][4] = 2.0
    nibabel.save(written, str(tmp_path / "in.nii.gz"))
    result = subprocess.run(
        [PYTHON, "-m", "slicerbridge", "run", "echo", "--processors", "slicerbridge.processors",
         "--input", f"image_series={tmp_path / 'in.nii.gz'}",
         "--output", f"image_series_out={tmp_path / 'out.nii'}"],
        env=dict(os.environ, PYTHONPATH=PYTHON_DIR), capture_output=True, text=True,
        timeout=WAIT * 3)
    assert result.returncode == 0, result.stderr
    assert "image series of 5 volumes 4x3x2 float32 along time" in result.stderr
    back = nibabel.load(str(tmp_path / "out.nii"))
    assert np.array_equal(np.asanyarray(back.dataobj), data)
    assert np.array_equal(back.affine, OBLIQUE)
    assert float(back.header["pixdim"][4]) == 2.0
