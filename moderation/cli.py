"""`reel moderation`: operators' view of moderation — the backlog waiting for a decision and the review queue.

``backlog`` reads the ``catalog`` and ``moderation`` views from the view store (kept current by
``reel projections run``), or with ``--replay`` folds them from the log in memory first.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from typing import Any

import click
import msgspec
from rich.console import Console
from rich.table import Table

__all__ = ["moderation"]


@click.group()
def moderation() -> None:
    """Content safety: backlog and review queue."""


async def _load(log_url: str | None, store_url: str | None, replay: bool, limit: int) -> Any:
    from events.ids import now_us
    from projections import catalog
    from projections import moderation as mod
    from projections.admin import open_log_for_views
    from projections.runner import ProjectionRunner
    from projections.store import open_store, reader
    from reelstack.settings import load_settings

    from .backlog import backlog

    settings = load_settings()
    store = open_store("memory://" if replay else (store_url or settings.view_store_url))
    try:
        if replay:
            log = await open_log_for_views(log_url or settings.log_url, settings.log_partitions)
            try:
                for projection in (catalog.PROJECTION, mod.PROJECTION):
                    await ProjectionRunner(log, store, projection).run_until_caught_up()
            finally:
                await log.close()
        return backlog(
            reader(store, catalog.PROJECTION), reader(store, mod.PROJECTION), now_us(), limit=limit
        )
    finally:
        store.close()


@moderation.command(name="backlog")
@click.option("--log", "log_url", default=None, metavar="URL", help="Event log [default: REEL_LOG_URL].")
@click.option("--store", "store_url", default=None, metavar="URL", help="View store [REEL_VIEW_STORE_URL].")
@click.option("--replay", is_flag=True, help="Fold the views from the log in memory instead of the store.")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def backlog_command(
    log_url: str | None, store_url: str | None, replay: bool, limit: int, as_json: bool
) -> None:
    """Videos waiting in moderation (fail closed while scoring is down) and the review queue's age."""
    from events import EventsError
    from projections.errors import ProjectionsError
    from reelstack.logs import configure_logging
    from reelstack.settings import SettingsError

    configure_logging("warning")  # stdout carries the report
    try:
        b = asyncio.run(_load(log_url, store_url, replay, limit))
    except (EventsError, ProjectionsError, SettingsError) as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        click.echo(json.dumps(msgspec.to_builtins(b), indent=2))
        return
    console = Console()
    table = Table(title=f"waiting for an automated decision: {b.waiting_count}", title_justify="left")
    for col in ("video", "status", "since (UTC)", "waiting"):
        table.add_column(col)
    for w in b.waiting:
        since = dt.datetime.fromtimestamp(w.since_us / 1e6, tz=dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
        table.add_row(w.video_id, w.status, since, f"{w.waiting_s:,.0f} s")
    console.print(table)
    state = "[red]SLA BREACHED[/red]" if b.sla_breached else "within SLA"
    console.print(
        f"review queue: {b.review_queue} videos, oldest {b.oldest_review_age_s / 60:,.1f} min "
        f"(SLA {b.review_sla_s / 3600:g} h, {state})"
    )
