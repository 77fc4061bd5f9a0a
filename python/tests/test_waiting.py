"""Waits that wake the main thread for signal handlers keep the semantics of the waits they
replace: a timeout still ends the wait, a result that comes after several wake-ups is returned,
and a future's own TimeoutError is raised, not taken for a wake-up."""

import concurrent.futures
import threading
import time

import pytest

from slicerbridge.waiting import WAKE_SECONDS, future_result, join_thread, wait_for_event


def _later(seconds: float, action) -> threading.Thread:
    thread = threading.Timer(seconds, action)
    thread.start()
    return thread


def test_a_result_that_comes_after_several_wake_ups_is_returned():
    assert threading.current_thread() is threading.main_thread()
    future = concurrent.futures.Future()
    _later(3 * WAKE_SECONDS, lambda: future.set_result("done"))
    assert future_result(future) == "done"


def test_the_callers_timeout_still_ends_the_wait():
    future = concurrent.futures.Future()
    with pytest.raises(concurrent.futures.TimeoutError):
        future_result(future, 2.5 * WAKE_SECONDS)
    assert not future.done()
    with pytest.raises(concurrent.futures.TimeoutError):
        future_result(future, 0)


class _CountingFuture(concurrent.futures.Future):
    def __init__(self):
        super().__init__()
        self.asked = 0

    def result(self, timeout=None):
        self.asked += 1
        return super().result(timeout)


def test_the_futures_own_timeout_error_is_raised_at_once():
    future = _CountingFuture()
    future.set_exception(TimeoutError("the call's own"))
    with pytest.raises(TimeoutError, match="the call's own"):
        future_result(future, 4 * WAKE_SECONDS)  # bounded, should the wait take it for its own
    assert future.asked == 1


def test_an_event_and_a_thread_are_waited_for_across_wake_ups():
    event = threading.Event()
    _later(2 * WAKE_SECONDS, event.set)
    wait_for_event(event)
    assert event.is_set()
    worker = threading.Thread(target=time.sleep, args=(2 * WAKE_SECONDS,))
    worker.start()
    join_thread(worker)
    assert not worker.is_alive()
