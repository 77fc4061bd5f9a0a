"""``python -m slicerbridge run PROCESSOR``: one processor on files, remotely (``--server``,
``--launch``) or in this process (``--processors my_processors.py``), with the flags, messages
and exit statuses of the C++ command line ``slicerbridge run``.

Exit statuses: 0 success, 1 the call failed, 2 usage error, 3 connection or protocol failure,
4 a file could not be read or written, 130 the call was cancelled (Ctrl-C once: the processor is
asked to stop and its answer awaited; twice: exit at once).
"""

from __future__ import annotations

import argparse
import math
import os
import shlex
import signal
import sys
import threading
import time
import traceback
from typing import Any, Dict, List, Optional, Tuple

from .catalog import ProcessorDescription, Slot, did_you_mean
from .context import Context
from .data import Image, ImageSeries, Table
from .errors import ConnectionLost, ErrorCode, SlicerBridgeError
from .files import (SUPPORTED, FileError, read_image, read_image_series, write_image,
                    write_image_series, write_table)
from .waiting import join_thread

PROGRAM = "slicerbridge-py"
EXIT_OK, EXIT_CALL_FAILED, EXIT_USAGE, EXIT_CONNECTION, EXIT_FILE, EXIT_CANCELLED = \
    0, 1, 2, 3, 4, 130


class Exit(Exception):
    def __init__(self, status: int, message: str = ""):
        super().__init__(message)
        self.status = status


def add_run_parser(commands) -> None:
    run = commands.add_parser(
        "run", help="run a processor on files",
        description="Runs PROCESSOR on files: from a server (--server), a server started as a "
                    "child process (--launch) or in this process (--processors MODULE).",
        epilog=f"Files: {SUPPORTED}. Exit status: 0 success, 1 the call failed, 2 usage error, "
               "3 connection or protocol failure, 4 a file could not be read or written, "
               "130 the call was cancelled (Ctrl-C).")
    run.add_argument("processor")
    run.add_argument("--input", action="append", default=[], metavar="NAME=FILE")
    run.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                     help="vectors: comma-separated values; bools: true/false")
    run.add_argument("--output", action="append", default=[], metavar="NAME=FILE",
                     help="a table may go to - (standard output, CSV)")
    where = run.add_argument_group("where the processor runs")
    where.add_argument("--server", metavar="ADDR",
                       help="HOST:PORT, tls://HOST:PORT or unix:PATH (default "
                            "$SLICERBRIDGE_SERVER)")
    where.add_argument("--launch", metavar="CMD",
                       help='start CMD and talk to it over its standard input and output, e.g. '
                            '"python -m slicerbridge serve --stdio my_processors.py"')
    where.add_argument("--processors", action="append", default=[], metavar="MODULE",
                       help="run in this process, from this file or module (repeatable)")
    where.add_argument("--token", help="token the server requires (default $SLICERBRIDGE_TOKEN)")
    where.add_argument("--tls-ca", metavar="FILE",
                       help="CA certificates to verify a tls:// server with")
    run.add_argument("--deadline", type=float, metavar="SECONDS",
                     help="ask the server to give up after this long")
    run.add_argument("--timings", action="store_true", help="print where the time went")
    run.add_argument("--progress", choices=("auto", "bar", "lines", "none"), default="auto")
    run.add_argument("--quiet", action="store_true", help="no progress and no summary")


def run_command(arguments: argparse.Namespace) -> int:
    try:
        return _run(arguments)
    except Exit as failure:
        if str(failure):
            print(f"{PROGRAM}: {failure}", file=sys.stderr)
        if failure.status == EXIT_USAGE:
            print(f"(see {PROGRAM} run --help)", file=sys.stderr)
        return failure.status


def _assignments(flag: str, items: List[str]) -> List[Tuple[str, str]]:
    pairs = []
    for item in items:
        name, separator, value = item.partition("=")
        if not separator or not name:
            raise Exit(EXIT_USAGE, f'{flag} expects NAME=VALUE, not "{item}"')
        pairs.append((name, value))
    return pairs


def _find_slot(description: ProcessorDescription, role: str, name: str) -> Slot:
    slots = getattr(description, role + "s")
    for slot in slots:
        if slot.name == name:
            return slot
    known = [s.name for s in slots]
    raise Exit(EXIT_USAGE, f'{description.name} has no {role} named "{name}"'
                           f'{did_you_mean(name, known)} (its {role}s: '
                           f'{", ".join(known) if known else "none"})')


