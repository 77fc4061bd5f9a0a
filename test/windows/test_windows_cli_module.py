"""The CLI-module proxy built for Windows (slicerbridge-cli-module.exe, the portable NRRD backend:
no ITK or VTK), run under Wine against the Linux reference server, the way Slicer on Windows runs
it, and compared with the Linux proxy (ITK backend) making the same call.

- Export: the Windows exporter writes, per processor, an entry Slicer on Windows takes
  (``<module>.exe``: qSlicerUtils::isCLIExecutable) and the same XML the Linux exporter writes.
- Run: Slicer's command line for the module (slicer_sem.slicer_command_line, paths as Qt gives
  them on Windows: ``Z:/tmp/...``) on a volume written by ITK (the Linux phantom program),
  uncompressed as Slicer writes CLI inputs, in LPS and restated in RAS. The output's voxels must
  equal, bit for bit, those the Linux proxy writes for the same call, with the same grid and
  place (space directions and origin read as doubles); return parameters the same. A gzip input
  too; tables, transforms, point lists and numbers as the Linux proxy writes them.
- Refusals: a mesh input is refused by name on Windows (it needs VTK), with exit status 4.

Needs SLICERBRIDGE_WINDOWS_BUILD_DIR, SLICERBRIDGE_LINUX_BUILD_DIR and WINE (CTest sets them).
"""
import gzip
import json
import os
import pathlib
import shutil
import subprocess
import sys
import threading
import zlib

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "reference_slicer_adapter" / "python" / "tests"))
import slicer_sem  # noqa: E402

WAIT = 60.0  # seconds for any one step
WINE = os.environ.get("WINE", "wine")
WINDOWS_BUILD = pathlib.Path(os.environ.get("SLICERBRIDGE_WINDOWS_BUILD_DIR", "build-mingw"))
LINUX_BUILD = os.environ.get("SLICERBRIDGE_LINUX_BUILD_DIR", "")
WINDOWS_PROXY = WINDOWS_BUILD / "reference_slicer_adapter" / "cli_module" / \
    "slicerbridge-cli-module.exe"


def linux_program(*parts):
    if not LINUX_BUILD:
        pytest.skip("SLICERBRIDGE_LINUX_BUILD_DIR not set: no Linux reference programs")
    path = pathlib.Path(LINUX_BUILD, *parts)
    assert path.is_file(), f"{path} is missing from the Linux build"
    return path


def windows_path(path):
    """A Linux path as a Windows program under Wine sees it, in Qt's style (Z: is /)."""
    return "Z:" + str(path)


def linux_path(path):
    return path[2:] if path.startswith("Z:") else path


