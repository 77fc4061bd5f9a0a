"""The decision tables of spec/vectors/decisions run against the Python server's own functions:
negotiate(), the connection machine, the call machine and the pool's resend decision (the C++
SDK runs the same cases)."""

import json
import weakref
from pathlib import Path

import pytest

from slicerbridge import call_machine, connection_machine, resend
from slicerbridge.availability import (Activity, ByteBudget, ConnectionBudget,
                                       ConnectionTimeouts, FairQueue, TokenFailures)
from slicerbridge.errors import ErrorCode
from slicerbridge.limits import Limits
from slicerbridge.messages import ClientHello
from slicerbridge.negotiate import negotiate

DECISIONS = Path(__file__).resolve().parents[2] / "spec" / "vectors" / "decisions"


def load(name):
    vectors = json.loads((DECISIONS / name).read_text(encoding="utf-8"))["vectors"]
    assert vectors, f"{name} has no cases"
    return [pytest.param(v, id=v["id"]) for v in vectors]


def error_code(name):
    return None if name is None else ErrorCode[name.upper()]


@pytest.mark.parametrize("case", load("handshake_decisions.json"))
def test_negotiate(case):
    """[HELLO-3] [HELLO-8] [CAP-4] [CODEC-1] [SEC-3]"""
    hello = case["hello"]
    result = negotiate(ClientHello(min_version=tuple(hello["min_version"]),
                                   max_version=tuple(hello["max_version"]),
                                   capabilities=list(hello["capabilities"]),
                                   token=hello.get("token")),
                       token=case["server"]["token"], codecs=case["server"]["codecs"],
                       limits=Limits(), implementation={"name": "t", "version": "0"})
    if case["outcome"] == "refuse":
        assert result.refusal is not None
        assert result.refusal.code == error_code(case["error"])
        return
    assert result.refusal is None
    assert list(result.reply.version) == case["version"]
    assert sorted(result.reply.capabilities) == sorted(case["capabilities"])
    assert result.progress == case["progress"]


@pytest.mark.parametrize("case", load("connection_decisions.json"))
def test_connection_decision(case):
    """[MSG-11] [HELLO-9] [HELLO-2] [MSG-5] [MSG-12] [BYE-2] [CANCEL-4] [MSG-10] [BULK-9]"""
    decision = connection_machine.decide(case["phase"], case["inbound"], id_open=case["id_open"],
                                         error=error_code(case["error"]))
    assert decision.action == case["action"]
    assert decision.error == error_code(case["action_error"])


@pytest.mark.parametrize("case", load("call_transitions.json"))
def test_call_transition(case):
    """[CANCEL-1] [CANCEL-2] [CANCEL-3] [INV-6] [DROP-1] [MSG-4]"""
    step = call_machine.transition(case["phase"], case["event"])
    assert step.next == case["next"]
    assert step.action == case["action"]
    assert step.error == error_code(case["error"])


@pytest.mark.parametrize("message, bulk_error, hello_ok, expected", [
    (None, False, False, "undecodable"),
    ({"kind": 3}, False, False, "undecodable"),
    ({"kind": "hello"}, False, True, "hello"),
    ({"kind": "hello"}, False, False, "malformed_hello"),
    ({"kind": "request", "id": 1, "method": "ping"}, False, False, "request"),
    ({"kind": "request", "id": 1, "method": "ping"}, True, False, "request_with_bad_bulk"),
    ({"kind": "request", "id": 1}, False, False, "malformed_request"),
    ({"kind": "request", "id": 1, "method": "ping", "params": []}, False, False,
     "malformed_request"),
    ({"kind": "request", "method": "ping"}, False, False, "request_without_id"),
    ({"kind": "response", "id": 1}, False, False, "response"),
    ({"kind": "notification", "method": "cancel", "params": {"id": 1}}, False, False, "cancel"),
    ({"kind": "notification", "method": "cancel", "params": {"id": 1}}, True, False, "bad_bulk"),
    ({"kind": "notification", "method": "cancel", "params": {"id": "x"}}, False, False,
     "notification"),
    ({"kind": "notification", "method": "progress"}, False, False, "notification"),
    ({"kind": "notification"}, False, False, "notification_without_method"),
    ({"kind": "gossip"}, False, False, "unknown_kind"),
])
def test_classify(message, bulk_error, hello_ok, expected):
    """[MSG-12] [MSG-16] [HELLO-5]: heads are classified as the table names them."""
    assert connection_machine.classify(message, bulk_error, hello_ok) == expected


def test_call_machine_answers_once():
    """[CANCEL-2] [CANCEL-3]: a cancelled call gets one answer; a late result is discarded."""
    call = call_machine.CallMachine()
    assert call.on(call_machine.START).action == call_machine.RUN
    assert call.on(call_machine.CANCEL).action == call_machine.REQUEST_STOP
    assert call.on(call_machine.GRACE_EXPIRED).error == ErrorCode.CANCELLED
    assert call.finished
    assert call.on(call_machine.COMPUTED).action == call_machine.NONE


