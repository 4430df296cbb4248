"""The pipeline's ``ModerationPort`` backed by the ensemble: keyframes from the blob store, scores, policy.

``EnsembleModeration.score(request)`` decodes keyframes from the video's lowest rendition (and keeps
them as JPEGs under ``videos/{id}/moderation/`` for reviewers), sends the inputs to a scoring backend,
routes the scores with ``moderation.policy.route`` and returns the pipeline's ``ModerationResult`` (the
pipeline appends ``ModerationScored`` and ``ModerationDecided`` from it).

Backends: ``ServeScoring`` (the Ray Serve deployment in ``serve/moderation.py``; production) and
``LocalScoring`` (the same ensemble in this process; tools, tests, single-box demos). A backend that
is down, failing or slower than ``timeout_s`` raises ``ModerationUnavailableError``: the pipeline keeps
the video in ``moderating`` and asks again later — nothing is published unmoderated.

Everything here is picklable and opens its resources lazily: the port travels into the pipeline actor.
"""

from __future__ import annotations

import asyncio
import io
import time
from typing import Any, Protocol

import structlog

from events.log import EventLog, open_log
from pipeline.errors import ModerationUnavailableError
from pipeline.moderation import ModerationRequest, ModerationResult
from pipeline.worker import BlobSpec

from .config import ModerationConfig
from .ensemble import Ensemble
from .inputs import Frame, ModerationInputs, ScoreSet
from .keyframes import keyframes_from_hls
from .policy import route
from .references import LogFollower

__all__ = [
    "EnsembleModeration",
    "LocalScoring",
    "ScoringBackend",
    "ServeScoring",
    "keyframe_keys",
    "result_from_scores",
]

log = structlog.get_logger("moderation.port")


class ScoringBackend(Protocol):
    async def score(self, inputs: ModerationInputs) -> ScoreSet: ...


class LocalScoring:
    """The ensemble in this process; follows ``log_url`` (when given) for its reference data."""

    def __init__(
        self,
        config: ModerationConfig | None = None,
        log_url: str | None = None,
        log_options: dict[str, Any] | None = None,
        ensemble: Ensemble | None = None,
    ) -> None:
        self.config = config or ModerationConfig()
        self.log_url = log_url
        self.log_options = log_options if log_options is not None else {"readonly": True, "partitions": None}
        self._ensemble = ensemble
        self._follower: LogFollower | None = None
        self._log: EventLog | None = None
        self._lock: asyncio.Lock | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {"config": self.config, "log_url": self.log_url, "log_options": self.log_options}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(**state)  # type: ignore[misc]

    @property
    def ensemble(self) -> Ensemble:
        if self._ensemble is None:
            self._ensemble = Ensemble(self.config)
        return self._ensemble

    async def refresh(self) -> None:
        if self.log_url is None:
            return
        if self._follower is None:
            self._log = await open_log(self.log_url, **self.log_options)
            self._follower = LogFollower(self._log, self.ensemble.refs)
        await self._follower.catch_up()

    async def score(self, inputs: ModerationInputs) -> ScoreSet:
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:  # one scoring at a time in-process (the models are not re-entrant)
            await self.refresh()
            return await asyncio.to_thread(self.ensemble.score, inputs)

    async def close(self) -> None:
        if self._log is not None:
            await self._log.close()
            self._log = None
            self._follower = None


class ServeScoring:
    """The Serve deployment (``serve.moderation``), reached by a deployment handle."""

    def __init__(
        self, app_name: str = "moderation", deployment: str = "moderation", handle: Any = None
    ) -> None:
        self.app_name = app_name
        self.deployment = deployment
        self._handle = handle

    def __getstate__(self) -> dict[str, Any]:
        return {"app_name": self.app_name, "deployment": self.deployment, "handle": self._handle}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(**state)  # type: ignore[misc]

    async def score(self, inputs: ModerationInputs) -> ScoreSet:
        if self._handle is None:
            from ray import serve

            # a blocking call (it asks the Serve controller); off the event loop
            self._handle = await asyncio.to_thread(
                serve.get_deployment_handle, self.deployment, app_name=self.app_name
            )
        try:
            result: ScoreSet = await self._handle.score.remote(inputs)
        except BaseException:
            self._handle = None  # look the deployment up again next time (it may have been redeployed)
            raise
        return result


