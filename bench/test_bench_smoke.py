"""Smoke tests of the benchmark harness: the programs run and report well-formed JSON.

Speeds are never asserted. Run with /usr/bin/python3 -m pytest bench/test_bench_smoke.py. The
programs are looked for in SLICERBRIDGE_BENCH_BUILD_DIR if set, else in the first of build-bench/
and build/ (in the repository) that holds any of them.
"""

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

BENCH_DIR = Path(__file__).resolve().parent
RUNNER = BENCH_DIR / "run_bench.py"
PROGRAMS = ("bench_socket", "bench_asio", "bench_zmq", "bench_igtl", "bench_slicerbridge",
            "bench_igtl_gateway")


def programs_in(build_dir):
    return [name for name in PROGRAMS if os.access(build_dir / "bench" / name, os.X_OK)]


def find_build_dir():
    if "SLICERBRIDGE_BENCH_BUILD_DIR" in os.environ:
        return Path(os.environ["SLICERBRIDGE_BENCH_BUILD_DIR"])
    candidates = [BENCH_DIR.parent / name for name in ("build-bench", "build")]
    return next((c for c in candidates if programs_in(c)), candidates[0])


BUILD_DIR = find_build_dir()


def run_runner(*args, timeout=240):
    return subprocess.run([sys.executable, str(RUNNER), *args], capture_output=True, text=True,
                          timeout=timeout, check=False)


def built_programs():
    return programs_in(BUILD_DIR)


@pytest.mark.skipif(not built_programs(), reason=f"no bench program built in {BUILD_DIR}")
def test_quick_run_of_every_built_program_gives_well_formed_results(tmp_path):
    output = tmp_path / "results.json"
    completed = run_runner("--quick", "--build-dir", str(BUILD_DIR), "--output", str(output))
    assert completed.returncode == 0, completed.stderr
    report = json.loads(output.read_text(encoding="utf-8"))

    assert report["schema"] == "slicerbridge-bench/1"
    assert report["method"]["quick"] is True
    assert report["machine"]["nproc"] >= 1 and report["machine"]["kernel"]
    built = set(built_programs())
    by_id = {entry["id"]: entry for entry in report["rows"]}
    for entry in report["rows"]:
        program = Path(entry["command"][0]).name if entry["command"] else None
        if entry["status"] == "unavailable":
            assert entry["reason"] and entry["figures"] is None and entry["runs"] == []
            continue
        assert program in built or program == "python3", entry["id"]
        assert entry["status"] == "ok", f"{entry['id']}: {entry['reason']}"
        assert len(entry["runs"]) == 1
        figures = entry["figures"]
        if entry["group"] == "volume":
            assert figures["bytes"] > 0 and figures["best_seconds"] > 0
            assert figures["best_seconds"] <= figures["median_seconds"]
            assert figures["server_peak_rss_bytes"] > 0
            assert all(run["verified"] is True for run in entry["runs"])
        elif entry["group"] == "latency":
            assert 0 < figures["p50_seconds"] <= figures["p99_seconds"]
        else:
            assert figures["calls_per_second"] > 0
            count = int(entry["id"].rsplit(".", 1)[1])
            if entry["id"].startswith("haproxy_calls."):  # .N: servers behind HAProxy
                assert all(run["servers"] == count for run in entry["runs"])
            else:
                assert figures["clients"] == count
        baseline = by_id.get(entry["baseline"]) if entry["baseline"] else None
        if entry["baseline"] is None or baseline["status"] == "ok":
            assert entry["ratio"] > 0
        else:
            assert entry["ratio"] is None
    assert "bench_socket" not in built or by_id["tcp_echo.32MiB"]["ratio"] == 1.0
    assert all(t["met"] is None for e in report["rows"] for t in e["targets"])
    assert "Machine: nproc" in completed.stdout


def test_only_adds_the_baselines_a_row_is_compared_to(tmp_path):
    completed = run_runner("--list", "--only", "python_tcp.*,igtl_string.latency",
                           "--build-dir", str(tmp_path))
    assert completed.returncode == 0, completed.stderr
    listed = [line.split(":", 1)[0] for line in completed.stdout.splitlines()]
    assert listed == ["tcp_echo.256MiB", "slicerbridge_tcp.256MiB", "python_tcp.256MiB",
                      "tcp_pingpong.latency", "igtl_string.latency"]
    assert "bench_slicerbridge not built" in completed.stdout


def test_only_with_no_matching_row_is_an_error(tmp_path):
    completed = run_runner("--list", "--only", "no_such_row", "--build-dir", str(tmp_path))
    assert completed.returncode != 0
    assert "matches no row" in completed.stderr


def fake_program(directory, name, script):
    path = directory / "bench" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n" + script + "\n", encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


@pytest.mark.parametrize("script, reason", [
    ("echo 'not json'", "not JSON"),
    ("echo '{}'; echo '{}'", "one JSON line"),
    ("echo 'boom' >&2; exit 3", "exit status 3: boom"),
    ("""echo '{"bytes": 33554432, "round_trip_seconds": [0.1], "server_peak_rss_bytes": 1,
       "verified": false}' | tr -d '\\n'; echo""", "did not verify"),
    ("""echo '{"bytes": 7, "round_trip_seconds": [0.1], "server_peak_rss_bytes": 1,
       "verified": true}' | tr -d '\\n'; echo""", "'bytes' is 7"),
])
def test_a_misbehaving_program_fails_its_row_and_the_run(tmp_path, script, reason):
    fake_program(tmp_path, "bench_socket", script)
    output = tmp_path / "results.json"
    completed = run_runner("--only", "tcp_echo.32MiB", "--build-dir", str(tmp_path),
                           "--output", str(output))
    assert completed.returncode == 1
    entry = json.loads(output.read_text(encoding="utf-8"))["rows"][0]
    assert entry["id"] == "tcp_echo.32MiB"
    assert entry["status"] == "failed"
    assert reason in entry["reason"]
    assert entry["figures"] is None and entry["ratio"] is None
