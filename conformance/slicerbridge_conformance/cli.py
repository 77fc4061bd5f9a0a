"""Command line: `slicerbridge-conformance [options] server|client|codec ...`."""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from typing import Callable

from . import __version__, framework, reports
from .framework import Case, Result, UsageError

HERE = os.path.dirname(os.path.abspath(__file__))
REPOSITORY = os.path.dirname(os.path.dirname(HERE))
DEFAULT_SPEC = os.path.join(REPOSITORY, "spec", "protocol.md")
DEFAULT_VECTORS = os.path.join(REPOSITORY, "spec", "vectors")
MODES = ("server", "client", "codec")

USAGE = """\
slicerbridge-conformance [options] server HOST:PORT
slicerbridge-conformance [options] server -- COMMAND...   (prints 'listening on HOST:PORT' first)
slicerbridge-conformance [options] client -- COMMAND...   ({addr} replaced by 127.0.0.1:PORT)
slicerbridge-conformance [options] codec -- COMMAND...    (adapter over stdin/stdout)
slicerbridge-conformance --list [MODE]
slicerbridge-conformance --requirements [MODE]"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="slicerbridge-conformance", usage=USAGE,
        description="Conformance suite of the SlicerBridge protocol 1.0.",
        epilog="Exit status: 0 conformant, 1 failures, 2 usage error, 3 implementation crashed or hung.")
    parser.add_argument("mode", nargs="?", choices=MODES, help="what to test")
    parser.add_argument("target", nargs="?", help="HOST:PORT of a running server (server mode)")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--list", action="store_true", help="list the cases and exit")
    parser.add_argument("--requirements", action="store_true",
                        help="list the spec's requirement ids with the cases covering each")
    parser.add_argument("--run", action="append", default=[], metavar="PATTERN",
                        help="run only matching cases (glob or id prefix; repeatable, comma-separated)")
    parser.add_argument("--skip", action="append", default=[], metavar="PATTERN",
                        help="skip matching cases")
    parser.add_argument("--shard", metavar="K/N",
                        help="run only the Kth of N shares of the selected cases (runs of 1/N to N/N "
                             "together run each case once, e.g. in parallel)")
    parser.add_argument("--known-failing", metavar="FILE",
                        help="cases expected to fail; a listed case that passes fails the run")
    parser.add_argument("--json", metavar="FILE", help="write a JSON report")
    parser.add_argument("--junit", metavar="FILE", help="write a JUnit XML report")
    parser.add_argument("--wire-log", metavar="DIR", help="write every failed case's frames to DIR")
    parser.add_argument("--strict", action="store_true", help="NON-STRICT results count as failures")
    parser.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS",
                        help="longest wait for an expected message, a client run or an adapter reply (10)")
    parser.add_argument("--startup-timeout", type=float, default=30.0, metavar="SECONDS",
                        help="longest wait for a started server's 'listening on' line (30)")
    parser.add_argument("--seed", type=int, metavar="N", help="fuzz seed (random when absent; printed)")
    parser.add_argument("--fuzz-cases", type=int, default=40, metavar="N", help="number of fuzz cases (40)")
    parser.add_argument("--token", help="token the server under test was started with")
    parser.add_argument("--hello-timeout", type=float, metavar="SECONDS",
                        help="the server's hello timeout: runs availability.hello-timeout")
    parser.add_argument("--stall-timeout", type=float, metavar="SECONDS",
                        help="the server's stall timeout: runs availability.stall-timeout")
    parser.add_argument("--idle-timeout", type=float, metavar="SECONDS",
                        help="the server's idle timeout: runs availability.idle-with-call-open")
    parser.add_argument("--max-connections", type=int, metavar="N",
                        help="the connections the server serves at once from one address (its "
                             "total cap, or its per-address cap if lower): runs availability.connection-cap")
    parser.add_argument("--attack-seconds", type=float, metavar="SECONDS",
                        help="runs availability.served-under-attack for that long")
    parser.add_argument("--vectors", default=DEFAULT_VECTORS, metavar="DIR",
                        help="golden vector directory (codec mode)")
    parser.add_argument("--spec", default=DEFAULT_SPEC, metavar="FILE",
                        help="spec/protocol.md, for --requirements")
    parser.add_argument("-v", "--verbose", action="store_true", help="list passing cases too")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress lines on stderr")
    return parser


def _cases_for(mode: str, options: argparse.Namespace, seed: int) -> list[Case]:
    if mode == "server":
        from .fuzz import fuzz_cases
        from .server_cases import CASES
        return CASES + fuzz_cases(seed, options.fuzz_cases)
    if mode == "client":
        from .client_mode import CASES
        return list(CASES)
    from .codec_mode import load_cases
    cases = load_cases(options.vectors)
    if not cases and not (options.list or options.requirements):
        raise UsageError(f"no golden vectors in {options.vectors} (--vectors DIR)")
    return cases


def _selected(cases: list[Case], options: argparse.Namespace) -> list[Case]:
    chosen = framework.select(cases, framework.split_patterns(options.run), framework.split_patterns(options.skip))
    if options.shard is not None:
        chosen = framework.shard(chosen, *framework.parse_shard(options.shard))
    return chosen


def _print_list(cases: list[Case]) -> None:
    for case in cases:
        requirements = " ".join(f"[{r}]" for r in case.requirements)
        print(f"{case.id}  {case.level}  {requirements}\n    {case.description}")


def _run_mode(mode: str, cases: list[Case], options: argparse.Namespace, command: list[str],
              seed: int, progress: Callable[[Result], None]) -> tuple[list[Result], str]:
    if mode == "server":
        from .server_mode import Options, ServerTarget, parse_target, run_cases
        address, server_command = parse_target(([options.target] if options.target else [])
                                               + (["--"] + command if command else []))
        target = ServerTarget(address, server_command, options.startup_timeout)
        server_options = Options(timeout=options.timeout, token=options.token, seed=seed,
                                 fuzz_cases=options.fuzz_cases, hello_timeout=options.hello_timeout,
                                 idle_timeout=options.idle_timeout, stall_timeout=options.stall_timeout,
                                 max_connections=options.max_connections,
                                 attack_seconds=options.attack_seconds)
        return run_cases(cases, target, server_options, progress), target.description
    if not command or options.target:
        raise UsageError(f"{mode} mode needs -- COMMAND...")
    if mode == "client":
        from .client_mode import run_cases
        if not any("{addr}" in argument for argument in command):
            raise UsageError("the client command must contain {addr}")
        return run_cases(cases, command, options.timeout, progress), " ".join(command)
    from .codec_mode import run_cases
    return run_cases(cases, command, options.timeout, progress), " ".join(command)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command: list[str] = []
    if "--" in argv:
        split = argv.index("--")
        argv, command = argv[:split], argv[split + 1:]
    parser = build_parser()
    options = parser.parse_args(argv)
    seed = options.seed if options.seed is not None else random.SystemRandom().randrange(1 << 31)
    try:
        if options.list or options.requirements:
            modes = [options.mode] if options.mode else list(MODES)
            cases = []
            for mode in modes:
                cases += _cases_for(mode, options, seed)
            if options.list:
                _print_list(_selected(cases, options))
            else:
                try:
                    with open(options.spec, encoding="utf-8") as handle:
                        spec_ids = framework.requirement_ids(handle.read())
                except OSError as error:
                    raise UsageError(f"cannot read the spec {options.spec}: {error}") from None
                reports.write_requirements(spec_ids, cases, sys.stdout)
            return framework.EXIT_CONFORMANT
        if options.mode is None:
            raise UsageError("give a mode: server, client or codec")
        for name in ("hello_timeout", "stall_timeout", "idle_timeout", "max_connections", "attack_seconds"):
            value = getattr(options, name)
            if value is not None and not (0 < value < float("inf")):
                raise UsageError(f"--{name.replace('_', '-')} must be positive, got {value}")
        all_cases = _cases_for(options.mode, options, seed)
        known = framework.read_known_failing(options.known_failing, all_cases) if options.known_failing else []
        cases = _selected(all_cases, options)
        if not cases:
            raise UsageError("no case selected")
        started = time.monotonic()

        def progress(result: Result) -> None:
            if not options.quiet:
                print(f"{result.outcome:<10} {result.case.id} ({result.duration:.2f}s)", file=sys.stderr, flush=True)

        results, target = _run_mode(options.mode, cases, options, command, seed, progress)
    except UsageError as error:
        print(f"slicerbridge-conformance: {error}\nusage:\n{USAGE}", file=sys.stderr)
        return framework.EXIT_USAGE
    framework.apply_known_failing(results, known)
    status = framework.exit_code(results, options.strict)
    fuzz_seed = seed if any(result.case.id.startswith("fuzz.") for result in results) else None
    if options.wire_log:
        reports.write_wire_logs(results, options.wire_log, options.strict)
    if options.json:
        reports.write_json(results, options.json, mode=options.mode, target=target, strict=options.strict,
                           seed=fuzz_seed, exit_status=status, duration=time.monotonic() - started)
    if options.junit:
        reports.write_junit(results, options.junit, mode=options.mode, strict=options.strict)
    reports.write_human(results, sys.stdout, mode=options.mode, target=target, strict=options.strict,
                        seed=fuzz_seed, verbose=options.verbose)
    return status
