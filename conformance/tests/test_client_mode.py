"""Client mode against the fixture client: the good one passes every case; each flaw fails exactly
the cases that check the broken behaviour, so no case can pass by accident."""

from __future__ import annotations

import concurrent.futures
import socket

import pytest

from conftest import FIXTURE_CLIENT, PYTHON, run_suite
from fixture_client import FLAWS
from slicerbridge_conformance.client_mode import CASES, ScriptedServer

ALL = {case.id for case in CASES}
NONZERO = {case.id for case in CASES if case.data["expect"] == "nonzero"}
EVERY_CODEC = "progress,codec.zstd,codec.lz4"
NO_LZ4 = "progress,codec.zstd"
# Against a client offering every codec this case has nothing to test.
UNTESTABLE_WITH_EVERY_CODEC = {"client.unoffered-codec-listed"}

# flaw -> (capabilities the client offers, exit status, {outcome: cases}). Every case not listed
# must PASS, or be SKIPPED when it is in UNTESTABLE_WITH_EVERY_CODEC.
EXPECTED = {
    "exit-zero-on-error": (EVERY_CODEC, 1, {"FAIL": NONZERO - UNTESTABLE_WITH_EVERY_CODEC}),
    "no-timeout": (EVERY_CODEC, 3, {"ERROR": {"client.cancel-never-answered", "client.never-answers",
                                              "client.response-without-id", "client.silent-server"}}),
    "ignore-version": (EVERY_CODEC, 1, {"FAIL": {"client.wrong-version"}}),
    "trust-stray-responses": (EVERY_CODEC, 1, {"FAIL": {"client.response-unknown-id"}}),
    "ignore-duplicates": (EVERY_CODEC, 1, {"FAIL": {"client.duplicate-response"}}),
    "ignore-progress-order": (EVERY_CODEC, 1, {"FAIL": {"client.progress-backwards"}}),
    "ignore-late-progress": (EVERY_CODEC, 1, {"FAIL": {"client.progress-after-response",
                                                       "client.progress-unknown-id"}}),
    # [HELLO-1]: the scripted server checks every client's handshake.
    "pipeline-before-hello": (EVERY_CODEC, 1, {"FAIL": ALL}),
    # [BYE-1]: checked wherever the client gets as far as goodbye.
    "request-after-goodbye": (EVERY_CODEC, 1, {"FAIL": {
        "client.well-behaved", "client.extensions", "client.minimal-server", "client.bulk-layout",
        "client.big-endian-echo", "client.compressed-echo", "client.request-from-server",
        "client.unoffered-codec-listed"}}),
    "skip-echo-check": (EVERY_CODEC, 1, {"FAIL": {"client.echo-corrupted", "client.echo-geometry-altered",
                                                  "client.invalid-data-in-response"}}),
    # Without its cancel the client never reaches goodbye, nor the misbehaviours that follow a cancel.
    "no-cancel": (EVERY_CODEC, 1, {"FAIL": {
        "client.well-behaved", "client.extensions", "client.minimal-server", "client.bulk-layout",
        "client.big-endian-echo", "client.compressed-echo", "client.cancel-never-answered",
        "client.progress-after-response"}}),
    "ignore-server-requests": (EVERY_CODEC, 1, {"FAIL": {"client.request-from-server"}}),
    "compress-without-codec": (EVERY_CODEC, 1, {"FAIL": {"client.codec-not-in-force", "client.minimal-server"}}),
    "crash-on-deep-head": (EVERY_CODEC, 3, {"ERROR": {"client.nesting-bomb"}}),
    "crash-on-unknown-code": (EVERY_CODEC, 3, {"ERROR": {"client.error-unknown-code"}}),
    "strict-extensions": (EVERY_CODEC, 1, {"FAIL": {"client.extensions"}}),
    "require-timings": (EVERY_CODEC, 1, {"FAIL": {"client.minimal-server"}}),
    "require-aligned-bulk": (EVERY_CODEC, 1, {"FAIL": {"client.bulk-layout"}}),
    "native-byte-order-only": (EVERY_CODEC, 1, {"FAIL": {"client.big-endian-echo"}}),
    "no-codec-support": (EVERY_CODEC, 1, {"FAIL": {"client.compressed-echo"}}),
    "trust-listed-capabilities": (NO_LZ4, 1, {"FAIL": {"client.unoffered-codec-listed"}}),
}


