"""The started platform runs the online trainer and passes the moderation settings on.

- the trainer actor (``reel-trainer``) runs on the shared platform, learns from interactions posted
  through the API and announces a snapshot that contains them with a ``ModelVersionPublished`` of
  model ``online`` in the log (the test reads the log, it does not time anything);
- the trainer actor on its own, over a file log and Kafka: start -> publish by event -> stop (the
  loop ends, nothing more is announced) -> a restarted trainer relearns everything from the log;
- ``REEL_MODERATION_CONFIG`` (the fixture's file: one replica at most, 25 s timeout) reaches the
  moderation deployment's autoscaling and the pipeline's moderation port and coordinator.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from events import ModelVersionPublished, ViewEnded, open_log
from events.log import read_in_time_order

from .api_client import Api


async def _published(log_url: str, model: str = "online") -> list[ModelVersionPublished]:
    options: dict[str, Any] = {"readonly": True, "partitions": None} if log_url.startswith("file://") else {
        "partitions": None}
    return [e for e in await read_in_time_order(log_url, **options)
            if isinstance(e, ModelVersionPublished) and e.model == model]


def _snapshot_with(log_url: str, row: str, wait_s: float = 120.0) -> tuple[ModelVersionPublished, dict[str, Any]]:
    """The newest announced snapshot whose sparse table has ``row`` (polls the log; fails after ``wait_s``)."""
    from ml.registry import load_artifact

    deadline = time.monotonic() + wait_s
    seen: list[ModelVersionPublished] = []
    while time.monotonic() < deadline:
        seen = asyncio.run(_published(log_url))
        if seen:
            try:
                art = load_artifact(seen[-1].uri)
            except FileNotFoundError:  # pruned between reading the event and loading it: look again
                continue
            if row in art["rows"]:
                return seen[-1], art
        time.sleep(0.5)
    raise AssertionError(f"no ModelVersionPublished(model='online') with row {row!r} within {wait_s} s; "
                         f"announced: {[(e.version, e.metrics) for e in seen]}")


def test_the_platform_runs_the_trainer_and_it_publishes_by_event(api_platform: Any, ray_session: Any) -> None:
    from reelstack.platform import TRAINER_NAME
    from reelstack.up import trainer_summary

    assert api_platform.trainer is not None
    assert ray_session.get_actor(TRAINER_NAME, namespace=api_platform.namespace) is not None
    status = ray_session.get(api_platform.trainer.status.remote())
    assert status["running"] and status["group"] == "trainer" and status["publish_every_s"] == 1.0
    assert trainer_summary(api_platform).startswith("running, consumer group 'trainer'")

    fan = Api(api_platform.base_url).register(name="Online Fan", birth_year=1999)
    completed = [{"type": "view_ended", "video_id": f"trainer-v{i}", "watch_ms": 4000, "duration_ms": 4000,
                  "loops": 0} for i in range(4)]
    skipped = [{"type": "view_ended", "video_id": f"trainer-s{i}", "watch_ms": 200, "duration_ms": 4000,
                "loops": 0} for i in range(4)]
    r = fan.post("/events", json={"events": completed + skipped})
    assert r.status_code == 202, r.text

    event, art = _snapshot_with(api_platform.settings.log_url, f"u:{fan.user_id}")
    assert art["kind"] == "online_monolith" and {f"v:trainer-v{i}" for i in range(4)} <= set(art["rows"])
    assert event.metrics["interactions"] >= 8 and event.metrics["rows"] == len(art["rows"])
    assert Path(event.uri.removeprefix("file://")).parent == Path(api_platform.settings.data_dir) / "models" / "online"
    status = ray_session.get(api_platform.trainer.status.remote())
    assert status["announced"] >= 1 and status["error"] == "" and status["interactions"] >= 8


@dataclass
class TrainerLog:
    url: str
    appender: Any  # what the trainer announces through
    options: dict[str, Any]  # how the trainer opens the log
    append: Callable[[list[Any]], None]  # how the test appends


@pytest.fixture(params=["file", "kafka"])
def trainer_log(request: pytest.FixtureRequest, tmp_path: Path, ray_session: Any) -> Iterator[TrainerLog]:
    """The trainer's log per backend: a file log has one writer (a ``LogWriter`` actor; the trainer
    reads it read-only and announces through the writer), Kafka none (every process appends)."""
    if request.param == "file":
        from pipeline.logwriter import RemoteAppender, start_log_writer

        url = (tmp_path / "log").resolve().as_uri()
        writer = start_log_writer(url, partitions=2)
        ray_session.get(writer.ready.remote())
        yield TrainerLog(url, RemoteAppender(writer), {"readonly": True, "partitions": None},
                         lambda events: ray_session.get(writer.append.remote(events)))
        ray_session.get(writer.close.remote())
        ray_session.kill(writer)
    else:
        from pipeline.logwriter import LazyLogAppender

        url = f"kafka://{request.getfixturevalue('kafka_bootstrap')}/trainer{uuid.uuid4().hex[:10]}"
        yield TrainerLog(url, LazyLogAppender(url, partitions=2), {"partitions": 2},
                         lambda events: asyncio.run(_append(url, events)))


async def _append(url: str, events: list[Any]) -> None:
    log = await open_log(url, partitions=2)
    try:
        await log.append(events)
    finally:
        await log.close()


def test_trainer_actor_starts_publishes_stops_and_replays(trainer_log: TrainerLog, tmp_path: Path,
                                                          ray_session: Any) -> None:
    from actors.trainer import start_online_trainer
    from ml.online import OnlineConfig

    url = trainer_log.url

    def started() -> Any:
        return start_online_trainer(url, config=OnlineConfig(publish_every_us=200_000),
                                    log_options=trainer_log.options, appender=trainer_log.appender,
                                    models_dir=str(tmp_path / "models"))

    trainer = started()
    assert ray_session.get(trainer.status.remote())["running"]
    views = [ViewEnded(event_id=f"e{i}", ts=1_000 + i, user_id=f"u{i % 3}", video_id=f"v{i % 5}",
                       watch_ms=5000 if i % 2 else 100, duration_ms=5000) for i in range(30)]
    trainer_log.append(views)
    event, art = _snapshot_with(url, "u:u2", wait_s=60)
    assert event.metrics["interactions"] == 30 and art["interactions"] == 30
    ray_session.get(trainer.stop.remote(), timeout=60)
    status = ray_session.get(trainer.status.remote())
    assert not status["running"] and status["records"] >= 30
    # nothing new learned: a stopped (or idle) trainer announces nothing more
    assert len(asyncio.run(_published(url))) == status["announced"]
    ray_session.kill(trainer)

    # a restarted trainer rebuilds its parameters from the log (its group replays from the beginning)
    again = started()
    try:
        deadline = time.monotonic() + 60
        while ray_session.get(again.status.remote())["interactions"] < 30 and time.monotonic() < deadline:
            time.sleep(0.2)
        before = ray_session.get(again.status.remote())
        assert before["interactions"] == 30
        # after a crash Ray restarts it, and it trains again without a start call
        ray_session.kill(again, no_restart=False)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(ray_session.exceptions.RayActorError,  # while Ray restarts it
                                     ray_session.exceptions.ActorUnavailableError):
                status = ray_session.get(again.status.remote(), timeout=10)
                if status["pid"] != before["pid"] and status["running"] and status["interactions"] == 30:
                    break
            time.sleep(0.2)
        assert status["pid"] != before["pid"] and status["running"] and status["interactions"] == 30, status
    finally:
        ray_session.get(again.stop.remote(), timeout=60)
        ray_session.kill(again)


def test_moderation_settings_reach_the_deployment_and_the_pipeline(api_platform: Any, ray_session: Any) -> None:
    from ray.serve.context import _get_global_client

    from moderation.config import config_from_settings

    cfg = api_platform.moderation
    assert cfg == config_from_settings(api_platform.settings)
    assert cfg.max_replicas == 1 and cfg.timeout_s == 25.0  # the fixture's REEL_MODERATION_CONFIG file
    client = _get_global_client()
    assert client is not None
    details = client.get_serve_details()
    deployment = details["applications"]["moderation"]["deployments"]["moderation"]
    assert deployment["deployment_config"]["autoscaling_config"]["max_replicas"] == 1
    port_config, wait_s = ray_session.get(api_platform.pipeline.__ray_call__.remote(
        lambda actor: (actor.coordinator.moderation.config, actor.coordinator.config.moderation_timeout_s)))
    assert port_config == cfg
    assert wait_s == 35.0  # the ensemble's 25 s plus room for keyframes
