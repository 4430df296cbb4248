"""Pure pieces of the HTTP API: bearer tokens, token buckets, the idempotency store, error mapping."""

from __future__ import annotations

import pytest

from actors.errors import ShardUnavailableError
from pipeline.errors import UploadTooLarge
from serve.api.auth import Principal, sign_token, verify_token
from serve.api.errors import Unauthorized, to_api_error
from serve.api.idempotency import IdempotencyStore
from serve.api.ratelimit import TokenBuckets
from serve.api.routes_feed import server_timing


def test_token_round_trip_and_rejections() -> None:
    p = Principal(user_id="u-1", role="moderator", expires_at=2_000)
    token = sign_token(p, b"secret")
    assert verify_token(token, b"secret", 1_999) == p
    with pytest.raises(Unauthorized, match="expired"):
        verify_token(token, b"secret", 2_000)
    with pytest.raises(Unauthorized, match="not issued"):
        verify_token(token, b"other", 1_000)
    body, sig = token.split(".")
    forged = sign_token(Principal(user_id="u-1", role="admin", expires_at=2_000), b"other").split(".")[0]
    with pytest.raises(Unauthorized):
        verify_token(f"{forged}.{sig}", b"secret", 1_000)
    for bad in ("", "a.b.c", "x" * 3000, f"{body}.!!"):
        with pytest.raises(Unauthorized):
            verify_token(bad, b"secret", 1_000)


def test_token_bucket_burst_refill_and_wait() -> None:
    now = [0.0]
    b = TokenBuckets(2.0, 3, clock=lambda: now[0])
    assert [b.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert b.take("a") == pytest.approx(0.5)
    assert b.take("b") == 0.0  # keys are independent
    now[0] = 0.5
    assert b.take("a") == 0.0
    assert b.take("a") > 0


def test_token_bucket_forgets_full_buckets() -> None:
    now = [0.0]
    b = TokenBuckets(1.0, 2, clock=lambda: now[0], max_keys=10)
    for i in range(11):
        b.take(f"k{i}")
    now[0] = 100.0
    b.take("new")
    assert len(b._buckets) <= 2


def test_idempotency_store_claim_replay_conflict_and_expiry() -> None:
    now = [1000.0]
    s = IdempotencyStore(ttl_s=10, pending_timeout_s=5, clock=lambda: now[0])
    slot = s.scope("u", "k")
    assert s.begin(slot, "f1") is None
    with pytest.raises(Exception, match="still being processed"):
        s.begin(slot, "f1")
    with pytest.raises(Exception, match="different request"):
        s.begin(slot, "f2")
    s.finish(slot, 201, b'{"ok":1}')
    stored = s.begin(slot, "f1")
    assert stored is not None and (stored.status, stored.body) == (201, b'{"ok":1}')
    now[0] += 11  # expired: the key can be used again
    assert s.begin(slot, "f2") is None
    s.abandon(slot)
    assert s.begin(slot, "f3") is None  # an abandoned claim frees the key at once


def test_error_mapping_and_server_timing() -> None:
    too_big = to_api_error(UploadTooLarge(video_id="v", max_bytes=1, received=2))
    assert too_big is not None and (too_big.status, too_big.code) == (413, "upload_too_large")
    down = to_api_error(ShardUnavailableError(shard=1, detail="x"))
    assert down is not None and down.status == 503 and down.headers() == {"Retry-After": "1"}
    assert to_api_error(RuntimeError("bug")) is None
    assert server_timing({"state": 1.234, "rank ing": 2}) == "state;dur=1.23, rank_ing;dur=2.00"
