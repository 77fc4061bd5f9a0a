"""Processors as Slicer CLI modules: the exporter and its entries (``slicerbridge-cli-module``),
tested the way Slicer uses them, without Slicer.

``slicer_sem`` reproduces Slicer's own rules (module discovery, SEM's parser, the form, the
command line vtkSlicerCLIModuleLogic builds, its progress reading, the return parameter file),
each written from the Slicer source it names. Every test here exports a real server's
processors into a folder, discovers the modules there as Slicer would, builds Slicer's command
line from the XML and runs it: against the C++ reference server and the Python server, over
TCP, TLS and a launched processor [CAT-4].
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import slicer_sem
from conftest import BUILD, REFERENCE_SERVER, TESTS, ServerProcess, python_environment

PROXY = BUILD / "reference_slicer_adapter" / "cli_module" / "slicerbridge-cli-module"
PHANTOM = BUILD / "reference_server" / "slicerbridge-phantom"
TIMEOUT = 60


@pytest.fixture(scope="module", autouse=True)
def built():
    for program in (PROXY, PHANTOM, REFERENCE_SERVER):
        if not program.exists():
            pytest.skip(f"{program} is not built")


def start_test_server(*arguments):
    return ServerProcess([sys.executable, str(TESTS / "cli_module_server.py"), *arguments],
                         python_environment())


@pytest.fixture
def test_server():
    """The Python implementation with the processors of cli_module_server.py."""
    server = start_test_server()
    yield server
    server.stop()


def export(folder, *arguments, expect=0):
    finished = subprocess.run([str(PROXY), "--output_directory", str(folder), *arguments],
                              capture_output=True, text=True, timeout=TIMEOUT)
    assert finished.returncode == expect, finished.stderr
    return finished


def module(folder, processor):
    """The module Slicer would load for ``processor`` from ``folder``: entry, parsed XML."""
    entry = Path(folder) / ("SlicerBridge_" + processor)
    assert slicer_sem.is_cli_executable(str(entry), platform="linux")
    xml_path = slicer_sem.module_xml_for(str(entry))
    assert xml_path is not None
    return entry, slicer_sem.parse_module(Path(xml_path).read_text(encoding="utf-8"))


def run_as_slicer(entry, parsed, values, work, node_files=(), env=None):
    """Runs ``entry`` with the command line Slicer builds for ``values`` (node parameters as
    node IDs), after putting ``node_files`` (parameter -> file) where Slicer writes them."""
    command = slicer_sem.slicer_command_line(parsed, str(entry), values, str(work))
    for name, source in dict(node_files).items():
        shutil.copyfile(source, command.inputs[name])
    finished = subprocess.run(command.argv, capture_output=True, timeout=TIMEOUT, env=env)
    return command, finished


def nrrd_geometry(path):
    """The header fields of an NRRD file that fix its grid and place in space."""
    fields = {}
    with open(path, "rb") as stream:
        for raw in stream:
            line = raw.decode("latin-1").rstrip("\n")
            if not line:
                break
            if ": " in line and not line.startswith("#"):
                key, value = line.split(": ", 1)
                fields[key] = value
    return {key: fields.get(key) for key in ("type", "sizes", "space", "space directions",
                                             "space origin")}


@pytest.fixture(scope="module")
def oblique_volume(tmp_path_factory):
    """An oblique int16 phantom in LPS, written by the project's phantom program."""
    path = tmp_path_factory.mktemp("phantom") / "oblique.nrrd"
    subprocess.run([str(PHANTOM), str(path), "--size", "24", "--space", "LPS"], check=True,
                   capture_output=True, timeout=TIMEOUT)
    return path


# ---- discovery and XML -------------------------------------------------------------------------

