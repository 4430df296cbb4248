"""The event vocabulary and the durable event log: the single source of truth of Reelstack."""

from . import schema as _schema
from .codec import decode, decode_json, encode, encode_json, validate
from .errors import (
    CorruptRecordError,
    EventsError,
    EventValidationError,
    LogError,
    LogLockedError,
)
from .ids import new_event_id, now_us
from .log import Consumer, DeadLetter, EventLog, PartitionInfo, Position, Record, open_log
from .partitioning import partition_for
from .schema import *  # noqa: F403
from .schema import EVENT_TYPES, SCHEMA_VERSION, Event, EventBase, partition_key

__all__ = [
    "EVENT_TYPES",
    "SCHEMA_VERSION",
    "Consumer",
    "CorruptRecordError",
    "DeadLetter",
    "Event",
    "EventBase",
    "EventLog",
    "EventValidationError",
    "EventsError",
    "LogError",
    "LogLockedError",
    "PartitionInfo",
    "Position",
    "Record",
    "decode",
    "decode_json",
    "encode",
    "encode_json",
    "new_event_id",
    "now_us",
    "open_log",
    "partition_for",
    "partition_key",
    "validate",
    *_schema.__all__,
]
