"""The stable key → partition map shared by every log backend and by the user shards."""

from __future__ import annotations

import zlib

__all__ = ["partition_for"]


def partition_for(key: str, partitions: int) -> int:
    """Partition of ``key`` among ``partitions``: stable across processes, machines and releases."""
    return zlib.crc32(key.encode()) % partitions
