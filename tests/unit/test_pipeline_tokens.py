"""Upload tokens: round trip, expiry, tampering, wrong key, malformed input."""

from __future__ import annotations

import base64
import json

import pytest

from pipeline.errors import UploadTokenExpiredError, UploadTokenInvalidError
from pipeline.tokens import UploadGrant, sign_upload, verify_upload

SECRET = b"s3cret-key-for-tests"
GRANT = UploadGrant(video_id="v-1", creator_id="c-1", expires_at=2_000_000, max_bytes=1000)


def test_round_trip() -> None:
    token = sign_upload(GRANT, SECRET)
    assert verify_upload(token, SECRET, now_us=1_999_999) == GRANT


def test_expired_at_and_after_expiry() -> None:
    token = sign_upload(GRANT, SECRET)
    for now in (2_000_000, 9_000_000):
        with pytest.raises(UploadTokenExpiredError) as err:
            verify_upload(token, SECRET, now_us=now)
        assert err.value.video_id == "v-1"


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@pytest.mark.parametrize("field,value", [(1, "v-2"), (2, "c-2"), (3, 9_999_999_999), (4, 10**12)])
def test_altered_payload_is_refused(field: int, value: object) -> None:
    body, sig = sign_upload(GRANT, SECRET).split(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    payload[field] = value
    forged = f"{_b64(json.dumps(payload, separators=(',', ':')).encode())}.{sig}"
    with pytest.raises(UploadTokenInvalidError, match="signature mismatch"):
        verify_upload(forged, SECRET, now_us=0)


def test_every_single_character_flip_is_refused() -> None:
    token = sign_upload(GRANT, SECRET)
    for i, ch in enumerate(token):
        if ch == ".":
            continue
        flipped = token[:i] + ("A" if ch != "A" else "B") + token[i + 1 :]
        with pytest.raises(UploadTokenInvalidError):
            verify_upload(flipped, SECRET, now_us=0)


def test_other_key_is_refused() -> None:
    with pytest.raises(UploadTokenInvalidError):
        verify_upload(sign_upload(GRANT, b"another key"), SECRET, now_us=0)


@pytest.mark.parametrize("token", ["", "abc", "a.b.c", ".", "!!!.???", "x" * 5000 + ".y", "é.é"])
def test_malformed(token: str) -> None:
    with pytest.raises(UploadTokenInvalidError):
        verify_upload(token, SECRET, now_us=0)


def test_empty_secret_cannot_sign() -> None:
    with pytest.raises(ValueError):
        sign_upload(GRANT, b"")


def test_non_canonical_signature_encoding_is_refused() -> None:
    """The last base64 character of a 32-byte MAC carries 2 unused bits; setting them is tampering too."""
    token = sign_upload(GRANT, SECRET)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = alphabet.index(token[-1])
    for bits in (1, 2, 3):
        odd = token[:-1] + alphabet[last ^ bits]
        with pytest.raises(UploadTokenInvalidError):
            verify_upload(odd, SECRET, now_us=0)
