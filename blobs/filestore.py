"""``file://DIR``: the embedded blob store — one file per key under DIR, written atomically.

A write goes to ``DIR/.tmp/<random>`` (hashing and counting as it goes), is fsynced, then renamed onto
``DIR/<key>``; readers see the old file or the new one. Keys pass ``check_key`` before any path is
built, and the resolved path is checked to stay inside DIR (defence in depth, e.g. against symlinks).
"""

from __future__ import annotations

import contextlib
import os
import uuid
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import unquote

from .errors import BlobNotFoundError, BlobUnavailableError, InvalidBlobKeyError, UnsupportedBlobURLError
from .keys import check_key, check_prefix
from .store import BlobInfo, BlobStoreBase, BlobWriter, _Limit

__all__ = ["FileBlobStore", "open_file_blobs"]

TMP = ".tmp"


def _dir_of(url: str) -> Path:
    scheme, sep, rest = url.partition("://")
    rest = rest.split("?", 1)[0]
    if scheme != "file" or not sep or not rest:
        raise UnsupportedBlobURLError(url=url)
    return Path(unquote(rest)).expanduser().absolute()


class _FileWriter:
    def __init__(self, store: FileBlobStore, key: str, max_bytes: int | None) -> None:
        self.key = key
        self._store = store
        self._limit = _Limit(key, max_bytes)
        self._tmp = store.root / TMP / f"{uuid.uuid4().hex}.part"
        try:
            self._f: BinaryIO | None = open(self._tmp, "xb")  # noqa: SIM115 - closed in commit/abort
        except OSError as exc:
            raise BlobUnavailableError(url=store.url, operation=f"write {key}", detail=str(exc)) from exc

    @property
    def size(self) -> int:
        return self._limit.size

    def write(self, data: bytes) -> None:
        if self._f is None:
            raise BlobUnavailableError(
                url=self._store.url,
                operation=f"write {self.key}",
                detail="the write was already committed or aborted",
            )
        try:
            self._limit.add(data)
            self._f.write(data)
        except OSError as exc:
            self.abort()
            raise BlobUnavailableError(
                url=self._store.url, operation=f"write {self.key}", detail=str(exc)
            ) from exc
        except BaseException:
            self.abort()
            raise

    def commit(self) -> BlobInfo:
        if self._f is None:
            raise BlobUnavailableError(
                url=self._store.url,
                operation=f"commit {self.key}",
                detail="the write was already committed or aborted",
            )
        target = self._store.path_of(self.key)
        try:
            self._f.flush()
            os.fsync(self._f.fileno())
            self._f.close()
            self._f = None
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(self._tmp, target)
        except OSError as exc:
            self.abort()
            raise BlobUnavailableError(
                url=self._store.url, operation=f"commit {self.key}", detail=str(exc)
            ) from exc
        return self._limit.info()

    def abort(self) -> None:
        if self._f is not None:
            with contextlib.suppress(OSError):
                self._f.close()
            self._f = None
        with contextlib.suppress(OSError):
            self._tmp.unlink(missing_ok=True)


class FileBlobStore(BlobStoreBase):
    """Blobs as files under ``root``; see the module docstring."""

    def __init__(self, url: str, *, create: bool = True) -> None:
        self.url = url
        self.root = _dir_of(url)
        if create:
            (self.root / TMP).mkdir(parents=True, exist_ok=True)
        elif not self.root.is_dir():
            raise BlobUnavailableError(url=url, operation="open", detail=f"{self.root} is not a directory")
        (self.root / TMP).mkdir(exist_ok=True)
        self._real_root = os.path.realpath(self.root)

    def path_of(self, key: str) -> Path:
        """The file of a (validated) key; never outside ``root``."""
        path = self.root / check_key(key)
        real = os.path.realpath(path)
        if not real.startswith(self._real_root + os.sep):
            raise InvalidBlobKeyError(key=key, reason="it resolves outside the blob store")
        return path

    def writer(
        self, key: str, *, max_bytes: int | None = None, content_type: str | None = None
    ) -> BlobWriter:
        self.path_of(key)
        return _FileWriter(self, key, max_bytes)

    def open(self, key: str) -> BinaryIO:
        path = self.path_of(key)
        try:
            return open(path, "rb")
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            raise BlobNotFoundError(key=key, url=self.url) from None
        except OSError as exc:
            raise BlobUnavailableError(url=self.url, operation=f"read {key}", detail=str(exc)) from exc

    def read_range(self, key: str, start: int, length: int) -> bytes:
        if start < 0 or length < 0:
            raise ValueError("start and length must not be negative")
        with self.open(key) as f:
            f.seek(start)
            return f.read(length)

    def size(self, key: str) -> int:
        path = self.path_of(key)
        try:
            if not path.is_file():
                raise BlobNotFoundError(key=key, url=self.url)
            return path.stat().st_size
        except OSError as exc:
            raise BlobUnavailableError(url=self.url, operation=f"stat {key}", detail=str(exc)) from exc

    def exists(self, key: str) -> bool:
        return self.path_of(key).is_file()

    def delete(self, key: str) -> None:
        path = self.path_of(key)
        try:
            path.unlink(missing_ok=True)
        except IsADirectoryError:
            return
        except OSError as exc:
            raise BlobUnavailableError(url=self.url, operation=f"delete {key}", detail=str(exc)) from exc
        # tidy empty parent directories up to the root (ignore races with concurrent writers)
        parent = path.parent
        while parent != self.root:
            try:
                parent.rmdir()
            except OSError:
                break
            parent = parent.parent

    def list(self, prefix: str = "") -> list[str]:
        check_prefix(prefix)
        base = prefix.rsplit("/", 1)[0] if "/" in prefix else ""
        start = self.root / base if base else self.root
        out: list[str] = []
        if not start.is_dir():
            return out
        for dirpath, dirnames, filenames in os.walk(start):
            rel_dir = os.path.relpath(dirpath, self.root)
            if rel_dir == ".":
                dirnames[:] = [d for d in dirnames if d != TMP]
                rel_dir = ""
            for name in filenames:
                key = f"{rel_dir}/{name}" if rel_dir else name
                if key.startswith(prefix):
                    out.append(key)
        return sorted(out)

    def url_for(self, key: str) -> str:
        return self.path_of(key).as_uri()


def open_file_blobs(url: str, **options: Any) -> FileBlobStore:
    return FileBlobStore(url, **options)
