"""`reel log`: tail, stat, export, import and verify the event log from a shell.

Thin click shells: parsing and printing live here, the logic in ``events.tail``, ``events.inspect`` and
``events.jsonl`` (each tested on its own). Commands that only read open a file log ``readonly`` so
they work beside a running writer. Log errors end the command with one clear line, no traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, BinaryIO, ParamSpec, TypeVar

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from .errors import EventsError, EventValidationError, PartitionCountMismatchError
from .inspect import LogStat, PartitionScan, log_stat, verify_log
from .jsonl import Reject, export_events, import_events
from .log import EventLog, open_log
from .schema import EVENT_TYPES
from .tail import RecordFilter, follow, format_record, last_records, read_from, record_json

__all__ = ["log"]

P = ParamSpec("P")
T = TypeVar("T")

EXIT_DAMAGE = 1  # verify found damage; log errors
EXIT_INVALID = 2  # invalid input (bad event, bad settings)
EXIT_INTERRUPTED = 130


class CommandError(click.ClickException):
    """One clear line on stderr (``Error: ...``) and exit code 1."""


class InvalidInputError(CommandError):
    """Invalid input (a bad event, bad settings): exit code 2."""

    exit_code = EXIT_INVALID


# ------------------------------------------------------------------------------------- plumbing


def _settings() -> Any:
    from reelstack.settings import SettingsError, load_settings

    try:
        return load_settings()
    except SettingsError as exc:
        raise InvalidInputError(str(exc)) from exc


def _run(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro``; events errors become one line and an exit code instead of a traceback."""
    try:
        return asyncio.run(coro)
    except EventValidationError as exc:
        raise InvalidInputError(str(exc)) from exc
    except EventsError as exc:
        raise CommandError(str(exc)) from exc


async def _open(url: str | None, partitions: int | None, *, readonly: bool) -> EventLog:
    """Open the log at ``url`` (default ``REEL_LOG_URL``); read-only commands adopt the log's count."""
    if url is None or partitions is None:
        settings = _settings()
        url = url or settings.log_url
        count = partitions if partitions is not None else settings.log_partitions
    else:
        count = partitions
    options: dict[str, object] = {"partitions": count}
    if readonly and url.startswith("file://"):
        options["readonly"] = True
    try:
        return await open_log(url, **options)
    except PartitionCountMismatchError as exc:
        if partitions is not None:
            raise
        options["partitions"] = exc.existing
        return await open_log(url, **options)


@contextlib.asynccontextmanager
async def _opened(url: str | None, partitions: int | None, *, readonly: bool) -> Any:
    log_ = await _open(url, partitions, readonly=readonly)
    try:
        yield log_
    finally:
        await log_.close()


def _err_console() -> Console:
    return Console(stderr=True)


@contextlib.contextmanager
def _progress(description: str, *, unit: str = "records") -> Iterator[tuple[Callable[[int], None],
                                                                           Callable[[int], None]]]:
    """A rich progress bar on stderr (hidden when stderr is not a terminal): yields (advance, set_total)."""
    console = _err_console()
    columns: list[Any] = [TextColumn("[bold]{task.description}"), BarColumn(), TaskProgressColumn()]
    columns += [TransferSpeedColumn()] if unit == "bytes" else [MofNCompleteColumn()]
    columns.append(TimeRemainingColumn())
    with Progress(*columns, console=console, transient=True, disable=not console.is_terminal) as bar:
        task = bar.add_task(description, total=None)
        yield (lambda n: bar.advance(task, n)), (lambda total: bar.update(task, total=total))


def _url_options(f: Callable[P, T]) -> Callable[P, T]:
    f = click.option(
        "--partitions",
        type=click.IntRange(min=1),
        default=None,
        help="Partition count (default REEL_LOG_PARTITIONS; an existing log's own count when reading).",
    )(f)
    return click.option(
        "--url", default=None, metavar="URL", help="Log URL: file:///dir or kafka://host:port/topic "
        "(default REEL_LOG_URL, else file://<REEL_DATA_DIR>/log)."
    )(f)


_TYPE = click.Choice(sorted(EVENT_TYPES), case_sensitive=False)


def _canonical_types(types: tuple[str, ...]) -> list[str]:
    by_lower = {name.lower(): name for name in EVENT_TYPES}
    return [by_lower[t.lower()] for t in types]


