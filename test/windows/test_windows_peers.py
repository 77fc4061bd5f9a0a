"""Windows programs (cross-built with MinGW-w64, run under Wine) and their Linux peers.

Both ways, over TCP on loopback and over a launched process:
- the Linux Python client and the Linux command line against the Windows server;
- the Windows client against the Linux reference server and the Linux Python server, and the
  Windows client launching the Windows server (CreateProcess and its pipes).

Images must come back bit for bit with their geometry (matrix and space), meshes with their
points and cells. Needs SLICERBRIDGE_WINDOWS_BUILD_DIR and WINE (CTest sets them, with
WINEPREFIX); the cases that use the Linux reference server or command line also need
SLICERBRIDGE_LINUX_BUILD_DIR, and fail when it is given but lacks them.
"""
import os
import pathlib
import re
import subprocess
import sys
import threading

import numpy as np
import pytest

from slicerbridge import CellArray, Client, Image, Mesh, SlicerBridgeError

WAIT = 30.0  # seconds for any one step; Wine starts a program in well under a second
WINE = os.environ.get("WINE", "wine")
WINDOWS_BUILD = pathlib.Path(os.environ.get("SLICERBRIDGE_WINDOWS_BUILD_DIR", "build-mingw"))
LINUX_BUILD = os.environ.get("SLICERBRIDGE_LINUX_BUILD_DIR", "")
WINDOWS_SERVER = WINDOWS_BUILD / "reference_server" / "slicerbridge-server.exe"
WINDOWS_CLIENT = WINDOWS_BUILD / "test" / "interop" / "slicerbridge-client-check.exe"
WINDOWS_EXAMPLE = WINDOWS_BUILD / "examples" / "cpp17_sync_client.exe"
WITH_SERVER = pathlib.Path(__file__).parents[1] / "interop" / "with_server.py"


def linux_program(name):
    if not LINUX_BUILD:
        pytest.skip("SLICERBRIDGE_LINUX_BUILD_DIR not set: no Linux reference programs")
    path = pathlib.Path(LINUX_BUILD) / "reference_server" / name
    assert path.is_file(), f"{path} is missing from the Linux build"
    return str(path)


