"""The wrapped client core (``slicerbridgecore``), through SlicerBridgeLib.client, against the
C++ reference server and the Python implementation on loopback: data round trips that keep
geometry, progress, cancel, dropped connections. The ``record`` processor of
recording_server.py shows what travelled on the wire."""

import json
import math
import sys

import numpy as np
import pytest
from vtkmodules.vtkCommonCore import VTK_OBJECT, vtkStringArray

from conftest import TESTS, ServerProcess, python_environment, python_server_command
from SlicerBridgeLib.client import Bridge, BridgeError, CallError
from SlicerBridgeLib.conversions import (ImageValue, MeshValue, PointsValue, Segment, TableValue,
                                         TransformValue)

F = np.diag([-1.0, -1.0, 1.0, 1.0])


def oblique():
    a, b = math.radians(35), math.radians(-12)
    rz = np.array([[math.cos(a), -math.sin(a), 0], [math.sin(a), math.cos(a), 0], [0, 0, 1]])
    rx = np.array([[1, 0, 0], [0, math.cos(b), -math.sin(b)], [0, math.sin(b), math.cos(b)]])
    matrix = np.eye(4)
    matrix[:3, :3] = rz @ rx @ np.diag([0.9, 1.1, 2.75])
    matrix[:3, 3] = [-101.5, 22.0, -7.25]
    return matrix


def echo(bridge, name, value, space="RAS"):
    outputs = bridge.run("echo", {name: value}, space=space, timeout=60)
    assert list(outputs) == [f"{name}_out"]
    return outputs[f"{name}_out"]


@pytest.mark.parametrize("space", ["RAS", "LPS"])
def test_an_oblique_volume_keeps_voxels_and_geometry_both_ways(bridge, space):
    """[IMG-2] [IMG-5]"""
    voxels = (np.arange(5 * 4 * 3, dtype=np.int16).reshape(3, 4, 5) * 37) - 900
    back = echo(bridge, "image", ImageValue(voxels, oblique()), space)
    assert back.kind == "scalar" and back.voxels.dtype == np.int16
    assert np.array_equal(back.voxels, voxels)
    assert np.array_equal(back.ijk_to_ras, oblique())  # bit for bit: F applied twice is exact


def test_a_label_map_keeps_its_segments(bridge):
    """[IMG-4] [IMG-6]"""
    labels = np.zeros((2, 3, 4), dtype=np.uint8)
    labels[1, 1:, 2:] = 3
    labels[0, 0, 0] = 1
    segments = (Segment(1, "liver", (0.8, 0.2, 0.1)), Segment(3, "tumor", (0.0, 1.0, 0.5)))
    back = echo(bridge, "image", ImageValue(labels, oblique(), "label", segments), "LPS")
    assert back.kind == "label"
    assert back.segments == segments
    assert np.array_equal(back.voxels, labels)
    assert np.array_equal(back.ijk_to_ras, oblique())


def test_a_multi_component_image_comes_back_as_a_vector_image(bridge):
    """[IMG-4]"""
    voxels = np.random.default_rng(7).normal(size=(2, 3, 4, 3)).astype(np.float32)
    back = echo(bridge, "image", ImageValue(voxels, oblique(), "vector"))
    assert back.kind == "vector" and back.components == 3
    assert np.array_equal(back.voxels, voxels)


