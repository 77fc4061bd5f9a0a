"""The client's call table (slicerbridge.call_table) against every case of
spec/vectors/client_call_table.json, the cases the C++ table runs too."""

import json
from pathlib import Path

import pytest

from slicerbridge.call_table import COMPLETE, CallTable
from slicerbridge.errors import ErrorCode

VECTORS = Path(__file__).resolve().parents[2] / "spec" / "vectors" / "client_call_table.json"
CONNECTION_LOST = object()  # the connection's own error, `connection_lost` in the vectors


def load():
    with VECTORS.open(encoding="utf-8") as source:
        return [pytest.param(vector, id=vector["id"]) for vector in json.load(source)["vectors"]]


def error_named(name):
    if name is None:
        return None
    if name == "connection_lost":
        return CONNECTION_LOST
    return ErrorCode[name.upper()]


def as_vector(action):
    """An action as the vectors write it."""
    out = {"action": action.kind}
    if action.id is not None:
        out["id"] = action.id
    if action.kind == "arm_timer":
        out["seconds"] = action.seconds
    elif action.kind == "deliver_progress":
        out["fraction"] = action.fraction
    elif action.kind == COMPLETE:
        error = action.error
        out["error"] = ("connection_lost" if error is CONNECTION_LOST
                        else None if error is None else ErrorCode(error).wire_name)
    elif action.kind == "report":
        out = {"action": "report", "requirement": action.requirement}
    return out


def run_event(table, event):
    kind = event["event"]
    if kind == "reserve":
        table.reserve(event["id"])
        return []
    if kind == "start":
        return table.start(event["id"], event["method"], event.get("give_up_after"))
    if kind == "send_failed":
        return table.on_send_failed(event["id"], error_named(event["error"]))
    if kind == "response":
        return table.on_response(event["id"], error_named(event["error"]),
                                 event.get("malformed", False))
    if kind == "progress":
        return table.on_progress(event["id"], event["fraction"])
    if kind == "cancel_requested":
        return table.on_cancel_requested(event["id"])
    if kind == "give_up":
        return table.on_give_up(event["id"])
    if kind == "connection_lost":
        return table.on_connection_lost(CONNECTION_LOST)
    raise AssertionError(f"unknown event {kind}")


@pytest.mark.parametrize("vector", load())
def test_call_table_case(vector):
    """Every case of client_call_table.json: [MSG-1] [MSG-4] [MSG-8] [MSG-15] [MSG-17] [PROG-1]
    [PROG-2] [PROG-3] [CANCEL-1] [CANCEL-2] [CANCEL-5] [INV-6] [DROP-1] [LIMIT-1] [LIMIT-13]"""
    table = CallTable()
    table.cancel_in_force = vector["cancel_in_force"]
    if "max_in_flight" in vector:
        table.max_in_flight = vector["max_in_flight"]
    for step in vector["steps"]:
        actions = [as_vector(a) for a in run_event(table, step["event"])]
        assert actions == step["actions"], step["event"]


def test_the_table_holds_every_case_and_forgets_answered_calls():
    assert len(load()) >= 18
    table = CallTable()
    table.start(1, "invoke", 2.0)
    assert table.is_open(1) and len(table) == 1
    table.on_response(1)
    assert not table.is_open(1) and len(table) == 0
