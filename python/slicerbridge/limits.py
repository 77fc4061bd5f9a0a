"""The limits each peer announces in its hello and enforces on what it receives (spec section 7)."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from .errors import ErrorCode, SlicerBridgeError
from .values import is_integer

# [HELLO-4]: until both hellos are exchanged a peer accepts frames of at least this size, and we
# refuse anything larger so that an unauthenticated peer cannot make us allocate more.
HANDSHAKE_MAX_FRAME = 65536


@dataclasses.dataclass(frozen=True)
class Limits:
    max_frame: int = 2**32
    max_head: int = 16 * 2**20
    max_in_flight: int = 64
    max_depth: int = 32
    cancel_grace: float = 5.0

    _INTEGER_KEYS = ("max_frame", "max_head", "max_in_flight", "max_depth")
    _SERVER_ONLY_KEYS = ("max_in_flight", "cancel_grace")

    def __post_init__(self) -> None:
        for key in self._INTEGER_KEYS:
            value = getattr(self, key)
            top = 2**32 - 1 if key == "max_head" else 2**64 - 1
            if not is_integer(value) or not 1 <= value <= top:
                raise ValueError(f"limit {key} must be an integer in 1..{top}")  # [LIMIT-4]
        if not (isinstance(self.cancel_grace, (int, float)) and math.isfinite(self.cancel_grace)
                and self.cancel_grace >= 0):
            raise ValueError("limit cancel_grace must be a finite number of seconds >= 0")

    def to_wire(self, *, server: bool) -> dict:
        """The ``limits`` map of a hello; a client leaves out the keys only a server defines."""
        keys = [f.name for f in dataclasses.fields(self)]
        if not server:
            keys = [k for k in keys if k not in self._SERVER_ONLY_KEYS]
        return {key: (float(getattr(self, key)) if key == "cancel_grace" else getattr(self, key))
                for key in keys}

    @classmethod
    def from_wire(cls, value: Any) -> "Limits":
        """Read a peer's ``limits`` map: absent keys take the defaults, unknown keys are ignored
        [HEAD-2], and a mistyped value is an ``invalid_message``."""
        if value is None:
            return cls()
        if not isinstance(value, dict):
            raise SlicerBridgeError(ErrorCode.INVALID_MESSAGE, "limits is not a map")
        known = {f.name for f in dataclasses.fields(cls)}
        chosen = {k: v for k, v in value.items() if k in known}
        cancel_grace = chosen.get("cancel_grace")
        if is_integer(cancel_grace):
            chosen["cancel_grace"] = float(cancel_grace)
        try:
            return cls(**chosen)
        except (TypeError, ValueError) as error:
            raise SlicerBridgeError(ErrorCode.INVALID_MESSAGE, f"invalid limits: {error}") from None
