"""What a pool does with a call once the connection that carried it is done with it: complete it,
send it again on another connection, or fail it; and what becomes of that connection (section
6.8). No I/O: ``ClientPool`` carries the decision out. The cases are
spec/vectors/decisions/resend_decisions.json, which the C++ pool runs too."""

from __future__ import annotations

from typing import NamedTuple, Optional

#: How the call ended on its connection: ``answered``; ``error`` (an error answer of its own,
#: other than shutting_down); ``shutting_down`` (refused, or cancelled at the end of the
#: server's grace period); ``lost`` (the connection was lost before the answer).
OUTCOMES = ("answered", "error", "shutting_down", "lost")


class ResendDecision(NamedTuple):
    #: ``complete``, ``resend`` or ``fail``.
    action: str
    #: For ``fail``: ``connection_lost`` [RESEND-5], ``retries_exhausted`` [RESEND-3] or
    #: ``shutting_down`` (the server's answer, the processor not known to be idempotent).
    failure: Optional[str]
    #: ``keep``, ``replace`` (lost) or ``drain`` (no new calls; replaced once its calls end).
    connection: str


def decide(outcome: str, idempotent: Optional[bool], attempts: int,
           max_retries: int) -> ResendDecision:
    """``idempotent``: what the catalog says (None: not known); ``attempts``: sends so far, this
    one included."""
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown outcome {outcome!r}")
    connection = {"lost": "replace", "shutting_down": "drain"}.get(outcome, "keep")
    if outcome in ("answered", "error"):
        return ResendDecision("complete", None, connection)  # [RESEND-4]
    if idempotent is not True:  # [RESEND-1], [RESEND-5]
        failure = "connection_lost" if outcome == "lost" else "shutting_down"
        return ResendDecision("fail", failure, connection)
    if attempts > max_retries:  # [RESEND-3]
        return ResendDecision("fail", "retries_exhausted", connection)
    return ResendDecision("resend", None, connection)  # [RESEND-2]
