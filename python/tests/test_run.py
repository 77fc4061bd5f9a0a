"""``python -m slicerbridge run``: processors on NIfTI and NRRD files with their geometry kept,
the C++ command line's exit statuses, and Ctrl-C as one clean cancel."""

import gzip
import os
import selectors
import signal
import subprocess
import time

import numpy as np
import pytest

from conftest import LINUX_ONLY, PYTHON, PYTHON_DIR, WAIT, oblique_matrix, signal_another_thread
from slicerbridge import Image
from slicerbridge.files import FileError, read_image, write_image
from tls_support import built

ENV = dict(os.environ, PYTHONPATH=PYTHON_DIR)
SERVE_STDIO = f"{PYTHON} -m slicerbridge serve --stdio"


def run(*arguments, cwd=None):
    return subprocess.run([PYTHON, "-m", "slicerbridge", "run", *arguments], env=ENV,
                          capture_output=True, text=True, timeout=WAIT * 3, cwd=cwd)


def phantom(space="LPS", dtype=np.int16):
    voxels = (np.arange(5 * 6 * 7, dtype=np.int64) * 37 % 2000 - 500).astype(dtype)
    return Image(voxels.reshape(5, 6, 7), oblique_matrix(), space=space)


# -- files ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("space", ["LPS", "RAS"])
@pytest.mark.parametrize("dtype", [np.int16, np.float64, np.uint8])
def test_nrrd_round_trip_is_exact(tmp_path, space, dtype):
    image = phantom(space, dtype)
    path = str(tmp_path / "image.nrrd")
    write_image(image, path)
    back = read_image(path)
    assert back.space == space and back.dims == image.dims == (7, 6, 5)
    assert np.array_equal(back.ijk_to_space, image.ijk_to_space)  # every bit
    assert back.voxels.dtype.name == np.dtype(dtype).name
    assert np.array_equal(back.voxels, image.voxels)


def test_nrrd_vector_image_and_header(tmp_path):
    voxels = np.arange(2 * 3 * 4 * 3, dtype=np.float32).reshape(2, 3, 4, 3)
    image = Image(voxels, oblique_matrix(), space="LPS", kind="vector")
    path = tmp_path / "vector.nrrd"
    write_image(image, str(path))
    header = path.read_bytes().split(b"\n\n", 1)[0].decode()
    assert "sizes: 3 4 3 2" in header and "space directions: none (" in header
    assert "space: left-posterior-superior" in header
    back = read_image(str(path))
    assert back.kind == "vector" and np.array_equal(back.voxels, voxels)


def nrrd_bytes(header_lines, data):
    return ("\n".join(["NRRD0004", *header_lines]) + "\n\n").encode() + data


def test_nrrd_reader_follows_the_header(tmp_path):
    """A big-endian gzip NRRD in LAS written by another program: i fastest, LAS read as RAS
    with the first axis negated (as the C++ reader)."""
    values = np.arange(24, dtype=">i2")
    path = tmp_path / "other.nrrd"
    path.write_bytes(nrrd_bytes([
        "type: short", "dimension: 3", "space: left-anterior-superior", "sizes: 4 3 2",
        "space directions: (1.5,0,0) (0,2,0) (0,0,3)", "kinds: domain domain domain",
        "endian: big", "encoding: gzip", "space origin: (10,20,30)"],
        gzip.compress(values.tobytes())))
    image = read_image(str(path))
    assert image.space == "RAS" and image.dims == (4, 3, 2)
    assert image.voxels[1, 2, 3] == 3 + 4 * (2 + 3 * 1)  # [k, j, i]
    assert np.array_equal(image.ijk_to_space, [[-1.5, 0, 0, -10], [0, 2, 0, 20],
                                               [0, 0, 3, 30], [0, 0, 0, 1]])


@pytest.mark.parametrize("lines, data, problem", [
    (["type: short", "dimension: 3", "sizes: 2 2 2", "encoding: raw", "endian: little"],
     b"\0" * 15, "15 bytes of voxel data where the header says 16"),
    (["type: short", "dimension: 3", "sizes: 2 2 2", "encoding: raw", "endian: little"],
     b"\0" * 17, "17 bytes of voxel data"),
    (["type: short", "dimension: 3", "sizes: 2 2 2", "encoding: raw"], b"\0" * 16,
     "endian"),
    (["type: uchar", "dimension: 3", "sizes: 2 2 2", "encoding: raw", "data file: x.raw"],
     b"", "detached"),
    (["type: uchar", "dimension: 3", "sizes: 2 2 2", "encoding: raw",
      "space: scanner-xyz"], b"\0" * 8, "unsupported NRRD space"),
    (["type: uchar", "dimension: 2", "sizes: 2 2", "encoding: raw"], b"\0" * 4, "3-D image"),
    (["type: block", "dimension: 3", "sizes: 2 2 2", "encoding: raw"], b"\0" * 8,
     "unsupported NRRD type"),
    (["type: uchar", "dimension: 3", "sizes: 2 2 2", "encoding: bzip2"], b"\0" * 8,
     "unsupported NRRD encoding"),
])
def test_nrrd_reader_is_strict(tmp_path, lines, data, problem):
    path = tmp_path / "bad.nrrd"
    path.write_bytes(nrrd_bytes(lines, data))
    with pytest.raises(FileError, match=problem):
        read_image(str(path))


