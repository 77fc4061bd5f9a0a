"""TLS settings for servers and clients, with the standard ``ssl`` module.

A client verifies the server's certificate chain and host name by default [SEC-6]: against the
system's certificate authorities, or the ones in ``ca_file`` (PEM) for a private CA or a
self-signed server certificate. Turning verification off takes a context built by the caller.
"""

from __future__ import annotations

import ssl
from typing import Optional


class TlsSetupError(OSError):
    """A certificate, key or CA file that cannot be read or used."""


def server_context(cert_file: str, key_file: str) -> ssl.SSLContext:
    """A server context with this certificate chain and private key (PEM files), TLS 1.2 or
    newer."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.options |= getattr(ssl, "OP_NO_RENEGOTIATION", 0)
    try:
        context.load_cert_chain(cert_file, key_file)
    except (OSError, ssl.SSLError) as error:
        raise TlsSetupError(f"cannot load the TLS certificate {cert_file} or key {key_file}: "
                            f"{_reason(error)}") from None
    return context


def client_context(ca_file: Optional[str] = None) -> ssl.SSLContext:
    """A client context that verifies the server's certificate and host name [SEC-6]."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.options |= getattr(ssl, "OP_NO_RENEGOTIATION", 0)
    if ca_file is not None:
        try:
            context.load_verify_locations(cafile=ca_file)
        except (OSError, ssl.SSLError) as error:
            raise TlsSetupError(f"cannot read the CA certificates in {ca_file}: "
                                f"{_reason(error)}") from None
    return context


def _reason(error: BaseException) -> str:
    return getattr(error, "strerror", None) or getattr(error, "reason", None) or str(error)


def describe_failure(error: BaseException) -> str:
    """A readable reason for a failed TLS handshake."""
    if isinstance(error, ssl.SSLCertVerificationError):
        return (f"the server's certificate was not accepted: "
                f"{error.verify_message or error.reason} (give its CA with --tls-ca FILE)")
    if isinstance(error, ssl.SSLError):
        return f"TLS handshake failed: {error.reason or error}"
    return str(error)
