"""Reports: the human summary, JSON, JUnit XML, wire logs and requirement coverage."""

from __future__ import annotations

import json
import os
import re
import xml.etree.ElementTree as ElementTree
from typing import Iterable, TextIO

from . import __version__
from .framework import ERROR, FAIL, NON_STRICT, PASS, SKIPPED, Case, Result

_LABELS = {PASS: "PASS", FAIL: "FAIL", NON_STRICT: "NON-STRICT", SKIPPED: "SKIPPED", ERROR: "ERROR"}


def _label(result: Result) -> str:
    if result.stale:
        return "FAIL (stale known-failing)"
    if result.known_failing:
        return f"{result.outcome} (known failing)"
    return _LABELS[result.outcome]


def counts(results: list[Result], strict: bool) -> dict:
    passed = failed = skipped = known = 0
    for result in results:
        if result.stale or (not result.known_failing and result.counts_as_failure(strict)):
            failed += 1
        elif result.known_failing:
            known += 1
        elif result.outcome == SKIPPED:
            skipped += 1
        else:
            passed += 1
    by_outcome = {outcome: sum(1 for r in results if r.outcome == outcome)
                  for outcome in (PASS, FAIL, NON_STRICT, SKIPPED, ERROR)}
    return {"passed": passed, "failed": failed, "skipped": skipped, "known_failing": known,
            "outcomes": by_outcome, "stale": sum(1 for r in results if r.stale)}


def write_human(results: list[Result], stream: TextIO, *, mode: str, target: str, strict: bool,
                seed: int | None, verbose: bool) -> None:
    """One line per case (passing ones only when verbose), then the summary, last line
    `N passed, N failed, N skipped`."""
    width = max((len(result.case.id) for result in results), default=10)
    for result in results:
        if result.outcome == PASS and not result.stale and not verbose:
            continue
        requirements = " ".join(f"[{r}]" for r in result.case.requirements)
        stream.write(f"{_label(result):<11} {result.case.id:<{width}} {result.case.level:<6} {requirements}\n")
        if result.message:
            for line in result.message.splitlines():
                stream.write(f"            {line}\n")
    summary = counts(results, strict)
    outcomes = summary["outcomes"]
    stream.write("\n")
    stream.write(f"slicerbridge-conformance {__version__}, mode {mode}, target {target}\n")
    if seed is not None:
        stream.write(f"seed {seed} (rerun the same fuzz cases with --seed {seed})\n")
    stream.write(f"{len(results)} cases: {outcomes[PASS]} PASS, {outcomes[FAIL]} FAIL, "
                 f"{outcomes[NON_STRICT]} NON-STRICT, {outcomes[SKIPPED]} SKIPPED, {outcomes[ERROR]} ERROR"
                 f"{'; NON-STRICT counts as failure (--strict)' if strict else ''}\n")
    if summary["known_failing"] or summary["stale"]:
        stream.write(f"known failing: {summary['known_failing']} expected, {summary['stale']} stale entries\n")
    stream.write(f"{summary['passed']} passed, {summary['failed']} failed, {summary['skipped']} skipped\n")


def write_json(results: list[Result], path: str, *, mode: str, target: str, strict: bool,
               seed: int | None, exit_status: int, duration: float) -> None:
    report = {
        "suite": "slicerbridge-conformance",
        "version": __version__,
        "mode": mode,
        "target": target,
        "seed": seed,
        "strict": strict,
        "duration": round(duration, 3),
        "exit_code": exit_status,
        "summary": counts(results, strict),
        "cases": [{
            "id": result.case.id,
            "requirements": list(result.case.requirements),
            "level": result.case.level,
            "description": result.case.description,
            "result": result.outcome,
            "known_failing": result.known_failing,
            "stale": result.stale,
            "message": result.message,
            "duration": round(result.duration, 4),
        } for result in results],
    }
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(report, handle, indent=2)
        handle.write("\n")


def write_junit(results: list[Result], path: str, *, mode: str, strict: bool) -> None:
    suite = ElementTree.Element("testsuite", name=f"slicerbridge-conformance.{mode}")
    failures = errors = skipped = 0
    for result in results:
        testcase = ElementTree.SubElement(
            suite, "testcase", classname=f"slicerbridge.{mode}", name=result.case.id,
            time=f"{result.duration:.4f}")
        properties = ElementTree.SubElement(testcase, "properties")
        ElementTree.SubElement(properties, "property", name="requirements",
                               value=" ".join(result.case.requirements))
        ElementTree.SubElement(properties, "property", name="level", value=result.case.level)
        ElementTree.SubElement(properties, "property", name="result", value=_label(result))
        message = result.message or result.case.description
        if result.stale or (not result.known_failing and result.counts_as_failure(strict)):
            if result.outcome == ERROR:
                errors += 1
                ElementTree.SubElement(testcase, "error", message=message, type="ERROR").text = message
            else:
                failures += 1
                ElementTree.SubElement(testcase, "failure", message=message,
                                       type=_label(result)).text = message
        elif result.outcome == SKIPPED or result.known_failing:
            skipped += 1
            ElementTree.SubElement(testcase, "skipped", message=f"{_label(result)}: {message}")
        elif result.outcome == NON_STRICT:
            ElementTree.SubElement(testcase, "system-out").text = f"NON-STRICT: {message}"
    suite.set("tests", str(len(results)))
    suite.set("failures", str(failures))
    suite.set("errors", str(errors))
    suite.set("skipped", str(skipped))
    ElementTree.ElementTree(suite).write(path, encoding="utf-8", xml_declaration=True)


def write_wire_logs(results: list[Result], directory: str, strict: bool) -> list[str]:
    """One file per failed (or non-strict) case with every frame in and out."""
    os.makedirs(directory, exist_ok=True)
    written = []
    for result in results:
        if result.wire_log is None:
            continue
        if result.outcome not in (FAIL, ERROR, NON_STRICT) and not result.stale:
            continue
        name = re.sub(r"[^A-Za-z0-9_.-]", "_", result.case.id) + ".log"
        path = os.path.join(directory, name)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(f"case {result.case.id}: {_label(result)}\n")
            handle.write(f"requirements: {' '.join(result.case.requirements)} ({result.case.level})\n")
            handle.write(f"{result.case.description}\n")
            if result.message:
                handle.write(f"result: {result.message}\n")
            handle.write("\n")
            handle.write(result.wire_log)
        written.append(path)
    return written


def write_requirements(spec_ids: list[str], cases: Iterable[Case], stream: TextIO) -> None:
    """Each requirement id of the spec with the cases covering it, then the uncovered ones."""
    covering: dict[str, list[str]] = {requirement: [] for requirement in spec_ids}
    unknown: dict[str, list[str]] = {}
    for case in cases:
        for requirement in case.requirements:
            target = covering if requirement in covering else unknown
            target.setdefault(requirement, []).append(case.id)
    for requirement in spec_ids:
        ids = covering[requirement]
        stream.write(f"[{requirement}] " + (", ".join(ids) if ids else "UNCOVERED") + "\n")
    uncovered = [requirement for requirement in spec_ids if not covering[requirement]]
    stream.write(f"\n{len(spec_ids) - len(uncovered)} of {len(spec_ids)} requirements covered; "
                 f"uncovered: {' '.join(uncovered) if uncovered else 'none'}\n")
    for requirement, ids in sorted(unknown.items()):
        stream.write(f"warning: [{requirement}] is cited by {', '.join(ids)} but not defined in the spec\n")
