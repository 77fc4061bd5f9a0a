"""Command line: ``python -m slicerbridge serve | run | call | client-check`` (installed as
``slicerbridge-py``, so that it does not shadow the C++ command line ``slicerbridge``).

``serve [MODULE ...]`` serves the ``@processor`` functions of the given files or modules (the
built-in ones without any). ``--listen 127.0.0.1:0`` prints ``listening on HOST:PORT`` (or
``tls://HOST:PORT``) as its first stdout line (so that port 0 can be used); ``--stdio`` serves one
connection on stdin/stdout, which it takes before importing any processor code, so that print()
goes to standard error. ``run`` runs one processor on files (see ``run --help``).
``client-check ADDRESS`` runs the Python client against a server and exits 0 when every step
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
from typing import Iterable, List, Optional

import numpy as np

from .client import Client, parse_host_port
from .data import Image
from .errors import ConnectionLost, ErrorCode, SlicerBridgeError
from .limits import Limits
from .negotiate import token_problem

TOKEN_VARIABLE = "SLICERBRIDGE_TOKEN"
PROGRAM = "slicerbridge-py"

# Exit statuses, as the C++ command line's.
EXIT_OK, EXIT_CALL_FAILED, EXIT_USAGE, EXIT_CONNECTION, EXIT_FILE, EXIT_CANCELLED = \
    0, 1, 2, 3, 4, 130


class UsageError(Exception):
    pass


class CommandFailed(Exception):
    """Ends a command with ``status`` after printing the message."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def _token(arguments: argparse.Namespace) -> Optional[str]:
    token_file = getattr(arguments, "token_file", None)
    if token_file is not None:
        if arguments.token is not None:
            raise UsageError("give either --token or --token-file")
        try:
            with open(token_file, encoding="utf-8") as file:
                token = file.read().strip()
        except OSError as error:
            raise UsageError(f"cannot read the token file {token_file}: "
                             f"{error.strerror or error}") from None
        if not token:
            raise UsageError(f"the token file {token_file} is empty")
        return token
    if arguments.token is not None:
        return arguments.token
    return os.environ.get(TOKEN_VARIABLE) or None


