"""The single-writer lock of a file log: ``flock`` on DIR/LOCK, which records the holder's pid."""

from __future__ import annotations

import fcntl
import os
import socket

from ..errors import LogLockedError

__all__ = ["WriterLock"]


class WriterLock:
    """An exclusive, non-blocking ``flock``; the kernel drops it when the holder dies (even SIGKILL).

    Two opens in one process conflict too (each open file description is its own lock owner).
    """

    def __init__(self, directory: str) -> None:
        self.path = os.path.join(directory, "LOCK")
        self._fd: int | None = None

    def acquire(self) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or None
            os.close(fd)
            raise LogLockedError(path=os.path.dirname(self.path), holder=holder) from None
        except BaseException:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    @property
    def held(self) -> bool:
        return self._fd is not None
