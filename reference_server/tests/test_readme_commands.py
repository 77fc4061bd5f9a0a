"""The command lines README.md shows for `slicerbridge run` and `batch` name processors, inputs,
outputs and parameters that the reference server has: a renamed slot fails here, not in a
reader's terminal (README once showed `--input input=...` for gaussian_smoothing, whose input is
`volume`)."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess

import pytest

SERVER = os.environ.get("SLICERBRIDGE_SERVER_BIN", "build/reference_server/slicerbridge-server")
CLI = os.environ.get("SLICERBRIDGE_CLI_BIN", "build/reference_server/slicerbridge")
README = os.path.join(os.path.dirname(__file__), "..", "..", "README.md")
SLOT_OPTIONS = {"--input": "inputs", "--output": "outputs", "--param": "parameters"}
PROCESSOR = re.compile(r"[a-z_][a-z0-9_]*")


def shown_calls() -> list[tuple[str, str, str]]:
    """(processor, slot kind, slot name) for every NAME=VALUE given to a processor's run or batch
    in README's shell blocks, continuation lines joined."""
    with open(README, encoding="utf-8") as handle:
        text = handle.read()
    found = []
    for block in re.findall(r"```sh\n(.*?)```", text, re.S):
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            for at, word in enumerate(words[:-1]):
                if word not in ("run", "batch") or not PROCESSOR.fullmatch(words[at + 1]):
                    continue
                for option, value in zip(words[at + 2:], words[at + 3:]):
                    if option in SLOT_OPTIONS and "=" in value:
                        found.append((words[at + 1], SLOT_OPTIONS[option], value.split("=")[0]))
    return found


@pytest.fixture(scope="module")
def server():
    process = subprocess.Popen([SERVER, "--listen", "127.0.0.1:0"], stdout=subprocess.PIPE,
                               text=True)
    line = process.stdout.readline().strip()
    assert line.startswith("listening on "), line
    yield line[len("listening on "):]
    process.terminate()
    process.wait(timeout=10)


def test_readmes_run_and_batch_lines_name_slots_the_processors_have(server):
    calls = shown_calls()
    assert calls, "README shows no run or batch command line with a NAME=VALUE"
    descriptions = {}
    for processor, kind, name in calls:
        if processor not in descriptions:
            done = subprocess.run([CLI, "--server", server, "describe", "--json", processor],
                                  capture_output=True, text=True, timeout=60)
            assert done.returncode == 0, f"README runs {processor}: {done.stderr}"
            descriptions[processor] = json.loads(done.stdout)
        names = [slot["name"] for slot in descriptions[processor][kind]]
        assert name in names, f"README gives {processor} the {kind[:-1]} {name!r}; it has {names}"