@pytest.mark.parametrize("case", load("resend_decisions.json"))
def test_resend_decision(case):
    """[RESEND-1] [RESEND-2] [RESEND-3] [RESEND-4] [RESEND-5]: the pool's decision on a call its
    connection is done with."""
    decision = resend.decide(case["outcome"], case["idempotent"], case["attempts"],
                             case["max_retries"])
    assert decision.action == case["action"]
    assert decision.failure == (None if case["action"] == "complete" else case["error"])
    assert decision.connection == case["connection"]


# -- the server's availability (section 7.1): byte budgets and the fair worker queue ----------

@pytest.mark.parametrize("case", load("budget_decisions.json"))
def test_budget_decision(case):
    """[LIMIT-9]: the byte budgets' script, through the non-blocking calls the server's waits
    retry (a frame admitted is received at once; its bytes stay held until released)."""
    server = ByteBudget(case["total"])
    connections = {name: ConnectionBudget(server, limit)
                   for name, limit in case["connections"].items()}
    waiting = {}  # connection -> its frame that waits
    for step in case["steps"]:
        budget = connections[step["connection"]]
        if "reserve_frame" in step:
            admitted = budget.try_reserve_frame(step["reserve_frame"])
            assert admitted == (step["expect"] == "admitted"), step
            if not admitted:
                waiting[step["connection"]] = step["reserve_frame"]
        elif "add" in step:
            budget.add(step["add"])
        elif "release" in step:
            budget.release(step["release"])
            admits = sorted(name for name, size in list(waiting.items())
                            if connections[name].try_reserve_frame(size))
            for name in admits:
                del waiting[name]
            assert admits == step["admits"], step
        else:
            assert step["observe"] == "next_frame"
            assert budget.may_start_frame() == (step["expect"] == "reads"), step
    assert not waiting
    assert {"total": server.held, **{n: c.held for n, c in connections.items()}} == case["held"]


@pytest.mark.parametrize("case", load("fair_queue_decisions.json"))
def test_fair_queue_decision(case):
    """[LIMIT-10]: which connection's call the workers run next."""
    queue = FairQueue(case["workers"])
    for call, step in enumerate(case["steps"]):
        start = queue.push(step["push"], call) if "push" in step else \
            queue.finished(step["finished"])
        started = None if start is None else start[0]
        assert started == step["starts"], step
        assert started in step.get("starts_one_of", [started]), step


def test_fair_queue_keeps_no_owner_with_nothing_waiting_or_running():
    """Owners are connections: one whose calls all finished, or whose waiting calls were taken
    when it went, is let go, whatever order that came in."""
    class Owner:
        pass

    queue = FairQueue(1)
    running, waiting, unstarted = Owner(), Owner(), Owner()
    owners = [weakref.ref(owner) for owner in (running, waiting, unstarted)]
    assert queue.push(running, "r")[0] is running
    assert queue.push(waiting, "w1") is None
    assert queue.push(waiting, "w2") is None
    assert queue.push(unstarted, "u") is None
    assert queue.take_waiting(unstarted) == ["u"]
    assert queue.finished(running)[0] is waiting  # w1 starts; w2 waits
    assert queue.take_waiting(waiting) == ["w2"]
    assert queue.finished(waiting) is None
    del running, waiting, unstarted
    assert [owner() for owner in owners] == [None, None, None]
    assert queue.running == 0


# -- availability: connection timeouts and failed-token delays (section 7.1, [SEC-11]) ----------
# The tables' times are milliseconds; both classes take any unit, and integers keep the edges
# (a timeout reached exactly, or 1 ms short) exact.

@pytest.mark.parametrize("case", load("timeout_decisions.json"))
def test_connection_timeouts(case):
    """[LIMIT-5] [LIMIT-6] [LIMIT-7] [LIMIT-9]: whether the server closes the connection at each
    step, and why; nothing closes before its timeout."""
    limits = case["timeouts"]
    timeouts = ConnectionTimeouts(limits["hello"], limits["idle"], limits["stall"], 0)
    received = sent = 0
    for step in case["steps"]:
        received, sent = received + step["received"], sent + step["sent"]
        activity = Activity(bytes_received=received, bytes_sent=sent,
                            **{name: True for name in step["state"]})
        assert timeouts.observe(step["at"], activity) == step["close"], f"at {step['at']} ms"


@pytest.mark.parametrize("case", load("token_delay_decisions.json"))
def test_token_delays(case):
    """[SEC-11]: the delay of each failed token, per address (the table names two addresses at
    most: the bound on those remembered is test_token_delay.py's)."""
    config = case["config"]
    failures = TokenFailures(config["first"], config["longest"], config["quiet"])
    for step in case["steps"]:
        if step["token"] == "right":
            failures.succeeded(step["address"])
            assert step["delay"] == 0
        else:
            assert failures.failed(step["address"], step["at"]) == step["delay"], \
                f"at {step['at']} ms"
