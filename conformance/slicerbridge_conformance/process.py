"""Child processes of the runner: their output is drained by threads and kept for reports."""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import threading
from typing import IO

OUTPUT_LINES_KEPT = 200


class OutputTail:
    """The last lines of a stream, read by a thread so that the child never blocks on a full pipe."""

    def __init__(self, stream: IO[bytes], first_line: threading.Event | None = None) -> None:
        self.lines: collections.deque[str] = collections.deque(maxlen=OUTPUT_LINES_KEPT)
        self.first: str | None = None
        self._first_line = first_line
        self._thread = threading.Thread(target=self._drain, args=(stream,), daemon=True)
        self._thread.start()

    def _drain(self, stream: IO[bytes]) -> None:
        try:
            for raw in iter(stream.readline, b""):
                line = raw.decode("utf-8", "replace").rstrip("\n")
                if self.first is None:
                    self.first = line
                    if self._first_line:
                        self._first_line.set()
                self.lines.append(line)
        finally:
            if self._first_line:
                self._first_line.set()
            stream.close()

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)

    def text(self, count: int = 20) -> str:
        return "\n".join(list(self.lines)[-count:])


class Child:
    """A command started in its own process group, so it can be stopped with its children."""

    def __init__(self, command: list[str], *, stdin: bool = False) -> None:
        self.command = command
        self._first_line = threading.Event()
        self.process = subprocess.Popen(
            command, stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
        self.stdout = OutputTail(self.process.stdout, self._first_line)
        self.stderr = OutputTail(self.process.stderr)

    def first_stdout_line(self, timeout: float) -> str | None:
        self._first_line.wait(timeout)
        return self.stdout.first

    def running(self) -> bool:
        return self.process.poll() is None

    def wait(self, timeout: float) -> int | None:
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, grace: float = 3.0) -> int | None:
        """SIGTERM to the process group, SIGKILL after `grace` seconds."""
        if self.process.poll() is None:
            self._signal(signal.SIGTERM)
            if self.wait(grace) is None:
                self._signal(signal.SIGKILL)
                self.wait(grace)
        self.stdout.join(1.0)
        self.stderr.join(1.0)
        return self.process.returncode

    def _signal(self, number: int) -> None:
        try:
            os.killpg(self.process.pid, number)
        except (ProcessLookupError, PermissionError):
            pass

    def describe_exit(self) -> str:
        code = self.process.returncode
        if code is None:
            return "still running"
        if code < 0:
            try:
                return f"killed by {signal.Signals(-code).name}"
            except ValueError:
                return f"killed by signal {-code}"
        return f"exited with status {code}"

