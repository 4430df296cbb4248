"""Errors only the file backend raises (the shared ones live in ``events.errors``)."""

from __future__ import annotations

from ..errors import LogError

__all__ = ["LogNotFoundError", "LogReadOnlyError", "LogWriteError"]


class LogNotFoundError(LogError):
    """A read-only open of a directory that holds no file log."""

    def __init__(self, *, path: str) -> None:
        self.path = path
        super().__init__(
            f"no event log at {path} (no meta.json); check the URL, or open it for writing once to create it"
        )


class LogReadOnlyError(LogError):
    """An append to a log opened with ``readonly=True``."""

    def __init__(self, *, url: str) -> None:
        self.url = url
        super().__init__(
            f"the event log {url} was opened read-only; append through the process that holds the write lock"
        )


class LogWriteError(LogError):
    """Writing or fsyncing the log failed; the log refuses further appends until it is reopened."""

    def __init__(self, *, path: str, detail: str) -> None:
        self.path = path
        self.detail = detail
        super().__init__(
            f"writing the event log at {path} failed: {detail}; appends that raised this were not "
            "acknowledged; fix the disk (space, permissions) and reopen the log, which recovers its tail"
        )