def _serve(arguments: argparse.Namespace, processors: Optional[Iterable] = None) -> int:
    from .loading import LoadError, load_processors
    from .server import Server

    try:
        token = _token(arguments)
        if token is not None and token_problem(token):
            raise UsageError(token_problem(token))
        if arguments.failed_token_delay < 0:
            raise UsageError("--failed-token-delay must not be negative")
        if (arguments.tls_cert is None) != (arguments.tls_key is None):
            raise UsageError("--tls-cert and --tls-key go together")
        if arguments.stdio and (arguments.listen is not None or arguments.unix is not None
                                or arguments.tls_cert is not None):
            raise UsageError("--stdio serves standard input and output only; drop --listen, "
                             "--unix and TLS")
        if arguments.listen is not None and arguments.unix is not None:
            raise UsageError("give either --listen or --unix")
        if arguments.tls_cert is not None and arguments.unix is not None:
            raise UsageError("TLS is for --listen HOST:PORT; drop --unix")
        if arguments.workers < 1:
            raise UsageError("--workers must be at least 1")
    except UsageError as error:
        print(f"{PROGRAM}: {error}", file=sys.stderr)
        return EXIT_USAGE
    if arguments.stdio:
        # Before any processor code is imported: from here on, print() cannot reach the
        # protocol's stream.
        from .stdio import claim_stdio, stdio_transport
        protocol_in, protocol_out = claim_stdio()
    else:
        # The first line on standard output is "listening on ...", whatever processor code
        # prints while it is imported or running: that goes to standard error.
        announce = _take_stdout()

        def stop(signum: int, frame: object) -> None:
            raise SystemExit(0)

        signal.signal(signal.SIGTERM, stop)
    if processors is None:
        processors = []
        try:
            for spec in arguments.modules:
                processors += load_processors(spec)
        except LoadError as error:
            print(f"{PROGRAM}: {error}", file=sys.stderr)
            return EXIT_USAGE if error.usage else EXIT_CALL_FAILED
        except Exception:
            log = logging.getLogger("slicerbridge.serve")
            log.critical("importing the processors failed", exc_info=True)
            return EXIT_CALL_FAILED
        if not arguments.modules or arguments.builtin:
            from .processors import ALL
            processors += [p for p in ALL if all(p.name != q.name for q in processors)]
    try:
        limits = Limits(max_in_flight=arguments.max_in_flight,
                        cancel_grace=arguments.cancel_grace)
        server = Server(processors, token=token, limits=limits, workers=arguments.workers,
                        compression=arguments.compression,
                        expose_errors=arguments.expose_errors,
                        hello_timeout=arguments.hello_timeout,
                        idle_timeout=arguments.idle_timeout,
                        stall_timeout=arguments.stall_timeout,
                        max_connections=arguments.max_connections,
                        max_connections_per_address=arguments.max_connections_per_address,
                        max_pending_handshakes=arguments.max_pending_handshakes,
                        connection_budget=arguments.connection_budget,
                        total_budget=arguments.total_budget,
                        failed_token_delay=arguments.failed_token_delay,
                        max_pending_calls=arguments.max_pending_calls)
    except ValueError as error:
        print(f"{PROGRAM}: {error}", file=sys.stderr)
        return EXIT_USAGE
    if arguments.stdio:
        try:
            server.serve_connection(stdio_transport(protocol_in, protocol_out))
        finally:
            server.close()
        return EXIT_OK

    try:
        listen = arguments.listen or "127.0.0.1:0"
        if arguments.unix is not None or listen.startswith("unix:"):
            path = server.listen_unix(arguments.unix or listen[len("unix:"):])
            print(f"listening on unix:{path}", file=announce, flush=True)
        else:
            tls = None
            if arguments.tls_cert is not None:
                from .tls import server_context
                tls = server_context(arguments.tls_cert, arguments.tls_key)
            host, port = parse_host_port(listen)
            bound_host, bound_port = server.listen_tcp(host, port, tls=tls)
            shown = f"[{bound_host}]" if ":" in bound_host else bound_host
            scheme = "tls://" if tls is not None else ""
            print(f"listening on {scheme}{shown}:{bound_port}", file=announce, flush=True)
        server.serve_forever()
    except (KeyboardInterrupt, SystemExit):
        pass
    except ValueError as error:
        print(f"{PROGRAM}: {error}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as error:  # includes TlsSetupError and an address in use
        print(f"{PROGRAM}: {error}", file=sys.stderr)
        return EXIT_CALL_FAILED
    finally:
        server.close()
    return EXIT_OK


def _take_stdout():
    """A text stream on the real standard output, after which descriptor 1 and ``sys.stdout``
    go to standard error."""
    sys.stdout.flush()
    announce = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return announce


def connect_or_fail(address: str, *, what: Optional[str] = None, **options) -> Client:
    """``Client.connect``, with failures turned into the command line's exit statuses and
    messages (those of the C++ command line)."""
    from .tls import TlsSetupError, describe_failure
    if not address.startswith("unix:"):
        try:
            parse_host_port(address[len("tls://"):] if address.startswith("tls://")
                            else address)
        except ValueError:
            raise CommandFailed(EXIT_USAGE, f"--server expects HOST:PORT, tls://HOST:PORT or "
                                            f"unix:PATH, not {address!r}") from None
    try:
        return Client.connect(address, **options)
    except TlsSetupError as error:
        raise CommandFailed(EXIT_FILE, str(error)) from None
    except SlicerBridgeError as error:
        raise CommandFailed(EXIT_CONNECTION,
                            f"the server refused the connection: {error}") from None
    except (ConnectionLost, TimeoutError, OSError) as error:
        raise CommandFailed(EXIT_CONNECTION, f"cannot connect to {what or address}: "
                                             f"{describe_failure(error)}") from None


def _connect(arguments: argparse.Namespace, **options) -> Client:
    return connect_or_fail(arguments.address, token=_token(arguments),
                           tls_ca=getattr(arguments, "tls_ca", None), **options)


def _call(arguments: argparse.Namespace) -> int:
    with _connect(arguments, timeout=arguments.timeout) as client:
        if arguments.method == "ping":
            output = client.ping()
        elif arguments.method == "catalog":
            output = [d.to_wire() for d in client.catalog()]
        else:
            if not arguments.processor:
                print(f"{PROGRAM}: describe needs a processor name", file=sys.stderr)
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
        client = _connect(arguments, codecs=codecs, timeout=timeout)
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
    except (CheckFailed, CommandFailed, SlicerBridgeError, ConnectionLost, TimeoutError,
            OSError) as error:
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


def _add_serve_options(serve: argparse.ArgumentParser) -> None:
    where = serve.add_argument_group("where to listen (default --listen 127.0.0.1:0)")
    where.add_argument("--listen", metavar="HOST:PORT",
                       help="TCP address; port 0 picks a free one; the first line on standard "
                            "output is 'listening on HOST:PORT' (tls://HOST:PORT with TLS)")
    where.add_argument("--unix", metavar="PATH", help="a Unix domain socket (mode 0600)")
    where.add_argument("--stdio", action="store_true",
                       help="serve one client on standard input and output; print() and "
                            "anything else written to standard output goes to standard error")
    security = serve.add_argument_group("security")
    security.add_argument("--token", help=f"required client token (default ${TOKEN_VARIABLE})")
    security.add_argument("--token-file", metavar="FILE",
                          help="read the required token from FILE (keeps it out of ps)")
    security.add_argument("--failed-token-delay", type=float, default=0.1, metavar="S",
                          help="answer a missing or wrong token after S seconds, doubling for "
                               "each further failure from one address up to 5 (default 0.1; "
                               "0: at once)")
    security.add_argument("--tls-cert", metavar="FILE",
                          help="serve TLS with this certificate chain (PEM)...")
    security.add_argument("--tls-key", metavar="FILE", help="...and this private key (PEM)")
    work = serve.add_argument_group("work")
    work.add_argument("--workers", type=int, default=16,
                      help="calls that run at once (threads; default 16)")
    work.add_argument("--compression", choices=("zstd", "lz4"))
    work.add_argument("--max-in-flight", type=int, default=64, metavar="N",
                      help="calls one connection may have open at once, announced in the "
                           "hello (default 64); more are answered too_many_in_flight")
    work.add_argument("--max-pending-calls", type=int, default=1024, metavar="N",
                      help="calls admitted and not yet computed across all connections "
                           "(default 1024); more are answered too_many_in_flight")
    work.add_argument("--cancel-grace", type=float, default=5.0, metavar="S",
                      help="seconds a cancelled call's computation may go on before the call "
                           "is answered cancelled anyway, announced in the hello (default 5)")
    work.add_argument("--log-level", default="WARNING",
                      help="DEBUG, INFO, WARNING (default) or ERROR; logs go to standard error")
    work.add_argument("--expose-errors", action="store_true",
                      help="put a failing processor's exception message in its error answer "
                           "(local development only: messages may hold data)")
    availability = serve.add_argument_group(
        "availability (spec section 7.1; 0 disables a timeout or the per-address cap)")
    availability.add_argument("--hello-timeout", type=float, default=10.0, metavar="S",
                              help="seconds for the TLS handshake and the hello (default 10)")
    availability.add_argument("--idle-timeout", type=float, default=0.0, metavar="S",
                              help="close a connection with no open call and nothing received "
                                   "for S seconds (default 0: never)")
    availability.add_argument("--stall-timeout", type=float, default=60.0, metavar="S",
                              help="close a connection whose frame stops arriving or whose "
                                   "answer stops leaving for S seconds (default 60)")
    availability.add_argument("--max-connections", type=int, default=64, metavar="N",
                              help="connections served at once (default 64); further ones "
                                   "are answered too_many_connections")
    availability.add_argument("--max-connections-per-address", type=int, default=0,
                              metavar="N", help="the same per client address (default 0)")
    availability.add_argument("--max-pending-handshakes", type=int, default=64, metavar="N",
                              help="TLS handshakes in progress at once (default 64)")
    availability.add_argument("--connection-budget", type=int, default=1 << 30, metavar="BYTES",
                              help="bytes one connection holds in frames being received, inputs "
                                   "of open calls and answers not yet sent; beyond it its "
                                   "reading pauses (default 1 GiB)")
    availability.add_argument("--total-budget", type=int, default=4 << 30, metavar="BYTES",
                              help="the same over all connections (default 4 GiB)")


def _parser(with_modules: bool = True) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m slicerbridge",
                                     description="SlicerBridge in Python: serve processors, run "
                                                 "them on files, check servers.")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser(
        "serve", help="serve processors",
        description="Serves the @processor functions of MODULEs (files like my_processors.py, "
                    "module names like package.module, either with :NAME for one attribute); "
                    "the built-in processors without any.")
    if with_modules:
        serve.add_argument("modules", nargs="*", metavar="MODULE")
        serve.add_argument("--builtin", action="store_true",
                           help="serve the built-in processors (echo, slow, fail...) too")
    _add_serve_options(serve)

    from .run import add_run_parser
    add_run_parser(commands)
    from .batch import add_batch_parser
    add_batch_parser(commands)

    call = commands.add_parser("call", help="call a server once")
    call.add_argument("address", help="HOST:PORT, tls://HOST:PORT or unix:PATH")
    call.add_argument("method", choices=("ping", "catalog", "describe"))
    call.add_argument("processor", nargs="?")
    call.add_argument("--token")
    call.add_argument("--tls-ca", metavar="FILE",
                      help="CA certificates to verify a tls:// server with (default: the "
                           "system's)")
    call.add_argument("--timeout", type=float, default=30.0)

    check = commands.add_parser("client-check",
                                help="exercise the Python client against a server")
    check.add_argument("address")
    check.add_argument("--token")
    check.add_argument("--tls-ca", metavar="FILE")
    check.add_argument("--timeout", type=float, default=10.0)
    check.add_argument("--codecs", help="comma-separated codecs to offer (default: all installed)")
    return parser


