"""``python -m slicerbridge run``: one processor on files (to be completed)."""

from __future__ import annotations

import argparse


def add_run_parser(commands) -> None:
    run = commands.add_parser("run", help="run a processor on files")
    run.add_argument("processor")


def run_command(arguments: argparse.Namespace) -> int:
    return 2
