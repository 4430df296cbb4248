"""The ``BlobStore`` port: named immutable byte objects (uploads, HLS files, thumbnails, model artifacts).

Backends are chosen by URL through ``open_blobs``:

- ``file:///dir`` — the embedded default (``blobs.filestore``): one file per key, atomic writes;
- ``s3://BUCKET?endpoint=http://host:port`` — any S3 API (``blobs.s3store``, boto3), multipart for
  large streams.

Contract (tests/contract/test_blob_contract.py runs it against every backend):

- every key passes ``blobs.keys.check_key`` first (``InvalidBlobKeyError`` otherwise), before any IO;
- a write is all or nothing: a reader sees the old object or the new one, never a partial one; a
  stream over ``max_bytes`` raises ``BlobTooLargeError`` and leaves nothing under the key;
- ``put_*`` return the size and SHA-256 of what was stored; ``list(prefix)`` returns sorted keys;
- a missing key raises ``BlobNotFoundError``; backend failures raise ``BlobUnavailableError``.
"""

from __future__ import annotations

import hashlib
import importlib
import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO, Protocol, runtime_checkable

import msgspec

from .errors import BlobTooLargeError, UnsupportedBlobURLError

__all__ = [
    "CHUNK",
    "BlobInfo",
    "BlobStore",
    "BlobStoreBase",
    "BlobWriter",
    "open_blobs",
    "register_blobs",
]

CHUNK = 1024 * 1024


class BlobInfo(msgspec.Struct, frozen=True, kw_only=True):
    """What a write stored: the key, its size in bytes and the hex SHA-256 of its content."""

    key: str
    size: int
    sha256: str


@runtime_checkable
class BlobWriter(Protocol):
    """An open write to one key: nothing is visible under the key until ``commit``."""

    key: str

    @property
    def size(self) -> int:
        """Bytes written so far."""
        ...

    def write(self, data: bytes) -> None:
        """Append ``data``; ``BlobTooLargeError`` (after aborting) when the limit is passed."""
        ...

    def commit(self) -> BlobInfo: ...

    def abort(self) -> None:
        """Drop everything written so far (idempotent; also after a failed ``commit``)."""
        ...


@runtime_checkable
class BlobStore(Protocol):
    url: str

    def writer(
        self, key: str, *, max_bytes: int | None = None, content_type: str | None = None
    ) -> BlobWriter: ...

    def put_stream(
        self,
        key: str,
        chunks: Iterable[bytes],
        *,
        max_bytes: int | None = None,
        content_type: str | None = None,
    ) -> BlobInfo: ...

    def put_bytes(self, key: str, data: bytes, *, content_type: str | None = None) -> BlobInfo: ...

    def put_file(self, key: str, path: str | Path, *, content_type: str | None = None) -> BlobInfo: ...

    def open(self, key: str) -> BinaryIO:
        """A readable binary stream of the object (close it when done)."""
        ...

    def get(self, key: str) -> bytes: ...

    def read_range(self, key: str, start: int, length: int) -> bytes:
        """``length`` bytes from ``start`` (fewer at the end of the object)."""
        ...

    def size(self, key: str) -> int: ...

    def get_to_file(self, key: str, path: str | Path) -> int:
        """Copy the object to a local file; returns its size."""
        ...

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None:
        """Remove the object; a missing key is not an error."""
        ...

    def list(self, prefix: str = "") -> list[str]: ...

    def url_for(self, key: str) -> str:
        """Where a client could fetch the object directly (playback behind a CDN uses ``blobs.playback``)."""
        ...

    def close(self) -> None: ...


class _Limit:
    """Counts bytes and hashes them, raising once ``max_bytes`` is passed (shared by the writers)."""

    def __init__(self, key: str, max_bytes: int | None) -> None:
        self.key = key
        self.max_bytes = max_bytes
        self.size = 0
        self.hash = hashlib.sha256()

    def add(self, data: bytes) -> None:
        self.size += len(data)
        if self.max_bytes is not None and self.size > self.max_bytes:
            raise BlobTooLargeError(key=self.key, max_bytes=self.max_bytes, received=self.size)
        self.hash.update(data)

    def info(self) -> BlobInfo:
        return BlobInfo(key=self.key, size=self.size, sha256=self.hash.hexdigest())


class BlobStoreBase:
    """The operations every backend derives from ``writer`` and ``open`` (backends subclass it)."""

    url: str

    def writer(
        self, key: str, *, max_bytes: int | None = None, content_type: str | None = None
    ) -> BlobWriter:
        raise NotImplementedError

    def open(self, key: str) -> BinaryIO:
        raise NotImplementedError

    def put_stream(
        self,
        key: str,
        chunks: Iterable[bytes],
        *,
        max_bytes: int | None = None,
        content_type: str | None = None,
    ) -> BlobInfo:
        w = self.writer(key, max_bytes=max_bytes, content_type=content_type)
        try:
            for chunk in chunks:
                if chunk:
                    w.write(bytes(chunk))
            return w.commit()
        except BaseException:
            w.abort()
            raise

    def put_bytes(self, key: str, data: bytes, *, content_type: str | None = None) -> BlobInfo:
        return self.put_stream(key, [data], content_type=content_type)

    def put_file(self, key: str, path: str | Path, *, content_type: str | None = None) -> BlobInfo:
        with open(path, "rb") as f:
            return self.put_stream(key, iter(lambda: f.read(CHUNK), b""), content_type=content_type)

    def get(self, key: str) -> bytes:
        with self.open(key) as f:
            return f.read()

    def iter_chunks(self, key: str, chunk: int = CHUNK) -> Iterator[bytes]:
        with self.open(key) as f:
            yield from iter(lambda: f.read(chunk), b"")

    def get_to_file(self, key: str, path: str | Path) -> int:
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        with self.open(key) as src, open(target, "wb") as dst:
            shutil.copyfileobj(src, dst, CHUNK)
            return dst.tell()

    def close(self) -> None:
        return None


_BACKENDS: dict[str, str] = {
    "file": "blobs.filestore:open_file_blobs",
    "s3": "blobs.s3store:open_s3_blobs",
}


def register_blobs(scheme: str, target: str) -> None:
    """Register ``module:function`` as the opener of ``scheme://`` URLs."""
    _BACKENDS[scheme] = target


def open_blobs(url: str, **options: Any) -> BlobStore:
    """Open the blob store at ``url`` (``file:///dir`` or ``s3://bucket?endpoint=...``)."""
    scheme, sep, _ = url.partition("://")
    if not sep or scheme not in _BACKENDS:
        raise UnsupportedBlobURLError(url=url)
    module_name, _, func = _BACKENDS[scheme].partition(":")
    opener = getattr(importlib.import_module(module_name), func)
    store: BlobStore = opener(url, **options)
    return store