class WindowsServer:
    """The Windows server listening on loopback, stopped on exit."""

    def __enter__(self):
        self.process = subprocess.Popen([WINE, str(WINDOWS_SERVER), "--listen", "127.0.0.1:0"],
                                        stdout=subprocess.PIPE, text=True)
        line = []
        reader = threading.Thread(target=lambda: line.append(self.process.stdout.readline()))
        reader.start()
        reader.join(WAIT)
        assert line and line[0].startswith("listening on "), f"the server said {line!r}"
        self.address = line[0].strip()[len("listening on "):]
        return self

    def __exit__(self, *exc):
        self.process.terminate()
        try:
            self.process.wait(WAIT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def oblique_image():
    voxels = (np.arange(3 * 4 * 5, dtype=np.int32) * 1237 - 30000).astype(np.int16)
    angle = 0.3
    matrix = [[0.8 * np.cos(angle), -0.9 * np.sin(angle), 0.0, -12.5],
              [0.8 * np.sin(angle), 0.9 * np.cos(angle), 0.1, 40.25],
              [0.0, 0.0, 2.5, -7.0],
              [0.0, 0.0, 0.0, 1.0]]
    return Image(voxels.reshape(3, 4, 5), matrix, space="LPS")


def tetrahedron():
    points = np.array([[0, 0, 0], [1.5, 0, 0], [0, 2.25, 0], [0, 0, -3.125]], dtype=np.float64)
    polys = CellArray(np.array([0, 3, 6, 9, 12]), np.array([0, 1, 2, 0, 1, 3, 1, 2, 3, 0, 2, 3]))
    return Mesh(points, space="LPS", polys=polys)


def check_client_session(client):
    """Echo of an image and a mesh, progress of slow, a processor error: what a peer must keep."""
    names = {d.name for d in client.catalog(timeout=WAIT)}
    assert {"echo", "slow", "fail"} <= names
    image, mesh = oblique_image(), tetrahedron()
    outputs = client.invoke("echo", {"image": image, "mesh": mesh}, {"number": 2.5},
                            timeout=WAIT).outputs
    echoed = outputs["image_out"]
    assert echoed.voxels.dtype == image.voxels.dtype
    assert echoed.voxels.tobytes() == image.voxels.tobytes()
    assert np.array_equal(echoed.ijk_to_space, image.ijk_to_space)  # exactly, not approximately
    assert echoed.space == "LPS"
    echoed_mesh = outputs["mesh_out"]
    assert echoed_mesh.points.tobytes() == mesh.points.tobytes() and echoed_mesh.space == "LPS"
    assert np.array_equal(echoed_mesh.polys.connectivity, mesh.polys.connectivity)
    assert outputs["number_out"] == 2.5
    fractions = []
    client.invoke("slow", parameters={"seconds": 0.05, "steps": 4},
                  progress=lambda fraction, message: fractions.append(fraction), timeout=WAIT)
    assert fractions == sorted(fractions) and fractions[-1] == pytest.approx(1.0)
    with pytest.raises(SlicerBridgeError) as failure:
        client.invoke("fail", parameters={"code": 4321}, timeout=WAIT)
    assert failure.value.code == 4321


def test_python_client_windows_server_tcp():
    with WindowsServer() as server, Client.connect(server.address, timeout=WAIT) as client:
        check_client_session(client)


def test_python_client_launches_windows_server():
    client = Client.launch([WINE, str(WINDOWS_SERVER), "--stdio"], timeout=WAIT)
    try:
        check_client_session(client)
    finally:
        client.close(timeout=WAIT)
    assert client.process.returncode == 0


def write_nrrd(path, image):
    directions = " ".join("(%r,%r,%r)" % tuple(image.ijk_to_space[:3, axis]) for axis in range(3))
    origin = "(%r,%r,%r)" % tuple(image.ijk_to_space[:3, 3])
    k, j, i = image.voxels.shape
    header = (f"NRRD0004\ntype: short\ndimension: 3\nspace: left-posterior-superior\n"
              f"sizes: {i} {j} {k}\nspace directions: {directions}\nkinds: domain domain domain\n"
              f"endian: little\nencoding: raw\nspace origin: {origin}\n\n")
    path.write_bytes(header.encode() + image.voxels.astype("<i2").tobytes())


def read_nrrd(path):
    """The fields and the raw voxels of an NRRD file with raw encoding."""
    data = path.read_bytes()
    header, voxels = data.split(b"\n\n", 1)
    fields = dict(line.split(": ", 1) for line in header.decode().splitlines()[1:]
                  if not line.startswith("#"))
    assert fields["encoding"] == "raw"
    return fields, voxels


def numbers(text):
    return [float(x) for x in re.findall(r"[-+0-9.eE]+", text)]


@pytest.mark.parametrize("transport", ["tcp", "launch"])
def test_linux_command_line_windows_server(tmp_path, transport):
    cli = linux_program("slicerbridge")
    image = oblique_image()
    source, result = tmp_path / "in.nrrd", tmp_path / "out.nrrd"
    write_nrrd(source, image)
    run = ["run", "echo", "--input", f"image={source}", "--output", f"image_out={result}",
           "--param", "number=-0.125"]
    if transport == "launch":
        command = [cli, "--launch", f"{WINE} {WINDOWS_SERVER} --stdio"] + run
        done = subprocess.run(command, capture_output=True, text=True, timeout=WAIT)
    else:
        with WindowsServer() as server:
            done = subprocess.run([cli, "--server", server.address] + run, capture_output=True,
                                  text=True, timeout=WAIT)
    assert done.returncode == 0, done.stderr
    assert "number_out = -0.125" in done.stdout
    fields, voxels = read_nrrd(result)
    assert voxels == image.voxels.astype("<i2").tobytes()
    assert fields["space"] == "left-posterior-superior" and fields["sizes"] == "5 4 3"
    assert numbers(fields["space directions"]) == list(image.ijk_to_space[:3, :3].T.ravel())
    assert numbers(fields["space origin"]) == list(image.ijk_to_space[:3, 3])


def run_windows_client(server_command):
    done = subprocess.run([sys.executable, str(WITH_SERVER)] + server_command +
                          ["--", WINE, str(WINDOWS_CLIENT), "{addr}", "--timeout", "10"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "client-check: OK" in done.stderr


def test_windows_client_linux_reference_server_tcp():
    run_windows_client([linux_program("slicerbridge-server"), "--listen", "127.0.0.1:0"])


def test_windows_client_linux_python_server_tcp():
    run_windows_client([sys.executable, "-m", "slicerbridge", "serve", "--listen", "127.0.0.1:0"])


def test_windows_example_client_linux_reference_server():
    done = subprocess.run([sys.executable, str(WITH_SERVER), linux_program("slicerbridge-server"),
                           "--listen", "127.0.0.1:0", "--", WINE, str(WINDOWS_EXAMPLE), "{addr}"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "threshold returned labels: 32x32x32 uint8, same geometry: yes" in done.stdout


def test_windows_client_launches_windows_server():
    # Wine hands a launched Linux program no pipes (its stdin is /dev/null), so the launched
    # server is the Windows one: what this checks is CreateProcess and the pipes to the child.
    done = subprocess.run([WINE, str(WINDOWS_CLIENT), "--timeout", "10", "--launch",
                           str(WINDOWS_SERVER), "--stdio"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "client-check: OK" in done.stderr