def _parse_number(kind: str, name: str, text: str):
    try:
        if kind == "int":
            return int(text)
        value = float(text)
    except ValueError:
        expected = "an integer" if kind == "int" else "a number"
        raise Exit(EXIT_USAGE, f'parameter {name} expects {expected}, not "{text}"') from None
    if math.isinf(value) and "inf" not in text.lower():
        raise Exit(EXIT_USAGE, f'parameter {name} expects a number, not "{text}"')
    return value


def parse_parameter(slot: Slot, text: str) -> Any:
    """A parameter's value from its text, by the slot's type (as the C++ command line)."""
    kind = slot.type
    if kind == "bool":
        if text in ("true", "1", "yes", "on"):
            return True
        if text in ("false", "0", "no", "off"):
            return False
        raise Exit(EXIT_USAGE, f'parameter {slot.name} expects true or false, not "{text}"')
    if kind in ("int", "float"):
        return _parse_number(kind, slot.name, text)
    if kind == "enum":
        if slot.choices and text not in slot.choices:
            raise Exit(EXIT_USAGE, f"parameter {slot.name} expects one of "
                                   f'{", ".join(slot.choices)}, not "{text}"'
                                   f"{did_you_mean(text, slot.choices)}")
        return text
    items = text.split(",") if text else []
    if kind == "int_vector":
        return [_parse_number("int", slot.name, item) for item in items]
    if kind == "float_vector":
        return [_parse_number("float", slot.name, item) for item in items]
    return items if kind == "string_vector" else text


def summary(value: Any) -> str:
    if isinstance(value, Image):
        text = (f"image {value.dims[0]}x{value.dims[1]}x{value.dims[2]} {value.dtype} "
                f"{value.kind}")
        return text + (f" ({value.components} components)" if value.components > 1 else "")
    if isinstance(value, ImageSeries):
        return (f"image series of {len(value)} volumes {value.dims[0]}x{value.dims[1]}x"
                f"{value.dims[2]} {value.dtype} along {value.axis}")
    if isinstance(value, Table):
        rows = len(next(iter(value.columns.values()))) if value.columns else 0
        return f"table of {rows} rows and {len(value.columns)} columns"
    return getattr(value, "type", type(value).__name__)


class _Progress:
    def __init__(self, mode: str):
        self.mode = mode
        self.drawn = False
        self.lock = threading.Lock()

    def show(self, fraction: float, message: Optional[str]) -> None:
        percent = int(fraction * 100)
        with self.lock:
            if self.mode == "lines":
                print(f"progress: {percent}%" + (f" {message}" if message else ""),
                      file=sys.stderr, flush=True)
            elif self.mode == "bar":
                filled = round(fraction * 30)
                sys.stderr.write(f"\r[{'#' * filled}{' ' * (30 - filled)}] {percent:3d}%"
                                 + (f" {message[:40]}" if message else "") + "\x1b[K")
                sys.stderr.flush()
                self.drawn = True

    def clear(self) -> None:
        with self.lock:
            if self.drawn:
                sys.stderr.write("\r\x1b[K")
                sys.stderr.flush()
                self.drawn = False


class _Interrupt:
    """SIGINT/SIGTERM: the first asks the call to stop, a second exits at once."""

    def __init__(self) -> None:
        self.requested = threading.Event()
        self._cancel = None
        self._lock = threading.Lock()
        self._previous = {}
        for number in (signal.SIGINT, signal.SIGTERM):
            self._previous[number] = signal.signal(number, self._handle)

    def started(self, cancel) -> None:
        with self._lock:
            self._cancel = cancel
            if self.requested.is_set():
                cancel()

    def _handle(self, signum: int, frame: object) -> None:
        if self.requested.is_set():
            sys.stderr.write(f"\n{PROGRAM}: interrupted again, exiting\n")
            sys.stderr.flush()
            os._exit(EXIT_CANCELLED)
        self.requested.set()
        sys.stderr.write(f"\n{PROGRAM}: cancelling the call (Ctrl-C again to exit now)\n")
        sys.stderr.flush()
        with self._lock:
            cancel = self._cancel
        if cancel is not None:
            threading.Thread(target=cancel, daemon=True).start()

    def restore(self) -> None:
        for number, handler in self._previous.items():
            signal.signal(number, handler)


