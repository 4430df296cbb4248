"""The coordinator without Ray (media work in a thread): resume from a SQLite state store without redoing
work, S3 blob store end to end, and moderation that is down or slow keeps videos unpublished."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from events import EventLog, open_log
from events.schema import (
    ModerationDecided,
    ModerationScored,
    TranscodeFailed,
    VideoPublished,
    VideoTranscoded,
)
from media.synth import make_clip
from pipeline.coordinator import Coordinator, CoordinatorConfig
from pipeline.errors import ModerationUnavailableError
from pipeline.moderation import ApproveAllModeration, ModerationRequest, ModerationResult
from pipeline.uploads import UploadService
from pipeline.worker import BlobSpec
from tests.services.s3 import S3_CREDENTIALS

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_clip(tmp_path_factory.mktemp("clip") / "c.mp4", 2, 180, 320, seed=8)


@pytest.fixture
async def log(tmp_path: Path) -> AsyncIterator[EventLog]:
    opened = await open_log(f"file://{tmp_path / 'log'}", partitions=2)
    yield opened
    await opened.close()


async def _events(log: EventLog, video_id: str) -> list[Any]:
    out = []
    for info in await log.partition_info():
        out.extend(
            r.event
            for r in await log.read(info.partition, info.start, 10_000)
            if getattr(r.event, "video_id", None) == video_id
        )
    return out


async def _until(c: Coordinator, video_id: str, stages: set[str], timeout_s: float = 120) -> str:
    deadline = time.monotonic() + timeout_s
    while True:
        await c.tick()
        v = c.video(video_id)
        if v is not None and v.stage in stages and c.idle():
            return v.stage
        if time.monotonic() > deadline:
            raise AssertionError(f"{video_id} stuck at {v}")
        await asyncio.sleep(0.05)


class _Shared:
    """Lets the coordinator append to the log the test opened (one writer per file log)."""

    def __init__(self, log: EventLog) -> None:
        self.inner = log

    async def append(self, events: Any) -> Any:
        return await self.inner.append(events)


async def _upload(log: EventLog, blobs_spec: BlobSpec, clip: Path) -> str:
    svc = UploadService(log, blobs_spec.open(), secret=b"k")
    ticket = await svc.request_upload("c1")
    await svc.receive_upload(ticket.token, [clip.read_bytes()])
    await svc.submit_details(ticket.video_id, "c1", caption="hi")
    return ticket.video_id


def _coordinator(log: EventLog, spec: BlobSpec, store_url: str, moderation: Any, **kw: Any) -> Coordinator:
    config = CoordinatorConfig(
        log_url=log.url,
        state_store_url=store_url,
        blobs=spec,
        backoff_s=0.1,
        moderation_retry_s=0.2,
        moderation_retry_max_s=0.4,
        **kw,
    )
    c = Coordinator(config, moderation=moderation, appender=_Shared(log))
    c.log = log  # share the test's writer; close() would close it, so the tests do not call close()
    return c


@pytest.mark.parametrize("backend", ["file", "s3"])
async def test_publishes_and_resumes_without_redoing_work(
    backend: str, log: EventLog, clip: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if backend == "file":
        spec = BlobSpec(url=f"file://{tmp_path / 'blobs'}")
    else:
        endpoint = request.getfixturevalue("s3_endpoint")
        spec = BlobSpec(
            url=f"s3://reel-{uuid.uuid4().hex[:10]}?endpoint={endpoint}&create=1",
            options=dict(S3_CREDENTIALS),
        )
    store_url = f"sqlite://{tmp_path / 'pipeline.db'}"
    vid = await _upload(log, spec, clip)
    first = _coordinator(log, spec, store_url, ApproveAllModeration())
    assert await _until(first, vid, {"published", "failed"}) == "published"
    assert await log.committed("pipeline")  # its progress shows as the consumer group "pipeline"
    first.store.close()
    events = await _events(log, vid)
    assert [type(e) for e in events][-4:] == [
        VideoTranscoded,
        ModerationScored,
        ModerationDecided,
        VideoPublished,
    ]
    t = next(e for e in events if isinstance(e, VideoTranscoded))
    assert first.missing_outputs(t) == []

    second = _coordinator(log, spec, store_url, ApproveAllModeration())  # resumes from the stored checkpoint
    assert second.store.checkpoint("pipeline") is not None
    for _ in range(5):
        assert await second.tick() == 0
    assert await _events(log, vid) == events
    second.store.close()


class _Down:
    calls = 0

    async def score(self, request: ModerationRequest) -> ModerationResult:
        _Down.calls += 1
        raise ModerationUnavailableError(video_id=request.video.video_id, detail="connection refused")


class _Slow:
    async def score(self, request: ModerationRequest) -> ModerationResult:
        await asyncio.sleep(30)
        return ModerationResult(decision="approve")


@pytest.mark.parametrize("port", [_Down(), _Slow()], ids=["down", "slow"])
async def test_moderation_down_or_slow_keeps_the_video_unpublished(
    port: Any, log: EventLog, clip: Path, tmp_path: Path
) -> None:
    spec = BlobSpec(url=f"file://{tmp_path / 'blobs'}")
    vid = await _upload(log, spec, clip)
    c = _coordinator(log, spec, "memory://", port, moderation_timeout_s=0.3)
    assert await _until(c, vid, {"transcoded"}) == "transcoded"
    for _ in range(30):
        await c.tick()
        await asyncio.sleep(0.05)
    v = c.video(vid)
    assert v is not None and v.stage == "transcoded"  # nothing recorded, nothing published
    assert c.counts.get("moderation_unavailable", 0) >= 2  # asked again, with backoff
    assert not [e for e in await _events(log, vid) if isinstance(e, VideoPublished | ModerationDecided)]
    c.moderation = ApproveAllModeration()  # the service comes back: the video goes through
    assert await _until(c, vid, {"published"}, timeout_s=30) == "published"


async def test_source_changed_after_upload_is_rejected(log: EventLog, clip: Path, tmp_path: Path) -> None:
    """The worker checks the bytes against the SHA-256 in ``VideoUploaded`` before it reads them."""
    spec = BlobSpec(url=f"file://{tmp_path / 'blobs'}")
    vid = await _upload(log, spec, clip)
    spec.open().put_bytes(f"uploads/{vid}/source", clip.read_bytes()[:-1000])
    c = _coordinator(log, spec, "memory://", ApproveAllModeration())
    assert await _until(c, vid, {"failed", "published"}) == "failed"
    (failed,) = [e for e in await _events(log, vid) if isinstance(e, TranscodeFailed)]
    assert failed.stage == "fetch" and failed.attempts == 1 and "upload it again" in failed.reason


@pytest.mark.kafka
async def test_on_a_kafka_log(kafka_bootstrap: str, clip: Path, tmp_path: Path) -> None:
    """The same flow on the Kafka backend: the coordinator appends through its own producer."""
    url = f"kafka://{kafka_bootstrap}/pipe{uuid.uuid4().hex[:10]}"
    spec = BlobSpec(url=f"file://{tmp_path / 'blobs'}")
    klog = await open_log(url, partitions=2)
    c = Coordinator(
        CoordinatorConfig(log_url=url, log_options={"partitions": 2}, blobs=spec, backoff_s=0.1),
        moderation=ApproveAllModeration(),
    )
    try:
        vid = await _upload(klog, spec, clip)
        assert await _until(c, vid, {"published", "failed"}) == "published"
        kinds = [type(e) for e in await _events(klog, vid)]
        assert kinds[-4:] == [VideoTranscoded, ModerationScored, ModerationDecided, VideoPublished]
        assert await klog.committed("pipeline")
    finally:
        await c.close()
        await klog.close()