def _echo_bytes(data: bytes) -> None:
    click.echo(data.decode())


# ----------------------------------------------------------------------------------------- group


@click.group()
def log() -> None:
    """Inspect, export, import and verify the event log."""


# ------------------------------------------------------------------------------------------ tail


@log.command()
@_url_options
@click.option("-f", "--follow", "follow_", is_flag=True, help="Keep printing new events until Ctrl-C.")
@click.option("--type", "types", type=_TYPE, multiple=True, help="Only this event type (repeatable).")
@click.option("--key", default=None, help="Only events with this partition key (user, video or model id).")
@click.option("--partition", type=click.IntRange(min=0), default=None, help="Only this partition.")
@click.option("--from-beginning", is_flag=True, help="Start at each partition's first retained record.")
@click.option("--last", "last", type=click.IntRange(min=0), default=None,
              help="Start with the last N matching events (default 10).")
@click.option("--json", "as_json", is_flag=True, help="JSON Lines: {partition, offset, event}.")
@click.option("--interval", type=click.FloatRange(min=0.01), default=0.25, show_default=True,
              help="Seconds between polls with --follow.")
def tail(
    url: str | None,
    partitions: int | None,
    follow_: bool,
    types: tuple[str, ...],
    key: str | None,
    partition: int | None,
    from_beginning: bool,
    last: int | None,
    as_json: bool,
    interval: float,
) -> None:
    """Print events, one line each: PARTITION:OFFSET TIME TYPE KEY FIELDS.

    Without --from-beginning, the last N (default 10) matching events are printed, ordered by event
    time; --from-beginning prints in partition/offset order.
    """
    if from_beginning and last is not None:
        raise click.UsageError("use either --from-beginning or --last, not both")
    flt = RecordFilter.of(_canonical_types(types), key, partition)

    def emit(records: Any) -> None:
        for rec in records:
            if as_json:
                _echo_bytes(record_json(rec))
            else:
                click.echo(format_record(rec))

    async def main() -> None:
        async with _opened(url, partitions, readonly=True) as log_:
            if partition is not None and partition >= log_.partitions:
                raise click.BadParameter(
                    f"the log has partitions 0..{log_.partitions - 1}", param_hint="--partition"
                )
            chosen = flt.partitions(log_.partitions)
            infos = {i.partition: i for i in await log_.partition_info()}
            ends = {p: infos[p].end for p in chosen}
            if from_beginning:
                positions = {p: infos[p].start for p in chosen}
                while True:
                    batch = await read_from(log_, positions, ends)
                    if not batch:
                        break
                    emit([r for r in batch if flt(r)])
            else:
                emit(await last_records(log_, flt, 10 if last is None else last))
                positions = dict(ends)
            if follow_:
                await follow(log_, positions, flt, emit, interval_s=interval)

    try:
        _run(main())
    except KeyboardInterrupt:
        if not follow_:
            raise click.exceptions.Exit(EXIT_INTERRUPTED) from None


# ------------------------------------------------------------------------------------------ stat


