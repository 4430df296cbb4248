"""The ranking stage as a Ray Serve deployment: batched multi-task scoring, autoscaling, a GPU when present.

``RankingDeployment.score(rows)`` takes one request's feature rows (``serve.feed.features.FEATURES``
columns) and returns the ranker's heads; ``@serve.batch`` gathers concurrent requests into one
forward pass. The model is the newest ``ModelVersionPublished`` of ``model`` (default ``ranker``)
whose artifact matches the feed's feature layout — picked up from the log within
``watch_interval_s`` — or, until one exists, the ``PriorRanker``. ``reconfigure`` (Serve
``user_config``) can pin a ``model_uri`` instead.

The ingress calls it through ``ServeRanker`` (the feed's ``Ranker`` port), under the feed's ranking
time budget and circuit breaker: a slow or dead ranking deployment degrades pages to retrieval order
(``personalized: false``), it never fails them.
"""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
import numpy.typing as npt
import structlog
from ray import serve
from ray.serve.deployment import Application

from events.log import EventLog, open_log
from events.schema import ModelVersionPublished
from serve.feed.ports import Scores
from serve.feed.scoring import PriorRanker, TorchRanker, load_ranker

__all__ = ["DEPLOYMENT", "RankingDeployment", "ServeRanker", "ranking_app"]

DEPLOYMENT = "ranking"
log = structlog.get_logger("serve.ranking")


@serve.deployment(name=DEPLOYMENT, max_ongoing_requests=64)
class RankingDeployment:
    def __init__(self, log_url: str | None = None, log_options: dict[str, Any] | None = None, *,
                 model: str = "ranker", model_uri: str | None = None, watch_interval_s: float = 5.0,
                 max_batch_size: int = 16, batch_wait_timeout_s: float = 0.002) -> None:
        self.model = model
        self.ranker: PriorRanker | TorchRanker = load_ranker(model_uri)
        self.pinned = model_uri is not None
        self.log_url = log_url
        self.log_options = log_options or {}
        self.watch_interval_s = watch_interval_s
        self.skipped: dict[str, str] = {}  # versions not loaded, and why
        self._log: EventLog | None = None
        self._positions: dict[int, int] = {}
        self._task: asyncio.Task[None] | None = None
        self.score.set_max_batch_size(max_batch_size)  # type: ignore[attr-defined]
        self.score.set_batch_wait_timeout_s(batch_wait_timeout_s)  # type: ignore[attr-defined]

    def reconfigure(self, config: dict[str, Any]) -> None:
        uri = config.get("model_uri")
        if uri:
            self.ranker = load_ranker(str(uri))
            self.pinned = True

    def _watching(self) -> None:
        if self._task is None and self.log_url and not self.pinned:
            self._task = asyncio.get_running_loop().create_task(self._watch())

    async def _watch(self) -> None:
        while True:
            try:
                await self._scan()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # keep the model we have; retry on the next tick
                log.warning("model watch failed", error=f"{type(exc).__name__}: {exc}")
            await asyncio.sleep(self.watch_interval_s)

    async def _scan(self) -> None:
        if self._log is None:
            assert self.log_url is not None
            self._log = await open_log(self.log_url, **self.log_options)
        newest: ModelVersionPublished | None = None
        for info in await self._log.partition_info():
            pos = max(self._positions.get(info.partition, 0), info.start)
            while pos < info.end:
                records = await self._log.read(info.partition, pos, 5000)
                if not records:
                    break
                for r in records:
                    e = r.event
                    if isinstance(e, ModelVersionPublished) and e.model == self.model and (
                            newest is None or e.ts >= newest.ts):
                        newest = e
                pos = records[-1].offset + 1
            self._positions[info.partition] = pos
        if newest is not None and not self.pinned:
            try:
                self.ranker = await asyncio.to_thread(load_ranker, newest.uri, version=newest.version)
                log.info("ranker loaded", version=newest.version)
            except (ValueError, OSError, KeyError, RuntimeError) as exc:
                self.skipped[newest.version] = str(exc)
                log.warning("ranker version not loaded", version=newest.version, error=str(exc))

    @serve.batch(max_batch_size=16, batch_wait_timeout_s=0.002)
    async def score(self, batch: list[npt.NDArray[np.float32]]) -> list[Scores]:
        self._watching()
        sizes = [len(rows) for rows in batch]
        rows = np.concatenate(batch) if len(batch) > 1 else batch[0]
        if isinstance(self.ranker, TorchRanker):
            heads = await asyncio.to_thread(self.ranker.predict, rows)
        else:
            heads = self.ranker.predict(rows)
        out: list[Scores] = []
        start = 0
        for n in sizes:
            out.append({h: v[start: start + n] for h, v in heads.items()})
            start += n
        return out

    async def info(self) -> dict[str, Any]:
        """Which ranker serves (operators; tests)."""
        return {"ranker": self.ranker.name, "version": self.ranker.version, "skipped": dict(self.skipped)}



class ServeRanker:
    """The feed's ``Ranker`` port through a ``RankingDeployment`` handle (one Serve hop)."""

    def __init__(self, handle: Any) -> None:
        self.handle = handle

    async def score(self, rows: npt.NDArray[np.float32]) -> Scores:
        result: Scores = await self.handle.score.remote(rows)
        return result


def ranking_app(log_url: str | None = None, log_options: dict[str, Any] | None = None, *,
                cluster_gpus: float = 0.0, gpu: str = "auto", num_cpus: float = 0.0,
                min_replicas: int = 1, max_replicas: int = 4, target_ongoing_requests: float = 8.0,
                model_uri: str | None = None) -> Application:
    """The bound ranking deployment: autoscaling, load shedding, a GPU per replica if the cluster has any."""
    from serve.moderation import gpu_request

    gpus = gpu_request(gpu, cluster_gpus)
    options: dict[str, Any] = {"num_cpus": num_cpus}
    if gpus:
        options["num_gpus"] = gpus
    return RankingDeployment.options(  # type: ignore[attr-defined,no-any-return]
        ray_actor_options=options,
        autoscaling_config={
            "min_replicas": min_replicas,
            "max_replicas": max_replicas,
            "target_ongoing_requests": target_ongoing_requests,
            "upscale_delay_s": 5.0,
            "downscale_delay_s": 60.0,
        },
        max_queued_requests=256,
    ).bind(log_url, log_options, model_uri=model_uri)
