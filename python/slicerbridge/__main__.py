"""Command line: ``python -m slicerbridge serve | call | client-check``.

``serve --listen 127.0.0.1:0`` prints ``listening on HOST:PORT`` as its first stdout line (so that
port 0 can be used); ``serve --stdio`` serves one connection on stdin/stdout (logs on stderr).
``client-check HOST:PORT`` runs the Python client against a server and exits 0 when every step
behaved as the protocol requires, 1 otherwise (every wait is bounded).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
from typing import List, Optional

import numpy as np

from .client import Client, parse_host_port
from .data import Image
from .errors import ConnectionLost, ErrorCode, SlicerBridgeError
from .limits import Limits
from .processors import ALL
from .server import Server
from .transport import PipeTransport

TOKEN_VARIABLE = "SLICERBRIDGE_TOKEN"


def _token(arguments: argparse.Namespace) -> Optional[str]:
    return arguments.token if arguments.token is not None else os.environ.get(TOKEN_VARIABLE)


def _serve(arguments: argparse.Namespace) -> int:
    limits = Limits(max_in_flight=arguments.max_in_flight, cancel_grace=arguments.cancel_grace)
    server = Server(ALL, token=_token(arguments), limits=limits, workers=arguments.workers,
                    compression=arguments.compression)
    if arguments.stdio:
        # The protocol owns the original stdout; anything printed goes to stderr instead.
        protocol_in, protocol_out = os.dup(0), os.dup(1)
        os.dup2(2, 1)
        sys.stdout = sys.stderr
        try:
            server.serve_connection(PipeTransport(protocol_in, protocol_out))
        finally:
            server.close()
        return 0

    def stop(signum: int, frame: object) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    try:
        if arguments.listen.startswith("unix:"):
            path = server.listen_unix(arguments.listen[len("unix:"):])
            print(f"listening on unix:{path}", flush=True)
        else:
            host, port = parse_host_port(arguments.listen)
            bound_host, bound_port = server.listen_tcp(host, port)
            shown = f"[{bound_host}]" if ":" in bound_host else bound_host
            print(f"listening on {shown}:{bound_port}", flush=True)
        server.serve_forever()
    except (KeyboardInterrupt, SystemExit):
        pass
    except ValueError as error:
        print(f"slicerbridge: {error}", file=sys.stderr)
        return 2
    finally:
        server.close()
    return 0


def _call(arguments: argparse.Namespace) -> int:
    with Client.connect(arguments.address, token=_token(arguments),
                        timeout=arguments.timeout) as client:
        if arguments.method == "ping":
            output = client.ping()
        elif arguments.method == "catalog":
            output = [d.to_wire() for d in client.catalog()]
        else:
            if not arguments.processor:
                print("slicerbridge: describe needs a processor name", file=sys.stderr)
                return 2
            output = client.describe(arguments.processor).to_wire()
    print(json.dumps(output, indent=2))
    return 0


class CheckFailed(Exception):
    pass


def _check_image() -> Image:
    """An oblique LPS int16 image whose voxels and geometry must come back bit for bit."""
    voxels = (np.arange(5 * 4 * 3, dtype=np.int16) * 1237 - 30000).reshape(3, 4, 5)
    angle = 0.3
    matrix = np.array([[0.8 * np.cos(angle), -0.9 * np.sin(angle), 0.0, -12.5],
                       [0.8 * np.sin(angle), 0.9 * np.cos(angle), 0.1, 40.25],
                       [0.0, 0.0, 2.5, -7.0],
                       [0.0, 0.0, 0.0, 1.0]])
    return Image(voxels, matrix, space="LPS")


def _client_check(arguments: argparse.Namespace) -> int:
    timeout = arguments.timeout

    def step(name: str) -> None:
        print(f"client-check: {name}", file=sys.stderr, flush=True)

    # Belt and braces: whatever blocks, the process ends.
    watchdog = threading.Timer(timeout * 8, lambda: (
        print("client-check: FAILED: overall time limit reached", file=sys.stderr, flush=True),
        os._exit(1)))
    watchdog.daemon = True
    watchdog.start()
    try:
        step("connect and handshake")
        codecs = None if arguments.codecs is None else [c for c in arguments.codecs.split(",") if c]
        client = Client.connect(arguments.address, token=_token(arguments), codecs=codecs,
                                timeout=timeout)
        try:
            step("ping")
            client.ping(timeout=timeout)
            step("catalog")
            names = {d.name for d in client.catalog(timeout=timeout)}
            for needed in ("echo", "slow"):
                if needed not in names:
                    raise CheckFailed(f"the catalog has no {needed!r} processor")
            step("invoke echo with an image")
            image = _check_image()
            outputs = client.invoke("echo", {"image": image}, timeout=timeout).outputs
            images = [value for value in outputs.values() if isinstance(value, Image)]
            if len(images) != 1:
                raise CheckFailed(f"echo returned {len(images)} images, expected 1")
            echoed = images[0]
            # The byte order may differ: the values may not [ARRAY-2].
            if not (echoed.dtype == image.dtype
                    and np.array_equal(echoed.voxels, image.voxels)
                    and np.array_equal(echoed.ijk_to_space, image.ijk_to_space)
                    and echoed.space == image.space and echoed.kind == image.kind):
                raise CheckFailed("echo returned a different image")
            _check_cancel(client, timeout, step)
            step("goodbye")
            client.goodbye(timeout=timeout)
            if client.protocol_violations:
                raise CheckFailed("the server violated the protocol: "
                                  + "; ".join(client.protocol_violations))
        finally:
            client.close(timeout=timeout)
    except (CheckFailed, SlicerBridgeError, ConnectionLost, TimeoutError, OSError) as error:
        print(f"client-check: FAILED: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    print("client-check: OK", file=sys.stderr)
    return 0


def _check_cancel(client: Client, timeout: float, step) -> None:
    step("invoke slow, cancel after the first progress")
    fractions: List[float] = []
    first_progress = threading.Event()

    def on_progress(fraction: float, message: Optional[str]) -> None:
        fractions.append(fraction)
        first_progress.set()

    call = client.submit("slow", parameters={"seconds": timeout * 2, "steps": 200},
                         progress=on_progress)
    if "progress" in client.capabilities and not first_progress.wait(timeout):
        raise CheckFailed("no progress from slow")
    call.cancel()
    try:
        call.result(timeout)
    except SlicerBridgeError as error:
        if error.code != ErrorCode.CANCELLED:
            raise CheckFailed(f"cancelled slow ended with {error.name}, not cancelled") from None
    else:
        raise CheckFailed("cancelled slow returned a result")
    if any(later < earlier for earlier, later in zip(fractions, fractions[1:])):
        raise CheckFailed("progress fractions decreased")


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m slicerbridge")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="serve the built-in processors")
    serve.add_argument("--listen", default="127.0.0.1:0",
                       help="HOST:PORT or unix:PATH (default 127.0.0.1:0)")
    serve.add_argument("--stdio", action="store_true",
                       help="serve one connection on stdin/stdout")
    serve.add_argument("--token", help=f"required client token (or ${TOKEN_VARIABLE})")
    serve.add_argument("--workers", type=int, default=16)
    serve.add_argument("--compression", choices=("zstd", "lz4"))
    serve.add_argument("--max-in-flight", type=int, default=64)
    serve.add_argument("--cancel-grace", type=float, default=5.0)
    serve.add_argument("--log-level", default="WARNING")

    call = commands.add_parser("call", help="call a server once")
    call.add_argument("address")
    call.add_argument("method", choices=("ping", "catalog", "describe"))
    call.add_argument("processor", nargs="?")
    call.add_argument("--token")
    call.add_argument("--timeout", type=float, default=30.0)

    check = commands.add_parser("client-check",
                                help="exercise the Python client against a server")
    check.add_argument("address")
    check.add_argument("--token")
    check.add_argument("--timeout", type=float, default=10.0)
    check.add_argument("--codecs", help="comma-separated codecs to offer (default: all installed)")

    arguments = parser.parse_args(argv)
    logging.basicConfig(level=getattr(arguments, "log_level", "WARNING"), stream=sys.stderr,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    if arguments.command == "serve":
        return _serve(arguments)
    if arguments.command == "call":
        try:
            return _call(arguments)
        except (SlicerBridgeError, ConnectionLost, TimeoutError, OSError) as error:
            print(f"slicerbridge: {error}", file=sys.stderr)
            return 1
    return _client_check(arguments)


if __name__ == "__main__":
    sys.exit(main())