@pytest.mark.parametrize("server_kind", ["reference", "test"])
def test_every_processor_is_a_module_slicer_loads(server_kind, reference_server, test_server,
                                                  tmp_path):
    """[CAT-4] Every processor of each implementation becomes a module that Slicer's factory
    takes (an executable without a dot, its XML beside it), whose XML SEM's parser accepts with
    a title, with nothing in it that Slicer's form or command line would get wrong; `--xml`
    prints the same document."""
    server = reference_server if server_kind == "reference" else test_server
    finished = export(tmp_path, "--server", server.address)
    configuration = json.loads((tmp_path / "slicerbridge-modules.json").read_text())
    assert configuration["server"] == server.address
    discovered = slicer_sem.discover_cli_modules(str(tmp_path), platform="linux")
    assert sorted(discovered) == sorted(configuration["modules"]), finished.stdout
    assert len(discovered) > 3
    for module_name, processor in configuration["modules"].items():
        entry, parsed = module(tmp_path, processor)
        assert parsed.title
        assert slicer_sem.generator_problems(parsed) == [], module_name
        printed = subprocess.run([str(entry), "--xml"], capture_output=True, timeout=10)
        assert printed.returncode == 0
        assert printed.stdout == (tmp_path / (module_name + ".xml")).read_bytes()


def test_awkward_slots_are_usable_in_slicers_form(test_server, tmp_path):
    """What Slicer's form makes of the slots that a naive mapping gets wrong."""
    export(tmp_path, "--server", test_server.address)
    _, parsed = module(tmp_path, "awkward")
    form = {p.name: slicer_sem.form_widget_constraints(p) for p in parsed.parameters}
    by_name = {p.name: p for p in parsed.parameters}
    for name, constraints in form.items():
        assert constraints.usable, (name, constraints)
        assert not constraints.problems, (name, constraints.problems)
    # 64-bit integers: a text field the proxy parses, not a 0..1 slider or a default shown as 0
    assert by_name["big"].tag == "string" and by_name["big"].default == str(1 << 40)
    assert form["bounded"].value == 5 and form["bounded"].maximum >= 5
    assert (form["small"].minimum, form["small"].maximum) == (0, 10)
    # floats: plain decimals, no 31-digit default, no 1e-05 shown as 0.00
    assert by_name["huge"].tag == "string" and by_name["huge"].default == "1e+30"
    assert form["tiny"].value == pytest.approx(1e-5) and form["tiny"].decimals >= 5
    # the kind of an image slot decides the nodes offered; a required input offers no "None"
    assert by_name["volume"].type == "scalar" and by_name["volume"].index == "0"
    assert form["volume"].none_enabled is False
    assert by_name["mask"].type == "any" and "(optional)" in by_name["mask"].label
    # a slot named like the module's own flag, and the advanced group collapsed
    assert by_name["slot_xml"].longflag == "slot_xml"
    assert [g.advanced for g in parsed.groups if g.label == "Advanced options"] == ["true"]
    assert "3 values" in by_name["origin"].description
    assert " spaced out " not in form["mode"].choices  # Slicer trims; the proxy maps it back


def test_awkward_values_reach_the_processor_as_chosen(test_server, oblique_volume, tmp_path):
    """The command line Slicer builds from the form carries every value to the processor: an
    unticked check box whose default is true arrives as false, 64-bit integers exactly, a
    trimmed choice as the processor's own, vectors as lists."""
    export(tmp_path / "modules", "--server", test_server.address)
    entry, parsed = module(tmp_path / "modules", "awkward")
    record = tmp_path / "record.json"
    command, finished = run_as_slicer(
        entry, parsed,
        {"record": str(record), "volume": "vtkMRMLScalarVolumeNode1", "sharpen": False,
         "big": str((1 << 40) - 3), "bounded": 7, "mode": "spaced out",
         "origin": "1.5, -2, 3", "names": "'x', 'y z'", "slot_xml": "kept"},
        tmp_path, {"volume": oblique_volume})
    assert finished.returncode == 0, finished.stderr
    received = json.loads(record.read_text())
    assert received["sharpen"] is False
    assert received["big"] == (1 << 40) - 3
    assert received["bounded"] == 7
    assert received["mode"] == " spaced out "
    assert received["origin"] == [1.5, -2.0, 3.0]
    assert received["names"] == ["x", "y z"]
    assert received["xml"] == "kept"
    assert received["mask"] is False
    assert received["huge"] == 1e30 and received["tiny"] == pytest.approx(1e-5)