def _run(arguments: argparse.Namespace) -> int:
    from .cli import CommandFailed, connect_or_fail, _token

    name = arguments.processor
    inputs = _assignments("--input", arguments.input)
    parameters = _assignments("--param", arguments.param)
    outputs = _assignments("--output", arguments.output)
    if arguments.deadline is not None and not (math.isfinite(arguments.deadline)
                                               and arguments.deadline >= 0):
        raise Exit(EXIT_USAGE, "--deadline expects a number of seconds >= 0")
    places = [bool(arguments.server), bool(arguments.launch), bool(arguments.processors)]
    if sum(places) > 1:
        raise Exit(EXIT_USAGE, "give one of --server, --launch and --processors")
    server = arguments.server
    if not any(places):
        server = os.environ.get("SLICERBRIDGE_SERVER")
        if not server:
            raise Exit(EXIT_USAGE, 'no server: give --server ADDR, --launch "CMD", '
                                   "--processors MODULE or set SLICERBRIDGE_SERVER")

    client = None
    local = None
    try:
        if arguments.processors:
            local = _load_local(arguments.processors, name)
            description = local.description
        else:
            try:
                token = _token(arguments)
            except Exception as error:
                raise Exit(EXIT_USAGE, str(error)) from None
            try:
                if arguments.launch:
                    client = _launch(arguments.launch, token)
                else:
                    client = connect_or_fail(server, token=token, tls_ca=arguments.tls_ca)
            except CommandFailed as failure:
                raise Exit(failure.status, str(failure)) from None
            try:
                description = client.describe(name)
            except SlicerBridgeError as error:
                status = EXIT_CALL_FAILED if error.code >= 100 else EXIT_CONNECTION
                raise Exit(status, f"describe {name} failed: {error}") from None
            except (ConnectionLost, TimeoutError, OSError) as error:
                raise Exit(EXIT_CONNECTION, f"describe {name} failed: {error}") from None

        given: Dict[str, Any] = {}
        for input_name, path in inputs:
            slot = _find_slot(description, "input", input_name)
            if slot.type not in ("image", "image_series"):
                raise Exit(EXIT_FILE, f"{path}: reading a {slot.type} from a file is not "
                                      f"supported here (images only: {SUPPORTED})")
            try:
                given[input_name] = (read_image(path, slot.image_kind) if slot.type == "image"
                                     else read_image_series(path))
            except FileError as error:
                raise Exit(EXIT_FILE, str(error)) from None
        values = {parameter: parse_parameter(_find_slot(description, "parameter", parameter),
                                             text) for parameter, text in parameters}
        for output_name, _ in outputs:
            _find_slot(description, "output", output_name)

        mode = "none" if arguments.quiet else arguments.progress
        if mode == "auto":
            mode = "bar" if sys.stderr.isatty() else "none"
        progress = _Progress(mode)
        interrupt = _Interrupt()
        try:
            if local is not None:
                result, timings = _invoke_local(local, given, values, arguments, progress,
                                                interrupt)
            else:
                result, timings = _invoke_remote(client, name, given, values, arguments,
                                                 progress, interrupt)
        finally:
            progress.clear()
            interrupt.restore()
        return _write_outputs(name, result, timings, outputs, arguments, interrupt)
    finally:
        if client is not None:
            try:
                client.close(timeout=10.0)
            except Exception:  # the outcome is already decided
                pass


def _launch(command: str, token: Optional[str]):
    from .client import Client, LaunchError
    argv = shlex.split(command, posix=os.name != "nt")
    if not argv:
        raise Exit(EXIT_USAGE, "--launch: empty command")
    try:
        return Client.launch(argv, token=token)
    except LaunchError as error:
        raise Exit(EXIT_CONNECTION, str(error)) from None
    except SlicerBridgeError as error:
        raise Exit(EXIT_CONNECTION, f"the server refused the connection: {error}") from None
    except (ConnectionLost, TimeoutError, OSError) as error:
        raise Exit(EXIT_CONNECTION, f"cannot start {command}: {error}") from None


def _load_local(modules: List[str], name: str):
    from .loading import LoadError, load_processors
    found = {}
    for spec in modules:
        try:
            for proc in load_processors(spec):
                found.setdefault(proc.name, proc)
        except LoadError as error:
            raise Exit(EXIT_USAGE if error.usage else EXIT_CALL_FAILED, str(error)) from None
        except Exception:
            traceback.print_exc()
            raise Exit(EXIT_CALL_FAILED, f"importing {spec} failed") from None
    if name not in found:
        raise Exit(EXIT_CALL_FAILED, f"no processor named {name!r}{did_you_mean(name, found)} "
                                     f"(in {', '.join(modules)}: {', '.join(found)})")
    return found[name]


