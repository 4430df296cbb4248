"""The codec rejects bad events with a typed error naming the field, and round-trips good ones."""

from __future__ import annotations

import pytest

from events import EventValidationError, Liked, ViewEnded, codec, new_event_id, partition_for, partition_key
from events.ids import uuid7


def _view(**kw: object) -> ViewEnded:
    args: dict[str, object] = dict(event_id=new_event_id(), ts=1, user_id="u", video_id="v",
                                   watch_ms=10, duration_ms=100)
    args.update(kw)
    return ViewEnded(**args)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"watch_ms": -1}, "$.watch_ms"),
        ({"duration_ms": 0}, "$.duration_ms"),
        ({"user_id": ""}, "$.user_id"),
        ({"ts": -5}, "$.ts"),
        ({"video_id": 7}, "$.video_id"),
    ],
)
def test_validate_names_the_bad_field(kw: dict[str, object], field: str) -> None:
    with pytest.raises(EventValidationError) as info:
        codec.validate(_view(**kw))
    assert info.value.field == field
    assert info.value.event_type == "ViewEnded"
    assert field in str(info.value)


def test_decode_json_names_type_and_field() -> None:
    with pytest.raises(EventValidationError) as info:
        codec.decode_json(b'{"type":"Liked","event_id":"a","ts":1,"user_id":5,"video_id":"v"}')
    assert info.value.field == "$.user_id"
    assert info.value.event_type == "Liked"


def test_unknown_type_and_garbage_are_rejected() -> None:
    with pytest.raises(EventValidationError):
        codec.decode_json(b'{"type":"Nope","event_id":"a","ts":1}')
    with pytest.raises(EventValidationError):
        codec.decode(b"\xff\x00garbage")


def test_json_lines_errors_carry_the_line_number() -> None:
    good = codec.encode_json(_view())
    with pytest.raises(EventValidationError) as info:
        list(codec.decode_json_lines([good, b"", b'{"type":"Liked"}']))
    assert info.value.field.startswith("line 3")


def test_round_trip_and_partition_key() -> None:
    event = Liked(event_id=new_event_id(), ts=5, user_id="alice", video_id="v9")
    assert codec.decode(codec.encode(event)) == event
    assert partition_key(event) == "alice"
    assert partition_for("alice", 8) == partition_for("alice", 8)
    assert {partition_for(f"u{i}", 8) for i in range(200)} == set(range(8))


def test_uuid7_is_time_ordered_and_versioned() -> None:
    a, b = uuid7(1000), uuid7(2000)
    assert a.version == 7 and b.version == 7
    assert str(a) < str(b)


def test_new_event_ids_are_canonical_time_ordered_uuid7_strings() -> None:
    import time
    import uuid

    from events.ids import new_event_id

    before = time.time_ns() // 1_000_000
    ids = [new_event_id() for _ in range(2_000)]
    after = time.time_ns() // 1_000_000
    assert len(set(ids)) == len(ids)
    for s in ids[:50]:
        u = uuid.UUID(s)
        assert str(u) == s and u.version == 7 and u.variant == uuid.RFC_4122
        assert before <= u.int >> 80 <= after
    ms = [uuid.UUID(s).int >> 80 for s in ids]
    assert ms == sorted(ms)


def test_a_batch_of_event_ids_is_as_valid_as_one_at_a_time() -> None:
    import time
    import uuid

    from events.ids import new_event_ids

    before = time.time_ns() // 1_000_000
    ids = [i for _ in range(200) for i in new_event_ids(11)]
    after = time.time_ns() // 1_000_000
    assert len(ids) == 2_200 and len(set(ids)) == len(ids)
    for s in ids:
        u = uuid.UUID(s)
        assert str(u) == s and u.version == 7 and u.variant == uuid.RFC_4122
        assert before <= u.int >> 80 <= after
    assert {s[19] for s in ids} == set("89ab")  # the variant's digit carries two random bits
    assert all(len({s[k] for s in ids}) == 16 for k in (15, 16, 17, 20, 35))  # rand_a and rand_b: random hex
    assert new_event_ids(0) == []