@log.command()
@_url_options
@click.option("--scan/--no-scan", default=True, show_default=True,
              help="Read every record to count event types (slow on big logs).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
def stat(url: str | None, partitions: int | None, scan: bool, as_json: bool) -> None:
    """Partitions and offsets, consumer groups with lag, and counts by event type."""

    async def main() -> LogStat:
        async with _opened(url, partitions, readonly=True) as log_:
            with _progress("scanning") as (advance, set_total):
                return await log_stat(log_, scan=scan, progress=advance, on_total=set_total)

    result = _run(main())
    if as_json:
        import json

        click.echo(json.dumps(result.to_json(), indent=2))
        return
    _print_stat(result)


def _print_stat(result: LogStat) -> None:
    console = Console()
    parts = Table(title=f"{result.url}", title_justify="left")
    for col in ("partition", "start", "end", "records"):
        parts.add_column(col, justify="right")
    for p in result.partitions:
        parts.add_row(str(p.partition), str(p.start), str(p.end), f"{p.end - p.start:,}")
    parts.add_section()
    parts.add_row("all", "", "", f"{result.total_records:,}")
    console.print(parts)
    if result.groups:
        groups = Table(title="consumer groups", title_justify="left")
        groups.add_column("group")
        groups.add_column("partition", justify="right")
        groups.add_column("committed", justify="right")
        groups.add_column("end", justify="right")
        groups.add_column("lag", justify="right")
        for g in result.groups:
            for p in result.partitions:
                committed = g.committed.get(p.partition)
                groups.add_row(g.group, str(p.partition), "-" if committed is None else str(committed),
                               str(p.end), f"{g.lag[p.partition]:,}")
            groups.add_row(g.group, "all", "", "", f"[bold]{g.total_lag:,}", end_section=True)
        console.print(groups)
    else:
        console.print("consumer groups: none")
    counts = result.type_counts
    if counts is not None:
        types = Table(title="events by type", title_justify="left")
        types.add_column("type")
        types.add_column("count", justify="right")
        for name, n in counts.items():
            types.add_row(name, f"{n:,}")
        console.print(types)
    damaged = [s for s in result.scans or [] if not s.ok]
    for s in damaged:
        console.print(f"[red]partition {s.partition}: damaged at offset {_bad_offset(s)}; "
                      "run `reel log verify` for details[/red]")


def _bad_offset(s: PartitionScan) -> int | None:
    return s.first_bad if s.first_bad is not None else s.unreadable_from


# ---------------------------------------------------------------------------------------- export


@log.command()
@_url_options
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True, path_type=str))
@click.option("--type", "types", type=_TYPE, multiple=True, help="Only this event type (repeatable).")
@click.option("--partition", "only", type=click.IntRange(min=0), multiple=True,
              help="Only this partition (repeatable).")
def export(url: str | None, partitions: int | None, file: str, types: tuple[str, ...],
           only: tuple[int, ...]) -> None:
    """Write events as JSON Lines to FILE (- for stdout), in partition/offset order."""

    async def main(out: BinaryIO) -> int:
        async with _opened(url, partitions, readonly=True) as log_:
            with _progress("exporting") as (advance, set_total):
                return await export_events(log_, out, types=_canonical_types(types) or None,
                                           partitions=list(only) or None, progress=advance,
                                           on_total=set_total)

    if file == "-":
        out = sys.stdout.buffer
        n = _run(main(out))
        out.flush()
    else:
        with open(file, "wb") as fh:
            n = _run(main(fh))
    click.echo(f"exported {n:,} events" + ("" if file == "-" else f" to {file}"), err=True)


# ---------------------------------------------------------------------------------------- import


def rejects_path(source: str) -> Path:
    """Where ``--skip-invalid`` keeps bad lines: ``X.rejected.jsonl`` beside ``X.jsonl`` (or in cwd for -)."""
    if source == "-":
        return Path("stdin.rejected.jsonl")
    path = Path(source)
    stem = path.name[: -len(".jsonl")] if path.name.endswith(".jsonl") else path.name
    return path.with_name(stem + ".rejected.jsonl")


@log.command(name="import")
@_url_options
@click.argument("file", type=click.Path(exists=True, dir_okay=False, allow_dash=True, path_type=str))
@click.option("--batch", type=click.IntRange(min=1), default=1000, show_default=True,
              help="Events per append (each batch is all-or-nothing).")
@click.option("--skip-invalid", is_flag=True,
              help="Report bad lines and keep going; they are appended to FILE.rejected.jsonl.")
@click.option("--rejects", type=click.Path(dir_okay=False, path_type=str), default=None,
              help="Where --skip-invalid writes bad lines (default: beside FILE).")
