"""The online trainer as a Ray actor: consume interactions from the log, train, publish every few seconds.

A thin shell around ``ml.online.OnlineTrainer`` (all learning logic is there and runs in-process in
tests): ``step`` polls the log's ``trainer`` consumer group, turns likes / shares / completed views
into positives and "not interested" / skips into negatives (creators from the catalog events it
sees), takes one small step per batch, commits the offsets (at most once per ``commit_every_s``, and
on close: each commit of a file log's group rewrites and fsyncs its offsets file, and under load the
trainer steps back to back), and snapshots the parameters once
``publish_every_us`` of wall-clock time has passed *and* something new was learned. Serving reads
the snapshot with ``published``; with an ``appender`` and a ``models_dir`` every snapshot is also
written as an artifact (``ml.registry.save_artifact``, model ``online``) and announced with a
``ModelVersionPublished`` event, so other processes pick it up by event like the batch models.

``start`` runs ``step`` in a loop inside the actor until ``stop``; the actor ``start_online_trainer``
makes starts that loop by itself, also when Ray restarts it after a crash. The model is a function of the
log: a started trainer replays its consumer group from the beginning (``from_start``), so a
restarted platform rebuilds the same parameters instead of forgetting what it learned; the
group's commits still show how far it got. ``start_online_trainer`` starts the named actor.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ray
import structlog

from actors.autostart import AutoStart
from events import Event, ModelVersionPublished, VideoDetailsSubmitted, VideoPublished, new_event_id, now_us, open_log
from ml.online import Labelled, OnlineConfig, OnlineTrainer, labelled_stream

__all__ = ["MODEL", "OnlineTrainerActor", "start_online_trainer"]

#: ``ModelVersionPublished.model`` of the online trainer's snapshots.
MODEL = "online"

log = structlog.get_logger("actors.trainer")


@ray.remote(num_cpus=0, max_restarts=-1, max_task_retries=0)
class OnlineTrainerActor:
    def __init__(self, log_url: str, config: OnlineConfig | None = None, group: str = "trainer", *,
                 log_options: dict[str, Any] | None = None, appender: Any = None,
                 models_dir: str | None = None, keep_artifacts: int = 3, from_start: bool = False,
                 poll_timeout_s: float = 0.5, torch_threads: int = 1, commit_every_s: float = 1.0,
                 clock: Callable[[], float] = time.monotonic, autostart: bool = False) -> None:
        import torch

        torch.set_num_threads(max(1, torch_threads))  # small steps: one thread, leave the cores to serving
        self.log_url = log_url
        self.log_options = dict(log_options or {})
        self.group = group
        self.trainer = OnlineTrainer(config or OnlineConfig())
        self.creators: dict[str, str] = {}
        self.appender = appender
        self.models_dir = models_dir
        self.keep_artifacts = max(1, keep_artifacts)
        self.from_start = from_start
        self.poll_timeout_s = poll_timeout_s
        self.commit_every_s = commit_every_s
        self._clock = clock
        self._uncommitted = False  # records consumed since the group's last commit
        self._committed_at = -float("inf")
        self.counts = {"records": 0, "labelled": 0, "published": 0, "announced": 0}
        self.last_uri = ""
        self.error = ""
        self._seen_at_publish = 0
        self._log: Any = None
        self._consumer: Any = None
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        # ``start_online_trainer`` asks for it: an actor Ray restarts after a crash then trains again by
        # itself (actors.autostart), rebuilding its parameters from the log
        self._autostart = AutoStart(self._start, what="the online trainer") if autostart else None

    async def _open(self) -> None:
        if self._log is None:
            self._log = await open_log(self.log_url, **self.log_options)
            self._consumer = self._log.consumer(self.group)
            if self.from_start:
                self._consumer.seek_to_beginning()

    async def step(self, max_records: int = 1000, timeout_s: float = 0.5) -> dict[str, int]:
        """Consume what arrived, learn from it, maybe publish; returns counters."""
        await self._open()
        records = await self._consumer.poll(max_records=max_records, timeout_s=timeout_s)
        events: list[Event] = [r.event for r in records]
        for e in events:
            if isinstance(e, VideoDetailsSubmitted | VideoPublished):
                self.creators.setdefault(e.video_id, e.creator_id)
        batch = [
            Labelled(x.ts, x.user_id, x.video_id, self.creators.get(x.video_id, x.creator_id), x.label)
            for x in labelled_stream(events)
        ]
        for s in range(0, len(batch), self.trainer.cfg.batch):
            self.trainer.observe(batch[s : s + self.trainer.cfg.batch])
        self._uncommitted |= bool(records)
        await self._commit_group(force=False)
        published = False
        if self.trainer.seen > self._seen_at_publish:  # nothing new learned: nothing to publish
            published = self.trainer.maybe_publish(time.time_ns() // 1000)
            if published:
                self._seen_at_publish = self.trainer.seen
                await self._announce()
        self.counts["records"] += len(records)
        self.counts["labelled"] += len(batch)
        self.counts["published"] += int(published)
        return {
            "records": len(records),
            "labelled": len(batch),
            "version": self.trainer.version,
            "published": int(published),
            "rows": len(self.trainer.model.table),
        }

    async def _commit_group(self, *, force: bool) -> None:
        """Commit the group's offsets if anything was consumed since the last commit, and it is due (or
        ``force``). The commits only show an operator how far the trainer got (it replays from the start),
        so one a second is plenty."""
        now = self._clock()
        if self._uncommitted and self._consumer is not None and (
                force or now - self._committed_at >= self.commit_every_s):
            await self._consumer.commit()
            self._uncommitted = False
            self._committed_at = now

    async def _announce(self) -> None:
        """Write the snapshot as an artifact and append its ``ModelVersionPublished`` (when configured)."""
        if self.appender is None or self.models_dir is None:
            return
        from ml.registry import save_artifact

        payload = {"kind": "online_monolith", "seq": self.trainer.version, **self.published(),
                   "config": dataclasses.asdict(self.trainer.cfg), "interactions": self.trainer.seen}
        version, uri = await asyncio.to_thread(save_artifact, self.models_dir, MODEL, payload)
        metrics = {"seq": float(self.trainer.version), "rows": float(len(payload["rows"])),
                   "interactions": float(self.trainer.seen)}
        await self.appender.append([ModelVersionPublished(event_id=new_event_id(), ts=now_us(), model=MODEL,
                                                          version=version, uri=uri, metrics=metrics)])
        self.last_uri = uri
        self.counts["announced"] += 1
        await asyncio.to_thread(self._prune)

    def _prune(self) -> None:
        """Keep the newest ``keep_artifacts`` snapshots on disk (older events name files that are gone)."""
        assert self.models_dir is not None
        files = sorted((Path(self.models_dir) / MODEL).glob("*.pt"))
        for old in files[: -self.keep_artifacts]:
            with contextlib.suppress(OSError):
                old.unlink()

    def published(self) -> dict[str, Any]:
        """The last published parameters (dense state dict and the sparse table's rows)."""
        m = self.trainer.published
        return {
            "version": self.trainer.version,
            "dense": m.dense.state_dict(),
            "rows": {k: m.table.weights[m.table.row_of(k)].copy() for k in m.table.ids()},
        }

    async def start(self) -> dict[str, Any]:
        """Open the log and keep stepping in the background until ``stop``; returns ``status``."""
        if self._autostart is not None:
            await self._autostart.wait()
        else:
            await self._start()
        return self.status()

    async def _start(self) -> None:
        if self._task is None:
            await self._open()
            self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while not self._stop.is_set():
            pause = 0.0
            try:
                # one look at the log; when nothing came, rest ``poll_timeout_s`` instead of following
                # the log closely (a read-only file log is re-scanned on every follow interval)
                if (await self.step(timeout_s=0.0))["records"] == 0:
                    pause = self.poll_timeout_s
                self.error = ""
            except Exception as exc:  # keep training; the next poll retries from the last commit
                self.error = f"{type(exc).__name__}: {exc}"[:500]
                log.error("online trainer step failed", error=self.error)
                pause = 1.0
            if pause:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), pause)

    def status(self) -> dict[str, Any]:
        """What an operator (or ``reel up``) wants to know: running, version, counts, last artifact."""
        return {
            "running": self._task is not None and not self._task.done(),
            "pid": os.getpid(),  # the actor's process (a new one after Ray restarted it)
            "group": self.group,
            "version": self.trainer.version,
            "interactions": self.trainer.seen,
            "rows": len(self.trainer.model.table),
            "publish_every_s": self.trainer.cfg.publish_every_us / 1e6,
            "last_uri": self.last_uri,
            "error": self.error or (self._autostart.error if self._autostart is not None else None) or "",
            **self.counts,
        }

    async def stop(self) -> None:
        """Finish the current step, stop the loop and close the log."""
        self._stop.set()
        if self._autostart is not None:
            await self._autostart.cancel()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(self._task, 30)
        await self.close()

    async def close(self) -> None:
        closer = getattr(self.appender, "close", None)  # an appender with its own log (Kafka) closes it
        if closer is not None:
            await closer()
        if self._consumer is not None:
            try:
                await self._commit_group(force=True)
            except Exception as exc:  # only the group's progress report is lost: close the log anyway
                log.warning("online trainer's last group commit failed", error=f"{type(exc).__name__}: {exc}")
            consumer, self._consumer = self._consumer, None
            await consumer.close()
        if self._log is not None:
            log_, self._log = self._log, None
            await log_.close()


def start_online_trainer(log_url: str, *, name: str | None = None, namespace: str | None = None,
                         config: OnlineConfig | None = None, log_options: dict[str, Any] | None = None,
                         appender: Any = None, models_dir: str | None = None, group: str = "trainer",
                         from_start: bool = True) -> Any:
    """Start the trainer actor (named ``name``) and its loop; returns the handle once it runs."""
    actor = OnlineTrainerActor.options(name=name, namespace=namespace)  # type: ignore[attr-defined]
    handle = actor.remote(log_url, config, group, log_options=log_options, appender=appender,
                          models_dir=models_dir, from_start=from_start, autostart=True)
    ray.get(handle.start.remote())
    return handle
