"""Signed, expiring upload tokens: HMAC-SHA256 over video, creator, expiry and size limit; pure.

A token is ``base64url(json payload) "." base64url(mac)``. Verification recomputes the MAC with the
server's secret and compares in constant time before it trusts any field, then checks the expiry
against the caller's clock. Nothing in a token is secret; it only cannot be forged or altered.
"""

from __future__ import annotations

import msgspec

from reelstack.signing import BadTokenError, seal, unseal

from .errors import UploadTokenExpiredError, UploadTokenInvalidError

__all__ = ["UploadGrant", "sign_upload", "verify_upload"]

_VERSION = 1
_PURPOSE = b"reel-upload"


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


def sign_upload(grant: UploadGrant, secret: bytes) -> str:
    """The token for ``grant``."""
    if not secret:
        raise ValueError("the upload secret must not be empty")
    payload = _enc.encode(_Payload(_VERSION, grant.video_id, grant.creator_id, grant.expires_at, grant.max_bytes))
    return seal(payload, secret, _PURPOSE)


def verify_upload(token: str, secret: bytes, now_us: int) -> UploadGrant:
    """The grant of a genuine, unexpired token; ``UploadTokenInvalidError`` / ``UploadTokenExpiredError``."""
    try:
        p = _dec.decode(unseal(token, secret, _PURPOSE))
    except BadTokenError as exc:
        raise UploadTokenInvalidError(reason=exc.reason) from None
    except msgspec.DecodeError:
        raise UploadTokenInvalidError(reason="malformed payload") from None
    if p.version != _VERSION:
        raise UploadTokenInvalidError(reason=f"unknown token version {p.version}")
    if now_us >= p.expires_at:
        raise UploadTokenExpiredError(video_id=p.video_id, expired_at_us=p.expires_at, now_us=now_us)
    return UploadGrant(
        video_id=p.video_id, creator_id=p.creator_id, expires_at=p.expires_at, max_bytes=p.max_bytes
    )