def keyframe_keys(video_id: str, n: int) -> list[str]:
    """Where the keyframes a video was moderated on are kept for reviewers."""
    return [f"videos/{video_id}/moderation/kf_{i:02d}.jpg" for i in range(n)]


def result_from_scores(scores: ScoreSet, config: ModerationConfig) -> ModerationResult:
    routing = route(scores.scores, config, scores.notes)
    return ModerationResult(
        scores=dict(scores.scores),
        model_versions=dict(scores.versions),
        decision=routing.decision,
        category=routing.category,
        max_score=routing.max_score,
        age_rating=routing.age_rating,
        reason=routing.reason[:3900],
    )


class EnsembleModeration:
    """``pipeline.moderation.ModerationPort`` over a scoring backend; see the module docstring."""

    name = "ensemble"

    def __init__(
        self, backend: ScoringBackend, blobs: BlobSpec, config: ModerationConfig | None = None
    ) -> None:
        self.backend = backend
        self.blobs = blobs
        self.config = config or ModerationConfig()
        self._store: Any = None

    def __getstate__(self) -> dict[str, Any]:
        return {"backend": self.backend, "blobs": self.blobs, "config": self.config}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(**state)  # type: ignore[misc]

    def _frames(self, request: ModerationRequest) -> tuple[tuple[Frame, ...], str]:
        if self._store is None:
            self._store = self.blobs.open()
        try:
            frames = keyframes_from_hls(
                self._store, request.video, self.config.max_keyframes, self.config.frame_side
            )
        except Exception as exc:  # undecodable renditions leave nudity unscored (-> review)
            return (), f"keyframes could not be decoded: {type(exc).__name__}: {exc}"[:300]
        self._keep_for_review(request.video.video_id, frames)
        return frames, "" if frames else "the video has no decodable keyframes"

    def _keep_for_review(self, video_id: str, frames: tuple[Frame, ...]) -> None:
        from PIL import Image

        for key, frame in zip(keyframe_keys(video_id, len(frames)), frames, strict=True):
            buf = io.BytesIO()
            Image.fromarray(frame.array()).save(buf, "JPEG", quality=80)
            try:
                self._store.put_bytes(key, buf.getvalue(), content_type="image/jpeg")
            except Exception as exc:  # best effort: reviewers still get thumbnails
                log.warning("keyframe not kept", video_id=video_id, error=repr(exc))
                return

    async def inputs(self, request: ModerationRequest) -> ModerationInputs:
        video = request.video
        frames, note = await asyncio.to_thread(self._frames, request)
        return ModerationInputs(
            video_id=video.video_id,
            creator_id=video.creator_id,
            frames=frames,
            frames_note=note,
            caption=request.caption,
            hashtags=tuple(request.hashtags),
            audio_fingerprint=video.audio_fingerprint,
            has_audio=video.audio_fingerprint is not None,
            video_fingerprint=tuple(video.video_fingerprint),
        )

    async def score(self, request: ModerationRequest) -> ModerationResult:
        vid = request.video.video_id
        t0 = time.perf_counter()
        inputs = await self.inputs(request)
        try:
            scores = await asyncio.wait_for(self.backend.score(inputs), self.config.timeout_s)
        except TimeoutError as exc:
            raise ModerationUnavailableError(
                video_id=vid, detail=f"scoring took longer than {self.config.timeout_s:g} s"
            ) from exc
        except Exception as exc:
            raise ModerationUnavailableError(
                video_id=vid, detail=f"{type(exc).__name__}: {exc}"[:500]
            ) from exc
        result = result_from_scores(scores, self.config)
        log.info(
            "video moderated",
            video_id=vid,
            decision=result.decision,
            category=result.category,
            seconds=round(time.perf_counter() - t0, 2),
        )
        return result
