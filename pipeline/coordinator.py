"""The pipeline coordinator: folds the log into the pipeline's state and does the work each video is due.

Loop (``tick``): fold new events into the ``pipeline`` view (a ``ProjectionRunner`` whose checkpoint
holds the log offsets, committed for the consumer group ``pipeline``), then scan the ``due:`` index
and start one task per due video that is not already in flight:

- ``transcode``: the media work (``worker.process_video``) on a Ray worker (``num_cpus=1``); a clean
  rejection appends ``TranscodeFailed(stage="probe")`` at once; other failures are retried
  ``max_attempts`` times with exponential backoff, then ``TranscodeFailed`` + a dead letter;
  success appends ``VideoTranscoded``.
- ``moderate``: asks the ``ModerationPort`` (with a timeout); appends ``ModerationScored`` once and
  ``ModerationDecided`` when there is a decision; no decision or an error → the video waits (fail
  closed) and is asked again later, with backoff.
- ``publish``: checks that the master playlist, every rendition with every segment, and every
  thumbnail exist in the blob store, then appends ``VideoPublished``.

Idempotent across restarts: the state is folded from the log (resumed from its stored checkpoint,
or replayed when the store is ``memory://``), so a transcoded video is never transcoded again; a
task is only started for a video whose stage says it is due. Finished tasks are reaped before the
next fold, so their own events are folded before anything is scheduled again.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
import structlog

from blobs import BlobError
from events.ids import new_event_id, now_us
from events.log import DeadLetter, EventLog, open_log
from events.schema import (
    ModerationDecided,
    ModerationScored,
    TranscodeFailed,
    VideoPublished,
    VideoTranscoded,
)
from media.hls import parse_media_playlist
from projections.runner import ProjectionRunner
from projections.store import open_store, reader

from .moderation import FailClosedModeration, ModerationPort, ModerationRequest
from .state import PROJECTION, Action, Due, PipelineVideo
from .uploads import Appender
from .worker import BlobSpec, WorkDone, WorkItem, WorkOutcome, WorkRejected, WorkSpec, process_video

__all__ = ["GROUP", "Coordinator", "CoordinatorConfig", "WorkRunner", "local_work", "ray_work"]

GROUP = "pipeline"
log = structlog.get_logger("pipeline.coordinator")

WorkRunner = Callable[[WorkItem, BlobSpec, WorkSpec], Awaitable[WorkOutcome]]


class CoordinatorConfig(msgspec.Struct, frozen=True, kw_only=True):
    log_url: str
    log_options: dict[str, Any] = {}
    state_store_url: str = "memory://"  # memory: replay on start; sqlite:// or redis://: resume
    blobs: BlobSpec
    work: WorkSpec = WorkSpec()
    max_attempts: int = 3
    backoff_s: float = 1.0  # before retry n: backoff_s * 2 ** (n - 1)
    max_transcodes: int = 2  # media tasks in flight at once
    moderation_timeout_s: float = 30.0
    moderation_retry_s: float = 2.0  # first wait after "no decision"; doubles up to moderation_retry_max_s
    moderation_retry_max_s: float = 60.0
    poll_s: float = 0.1


async def local_work(item: WorkItem, blobs: BlobSpec, spec: WorkSpec) -> WorkOutcome:
    """Run the media work in a thread of this process (tools and tests without Ray)."""
    return await asyncio.to_thread(process_video, item, blobs, spec)


def ray_work(num_cpus: float = 1.0) -> WorkRunner:
    """Run the media work as a Ray task with ``num_cpus`` (no Ray-level retries: we retry ourselves)."""
    import ray

    remote = ray.remote(num_cpus=num_cpus, max_retries=0)(process_video)

    async def run(item: WorkItem, blobs: BlobSpec, spec: WorkSpec) -> WorkOutcome:
        ref = remote.remote(item, blobs, spec)  # type: ignore[call-arg]
        try:
            outcome: WorkOutcome = await asyncio.wait_for(asyncio.wrap_future(ref.future()), spec.timeout_s)
        except (TimeoutError, asyncio.CancelledError):
            ray.cancel(ref, force=True)  # kill the worker process: a stuck decoder must not hold a CPU
            raise
        return outcome

    return run


class Coordinator:
    """See the module docstring. ``appender``: where events go (default: the log it reads)."""

    def __init__(
        self,
        config: CoordinatorConfig,
        *,
        moderation: ModerationPort | None = None,
        appender: Appender | None = None,
        work: WorkRunner = local_work,
    ) -> None:
        self.config = config
        self.moderation: ModerationPort = moderation or FailClosedModeration()
        self._appender = appender
        self.work = work
        self.log: EventLog | None = None
        self.store = open_store(config.state_store_url)
        self.view = reader(self.store, PROJECTION)
        self._runner: ProjectionRunner | None = None
        self._inflight: dict[str, tuple[Action, asyncio.Task[None]]] = {}
        self._not_before: dict[str, tuple[float, float]] = {}  # video -> (monotonic time, last wait)
        self.counts: dict[str, int] = {}
        self._seen_ends: dict[int, int] | None = None
        self._last_scan = 0.0
        self._blobs = config.blobs.open()

    @property
    def appender(self) -> Appender:
        assert self._appender is not None or self.log is not None
        return self._appender if self._appender is not None else self.log  # type: ignore[return-value]

    async def start(self) -> None:
        if self.log is None:
            self.log = await open_log(self.config.log_url, **self.config.log_options)
        if self._runner is None:
            self._runner = ProjectionRunner(self.log, self.store, PROJECTION, batch_size=1000)
            self._runner.group = GROUP  # offsets show up as the consumer group "pipeline"

    async def close(self) -> None:
        for _, task in list(self._inflight.values()):
            task.cancel()
        for _, task in list(self._inflight.values()):
            with contextlib.suppress(BaseException):
                await task
        self._inflight.clear()
        if self.log is not None:
            await self.log.close()
            self.log = None
        self._blobs.close()
        self.store.close()

    def _count(self, what: str) -> None:
        self.counts[what] = self.counts.get(what, 0) + 1

    # -- the loop ------------------------------------------------------------------------------

    async def tick(self) -> int:
        """Reap finished tasks, fold new events, start due work; returns tasks started."""
        await self.start()
        assert self._runner is not None
        changed = False
        for vid, (action, task) in list(self._inflight.items()):
            if task.done():
                changed = True
                del self._inflight[vid]
                if not task.cancelled() and task.exception() is not None:
                    log.error(
                        "pipeline task crashed", video_id=vid, action=action, error=repr(task.exception())
                    )
                    self._backoff(vid)
        assert self.log is not None
        ends = {i.partition: i.end for i in await self.log.partition_info()}
        if ends != self._seen_ends:  # fold only when the log grew (the runner logs every catch-up)
            await self._runner.run_until_caught_up()
            self._seen_ends = ends
            changed = True
        now = time.monotonic()
        # scan the due index when something changed, else once a second (for expired backoffs)
        if not changed and now - self._last_scan < 1.0:
            return 0
        self._last_scan = now
        started = 0
        transcoding = sum(1 for a, _ in self._inflight.values() if a == "transcode")
        for key, due in self.view.scan("due:"):
            assert isinstance(due, Due)
            vid_key = key[len("due:") :]
            video = self.view.get(f"v:{vid_key}")
            if not isinstance(video, PipelineVideo):
                continue
            vid = video.video_id
            if vid in self._inflight or self._not_before.get(vid, (0.0, 0.0))[0] > now:
                continue
            if due.action == "transcode":
                if transcoding >= self.config.max_transcodes:
                    continue
                transcoding += 1
            self._inflight[vid] = (due.action, asyncio.create_task(self._act(due.action, video)))
            started += 1
        return started

    async def run(self, stop: asyncio.Event) -> None:
        """Tick until ``stop`` is set."""
        while not stop.is_set():
            try:
                await self.tick()
            except Exception as exc:  # a store/log hiccup must not kill the coordinator
                log.error("pipeline tick failed", error=repr(exc))
                await asyncio.sleep(1.0)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), self.config.poll_s)

    def idle(self) -> bool:
        return not self._inflight

    def _backoff(self, vid: str) -> None:
        last = self._not_before.get(vid, (0.0, 0.0))[1]
        wait = min(self.config.moderation_retry_max_s, last * 2 if last else self.config.moderation_retry_s)
        self._not_before[vid] = (time.monotonic() + wait, wait)

    async def _act(self, action: Action, video: PipelineVideo) -> None:
        if action == "transcode":
            await self._transcode(video)
        elif action == "moderate":
            await self._moderate(video)
        else:
            await self._publish(video)

    # -- actions -------------------------------------------------------------------------------

    async def _transcode(self, video: PipelineVideo) -> None:
        up = video.uploaded
        assert up is not None
        cfg = self.config
        error = ""
        stage = "transcode"
        for attempt in range(1, cfg.max_attempts + 1):
            t0 = time.perf_counter()
            try:
                item = WorkItem(video_id=video.video_id, source_key=up.blob_key, sha256=up.sha256)
                outcome = await self.work(item, cfg.blobs, cfg.work)
            except Exception as exc:  # a failed attempt is data here: retried, then dead-lettered
                error = _error_text(exc)
                if isinstance(exc, TimeoutError):
                    error = f"TimeoutError: processing took longer than {cfg.work.timeout_s:g} s"
                stage = "upload" if isinstance(_root(exc), BlobError) else "transcode"
                self._count("transcode_errors")
                log.warning("transcode attempt failed", video_id=video.video_id, attempt=attempt, error=error)
                if attempt < cfg.max_attempts:
                    await asyncio.sleep(cfg.backoff_s * 2 ** (attempt - 1))
                continue
            if isinstance(outcome, WorkRejected):
                self._count("rejected")
                await self.appender.append(
                    [
                        TranscodeFailed(
                            event_id=new_event_id(),
                            ts=now_us(),
                            video_id=video.video_id,
                            creator_id=up.creator_id,
                            reason=outcome.message,
                            attempts=attempt,
                            stage=outcome.stage,
                        )
                    ]
                )
                log.info("upload rejected", video_id=video.video_id, reason=outcome.reason_code)
                return
            assert isinstance(outcome, WorkDone)
            self._count("transcoded")
            await self.appender.append(
                [
                    VideoTranscoded(
                        event_id=new_event_id(),
                        ts=now_us(),
                        video_id=video.video_id,
                        creator_id=up.creator_id,
                        duration_ms=outcome.duration_ms,
                        width=outcome.width,
                        height=outcome.height,
                        master_playlist_key=outcome.master_playlist_key,
                        renditions=outcome.renditions,
                        thumbnail_keys=outcome.thumbnail_keys,
                        audio_fingerprint=outcome.audio_fingerprint,
                        video_fingerprint=outcome.video_fingerprint,
                    )
                ]
            )
            log.info(
                "video transcoded",
                video_id=video.video_id,
                attempt=attempt,
                seconds=round(time.perf_counter() - t0, 2),
                steps=outcome.seconds,
            )
            return
        self._count("failed")
        with contextlib.suppress(BlobError):  # best effort: no half-written outputs linger
            prefix = f"videos/{video.video_id}/"
            for key in await asyncio.to_thread(self._blobs.list, prefix):
                await asyncio.to_thread(self._blobs.delete, key)
        reason = (
            f"Processing failed after {cfg.max_attempts} attempts; please upload the video again. "
            f"(last error: {error[:1500]})"
        )
        failed = TranscodeFailed(
            event_id=new_event_id(),
            ts=now_us(),
            video_id=video.video_id,
            creator_id=up.creator_id,
            reason=reason,
            attempts=cfg.max_attempts,
            stage=stage,
        )
        [pos] = await self.appender.append([failed])
        assert self.log is not None
        await self.log.dead_letter(
            DeadLetter(
                group=GROUP,
                partition=pos.partition,
                offset=pos.offset,
                event=up,
                error=error[:4000],
                attempts=cfg.max_attempts,
                ts=now_us(),
            )
        )
        log.error("transcode gave up", video_id=video.video_id, error=error)

    async def _moderate(self, video: PipelineVideo) -> None:
        assert video.transcoded is not None
        d = video.details
        request = ModerationRequest(
            video=video.transcoded,
            caption=d.caption if d else "",
            hashtags=d.hashtags if d else (),
            sound_id=d.sound_id if d else None,
        )
        try:
            result = await asyncio.wait_for(self.moderation.score(request), self.config.moderation_timeout_s)
        except Exception as exc:  # down, slow or broken moderation: fail closed, ask again later
            self._count("moderation_unavailable")
            log.warning(
                "moderation unavailable; video waits", video_id=video.video_id, error=_error_text(exc)
            )
            self._backoff(video.video_id)
            return
        ts = now_us()
        events: list[Any] = []
        if not video.scored:
            events.append(
                ModerationScored(
                    event_id=new_event_id(),
                    ts=ts,
                    video_id=video.video_id,
                    scores=dict(result.scores),
                    model_versions=dict(result.model_versions),
                )
            )
        if result.decision is not None:
            events.append(
                ModerationDecided(
                    event_id=new_event_id(),
                    ts=ts,
                    video_id=video.video_id,
                    decision=result.decision,
                    category=result.category,
                    max_score=result.max_score,
                    age_rating=result.age_rating,
                    reason=result.reason,
                )
            )
        if events:
            await self.appender.append(events)
        if result.decision is None:
            self._count("moderation_pending")
            self._backoff(video.video_id)
        elif result.decision == "approve":
            await self._publish(video)

    async def _publish(self, video: PipelineVideo) -> None:
        assert video.transcoded is not None and video.creator_id is not None
        missing = await asyncio.to_thread(self.missing_outputs, video.transcoded)
        if missing:
            self._count("publish_blocked")
            log.error("outputs missing; not publishing", video_id=video.video_id, missing=missing[:5])
            self._backoff(video.video_id)
            return
        self._count("published")
        await self.appender.append(
            [
                VideoPublished(
                    event_id=new_event_id(), ts=now_us(), video_id=video.video_id, creator_id=video.creator_id
                )
            ]
        )
        self._not_before.pop(video.video_id, None)

    def missing_outputs(self, t: VideoTranscoded) -> list[str]:
        """Keys a transcoded video lists (master, renditions, segments, thumbnails) that are absent."""
        store = self._blobs
        missing = [k for k in (t.master_playlist_key, *t.thumbnail_keys) if not store.exists(k)]
        if not t.renditions or not t.thumbnail_keys:
            missing.append("(no renditions or thumbnails listed)")
        for r in t.renditions:
            try:
                text = store.get(r.playlist_key).decode("utf-8", "replace")
            except BlobError:
                missing.append(r.playlist_key)
                continue
            base = r.playlist_key.rsplit("/", 1)[0]
            segments = parse_media_playlist(text)
            if not segments:
                missing.append(f"{r.playlist_key} (no segments)")
            missing.extend(f"{base}/{s.uri}" for s in segments if not store.exists(f"{base}/{s.uri}"))
        return missing

    # -- introspection ---------------------------------------------------------------------------

    def video(self, video_id: str) -> PipelineVideo | None:
        from projections.common import esc

        value = self.view.get(f"v:{esc(video_id)}")
        return value if isinstance(value, PipelineVideo) else None

    def status(self) -> dict[str, Any]:
        return {
            "in_flight": {v: a for v, (a, _) in self._inflight.items()},
            "counts": dict(self.counts),
            "due": len(self.view.scan("due:")),
        }


def _root(exc: BaseException) -> BaseException:
    """The original exception inside a Ray task error."""
    cause = getattr(exc, "cause", None)
    return cause if isinstance(cause, BaseException) else exc


def _error_text(exc: BaseException) -> str:
    root = _root(exc)
    return f"{type(root).__name__}: {root}"
