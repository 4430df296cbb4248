"""``memory://``: views held in dicts of one process, for tests and one-off replays (nothing persists)."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping

from ..errors import CheckpointConflictError
from ..store import Checkpoint, prefix_end

__all__ = ["MemoryStore", "open_memory_store"]


class MemoryStore:
    """A ``ViewStore`` in dicts; a lock makes each ``commit`` atomic for threads of this process."""

    catchup_batch = 50_000
    remote = False

    def __init__(self, url: str = "memory://") -> None:
        self.url = url
        self._data: dict[str, dict[str, bytes]] = {}
        self._checkpoints: dict[str, Checkpoint] = {}
        self._lock = threading.Lock()

    def get_many(self, view: str, keys: Iterable[str]) -> dict[str, bytes]:
        data = self._data.get(view)
        if not data:
            return {}
        with self._lock:
            return {k: v for k in keys if (v := data.get(k)) is not None}

    def scan(
        self, view: str, prefix: str = "", *, limit: int | None = None, start_after: str | None = None
    ) -> list[tuple[str, bytes]]:
        with self._lock:
            data = dict(self._data.get(view, {}))
        end = prefix_end(prefix)
        low = prefix if start_after is None or start_after < prefix else start_after
        after = start_after
        keys = sorted(
            k for k in data if low <= k and (end is None or k < end) and (after is None or k > after)
        )
        if limit is not None:
            keys = keys[:limit]
        return [(k, data[k]) for k in keys]

    def checkpoint(self, view: str) -> Checkpoint | None:
        return self._checkpoints.get(view)

    def commit(
        self, view: str, puts: Mapping[str, bytes], deletes: Iterable[str], checkpoint: Checkpoint
    ) -> None:
        deletes = list(deletes)
        with self._lock:
            stored = self._checkpoints.get(view)
            found = 0 if stored is None else stored.seq
            if checkpoint.seq != found + 1:
                raise CheckpointConflictError(view=view, expected_seq=checkpoint.seq - 1, found_seq=found)
            data = self._data.setdefault(view, {})
            data.update(puts)
            for key in deletes:
                data.pop(key, None)
            self._checkpoints[view] = checkpoint

    def drop(self, view: str) -> None:
        with self._lock:
            self._data.pop(view, None)
            self._checkpoints.pop(view, None)

    def views(self) -> list[str]:
        return sorted(self._checkpoints)

    def close(self) -> None:
        pass


def open_memory_store(url: str) -> MemoryStore:
    return MemoryStore(url)
