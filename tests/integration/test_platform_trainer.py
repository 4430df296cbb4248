"""The started platform runs the online trainer and passes the moderation settings on.

- the trainer actor (``reel-trainer``) runs on the shared platform, learns from interactions posted
  through the API and announces a snapshot that contains them with a ``ModelVersionPublished`` of
  model ``online`` in the log (the test reads the log, it does not time anything);
- the trainer actor on its own: start -> publish by event -> stop (the loop ends, the log closes);
- ``REEL_MODERATION_CONFIG`` (the fixture's file: one replica at most, 25 s timeout) reaches the
  moderation deployment's autoscaling and the pipeline's moderation port and coordinator.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from events import ModelVersionPublished, ViewEnded, open_log

from .api_client import Api


async def _published(log_url: str, model: str = "online") -> list[ModelVersionPublished]:
    options: dict[str, Any] = {"readonly": True, "partitions": None} if log_url.startswith("file://") else {}
    log = await open_log(log_url, **options)
    found: list[ModelVersionPublished] = []
    try:
        for info in await log.partition_info():
            offset = info.start
            while offset < info.end:
                records = await log.read(info.partition, offset, 5000)
                if not records:
                    break
                found += [r.event for r in records
                          if isinstance(r.event, ModelVersionPublished) and r.event.model == model]
                offset = records[-1].offset + 1
    finally:
        await log.close()
    return sorted(found, key=lambda e: e.ts)


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


def test_trainer_actor_starts_publishes_and_stops(tmp_path: Path, ray_session: Any) -> None:
    from actors.trainer import start_online_trainer
    from ml.online import OnlineConfig
    from pipeline.logwriter import RemoteAppender, start_log_writer

    url = (tmp_path / "log").resolve().as_uri()
    writer = start_log_writer(url, partitions=2)
    try:
        ray_session.get(writer.ready.remote())
        trainer = start_online_trainer(url, config=OnlineConfig(publish_every_us=200_000),
                                       log_options={"readonly": True, "partitions": None},
                                       appender=RemoteAppender(writer), models_dir=str(tmp_path / "models"))
        assert ray_session.get(trainer.status.remote())["running"]
        views = [ViewEnded(event_id=f"e{i}", ts=1_000 + i, user_id=f"u{i % 3}", video_id=f"v{i % 5}",
                           watch_ms=5000 if i % 2 else 100, duration_ms=5000) for i in range(30)]
        ray_session.get(writer.append.remote(views))
        event, art = _snapshot_with(url, "u:u2", wait_s=60)
        assert event.metrics["interactions"] == 30 and art["interactions"] == 30
        ray_session.get(trainer.stop.remote(), timeout=60)
        status = ray_session.get(trainer.status.remote())
        assert not status["running"] and status["records"] >= 30
        # nothing new learned: a stopped (or idle) trainer announces nothing more
        assert len(asyncio.run(_published(url))) == status["announced"]
        ray_session.kill(trainer)
    finally:
        ray_session.get(writer.close.remote())
        ray_session.kill(writer)


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
