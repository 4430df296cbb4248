"""The upload pipeline end to end on the shared Ray session: upload → transcode → moderate → publish.

Every test gets its own file log (owned by a ``LogWriter`` actor), blob store and coordinator actor;
the test process uploads through the real upload service and watches the real catalog view.
"""

from __future__ import annotations

import asyncio
import functools
import io
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import pytest

from blobs import BlobStore, open_blobs
from blobs.faulty import FaultyBlobStore
from blobs.playback import playback
from events import EventLog, open_log
from events.schema import (
    ModerationDecided,
    ModerationScored,
    TranscodeFailed,
    UploadRequested,
    VideoDetailsSubmitted,
    VideoPublished,
    VideoTranscoded,
    VideoUploaded,
)
from media.hls import parse_media_playlist
from media.ladder import LadderConfig
from media.synth import make_clip
from pipeline.actor import start_pipeline
from pipeline.coordinator import CoordinatorConfig
from pipeline.logwriter import RemoteAppender, start_log_writer
from pipeline.moderation import ApproveAllModeration, ModerationPort
from pipeline.uploads import UploadService
from pipeline.worker import BlobSpec, WorkSpec
from projections import catalog
from projections.runner import ProjectionRunner
from projections.store import open_store, reader

from .restarts import until_restarted

pytestmark = pytest.mark.timeout(420)


