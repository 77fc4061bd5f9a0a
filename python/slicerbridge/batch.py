"""``python -m slicerbridge batch PROCESSOR``: one processor over many image files, ``--jobs N``
calls at a time over a ``ClientPool``, with the flags, summary and exit statuses of the C++
``slicerbridge batch`` (images and tables only, as ``run`` here).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import glob
import json
import os
import shlex
import sys
import threading
import time
from typing import Any, Dict, List, Optional, Tuple

from .data import Image, Table
from .errors import ConnectionLost, SlicerBridgeError
from .files import SUPPORTED, FileError, read_image, write_image, write_table
from .pool import CallLost
from .run import (EXIT_CALL_FAILED, EXIT_CANCELLED, EXIT_CONNECTION, EXIT_FILE, EXIT_OK,
                  EXIT_USAGE, PROGRAM, Exit, _assignments, _find_slot, parse_parameter)
from .waiting import future_result


def add_batch_parser(commands) -> None:
    batch = commands.add_parser(
        "batch", help="run a processor on many files over a pool of connections",
        description="Runs PROCESSOR once per file matched by the --input patterns, --jobs calls "
                    "at a time; calls to idempotent processors survive a lost server.")
    batch.add_argument("processor")
    batch.add_argument("--input", action="append", default=[], metavar="NAME=GLOB",
                       help="files for an input; several multi-file inputs are paired in sorted "
                            "order; an input matching one file goes to every item")
    batch.add_argument("--param", action="append", default=[], metavar="NAME=VALUE")
    batch.add_argument("--output", action="append", default=[], metavar="NAME=PATTERN",
                       help="where output NAME goes in --output-dir ({item}: the item's name); "
                            "default: every output that is not optional, {item}_NAME.nrrd")
    batch.add_argument("--output-dir", required=True, metavar="DIR")
    batch.add_argument("--jobs", type=int, default=4, help="connections and calls in flight")
    batch.add_argument("--retries", type=int, default=2,
                       help="resends of an idempotent call after a lost server (default 2)")
    batch.add_argument("--deadline", type=float, metavar="SECONDS")
    batch.add_argument("--no-resume", action="store_true",
                       help="run every item (default: skip items whose outputs all exist)")
    batch.add_argument("--summary-json", metavar="FILE")
    batch.add_argument("--progress", choices=("auto", "bar", "lines", "none"), default="auto")
    batch.add_argument("--quiet", action="store_true")
    where = batch.add_argument_group("where the processors run")
    where.add_argument("--server", metavar="ADDR", help="HOST:PORT, tls://HOST:PORT or unix:PATH "
                                                        "(default $SLICERBRIDGE_SERVER)")
    where.add_argument("--launch", metavar="CMD", help="a command started once per connection")
    where.add_argument("--token", help="token the servers require (default $SLICERBRIDGE_TOKEN)")
    where.add_argument("--token-file", metavar="FILE", help="read the token from FILE")
    where.add_argument("--tls-ca", metavar="FILE")


def _item_name(path: str) -> str:
    name = os.path.basename(path)
    for doubled in (".nii.gz", ".mrk.json"):
        if name.endswith(doubled) and len(name) > len(doubled):
            return name[:-len(doubled)]
    stem, dot, _ = name.rpartition(".")
    return stem if dot and stem else name


def _kept_extension(path: str) -> str:
    lower = path.lower()
    for kept in (".nii.gz", ".nii", ".nrrd"):
        if lower.endswith(kept):
            return kept
    return ".nrrd"  # .nhdr inputs too: the output is one file


def batch_command(arguments: argparse.Namespace) -> int:
    try:
        return _batch(arguments)
    except Exit as failure:
        print(f"{PROGRAM}: {failure}", file=sys.stderr)
        return failure.status


def _pool(arguments: argparse.Namespace):
    from .cli import _token
    from .client import Client
    from .pool import ClientPool
    if arguments.server and arguments.launch:
        raise Exit(EXIT_USAGE, "give either --server or --launch")
    server = arguments.server or (None if arguments.launch
                                  else os.environ.get("SLICERBRIDGE_SERVER"))
    if not server and not arguments.launch:
        raise Exit(EXIT_USAGE, 'no server: give --server ADDR, --launch "CMD" or set '
                               "SLICERBRIDGE_SERVER")
    try:
        token = _token(arguments)
    except Exception as error:
        raise Exit(EXIT_USAGE, str(error)) from None
    if arguments.launch:
        argv = shlex.split(arguments.launch, posix=os.name != "nt")
        if not argv:
            raise Exit(EXIT_USAGE, "--launch: empty command")
        # Named as the C++ pool names it: the command's first words and, per connection, the
        # launched process ("srun -u -n1 slicerbridge-server --stdio (pid 4242)").
        shown = " ".join(argv[:6]) + (" ..." if len(argv) > 6 else "")
        return ClientPool(lambda: Client.launch(argv, token=token), arguments.jobs,
                          max_retries=arguments.retries, name=shown), arguments.launch
    return ClientPool(lambda: Client.connect(server, token=token, tls_ca=arguments.tls_ca),
                      arguments.jobs, max_retries=arguments.retries, name=server), server


def _batch(arguments: argparse.Namespace) -> int:
    if arguments.jobs < 1 or arguments.retries < 0:
        raise Exit(EXIT_USAGE, "--jobs expects at least 1 and --retries at least 0")
    inputs = _assignments("--input", arguments.input)
    if not inputs:
        raise Exit(EXIT_USAGE, "batch needs at least one --input NAME=GLOB")
    matched: List[Tuple[str, List[str]]] = []
    count, per_item = 1, None
    for name, pattern in inputs:
        paths = sorted(glob.glob(pattern))
        if not paths:
            raise Exit(EXIT_FILE, f"no file matches --input {name}={pattern}")
        if len(paths) > 1:
            if per_item is None:
                per_item, count = name, len(paths)
            elif len(paths) != count:
                raise Exit(EXIT_USAGE, f"--input {name} matches {len(paths)} files and --input "
                                       f"{per_item} {count}: they cannot be paired")
        matched.append((name, paths))
    items: List[Dict[str, Any]] = []
    for i in range(count):
        files = {name: paths[0] if len(paths) == 1 else paths[i] for name, paths in matched}
        key = per_item or matched[0][0]
        items.append({"item": _item_name(files[key]), "inputs": files, "status": "pending",
                      "attempts": 0, "seconds": 0.0, "server": "", "error": ""})
    if len({it["item"] for it in items}) != len(items):
        raise Exit(EXIT_USAGE, "two inputs give the same item name: outputs would overwrite "
                               "each other")

    pool, where = _pool(arguments)
    try:
        try:
            catalog = pool.catalog()
        except (ConnectionLost, SlicerBridgeError, TimeoutError, OSError) as error:
            raise Exit(EXIT_CONNECTION, f"cannot reach {where}: {error}") from None
        description = next((d for d in catalog if d.name == arguments.processor), None)
        if description is None:
            raise Exit(EXIT_CALL_FAILED, f"the server has no processor {arguments.processor!r}")
        values = {p: parse_parameter(_find_slot(description, "parameter", p), text)
                  for p, text in _assignments("--param", arguments.param)}
        for name, _ in matched:
            if _find_slot(description, "input", name).type != "image":
                raise Exit(EXIT_FILE, f"reading a non-image input is not supported here "
                                      f"({SUPPORTED})")
        wanted = _assignments("--output", arguments.output)
        for name, _ in wanted:
            _find_slot(description, "output", name)
        if not wanted:
            # As the C++ command: an image output keeps the format of the first input's file.
            image_extension = _kept_extension(matched[0][1][0])
            wanted = [(s.name, "{item}_" + s.name + (".csv" if s.type == "table"
                                                     else image_extension))
                      for s in description.outputs
                      if not s.optional and s.type in ("image", "table", "label")]
        os.makedirs(arguments.output_dir, exist_ok=True)
        targets = set()
        for it in items:
            it["outputs"] = {name: os.path.join(arguments.output_dir,
                                                pattern.replace("{item}", it["item"]))
                             for name, pattern in wanted}
            for path in it["outputs"].values():
                if path in targets:
                    raise Exit(EXIT_USAGE, f"two outputs would be written to {path} (put "
                                           "{item} in --output patterns)")
                targets.add(path)
            if (not arguments.no_resume and it["outputs"]
                    and all(os.path.exists(p) for p in it["outputs"].values())):
                it["status"] = "skipped"
        slots = {name: _find_slot(description, "input", name) for name, _ in matched}
        return _run_items(arguments, pool, description.name, items, slots, values)
    finally:
        pool.close()


def _run_items(arguments, pool, processor, items, slots, values) -> int:
    mode = "none" if arguments.quiet else arguments.progress
    if mode == "auto":
        mode = "bar" if sys.stderr.isatty() else "none"
    lock = threading.Lock()
    counts = {"done": sum(it["status"] == "skipped" for it in items), "ok": 0, "failed": 0}
    started = time.monotonic()

    def one(it: Dict[str, Any]) -> None:
        begun = time.monotonic()
        try:
            given = {name: read_image(path, slots[name].image_kind)
                     for name, path in it["inputs"].items()}
            result = pool.invoke(processor, given, values, deadline=arguments.deadline)
            it["attempts"], it["server"] = result.attempts, result.server
            for name, path in it["outputs"].items():
                value = result.outputs.get(name)
                if value is None:
                    raise FileError(f"{processor} returned no output {name}")
                temporary = os.path.join(os.path.dirname(path) or ".",
                                         f".partial-{os.getpid()}-{threading.get_ident()}-"
                                         f"{os.path.basename(path)}")
                if isinstance(value, Image):
                    write_image(value, temporary)
                elif isinstance(value, Table):
                    write_table(value, temporary)
                else:
                    raise FileError(f"{path}: writing a {value.type} is not supported here")
                os.replace(temporary, path)  # an existing output is a whole one
            it["status"] = "ok"
        except (FileError, SlicerBridgeError, ConnectionLost, TimeoutError, OSError) as error:
            it["status"], it["error"] = "failed", str(error)
            # No connection could be opened at all (not a call lost with its connection).
            it["no_connection"] = (isinstance(error, ConnectionLost)
                                   and not isinstance(error, CallLost))
            it["attempts"] = max(it["attempts"], getattr(error, "attempts", 1))
        it["seconds"] = time.monotonic() - begun
        with lock:
            counts["done"] += 1
            counts["ok" if it["status"] == "ok" else "failed"] += 1
            if mode == "lines":
                print(f"batch: {counts['done']}/{len(items)} {it['item']} {it['status']}"
                      + (f" on {it['server']}" if it["server"] else ""), file=sys.stderr,
                      flush=True)
            elif mode == "bar":
                filled = counts["done"] * 30 // max(1, len(items))
                print(f"\r[{'#' * filled}{' ' * (30 - filled)}] {counts['done']}/{len(items)}"
                      f"  ok {counts['ok']}  failed {counts['failed']}  lost {pool.lost}"
                      f"  resent {pool.resent}\x1b[K", end="", file=sys.stderr, flush=True)

    pending = [it for it in items if it["status"] == "pending"]
    interrupted = False
    with concurrent.futures.ThreadPoolExecutor(arguments.jobs) as executor:
        futures = [executor.submit(one, it) for it in pending]
        try:
            for future in futures:
                future_result(future)
        except KeyboardInterrupt:
            interrupted = True
            for future in futures:
                future.cancel()
            pool.close()
    if mode == "bar":
        print("\r\x1b[K", end="", file=sys.stderr, flush=True)
    width = max([4] + [len(it["item"]) for it in items]) + 2
    print(f"{'item':<{width}}{'status':<11}{'attempts':<9}{'seconds':<10}server / error")
    for it in items:
        if arguments.quiet and it["status"] != "failed":
            continue
        print(f"{it['item']:<{width}}{it['status'].upper() if it['status'] == 'failed' else it['status']:<11}"
              f"{it['attempts']:<9}{it['seconds']:<10.3f}"
              f"{it['error'] if it['status'] == 'failed' else it['server']}")
    skipped = sum(it["status"] == "skipped" for it in items)
    print(f"batch {processor}: {len(items)} items, {counts['ok']} ok, {skipped} skipped (outputs "
          f"already written), {counts['failed']} failed; {time.monotonic() - started:.2f} s; "
          f"connections: {pool.opened} opened, {pool.lost} lost, {pool.resent} calls sent again",
          flush=True)
    for it in items:
        if it["status"] == "failed":
            print(f"{PROGRAM}: {it['item']} failed: {it['error']}", file=sys.stderr)
    if arguments.summary_json:
        with open(arguments.summary_json, "w") as out:
            json.dump({"processor": processor,
                       "items": [{k: v for k, v in it.items() if k != "no_connection"}
                                 for it in items],
                       "connections": {"opened": pool.opened, "lost": pool.lost,
                                       "resent": pool.resent}}, out, indent=2)
    if interrupted:
        return EXIT_CANCELLED
    if counts["failed"]:
        # As the C++ command: 3 when nothing worked because no server could be reached.
        unreachable = all(it.get("no_connection") for it in items if it["status"] == "failed")
        return EXIT_CONNECTION if unreachable and counts["ok"] == 0 else EXIT_CALL_FAILED
    return EXIT_OK
