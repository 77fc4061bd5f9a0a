"""Waits on the main thread that let signal handlers run.

A signal sent to a process goes to any one of its threads that does not block it, and Python runs
the handler on the main thread when that thread next runs Python code. A main thread blocked on a
lock without a timeout (an Event, a Future, a join) is not woken by a signal that another thread
took, so the handler, a SIGTERM's or a Ctrl-C's, waits as long as the wait does. These waits wake
every ``WAKE_SECONDS`` on the main thread, so that a handler runs within that long wherever its
signal landed."""

from __future__ import annotations

import concurrent.futures
import threading
import time
from typing import Any, Optional

WAKE_SECONDS = 0.25


def _on_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def wait_for_event(event: threading.Event) -> None:
    while not event.wait(WAKE_SECONDS if _on_main_thread() else None):
        pass


def future_result(future: concurrent.futures.Future, timeout: Optional[float] = None) -> Any:
    """``future.result(timeout)``."""
    if not _on_main_thread():
        return future.result(timeout)
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        left = WAKE_SECONDS if deadline is None else \
            min(WAKE_SECONDS, max(0.0, deadline - time.monotonic()))
        try:
            return future.result(left)
        except concurrent.futures.TimeoutError:
            # the future's own TimeoutError, or the end of the caller's timeout
            if future.done() or (deadline is not None and time.monotonic() >= deadline):
                raise


def join_thread(thread: threading.Thread) -> None:
    while thread.is_alive():
        thread.join(WAKE_SECONDS if _on_main_thread() else None)
