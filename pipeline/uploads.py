"""Upload service functions: request an upload slot, stream the bytes in, submit the creator's details.

The HTTP routes (Serve issue) call these. Writes are events: ``UploadRequested`` with a signed,
expiring token; the bytes go to the blob store under a server-generated key
(``uploads/{video_id}/source``) with a size limit (over it: ``UploadTooLarge``, nothing stored,
nothing appended); then ``VideoUploaded`` with the SHA-256 and size, which starts the pipeline once
``VideoDetailsSubmitted`` is in too.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterable, Callable, Iterable, Sequence
from typing import Literal, Protocol

import msgspec
import structlog

from blobs import BlobStore, BlobTooLargeError, join_key
from events.ids import new_event_id, now_us
from events.log import Position
from events.schema import Event, UploadRequested, VideoDetailsSubmitted, VideoUploaded

from .errors import UploadAlreadyReceivedError, UploadTooLarge
from .tokens import UploadGrant, sign_upload, verify_upload

__all__ = ["Appender", "UploadService", "UploadTicket", "source_key"]

log = structlog.get_logger("pipeline.uploads")


class Appender(Protocol):
    """Where events go: an ``EventLog`` or a ``pipeline.logwriter.RemoteAppender``."""

    async def append(self, events: Sequence[Event]) -> list[Position]: ...


class UploadTicket(msgspec.Struct, frozen=True, kw_only=True):
    """What the client gets back from ``request_upload``: where and how much it may upload, until when."""

    video_id: str
    token: str
    expires_at: int  # epoch µs
    max_bytes: int


def source_key(video_id: str) -> str:
    """The blob key of an upload's original bytes."""
    return join_key("uploads", video_id, "source")


class UploadService:
    """See the module docstring. ``secret`` signs tokens; ``clock`` (epoch µs) is injectable for tests."""

    def __init__(
        self,
        appender: Appender,
        blobs: BlobStore,
        *,
        secret: bytes,
        max_bytes: int = 500 * 1024 * 1024,
        token_ttl_s: int = 3600,
        clock: Callable[[], int] = now_us,
    ) -> None:
        if not secret:
            raise ValueError("an upload secret is required (REEL_UPLOAD_SECRET)")
        self.appender = appender
        self.blobs = blobs
        self.secret = secret
        self.max_bytes = max_bytes
        self.token_ttl_s = token_ttl_s
        self._receiving: set[str] = set()  # video ids whose bytes are streaming in now
        self.clock = clock

    @classmethod
    def from_settings(cls, appender: Appender, blobs: BlobStore, settings: object) -> UploadService:
        """Build from ``reelstack.settings.Settings`` (a random secret when none is set: one process only)."""
        secret = getattr(settings, "upload_secret", "") or ""
        if not secret:
            log.warning("no REEL_UPLOAD_SECRET set: tokens are signed with a random per-process key")
        return cls(
            appender,
            blobs,
            secret=secret.encode() if secret else os.urandom(32),
            max_bytes=int(getattr(settings, "upload_max_bytes", 500 * 1024 * 1024)),
            token_ttl_s=int(getattr(settings, "upload_token_ttl_s", 3600)),
        )

    async def request_upload(self, creator_id: str, *, max_bytes: int | None = None) -> UploadTicket:
        """Reserve a video id for ``creator_id``; appends ``UploadRequested`` and returns the token."""
        limit = self.max_bytes if max_bytes is None else min(max_bytes, self.max_bytes)
        now = self.clock()
        video_id = new_event_id()
        grant = UploadGrant(
            video_id=video_id,
            creator_id=creator_id,
            expires_at=now + self.token_ttl_s * 1_000_000,
            max_bytes=limit,
        )
        await self.appender.append(
            [
                UploadRequested(
                    event_id=new_event_id(),
                    ts=now,
                    video_id=video_id,
                    creator_id=creator_id,
                    max_bytes=limit,
                    expires_at=grant.expires_at,
                )
            ]
        )
        return UploadTicket(
            video_id=video_id,
            token=sign_upload(grant, self.secret),
            expires_at=grant.expires_at,
            max_bytes=limit,
        )

    def check_token(self, token: str) -> UploadGrant:
        """The grant of a valid token (raises ``UploadTokenExpiredError`` / ``UploadTokenInvalidError``)."""
        return verify_upload(token, self.secret, self.clock())

    async def receive_upload(
        self, token: str, chunks: AsyncIterable[bytes] | Iterable[bytes]
    ) -> VideoUploaded:
        """Stream the bytes into the blob store and append ``VideoUploaded``.

        The token is checked before a byte is stored. Over the limit: ``UploadTooLarge``, the partial
        blob is gone and nothing is appended.
        """
        grant = self.check_token(token)
        # one upload of a video at a time here: a second PUT of the same token while the first streams
        # (a double submit, a client's early retry) would pass the check below, write the same key and
        # append a second VideoUploaded, or delete the first one's blob when it failed
        if grant.video_id in self._receiving:
            raise UploadAlreadyReceivedError(video_id=grant.video_id, in_progress=True)
        self._receiving.add(grant.video_id)
        try:
            return await self._receive(grant, chunks)
        finally:
            self._receiving.discard(grant.video_id)

    async def _receive(self, grant: UploadGrant, chunks: AsyncIterable[bytes] | Iterable[bytes]) -> VideoUploaded:
        key = source_key(grant.video_id)
        if await asyncio.to_thread(self.blobs.exists, key):
            raise UploadAlreadyReceivedError(video_id=grant.video_id)
        writer = self.blobs.writer(key, max_bytes=grant.max_bytes, content_type="application/octet-stream")
        try:
            if isinstance(chunks, AsyncIterable):
                async for chunk in chunks:
                    if chunk:
                        await asyncio.to_thread(writer.write, bytes(chunk))
            else:
                for chunk in chunks:
                    if chunk:
                        await asyncio.to_thread(writer.write, bytes(chunk))
            info = await asyncio.to_thread(writer.commit)
        except BlobTooLargeError as exc:
            writer.abort()
            await asyncio.to_thread(self.blobs.delete, key)
            raise UploadTooLarge(
                video_id=grant.video_id, max_bytes=grant.max_bytes, received=exc.received
            ) from None
        except BaseException:
            writer.abort()
            raise
        event = VideoUploaded(
            event_id=new_event_id(),
            ts=self.clock(),
            video_id=grant.video_id,
            creator_id=grant.creator_id,
            blob_key=key,
            sha256=info.sha256,
            size_bytes=info.size,
        )
        try:
            await self.appender.append([event])
        except BaseException:
            await asyncio.to_thread(self.blobs.delete, key)  # no event, no blob: the client retries cleanly
            raise
        log.info("upload received", video_id=grant.video_id, bytes=info.size)
        return event

    async def submit_details(
        self,
        video_id: str,
        creator_id: str,
        *,
        caption: str = "",
        hashtags: Sequence[str] = (),
        sound_id: str | None = None,
        sound_title: str | None = None,
        privacy: Literal["public", "friends", "private"] = "public",
    ) -> VideoDetailsSubmitted:
        """The creator's caption, hashtags, sound and privacy (the pipeline needs them before it starts)."""
        event = VideoDetailsSubmitted(
            event_id=new_event_id(),
            ts=self.clock(),
            video_id=video_id,
            creator_id=creator_id,
            caption=caption,
            hashtags=tuple(hashtags),
            sound_id=sound_id,
            sound_title=sound_title,
            privacy=privacy,
        )
        await self.appender.append([event])
        return event