def test_values_the_processor_refuses_fail_before_the_call(test_server, oblique_volume, tmp_path):
    """A vector of the wrong length or out of range, which Slicer's free-text field cannot
    stop, fails with a message naming the flag, exit 2."""
    export(tmp_path / "modules", "--server", test_server.address)
    entry, parsed = module(tmp_path / "modules", "awkward")
    _, finished = run_as_slicer(
        entry, parsed, {"record": str(tmp_path / "r.json"), "volume": "vtkMRMLScalarVolumeNode1",
                        "origin": "1, 2"}, tmp_path, {"volume": oblique_volume})
    assert finished.returncode == 2
    assert b"--origin" in finished.stderr and b"elements" in finished.stderr
    assert not (tmp_path / "r.json").exists()


# ---- running ---------------------------------------------------------------------------------

@pytest.mark.parametrize("server_kind", ["reference", "python"])
def test_a_volume_round_trip_keeps_its_grid_and_place(server_kind, reference_server,
                                                      python_server, oblique_volume, tmp_path):
    """echo through the module, as Slicer runs it: the output file Slicer reads back has the
    oblique LPS geometry and the voxels of the input file."""
    server = reference_server if server_kind == "reference" else python_server
    export(tmp_path / "modules", "--server", server.address)
    entry, parsed = module(tmp_path / "modules", "echo")
    command, finished = run_as_slicer(
        entry, parsed, {"image": "vtkMRMLScalarVolumeNode1",
                        "image_out": "vtkMRMLScalarVolumeNode2"},
        tmp_path, {"image": oblique_volume})
    assert finished.returncode == 0, finished.stderr
    output = command.outputs["image_out"]
    assert output.endswith(".nrrd")
    assert nrrd_geometry(output) == nrrd_geometry(oblique_volume)
    assert nrrd_geometry(output)["space"] in ("left-posterior-superior", "LPS")


