"""The default ``VideoEmbeddings``: content embeddings of the videos whose details are in the log.

Catalog events are keyed by video id, so they sit on every partition, not only on the shard's own.
Each shard therefore keeps its own ``VideoDirectory`` and ``refresh`` reads every partition from
where it stopped to the current end, keeping only catalog events. A shard refreshes at start and
then only when it meets a video it does not know (rate limited), so in steady state it reads
nothing extra; the cost of reading other partitions is paid once per new video burst. A cluster
with many shards would rather inject a source backed by a shared catalog/embedding store (same
port, another factory in ``ShardConfig.embeddings``).
"""

from __future__ import annotations

from events.log import EventLog

from .embeddings import ContentEncoder, VideoDirectory, VideoEmbeddings
from .user_state import StateParams, VideoInfo

__all__ = ["LogContentEmbeddings", "content_embeddings"]


class LogContentEmbeddings:
    """``VideoEmbeddings`` folded from the log's ``VideoDetailsSubmitted``/``VideoPublished`` events."""

    def __init__(self, log: EventLog, *, dim: int, seed: int = 0, batch: int = 5_000) -> None:
        self._log = log
        self._batch = batch
        self.directory = VideoDirectory(ContentEncoder(dim, seed=seed))
        self._pos = dict.fromkeys(range(log.partitions), 0)

    def get(self, video_id: str) -> VideoInfo | None:
        return self.directory.videos.get(video_id)

    def __len__(self) -> int:
        return len(self.directory)

    async def refresh(self) -> int:
        learned = 0
        observe = self.directory.observe
        for info in await self._log.partition_info():
            pos = max(self._pos.get(info.partition, 0), info.start)
            while pos < info.end:
                records = await self._log.read(info.partition, pos, self._batch)
                if not records:
                    break
                for r in records:
                    learned += observe(r.event)
                pos = records[-1].offset + 1
            self._pos[info.partition] = pos
        return learned

    async def close(self) -> None:
        return None


def content_embeddings(log: EventLog, params: StateParams) -> VideoEmbeddings:
    """Factory named by ``ShardConfig.embeddings`` (``module:function(log, params)``)."""
    return LogContentEmbeddings(log, dim=params.dim)
