"""Error codes of the protocol (spec section 8) and the exceptions that carry them."""

from __future__ import annotations

import enum
from typing import Any, Dict, Mapping, Optional

from .values import is_integer


class ErrorCode(enum.IntEnum):
    """Every error code defined by protocol 1.0, with its value on the wire."""

    MALFORMED_FRAME = 1
    FRAME_TOO_LARGE = 2
    INVALID_MESSAGE = 3
    HANDSHAKE_REQUIRED = 4
    UNSUPPORTED_VERSION = 5
    UNKNOWN_KIND = 6
    METHOD_NOT_FOUND = 7
    DUPLICATE_ID = 8
    TOO_MANY_IN_FLIGHT = 9
    UNAUTHORIZED = 10
    SHUTTING_DOWN = 11
    UNSUPPORTED_CODEC = 12
    TOO_MANY_CONNECTIONS = 13
    CANCELLED = 100
    DEADLINE_EXCEEDED = 101
    UNKNOWN_PROCESSOR = 102
    INVALID_ARGUMENT = 103
    TOO_LARGE = 104
    INTERNAL_ERROR = 105
    PROCESSOR_FAILED = 106

    @property
    def wire_name(self) -> str:
        """The name used by the spec, e.g. ``malformed_frame``."""
        return self.name.lower()


PROTOCOL_ERRORS = range(1, 100)
CALL_ERRORS = range(100, 1000)
PROCESSOR_ERRORS = range(1000, 65536)


def error_range(code: int) -> str:
    """Which range of [ERR-1] a code falls in: protocol, call, processor or reserved."""
    if code in PROTOCOL_ERRORS:
        return "protocol"
    if code in CALL_ERRORS:
        return "call"
    if code in PROCESSOR_ERRORS:
        return "processor"
    return "reserved"


def error_name(code: int) -> str:
    """The spec name of a code, or a generic name for its range when the code is unknown [ERR-2]."""
    try:
        return ErrorCode(code).wire_name
    except ValueError:
        return f"{error_range(code)}_error"


class SlicerBridgeError(Exception):
    """An error with a protocol error code, a human-readable message and optional details.

    ``message`` and ``details`` travel on the wire: they must never hold patient data [ERR-3].
    """

    def __init__(self, code: int, message: str = "", details: Optional[Mapping[str, Any]] = None):
        self.code = int(code)
        self.message = message or error_name(self.code)
        self.details = dict(details) if details else None
        #: For an error response: the server's timings and the client's round trip.
        self.timings: Optional[Dict[str, float]] = None
        #: Bytes received that were not a frame (a bad magic), kept to quote locally.
        self.received: Optional[bytes] = None
        name = error_name(self.code)
        text = f"{name} ({self.code})"
        if self.message != name:  # no "cancelled (100): cancelled"
            text += f": {self.message}"
        super().__init__(text)

    @property
    def name(self) -> str:
        return error_name(self.code)

    def to_wire(self) -> dict:
        error: dict = {"code": self.code, "message": self.message}
        if self.details:
            error["details"] = self.details
        return error

    @classmethod
    def from_wire(cls, value: Any) -> "SlicerBridgeError":
        """The error carried by an error map received from the peer. A map without an integer
        ``code`` and a string ``message``, or with ``details`` that is not a map, is itself an
        ``invalid_message`` [MSG-15]."""
        code = value.get("code") if isinstance(value, dict) else None
        if (not is_integer(code) or not isinstance(value.get("message"), str)
                or not isinstance(value.get("details", {}), dict)):
            return cls(ErrorCode.INVALID_MESSAGE, "malformed error map")
        return cls(code, value["message"], value.get("details"))


class ConnectionLost(ConnectionError):
    """The connection ended (closed by the peer, reset, or truncated inside a frame [FRAME-8])."""


class FatalProtocolError(SlicerBridgeError):
    """An error after which the connection must be closed ([FRAME-7], [HELLO-2], [SEC-3])."""