def test_progress_reaches_slicer_and_the_output_lands(reference_server, oblique_volume, tmp_path):
    """Slicer's reading of standard output sees progress rise to 1 and the processor's name;
    gaussian smoothing writes a float volume on the input's grid."""
    export(tmp_path / "modules", "--server", reference_server.address)
    entry, parsed = module(tmp_path / "modules", "gaussian_smoothing")
    command = slicer_sem.slicer_command_line(
        parsed, str(entry), {"volume": "vtkMRMLScalarVolumeNode1",
                             "smoothed": "vtkMRMLScalarVolumeNode2", "sigma": 1.5}, str(tmp_path))
    shutil.copyfile(oblique_volume, command.inputs["volume"])
    process = subprocess.Popen(command.argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    parser = slicer_sem.ProgressParser()
    events = []
    while True:
        chunk = os.read(process.stdout.fileno(), 4096)
        if not chunk:
            break
        events += parser.feed(chunk)
    assert process.wait(timeout=TIMEOUT) == 0, process.stderr.read()
    progress = [value for kind, value in events if kind == "progress"]
    assert progress and progress == sorted(progress) and progress[-1] == 1.0
    assert parser.message
    assert parser.output_text().strip() == ""
    smoothed = nrrd_geometry(command.outputs["smoothed"])
    expected = nrrd_geometry(oblique_volume)
    assert smoothed["type"] == "float"
    assert {k: v for k, v in smoothed.items() if k != "type"} == \
        {k: v for k, v in expected.items() if k != "type"}


def test_scalar_outputs_come_back_through_the_return_parameter_file(reference_server,
                                                                    oblique_volume, tmp_path):
    """[CAT-7] threshold's count of voxels inside is a return parameter: no flag in the XML,
    `--returnparameterfile` on Slicer's command line, and a `name = value` line Slicer reads
    back; it agrees with the label map written beside it."""
    export(tmp_path / "modules", "--server", reference_server.address)
    entry, parsed = module(tmp_path / "modules", "threshold")
    count = parsed.parameter("inside_count")
    assert slicer_sem.is_return_parameter(count) and count.tag == "integer"
    command, finished = run_as_slicer(
        entry, parsed, {"volume": "vtkMRMLScalarVolumeNode1",
                        "labels": "vtkMRMLLabelMapVolumeNode1", "lower": 100, "upper": 400},
        tmp_path, {"volume": oblique_volume})
    assert finished.returncode == 0, finished.stderr
    assert command.return_parameter_file is not None
    returned = slicer_sem.read_return_parameters(command.return_parameter_file, parsed)
    labels = Path(command.outputs["labels"]).read_bytes()
    voxels = labels[labels.index(b"\n\n") + 2:]
    assert int(returned["inside_count"]) == sum(1 for v in voxels if v == 1) > 0
    assert b"\n\n" not in Path(command.return_parameter_file).read_bytes()


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM])
def test_killing_the_module_cancels_the_call_on_the_server(how, test_server, tmp_path):
    """Slicer's Cancel kills the module's process (SIGKILL of the tree); a SIGTERM asks first.
    Either way the processor on the server sees its call cancelled [DROP-1] [CANCEL-1]."""
    export(tmp_path / "modules", "--server", test_server.address)
    entry, parsed = module(tmp_path / "modules", "wait_for_cancel")
    marker = tmp_path / "marker"
    command = slicer_sem.slicer_command_line(parsed, str(entry), {"marker": str(marker)},
                                             str(tmp_path))
    process = subprocess.Popen(command.argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + TIMEOUT
    while not (marker.exists() and marker.read_text() == "started"):
        assert time.monotonic() < deadline and process.poll() is None, process.stderr.read()
        time.sleep(0.02)
    process.send_signal(how)
    status = process.wait(timeout=TIMEOUT)
    assert status == (-signal.SIGKILL if how == signal.SIGKILL else 130)
    while marker.read_text() != "cancelled":
        assert time.monotonic() < deadline, marker.read_text()
        time.sleep(0.02)
    process.stdout.close()
    process.stderr.close()


def test_a_launched_processor_serves_its_modules(oblique_volume, tmp_path):
    """A processor launched over its standard input and output (a conda environment's Python,
    say) is exported and run like a server; the launch command lives in the folder's
    configuration. Slicer's own PYTHONPATH and PYTHONHOME never reach the launched processor:
    a command that needs a PYTHONPATH sets it itself."""
    env = python_environment()
    bare = f"{sys.executable} -m slicerbridge serve --stdio"
    refused = subprocess.run([str(PROXY), "--output_directory", str(tmp_path / "none"),
                              "--launch", bare], capture_output=True, text=True,
                             timeout=TIMEOUT, env=env)
    assert refused.returncode == 3
    assert "No module named slicerbridge" in refused.stderr
    launch = f"env PYTHONPATH={env['PYTHONPATH']} {bare}"
    finished = subprocess.run([str(PROXY), "--output_directory", str(tmp_path / "modules"),
                               "--launch", launch], capture_output=True, text=True,
                              timeout=TIMEOUT, env=env)
    assert finished.returncode == 0, finished.stderr
    assert json.loads((tmp_path / "modules" / "slicerbridge-modules.json").read_text())[
        "launch"] == launch
    entry, parsed = module(tmp_path / "modules", "threshold")
    command, finished = run_as_slicer(
        entry, parsed, {"volume": "vtkMRMLScalarVolumeNode1",
                        "labels": "vtkMRMLLabelMapVolumeNode1", "lower": 100, "upper": 400},
        tmp_path, {"volume": oblique_volume}, env=env)
    assert finished.returncode == 0, finished.stderr
    labels = nrrd_geometry(command.outputs["labels"])
    assert labels["space directions"] == nrrd_geometry(oblique_volume)["space directions"]


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    if shutil.which("openssl") is None:
        pytest.skip("no openssl command")
    folder = tmp_path_factory.mktemp("tls")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=localhost", "-addext",
                    "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout",
                    str(folder / "key.pem"), "-out", str(folder / "cert.pem")],
                   check=True, capture_output=True, timeout=TIMEOUT)
    return folder / "cert.pem", folder / "key.pem"


