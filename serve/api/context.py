"""Everything a route needs, built once per ingress replica from the settings: log, views, shards, services.

Reads come from the view store (``reader(store, PROJECTION)``) and the user shards; writes append
events through ``appender`` (a ``file://`` log's single ``LogWriter`` actor, or the log itself for
Kafka). ``applied`` gives read-your-writes: it waits, bounded by ``read_your_writes_s``, until the
named views' stored checkpoints (and the user's shard) have passed the offsets a write got back.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from blobs import BlobStore
from events.log import Position
from events.schema import Event
from pipeline.uploads import Appender, UploadService
from projections import (
    analytics,
    catalog,
    counters,
    features,
    moderation,
    notifications,
    search,
    social,
    trending,
)
from projections.store import StoreReader, ViewStore, reader
from reelstack.settings import Settings

from .idempotency import IdempotencyStore
from .keylocks import KeyLocks
from .ratelimit import TokenBuckets, address_limits

__all__ = [
    "LOG_WRITER",
    "NAMESPACE",
    "SHARD_NAME",
    "ApiContext",
    "FeedPort",
    "Readers",
    "resolve_secrets",
]

NAMESPACE = "reelstack"
LOG_WRITER = "reel-log-writer"
SHARD_NAME = "user-shard"


class FeedPort(Protocol):
    """The feed pipeline (``serve.feed.FeedService``) as the ingress uses it."""

    async def get_page(self, user: Any, count: int, cursor: str | None, **kwargs: Any) -> Any: ...


@dataclass(slots=True)
class Readers:
    catalog: StoreReader
    counters: StoreReader
    social: StoreReader
    search: StoreReader
    trending: StoreReader
    analytics: StoreReader
    notifications: StoreReader
    moderation: StoreReader
    features: StoreReader

    @classmethod
    def of(cls, store: ViewStore) -> Readers:
        return cls(
            catalog=reader(store, catalog.PROJECTION),
            counters=reader(store, counters.PROJECTION),
            social=reader(store, social.PROJECTION),
            search=reader(store, search.PROJECTION),
            trending=reader(store, trending.PROJECTION),
            analytics=reader(store, analytics.PROJECTION),
            notifications=reader(store, notifications.PROJECTION),
            moderation=reader(store, moderation.PROJECTION),
            features=reader(store, features.PROJECTION),
        )


def resolve_secrets(settings: Settings) -> Settings:
    """Fill empty ``auth_secret`` / ``upload_secret`` from ``<data_dir>/secrets.json`` (created once),
    so every replica and every restart signs with the same keys."""
    import msgspec

    if settings.auth_secret and settings.upload_secret:
        return settings
    path = Path(settings.data_dir).absolute() / "secrets.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        stored = json.loads(path.read_text())
    except (OSError, ValueError):
        stored = {"auth_secret": os.urandom(32).hex(), "upload_secret": os.urandom(32).hex()}
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(stored))
        os.chmod(tmp, 0o600)
        tmp.replace(path)
    return msgspec.structs.replace(
        settings,
        auth_secret=settings.auth_secret or stored["auth_secret"],
        upload_secret=settings.upload_secret or stored["upload_secret"],
    )


@dataclass(slots=True)
class ApiContext:
    settings: Settings
    appender: Appender
    store: ViewStore
    blobs: BlobStore
    uploads: UploadService
    router: Any | None = None  # actors.shards.ShardRouter
    feed: FeedPort | None = None
    review: Any = None  # moderation.review.ReviewService
    idempotency: IdempotencyStore = field(default_factory=IdempotencyStore)
    user_limits: TokenBuckets | None = None
    ip_limits: TokenBuckets | None = None  # None: from settings (none when REEL_RATE_IP_PER_S is 0)
    toggles: KeyLocks = field(default_factory=KeyLocks)  # like / follow: one check-and-append per user and target
    views: Readers = field(init=False)
    auth_secret: bytes = field(init=False)

    def __post_init__(self) -> None:
        self.views = Readers.of(self.store)
        if not self.settings.auth_secret:
            raise ValueError("the API needs an auth secret: call resolve_secrets(settings) first")
        self.auth_secret = self.settings.auth_secret.encode()
        if self.user_limits is None:
            self.user_limits = TokenBuckets(self.settings.rate_user_per_s, self.settings.rate_user_burst)
        if self.ip_limits is None:
            self.ip_limits = address_limits(self.settings.rate_ip_per_s, self.settings.rate_ip_burst)
        if self.review is None:
            from moderation.review import ReviewService

            self.review = ReviewService(
                self.appender, self.views.catalog, self.views.moderation, blobs=self.blobs,
                cdn_base_url=self.settings.cdn_base_url,
            )

    async def append(self, events: Sequence[Event]) -> list[Position]:
        return await self.appender.append(events)

    async def applied(self, positions: Sequence[Position], views: Sequence[str] = (),
                      user_id: str | None = None) -> bool:
        """Wait (bounded) until ``views`` and ``user_id``'s shard have folded ``positions``."""
        if not positions:
            return True
        deadline = time.monotonic() + self.settings.read_your_writes_s
        need: dict[int, int] = {}
        for p in positions:
            need[p.partition] = max(need.get(p.partition, -1), p.offset)
        shard_ok: asyncio.Future[Any] | None = None
        if user_id is not None and self.router is not None:
            last = positions[-1]  # a user's interactions all live in the user's partition
            try:
                shard_ok = asyncio.ensure_future(self.router.handle(user_id).wait_for.remote(
                    last.partition, last.offset, self.settings.read_your_writes_s))
            except Exception:  # a shard that is down: the feed falls back; the write still happened
                shard_ok = None
        pending = set(views)
        delay = 0.002
        while pending:
            for name in list(pending):
                ckpt = await asyncio.to_thread(self.store.checkpoint, name)
                if ckpt is not None and all(ckpt.offsets.get(p, 0) > o for p, o in need.items()):
                    pending.discard(name)
            if not pending or time.monotonic() >= deadline:
                break
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.02)
        ok = not pending
        if shard_ok is not None:
            try:
                ok = bool(await asyncio.wait_for(shard_ok, max(0.05, deadline - time.monotonic()))) and ok
            except Exception:
                ok = False
        return ok
