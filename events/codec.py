"""One reusable encoder/decoder pair per wire format: MessagePack for the log, JSON for people and HTTP.

Decoding is where validation happens (types and ``Meta`` constraints); ``validate`` round-trips an
event built in Python so nothing that would fail to decode can ever be appended.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import msgspec

from .errors import EventValidationError
from .schema import Event, EventBase

__all__ = [
    "decode",
    "decode_json",
    "decode_json_lines",
    "encode",
    "encode_json",
    "to_builtins",
    "validate",
]

_mp_encoder = msgspec.msgpack.Encoder()
_mp_decoder: msgspec.msgpack.Decoder[Event] = msgspec.msgpack.Decoder(Event)
_js_encoder = msgspec.json.Encoder()
_js_decoder: msgspec.json.Decoder[Event] = msgspec.json.Decoder(Event)

_PATH = re.compile(r" - at `(?P<path>[^`]*)`$")
_TAG = re.compile(rb'"type"\s*:\s*"(?P<tag>[A-Za-z]+)"')


def _translate(exc: msgspec.DecodeError, raw: bytes | None = None) -> EventValidationError:
    text = str(exc)
    m = _PATH.search(text)
    path = m.group("path") if m else "$"
    message = text[: m.start()] if m else text
    event_type = None
    if raw is not None:
        t = _TAG.search(raw[:200])
        event_type = t.group("tag").decode() if t else None
    return EventValidationError(field=path, message=message, event_type=event_type)


def encode(event: EventBase) -> bytes:
    """MessagePack bytes of an event (the log's record payload)."""
    return _mp_encoder.encode(event)


def decode(payload: bytes | memoryview) -> Event:
    """Decode and validate one log payload; raises ``EventValidationError`` naming the bad field."""
    try:
        return _mp_decoder.decode(payload)
    except msgspec.DecodeError as exc:
        raise _translate(exc) from exc


def validate(event: EventBase) -> bytes:
    """Check an event built in Python against the schema and return its encoded payload."""
    try:
        payload = _mp_encoder.encode(event)
    except (TypeError, msgspec.EncodeError) as exc:
        raise EventValidationError(field="$", message=str(exc), event_type=type(event).__name__) from exc
    try:
        _mp_decoder.decode(payload)
    except msgspec.DecodeError as exc:
        err = _translate(exc)
        raise EventValidationError(
            field=err.field, message=err.message, event_type=type(event).__name__
        ) from exc
    return payload


def encode_json(event: EventBase) -> bytes:
    return _js_encoder.encode(event)


def decode_json(raw: bytes | str) -> Event:
    data = raw.encode() if isinstance(raw, str) else raw
    try:
        return _js_decoder.decode(data)
    except msgspec.DecodeError as exc:
        raise _translate(exc, data) from exc


def decode_json_lines(lines: Iterable[bytes | str]) -> Iterable[Event]:
    """Decode JSON Lines, skipping blank lines; errors carry the 1-based line number in ``field``."""
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            yield decode_json(line)
        except EventValidationError as exc:
            raise EventValidationError(
                field=f"line {n}: {exc.field}", message=exc.message, event_type=exc.event_type
            ) from exc


def to_builtins(event: EventBase) -> dict[str, object]:
    """Plain dict (with its ``type`` tag) for display and JSON APIs."""
    out = msgspec.to_builtins(event)
    assert isinstance(out, dict)
    return out
