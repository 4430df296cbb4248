"""Errors of the projections package: one root, keyword-only fields, messages that say what to do."""

from __future__ import annotations

from typing import Any

__all__ = [
    "CheckpointConflictError",
    "LogRetentionError",
    "ProjectionOutdatedError",
    "ProjectionsError",
    "StoreError",
    "StoreUnavailableError",
    "UnsupportedStoreURLError",
]


class ProjectionsError(Exception):
    """Root of every error raised by ``projections``."""

    def __reduce__(self) -> tuple[Any, ...]:
        # the fields are keyword-only, so pickling's default (``cls(*args)``) cannot rebuild it: restore
        # the message and fields without __init__ (an error raised in a Ray actor or task reaches the caller)
        return type(self).__new__, (type(self), *self.args), self.__dict__


class StoreError(ProjectionsError):
    """Root of the view stores' errors (driver errors are translated into these)."""


class UnsupportedStoreURLError(StoreError):
    def __init__(self, *, url: str) -> None:
        self.url = url
        super().__init__(
            f"unsupported view store URL {url!r}: use memory://, sqlite:///path/views.db "
            "or redis://host:port[/db] (REEL_VIEW_STORE_URL or --store)"
        )


class StoreUnavailableError(StoreError):
    """The store cannot be reached or opened (server down, path unwritable, database locked too long)."""

    def __init__(self, *, url: str, detail: str, hint: str = "") -> None:
        self.url = url
        self.detail = detail
        self.hint = hint
        advice = hint or "check that the store is running and reachable, then retry"
        super().__init__(f"view store {url} is unavailable: {detail}; {advice}")


class CheckpointConflictError(StoreError):
    """A commit's checkpoint does not follow the stored one: another runner writes the same view."""

    def __init__(self, *, view: str, expected_seq: int, found_seq: int) -> None:
        self.view = view
        self.expected_seq = expected_seq
        self.found_seq = found_seq
        super().__init__(
            f"view {view!r} was changed by someone else (stored commit #{found_seq}, this runner expected "
            f"#{expected_seq}): another runner is writing it, or it was dropped for a rebuild; "
            "run one runner per view and restart this one"
        )


class ProjectionOutdatedError(ProjectionsError):
    """The stored view was folded by another version of the projection."""

    def __init__(self, *, view: str, stored_version: int, code_version: int) -> None:
        self.view = view
        self.stored_version = stored_version
        self.code_version = code_version
        super().__init__(
            f"view {view!r} was built by projection version {stored_version}, the code is version "
            f"{code_version}: run `reel projections rebuild {view}`"
        )


class LogRetentionError(ProjectionsError):
    """The log no longer holds the offsets a view must resume from."""

    def __init__(self, *, view: str, partition: int, offset: int, start: int) -> None:
        self.view = view
        self.partition = partition
        self.offset = offset
        self.start = start
        super().__init__(
            f"view {view!r} resumes partition {partition} at offset {offset}, but the log starts at {start} "
            "(older records were removed by retention): the view cannot be brought up to date exactly; "
            "rebuild it from a log that still holds every event"
        )
