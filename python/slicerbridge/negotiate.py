"""The server's side of the handshake (spec section 4) as a pure function.

The client's hello and the server's options in, the server's hello or the refusal to send out:
no I/O, no clock, no randomness (the caller adds the grease capability [CAP-1]). The cases of
spec/vectors/decisions/handshake_decisions.json run against it, and against the C++ server's.
"""

from __future__ import annotations

import hmac
from typing import Iterable, List, NamedTuple, Optional

from .errors import ErrorCode, SlicerBridgeError
from .limits import Limits
from .messages import MAX_VERSION, MIN_VERSION, ClientHello, ServerHello, Version, choose_version


class Negotiation(NamedTuple):
    #: The connection-level error to send before closing [HELLO-9]; None when accepted.
    refusal: Optional[SlicerBridgeError]
    #: The server's hello, capabilities in force without grease.
    reply: Optional[ServerHello] = None
    version: Optional[Version] = None
    #: Names of the codecs in force, as in ``codec.<name>``.
    codecs: List[str] = []
    progress: bool = False


#: The fewest bytes (UTF-8) a server's token may have [SEC-8]: 128 random bits
#: take 22 characters in base64, the densest encoding in common use (32 in hexadecimal).
MIN_TOKEN_LENGTH = 22


def token_problem(token: str) -> Optional[str]:
    """Why ``token`` cannot be a server's token, or None when it can [SEC-8]. Never quotes the
    token [SEC-5]."""
    length = len(token.encode("utf-8"))
    if length >= MIN_TOKEN_LENGTH:
        return None
    return (f"the token has {length} characters; a server's token needs at least "
            f"{MIN_TOKEN_LENGTH} (128 random bits): make one with `openssl rand -hex 16` or "
            "`python3 -c \"import secrets; print(secrets.token_urlsafe(32))\"`")


def token_matches(given: Optional[str], expected: str) -> bool:
    """Constant-time comparison [SEC-3]."""
    if given is None:
        return False
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def negotiate(hello: ClientHello, *, token: Optional[str], codecs: Iterable[str], limits: Limits,
              implementation: dict) -> Negotiation:
    """The token first, so that a client without it learns nothing, not even the server's
    versions [HELLO-8] [SEC-3] [SEC-8]; then the version [HELLO-3]; then the capabilities in
    force [CAP-4] [CODEC-1]."""
    if token is not None and not token_matches(hello.token, token):
        # One message for a missing and a wrong token [SEC-8].
        return Negotiation(SlicerBridgeError(ErrorCode.UNAUTHORIZED, "not authorized"))
    version = choose_version(hello.min_version, hello.max_version)
    if version is None:
        return Negotiation(SlicerBridgeError(
            ErrorCode.UNSUPPORTED_VERSION, "no common protocol version",
            {"min_version": list(MIN_VERSION), "max_version": list(MAX_VERSION)}))
    offered = set(hello.capabilities)
    progress = "progress" in offered
    in_force_codecs = sorted(name for name in codecs if f"codec.{name}" in offered)
    capabilities = ["cancel"] + (["progress"] if progress else [])
    capabilities += [f"codec.{name}" for name in in_force_codecs]
    reply = ServerHello(version=version, capabilities=capabilities, limits=limits,
                        implementation=implementation)
    return Negotiation(None, reply, version, in_force_codecs, progress)
