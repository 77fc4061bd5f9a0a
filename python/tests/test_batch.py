"""``python -m slicerbridge batch`` (and, marked ``built``, the C++ ``slicerbridge batch`` on the
same cases, so that the two commands cannot drift apart): outputs checked voxel for voxel and
geometry, resume, a failing input and its exit status, failover of an idempotent processor when
its server dies mid-call, and a call to another processor reported naming the lost server.

The servers are Python servers launched once per connection (``--launch``) with the processors of
``PROCESSORS`` below; a server "dies" by killing itself with SIGKILL while it carries the call of
one chosen item, once (a marker file says it did). Every processor call is logged (start and end,
with the server's pid and the item's first voxel), so that lost and duplicated work shows.
Every wait is bounded; nothing asserts a duration.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from typing import Dict, List, Tuple

import numpy as np
import pytest

from conftest import PYTHON, PYTHON_DIR
from slicerbridge.data import Image
from slicerbridge.files import read_image, write_image

WAIT = 120.0

PROCESSORS = '''
import os
import signal

from slicerbridge import Image, Output, processor


def _log(event, volume):
    with open(os.environ["SB_TEST_LOG"], "a") as log:  # one short write per line: O_APPEND
        log.write(f"{event} {os.getpid()} {int(volume.voxels.flat[0])}\\n")


def _maybe_die(volume):
    """Kills this server, once in the test, while it carries the call of the chosen item."""
    chosen = os.environ.get("SB_TEST_DIE_ON")
    if chosen is None or int(volume.voxels.flat[0]) != int(chosen):
        return
    try:
        os.close(os.open(os.environ["SB_TEST_DIE_MARK"], os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return
    os.kill(os.getpid(), signal.SIGKILL)


def _negate(volume):
    _log("start", volume)
    _maybe_die(volume)
    if int(volume.voxels.flat[0]) == 1300:
        raise ValueError("the processor refuses item 13")
    result = volume.with_voxels(-volume.voxels)
    _log("end", volume)
    return {"output": result}


@processor(name="negate", category="Testing", idempotent=True)
def negate(volume: Image) -> {"output": Output(Image)}:
    """The voxels negated, on the same grid; the same every time."""
    return _negate(volume)


@processor(name="negate_once", category="Testing")
def negate_once(volume: Image) -> {"output": Output(Image)}:
    """The same, but not declared idempotent: stands for a call with an effect."""
    return _negate(volume)
'''


def _cli(kind: str) -> List[str]:
    if kind == "python":
        return [PYTHON, "-m", "slicerbridge"]
    from tls_support import built
    return [built("reference_server/slicerbridge")]


CLIS = ["python", pytest.param("cpp", marks=pytest.mark.built)]


class Batch:
    """A folder of inputs, the processors' module, and how to run either batch command."""

    def __init__(self, root, kind: str):
        self.root = root
        self.kind = kind
        self.inputs = root / "in"
        self.out = root / "out"
        self.log = root / "calls.log"
        self.inputs.mkdir()
        (root / "sb_test_processors.py").write_text(PROCESSORS)
        self.env = dict(os.environ, SB_TEST_LOG=str(self.log),
                        SB_TEST_DIE_MARK=str(root / "died"),
                        PYTHONPATH=PYTHON_DIR + os.pathsep + os.environ.get("PYTHONPATH", ""))
        self.env.pop("SB_TEST_DIE_ON", None)
        self.launch = shlex.join([PYTHON, "-m", "slicerbridge", "serve",
                                  str(root / "sb_test_processors.py"), "--stdio"])

    def add(self, index: int) -> Image:
        """Input ``case{index:02}.nrrd``: int16 voxels starting at 100 * index, an oblique grid
        (rotation, anisotropic spacing, an origin of its own) in LPS."""
        voxels = (np.arange(4 * 5 * 6, dtype=np.int16).reshape(4, 5, 6) + 100 * index)
        angle = 0.3 + 0.1 * index
        c, s = np.cos(angle), np.sin(angle)
        matrix = np.array([[c * 0.7, -s * 1.1, 0.0, 12.5 + index],
                           [s * 0.7, c * 1.1, 0.0, -40.25],
                           [0.0, 0.0, 2.5, 3.0 * index],
                           [0.0, 0.0, 0.0, 1.0]])
        image = Image(voxels, matrix, space="LPS")
        write_image(image, str(self.inputs / f"case{index:02}.nrrd"))
        return image

    def run(self, processor: str, *extra: str, jobs: int = 2, die_on: int = None,
            summary: bool = True) -> Tuple[subprocess.CompletedProcess, Dict]:
        options = ["--input", f"volume={self.inputs}/case*.nrrd",
                   "--output", "output={item}_negated.nrrd", "--output-dir", str(self.out),
                   "--jobs", str(jobs), "--progress", "lines",
                   "--summary-json", str(self.root / "summary.json"), *extra]
        if self.kind == "python":
            argv = _cli("python") + ["batch", processor, *options, "--launch", self.launch]
        else:
            argv = _cli("cpp") + ["--launch", self.launch, "batch", processor, *options]
        env = dict(self.env)
        if die_on is not None:
            env["SB_TEST_DIE_ON"] = str(100 * die_on)
        done = subprocess.run(argv, capture_output=True, text=True, timeout=WAIT, env=env,
                              cwd=str(self.root))
        result = {}
        if summary and (self.root / "summary.json").exists():
            with open(self.root / "summary.json") as file:
                result = json.load(file)
            (self.root / "summary.json").unlink()
        return done, result

    def calls(self) -> List[Tuple[str, int, int]]:
        """(event, server pid, item index) for every call the servers logged."""
        if not self.log.exists():
            return []
        rows = []
        for line in self.log.read_text().splitlines():
            event, pid, first = line.split()
            rows.append((event, int(pid), int(first) // 100))
        return rows

    def check_output(self, index: int, image: Image) -> None:
        """The output of item ``index``: every voxel negated, the input's grid and space."""
        got = read_image(str(self.out / f"case{index:02}_negated.nrrd"))
        assert got.voxels.dtype == image.voxels.dtype
        assert np.array_equal(got.voxels, -image.voxels)
        assert np.allclose(_lps(got), _lps(image), rtol=0, atol=1e-9)


def _lps(image: Image) -> np.ndarray:
    """The image's matrix in LPS (a writer may store either space)."""
    matrix = np.array(image.ijk_to_space, dtype=float)
    if image.space == "RAS":
        matrix = np.diag([-1.0, -1.0, 1.0, 1.0]) @ matrix
    return matrix


def _items(summary: Dict) -> Dict[str, Dict]:
    names = [it["item"] for it in summary["items"]]
    assert len(names) == len(set(names)), names  # each item once in the summary
    return {it["item"]: it for it in summary["items"]}


@pytest.fixture(params=CLIS)
def batch(request, tmp_path):
    return Batch(tmp_path, request.param)


def test_outputs_are_the_processed_inputs_voxels_and_geometry(batch):
    images = {i: batch.add(i) for i in range(5)}
    done, summary = batch.run("negate", jobs=3)
    assert done.returncode == 0, done.stderr
    for i, image in images.items():
        batch.check_output(i, image)
    items = _items(summary)
    assert sorted(items) == [f"case{i:02}" for i in range(5)]
    assert all(it["status"] == "ok" and it["attempts"] == 1 for it in items.values())
    assert "5 ok, 0 skipped" in done.stdout and "0 failed" in done.stdout
    ends = [i for event, _, i in batch.calls() if event == "end"]
    assert sorted(ends) == list(range(5))  # each item computed once
    # No partial files are left beside the outputs.
    assert sorted(p.name for p in batch.out.iterdir()) == \
        [f"case{i:02}_negated.nrrd" for i in range(5)]


def test_resume_skips_items_whose_outputs_exist(batch):
    images = {i: batch.add(i) for i in range(3)}
    first, _ = batch.run("negate")
    assert first.returncode == 0, first.stderr
    kept = batch.out / "case01_negated.nrrd"
    kept.write_bytes(b"left alone")  # an existing output is not computed or written again
    images.update({i: batch.add(i) for i in (3, 4)})
    second, summary = batch.run("negate")
    assert second.returncode == 0, second.stderr
    items = _items(summary)
    assert [items[f"case{i:02}"]["status"] for i in range(5)] == \
        ["skipped", "skipped", "skipped", "ok", "ok"]
    assert "2 ok, 3 skipped" in second.stdout
    assert kept.read_bytes() == b"left alone"
    ends = [i for event, _, i in batch.calls() if event == "end"]
    assert sorted(ends) == [0, 1, 2, 3, 4]  # the second run computed 3 and 4 only
    for i in (0, 2, 3, 4):
        batch.check_output(i, images[i])
    # --no-resume computes every item again.
    third, summary = batch.run("negate", "--no-resume")
    assert third.returncode == 0, third.stderr
    assert all(it["status"] == "ok" for it in _items(summary).values())
    batch.check_output(1, images[1])


def test_failing_items_are_listed_and_exit_1(batch):
    images = {i: batch.add(i) for i in (0, 1, 2)}
    batch.add(13)  # the processor refuses it
    (batch.inputs / "case07.nrrd").write_bytes(b"NRRD0004\ntype: short\ndimension: 3\n")
    done, summary = batch.run("negate")
    assert done.returncode == 1, done.stdout + done.stderr
    items = _items(summary)
    assert {name for name, it in items.items() if it["status"] == "failed"} == \
        {"case07", "case13"}
    for i in images:
        batch.check_output(i, images[i])
    assert "3 ok, 0 skipped (outputs already written), 2 failed" in done.stdout
    failures = [line for line in done.stderr.splitlines() if " failed: " in line]
    assert sorted(line.split(": ")[1].split()[0] for line in failures) == ["case07", "case13"]
    assert "case07" in items["case07"]["error"]  # the unreadable file is named
    assert not (batch.out / "case07_negated.nrrd").exists()
    assert not (batch.out / "case13_negated.nrrd").exists()
    # Rerun: the items that worked are skipped, the failures tried again (and fail again).
    again, summary = batch.run("negate")
    assert again.returncode == 1
    assert "0 ok, 3 skipped (outputs already written), 2 failed" in again.stdout


def test_unreachable_server_exit_3(batch):
    batch.add(0)
    batch.launch = shlex.join([PYTHON, "-c", "import sys; sys.exit(7)"])
    done, _ = batch.run("negate", summary=False)
    assert done.returncode == 3, done.stdout + done.stderr


def test_failover_when_a_server_dies_mid_call_RESEND_1(batch):
    """[RESEND-1] [RESEND-4]: the server carrying item 3 dies (SIGKILL) during its call; the call
    is sent again on a new connection, and every output is there, computed once."""
    images = {i: batch.add(i) for i in range(8)}
    done, summary = batch.run("negate", die_on=3, jobs=3)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (batch.root / "died").exists()  # a server really died
    for i, image in images.items():
        batch.check_output(i, image)
    items = _items(summary)
    assert all(it["status"] == "ok" for it in items.values())
    assert items["case03"]["attempts"] == 2
    assert [it["attempts"] for name, it in items.items() if name != "case03"] == [1] * 7
    assert summary["connections"]["lost"] >= 1 and summary["connections"]["resent"] == 1
    calls = batch.calls()
    starts = [i for event, _, i in calls if event == "start"]
    ends = [i for event, _, i in calls if event == "end"]
    assert sorted(ends) == list(range(8))  # nothing lost, nothing computed twice
    assert starts.count(3) == 2 and sorted(set(starts)) == list(range(8))
    killed = next(pid for event, pid, i in calls if event == "start" and i == 3)
    answered = [pid for event, pid, i in calls if event == "end" and i == 3]
    assert answered and answered[0] != killed  # answered by another server


def test_non_idempotent_call_lost_names_the_server_RESEND_5(batch):
    """[RESEND-5]: the call to a processor not declared idempotent is not sent again; the item
    fails with a message naming the lost server (its launched process), exit status 1."""
    images = {i: batch.add(i) for i in range(5)}
    done, summary = batch.run("negate_once", die_on=2, jobs=2)
    assert done.returncode == 1, done.stdout + done.stderr
    calls = batch.calls()
    killed = next(pid for event, pid, i in calls if event == "start" and i == 2)
    assert [i for event, _, i in calls if event == "start"].count(2) == 1  # not sent again
    items = _items(summary)
    error = items["case02"]["error"]
    assert items["case02"]["status"] == "failed" and items["case02"]["attempts"] == 1
    assert f"(pid {killed})" in error, error
    assert "not idempotent" in error and "may or may not have run" in error
    assert f"(pid {killed})" in done.stderr
    for i in (0, 1, 3, 4):
        batch.check_output(i, images[i])
    assert not (batch.out / "case02_negated.nrrd").exists()