def test_a_mesh_keeps_cells_and_arrays(bridge):
    """[MESH-1] [MESH-2] [MESH-3]"""
    mesh = MeshValue.from_arrays(
        [[1.5, -2, 3], [10, 0.5, 0], [0, 8, -1], [2, 2, 9]],
        polys=[[0, 1, 2], [0, 3, 1], [1, 3, 2], [2, 3, 0]], lines=[[0, 3]], verts=[[2]],
        point_data={"Normals": np.eye(4, 3, dtype=np.float32),
                    "Thickness": np.array([0.5, 1.0, 1.5, 2.0])},
        cell_data={"Region": np.arange(6, dtype=np.int32)})
    back = echo(bridge, "mesh", mesh, "LPS")
    assert np.array_equal(back.points, mesh.points)
    assert back.cells("polys") == mesh.cells("polys")  # winding kept [MESH-3]
    assert back.cells("lines") == [[0, 3]] and back.cells("verts") == [[2]]
    assert np.array_equal(back.point_data()["Thickness"], [0.5, 1.0, 1.5, 2.0])
    assert back.point_data()["Normals"].dtype == np.float32
    assert back.cell_data()["Region"].tolist() == list(range(6))


def test_a_transform_points_and_a_table_come_back_unchanged(bridge):
    """[XFM-1] [PTS-1] [TBL-1]"""
    back = echo(bridge, "transform", TransformValue(oblique()), "LPS")
    assert np.allclose(back.to_parent, oblique(), rtol=0, atol=1e-12)
    points = echo(bridge, "points", PointsValue([[1, 2, 3], [-4.5, 5, 6]], ["a", "b"]), "LPS")
    assert points.points.tolist() == [[1, 2, 3], [-4.5, 5, 6]] and points.labels == ["a", "b"]
    table = echo(bridge, "table", TableValue({"volume": np.array([1.25, 2.5]),
                                             "name": ["liver", "spleen"],
                                             "flagged": [True, False]}))
    assert table.columns["volume"].tolist() == [1.25, 2.5]
    assert table.columns["name"] == ["liver", "spleen"]
    assert table.columns["flagged"].tolist() == [True, False]


def test_progress_then_cancel_ends_the_call_once_as_cancelled(bridge):
    """[PROG-1] [CANCEL-1] [CANCEL-2]"""
    fractions, finished = [], []
    call = bridge.start("slow", parameters={"seconds": 600.0, "steps": 60000},
                        on_progress=lambda fraction, message: fractions.append(fraction),
                        on_done=finished.append)
    while not fractions:
        bridge.logic.WaitForEvents(5)
        bridge.process_events()
    bridge.cancel(call)
    bridge.wait(call, timeout=60)
    assert call.status == "Cancelled"
    assert call.error.cancelled and call.error.name == "cancelled"
    assert finished == [call]
    assert fractions == sorted(fractions) and all(0 <= f <= 1 for f in fractions)
    with pytest.raises(CallError):
        call.outputs()


def test_a_processor_error_reaches_the_caller(bridge):
    """[INV-5]"""
    with pytest.raises(CallError) as failure:
        bridge.run("fail", parameters={"code": 4321, "message": "on purpose"}, timeout=60)
    assert failure.value.code == 4321 and failure.value.message == "on purpose"
    assert bridge.connected


def test_the_catalog_refuses_bad_parameters_before_sending(bridge):
    """[INV-2]"""
    with pytest.raises(BridgeError, match="code"):
        bridge.start("fail", parameters={"code": 3})  # below the minimum of 1000
    with pytest.raises(BridgeError, match="no_such"):
        bridge.start("fail", parameters={"no_such": 3})