@click.option("--dry-run", is_flag=True, help="Validate every line, append nothing.")
def import_(url: str | None, partitions: int | None, file: str, batch: int, skip_invalid: bool,
            rejects: str | None, dry_run: bool) -> None:
    """Append the events of a JSON Lines FILE (- for stdin), in batches.

    A bad line stops the import with its line number and field (exit 2); nothing of its batch is
    appended. With --skip-invalid bad lines are reported and saved, and the rest is imported.
    """
    reject_path = Path(rejects) if rejects else rejects_path(file)
    reject_file: BinaryIO | None = None
    rejected_lines: list[int] = []

    def on_reject(rej: Reject) -> None:
        nonlocal reject_file
        if reject_file is None:
            # appended to, never truncated: rejects of an earlier run are not lost
            reject_file = open(reject_path, "ab")  # noqa: SIM115 - closed below
        reject_file.write(rej.raw + b"\n")
        rejected_lines.append(rej.line)
        click.echo(f"line {rej.line}: rejected: {rej.error}", err=True)

    async def load(log_: EventLog | None, source: BinaryIO, size: int | None) -> Any:
        with _progress("validating" if log_ is None else "importing", unit="bytes") as (advance, set_total):
            if size is not None:
                set_total(size)
            return await import_events(log_, source, batch=batch, skip_invalid=skip_invalid,
                                       on_reject=on_reject, progress=advance)

    async def main(source: BinaryIO, size: int | None) -> Any:
        if dry_run:  # validation only: the log is not even opened
            return await load(None, source, size)
        async with _opened(url, partitions, readonly=False) as log_:
            return await load(log_, source, size)

    try:
        if file == "-":
            result = _run(main(sys.stdin.buffer, None))
        else:
            with open(file, "rb") as fh:
                result = _run(main(fh, Path(file).stat().st_size))
    finally:
        if reject_file is not None:
            reject_file.close()
    verb = "validated" if dry_run else "imported"
    click.echo(f"{verb} {result.appended:,} events from {result.lines:,} lines", err=True)
    if result.rejected:
        click.echo(f"rejected {result.rejected:,} lines (appended to {reject_path})", err=True)


# ---------------------------------------------------------------------------------------- verify


@log.command()
@_url_options
@click.option("--partition", "only", type=click.IntRange(min=0), multiple=True,
              help="Only this partition (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def verify(url: str | None, partitions: int | None, only: tuple[int, ...], as_json: bool) -> None:
    """Read every record of every partition and report the first bad offset per partition.

    Exit code 0 when every record reads back intact, 1 when any damage is found.
    """

    async def main() -> tuple[str, list[PartitionScan]]:
        async with _opened(url, partitions, readonly=True) as log_:
            with _progress("verifying") as (advance, set_total):
                scans = await verify_log(log_, partitions=list(only) or None, progress=advance,
                                         on_total=set_total)
            return log_.url, scans

    log_url, scans = _run(main())
    ok = all(s.ok for s in scans)
    if as_json:
        import json

        click.echo(json.dumps({
            "url": log_url,
            "ok": ok,
            "records": sum(s.good for s in scans),
            "damaged_partitions": [s.partition for s in scans if not s.ok],
            "partitions": [s.to_json() for s in scans],
        }, indent=2))
    else:
        _print_verify(log_url, scans)
    if not ok:
        raise click.exceptions.Exit(EXIT_DAMAGE)


def _print_verify(url: str, scans: list[PartitionScan]) -> None:
    console = Console()
    table = Table(title=f"verify {url}", title_justify="left")
    for col in ("partition", "start", "end", "good"):
        table.add_column(col, justify="right")
    table.add_column("bad", justify="right")
    table.add_column("first bad offset", justify="right")
    table.add_column("detail")
    for s in scans:
        bad = _bad_offset(s)
        table.add_row(str(s.partition), str(s.start), str(s.end), f"{s.good:,}", f"{s.bad:,}",
                      "-" if bad is None else f"[red]{bad}", s.detail or "")
    console.print(table)
    damaged = [s for s in scans if not s.ok]
    if damaged:
        console.print(f"[red]damage in {len(damaged)} partition(s): "
                      + ", ".join(f"{s.partition}@{_bad_offset(s)}" for s in damaged)
                      + "; restore those segments from a replica or backup[/red]")
    else:
        console.print(f"[green]ok: {sum(s.good for s in scans):,} records intact[/green]")


# ---------------------------------------------------------------------------------------- replay
#
# `reel log replay --projection NAME` delegates to the projection runner (projections.cli): drop the
# view, fold the log from offset 0, record offsets with the view.


@log.command()
@_url_options
@click.option("--projection", "names", multiple=True, required=True, metavar="NAME",
              help="View to rebuild (repeatable); `all` rebuilds every view.")
@click.option("--store", "store_url", default=None, metavar="URL",
              help="View store (default REEL_VIEW_STORE_URL, else sqlite://<REEL_DATA_DIR>/views.db).")
def replay(url: str | None, partitions: int | None, names: tuple[str, ...], store_url: str | None) -> None:
    """Drop a projection's view and fold the whole log into it again (as `reel projections rebuild`)."""
    from projections.cli import rebuild_views

    del partitions  # the log is opened as a reader with its own partition count
    rebuild_views(url, store_url, [n for n in names if n != "all"], all_="all" in names)
