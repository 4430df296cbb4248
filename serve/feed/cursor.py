"""Opaque, signed page cursors: which page of whose feed comes next, tamper-evident (HMAC-SHA256).

A cursor is base64url(msgpack([user, page, request id, issued µs])) + "." + a truncated MAC; it is
only valid for the user it was issued to. The feed itself is stateless between pages (what was
served is in the seen set), so the cursor carries a position, not a list of ids.
"""

from __future__ import annotations

import base64
import hmac
import os

import msgspec

from .errors import BadCursorError

__all__ = ["Cursor", "CursorCodec"]

_MAC_BYTES = 12


class Cursor(msgspec.Struct, frozen=True, array_like=True):
    user_id: str
    page: int
    request_id: str
    issued_us: int


class CursorCodec:
    def __init__(self, secret: str | bytes = b"") -> None:
        key = secret.encode() if isinstance(secret, str) else secret
        self._key = key or os.urandom(32)
        self._dec = msgspec.msgpack.Decoder(Cursor)

    def _mac(self, body: bytes) -> bytes:
        return hmac.digest(self._key, body, "sha256")[:_MAC_BYTES]  # one call into OpenSSL

    def encode(self, cursor: Cursor) -> str:
        body = msgspec.msgpack.encode(cursor)
        b64 = base64.urlsafe_b64encode
        return b64(body).rstrip(b"=").decode() + "." + b64(self._mac(body)).rstrip(b"=").decode()

    def decode(self, text: str, user_id: str) -> Cursor:
        if len(text) > 512:
            raise BadCursorError(detail="too long")
        body_s, sep, mac_s = text.partition(".")
        try:
            body = base64.urlsafe_b64decode(body_s + "=" * (-len(body_s) % 4))
            mac = base64.urlsafe_b64decode(mac_s + "=" * (-len(mac_s) % 4))
        except (ValueError, TypeError) as exc:
            raise BadCursorError(detail="not base64url") from exc
        if not sep or not hmac.compare_digest(mac, self._mac(body)):
            raise BadCursorError(detail="signature does not match")
        try:
            cursor = self._dec.decode(body)
        except msgspec.DecodeError as exc:
            raise BadCursorError(detail="malformed") from exc
        if cursor.user_id != user_id:
            raise BadCursorError(detail="issued to another user")
        return cursor
