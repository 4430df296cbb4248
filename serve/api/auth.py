"""Bearer tokens of the HTTP API: HMAC-SHA256-signed, expiring, carrying the user id and role; pure.

A token is ``base64url(json [version, user_id, role, anonymous, expires_at]) "." base64url(mac)``.
Verification recomputes the MAC with the server's secret (constant-time compare) before it trusts
any field, then checks the expiry against the caller's clock (epoch µs). Roles: user, moderator, admin.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from typing import Literal

import msgspec

from .errors import Unauthorized

__all__ = ["ROLES", "Principal", "Role", "sign_token", "verify_token"]

Role = Literal["user", "moderator", "admin"]
ROLES: tuple[Role, ...] = ("user", "moderator", "admin")
_VERSION = 1


class Principal(msgspec.Struct, frozen=True, kw_only=True):
    """Who is calling: from a verified token."""

    user_id: str
    role: Role = "user"
    anonymous: bool = False
    expires_at: int = 0  # epoch µs

    @property
    def is_moderator(self) -> bool:
        return self.role in ("moderator", "admin")


class _Payload(msgspec.Struct, frozen=True, array_like=True):
    version: int
    user_id: str
    role: Role
    anonymous: bool
    expires_at: int


_enc = msgspec.json.Encoder()
_dec = msgspec.json.Decoder(_Payload)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: bytes, body: str) -> bytes:
    return hmac.new(secret, b"reel-auth." + body.encode("ascii"), hashlib.sha256).digest()


def sign_token(principal: Principal, secret: bytes) -> str:
    """The bearer token of ``principal`` (valid until ``principal.expires_at``)."""
    if not secret:
        raise ValueError("the auth secret must not be empty (REEL_AUTH_SECRET)")
    p = principal
    body = _b64(_enc.encode(_Payload(_VERSION, p.user_id, p.role, p.anonymous, p.expires_at)))
    return f"{body}.{_b64(_mac(secret, body))}"


def verify_token(token: str, secret: bytes, now_us: int) -> Principal:
    """The principal of a genuine, unexpired token; ``Unauthorized`` otherwise."""
    if token.count(".") != 1 or len(token) > 2048:
        raise Unauthorized("the bearer token is malformed; sign in again (POST /api/v1/auth/...)")
    body, _, sig = token.partition(".")
    try:
        given = _unb64(sig)
        body.encode("ascii")
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise Unauthorized("the bearer token's signature is malformed; sign in again") from None
    if _b64(given) != sig or not hmac.compare_digest(given, _mac(secret, body)):
        raise Unauthorized("the bearer token was not issued by this server; sign in again")
    try:
        p = _dec.decode(_unb64(body))
    except (binascii.Error, ValueError, msgspec.DecodeError):
        raise Unauthorized("the bearer token's payload is malformed; sign in again") from None
    if p.version != _VERSION:
        raise Unauthorized(f"token version {p.version} is not supported; sign in again")
    if now_us >= p.expires_at:
        raise Unauthorized("the bearer token has expired; sign in again")
    return Principal(user_id=p.user_id, role=p.role, anonymous=p.anonymous, expires_at=p.expires_at)
