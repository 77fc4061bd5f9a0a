"""Message shapes (spec sections 4 and 5): hellos, requests, responses and notifications."""

from __future__ import annotations

import dataclasses
import math
import secrets
import struct
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple

from .errors import ErrorCode, SlicerBridgeError
from .limits import Limits
from .values import is_integer, is_number

if TYPE_CHECKING:
    from .codec import EncodedFrame

PROTOCOL = "slicerbridge"
MIN_VERSION = (1, 0)
MAX_VERSION = (1, 1)  # a hello offers every minor from 1.0 [VER-1]
MAX_ID = 2**63 - 1
LIBRARY_VERSION = "1.0.0"
IMPLEMENTATION = {"name": "slicerbridge-python", "version": LIBRARY_VERSION}

KINDS = ("hello", "request", "response", "notification")
METHODS = ("catalog", "describe", "invoke", "ping", "goodbye")
SERVER_ONLY_CAPABILITIES = frozenset({"cancel"})
TIMING_KEYS = ("receiving", "queued", "computing", "sending")

Version = Tuple[int, int]


def _invalid(message: str) -> SlicerBridgeError:
    return SlicerBridgeError(ErrorCode.INVALID_MESSAGE, message)


def grease_capability() -> str:
    """A reserved capability, random per connection, that peers must ignore [CAP-1]."""
    return "x-grease-" + secrets.token_hex(3)


def is_valid_id(value: Any) -> bool:
    """[MSG-1]: an integer in 0..2^63-1."""
    return is_integer(value) and 0 <= value <= MAX_ID


def request(request_id: int, method: str, params: Optional[dict] = None) -> dict:
    message = {"kind": "request", "id": request_id, "method": method}
    if params is not None:
        message["params"] = params
    return message


def remaining_deadline(deadline: float, waited: float) -> float:
    """What a call's ``deadline`` leaves once it has waited ``waited`` seconds before being sent
    [LIMIT-13]: never below 0. One that is not a finite number >= 0 is left as it is, for the
    server to refuse [INV-7]."""
    if not (math.isfinite(deadline) and deadline >= 0):
        return deadline
    return max(0.0, deadline - waited)


def set_request_deadline(frame: "EncodedFrame", seconds: float) -> None:
    """Sets, in place, the deadline of an invoke request encoded with the deadline last in its
    params, as ``Client`` encodes it: what a client sends for a call it held [LIMIT-13]. The
    deadline is a float 64 (section 12), so nothing else in the frame moves."""
    assert len(frame.head) > 9 and frame.head[-9] == 0xcb
    frame.head = frame.head[:-8] + struct.pack(">d", seconds)


def notification(method: str, params: dict) -> dict:
    return {"kind": "notification", "method": method, "params": params}


def response(request_id: Optional[int], *, result: Any = None,
             error: Optional[SlicerBridgeError] = None,
             timings: Optional[Dict[str, float]] = None) -> dict:
    """A response with exactly one of result and error [MSG-7]; a nil id makes it a
    connection-level error (section 5.4). ``timings`` goes last so that its last value can be
    patched after encoding (see ``EncodedFrame.replace_final_float``)."""
    message: dict = {"kind": "response", "id": request_id}
    if error is not None:
        message["error"] = error.to_wire()
    else:
        message["result"] = {} if result is None else result
    if timings is not None:
        message["timings"] = timings
    return message


def _version(value: Any, key: str) -> Version:
    if (not isinstance(value, list) or len(value) != 2
            or not all(is_integer(v) and 0 <= v <= 65535
                       for v in value)):
        raise _invalid(f"hello {key} must be [major, minor]")
    return value[0], value[1]


def _string_list(value: Any, key: str) -> List[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _invalid(f"hello {key} must be an array of strings")
    return value


def _implementation(value: Any) -> Optional[dict]:
    if value is None:
        return None
    if not isinstance(value, dict) or not all(
            isinstance(value.get(k, ""), str) for k in ("name", "version")):
        raise _invalid("hello implementation must be {name, version} strings")
    return value


def _check_hello_header(message: dict) -> None:
    if message.get("kind") != "hello":
        raise _invalid("not a hello")
    if message.get("protocol") != PROTOCOL:
        raise _invalid("hello protocol is not slicerbridge")


@dataclasses.dataclass
class ClientHello:
    min_version: Version = MIN_VERSION
    max_version: Version = MAX_VERSION
    capabilities: List[str] = dataclasses.field(default_factory=list)
    limits: Limits = dataclasses.field(default_factory=Limits)
    implementation: Optional[dict] = None
    token: Optional[str] = None

    def to_wire(self) -> dict:
        wire = {"kind": "hello", "protocol": PROTOCOL, "min_version": list(self.min_version),
                "max_version": list(self.max_version), "capabilities": list(self.capabilities),
                "limits": self.limits.to_wire(server=False),
                "implementation": self.implementation or IMPLEMENTATION}
        if self.token is not None:
            wire["token"] = self.token
        return wire

    @classmethod
    def from_wire(cls, message: dict) -> "ClientHello":
        """Raises ``invalid_message`` for a missing or mistyped key [HELLO-5]."""
        _check_hello_header(message)
        token = message.get("token")
        if token is not None and not isinstance(token, str):
            raise _invalid("hello token must be a string")
        return cls(min_version=_version(message.get("min_version"), "min_version"),
                   max_version=_version(message.get("max_version"), "max_version"),
                   capabilities=_string_list(message.get("capabilities"), "capabilities"),
                   limits=Limits.from_wire(message.get("limits")),
                   implementation=_implementation(message.get("implementation")),
                   token=token)


@dataclasses.dataclass
class ServerHello:
    version: Version = MAX_VERSION
    capabilities: List[str] = dataclasses.field(default_factory=list)
    limits: Limits = dataclasses.field(default_factory=Limits)
    implementation: Optional[dict] = None

    def to_wire(self) -> dict:
        return {"kind": "hello", "protocol": PROTOCOL, "version": list(self.version),
                "capabilities": list(self.capabilities),
                "limits": self.limits.to_wire(server=True),
                "implementation": self.implementation or IMPLEMENTATION}

    @classmethod
    def from_wire(cls, message: dict) -> "ServerHello":
        _check_hello_header(message)
        return cls(version=_version(message.get("version"), "version"),
                   capabilities=_string_list(message.get("capabilities"), "capabilities"),
                   limits=Limits.from_wire(message.get("limits")),
                   implementation=_implementation(message.get("implementation")))


def at_least(version: Version, minimum: Version) -> bool:
    """Whether the negotiated ``version`` has what ``minimum`` introduced [VER-4]."""
    return tuple(version) >= tuple(minimum)


SCALAR_OUTPUTS = (1, 1)  # [CAT-7], and idempotent descriptions [CAT-8]


def choose_version(client_min: Version, client_max: Version) -> Optional[Version]:
    """The highest version in both the client's range and ours, or None [HELLO-3]."""
    low = max(client_min, MIN_VERSION)
    high = min(client_max, MAX_VERSION)
    return high if low <= high else None


def parse_timings(value: Any) -> Dict[str, float]:
    """Known timing keys with non-negative numbers; unknown keys are ignored [TIME-2]."""
    if not isinstance(value, dict):
        return {}
    return {key: float(v) for key, v in value.items()
            if key in TIMING_KEYS and is_number(v)
            and math.isfinite(v) and v >= 0}