def test_tls_with_a_token_file(certificate, oblique_volume, tmp_path):
    """A TLS server that requires a token: the folder's configuration names the CA file and the
    token file, neither the XML nor the configuration holds the token, and the modules run. A
    folder exported without the CA certificates fails to connect, saying why."""
    cert, key = certificate
    token_file = tmp_path / "token"
    token_file.write_text("a-long-enough-token-for-the-tests\n")
    server = ServerProcess([str(REFERENCE_SERVER), "--listen", "127.0.0.1:0", "--tls-cert",
                            str(cert), "--tls-key", str(key), "--token",
                            "a-long-enough-token-for-the-tests"])
    try:
        assert server.address.startswith("tls://")
        export(tmp_path / "modules", "--server", server.address, "--token_file", str(token_file),
               "--tls_ca", str(cert))
        configuration = (tmp_path / "modules" / "slicerbridge-modules.json").read_text()
        assert json.loads(configuration)["token_file"] == str(token_file)
        for path in (tmp_path / "modules").iterdir():
            if path.suffix in (".json", ".xml"):
                assert "a-long-enough-token" not in path.read_text()
        entry, parsed = module(tmp_path / "modules", "echo")
        command, finished = run_as_slicer(
            entry, parsed, {"image": "vtkMRMLScalarVolumeNode1",
                            "image_out": "vtkMRMLScalarVolumeNode2"},
            tmp_path, {"image": oblique_volume})
        assert finished.returncode == 0, finished.stderr
        assert nrrd_geometry(command.outputs["image_out"]) == nrrd_geometry(oblique_volume)
        refused = export(tmp_path / "untrusted", "--server", server.address, "--token_file",
                         str(token_file), expect=3)
        assert "not trusted" in refused.stderr
    finally:
        server.stop()


# ---- failures --------------------------------------------------------------------------------

def test_failures_exit_non_zero_with_the_reason_on_standard_error(reference_server,
                                                                  oblique_volume, tmp_path):
    """What Slicer shows as the module's error text: a processor's own error (exit 1), an
    unreadable input file (exit 4), an output folder that cannot be written, found before the
    call (exit 4); no partial output is left."""
    export(tmp_path / "modules", "--server", reference_server.address)
    entry, parsed = module(tmp_path / "modules", "fail")
    _, finished = run_as_slicer(entry, parsed, {"code": 1234, "message": "no luck"}, tmp_path)
    assert finished.returncode == 1
    assert b"no luck" in finished.stderr and b"1234" in finished.stderr

    entry, parsed = module(tmp_path / "modules", "gaussian_smoothing")
    broken = tmp_path / "broken.nrrd"
    broken.write_bytes(b"NRRD0004\ntype: short\nsizes: 10 10 10\n")
    command, finished = run_as_slicer(entry, parsed, {"volume": "vtkMRMLScalarVolumeNode1"},
                                      tmp_path, {"volume": broken})
    assert finished.returncode == 4
    assert b"input volume" in finished.stderr

    finished = subprocess.run([str(entry), str(oblique_volume), "--smoothed",
                               str(tmp_path / "missing" / "out.nrrd"), "--sigma", "50"],
                              capture_output=True, timeout=TIMEOUT)
    assert finished.returncode == 4
    assert b"output smoothed: cannot write into" in finished.stderr
    assert not (tmp_path / "missing").exists()


def test_reexporting_updates_the_folder(reference_server, test_server, tmp_path):
    """Exporting another server into the same folder removes the modules it does not serve
    and writes the new ones; the configuration points at the new server."""
    export(tmp_path, "--server", test_server.address)
    assert (tmp_path / "SlicerBridge_awkward").exists()
    finished = export(tmp_path, "--server", reference_server.address)
    assert "removed SlicerBridge_awkward" in finished.stdout
    assert not (tmp_path / "SlicerBridge_awkward").exists()
    assert not (tmp_path / "SlicerBridge_awkward.xml").exists()
    assert (tmp_path / "SlicerBridge_gaussian_smoothing").exists()
    assert json.loads((tmp_path / "slicerbridge-modules.json").read_text())["server"] == \
        reference_server.address


def test_the_exporter_is_a_module_too(tmp_path):
    """Installed by the extension, the exporter is itself a CLI module Slicer loads."""
    entry = tmp_path / "SlicerBridgeExport"
    shutil.copyfile(PROXY, entry)
    entry.chmod(0o755)
    assert slicer_sem.is_cli_executable(str(entry), platform="linux")
    xml, _ = slicer_sem.load_module_xml(str(entry))
    parsed = slicer_sem.parse_module(xml)
    assert parsed.title == "SlicerBridge Export"
    assert {p.name for p in parsed.parameters} >= {"server", "launch", "token_file", "tls_ca",
                                                   "output_directory"}
    assert slicer_sem.generator_problems(parsed) == []
