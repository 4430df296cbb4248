"""The moderation ensemble as a Ray Serve deployment: batched, autoscaling, on a GPU when the cluster has one.

``ModerationDeployment.score(inputs)`` takes one video's keyframes, text, fingerprints and metadata
(``moderation.inputs.ModerationInputs``) and returns its ``ScoreSet``; calls are gathered by
``@serve.batch`` so one image-model run covers every keyframe of the batch. Each replica folds the
log's reference data (protected sounds, seen fingerprints, accounts) through a ``LogFollower``,
refreshed at most every ``refresh_s`` before a batch.

``moderation_app(config, log_url=...)`` binds it with the autoscaling config and the GPU request
(``gpu_request``: "auto" asks one GPU per replica when ``ray.cluster_resources()`` lists GPUs). The
pipeline reaches it through ``moderation.port.ServeScoring``; if it is down or slow the pipeline
fails closed (the video waits in ``moderating``).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from ray import serve
from ray.serve.deployment import Application

from events.log import EventLog, open_log
from moderation.config import ModerationConfig
from moderation.ensemble import Ensemble
from moderation.inputs import ModerationInputs, ScoreSet
from moderation.references import LogFollower

__all__ = ["APP_NAME", "DEPLOYMENT", "ModerationDeployment", "gpu_request", "moderation_app"]

APP_NAME = "moderation"
DEPLOYMENT = "moderation"


def gpu_request(setting: str, cluster_gpus: float) -> float:
    """GPUs per replica: "never" -> 0; "auto" -> 1 when the cluster has any; a number -> that (if any)."""
    if setting == "never" or cluster_gpus <= 0:
        return 0.0
    if setting == "auto":
        return 1.0
    return min(float(setting), cluster_gpus)


@serve.deployment(name=DEPLOYMENT, max_ongoing_requests=32)
class ModerationDeployment:
    def __init__(
        self,
        config: ModerationConfig,
        log_url: str | None = None,
        log_options: dict[str, Any] | None = None,
        refresh_s: float = 0.5,
    ) -> None:
        self.config = config
        self.ensemble = Ensemble(config)
        self.log_url = log_url
        self.log_options = log_options if log_options is not None else {"readonly": True, "partitions": None}
        self.refresh_s = refresh_s
        self._log: EventLog | None = None
        self._follower: LogFollower | None = None
        self._refreshed = 0.0
        self._refreshing = asyncio.Lock()
        self.stats = {"batches": 0, "videos": 0, "largest_batch": 0}
        self.score.set_max_batch_size(config.max_batch_size)  # type: ignore[attr-defined]
        self.score.set_batch_wait_timeout_s(config.batch_wait_timeout_s)  # type: ignore[attr-defined]

    async def _refresh(self) -> None:
        if self.log_url is None or time.monotonic() - self._refreshed < self.refresh_s:
            return
        async with self._refreshing:  # a batch and an operator's call at once: one open, one fold of each record
            if time.monotonic() - self._refreshed < self.refresh_s:
                return  # the other caller just did it
            if self._follower is None:
                self._log = await open_log(self.log_url, **self.log_options)
                self._follower = LogFollower(self._log, self.ensemble.refs)
            await self._follower.catch_up()
            self._refreshed = time.monotonic()

    @serve.batch(max_batch_size=8, batch_wait_timeout_s=0.05)
    async def score(self, batch: list[ModerationInputs]) -> list[ScoreSet]:
        await self._refresh()
        self.stats["batches"] += 1
        self.stats["videos"] += len(batch)
        self.stats["largest_batch"] = max(self.stats["largest_batch"], len(batch))
        return await asyncio.to_thread(self.ensemble.score_batch, batch)

    async def versions(self) -> dict[str, str]:
        return self.ensemble.versions

    async def references(self) -> dict[str, int]:
        """How much reference data this replica has folded, and its batching so far (operators; tests)."""
        await self._refresh()
        refs = self.ensemble.refs
        return {"events": refs.events, "sounds": len(refs.sounds), "videos": len(refs.videos), **self.stats}

    def check_health(self) -> None:
        if not self.ensemble.scorers:
            raise RuntimeError("the moderation ensemble has no scorers")


def moderation_app(
    config: ModerationConfig | None = None,
    *,
    log_url: str | None = None,
    log_options: dict[str, Any] | None = None,
    cluster_gpus: float | None = None,
    num_cpus: float = 1.0,
) -> Application:
    """The bound deployment: autoscaling from ``config``, a GPU per replica when there is one."""
    config = config or ModerationConfig()
    if cluster_gpus is None:
        import ray

        resources = ray.cluster_resources() if ray.is_initialized() else {}  # type: ignore[no-untyped-call]
        cluster_gpus = float(resources.get("GPU", 0.0))
    gpus = gpu_request(config.gpu, cluster_gpus)
    options: dict[str, Any] = {"num_cpus": num_cpus}
    if gpus:
        options["num_gpus"] = gpus
    return ModerationDeployment.options(  # type: ignore[attr-defined,no-any-return]
        ray_actor_options=options,
        autoscaling_config={
            "min_replicas": config.min_replicas,
            "max_replicas": config.max_replicas,
            "target_ongoing_requests": config.target_ongoing_requests,
            "upscale_delay_s": 5.0,
            "downscale_delay_s": 60.0,
        },
        max_queued_requests=256,
    ).bind(config, log_url, log_options)
