"""What a server does with each frame a connection receives (spec sections 4 to 6), without I/O.

The connection's phase and what the frame holds in, one action out; the server carries the
actions out. spec/vectors/decisions/connection_decisions.json holds the cases, which this module
and the C++ server's connection_machine.hpp both run.
"""

from __future__ import annotations

from typing import Any, NamedTuple, Optional

from .errors import ErrorCode
from .messages import is_valid_id

# Phases
AWAITING_HELLO = "awaiting_hello"  # until the handshake has succeeded [HELLO-8]
ESTABLISHED = "established"
DRAINING = "draining"  # after goodbye: open calls finish, new ones are refused
CLOSED = "closed"

# What a frame holds (the table's `inbound`)
STREAM_ENDED = "stream_ended"
BAD_FRAME = "bad_frame"
UNDECODABLE = "undecodable"
REQUEST_WITH_BAD_BULK = "request_with_bad_bulk"
BAD_BULK = "bad_bulk"
HELLO = "hello"
MALFORMED_HELLO = "malformed_hello"
REQUEST = "request"
MALFORMED_REQUEST = "malformed_request"
REQUEST_WITHOUT_ID = "request_without_id"
RESPONSE = "response"
CANCEL = "cancel"
NOTIFICATION = "notification"
NOTIFICATION_WITHOUT_METHOD = "notification_without_method"
UNKNOWN_KIND = "unknown_kind"

# Actions
NEGOTIATE = "negotiate"  # the client's hello: negotiate() decides
ADMIT = "admit"  # the request goes to its method
CANCEL_CALL = "cancel_call"  # the call's machine gets `cancel`
ANSWER_ERROR = "answer_error"  # an error response under the request's id; reading goes on
CONNECTION_ERROR = "connection_error"  # a connection-level error (nil id); reading goes on
REFUSE = "refuse"  # a connection-level error, then close once it is written
IGNORE = "ignore"
CLOSE = "close"  # nothing more is sent; every open call is dropped [DROP-1]


class Decision(NamedTuple):
    action: str
    #: For ANSWER_ERROR, CONNECTION_ERROR and REFUSE.
    error: Optional[ErrorCode] = None


def decide(phase: str, inbound: str, *, id_open: bool = False,
           error: Optional[ErrorCode] = None) -> Decision:
    """``id_open``: for requests, the id is open already; for a cancel, it names an open invoke.
    ``error``: for BAD_FRAME, UNDECODABLE and the bad bulk kinds, the decoder's error (for
    UNDECODABLE, ``invalid_message`` when the decoder raised none: a map without a kind)."""
    if inbound == UNDECODABLE and error is None:
        error = ErrorCode.INVALID_MESSAGE
    if phase == CLOSED:
        return Decision(IGNORE)
    if inbound == STREAM_ENDED:
        return Decision(CLOSE)
    if inbound == BAD_FRAME:  # [FRAME-7]
        return Decision(REFUSE, error)
    if phase == AWAITING_HELLO:  # [HELLO-9]: every error closes
        if inbound in (UNDECODABLE, REQUEST_WITH_BAD_BULK, BAD_BULK):
            return Decision(REFUSE, error)
        if inbound == HELLO:
            return Decision(NEGOTIATE)
        if inbound == MALFORMED_HELLO:  # [HELLO-5]
            return Decision(REFUSE, ErrorCode.INVALID_MESSAGE)
        return Decision(REFUSE, ErrorCode.HANDSHAKE_REQUIRED)  # [HELLO-2]
    if inbound in (UNDECODABLE, BAD_BULK):  # [MSG-11]
        return Decision(CONNECTION_ERROR, error)
    if inbound in (REQUEST, MALFORMED_REQUEST, REQUEST_WITH_BAD_BULK) and id_open:  # [MSG-5]
        return Decision(CONNECTION_ERROR, ErrorCode.DUPLICATE_ID)
    if inbound == REQUEST_WITH_BAD_BULK:  # [BULK-9]
        return Decision(ANSWER_ERROR, error)
    if inbound in (HELLO, MALFORMED_HELLO, REQUEST_WITHOUT_ID, RESPONSE,
                   NOTIFICATION_WITHOUT_METHOD):  # [HELLO-7] [MSG-12] [MSG-3] [MSG-16]
        return Decision(CONNECTION_ERROR, ErrorCode.INVALID_MESSAGE)
    if inbound == REQUEST:
        if phase == DRAINING:  # [BYE-2]
            return Decision(ANSWER_ERROR, ErrorCode.SHUTTING_DOWN)
        return Decision(ADMIT)
    if inbound == MALFORMED_REQUEST:  # [MSG-12]
        return Decision(ANSWER_ERROR, ErrorCode.INVALID_MESSAGE)
    if inbound == CANCEL:  # [CANCEL-1] [CANCEL-4]
        return Decision(CANCEL_CALL if id_open else IGNORE)
    if inbound == NOTIFICATION:  # [MSG-9] [MSG-16] [PROG-5]
        return Decision(IGNORE)
    return Decision(CONNECTION_ERROR, ErrorCode.UNKNOWN_KIND)  # [MSG-10]


def classify(message: Any, bulk_error: bool, hello_ok: bool = False) -> str:
    """What a decoded head holds. ``message``: the head, or None when it could not be decoded;
    ``bulk_error``: its bulk references are bad; ``hello_ok``: a hello reads as a client hello."""
    if not isinstance(message, dict) or not isinstance(message.get("kind"), str):
        return UNDECODABLE
    kind = message["kind"]
    if bulk_error:
        return REQUEST_WITH_BAD_BULK if kind == "request" and is_valid_id(
            message.get("id")) else BAD_BULK
    if kind == "hello":
        return HELLO if hello_ok else MALFORMED_HELLO
    if kind == "request":
        if not is_valid_id(message.get("id")):
            return REQUEST_WITHOUT_ID
        params = message.get("params", {})
        if not isinstance(message.get("method"), str) or not isinstance(params, dict):
            return MALFORMED_REQUEST
        return REQUEST
    if kind == "response":
        return RESPONSE
    if kind == "notification":
        method = message.get("method")
        if not isinstance(method, str):
            return NOTIFICATION_WITHOUT_METHOD
        params = message.get("params")
        if method == "cancel" and isinstance(params, dict) and is_valid_id(params.get("id")):
            return CANCEL
        return NOTIFICATION
    return UNKNOWN_KIND
