"""The transfer.memfd cases (memfd_cases.py, protocol section 3.5) against the Python reference
server on a Unix socket, and against the C++ one when $SLICERBRIDGE_BUILD_DIR has it: each passes
against a conforming server, fails against a server with the flaw it looks for, and is skipped
over TCP."""

from __future__ import annotations

import os
import sys

import pytest

from conftest import FIXTURE_SERVER, FIXTURES, PYTHON, REPOSITORY, run_suite

MEMFD_CASES = ["memfd.directory", "memfd.echo-by-descriptor", "memfd.index-out-of-range",
               "memfd.pipe", "memfd.size-smaller", "memfd.too-many", "memfd.unreferenced",
               "memfd.unsealed", "memfd.write-seal-missing"]

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux only")


def _outcomes(run) -> dict:
    return {case: outcome for case, outcome in run.outcomes().items() if case.startswith("memfd.")}


def test_memfd_cases_pass_against_the_python_server_on_a_unix_socket(tmp_path, monkeypatch):
    """[FD-1] [FD-2] [FD-3] [FD-4] [FD-5] [FD-6] [FD-8] [FD-9]"""
    monkeypatch.setenv("PYTHONPATH", os.path.join(REPOSITORY, "python"))
    path = os.path.join(str(tmp_path), "python.sock")
    run = run_suite(["server", "--timeout", "5", "--run", "memfd", "--", PYTHON, "-m",
                     "slicerbridge", "serve", "--listen", f"unix:{path}"], tmp_path)
    assert _outcomes(run) == {case: "PASS" for case in MEMFD_CASES}, run.stderr
    assert run.returncode == 0


def test_memfd_cases_pass_against_the_cpp_server_on_a_unix_socket(tmp_path):
    """[FD-1] [FD-4] [FD-5] [FD-6] [FD-8]"""
    directory = os.environ.get("SLICERBRIDGE_BUILD_DIR")
    program = os.path.join(directory or "", "reference_server", "slicerbridge-server")
    if not directory or not os.path.exists(program):
        pytest.skip("set SLICERBRIDGE_BUILD_DIR to a build with slicerbridge-server")
    path = os.path.join(str(tmp_path), "cpp.sock")
    run = run_suite(["server", "--timeout", "5", "--run", "memfd", "--", program, "--unix", path],
                    tmp_path)
    assert _outcomes(run) == {case: "PASS" for case in MEMFD_CASES}, run.stderr
    assert run.returncode == 0


def test_memfd_cases_are_skipped_over_tcp(tmp_path):
    """Descriptors pass only on a Unix socket [FD-1]."""
    run = run_suite(["server", "--timeout", "3", "--run", "memfd", "--", *FIXTURE_SERVER], tmp_path)
    assert _outcomes(run) == {case: "SKIPPED" for case in MEMFD_CASES}


FLAWED = {"no-checks": {"memfd.unsealed", "memfd.write-seal-missing", "memfd.pipe",
                        "memfd.directory"},
          "no-size-check": {"memfd.size-smaller"},
          "unreferenced-kept": {"memfd.unreferenced", "memfd.too-many"},
          "index-wraps": {"memfd.index-out-of-range"},
          "flips-a-byte": {"memfd.echo-by-descriptor"}}


@pytest.mark.parametrize("flaw", sorted(FLAWED))
def test_each_memfd_case_fails_against_its_flaw(flaw, tmp_path):
    """No memfd case passes by accident: a server with the flaw fails exactly these cases."""
    path = os.path.join(str(tmp_path), "flawed.sock")
    run = run_suite(["server", "--timeout", "5", "--run", "memfd", "--", PYTHON,
                     os.path.join(FIXTURES, "memfd_flawed_server.py"), "--flaw", flaw, path],
                    tmp_path)
    failing = {case for case, outcome in _outcomes(run).items() if outcome != "PASS"}
    assert failing == FLAWED[flaw], run.stdout
    assert set(MEMFD_CASES) == set().union(*FLAWED.values())