@pytest.fixture(scope="module")
def server():
    """The Linux reference server on loopback."""
    process = subprocess.Popen([str(linux_program("reference_server", "slicerbridge-server")),
                                "--listen", "127.0.0.1:0"], stdout=subprocess.PIPE, text=True)
    line = []
    reader = threading.Thread(target=lambda: line.append(process.stdout.readline()))
    reader.start()
    reader.join(WAIT)
    assert line and line[0].startswith("listening on "), f"the server said {line!r}"
    yield line[0].strip()[len("listening on "):]
    process.terminate()
    try:
        process.wait(WAIT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(WAIT)


@pytest.fixture(scope="module")
def folders(server, tmp_path_factory):
    """The server's processors exported by the Windows proxy (under Wine) and the Linux one."""
    assert WINDOWS_PROXY.is_file(), f"{WINDOWS_PROXY} is not built"
    root = tmp_path_factory.mktemp("exported")
    windows, linux = root / "windows", root / "linux"
    done = subprocess.run([WINE, str(WINDOWS_PROXY), "--server", server,
                           "--output_directory", windows_path(windows)],
                          capture_output=True, text=True, timeout=WAIT)
    assert done.returncode == 0, done.stderr
    done = subprocess.run([str(linux_program("reference_slicer_adapter", "cli_module",
                                             "slicerbridge-cli-module")),
                           "--server", server, "--output_directory", str(linux)],
                          capture_output=True, text=True, timeout=WAIT)
    assert done.returncode == 0, done.stderr
    return windows, linux


@pytest.fixture(scope="module", params=["LPS", "RAS"])
def volume(request, tmp_path_factory):
    """An oblique int16 phantom written by ITK (the Linux phantom program; ITK writes LPS), raw
    as Slicer writes CLI inputs; and the same grid restated in RAS (x and y negated, exactly), the
    space Slicer's own NRRD writer uses: both readers must turn it into the same LPS matrix."""
    folder = tmp_path_factory.mktemp("phantom")
    path = folder / "oblique.nrrd"
    subprocess.run([str(linux_program("reference_server", "slicerbridge-phantom")), str(path),
                    "--size", "20", "--space", "LPS"], check=True, capture_output=True,
                   timeout=WAIT)
    data = path.read_bytes()
    end = data.index(b"\n\n")
    assert b"encoding: raw" in data[:end] and b"space: left-posterior-superior" in data[:end]
    if request.param == "LPS":
        return path
    lines = []
    for line in data[:end].decode("ascii").split("\n"):
        if line.startswith("space: "):
            line = "space: right-anterior-superior"
        elif line.startswith(("space directions: ", "space origin: ")):
            key, value = line.split(": ", 1)
            vectors = []
            for vector in value.split():
                x, y, z = (float(v) for v in vector.strip("()").split(","))
                vectors.append("(%r,%r,%r)" % (-x, -y, z))
            line = key + ": " + " ".join(vectors)
        lines.append(line)
    ras = folder / "oblique-ras.nrrd"
    ras.write_bytes("\n".join(lines).encode("ascii") + data[end:])
    return ras


# ---- an NRRD decoder of its own, for comparing what the two proxies wrote ----------------------

TYPES = {"short": "i2", "int16": "i2", "signed short": "i2", "uchar": "u1", "unsigned char": "u1",
         "uint8": "u1", "float": "f4", "double": "f8", "int": "i4", "int32": "i4",
         "unsigned short": "u2", "ushort": "u2", "uint16": "u2", "int8": "i1",
         "signed char": "i1", "uint": "u4", "uint32": "u4", "unsigned int": "u4"}


def read_nrrd(path):
    """(voxels in native order, geometry as LPS doubles, sizes) of an attached NRRD."""
    data = pathlib.Path(path).read_bytes()
    end = data.index(b"\n\n")
    fields = {}
    for line in data[:end].decode("latin-1").split("\n")[1:]:
        if line and not line.startswith("#") and ":=" not in line:
            key, value = line.split(": ", 1)
            fields[key] = value.strip()
    body = data[end + 2:]
    if fields["encoding"] in ("gzip", "gz"):
        body = zlib.decompress(body, 15 + 32)
    else:
        assert fields["encoding"] == "raw"
    dtype = np.dtype(TYPES[fields["type"]])
    if dtype.itemsize > 1:
        dtype = dtype.newbyteorder("<" if fields["endian"] == "little" else ">")
    sizes = [int(n) for n in fields["sizes"].split()]
    count = int(np.prod(sizes))
    voxels = np.frombuffer(body[:count * dtype.itemsize], dtype=dtype).astype(dtype.newbyteorder("="))
    assert len(body) >= count * dtype.itemsize
    columns = [[float(x) for x in d.strip("()").split(",")]
               for d in fields["space directions"].split() if d != "none"]
    origin = [float(x) for x in fields["space origin"].strip("()").split(",")]
    flip = {"left-posterior-superior": (1, 1), "LPS": (1, 1),
            "right-anterior-superior": (-1, -1), "RAS": (-1, -1)}[fields["space"]]
    lps = [[c[0] * flip[0], c[1] * flip[1], c[2]] for c in columns]
    lps_origin = [origin[0] * flip[0], origin[1] * flip[1], origin[2]]
    return voxels, (lps, lps_origin), sizes


def run_module(folder, processor, values, inputs, work, windows):
    """Runs the module for ``processor`` from ``folder`` with the command line Slicer builds,
    after writing ``inputs`` (parameter -> file) where Slicer writes them."""
    work.mkdir(parents=True, exist_ok=True)
    platform = "windows" if windows else "linux"
    entry = folder / ("SlicerBridge_" + processor + (".exe" if windows else ""))
    modules = slicer_sem.discover_cli_modules(str(folder), platform=platform)
    assert modules.get("SlicerBridge_" + processor) == str(entry), sorted(modules)
    xml, _ = slicer_sem.load_module_xml(str(entry)) if not windows else (
        (folder / ("SlicerBridge_" + processor + ".xml")).read_text(encoding="utf-8"), [])
    parsed = slicer_sem.parse_module(xml)
    temporary = windows_path(work) if windows else str(work)
    command = slicer_sem.slicer_command_line(parsed, str(entry), values, temporary)
    for name, source in inputs.items():
        shutil.copyfile(source, linux_path(command.inputs[name]))
    argv = [WINE, *command.argv] if windows else command.argv
    finished = subprocess.run(argv, capture_output=True, timeout=WAIT)
    return parsed, command, finished


def test_the_windows_export_is_what_slicer_on_windows_loads(folders):
    """Per processor an entry ``<module>.exe`` (what Slicer's factory takes on Windows), its XML
    beside it byte for byte the Linux exporter's, and ``--xml`` under Wine prints it."""
    windows, linux = folders
    on_windows = slicer_sem.discover_cli_modules(str(windows), platform="windows")
    on_linux = slicer_sem.discover_cli_modules(str(linux), platform="linux")
    assert sorted(on_windows) == sorted(on_linux) and len(on_windows) > 3
    for name, entry in on_windows.items():
        assert entry.endswith(name + ".exe")
        assert (windows / (name + ".xml")).read_bytes() == (linux / (name + ".xml")).read_bytes()
    printed = subprocess.run([WINE, on_windows["SlicerBridge_echo"], "--xml"],
                             capture_output=True, timeout=WAIT)
    assert printed.returncode == 0, printed.stderr
    assert printed.stdout == (windows / "SlicerBridge_echo.xml").read_bytes()


@pytest.mark.parametrize("processor,values,output", [
    ("echo", {"image": "vtkMRMLScalarVolumeNode1", "image_out": "vtkMRMLScalarVolumeNode2"},
     "image_out"),
    ("threshold", {"volume": "vtkMRMLScalarVolumeNode1", "labels": "vtkMRMLLabelMapVolumeNode1",
                   "lower": 100, "upper": 400}, "labels"),
    ("gaussian_smoothing", {"volume": "vtkMRMLScalarVolumeNode1",
                            "smoothed": "vtkMRMLScalarVolumeNode2", "sigma": 1.5}, "smoothed"),
])
def test_a_volume_module_under_wine_writes_what_the_linux_proxy_writes(
        folders, volume, tmp_path, processor, values, output):
    windows, linux = folders
    image_input = "image" if processor == "echo" else "volume"
    runs = {}
    for name, folder in (("windows", windows), ("linux", linux)):
        parsed, command, finished = run_module(folder, processor, values,
                                               {image_input: volume}, tmp_path / name,
                                               windows=name == "windows")
        assert finished.returncode == 0, finished.stderr.decode(errors="replace")
        events = slicer_sem.ProgressParser().feed(finished.stdout)
        progress = [value for kind, value in events if kind == "progress"]
        assert progress and progress[-1] == 1.0
        returned = {}
        if command.return_parameter_file:
            returned = slicer_sem.read_return_parameters(
                linux_path(command.return_parameter_file), parsed)
        runs[name] = (read_nrrd(linux_path(command.outputs[output])), returned)
    (win_voxels, win_geometry, win_sizes), win_returned = runs["windows"]
    (lin_voxels, lin_geometry, lin_sizes), lin_returned = runs["linux"]
    assert win_sizes == lin_sizes
    assert win_voxels.dtype == lin_voxels.dtype
    assert win_voxels.tobytes() == lin_voxels.tobytes()
    assert win_geometry == lin_geometry
    assert win_returned == lin_returned
    source_voxels, source_geometry, _ = read_nrrd(volume)
    assert win_geometry == source_geometry  # the phantom's RAS geometry, as LPS, exactly
    if processor == "echo":
        assert win_voxels.tobytes() == source_voxels.tobytes()
    if processor == "threshold":
        assert int(win_returned["inside_count"]) == int(np.count_nonzero(win_voxels == 1)) > 0


def test_a_gzip_input_is_read_too(folders, volume, tmp_path):
    """A user's own gzip NRRD (Slicer itself writes CLI inputs raw) goes through the Windows
    proxy unchanged."""
    windows, _ = folders
    data = volume.read_bytes()
    end = data.index(b"\n\n")
    header = data[:end].replace(b"encoding: raw", b"encoding: gzip")
    compressed = tmp_path / "compressed.nrrd"
    compressed.write_bytes(header + b"\n\n" + gzip.compress(data[end + 2:]))
    _, command, finished = run_module(
        windows, "echo", {"image": "vtkMRMLScalarVolumeNode1",
                          "image_out": "vtkMRMLScalarVolumeNode2"},
        {"image": compressed}, tmp_path / "work", windows=True)
    assert finished.returncode == 0, finished.stderr.decode(errors="replace")
    out_voxels, out_geometry, _ = read_nrrd(linux_path(command.outputs["image_out"]))
    in_voxels, in_geometry, _ = read_nrrd(volume)
    assert out_voxels.tobytes() == in_voxels.tobytes() and out_geometry == in_geometry


def test_a_mesh_is_refused_on_windows_by_name(folders, tmp_path):
    """Meshes need VTK, which the Windows build lacks: the module exits with status 4 (a file
    could not be read) and says so, naming the format."""
    windows, _ = folders
    mesh = tmp_path / "mesh.vtk"
    mesh.write_text("# vtk DataFile Version 4.2\nempty\nASCII\nDATASET POLYDATA\nPOINTS 0 float\n")
    _, command, finished = run_module(
        windows, "mesh_smoothing", {"mesh": "vtkMRMLModelNode1", "smoothed": "vtkMRMLModelNode2"},
        {"mesh": mesh}, tmp_path / "work", windows=True)
    message = finished.stderr.decode(errors="replace")
    assert finished.returncode == 4, message
    extension = os.path.splitext(command.inputs["mesh"])[1]  # the XML's fileExtensions
    assert extension in (".vtk", ".vtp")
    assert f"a mesh ({extension}) needs VTK" in message
    assert not os.path.exists(linux_path(command.outputs["smoothed"]))


def test_tables_transforms_points_and_numbers_need_no_vtk(folders, tmp_path):
    """echo's table, transform, point list and number through the Windows proxy: what it writes
    equals what the Linux proxy writes (text files, line ends aside: Windows writes CR LF), and
    the number comes back through the return parameter file."""
    windows, linux = folders
    table = tmp_path / "table.csv"
    table.write_text("name,volume\nliver,1520.25\nspleen,210\n")
    transform = tmp_path / "transform.tfm"
    transform.write_text("#Insight Transform File V1.0\n#Transform 0\n"
                         "Transform: AffineTransform_double_3_3\n"
                         "Parameters: 0 -1 0 1 0 0 0 0 1 10.5 -20 30\n"
                         "FixedParameters: 0 0 0\n")
    points = tmp_path / "points.mrk.json"
    points.write_text(json.dumps({
        "@schema": "https://raw.githubusercontent.com/slicer/slicer/master/Modules/Loadable/"
                   "Markups/Resources/Schema/markups-schema-v1.0.3.json#",
        "markups": [{"type": "Fiducial", "coordinateSystem": "LPS", "controlPoints": [
            {"label": "F-1", "position": [1.5, -2.25, 3.0]},
            {"label": "F-2", "position": [-4.0, 5.0, 6.125]}]}]}))
    values = {"table": "vtkMRMLTableNode1", "table_out": "vtkMRMLTableNode2",
              "transform": "vtkMRMLLinearTransformNode1",
              "transform_out": "vtkMRMLLinearTransformNode2",
              "points": "vtkMRMLMarkupsFiducialNode1", "points_out": "vtkMRMLMarkupsFiducialNode2",
              "number": 2.75}
    inputs = {"table": table, "transform": transform, "points": points}
    written = {}
    for name, folder in (("windows", windows), ("linux", linux)):
        parsed, command, finished = run_module(folder, "echo", values, inputs, tmp_path / name,
                                               windows=name == "windows")
        assert finished.returncode == 0, finished.stderr.decode(errors="replace")
        files = {slot: pathlib.Path(linux_path(command.outputs[slot])).read_bytes()
                 for slot in ("table_out", "transform_out", "points_out")}
        returned = slicer_sem.read_return_parameters(linux_path(command.return_parameter_file),
                                                     parsed)
        written[name] = (files, returned)
    windows_files, windows_returned = written["windows"]
    linux_files, linux_returned = written["linux"]
    for slot, data in linux_files.items():
        assert windows_files[slot].replace(b"\r\n", b"\n") == data, slot
    assert b"liver" in linux_files["table_out"] and b"10.5" in linux_files["transform_out"]
    assert windows_returned == linux_returned
    assert float(windows_returned["number_out"]) == 2.75
