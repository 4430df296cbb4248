"""The Kafka backend's pure parts: URL parsing, record decoding, dead-letter format, error mapping."""

from __future__ import annotations

import pytest
from aiokafka import errors as kerr

from events import DeadLetter, Liked, encode, new_event_id, now_us
from events.errors import BrokerUnavailableError, CorruptRecordError, LogError, UnsupportedLogURLError
from events.kafka.compat import InitProducerIdRequest_v3, InitProducerIdRequestV3
from events.kafka.wire import (
    DEFAULT_TOPIC,
    decode_dead_letter,
    decode_record,
    encode_dead_letter,
    parse_kafka_url,
    translate,
)


def _liked(n: int = 0) -> Liked:
    return Liked(event_id=new_event_id(), ts=now_us(), user_id=f"u{n}", video_id=f"v{n}")


@pytest.mark.parametrize(
    ("url", "bootstrap", "topic"),
    [
        ("kafka://localhost:9092", "localhost:9092", DEFAULT_TOPIC),
        ("kafka://localhost:9092/", "localhost:9092", DEFAULT_TOPIC),
        ("kafka://a:1,b.example:2/my.topic-1", "a:1,b.example:2", "my.topic-1"),
        ("kafka://[::1]:9092/t", "[::1]:9092", "t"),
    ],
)
def test_parse_kafka_url(url: str, bootstrap: str, topic: str) -> None:
    where = parse_kafka_url(url)
    assert (where.bootstrap, where.topic, where.dlq_topic) == (bootstrap, topic, topic + ".dlq")


@pytest.mark.parametrize(
    "url", ["kafka://", "kafka://host", "kafka://host:port/t", "file:///x", "kafka://h:1/bad topic", "kafka://h:1,/t!"]
)
def test_parse_kafka_url_rejects(url: str) -> None:
    with pytest.raises(UnsupportedLogURLError):
        parse_kafka_url(url)


def test_decode_record_round_trip() -> None:
    event = _liked()
    assert decode_record(3, 7, encode(event)) == event


@pytest.mark.parametrize("value", [None, b"", b"\xff\x00garbage", encode(_liked())[:-3]])
def test_decode_record_never_skips_damage(value: bytes | None) -> None:
    with pytest.raises(CorruptRecordError) as info:
        decode_record(3, 7, value)
    assert (info.value.partition, info.value.offset) == (3, 7)


def test_dead_letter_round_trip() -> None:
    letter = DeadLetter(group="g", partition=2, offset=9, event=_liked(), error="E: x", attempts=3, ts=5)
    assert decode_dead_letter(0, encode_dead_letter(letter), topic="t.dlq") == letter


def test_dead_letter_damage_names_offset() -> None:
    with pytest.raises(CorruptRecordError) as info:
        decode_dead_letter(4, b"\x01\x02", topic="t.dlq")
    assert info.value.offset == 4 and info.value.path == "t.dlq"


def test_translate_maps_connectivity_to_broker_unavailable() -> None:
    err = translate(kerr.KafkaConnectionError("refused"), bootstrap="h:1", doing="appending")
    assert isinstance(err, BrokerUnavailableError)
    assert err.bootstrap == "h:1" and "REEL_LOG_URL" in str(err)
    other = translate(kerr.InvalidTopicError(), bootstrap="h:1", doing="appending")
    assert type(other) is LogError and "appending" in str(other)


def test_init_producer_id_v3_means_new_producer() -> None:
    built = InitProducerIdRequestV3(None, 60000).build(InitProducerIdRequest_v3)
    assert (built.producer_id, built.producer_epoch, built.transactional_id) == (-1, -1, None)
    # the flexible encoding round-trips through aiokafka's own struct codec
    assert InitProducerIdRequest_v3.decode(built.encode()).producer_id == -1