def test_wire_geometry_in_lps_is_the_flipped_ras_geometry(core, tmp_path,
                                                                             recording_server):
    """[IMG-5] [XFM-1] [MESH-3]"""
    bridge = Bridge()
    bridge.connect(recording_server.address)
    record = tmp_path / "seen.json"
    labels = np.array([[[0, 2, 2]]], dtype=np.int16)
    inputs = {"image": ImageValue(labels, oblique(), "label", [Segment(2, "vessel")]),
              "mesh": MeshValue.from_arrays([[1, 2, 3], [4, 5, 6], [7, 8, 10]],
                                            polys=[[0, 2, 1]]),
              "transform": TransformValue(oblique()),
              "points": PointsValue([[1, -2, 3]], ["tip"]),
              "table": TableValue({"n": [1, 2]})}
    for space in ("RAS", "LPS"):
        bridge.run("record", inputs, {"path": str(record)}, space=space, timeout=60)
        seen = json.loads(record.read_text())
        flip = F if space == "LPS" else np.eye(4)
        image = seen["image"]
        assert image["space"] == space and image["kind"] == "label"
        assert np.allclose(image["ijk_to_space"], flip @ oblique(), rtol=0, atol=0)
        assert image["voxels"] == [0, 2, 2] and image["shape"] == [1, 1, 3]
        assert image["segments"] == [[2, "vessel", [1.0, 1.0, 0.0]]]
        assert seen["mesh"]["space"] == space
        sign = [-1, -1, 1] if space == "LPS" else [1, 1, 1]
        assert seen["mesh"]["points"][2] == [7 * sign[0], 8 * sign[1], 10]
        assert seen["mesh"]["polys"] == [0, 2, 1]
        assert np.allclose(seen["transform"]["matrix"], flip @ oblique() @ flip, rtol=0, atol=0)
        assert seen["points"]["points"] == [[1 * sign[0], -2 * sign[1], 3]]
        assert seen["points"]["labels"] == ["tip"]
        assert seen["table"] == {"n": [1, 2]}
    bridge.disconnect()


def test_events_reach_logic_observers_on_the_main_thread_with_the_call(core, python_server):
    logic = core.vtkSlicerBridgeClientLogic()
    seen = []

    def observe(caller, event, call):
        seen.append((event, call.GetStatusAsString(), call.GetProgress()))
    observe.CallDataType = VTK_OBJECT
    for event in (logic.ProgressEvent, logic.DoneEvent, logic.ErrorEvent):
        logic.AddObserver(event, observe)
    connected = []
    logic.AddObserver(logic.ConnectedEvent, lambda caller, event: connected.append(event))
    assert logic.StartConnect(python_server.address)
    while not connected:
        logic.WaitForEvents(5)
        logic.ProcessEvents()
    call = core.vtkSlicerBridgeCall()
    call.SetProcessor("slow")
    assert call.SetParametersJSON('{"seconds": 0.05, "steps": 5}')
    assert logic.StartInvoke(call) > 0
    while not call.IsFinished():
        logic.WaitForEvents(5)
        logic.ProcessEvents()
    assert seen[-1][1] == "Succeeded"
    progress = [fraction for _, status, fraction in seen[:-1]]
    assert all(status == "Running" for _, status, _ in seen[:-1])
    assert progress == sorted(progress)
    assert call.GetProgress() == 1.0


def test_a_launched_processor_command_speaks_over_stdio(core, monkeypatch):
    # The launched command inherits this process's environment.
    monkeypatch.setenv("PYTHONPATH", python_environment()["PYTHONPATH"])
    bridge = Bridge()
    bridge.launch(python_server_command("--stdio"))
    assert "echo" in [d["name"] for d in bridge.processors()]
    back = bridge.run("echo", {"transform": TransformValue(oblique())}, timeout=60)
    assert np.array_equal(back["transform_out"].to_parent, oblique())
    bridge.disconnect()
    assert not bridge.connected
    with pytest.raises(BridgeError, match="cannot connect"):
        bridge.launch(["/nonexistent/processor"])


def test_a_server_that_dies_fails_the_running_call_and_the_connection(core):
    server = ServerProcess(python_server_command("--listen", "127.0.0.1:0"),
                           python_environment())
    bridge = Bridge()
    disconnected = []
    bridge.logic.AddObserver(bridge.logic.DisconnectedEvent,
                             lambda caller, event: disconnected.append(event))
    bridge.connect(server.address)
    started = []
    call = bridge.start("slow", parameters={"seconds": 600.0, "steps": 60000},
                        on_progress=lambda fraction, message: started.append(fraction))
    while not started:
        bridge.logic.WaitForEvents(5)
        bridge.process_events()
    server.kill()
    bridge.wait(call, timeout=60)
    assert call.status == "Failed"
    assert call.error.code == -1 and call.error.name == "connection_lost"
    assert len(disconnected) == 1 and not bridge.connected
    server.stop()


