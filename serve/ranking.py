"""The ranking stage as a Ray Serve deployment: batched multi-task scoring, autoscaling, a GPU when present.

``RankingDeployment.score(rows)`` takes one request's feature rows (``serve.feed.features.FEATURES``
columns) and returns the ranker's heads; ``@serve.batch`` gathers concurrent requests into one
forward pass. The model is the newest ``ModelVersionPublished`` of ``model`` (default ``ranker``)
whose artifact matches the feed's feature layout — picked up from the log within
``watch_interval_s`` by ``serve.models.RankerWatch``, the watcher the in-process ranking path shares —
or, until one exists, the ``PriorRanker``. ``reconfigure`` (Serve
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

from serve.feed.ports import Scores
from serve.feed.scoring import PriorRanker, TorchRanker, load_ranker
from serve.models import RankerWatch

__all__ = ["DEPLOYMENT", "RankingDeployment", "ServeRanker", "ranking_app"]

DEPLOYMENT = "ranking"
log = structlog.get_logger("serve.ranking")


@serve.deployment(name=DEPLOYMENT, max_ongoing_requests=64)
class RankingDeployment:
    def __init__(self, log_url: str | None = None, log_options: dict[str, Any] | None = None, *,
                 model: str = "ranker", model_uri: str | None = None, watch_interval_s: float = 5.0,
                 max_batch_size: int = 16, batch_wait_timeout_s: float = 0.002) -> None:
        self.model = model
        self.watch = RankerWatch(log_url, log_options, model=model, interval_s=watch_interval_s)
        if model_uri is not None:
            self.watch.pin(load_ranker(model_uri))
        self.score.set_max_batch_size(max_batch_size)  # type: ignore[attr-defined]
        self.score.set_batch_wait_timeout_s(batch_wait_timeout_s)  # type: ignore[attr-defined]

    @property
    def ranker(self) -> PriorRanker | TorchRanker:
        return self.watch.ranker

    def reconfigure(self, config: dict[str, Any]) -> None:
        uri = config.get("model_uri")
        if uri:
            self.watch.pin(load_ranker(str(uri)))

    @serve.batch(max_batch_size=16, batch_wait_timeout_s=0.002)
    async def score(self, batch: list[npt.NDArray[np.float32]]) -> list[Scores]:
        self.watch.start()
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
        return self.watch.info()



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
