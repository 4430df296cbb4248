"""Build the feed for one ingress replica from the settings (what ``serve.ingress`` calls), and the
ranking deployment's application (what ``serve.app`` binds).

The replica's catalogue starts from the newest disk snapshot under ``<data_dir>/feed-catalogue``
(if any), catches up with the log before the first page, then tails it every 50 ms. After a
catch-up that read more than ``SNAPSHOT_AFTER`` records a new snapshot is written (a fresh
directory, then an atomic ``CURRENT`` pointer swap), so the next replica starts where this one is.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path
from typing import Any

import structlog

from actors.errors import ShardUnavailableError
from actors.state_batch import BatchedStates
from actors.view import UserView
from events.batching import BatchingAppender
from events.log import EventLog, open_log
from projections import features as fs
from projections import trending as tr
from projections.store import ViewStore, reader
from reelstack.heap import freeze_long_lived
from reelstack.settings import Settings

from .catalogue import Catalogue
from .config import FeedConfig
from .service import FeedService
from .tail import CatalogueTail
from .views import ViewFeatures, ViewTrending

__all__ = ["SNAPSHOT_AFTER", "NoShards", "build_feed_service", "feed_config", "log_options", "ranking_app",
           "ranking_in_process"]

SNAPSHOT_AFTER = 50_000
log = structlog.get_logger("serve.feed.wiring")


class NoShards:
    """``UserStates`` when no shard actors run: every page takes the non-personalised fallback."""

    async def get_state(self, user_id: str, *, timeout_s: float | None = None) -> UserView:
        raise ShardUnavailableError(shard=-1, detail="no user shards are running (start them with reel up)")


def log_options(settings: Settings) -> dict[str, Any]:
    """How a reader process opens the log: a ``file://`` log read-only (the writer owns it)."""
    if settings.log_url.startswith("file://"):
        return {"readonly": True, "partitions": None}
    return {"partitions": settings.log_partitions}


class _LiveCatalogue:
    """The startup hook: restore the snapshot, catch up, snapshot if far behind, then tail."""

    def __init__(self, settings: Settings, catalogue: Catalogue, directory: Path) -> None:
        self.settings = settings
        self.catalogue = catalogue
        self.directory = directory
        self.tail: CatalogueTail | None = None

    async def __call__(self) -> None:
        log_: EventLog = await open_log(self.settings.log_url, **log_options(self.settings))
        current = self.directory / "CURRENT"
        tail = None
        if current.exists():
            try:
                tail = CatalogueTail.restore(log_, self.directory / current.read_text().strip())
            except (OSError, ValueError, KeyError, EOFError) as exc:
                log.warning("catalogue snapshot unreadable: rebuilding from the log", error=str(exc))
        if tail is None:
            tail = CatalogueTail(log_, self.catalogue)
        else:  # the service holds self.catalogue: move the restored state into it
            self.catalogue.__dict__.update(tail.catalogue.__dict__)
            tail.catalogue = self.catalogue
        read = await tail.catch_up()
        if read >= SNAPSHOT_AFTER:
            self._snapshot(tail)
        freeze_long_lived("feed catalogue loaded")  # full collections stop walking the catalogue
        tail.start()
        self.tail = tail
        log.info("feed catalogue ready", videos=len(self.catalogue), records=read)

    def _snapshot(self, tail: CatalogueTail) -> None:
        name = uuid.uuid4().hex
        try:
            tail.snapshot(self.directory / name)
            tmp = self.directory / f"CURRENT.{name}"
            tmp.write_text(name)
            os.replace(tmp, self.directory / "CURRENT")
            for old in self.directory.iterdir():
                if old.is_dir() and old.name != name:
                    shutil.rmtree(old, ignore_errors=True)
        except OSError as exc:  # a snapshot is an optimisation: serving goes on without it
            log.warning("catalogue snapshot failed", error=str(exc))


def feed_config(settings: Settings) -> FeedConfig:
    """``FeedConfig`` from ``REEL_FEED_CONFIG`` (a JSON file of its fields; e.g. wider stage budgets on a
    loaded machine), the cursor key from the settings unless the file names one."""
    import msgspec

    fields: dict[str, Any] = {"cursor_secret": settings.auth_secret}
    if settings.feed_config:
        fields.update(msgspec.json.decode(Path(settings.feed_config).read_bytes()))
    return msgspec.convert(fields, FeedConfig)


def build_feed_service(settings: Settings, *, store: ViewStore, router: Any | None, ranking: Any | None,
                       appender: Any | None, config: FeedConfig | None = None) -> FeedService:
    """The replica's ``FeedService`` (sync: called from the ingress constructor; the catalogue catches
    up with the log before the first page)."""
    from serve.models import watched_ranker
    from serve.ranking import ServeRanker

    cfg = config or feed_config(settings)
    catalogue = Catalogue()
    live = _LiveCatalogue(settings, catalogue, Path(settings.data_dir).absolute() / "feed-catalogue")
    return FeedService(
        catalogue,
        states=BatchedStates(router) if router is not None else NoShards(),  # one Ray call per shard per turn
        ranker=ServeRanker(ranking) if ranking is not None else watched_ranker(settings.log_url, log_options(settings)),
        trending=ViewTrending(reader(store, tr.PROJECTION)),
        features=ViewFeatures(reader(store, fs.PROJECTION)),
        # pages finishing in one loop turn log their impressions in one append (one Ray call / produce)
        impressions=BatchingAppender(appender) if appender is not None else None,
        config=cfg,
        startup=live,
    )


def ranking_in_process(settings: Settings, cluster_gpus: float) -> bool:
    """Whether the feed ranks inside the ingress (``REEL_RANKING_MODE``: deployment | inprocess | auto)."""
    mode = settings.ranking_mode
    if mode not in ("deployment", "inprocess", "auto"):
        raise ValueError(f"REEL_RANKING_MODE={mode!r}: use deployment, inprocess or auto")
    return mode == "inprocess" or (mode == "auto" and cluster_gpus <= 0)


def ranking_app(settings: Settings, *, cluster_gpus: float = 0.0, num_cpus: float = 0.0) -> Any | None:
    """The ranking deployment bound with the log it watches for ``ModelVersionPublished``; None when
    the settings rank in-process (the ingress then scores with its own ranker, saving a Serve hop)."""
    from serve.ranking import ranking_app as bind

    if ranking_in_process(settings, cluster_gpus):
        return None
    return bind(settings.log_url, log_options(settings), cluster_gpus=cluster_gpus, num_cpus=num_cpus)
