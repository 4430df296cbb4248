"""``FaultyBlobStore``: a real ``BlobStore`` wrapper that fails its first N writes, for chaos drills.

It forwards everything to the wrapped store, except that the first ``fail_writes`` commits (counted
across processes through marker files in ``state_dir``, so Ray workers share the budget) raise
``BlobUnavailableError`` after aborting — exactly what a flaky disk or S3 endpoint looks like to the
pipeline. ``fail_writes=-1`` fails every write (a permanently broken store).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO

from .errors import BlobUnavailableError
from .store import BlobInfo, BlobStore, BlobStoreBase, BlobWriter

__all__ = ["FaultyBlobStore"]


class _FaultyWriter:
    def __init__(self, owner: FaultyBlobStore, inner: BlobWriter) -> None:
        self._owner = owner
        self._inner = inner
        self.key = inner.key

    @property
    def size(self) -> int:
        return self._inner.size

    def write(self, data: bytes) -> None:
        self._inner.write(data)

    def commit(self) -> BlobInfo:
        if self._owner.take_fault():
            self._inner.abort()
            raise BlobUnavailableError(
                url=self._owner.url, operation=f"commit {self.key}", detail="injected fault (FaultyBlobStore)"
            )
        return self._inner.commit()

    def abort(self) -> None:
        self._inner.abort()


class FaultyBlobStore(BlobStoreBase):
    """Wraps ``inner``; see the module docstring."""

    def __init__(self, inner: BlobStore, *, fail_writes: int, state_dir: str | Path) -> None:
        self.inner = inner
        self.url = inner.url
        self.fail_writes = fail_writes
        self.state_dir = Path(state_dir)
        self.state_dir.mkdir(parents=True, exist_ok=True)

    def take_fault(self) -> bool:
        """True (and one fault used up) while the budget lasts; atomic across processes."""
        if self.fail_writes < 0:
            return True
        for i in range(self.fail_writes):
            try:
                fd = os.open(self.state_dir / f"fault-{i}", os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                continue
            os.close(fd)
            return True
        return False

    def faults_used(self) -> int:
        return len(list(self.state_dir.glob("fault-*")))

    def writer(
        self, key: str, *, max_bytes: int | None = None, content_type: str | None = None
    ) -> BlobWriter:
        return _FaultyWriter(self, self.inner.writer(key, max_bytes=max_bytes, content_type=content_type))

    def open(self, key: str) -> BinaryIO:
        return self.inner.open(key)

    def read_range(self, key: str, start: int, length: int) -> bytes:
        return self.inner.read_range(key, start, length)

    def size(self, key: str) -> int:
        return self.inner.size(key)

    def exists(self, key: str) -> bool:
        return self.inner.exists(key)

    def delete(self, key: str) -> None:
        self.inner.delete(key)

    def list(self, prefix: str = "") -> list[str]:
        return self.inner.list(prefix)

    def url_for(self, key: str) -> str:
        return self.inner.url_for(key)

    def close(self) -> None:
        self.inner.close()
