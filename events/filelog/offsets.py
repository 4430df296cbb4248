"""Consumer-group offsets on disk: one JSON file per group under DIR/_groups, replaced atomically.

A commit is durable when it returns (temp file, fsync, rename, fsync of the directory). Commits
of one group from several processes are serialised by an ``flock`` on DIR/_groups/.lock and merge
partition by partition, so members owning different partitions never undo each other's progress.
"""

from __future__ import annotations

import fcntl
import json
import os
from urllib.parse import quote, unquote

from ..errors import LogError
from .fsutil import atomic_write, fsync_dir

__all__ = ["OffsetStore"]

_SUFFIX = ".json"


class OffsetStore:
    def __init__(self, directory: str, *, create: bool) -> None:
        self.dir = os.path.join(directory, "_groups")
        if create and not os.path.isdir(self.dir):
            os.makedirs(self.dir, exist_ok=True)
            fsync_dir(directory)

    def _path(self, group: str) -> str:
        if not group or len(group) > 200:
            raise LogError(f"consumer group name must be 1 to 200 characters, got {group!r}")
        return os.path.join(self.dir, quote(group, safe="") + _SUFFIX)

    def committed(self, group: str) -> dict[int, int]:
        try:
            with open(self._path(group), "rb") as f:
                data = json.loads(f.read())
        except FileNotFoundError:
            return {}
        return {int(p): int(o) for p, o in data["offsets"].items()}

    def commit(self, group: str, offsets: dict[int, int]) -> None:
        """Durably merge ``offsets`` (partition → next offset to read) into the group's file."""
        path = self._path(group)
        os.makedirs(self.dir, exist_ok=True)
        fd = os.open(os.path.join(self.dir, ".lock"), os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            merged = self.committed(group)
            merged.update(offsets)
            body = {"group": group, "offsets": {str(p): o for p, o in sorted(merged.items())}}
            atomic_write(path, json.dumps(body, sort_keys=True).encode())
        finally:
            os.close(fd)  # releases the flock

    def groups(self) -> list[str]:
        try:
            names = os.listdir(self.dir)
        except FileNotFoundError:
            return []
        return sorted(unquote(n[: -len(_SUFFIX)]) for n in names if n.endswith(_SUFFIX))
