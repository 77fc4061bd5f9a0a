"""The command line: selection, the known-failing list, exit codes and every report format."""

from __future__ import annotations

import json
import os
import re
import subprocess
import xml.etree.ElementTree as ElementTree

import pytest

from conftest import CONFORMANCE, FIXTURE_SERVER, PYTHON, REPOSITORY, run_suite
from slicerbridge_conformance import framework, reports
from slicerbridge_conformance.framework import Case, Result

QUICK = ["server", "--timeout", "3", "--fuzz-cases", "0"]


def _server(tmp_path, *arguments, flaws=(), name="report"):
    flags = [part for flaw in flaws for part in ("--flaw", flaw)]
    return run_suite([*QUICK, *arguments, "--", *FIXTURE_SERVER, *flags], tmp_path, name)


def test_module_and_script_entry_points_agree(tmp_path):
    script = subprocess.run([PYTHON, os.path.join(CONFORMANCE, "slicerbridge-conformance"), "--list", "server",
                             "--seed", "1"], capture_output=True, text=True)
    module = subprocess.run([PYTHON, "-m", "slicerbridge_conformance", "--list", "server", "--seed", "1"],
                            capture_output=True,
                            text=True, env=dict(os.environ, PYTHONPATH=CONFORMANCE))
    assert script.returncode == module.returncode == 0
    assert script.stdout == module.stdout
    assert "handshake.version-negotiation  MUST  [HELLO-3] [VER-1]" in script.stdout


def test_run_and_skip_select_by_prefix_and_glob(tmp_path):
    run = _server(tmp_path, "--run", "requests.ping,catalog", "--skip", "catalog.describe-*")
    assert sorted(run.outcomes()) == ["catalog.shape", "catalog.shape-1.1", "requests.ping"]
    globbed = _server(tmp_path, "--run", "requests.ping*", name="glob")
    assert sorted(globbed.outcomes()) == ["requests.ping", "requests.ping-while-busy"]


def _listed(*arguments: str) -> list[str]:
    listing = subprocess.run([PYTHON, "-m", "slicerbridge_conformance", "--list", *arguments],
                             capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=CONFORMANCE))
    assert listing.returncode == 0, listing.stderr
    return [line.split()[0] for line in listing.stdout.splitlines() if line.startswith("client.")]