def _call_failed(name: str, error: SlicerBridgeError) -> Exit:
    if error.code == ErrorCode.CANCELLED:
        return Exit(EXIT_CANCELLED, f"{name} was cancelled")
    message = error.message
    if error.details and isinstance(error.details.get("name"), str) \
            and error.details["name"] not in message:
        message += f" [{error.details['name']}]"
    if error.code >= 100:
        return Exit(EXIT_CALL_FAILED, f"{name} failed: {message} ({error.code} {error.name})")
    return Exit(EXIT_CONNECTION, f"{name}: {message}")


def _invoke_remote(client, name, given, values, arguments, progress, interrupt):
    try:
        call = client.submit(name, given, values, deadline=arguments.deadline,
                             progress=progress.show)
    except SlicerBridgeError as error:  # checked against the description before sending
        raise _call_failed(name, error) from None
    except (ConnectionLost, OSError) as error:
        raise Exit(EXIT_CONNECTION, f"{name}: {error}") from None
    interrupt.started(call.cancel)
    try:
        result = call.result()
    except SlicerBridgeError as error:
        raise _call_failed(name, error) from None
    except (ConnectionLost, TimeoutError, OSError) as error:
        raise Exit(EXIT_CONNECTION, f"{name}: {error}") from None
    return result.outputs, result.timings


def _invoke_local(proc, given, values, arguments, progress, interrupt):
    from .catalog import check_arguments
    try:
        bound = check_arguments(proc.description, given, values)
    except SlicerBridgeError as error:
        raise _call_failed(proc.name, error) from None
    cancel = threading.Event()
    deadline_passed = threading.Event()
    interrupt.started(cancel.set)
    if arguments.deadline is not None:
        timer = threading.Timer(arguments.deadline,
                                lambda: (deadline_passed.set(), cancel.set()))
        timer.daemon = True
        timer.start()
    context = Context(call_id=1, processor=proc.name, progress_sink=progress.show,
                      cancel_event=cancel)
    outcome: Dict[str, Any] = {}

    def work() -> None:
        started = time.perf_counter()
        try:
            outcome["outputs"] = proc.run(context, bound)
        except BaseException as error:  # reported on the main thread
            outcome["error"] = error
        outcome["computing"] = time.perf_counter() - started

    worker = threading.Thread(target=work, name="slicerbridge-run", daemon=True)
    worker.start()
    join_thread(worker)
    error = outcome.get("error")
    if isinstance(error, SlicerBridgeError) and error.code == ErrorCode.CANCELLED \
            and deadline_passed.is_set() and not interrupt.requested.is_set():
        error = SlicerBridgeError(ErrorCode.DEADLINE_EXCEEDED, "the deadline passed")
    if isinstance(error, SlicerBridgeError):
        raise _call_failed(proc.name, error)
    if error is not None:
        traceback.print_exception(type(error), error, error.__traceback__)
        raise Exit(EXIT_CALL_FAILED, f"{proc.name} failed: it raised {type(error).__name__}: "
                                     f"{error}")
    return outcome["outputs"], {"computing": outcome["computing"]}


def _write_outputs(name, result, timings, outputs, arguments, interrupt) -> int:
    status = EXIT_OK
    for output_name, path in outputs:
        value = result.get(output_name)
        if value is None:
            print(f"{PROGRAM}: {name} produced no output {output_name}", file=sys.stderr)
            status = EXIT_CALL_FAILED
            continue
        try:
            if isinstance(value, Image):
                write_image(value, path)
            elif isinstance(value, ImageSeries):
                write_image_series(value, path)
            elif isinstance(value, Table):
                write_table(value, path)
            else:
                raise FileError(f"{path}: writing a {value.type} to a file is not supported "
                                f"here ({SUPPORTED})")
        except FileError as error:
            raise Exit(EXIT_FILE, str(error)) from None
        if not arguments.quiet:
            print(f"wrote {output_name} ({summary(value)}) to {path}", file=sys.stderr)
    if not arguments.quiet:
        saved = {output_name for output_name, _ in outputs}
        for output_name, value in result.items():
            if output_name not in saved:
                print(f"not saved: {output_name} ({summary(value)}); add --output "
                      f"{output_name}=FILE", file=sys.stderr)
    if arguments.timings:
        parts = [f"{key} {timings[key]:.4f} s" for key in
                 ("receiving", "queued", "computing", "sending", "round_trip") if key in timings]
        print(f"timings {name}: " + ", ".join(parts), flush=True)
    if interrupt.requested.is_set() and status == EXIT_OK and not arguments.quiet:
        print(f"{PROGRAM}: the call finished before the cancel reached it", file=sys.stderr)
    return status
