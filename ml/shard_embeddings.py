"""Learned video embeddings for the user shards: the ``VideoEmbeddings`` port backed by the two-tower.

Name ``ml.shard_embeddings:learned_embeddings`` as ``ShardConfig.embeddings`` and the shards use the
latest published ``retrieval`` model instead of the feature-hashing ``ContentEncoder`` — no shard
code changes. The model version is pinned at the first ``refresh`` (the port's promise: a video's
answer never changes), videos the model was trained on get their learned vectors, and videos
published later get the video tower's content-only vector (ID row 0) the moment their details are
in the log. Without any published model, the content encoder of ``actors.embeddings`` answers.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from actors.embeddings import ContentEncoder, VideoDirectory
from actors.user_state import StateParams, VideoInfo
from events import ModelVersionPublished
from events.log import EventLog

from .content import VideoCatalog, content_matrix
from .registry import load_artifact

__all__ = ["LearnedVideoEmbeddings", "learned_embeddings"]


class LearnedVideoEmbeddings:
    def __init__(self, log: EventLog, *, dim: int, batch: int = 5_000) -> None:
        self._log = log
        self._batch = batch
        self.dim = dim
        self._pos = dict.fromkeys(range(log.partitions), 0)
        self._catalog = VideoCatalog()
        self._fallback = VideoDirectory(ContentEncoder(dim))
        self._model: dict[str, Any] | None = None
        self._pinned = False
        self._known: dict[str, np.ndarray] = {}
        self.videos: dict[str, VideoInfo] = {}

    def get(self, video_id: str) -> VideoInfo | None:
        return self.videos.get(video_id) if self._model is not None else self._fallback.get(video_id)

    def __len__(self) -> int:
        return len(self.videos) if self._model is not None else len(self._fallback)

    async def refresh(self) -> int:
        latest: ModelVersionPublished | None = None
        new: list[str] = []
        for info in await self._log.partition_info():
            pos = max(self._pos.get(info.partition, 0), info.start)
            while pos < info.end:
                records = await self._log.read(info.partition, pos, self._batch)
                if not records:
                    break
                for r in records:
                    e = r.event
                    if isinstance(e, ModelVersionPublished) and e.model == "retrieval":
                        latest = e if latest is None or e.ts >= latest.ts else latest
                    else:
                        self._catalog.observe(e)
                        if self._fallback.observe(e):
                            new.append(getattr(e, "video_id", ""))
                pos = records[-1].offset + 1
            self._pos[info.partition] = pos
        if not self._pinned:
            self._pinned = True
            if latest is not None:
                self._load(latest.uri)
                new = list(self._catalog.videos)
        if self._model is None:
            return len(new)
        return self._embed([v for v in new if v in self._catalog.videos and v not in self.videos])

    def _load(self, uri: str) -> None:
        from .two_tower import TowerConfig, TwoTower

        art = load_artifact(uri)
        sd = art["state_dict"]
        n_ids = sd["video.id_emb.weight"].shape[0] - 1
        cdim = sd["video.content.0.weight"].shape[1]
        dim = sd["video.id_emb.weight"].shape[1]
        tower = TwoTower(n_ids, cdim, TowerConfig(dim=dim, hidden=sd["video.content.0.weight"].shape[0]))
        tower.load_state_dict(sd)
        tower.eval()
        self._known = dict(zip(art["video_ids"], np.asarray(art["video_vectors"]), strict=True))
        self._model = {"tower": tower, "text": art.get("text", "minilm")}

    def _embed(self, vids: list[str]) -> int:
        if not vids or self._model is None:
            return 0
        from .recommend import text_encoder

        missing = [v for v in vids if v not in self._known]
        if missing:
            content = content_matrix(
                [self._catalog.videos[v] for v in missing], text_encoder(self._model["text"])
            )
            with torch.inference_mode():
                vecs = (
                    self._model["tower"]
                    .video_vectors(torch.zeros(len(missing), dtype=torch.long), torch.as_tensor(content))
                    .numpy()
                )
            self._known.update(zip(missing, vecs, strict=True))
        for v in vids:
            c = self._catalog.videos[v]
            self.videos[v] = VideoInfo(
                video_id=v,
                embedding=self._known[v].astype(np.float32),
                creator_id=c.creator_id,
                sound_id=c.sound_id,
            )
        return len(vids)

    async def close(self) -> None:
        return None


def learned_embeddings(log: EventLog, params: StateParams) -> LearnedVideoEmbeddings:
    """Factory for ``ShardConfig.embeddings`` (``module:function(log, params)``)."""
    return LearnedVideoEmbeddings(log, dim=params.dim)
