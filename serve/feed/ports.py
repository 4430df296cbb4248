"""The feed's ports: what the pipeline needs from the world, as ``typing.Protocol``s.

Each has real implementations: ``UserStates`` is ``actors.shards.ShardRouter`` (or
``local.LocalUserStates``, the same pure shard fold in-process); ``Trending`` and ``Features`` are
``views.ViewTrending`` / ``views.ViewFeatures`` over the projections' stores; ``Retriever`` is
``catalogue.CatalogueRetriever`` (the replica's in-memory HNSW index); ``Ranker`` is
``scoring.PriorRanker`` or ``scoring.TorchRanker`` in-process, or ``serve.ranking.ServeRanker``
through the ranking deployment; ``ImpressionSink`` is the ingress's appender or an ``EventLog``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from actors.view import UserView
from events.schema import Event
from projections.features import UserFeatures, VideoStats

__all__ = ["Features", "ImpressionSink", "Ranker", "Retriever", "Scores", "Trending", "UserStates"]

#: Head name -> one value per candidate row (probabilities; ``watch`` is expected log1p seconds).
Scores = dict[str, npt.NDArray[np.float32]]


@runtime_checkable
class UserStates(Protocol):
    async def get_state(self, user_id: str, *, timeout_s: float | None = None) -> UserView: ...


@runtime_checkable
class Retriever(Protocol):
    async def search(self, vector: npt.NDArray[np.float32], k: int) -> tuple[list[int], list[float]]:
        """Catalogue labels nearest to ``vector`` (inner product) and their similarities, best first."""
        ...


@runtime_checkable
class Trending(Protocol):
    async def top(self, scope: str, k: int) -> list[tuple[str, float]]:
        """(video id, velocity) best first, for ``global`` or ``region:XX``."""
        ...


@runtime_checkable
class Features(Protocol):
    async def user(self, user_id: str) -> UserFeatures: ...

    async def video_stats(self, video_ids: Sequence[str]) -> list[VideoStats | None]:
        """The feature store's raw per-video counts (None: nothing known yet), in ``video_ids`` order;
        rates are smoothed from them in bulk by ``features.build_rows``."""
        ...


@runtime_checkable
class Ranker(Protocol):
    async def score(self, rows: npt.NDArray[np.float32]) -> Scores:
        """Per-head predictions for feature rows laid out as ``features.FEATURES``."""
        ...


@runtime_checkable
class ImpressionSink(Protocol):
    async def append(self, events: Sequence[Event]) -> Any: ...