def float32_exact(matrix):
    return matrix.astype(np.float32).astype(np.float64)


def test_nifti_geometry_and_voxel_order(tmp_path):
    nibabel = pytest.importorskip("nibabel")
    data_ijk = np.arange(4 * 3 * 2, dtype=np.int16).reshape(4, 3, 2)  # nibabel: [i, j, k]
    affine = float32_exact(oblique_matrix())
    nibabel.save(nibabel.Nifti1Image(data_ijk, affine), str(tmp_path / "a.nii.gz"))
    image = read_image(str(tmp_path / "a.nii.gz"))
    assert image.space == "RAS" and image.dims == (4, 3, 2)
    assert image.voxels[1, 2, 3] == data_ijk[3, 2, 1]
    assert np.array_equal(image.ijk_to_space, affine)


def test_nifti_qform_only_when_it_is_the_same_matrix(tmp_path):
    nibabel = pytest.importorskip("nibabel")
    rotation = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    straight = np.eye(4)
    straight[:3, :3] = rotation @ np.diag([0.5, 0.75, 2.0])
    straight[:3, 3] = [10.0, -20.0, 30.5]
    for matrix, qform_code in ((straight, 1), (float32_exact(oblique_matrix()), 0)):
        path = str(tmp_path / f"q{qform_code}.nii")
        write_image(Image(np.zeros((2, 3, 4), np.int16), matrix), path)
        header = nibabel.load(path).header
        assert int(header["sform_code"]) == 1 and int(header["qform_code"]) == qform_code
        assert np.allclose(header.get_sform(), matrix)
        if qform_code:
            assert np.allclose(header.get_qform(), matrix, atol=1e-6)


def test_nifti_round_trip_converts_lps_on_the_matrix_only(tmp_path):
    pytest.importorskip("nibabel")
    image = Image(phantom().voxels, float32_exact(oblique_matrix()), space="LPS")
    path = str(tmp_path / "b.nii")
    write_image(image, path)
    back = read_image(path)
    assert back.space == "RAS" and np.array_equal(back.voxels, image.voxels)
    assert np.array_equal(back.in_space("LPS").ijk_to_space, image.ijk_to_space)


# -- the command ---------------------------------------------------------------------------------

def test_run_in_process_on_nifti_and_nrrd(tmp_path):
    pytest.importorskip("nibabel")
    source = Image(phantom().voxels, float32_exact(oblique_matrix()), space="RAS")
    write_image(source, str(tmp_path / "in.nii.gz"))
    result = run("threshold", "--processors", "slicerbridge.processors", "--input",
                 f"volume={tmp_path / 'in.nii.gz'}", "--param", "lower=0", "--param",
                 "upper=1000", "--output", f"labels={tmp_path / 'labels.nrrd'}")
    assert result.returncode == 0, result.stderr
    assert "wrote labels (image 7x6x5 uint8 label) to" in result.stderr
    labels = read_image(str(tmp_path / "labels.nrrd"), "label")
    expected = ((source.voxels >= 0) & (source.voxels <= 1000)).astype(np.uint8)
    assert np.array_equal(labels.voxels, expected)
    assert labels.space == "RAS" and np.array_equal(labels.ijk_to_space, source.ijk_to_space)


def test_run_launched_and_in_process_agree(tmp_path):
    write_image(phantom(), str(tmp_path / "in.nrrd"))
    outputs = []
    for where in (["--processors", "slicerbridge.processors"], ["--launch", SERVE_STDIO]):
        out = tmp_path / f"out{len(outputs)}.nrrd"
        result = run("box_smooth", *where, "--input", f"volume={tmp_path / 'in.nrrd'}",
                     "--param", "radius=1", "--output", f"smoothed={out}", "--timings")
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith("timings box_smooth: ")
        outputs.append(read_image(str(out)))
    assert np.array_equal(outputs[0].voxels, outputs[1].voxels)
    assert np.array_equal(outputs[0].ijk_to_space, phantom().ijk_to_space)
    assert outputs[1].space == "LPS"


