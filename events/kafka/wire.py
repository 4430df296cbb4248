"""What the Kafka backend puts on the wire and how broker errors become ``events.errors``.

Pure helpers (no IO): the ``kafka://`` URL, record decoding that never skips damage, the
dead-letter record format, and the translation of aiokafka exceptions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import msgspec
from aiokafka import errors as kerr

from ..codec import decode, encode
from ..errors import (
    BrokerUnavailableError,
    CorruptRecordError,
    EventValidationError,
    LogError,
    UnsupportedLogURLError,
)
from ..log import DeadLetter
from ..schema import Event

__all__ = [
    "DEFAULT_TOPIC",
    "DLQ_SUFFIX",
    "KafkaURL",
    "decode_dead_letter",
    "decode_record",
    "encode_dead_letter",
    "parse_kafka_url",
    "translate",
]

DEFAULT_TOPIC = "reel.events"
DLQ_SUFFIX = ".dlq"

_HOSTPORT = re.compile(r"^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9_.-]+):(\d{1,5})$")
_TOPIC = re.compile(r"^[A-Za-z0-9._-]{1,200}$")


@dataclass(frozen=True, slots=True)
class KafkaURL:
    bootstrap: str  # "host:port[,host:port...]"
    topic: str

    @property
    def dlq_topic(self) -> str:
        return self.topic + DLQ_SUFFIX


def parse_kafka_url(url: str) -> KafkaURL:
    """``kafka://HOST:PORT[,HOST:PORT...][/TOPIC]`` (topic default ``reel.events``)."""
    scheme, sep, rest = url.partition("://")
    if scheme != "kafka" or not sep:
        raise UnsupportedLogURLError(url=url)
    hosts, _, topic = rest.partition("/")
    topic = topic.strip("/") or DEFAULT_TOPIC
    servers = [h.strip() for h in hosts.split(",") if h.strip()]
    if not servers or not all(_HOSTPORT.match(h) for h in servers) or not _TOPIC.match(topic):
        raise UnsupportedLogURLError(url=url)
    return KafkaURL(bootstrap=",".join(servers), topic=topic)


def decode_record(partition: int, offset: int, value: bytes | None) -> Event:
    """The event in a Kafka record's value; anything undecodable is ``CorruptRecordError``."""
    if value is None:
        raise CorruptRecordError(partition=partition, offset=offset, detail="record has no value")
    try:
        return decode(value)
    except EventValidationError as exc:
        raise CorruptRecordError(
            partition=partition, offset=offset, detail=f"undecodable event payload: {exc}"
        ) from exc


class _DeadLetterRecord(msgspec.Struct, frozen=True, kw_only=True):
    group: str
    partition: int
    offset: int
    error: str
    attempts: int
    ts: int
    payload: bytes  # the event, encoded exactly as in the log


_dl_encoder = msgspec.msgpack.Encoder()
_dl_decoder = msgspec.msgpack.Decoder(_DeadLetterRecord)


def encode_dead_letter(letter: DeadLetter) -> bytes:
    return _dl_encoder.encode(
        _DeadLetterRecord(
            group=letter.group,
            partition=letter.partition,
            offset=letter.offset,
            error=letter.error,
            attempts=letter.attempts,
            ts=letter.ts,
            payload=encode(letter.event),
        )
    )


def decode_dead_letter(dlq_offset: int, value: bytes | None, *, topic: str) -> DeadLetter:
    try:
        rec = _dl_decoder.decode(value or b"")
        event = decode(rec.payload)
    except (msgspec.DecodeError, EventValidationError) as exc:
        raise CorruptRecordError(
            partition=0, offset=dlq_offset, detail=f"undecodable dead letter: {exc}", path=topic
        ) from exc
    return DeadLetter(
        group=rec.group,
        partition=rec.partition,
        offset=rec.offset,
        event=event,
        error=rec.error,
        attempts=rec.attempts,
        ts=rec.ts,
    )


_UNAVAILABLE = (
    kerr.KafkaConnectionError,
    kerr.KafkaTimeoutError,
    kerr.NodeNotReadyError,
    kerr.RequestTimedOutError,
    kerr.NoBrokersAvailable,
    kerr.LeaderNotAvailableError,
    kerr.NotLeaderForPartitionError,
    kerr.CoordinatorNotAvailableError,
    kerr.NotEnoughReplicasError,
    kerr.NotEnoughReplicasAfterAppendError,
    ConnectionError,
    TimeoutError,
)


def translate(exc: BaseException, *, bootstrap: str, doing: str) -> LogError:
    """Our error for an aiokafka (or socket) failure while ``doing`` something."""
    if isinstance(exc, LogError):
        return exc
    if isinstance(exc, _UNAVAILABLE):
        return BrokerUnavailableError(bootstrap=bootstrap, detail=f"{doing}: {type(exc).__name__}: {exc}")
    return LogError(f"Kafka at {bootstrap} failed while {doing}: {type(exc).__name__}: {exc}")