@pytest.fixture(scope="session")
def clip_15s(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 15 s 720x1280 (vertical) H.264/AAC clip with moving shapes and a melody."""
    return make_clip(tmp_path_factory.mktemp("clips") / "c15.mp4", 15, 720, 1280, seed=5)


@pytest.fixture(scope="session")
def clip_tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_clip(tmp_path_factory.mktemp("clips") / "tiny.mp4", 2, 180, 320, seed=6)


@dataclass
class Env:
    root: Path
    log_url: str
    blob_url: str
    writer: Any
    uploads: UploadService
    blobs: BlobStore
    reader_log: EventLog
    catalog_runner: ProjectionRunner
    catalog_view: Any
    coordinators: list[Any]

    def start(
        self,
        moderation: ModerationPort | None,
        *,
        work: WorkSpec | None = None,
        wrapper: Callable[[BlobStore], BlobStore] | None = None,
        backoff_s: float = 0.2,
    ) -> Any:
        config = CoordinatorConfig(
            log_url=self.log_url,
            log_options={"readonly": True, "partitions": None},
            blobs=BlobSpec(url=self.blob_url, wrapper=wrapper),
            work=work or WorkSpec(),
            backoff_s=backoff_s,
            moderation_retry_s=0.5,
            moderation_retry_max_s=1.0,
        )
        handle = start_pipeline(config, moderation=moderation, appender=RemoteAppender(self.writer))
        self.coordinators.append(handle)
        return handle

    async def stop_all(self) -> None:
        for h in self.coordinators:
            await h.stop.remote()
        self.coordinators.clear()

    async def upload(self, path: Path, creator: str = "creator-1", caption: str = "a clip") -> str:
        ticket = await self.uploads.request_upload(creator)
        data = path.read_bytes()
        await self.uploads.receive_upload(
            ticket.token, [data[i : i + 256 * 1024] for i in range(0, len(data), 256 * 1024)]
        )
        await self.uploads.submit_details(ticket.video_id, creator, caption=caption, hashtags=["#test"])
        return ticket.video_id

    async def video(self, video_id: str) -> catalog.VideoView | None:
        await self.catalog_runner.run_until_caught_up()
        return catalog.get_video(self.catalog_view, video_id)

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

    async def dead_letters(self, n: int, timeout_s: float = 10.0) -> list[Any]:
        """The group's dead letters once there are ``n`` (they are written right after TranscodeFailed)."""
        deadline = time.monotonic() + timeout_s
        while True:
            letters = await self.reader_log.dead_letters("pipeline")
            if len(letters) >= n or time.monotonic() > deadline:
                return letters
            await asyncio.sleep(0.1)

    async def events(self, video_id: str) -> list[Any]:
        out = []
        for info in await self.reader_log.partition_info():
            out.extend(
                r.event
                for r in await self.reader_log.read(info.partition, info.start, 100_000)
                if getattr(r.event, "video_id", None) == video_id
            )
        return sorted(out, key=lambda e: e.ts)


@pytest.fixture
async def env(ray_session: Any, tmp_path: Path) -> AsyncIterator[Env]:
    log_url = f"file://{tmp_path / 'log'}"
    blob_url = f"file://{tmp_path / 'blobs'}"
    writer = start_log_writer(log_url, partitions=4)
    await writer.ready.remote()
    blobs = open_blobs(blob_url)
    uploads = UploadService(RemoteAppender(writer), blobs, secret=b"e2e-secret", max_bytes=50 * 1024 * 1024)
    reader_log = await open_log(log_url, partitions=None, readonly=True)
    store = open_store("memory://")
    e = Env(
        tmp_path,
        log_url,
        blob_url,
        writer,
        uploads,
        blobs,
        reader_log,
        ProjectionRunner(reader_log, store, catalog.PROJECTION),
        reader(store, catalog.PROJECTION),
        [],
    )
    try:
        yield e
    finally:
        await e.stop_all()
        await reader_log.close()
        await writer.close.remote()
        ray_session.kill(writer)


def _decode_frames(data: bytes, fmt: str) -> int:
    with av.open(io.BytesIO(data), format=fmt) as c:
        return sum(1 for _ in c.decode(video=0))


async def test_clip_goes_from_upload_to_published_and_every_output_decodes(env: Env, clip_15s: Path) -> None:
    env.start(ApproveAllModeration())
    t0 = time.perf_counter()
    vid = await env.upload(clip_15s)
    v = await env.wait_status(vid, {"published", "failed", "rejected"})
    elapsed = time.perf_counter() - t0
    assert v.status == "published", v
    print(f"\nupload -> published for a 15 s 720x1280 clip: {elapsed:.1f} s")

    kinds = [type(e) for e in await env.events(vid)]
    assert kinds == [
        UploadRequested,
        VideoUploaded,
        VideoDetailsSubmitted,
        VideoTranscoded,
        ModerationScored,
        ModerationDecided,
        VideoPublished,
    ]
    (t,) = [e for e in await env.events(vid) if isinstance(e, VideoTranscoded)]
    assert (t.width, t.height) == (720, 1280) and abs(t.duration_ms - 15_000) < 200
    assert [(r.width, r.height) for r in t.renditions] == [(360, 640), (540, 960), (720, 1280)]
    assert t.audio_fingerprint and len(t.video_fingerprint) == 15
    assert v.master_playlist_key == t.master_playlist_key and v.thumbnail_keys == t.thumbnail_keys

    master = env.blobs.get(t.master_playlist_key).decode()
    for r in t.renditions:
        assert r.playlist_key.rsplit("/", 2)[-2] + "/index.m3u8" in master
        segments = parse_media_playlist(env.blobs.get(r.playlist_key).decode())
        assert abs(sum(s.duration_s for s in segments) - 15.0) < 0.5
        base = r.playlist_key.rsplit("/", 1)[0]
        frames = 0
        for s in segments:
            data = env.blobs.get(f"{base}/{s.uri}")
            frames += _decode_frames(data, "mpegts")
            with av.open(io.BytesIO(data), format="mpegts") as c:
                assert (c.streams.video[0].codec_context.width, c.streams.video[0].codec_context.height) == (
                    r.width,
                    r.height,
                )
                assert c.streams.audio, "every segment carries audio"
        assert 440 <= frames <= 460  # 15 s at 30 fps
    for key in t.thumbnail_keys:
        assert _decode_frames(env.blobs.get(key), "jpeg_pipe") == 1
    urls = playback("https://cdn.example/media", v.master_playlist_key, v.thumbnail_keys)
    assert urls.hls_url == f"https://cdn.example/media/{t.master_playlist_key}"

    # a restarted coordinator replays its state and does nothing twice
    await env.stop_all()
    env.start(ApproveAllModeration())
    await asyncio.sleep(3.0)
    kinds_after = [type(e) for e in await env.events(vid)]
    assert kinds_after == kinds


async def test_a_coordinator_restarted_by_ray_ticks_again_by_itself(env: Env, clip_tiny: Path,
                                                                    ray_session: Any) -> None:
    handle = env.start(ApproveAllModeration())
    first = await env.upload(clip_tiny)
    assert (await env.wait_status(first, {"published", "failed", "rejected"})).status == "published"
    pid = (await handle.status.remote())["pid"]
    ray_session.kill(handle, no_restart=False)  # as a crash: Ray starts a new one from the same arguments
    await until_restarted(ray_session, handle, pid, what="the coordinator")
    second = await env.upload(clip_tiny, caption="after the restart")
    v = await env.wait_status(second, {"published", "failed", "rejected"}, timeout_s=120)  # nobody called start
    assert v.status == "published", v
    assert "start_error" not in await handle.status.remote()


async def test_malformed_upload_is_rejected_with_a_reason(env: Env, tmp_path: Path) -> None:
    env.start(ApproveAllModeration())
    bad = tmp_path / "holiday.mp4"
    bad.write_bytes(b"this is a text file named .mp4, not a video\n" * 100)
    vid = await env.upload(bad)
    v = await env.wait_status(vid, {"failed", "published"}, timeout_s=120)
    assert v.status == "failed" and v.failure_reason and "not an MP4/MOV" in v.failure_reason
    (failed,) = [e for e in await env.events(vid) if isinstance(e, TranscodeFailed)]
    assert failed.stage == "probe" and failed.attempts == 1  # a clean rejection is not retried
    assert await env.reader_log.dead_letters("pipeline") == []


async def test_transient_failure_is_retried_then_succeeds(env: Env, clip_tiny: Path) -> None:
    faults = env.root / "faults"
    env.start(
        ApproveAllModeration(), wrapper=functools.partial(FaultyBlobStore, fail_writes=2, state_dir=faults)
    )
    vid = await env.upload(clip_tiny)
    v = await env.wait_status(vid, {"published", "failed"}, timeout_s=180)
    assert v.status == "published", v
    assert len(list(faults.iterdir())) == 2  # two attempts failed on the injected faults
    assert not [e for e in await env.events(vid) if isinstance(e, TranscodeFailed)]
    assert await env.reader_log.dead_letters("pipeline") == []


async def test_permanent_failure_gives_up_after_three_attempts_and_dead_letters(
    env: Env, clip_tiny: Path
) -> None:
    env.start(ApproveAllModeration(), work=WorkSpec(ladder=LadderConfig(encoder="no_such_h264_encoder")))
    vid = await env.upload(clip_tiny)
    v = await env.wait_status(vid, {"failed", "published"}, timeout_s=180)
    assert v.status == "failed" and v.failure_reason and "3 attempts" in v.failure_reason
    assert "no_such_h264_encoder" in v.failure_reason
    (failed,) = [e for e in await env.events(vid) if isinstance(e, TranscodeFailed)]
    assert failed.attempts == 3 and failed.stage == "transcode"
    (letter,) = await env.dead_letters(1)
    assert isinstance(letter.event, VideoUploaded) and letter.event.video_id == vid and letter.attempts == 3
    assert "EncoderUnavailableError" in letter.error
    assert env.blobs.list(f"videos/{vid}/") == []


async def test_fail_closed_nothing_is_published_without_a_decision(env: Env, clip_tiny: Path) -> None:
    env.start(None)  # the default port: FailClosedModeration
    vid = await env.upload(clip_tiny)
    v = await env.wait_status(vid, {"moderating", "published", "failed"}, timeout_s=180)
    assert v.status == "moderating"
    await asyncio.sleep(3.0)  # it is asked again (backoff 0.5-1 s) and still decides nothing
    v2 = await env.video(vid)
    assert v2 is not None and v2.status == "moderating"
    events = await env.events(vid)
    assert not [e for e in events if isinstance(e, VideoPublished | ModerationDecided)]
    assert len([e for e in events if isinstance(e, ModerationScored)]) == 1
    # an explicit decision from elsewhere (a moderator, the moderation service) publishes it
    await env.uploads.appender.append(
        [ModerationDecided(event_id="md-" + vid, ts=int(time.time() * 1e6), video_id=vid, decision="approve")]
    )
    assert (await env.wait_status(vid, {"published"}, timeout_s=60)).status == "published"


async def test_an_attempt_past_its_time_limit_is_cancelled_and_retried(env: Env, clip_tiny: Path) -> None:
    env.start(ApproveAllModeration(), work=WorkSpec(timeout_s=0.05))
    vid = await env.upload(clip_tiny)
    v = await env.wait_status(vid, {"failed", "published"}, timeout_s=120)
    assert v.status == "failed" and v.failure_reason and "longer than 0.05 s" in v.failure_reason
    (letter,) = await env.dead_letters(1)
    assert letter.attempts == 3 and letter.error.startswith("TimeoutError")


async def test_embedded_wiring_from_settings(ray_session: Any, tmp_path: Path, clip_tiny: Path) -> None:
    """``start_embedded``: named writer and coordinator from settings, SQLite state, uploads via writer."""
    from pipeline.wiring import LOG_WRITER, start_embedded, upload_service
    from reelstack.settings import load_settings

    settings = load_settings(
        {"REEL_DATA_DIR": str(tmp_path / "data"), "REEL_UPLOAD_SECRET": "s", "REEL_LOG_PARTITIONS": "2"}
    )
    # its own namespace: the shared Ray session may already hold the platform's named actors
    ns = f"wiring-{uuid.uuid4().hex[:8]}"
    appender, coordinator = start_embedded(settings, moderation=ApproveAllModeration(), namespace=ns, backoff_s=0.2)
    try:
        svc = upload_service(settings, appender)
        ticket = await svc.request_upload("c9")
        await svc.receive_upload(ticket.token, [clip_tiny.read_bytes()])
        await svc.submit_details(ticket.video_id, "c9")
        deadline = time.monotonic() + 120
        while (v := await coordinator.video.remote(ticket.video_id)) is None or v.stage != "published":
            assert time.monotonic() < deadline, v
            await asyncio.sleep(0.2)
        assert (tmp_path / "data" / "views.db").exists()  # the pipeline's state sits beside the views
        assert svc.blobs.exists(v.transcoded.master_playlist_key)
    finally:
        await coordinator.stop.remote()
        writer = ray_session.get_actor(LOG_WRITER, namespace=ns)
        await writer.close.remote()
        ray_session.kill(writer)
        ray_session.kill(coordinator)