def _configure_logging(arguments: argparse.Namespace) -> None:
    logging.basicConfig(level=str(getattr(arguments, "log_level", "WARNING")).upper(),
                        stream=sys.stderr,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")


def serve_main(processors: Iterable, argv: Optional[List[str]] = None) -> int:
    """The ``serve`` command line for these processors, for a script of one's own::

        if __name__ == "__main__":
            sys.exit(slicerbridge.serve_main([threshold]))

    takes ``--listen``, ``--unix``, ``--stdio``, ``--token-file``, ``--tls-cert``... as
    ``python -m slicerbridge serve`` does. With ``--stdio``, anything the script printed while
    it was imported has already gone to standard output: prefer ``python -m slicerbridge serve
    --stdio script.py``, which takes standard output first."""
    parser = _parser(with_modules=False)
    arguments = parser.parse_args(["serve", *(sys.argv[1:] if argv is None else argv)])
    _configure_logging(arguments)
    return _serve(arguments, list(processors))


def main(argv: Optional[List[str]] = None) -> int:
    parser = _parser()
    arguments = parser.parse_args(argv)
    _configure_logging(arguments)
    if arguments.command == "serve":
        return _serve(arguments)
    if arguments.command == "run":
        from .run import run_command
        return run_command(arguments)
    if arguments.command == "batch":
        from .batch import batch_command
        return batch_command(arguments)
    try:
        if arguments.command == "call":
            return _call(arguments)
        return _client_check(arguments)
    except UsageError as error:
        print(f"{PROGRAM}: {error}", file=sys.stderr)
        return EXIT_USAGE
    except CommandFailed as failure:
        print(f"{PROGRAM}: {failure}", file=sys.stderr)
        return failure.status
    except (SlicerBridgeError, ConnectionLost, TimeoutError, OSError) as error:
        print(f"{PROGRAM}: {error}", file=sys.stderr)
        return EXIT_CALL_FAILED if isinstance(error, SlicerBridgeError) else EXIT_CONNECTION


if __name__ == "__main__":
    sys.exit(main())
