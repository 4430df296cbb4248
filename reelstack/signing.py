"""Signed, tamper-evident tokens shared by upload tokens and API bearer tokens; pure.

A token is ``base64url(payload) "." base64url(HMAC-SHA256(secret, purpose "." payload_b64))``. The
``purpose`` string keeps a token of one kind from ever verifying as another. ``unseal`` recomputes
the MAC and compares in constant time before anything in the payload is trusted; callers decode the
payload and check expiry themselves.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

__all__ = ["BadTokenError", "seal", "unseal"]


class BadTokenError(ValueError):
    """A token that is malformed or was not signed with this secret for this purpose."""

    def __init__(self, *, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: bytes, purpose: bytes, body: str) -> bytes:
    return hmac.new(secret, purpose + b"." + body.encode("ascii"), hashlib.sha256).digest()


def seal(payload: bytes, secret: bytes, purpose: bytes) -> str:
    """The token carrying ``payload``, signed with ``secret`` for ``purpose``."""
    if not secret:
        raise ValueError("the signing secret must not be empty")
    body = _b64(payload)
    return f"{body}.{_b64(_mac(secret, purpose, body))}"


def unseal(token: str, secret: bytes, purpose: bytes, *, max_len: int = 4096) -> bytes:
    """The payload of a genuine token; ``BadTokenError`` (with a ``reason``) otherwise."""
    if not isinstance(token, str) or token.count(".") != 1 or len(token) > max_len:
        raise BadTokenError(reason="malformed")
    body, _, sig = token.partition(".")
    try:
        given = _unb64(sig)
        body.encode("ascii")
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise BadTokenError(reason="malformed signature") from None
    if _b64(given) != sig:  # non-canonical base64 (e.g. altered padding bits) is not our token
        raise BadTokenError(reason="malformed signature")
    if not hmac.compare_digest(given, _mac(secret, purpose, body)):
        raise BadTokenError(reason="signature mismatch: altered or signed with another key")
    try:
        return _unb64(body)
    except (binascii.Error, ValueError):
        raise BadTokenError(reason="malformed payload") from None
