"""JSON Lines export and import of the log (`reel log export` / `reel log import`), nothing lost.

Export writes one event per line (``events.codec.encode_json``) in partition/offset order. Import
decodes and validates every line and appends in batches: a bad line stops the import with an
``InvalidLineError`` naming the line number and the field, and nothing from that batch is appended
(earlier batches are durable and the error says how many). With ``skip_invalid`` bad lines are
reported through ``on_reject`` together with their raw bytes, so the caller can keep them.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import BinaryIO

from .codec import decode_json, encode_json
from .errors import EventValidationError
from .log import EventLog
from .schema import Event

__all__ = [
    "ImportResult",
    "InvalidLineError",
    "Reject",
    "export_events",
    "import_events",
]

_READ_BATCH = 2000


class InvalidLineError(EventValidationError):
    """Line ``line`` of an import is not a valid event; ``appended`` events before it are in the log."""

    def __init__(
        self,
        *,
        line: int,
        field: str,
        message: str,
        event_type: str | None = None,
        appended: int = 0,
        batch_first_line: int = 1,
    ) -> None:
        super().__init__(field=field, message=message, event_type=event_type)
        self.line = line
        self.appended = appended
        self.batch_first_line = batch_first_line
        what = f" ({event_type})" if event_type else ""
        done = (
            f"{appended} events from lines before {batch_first_line} were already appended; "
            f"fix the line and import the rest with `tail -n +{batch_first_line} FILE | reel log import -`"
            if appended
            else "nothing was appended; fix the line and run the import again"
        )
        Exception.__init__(
            self,
            f"line {line}{what}: field {field!r}: {message}; {done} (or use --skip-invalid)",
        )


@dataclass(frozen=True, slots=True)
class Reject:
    """A line that failed to decode: its 1-based number, the raw bytes and why."""

    line: int
    raw: bytes
    error: EventValidationError


@dataclass(frozen=True, slots=True)
class ImportResult:
    appended: int
    rejected: int
    lines: int


async def export_events(
    log: EventLog,
    out: BinaryIO,
    *,
    types: Collection[str] | None = None,
    partitions: Sequence[int] | None = None,
    progress: Callable[[int], None] | None = None,
    on_total: Callable[[int], None] | None = None,
) -> int:
    """Write the retained events as JSON Lines in partition/offset order; returns how many were written.

    ``progress`` is advanced by records *read* (filtered ones included). A damaged record raises
    ``CorruptRecordError``: an export never leaves a silent hole.
    """
    infos = sorted(await log.partition_info(), key=lambda i: i.partition)
    if partitions is not None:
        wanted = set(partitions)
        infos = [i for i in infos if i.partition in wanted]
    if on_total:
        on_total(sum(i.end - i.start for i in infos))
    wanted_types = frozenset(types) if types else None
    written = 0
    for info in infos:
        off = info.start
        while off < info.end:
            records = await log.read(info.partition, off, max_records=min(_READ_BATCH, info.end - off))
            if not records:
                break
            lines = []
            for rec in records:
                if rec.offset >= info.end:
                    break
                off = rec.offset + 1
                if wanted_types is None or type(rec.event).__name__ in wanted_types:
                    lines.append(encode_json(rec.event))
            if lines:
                out.write(b"\n".join(lines) + b"\n")
                written += len(lines)
            if progress:
                progress(len(records))
    return written


async def import_events(
    log: EventLog | None,
    lines: Iterable[bytes],
    *,
    batch: int = 1000,
    skip_invalid: bool = False,
    on_reject: Callable[[Reject], None] | None = None,
    progress: Callable[[int], None] | None = None,
    dry_run: bool = False,
) -> ImportResult:
    """Decode ``lines`` (JSON Lines, blank lines ignored) and append them in batches of ``batch``.

    ``progress`` is advanced by the byte length of every line consumed. Without ``skip_invalid`` the
    first bad line raises ``InvalidLineError`` before its batch is appended; with it, each bad line
    goes to ``on_reject`` and the import goes on. ``dry_run`` (or no ``log``) validates, appends nothing.
    """
    dry_run = dry_run or log is None
    if batch < 1:
        raise ValueError("batch must be at least 1")
    pending: list[Event] = []
    first_line = 1
    appended = rejected = n = 0
    for n, raw in enumerate(lines, 1):
        if progress:
            progress(len(raw))
        if not pending:
            first_line = n
        if not raw.strip():
            continue
        try:
            pending.append(decode_json(raw))
        except EventValidationError as exc:
            if not skip_invalid:
                raise InvalidLineError(
                    line=n,
                    field=exc.field,
                    message=exc.message,
                    event_type=exc.event_type,
                    appended=appended,
                    batch_first_line=first_line,
                ) from exc
            rejected += 1
            if on_reject:
                on_reject(Reject(line=n, raw=raw.rstrip(b"\r\n"), error=exc))
            continue
        if len(pending) >= batch:
            appended += await _flush(log, pending, first_line, appended, dry_run)
            pending = []
    if pending:
        appended += await _flush(log, pending, first_line, appended, dry_run)
    return ImportResult(appended=appended, rejected=rejected, lines=n)


async def _flush(
    log: EventLog | None, events: list[Event], first_line: int, appended: int, dry_run: bool
) -> int:
    if dry_run or log is None:
        return len(events)
    try:
        await log.append(events)
    except InvalidLineError:
        raise
    except EventValidationError as exc:  # the log's own checks are stricter than decoding: rare
        raise InvalidLineError(
            line=first_line,
            field=f"batch from line {first_line}: {exc.field}",
            message=exc.message,
            event_type=exc.event_type,
            appended=appended,
            batch_first_line=first_line,
        ) from exc
    return len(events)
