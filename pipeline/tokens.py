"""Signed, expiring upload tokens: HMAC-SHA256 over video, creator, expiry and size limit; pure.

A token is ``base64url(json payload) "." base64url(mac)``. Verification recomputes the MAC with the
server's secret and compares in constant time before it trusts any field, then checks the expiry
against the caller's clock. Nothing in a token is secret; it only cannot be forged or altered.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

import msgspec

from .errors import UploadTokenExpiredError, UploadTokenInvalidError

__all__ = ["UploadGrant", "sign_upload", "verify_upload"]

_VERSION = 1


class UploadGrant(msgspec.Struct, frozen=True, kw_only=True):
    """What a valid token allows: one upload of at most ``max_bytes`` for this video and creator."""

    video_id: str
    creator_id: str
    expires_at: int  # epoch µs
    max_bytes: int


class _Payload(msgspec.Struct, frozen=True, array_like=True):
    version: int
    video_id: str
    creator_id: str
    expires_at: int
    max_bytes: int


_enc = msgspec.json.Encoder()
_dec = msgspec.json.Decoder(_Payload)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: bytes, body: str) -> bytes:
    return hmac.new(secret, b"reel-upload." + body.encode("ascii"), hashlib.sha256).digest()


def sign_upload(grant: UploadGrant, secret: bytes) -> str:
    """The token for ``grant``."""
    if not secret:
        raise ValueError("the upload secret must not be empty")
    body = _b64(
        _enc.encode(_Payload(_VERSION, grant.video_id, grant.creator_id, grant.expires_at, grant.max_bytes))
    )
    return f"{body}.{_b64(_mac(secret, body))}"


def verify_upload(token: str, secret: bytes, now_us: int) -> UploadGrant:
    """The grant of a genuine, unexpired token; ``UploadTokenInvalidError`` / ``UploadTokenExpiredError``."""
    if not isinstance(token, str) or token.count(".") != 1 or len(token) > 4096:
        raise UploadTokenInvalidError(reason="malformed")
    body, _, sig = token.partition(".")
    try:
        given = _unb64(sig)
        body.encode("ascii")
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise UploadTokenInvalidError(reason="malformed signature") from None
    if _b64(given) != sig:  # non-canonical base64 (e.g. altered padding bits) is not our token
        raise UploadTokenInvalidError(reason="malformed signature")
    if not hmac.compare_digest(given, _mac(secret, body)):
        raise UploadTokenInvalidError(reason="signature mismatch: altered or signed with another key")
    try:
        p = _dec.decode(_unb64(body))
    except (binascii.Error, ValueError, msgspec.DecodeError):
        raise UploadTokenInvalidError(reason="malformed payload") from None
    if p.version != _VERSION:
        raise UploadTokenInvalidError(reason=f"unknown token version {p.version}")
    if now_us >= p.expires_at:
        raise UploadTokenExpiredError(video_id=p.video_id, expired_at_us=p.expires_at, now_us=now_us)
    return UploadGrant(
        video_id=p.video_id, creator_id=p.creator_id, expires_at=p.expires_at, max_bytes=p.max_bytes
    )
