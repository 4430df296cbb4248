"""A pipeline on the shared Ray session for moderation tests: log writer, blobs, uploads, catalog view."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from blobs import BlobStore, open_blobs
from events import EventLog, open_log
from events.schema import Event
from moderation.config import ModerationConfig
from moderation.port import EnsembleModeration, LocalScoring, ScoringBackend
from pipeline.actor import start_pipeline
from pipeline.coordinator import CoordinatorConfig
from pipeline.logwriter import RemoteAppender, start_log_writer
from pipeline.uploads import UploadService
from pipeline.worker import BlobSpec
from projections import catalog
from projections import moderation as mod
from projections.runner import ProjectionRunner
from projections.store import open_store, reader


@dataclass
class ModEnv:
    root: Path
    log_url: str
    blob_url: str
    writer: Any
    appender: RemoteAppender
    uploads: UploadService
    blobs: BlobStore
    log: EventLog
    runners: list[ProjectionRunner]
    catalog: Any
    moderation: Any
    coordinators: list[Any] = field(default_factory=list)

    def port(
        self, backend: ScoringBackend | None = None, config: ModerationConfig | None = None
    ) -> EnsembleModeration:
        config = config or ModerationConfig()
        backend = backend or LocalScoring(config, log_url=self.log_url)
        return EnsembleModeration(backend, BlobSpec(url=self.blob_url), config)

    def start(self, moderation: Any) -> Any:
        config = CoordinatorConfig(
            log_url=self.log_url,
            log_options={"readonly": True, "partitions": None},
            blobs=BlobSpec(url=self.blob_url),
            moderation_timeout_s=60.0,
            moderation_retry_s=0.5,
            moderation_retry_max_s=1.0,
        )
        handle = start_pipeline(config, moderation=moderation, appender=self.appender)
        self.coordinators.append(handle)
        return handle

    async def stop_all(self) -> None:
        for h in self.coordinators:
            await h.stop.remote()
        self.coordinators.clear()

    async def upload(self, path: Path, creator: str = "creator-1", caption: str = "a clip") -> str:
        ticket = await self.uploads.request_upload(creator)
        await self.uploads.receive_upload(ticket.token, [path.read_bytes()])
        await self.uploads.submit_details(ticket.video_id, creator, caption=caption, hashtags=["#test"])
        return ticket.video_id

    async def refresh(self) -> None:
        for r in self.runners:
            await r.run_until_caught_up()

    async def video(self, video_id: str) -> catalog.VideoView | None:
        await self.refresh()
        return catalog.get_video(self.catalog, video_id)

    async def wait_status(
        self, video_id: str, statuses: set[str], timeout_s: float = 240.0
    ) -> catalog.VideoView:
        deadline = time.monotonic() + timeout_s
        while True:
            v = await self.video(video_id)
            if v is not None and v.status in statuses:
                return v
            if time.monotonic() > deadline:
                raise AssertionError(f"video {video_id} did not reach {statuses}: {v}")
            await asyncio.sleep(0.25)

    async def events(self, video_id: str) -> list[Event]:
        out: list[Event] = []
        for info in await self.log.partition_info():
            out.extend(
                r.event
                for r in await self.log.read(info.partition, info.start, 100_000)
                if getattr(r.event, "video_id", None) == video_id
            )
        return sorted(out, key=lambda e: e.ts)


@asynccontextmanager
async def mod_env(ray: Any, root: Path) -> AsyncIterator[ModEnv]:
    log_url = f"file://{root / 'log'}"
    blob_url = f"file://{root / 'blobs'}"
    writer = start_log_writer(log_url, partitions=4)
    await writer.ready.remote()
    appender = RemoteAppender(writer)
    blobs = open_blobs(blob_url)
    uploads = UploadService(appender, blobs, secret=b"moderation-tests", max_bytes=50 * 1024 * 1024)
    log = await open_log(log_url, partitions=None, readonly=True)
    cat_store, mod_store = open_store("memory://"), open_store("memory://")
    env = ModEnv(
        root,
        log_url,
        blob_url,
        writer,
        appender,
        uploads,
        blobs,
        log,
        [
            ProjectionRunner(log, cat_store, catalog.PROJECTION),
            ProjectionRunner(log, mod_store, mod.PROJECTION),
        ],
        reader(cat_store, catalog.PROJECTION),
        reader(mod_store, mod.PROJECTION),
    )
    try:
        yield env
    finally:
        await env.stop_all()
        await log.close()
        await writer.close.remote()
        ray.kill(writer)