def _run(flaw: str | None, offer: str, directory) -> object:
    client = FIXTURE_CLIENT + ["--offer", offer] + (["--flaw", flaw] if flaw else [])
    return run_suite(["client", "--timeout", "2", "--", *client], directory, name=flaw or f"good-{offer}")


@pytest.fixture(scope="module")
def flaw_runs(tmp_path_factory):
    directory = tmp_path_factory.mktemp("client-flaws")
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        futures = {flaw: pool.submit(_run, flaw, offer, directory) for flaw, (offer, _, _) in EXPECTED.items()}
        return {flaw: future.result() for flaw, future in futures.items()}


def test_good_client_passes_every_case(tmp_path):
    run = _run(None, EVERY_CODEC, tmp_path)
    assert run.not_passing() == {}
    skipped = {case for case, outcome in run.outcomes().items() if outcome == "SKIPPED"}
    assert skipped == UNTESTABLE_WITH_EVERY_CODEC
    assert run.returncode == 0


def test_good_client_offering_no_lz4_passes_every_case_CAP_5(tmp_path):
    """[CAP-5]: the server lists lz4 although the client did not offer it."""
    run = _run(None, NO_LZ4, tmp_path)
    assert set(run.outcomes().values()) == {"PASS"}
    assert run.returncode == 0


@pytest.mark.parametrize("flaw", sorted(EXPECTED))
def test_flaw_fails_exactly_its_cases(flaw, flaw_runs):
    offer, status, expected = EXPECTED[flaw]
    run = flaw_runs[flaw]
    assert {outcome: set(cases) for outcome, cases in run.not_passing().items()} == expected
    assert run.returncode == status


def test_every_flaw_has_an_expectation():
    assert set(EXPECTED) == set(FLAWS)


def test_every_client_case_can_fail():
    failable = set()
    for _, _, outcomes in EXPECTED.values():
        for cases in outcomes.values():
            failable |= set(cases)
    assert sorted(ALL - failable) == []


def test_client_that_never_connects_fails(tmp_path):
    """A client that exits without connecting proves nothing, whatever its exit status."""
    run = run_suite(["client", "--timeout", "2", "--run", "client.well-behaved,client.garbage-frame",
                     "--", PYTHON, "-c", "import sys; print('{addr}'); sys.exit(1)"], tmp_path)
    assert run.outcomes() == {"client.well-behaved": "FAIL", "client.garbage-frame": "FAIL"}
    assert "without connecting" in run.report["cases"][0]["message"]
    assert run.returncode == 1


def test_client_killed_by_a_signal_is_error(tmp_path):
    run = run_suite(["client", "--timeout", "2", "--run", "client.well-behaved", "--", PYTHON, "-c",
                     "import os, signal, socket, sys; h, p = sys.argv[1].rsplit(':', 1); "
                     "s = socket.create_connection((h, int(p))); os.kill(os.getpid(), signal.SIGSEGV)",
                     "{addr}"], tmp_path)
    assert run.outcomes() == {"client.well-behaved": "ERROR"}
    assert run.returncode == 3


def test_a_client_that_connected_and_exited_is_still_accepted():
    """The race behind a crash reported as "never connected": the client connects and dies
    before the scripted server's accept loop looks again."""
    server = ScriptedServer()
    try:
        host, port = server.address.rsplit(":", 1)
        with socket.create_connection((host, int(port))):
            accepted = server.accept(5.0, lambda: False)  # the client has already exited
            assert accepted is not None
            accepted.close()
        assert server.accept(5.0, lambda: False) is None  # nothing queued: no wait either
    finally:
        server.close()


def test_client_command_without_addr_is_a_usage_error(tmp_path):
    run = run_suite(["client", "--", PYTHON, "-c", "pass"], tmp_path)
    assert run.returncode == 2
    assert "{addr}" in run.stderr
