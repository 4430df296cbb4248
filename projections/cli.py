"""`reel projections`: status of every view, rebuild by replay, and run the runners until Ctrl-C.

Thin click shells over ``projections.admin``. The log and the store default to the settings
(``REEL_LOG_URL``, ``REEL_VIEW_STORE_URL``); the log is opened as a reader (a file log ``readonly``,
beside its writer). Errors end the command with one clear line, no traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import signal
from collections.abc import Callable, Coroutine, Iterator, Sequence
from typing import Any, ParamSpec, TypeVar

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from events import EventLog, EventsError
from reelstack.heap import collect_less_often
from reelstack.logs import configure_logging

from .admin import open_log_for_views, rebuild_view, run_views, view_status
from .base import Projection
from .errors import ProjectionsError
from .registry import PROJECTION_MODULES, all_projections, get_projection
from .runner import DEFAULT_BATCH, rebuild_together
from .store import ViewStore, open_store

__all__ = ["projections", "rebuild_views"]

P = ParamSpec("P")
T = TypeVar("T")


def _run(coro: Coroutine[Any, Any, T]) -> T:
    try:
        return asyncio.run(coro)
    except (ProjectionsError, EventsError) as exc:
        raise click.ClickException(str(exc)) from exc


def _urls(log_url: str | None, store_url: str | None) -> tuple[str, str, int]:
    from reelstack.settings import SettingsError, load_settings

    try:
        settings = load_settings()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from exc
    configure_logging("warning" if settings.log_level == "info" else settings.log_level)
    return log_url or settings.log_url, store_url or settings.view_store_url, settings.log_partitions


@contextlib.asynccontextmanager
async def _opened(log_url: str | None, store_url: str | None) -> Any:
    log_u, store_u, partitions = _urls(log_url, store_url)
    store = open_store(store_u)
    try:
        log = await open_log_for_views(log_u, partitions)
        try:
            yield log, store
        finally:
            await log.close()
    finally:
        store.close()


def _options(f: Callable[P, T]) -> Callable[P, T]:
    f = click.option("--store", "store_url", default=None, metavar="URL",
                     help="View store: sqlite:///path, redis://host:port[/db] or memory:// "
                          "(default REEL_VIEW_STORE_URL, else sqlite://<REEL_DATA_DIR>/views.db).")(f)
    return click.option("--log-url", default=None, metavar="URL",
                        help="Event log: file:///dir or kafka://host:port[/topic] (default REEL_LOG_URL).")(f)


def _pick(names: Sequence[str], all_: bool) -> list[Projection]:
    if all_ or not names:
        return all_projections()
    try:
        return [get_projection(n) for n in names]
    except KeyError as exc:
        raise click.BadParameter(str(exc.args[0]), param_hint="NAME") from None


def _time(us: int | None) -> str:
    if not us:
        return "-"
    return dt.datetime.fromtimestamp(us / 1e6, tz=dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


@contextlib.contextmanager
def _bar() -> Iterator[Callable[[str, int], Callable[[int], None]]]:
    console = Console(stderr=True)
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeRemainingColumn())
    with Progress(*columns, console=console, disable=not console.is_terminal) as bar:

        def task(name: str, total: int) -> Callable[[int], None]:
            tid = bar.add_task(name, total=total)
            return lambda n: bar.advance(tid, n)

        yield task


@click.group(name="projections")
def projections() -> None:
    """Read models folded from the log: status, rebuild, run."""


@projections.command()
@_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def status(log_url: str | None, store_url: str | None, as_json: bool) -> None:
    """Each view: projection version (code vs stored), offsets, lag, events folded, last event time."""

    async def main() -> list[Any]:
        async with _opened(log_url, store_url) as (log, store):
            return await view_status(log, store, all_projections())

    rows = _run(main())
    if as_json:
        click.echo(json.dumps([r.to_json() for r in rows], indent=2))
        return
    table = Table(title="views", title_justify="left")
    for col in ("view", "version", "state", "events", "lag", "dead", "last event (UTC)", "folded/end"):
        table.add_column(col, justify="left" if col in ("view", "state") else "right", no_wrap=True)
    for r in rows:
        version = f"{r.code_version}" if r.stored_version in (None, r.code_version) else \
            f"{r.code_version} (stored {r.stored_version})"
        offsets = f"{sum(r.offsets.values()):,}/{sum(r.ends.values()):,}"
        table.add_row(r.name, version, r.state, f"{r.events:,}", f"{r.lag:,}", str(r.dead_lettered),
                      _time(r.last_event_ts), offsets)
    Console().print(table)


async def _rebuild_all(log: EventLog, store: ViewStore, chosen: Sequence[Projection], batch_size: int | None,
                       task: Callable[[str, int], Callable[[int], None]]) -> list[dict[str, object]]:
    infos = await log.partition_info()
    total = sum(i.end - i.start for i in infos)
    if len(chosen) == 1:
        one = await rebuild_view(log, store, chosen[0], progress=task(chosen[0].name, total),
                                 batch_size=batch_size)
        results = {chosen[0].name: one}
    else:  # one pass over the log for all of them
        label = f"{len(chosen)} views" if len(chosen) > 3 else ", ".join(p.name for p in chosen)
        results = await rebuild_together(log, store, chosen, batch_size=batch_size,
                                         progress=task(label, total))
    return [{"view": name, "events": s.events, "dead_lettered": s.dead_lettered,
             "seconds": round(s.seconds, 3)} for name, s in results.items()]


def rebuild_views(log_url: str | None, store_url: str | None, names: Sequence[str], *, all_: bool = False,
                  batch_size: int | None = None) -> None:
    """Drop and replay the named views with a progress bar (``reel projections rebuild``, ``reel log
    replay --projection``)."""
    chosen = _pick(names, all_)
    collect_less_often()

    async def main() -> list[dict[str, object]]:
        async with _opened(log_url, store_url) as (log, store):
            with _bar() as task:
                return await _rebuild_all(log, store, chosen, batch_size, task)

    rows = _run(main())
    for row in rows:
        eps = row["events"] / row["seconds"] if row["seconds"] else 0  # type: ignore[operator]
        line = f"{row['events']:,} events in {row['seconds']} s ({eps:,.0f} events/s)"
        if len(rows) > 1:  # one pass for all: the same figures for each
            if row is rows[0]:
                click.echo(f"rebuilt {len(rows)} views in one pass: {line}")
            click.echo(f"  {row['view']}: {row['dead_lettered']} dead-lettered")
        else:
            click.echo(f"rebuilt {row['view']}: {line}, {row['dead_lettered']} dead-lettered")


_NAME = click.Choice(sorted(PROJECTION_MODULES))


@projections.command()
@_options
@click.argument("names", nargs=-1, type=_NAME)
@click.option("--all", "all_", is_flag=True, help="Rebuild every view.")
@click.option("--batch-size", type=click.IntRange(min=1), default=None,
              help="Events per commit [default: the store's catch-up batch, e.g. 50,000 for SQLite].")
def rebuild(log_url: str | None, store_url: str | None, names: tuple[str, ...], all_: bool,
            batch_size: int | None) -> None:
    """Drop view NAME (or --all) and fold the whole log into it again."""
    if not names and not all_:
        raise click.UsageError("name a view to rebuild, or pass --all")
    rebuild_views(log_url, store_url, names, all_=all_, batch_size=batch_size)


@projections.command()
@_options
@click.argument("names", nargs=-1, type=_NAME)
@click.option("--batch-size", type=click.IntRange(min=1), default=DEFAULT_BATCH, show_default=True,
              help="Events per commit once caught up (more while far behind: the store's catch-up batch).")
@click.option("--until-caught-up", is_flag=True, help="Exit once every view reached the log's end.")
def run(log_url: str | None, store_url: str | None, names: tuple[str, ...], batch_size: int,
        until_caught_up: bool) -> None:
    """Fold new events into the views NAME... (default: all) until Ctrl-C."""
    chosen = _pick(names, False)
    collect_less_often()

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        async with _opened(log_url, store_url) as (log, store):
            click.echo(f"running {', '.join(p.name for p in chosen)} (Ctrl-C stops)", err=True)
            await run_views(log, store, chosen, stop, batch_size=batch_size, until_caught_up=until_caught_up)

    _run(main())
