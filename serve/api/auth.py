"""Bearer tokens of the HTTP API: HMAC-SHA256-signed, expiring, carrying the user id and role; pure.

A token is ``base64url(json [version, user_id, role, anonymous, expires_at]) "." base64url(mac)``.
Verification recomputes the MAC with the server's secret (constant-time compare) before it trusts
any field, then checks the expiry against the caller's clock (epoch µs). Roles: user, moderator, admin.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from reelstack.signing import BadTokenError, seal, unseal

from .errors import Unauthorized

__all__ = ["ROLES", "Principal", "Role", "sign_token", "verify_token"]

Role = Literal["user", "moderator", "admin"]
ROLES: tuple[Role, ...] = ("user", "moderator", "admin")
_VERSION = 1
_PURPOSE = b"reel-auth"


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


def sign_token(principal: Principal, secret: bytes) -> str:
    """The bearer token of ``principal`` (valid until ``principal.expires_at``)."""
    if not secret:
        raise ValueError("the auth secret must not be empty (REEL_AUTH_SECRET)")
    p = principal
    return seal(_enc.encode(_Payload(_VERSION, p.user_id, p.role, p.anonymous, p.expires_at)), secret, _PURPOSE)


def verify_token(token: str, secret: bytes, now_us: int) -> Principal:
    """The principal of a genuine, unexpired token; ``Unauthorized`` otherwise."""
    try:
        p = _dec.decode(unseal(token, secret, _PURPOSE, max_len=2048))
    except BadTokenError as exc:
        if exc.reason == "malformed":
            raise Unauthorized("the bearer token is malformed; sign in again (POST /api/v1/auth/...)") from None
        if exc.reason.startswith("signature mismatch"):
            raise Unauthorized("the bearer token was not issued by this server; sign in again") from None
        raise Unauthorized(f"the bearer token is invalid ({exc.reason}); sign in again") from None
    except msgspec.DecodeError:
        raise Unauthorized("the bearer token's payload is malformed; sign in again") from None
    if p.version != _VERSION:
        raise Unauthorized(f"token version {p.version} is not supported; sign in again")
    if now_us >= p.expires_at:
        raise Unauthorized("the bearer token has expired; sign in again")
    return Principal(user_id=p.user_id, role=p.role, anonymous=p.anonymous, expires_at=p.expires_at)
