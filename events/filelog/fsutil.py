"""Durable file primitives: fsync a directory, write a whole buffer, replace a file atomically."""

from __future__ import annotations

import os
import secrets

__all__ = ["atomic_write", "fsync_dir", "read_file", "write_all"]


def fsync_dir(path: str) -> None:
    """Make the directory's entries (created, renamed, deleted files) durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_all(fd: int, data: bytes | bytearray | memoryview) -> None:
    """``os.write`` until every byte is written (a regular file may accept fewer at a time)."""
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def atomic_write(path: str, data: bytes) -> None:
    """Replace ``path`` with ``data``: write a unique temp file, fsync, rename over, fsync the dir.

    Readers (in any process) see the old content or the new one, never a mix; a crash leaves at
    worst a stray ``*.tmp`` file, which is ignored.
    """
    directory = os.path.dirname(path) or "."
    tmp = f"{path}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        write_all(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    fsync_dir(directory)


def read_file(fd: int, start: int, size: int) -> bytes:
    """``size`` bytes of ``fd`` from ``start`` (fewer at the end of the file), in one buffer."""
    chunks = []
    while size > 0:
        chunk = os.pread(fd, min(size, 1 << 26), start)
        if not chunk:
            break
        chunks.append(chunk)
        start += len(chunk)
        size -= len(chunk)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)
