"""Old logs must keep decoding: every committed fixture of every schema version decodes today."""

from __future__ import annotations

import struct
from pathlib import Path

import msgspec
import pytest

from events import EVENT_TYPES, SCHEMA_VERSION, codec, partition_key
from tests.fixtures.make_fixture import sample_events

FIXTURES = Path(__file__).parents[1] / "fixtures"
VERSIONS = sorted(int(p.stem.removeprefix("events_v")) for p in FIXTURES.glob("events_v*.msgpack"))


def _frames(raw: bytes) -> list[bytes]:
    out, pos = [], 0
    while pos < len(raw):
        (n,) = struct.unpack_from(">I", raw, pos)
        out.append(raw[pos + 4 : pos + 4 + n])
        pos += 4 + n
    return out


def test_a_fixture_exists_for_the_current_schema_version() -> None:
    assert SCHEMA_VERSION in VERSIONS, "run `python -m tests.fixtures.make_fixture` and commit the files"


@pytest.mark.parametrize("version", VERSIONS)
def test_old_msgpack_log_decodes_with_todays_schema(version: int) -> None:
    payloads = _frames((FIXTURES / f"events_v{version}.msgpack").read_bytes())
    types = (FIXTURES / f"events_v{version}.types").read_text().split()
    decoded = [codec.decode(p) for p in payloads]
    assert {type(e).__name__ for e in decoded} == set(types)
    for event in decoded:
        assert partition_key(event)


@pytest.mark.parametrize("version", VERSIONS)
def test_old_json_lines_decode_and_keep_every_field(version: int) -> None:
    lines = (FIXTURES / f"events_v{version}.jsonl").read_bytes().splitlines()
    for line in lines:
        event = codec.decode_json(line)
        old = msgspec.json.decode(line)
        new = msgspec.json.decode(codec.encode_json(event))
        # nothing renamed or removed: every old field is still there with the same value
        assert {k: new[k] for k in old} == old


def test_every_event_type_is_in_the_fixture_of_its_version() -> None:
    types = set((FIXTURES / f"events_v{SCHEMA_VERSION}.types").read_text().split())
    assert types == set(EVENT_TYPES), "new event types need a new fixture (bump SCHEMA_VERSION)"


def test_current_samples_round_trip() -> None:
    for event in sample_events():
        assert codec.decode(codec.validate(event)) == event
        assert codec.decode_json(codec.encode_json(event)) == event
