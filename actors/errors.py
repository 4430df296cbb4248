"""Errors of the actors package: one root, keyword-only structured fields, messages that say what to do."""

from __future__ import annotations

from typing import Any

__all__ = [
    "ActorsError",
    "CheckpointError",
    "CheckpointMismatchError",
    "ShardUnavailableError",
    "UnsupportedCheckpointURLError",
]


class ActorsError(Exception):
    """Root of every error raised by ``actors``."""

    def __reduce__(self) -> tuple[Any, ...]:
        # the fields are keyword-only, so pickling's default (``cls(*args)``) cannot rebuild it: restore
        # the message and fields without __init__ (an error raised in a Ray actor or task reaches the caller)
        return type(self).__new__, (type(self), *self.args), self.__dict__


class CheckpointError(ActorsError):
    """Root of the checkpoint store's errors."""


class UnsupportedCheckpointURLError(CheckpointError):
    def __init__(self, *, url: str) -> None:
        self.url = url
        super().__init__(f"unsupported checkpoint URL {url!r}: use file:///path/to/dir")


class CheckpointMismatchError(CheckpointError):
    """A checkpoint was written by a shard with another layout (shard count, partitions, params)."""

    def __init__(self, *, name: str, field: str, found: object, expected: object) -> None:
        self.name = name
        self.field = field
        self.found = found
        self.expected = expected
        super().__init__(
            f"checkpoint {name!r} has {field}={found!r} but this shard runs with {field}={expected!r}; "
            "start the shards with the checkpoint's layout, or point them at an empty checkpoint "
            "directory to rebuild their state by replaying the whole log"
        )


class ShardUnavailableError(ActorsError):
    def __init__(self, *, shard: int, detail: str) -> None:
        self.shard = shard
        self.detail = detail
        super().__init__(
            f"user shard {shard} did not answer ({detail}); it may be restarting from its checkpoint: "
            "retry, or serve the feed's non-personalised fallback"
        )
