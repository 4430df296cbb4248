"""``file://DIR`` checkpoints: a file per name, replaced atomically (temp, fsync, rename, fsync dir)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import secrets

from .errors import CheckpointError, UnsupportedCheckpointURLError

__all__ = ["FileCheckpointStore"]

_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,200}$")


def _write_atomic(path: str, data: bytes) -> None:
    directory = os.path.dirname(path)
    tmp = f"{path}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    dfd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


def _read(path: str) -> bytes | None:
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        return None


class FileCheckpointStore:
    """Checkpoints as ``DIR/<name>.ckpt``; IO runs in a worker thread so the actor keeps serving."""

    def __init__(self, url: str) -> None:
        if not url.startswith("file://") or len(url) <= len("file://"):
            raise UnsupportedCheckpointURLError(url=url)
        self.url = url
        self.root = os.path.abspath(url[len("file://"):])
        os.makedirs(self.root, exist_ok=True)

    def _path(self, name: str) -> str:
        if not _NAME.match(name):
            raise CheckpointError(f"bad checkpoint name {name!r}: use letters, digits, '.', '_' and '-'")
        return os.path.join(self.root, name + ".ckpt")

    async def save(self, name: str, data: bytes) -> None:
        await asyncio.to_thread(_write_atomic, self._path(name), data)

    async def load(self, name: str) -> bytes | None:
        return await asyncio.to_thread(_read, self._path(name))

    async def delete(self, name: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._path(name))