def test_shards_partition_the_selection():
    everything = _listed("client")
    shares = [_listed("--shard", f"{index}/3", "client") for index in (1, 2, 3)]
    assert sorted(case for share in shares for case in share) == sorted(everything)
    assert all(len(share) in (len(everything) // 3, len(everything) // 3 + 1) for share in shares)
    assert _listed("--run", "client.echo*", "--shard", "2/2", "client") == _listed("--run", "client.echo*", "client")[1::2]


def test_a_shard_runs_only_its_cases(tmp_path):
    selected = ["requests.ping", "catalog.shape", "timings.present"]
    first = _server(tmp_path, "--run", ",".join(selected), "--shard", "1/2", name="first")
    second = _server(tmp_path, "--run", ",".join(selected), "--shard", "2/2", name="second")
    assert sorted([*first.outcomes(), *second.outcomes()]) == sorted(selected)
    assert len(first.outcomes()) == 2 and first.returncode == second.returncode == 0


def test_human_summary_ends_with_the_counts_line(tmp_path):
    run = _server(tmp_path, "--run", "requests.ping,timings.present,handshake.token-missing", flaws=["ping-extra-result"])
    lines = run.stdout.strip().splitlines()
    assert lines[-1] == "1 passed, 1 failed, 1 skipped"
    assert re.search(r"^FAIL\s+requests\.ping\s+MUST\s+\[PING-1\] \[MSG-7\]$", run.stdout, re.MULTILINE)
    assert "3 cases: 1 PASS, 1 FAIL, 0 NON-STRICT, 1 SKIPPED, 0 ERROR" in run.stdout
    assert run.returncode == 1


def test_non_strict_counts_only_with_strict_TIME_1(tmp_path):
    """[TIME-1]: a missed SHOULD is NON-STRICT, a failure only under --strict."""
    lenient = _server(tmp_path, "--run", "timings.present", flaws=["no-timings"], name="lenient")
    strict = _server(tmp_path, "--run", "timings.present", "--strict", flaws=["no-timings"], name="strict")
    assert lenient.outcomes() == strict.outcomes() == {"timings.present": "NON-STRICT"}
    assert (lenient.returncode, strict.returncode) == (0, 1)
    assert lenient.stdout.strip().splitlines()[-1] == "1 passed, 0 failed, 0 skipped"
    assert strict.stdout.strip().splitlines()[-1] == "0 passed, 1 failed, 0 skipped"


def test_known_failing_case_that_fails_is_expected(tmp_path):
    known = tmp_path / "known.txt"
    known.write_text("# pings answered with extra keys, see issue 12\nrequests.ping\n")
    run = _server(tmp_path, "--run", "requests.ping,requests.id-range", "--known-failing", str(known),
                  flaws=["ping-extra-result"])
    assert run.returncode == 0
    case = next(c for c in run.report["cases"] if c["id"] == "requests.ping")
    assert case["result"] == "FAIL" and case["known_failing"] is True
    assert "known failing: 1 expected, 0 stale entries" in run.stdout


def test_known_failing_entry_that_passes_is_stale_and_fails_the_run(tmp_path):
    known = tmp_path / "known.txt"
    known.write_text("requests.pi*\n")
    run = _server(tmp_path, "--run", "requests.ping", "--known-failing", str(known))
    assert run.returncode == 1
    case = run.report["cases"][0]
    assert case["result"] == "PASS" and case["stale"] is True
    assert "stale" in case["message"]
    assert "FAIL (stale known-failing)" in run.stdout


def test_known_failing_entry_matching_no_case_is_a_usage_error(tmp_path):
    known = tmp_path / "known.txt"
    known.write_text("requests.no-such-case\n")
    run = _server(tmp_path, "--run", "requests.ping", "--known-failing", str(known))
    assert run.returncode == 2
    assert "known.txt:1" in run.stderr


@pytest.mark.parametrize("arguments", [
    [],
    ["server"],
    ["server", "not-an-address"],
    ["server", "127.0.0.1:1", "--", "extra"],
    ["codec"],
    ["server", "--run", "no.such.case", "--", PYTHON, "-c", "pass"],
    ["bogus-mode"],
    ["--list", "--shard", "0/2", "client"],
    ["--list", "--shard", "3/2", "client"],
    ["--list", "--shard", "half", "client"],
])
def test_usage_errors_exit_2(arguments, tmp_path):
    assert run_suite(arguments, tmp_path).returncode == 2


def test_json_report(tmp_path):
    run = _server(tmp_path, "--run", "requests.ping,handshake.token-missing", flaws=["ping-extra-result"])
    report = run.report
    assert report["suite"] == "slicerbridge-conformance" and report["mode"] == "server"
    assert report["exit_code"] == 1 == run.returncode
    assert report["summary"]["outcomes"] == {"PASS": 0, "FAIL": 1, "NON-STRICT": 0, "SKIPPED": 1, "ERROR": 0}
    ping = next(c for c in report["cases"] if c["id"] == "requests.ping")
    assert ping["requirements"] == ["PING-1", "MSG-7"] and ping["level"] == "MUST"
    assert "[PING-1]" in ping["message"]


def test_junit_report(tmp_path):
    junit = tmp_path / "report.xml"
    _server(tmp_path, "--run", "requests.ping,requests.id-range,handshake.token-missing",
            "--junit", str(junit), flaws=["ping-extra-result"])
    suite = ElementTree.parse(junit).getroot()
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors"), suite.get("skipped")) == ("3", "1", "0", "1")
    cases = {case.get("name"): case for case in suite.iter("testcase")}
    assert cases["requests.ping"].find("failure") is not None
    assert cases["handshake.token-missing"].find("skipped") is not None
    assert cases["requests.id-range"].find("failure") is None
    properties = {p.get("name"): p.get("value") for p in cases["requests.ping"].iter("property")}
    assert properties["requirements"] == "PING-1 MSG-7"


def test_wire_log_holds_every_frame_of_each_failed_case(tmp_path):
    logs = tmp_path / "wire"
    _server(tmp_path, "--run", "requests.ping,requests.id-range", "--wire-log", str(logs), flaws=["ping-extra-result"])
    assert sorted(os.listdir(logs)) == ["requests.ping.log"]
    text = (logs / "requests.ping.log").read_text()
    assert "case requests.ping: FAIL" in text
    assert "-> " in text and "<- " in text
    assert "hex: 5342" in text
    assert '"pong": true' in text


def test_requirements_lists_covering_cases_and_uncovered_ids(tmp_path):
    spec = tmp_path / "protocol.md"
    spec.write_text("- `[FRAME-1]` magic.\n- `[PING-1]` ping.\n- `[XTRA-9]` nothing checks this.\n")
    result = subprocess.run([PYTHON, os.path.join(CONFORMANCE, "slicerbridge-conformance"), "--requirements",
                             "server", "--spec", str(spec), "--fuzz-cases", "0"], capture_output=True, text=True)
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert lines[0].startswith("[FRAME-1] frames.bad-magic, frames.bad-format")
    assert lines[1] == "[PING-1] requests.ping, requests.ping-while-busy"
    assert lines[2] == "[XTRA-9] UNCOVERED"
    assert "2 of 3 requirements covered; uncovered: XTRA-9" in result.stdout
    assert "warning: [HELLO-3] is cited by" in result.stdout


def test_every_requirement_a_case_cites_is_defined_in_the_spec():
    with open(os.path.join(REPOSITORY, "spec", "protocol.md"), encoding="utf-8") as handle:
        defined = set(framework.requirement_ids(handle.read()))
    from slicerbridge_conformance.client_mode import CASES as CLIENT
    from slicerbridge_conformance.server_cases import CASES as SERVER
    cited = {requirement for case in SERVER + CLIENT for requirement in case.requirements}
    assert sorted(cited - defined) == []


def test_exit_code_precedence():
    def result(outcome, **flags):
        return Result(Case("x", (), "MUST", "", None), outcome, **flags)
    assert framework.exit_code([result("PASS"), result("SKIPPED")], False) == 0
    assert framework.exit_code([result("NON-STRICT")], False) == 0
    assert framework.exit_code([result("NON-STRICT")], True) == 1
    assert framework.exit_code([result("FAIL"), result("ERROR")], False) == 3
    assert framework.exit_code([result("FAIL", known_failing=True)], False) == 0
    assert framework.exit_code([result("PASS", stale=True)], False) == 1
    summary = reports.counts([result("PASS"), result("FAIL", known_failing=True), result("SKIPPED")], False)
    assert (summary["passed"], summary["failed"], summary["skipped"], summary["known_failing"]) == (1, 0, 1, 1)


def test_json_report_of_codec_mode_has_no_seed(tmp_path):
    vectors = tmp_path / "vectors"
    vectors.mkdir()
    (vectors / "frames.json").write_text(json.dumps({"vectors": [{
        "id": "v", "class": "reject", "error": "malformed_frame", "hex": "5858", "requirements": ["FRAME-1"]}]}))
    run = run_suite(["codec", "--vectors", str(vectors), "--", PYTHON,
                     os.path.join(CONFORMANCE, "tests", "fixtures", "fixture_codec_adapter.py")], tmp_path)
    assert run.report["seed"] is None and run.outcomes() == {"codec.v": "PASS"}
