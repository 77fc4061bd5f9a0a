"""Processors as Slicer CLI modules, through the extension's exporter (spec Appendix B).

The exporter (``slicerbridge-cli-module``, installed by the extension as the CLI module
``SlicerBridgeExport``) writes every processor of a server into a folder: per processor an entry
Slicer runs and its Execution Model XML, and ``slicerbridge-modules.json`` saying where the
server is. Slicer loads the folder as an additional module path; no build is needed. One
generator writes the XML, in C++ (``slicerbridge/cli_module.hpp``), for the exporter and for
this module alike.
"""

from __future__ import annotations

import os
import subprocess
from typing import List, Optional, Sequence

from .client import BridgeError

TOKEN_FILE_NAME = "token"
MODULE_PATHS_SETTING = "Modules/AdditionalPaths"


def exporter_command(exporter: str, folder: str, *, server: str = "", launch: str = "",
                     token_file: str = "", tls_ca: str = "") -> List[str]:
    """The exporter's command line: a server address or a launch command, the token file and
    the CA certificates by path (never the token itself: command lines are public)."""
    if bool(server) == bool(launch):
        raise ValueError("give either a server address or a launch command")
    command = [exporter, "--output_directory", folder]
    command += ["--server", server] if server else ["--launch", launch]
    if token_file:
        command += ["--token_file", token_file]
    if tls_ca:
        command += ["--tls_ca", tls_ca]
    return command


def write_token_file(folder: str, token: str) -> str:
    """Keeps a token typed into the form in ``folder/token``, readable by its owner only, so
    that the exported modules can use it without it ever appearing on a command line."""
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, TOKEN_FILE_NAME)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
        stream.write(token + "\n")
    return path


def export_cli_modules(exporter: str, folder: str, *, server: str = "", launch: str = "",
                       token: str = "", token_file: str = "", tls_ca: str = "",
                       timeout: float = 120.0) -> str:
    """Runs the exporter into ``folder``; returns what it printed. A token given as text is
    kept in ``folder/token`` (owner-only). Raises BridgeError with the exporter's message."""
    if token and not token_file:
        token_file = write_token_file(folder, token)
    command = exporter_command(exporter, folder, server=server, launch=launch,
                               token_file=token_file, tls_ca=tls_ca)
    try:
        finished = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                                  check=False)
    except (OSError, subprocess.TimeoutExpired) as failure:
        raise BridgeError(f"cannot run the exporter {exporter}: {failure}") from None
    if finished.returncode != 0:
        raise BridgeError(finished.stderr.strip() or f"the exporter exited with status "
                          f"{finished.returncode}")
    return finished.stdout


def with_module_path(paths: Optional[Sequence[str]], folder: str) -> List[str]:
    """Slicer's additional module paths with ``folder`` added once (compared as absolute,
    normalised paths)."""
    folder = os.path.normpath(os.path.abspath(folder))
    current = [str(p) for p in (paths or []) if str(p)]
    if any(os.path.normpath(os.path.abspath(p)) == folder for p in current):
        return current
    return current + [folder]
