"""Helpers of the suite's self-tests: run the runner as a program, read its JSON report."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass

CONFORMANCE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPOSITORY = os.path.dirname(CONFORMANCE)
FIXTURES = os.path.join(CONFORMANCE, "tests", "fixtures")
PYTHON = "/usr/bin/python3"
FIXTURE_SERVER = [PYTHON, os.path.join(FIXTURES, "fixture_server.py")]
FIXTURE_CLIENT = [PYTHON, os.path.join(FIXTURES, "fixture_client.py"), "{addr}"]
FIXTURE_ADAPTER = [PYTHON, os.path.join(FIXTURES, "fixture_codec_adapter.py")]
RUN_LIMIT = 900  # seconds: a bound on one whole runner process, never reached when all is well

sys.path.insert(0, CONFORMANCE)
sys.path.insert(0, FIXTURES)


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str
    report: dict | None

    def outcomes(self) -> dict[str, str]:
        return {case["id"]: case["result"] for case in self.report["cases"]}

    def messages(self, case_ids) -> dict[str, str]:
        """Case id -> the runner's message, for the cases given: what an assertion shows."""
        wanted = set(case_ids)
        return {case["id"]: case.get("message", "") for case in self.report["cases"] if case["id"] in wanted}

    def not_passing(self) -> dict[str, list[str]]:
        """Outcome -> sorted case ids, for every outcome but PASS and SKIPPED."""
        found: dict[str, list[str]] = {}
        for case_id, outcome in sorted(self.outcomes().items()):
            if outcome not in ("PASS", "SKIPPED"):
                found.setdefault(outcome, []).append(case_id)
        return found


def run_suite(arguments: list[str], tmp_path, name: str = "report", env: dict | None = None) -> Run:
    """Runs `slicerbridge-conformance` with `arguments` (a --json report is added), in `env` if given."""
    report = os.path.join(str(tmp_path), f"{name}.json")
    split = arguments.index("--") if "--" in arguments else len(arguments)
    command = [PYTHON, os.path.join(CONFORMANCE, "slicerbridge-conformance"), "-q",
               "--json", report] + arguments[:split] + arguments[split:]
    process = subprocess.run(command, capture_output=True, text=True, timeout=RUN_LIMIT, env=env)
    data = None
    if os.path.exists(report):
        with open(report, encoding="utf-8") as handle:
            data = json.load(handle)
    return Run(process.returncode, process.stdout, process.stderr, data)