def test_disconnect_ends_running_calls_as_cancelled_and_the_bridge_reconnects(core,
                                                                              reference_server):
    bridge = Bridge()
    bridge.connect(reference_server.address)
    started = []
    call = bridge.start("slow", parameters={"seconds": 600.0, "steps": 60000},
                        on_progress=lambda fraction, message: started.append(fraction))
    while not started:
        bridge.logic.WaitForEvents(5)
        bridge.process_events()
    bridge.disconnect()
    assert call.status == "Cancelled"
    bridge.connect(reference_server.address)
    back = bridge.run("echo", {"points": PointsValue([[1, 2, 3]])}, timeout=60)
    assert back["points_out"].points.tolist() == [[1, 2, 3]]


def test_connection_failures_say_why(core):
    bridge = Bridge()
    with pytest.raises(BridgeError, match="not an address"):
        bridge.connect("nowhere")
    with pytest.raises(BridgeError, match="not connected"):
        bridge.start("echo")
    names = vtkStringArray()
    bridge.logic.GetProcessorNames(names)
    assert names.GetNumberOfValues() == 0


# -- misbehaving servers (scripted_server.py) ----------------------------------------------------

@pytest.fixture
def scripted(core):
    servers = []

    def start(scenario):
        server = ServerProcess([sys.executable, str(TESTS / "scripted_server.py"), scenario],
                               python_environment())
        servers.append(server)
        return server
    yield start
    for server in servers:
        server.stop()


def run_probe(bridge):
    call = bridge.start("probe")
    return bridge.wait(call, timeout=60)


def test_an_output_that_breaks_the_data_rules_fails_the_call_with_invalid_message(
        scripted):
    """[DATA-4] [MSG-15]"""
    bridge = Bridge()
    bridge.connect(scripted("bad_image").address)
    call = run_probe(bridge)
    assert call.status == "Failed"
    assert call.error.code == 3 and call.error.name == "invalid_message"
    assert call.output_names() == []  # no partial result


def test_progress_that_goes_backwards_fails_the_call(scripted):
    """[PROG-1]"""
    bridge = Bridge()
    bridge.connect(scripted("backwards_progress").address)
    call = run_probe(bridge)
    assert call.status == "Failed" and call.error.name == "invalid_message"
    assert call.progress == 0.5


def test_a_response_to_an_id_that_is_not_open_is_ignored(scripted):
    """[MSG-8]"""
    bridge = Bridge()
    bridge.connect(scripted("stray_response").address)
    call = run_probe(bridge)
    assert call.status == "Succeeded"
    assert call.output("image").dims == (2, 2, 2)
    assert bridge.connected


def test_a_truncated_frame_is_a_dropped_connection(scripted):
    """[FRAME-8]"""
    bridge = Bridge()
    bridge.connect(scripted("truncated").address)
    call = run_probe(bridge)
    assert call.status == "Failed" and call.error.name == "connection_lost"
    assert not bridge.connected


def test_a_hello_outside_the_offered_versions_fails_the_connection(scripted):
    """[HELLO-6]"""
    bridge = Bridge()
    with pytest.raises(BridgeError, match="handshake failed"):
        bridge.connect(scripted("bad_version").address)
    assert not bridge.connected


def test_an_invalid_description_is_left_out_and_reported_CAT_12(scripted):
    """[CAT-6] [CAT-12]: the connection stands; the processor is missing, with the reason."""
    bridge = Bridge()
    bridge.connect(scripted("bad_catalog").address)
    assert bridge.connected
    assert bridge.processors() == []
    [dropped] = bridge.dropped_processors()
    assert dropped["index"] == 0 and dropped["name"] == "bad name!"
    assert dropped["requirement"].startswith("CAT-") and dropped["reason"]