@pytest.mark.parametrize("arguments, status, text", [
    (["threshhold"], 1, "no processor named 'threshhold' (did you mean 'threshold'?)"),
    (["threshold", "--param", "lowr=1"], 2,
     'threshold has no parameter named "lowr" (did you mean \'lower\'?)'),
    (["threshold", "--param", "lower=abc"], 2, 'parameter lower expects a number, not "abc"'),
    (["slow", "--param", "seconds=5000"], 1,
     "parameter seconds = 5000.0 is out of range [0, 3600]"),
    (["threshold", "--input", "volume=missing.nrrd"], 4, "missing.nrrd: no such file"),
    (["threshold", "--input", "volume=in.txt"], 4, "unknown image format"),
    (["threshold", "--param", "novalue"], 2, '--param expects NAME=VALUE, not "novalue"'),
    (["fail", "--param", "code=1234", "--param", "message=no lungs"], 1,
     "fail failed: no lungs (1234 processor_error)"),
])
def test_run_exit_statuses(tmp_path, arguments, status, text):
    (tmp_path / "in.txt").write_text("not an image")
    for where in (["--processors", "slicerbridge.processors"], ["--launch", SERVE_STDIO]):
        result = run(*arguments, *where, cwd=tmp_path)
        assert result.returncode == status, (where, result.stderr)
        assert text in result.stderr, (where, result.stderr)


def test_a_deadline_ends_the_call_with_deadline_exceeded():
    for where in (["--processors", "slicerbridge.processors"], ["--launch", SERVE_STDIO]):
        result = run("slow", *where, "--param", "seconds=60", "--deadline", "0.2")
        assert result.returncode == 1, (where, result.stderr)
        assert "(101 deadline_exceeded)" in result.stderr, (where, result.stderr)


def test_run_connection_failures():
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens there
    result = run("echo", "--server", f"127.0.0.1:{port}")
    assert result.returncode == 3 and f"cannot connect to 127.0.0.1:{port}" in result.stderr
    result = run("echo", "--server", "nonsense")
    assert result.returncode == 2
    result = run("echo", "--launch", f"{PYTHON} -c 'import sys; sys.exit(5)'")
    assert result.returncode == 3
    assert "the processor exited with status 5 before the handshake" in result.stderr
    result = run("echo", "--server", "127.0.0.1:1", "--processors", "x.py")
    assert result.returncode == 2


def read_stderr_until(process, text, timeout=WAIT):
    """Lines of the process's stderr up to the first that contains ``text``."""
    selector = selectors.DefaultSelector()
    selector.register(process.stderr, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    seen = []
    for _ in range(10000):
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not selector.select(remaining):
            break
        line = process.stderr.readline()
        if not line:
            break
        seen.append(line)
        if text in line:
            return seen
    raise AssertionError(f"no {text!r} in {seen}")


def _slow_call_in_its_own_session(where: list) -> subprocess.Popen:
    """`run slow` for a minute, reporting progress, in a process group of its own."""
    return subprocess.Popen([PYTHON, "-m", "slicerbridge", "run", "slow", *where,
                             "--param", "seconds=60", "--param", "steps=600",
                             "--progress", "lines"], env=ENV, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)


@pytest.mark.skipif(os.name != "posix", reason="process groups and SIGINT are POSIX")
@pytest.mark.parametrize("where", [["--launch", SERVE_STDIO],
                                   ["--processors", "slicerbridge.processors"]])
def test_ctrl_c_is_one_clean_cancel(where):
    """Ctrl-C at a terminal signals the whole foreground process group: the launched server is
    in a group of its own, so the call is cancelled cleanly and the command exits 130."""
    process = _slow_call_in_its_own_session(where)
    try:
        read_stderr_until(process, "progress:")
        os.killpg(process.pid, signal.SIGINT)  # what the terminal does
        assert process.wait(WAIT) == 130
        rest = process.stderr.read()
        assert "cancelling the call" in rest and "slow was cancelled" in rest
        assert "Traceback" not in rest
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@LINUX_ONLY
@pytest.mark.parametrize("where", [["--launch", SERVE_STDIO],
                                   ["--processors", "slicerbridge.processors"]])
def test_ctrl_c_taken_by_another_thread_still_cancels(where):
    """The system may give a signal sent to the process to any thread; its handler runs on the
    main thread, which waits for the call and wakes often enough to run it."""
    process = _slow_call_in_its_own_session(where)
    try:
        read_stderr_until(process, "progress:")
        signal_another_thread(process.pid, signal.SIGINT)
        assert process.wait(WAIT) == 130
        assert "slow was cancelled" in process.stderr.read()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.mark.built
def test_cpp_command_line_reads_what_python_writes_and_back(tmp_path):
    cli = built("reference_server/slicerbridge")
    image = phantom()
    write_image(image, str(tmp_path / "in.nrrd"))
    result = subprocess.run([cli, "--launch", SERVE_STDIO, "run", "echo", "--input",
                             f"image={tmp_path / 'in.nrrd'}", "--output",
                             f"image_out={tmp_path / 'out.nrrd'}"], env=ENV,
                            capture_output=True, text=True, timeout=WAIT * 3)
    assert result.returncode == 0, result.stderr
    back = read_image(str(tmp_path / "out.nrrd"))
    assert np.array_equal(back.voxels, image.voxels)
    assert np.array_equal(back.ijk_to_space, image.ijk_to_space) and back.space == "LPS"

