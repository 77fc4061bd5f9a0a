"""What a running processor sees of its call: progress reporting and cooperative cancellation."""

from __future__ import annotations

import math
import threading
from typing import Callable, Optional

from .errors import ErrorCode, SlicerBridgeError


class Cancelled(SlicerBridgeError):
    """Raised by ``Context.check_cancelled`` once the call is cancelled or past its deadline."""

    def __init__(self, message: str = "the call was cancelled"):
        super().__init__(ErrorCode.CANCELLED, message)


ProgressSink = Callable[[float, Optional[str]], None]


class Context:
    """Passed as the first argument (``ctx``) of a processor function.

    ``Context()`` with no arguments gives a context for calling a processor directly, outside a
    server: progress goes nowhere and the call is never cancelled.
    """

    def __init__(self, *, call_id: Optional[int] = None, processor: str = "",
                 progress_sink: Optional[ProgressSink] = None,
                 cancel_event: Optional[threading.Event] = None):
        self.call_id = call_id
        self.processor = processor
        self._progress_sink = progress_sink
        self._cancel_event = cancel_event or threading.Event()
        self._last_fraction = 0.0
        self._lock = threading.Lock()

    @property
    def cancelled(self) -> bool:
        """True once the client cancelled the call, its deadline passed or the connection
        dropped: the processor should stop as soon as it can [CANCEL-1]."""
        return self._cancel_event.is_set()

    def check_cancelled(self) -> None:
        """Raise ``Cancelled`` if the call was cancelled."""
        if self._cancel_event.is_set():
            raise Cancelled()

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` or until the call is cancelled, then ``check_cancelled``."""
        self._cancel_event.wait(max(0.0, seconds))
        self.check_cancelled()

    def progress(self, fraction: float, message: Optional[str] = None) -> None:
        """Report progress in [0, 1]. Values are clamped to [0, 1]; a value below the previous one
        is not sent, so the client sees a fraction that never decreases [PROG-1]."""
        if not isinstance(fraction, (int, float)) or math.isnan(fraction):
            raise ValueError("progress fraction must be a number")
        fraction = min(1.0, max(0.0, float(fraction)))
        with self._lock:
            if fraction < self._last_fraction:
                return
            self._last_fraction = fraction
            if self._progress_sink is not None:
                self._progress_sink(fraction, message)
