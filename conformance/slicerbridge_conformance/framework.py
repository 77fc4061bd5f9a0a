"""Cases, outcomes, selection and the known-failing list, shared by every mode."""

from __future__ import annotations

import fnmatch
import re
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

PASS = "PASS"
FAIL = "FAIL"
NON_STRICT = "NON-STRICT"
SKIPPED = "SKIPPED"
ERROR = "ERROR"

EXIT_CONFORMANT = 0
EXIT_FAILURES = 1
EXIT_USAGE = 2
EXIT_CRASHED = 3

REQUIREMENT_ID = re.compile(r"\[([A-Z]+-\d+)\]")


class CaseFailed(Exception):
    """The implementation broke a requirement of the case."""


class CaseNonStrict(Exception):
    """The implementation missed a SHOULD (the MUSTs of the case held)."""


class CaseSkipped(Exception):
    """The case does not apply: the implementation lacks an optional capability (named)."""


class ImplementationCrashed(Exception):
    """The implementation under test died or stopped answering altogether."""


class UsageError(Exception):
    pass


@dataclass
class Case:
    id: str
    requirements: tuple[str, ...]
    level: str  # "MUST" or "SHOULD"
    description: str
    run: Callable[..., Any]
    hostile: bool = False
    data: Any = None

    def __post_init__(self) -> None:
        if self.level not in ("MUST", "SHOULD"):
            raise ValueError(f"case {self.id}: level {self.level!r}")


@dataclass
class Result:
    case: Case
    outcome: str
    message: str = ""
    duration: float = 0.0
    wire_log: str | None = None
    known_failing: bool = False
    stale: bool = False
    notes: list[str] = field(default_factory=list)

    def counts_as_failure(self, strict: bool) -> bool:
        if self.stale:
            return True
        if self.known_failing:
            return False
        return self.outcome in (FAIL, ERROR) or (strict and self.outcome == NON_STRICT)


def execute(case: Case, body: Callable[[], None]) -> Result:
    """Runs `body` and turns its exceptions into an outcome."""
    started = time.monotonic()
    try:
        body()
        outcome, message = PASS, ""
    except CaseFailed as failure:
        outcome, message = (NON_STRICT if case.level == "SHOULD" else FAIL), str(failure)
    except CaseNonStrict as note:
        outcome, message = NON_STRICT, str(note)
    except CaseSkipped as reason:
        outcome, message = SKIPPED, str(reason)
    except ImplementationCrashed as crash:
        outcome, message = ERROR, str(crash)
    return Result(case, outcome, message, time.monotonic() - started)


def _pattern_matches(pattern: str, case_id: str) -> bool:
    if any(char in pattern for char in "*?["):
        return fnmatch.fnmatchcase(case_id, pattern)
    return case_id == pattern or case_id.startswith(pattern.rstrip(".") + ".")


def select(cases: Iterable[Case], run: list[str], skip: list[str]) -> list[Case]:
    """Cases matching any --run pattern (all when none) and no --skip pattern. A pattern is a
    glob (`handshake.*`) or an id prefix ending at a dot (`invoke.echo` selects `invoke.echo.*`)."""
    chosen = []
    for case in cases:
        if run and not any(_pattern_matches(pattern, case.id) for pattern in run):
            continue
        if any(_pattern_matches(pattern, case.id) for pattern in skip):
            continue
        chosen.append(case)
    return chosen


def parse_shard(text: str) -> tuple[int, int]:
    """`K/N` with 1 <= K <= N: the Kth of N shares of the selected cases."""
    parts = text.split("/")
    if len(parts) == 2 and all(part.isdigit() for part in parts):
        index, count = int(parts[0]), int(parts[1])
        if 1 <= index <= count:
            return index, count
    raise UsageError(f"--shard takes K/N with 1 <= K <= N, got {text!r}")


def shard(cases: list[Case], index: int, count: int) -> list[Case]:
    """Every Nth selected case from the Kth: the N shares partition the selection, and cases
    next to each other in the suite (often alike in cost) go to different shares."""
    return cases[index - 1::count]


def split_patterns(values: Iterable[str]) -> list[str]:
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def read_known_failing(path: str, cases: Iterable[Case]) -> list[str]:
    """Patterns from a known-failing file: one case id or glob per line, `#` starts a comment.
    An entry that matches no case of the mode is a usage error: it could never go stale."""
    try:
        with open(path, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    except OSError as error:
        raise UsageError(f"cannot read known-failing file {path}: {error}") from None
    patterns = []
    ids = [case.id for case in cases]
    for number, line in enumerate(lines, 1):
        entry = line.split("#", 1)[0].strip()
        if not entry:
            continue
        if not any(_pattern_matches(entry, case_id) for case_id in ids):
            raise UsageError(f"{path}:{number}: {entry!r} matches no case")
        patterns.append(entry)
    return patterns


def apply_known_failing(results: list[Result], patterns: list[str]) -> None:
    """A listed case that fails is expected; a listed case that passes is a stale entry."""
    for result in results:
        if not any(_pattern_matches(pattern, result.case.id) for pattern in patterns):
            continue
        if result.outcome in (FAIL, ERROR, NON_STRICT):
            result.known_failing = True
        elif result.outcome == PASS:
            result.stale = True
            result.message = "listed as known failing but passes: remove the stale entry"


def exit_code(results: list[Result], strict: bool) -> int:
    if any(result.outcome == ERROR and not result.known_failing for result in results):
        return EXIT_CRASHED
    if any(result.counts_as_failure(strict) for result in results):
        return EXIT_FAILURES
    return EXIT_CONFORMANT


def requirement_ids(text: str) -> list[str]:
    """Requirement ids defined in the spec: `[ID]` at the start of a list item."""
    ids = []
    for match in re.finditer(r"^\s*-\s*`\[([A-Z]+-\d+)\]`", text, re.MULTILINE):
        if match.group(1) not in ids:
            ids.append(match.group(1))
    return ids
