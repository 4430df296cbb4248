"""Start (and stop) the whole platform on a Ray cluster: log writer, views, shards, Serve apps, pipeline.

Used by ``reel up`` and by the integration tests' shared Serve fixture. Order matters:

1. the ``LogWriter`` actor (a ``file://`` log has one writer; Kafka needs none);
2. the views actor (every projection runner, caught up before anything answers);
3. the user shards (named ``user-shard-<i>``, restartable, checkpointing under ``<data_dir>/shards``);
4. the Serve applications (moderation, then the ingress on ``host:port``);
5. the upload pipeline's coordinator, scoring through the moderation deployment (fail closed);
6. the online trainer (``actors.trainer``, named ``reel-trainer``, its own consumer group ``trainer``),
   unless ``REEL_TRAINER_ENABLED=false``: it learns from interactions as they arrive and publishes a
   snapshot (an artifact under ``<data_dir>/models/online`` and a ``ModelVersionPublished`` event of
   model ``online``) at most every ``REEL_TRAINER_PUBLISH_EVERY_S`` seconds.

The moderation configuration (``REEL_MODERATION_CONFIG`` / ``REEL_MODERATION_PLUGINS``: thresholds, the
mature band, timeouts, serving) goes to both the moderation deployment and the pipeline's port.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ray
import structlog

from reelstack.settings import Settings

__all__ = ["TRAINER_NAME", "Platform", "moderation_config", "start_platform"]

TRAINER_NAME = "reel-trainer"

log = structlog.get_logger("reelstack.platform")


@dataclass
class Platform:
    settings: Settings
    namespace: str
    host: str
    port: int
    writer: Any = None
    views: Any = None
    shards: list[Any] = field(default_factory=list)
    pipeline: Any = None
    trainer: Any = None
    moderation: Any = None  # the ModerationConfig both the deployment and the pipeline use
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def stop(self) -> None:
        from ray import serve

        for step in (
            lambda: self.trainer is not None and ray.get(self.trainer.stop.remote(), timeout=60),
            lambda: self.pipeline is not None and ray.get(self.pipeline.stop.remote(), timeout=30),
            serve.shutdown,
            lambda: self.views is not None and ray.get(self.views.stop.remote(), timeout=30),
            lambda: [ray.kill(h) for h in self.shards],
            lambda: self.writer is not None and ray.get(self.writer.close.remote(), timeout=30),
            lambda: self.writer is not None and ray.kill(self.writer),
            lambda: self.views is not None and ray.kill(self.views),
            lambda: self.pipeline is not None and ray.kill(self.pipeline),
            lambda: self.trainer is not None and ray.kill(self.trainer),
        ):
            try:
                step()
            except Exception as exc:  # best effort: stop everything we can
                log.warning("stop step failed", error=str(exc))


def moderation_config(settings: Settings) -> Any:
    """The ``ModerationConfig`` named by the settings; a bad file is a ``SettingsError`` at start-up."""
    from moderation.config import config_from_settings

    from .settings import SettingsError

    try:
        return config_from_settings(settings)
    except (OSError, ValueError) as exc:  # msgspec's errors are ValueErrors
        variable = "REEL_MODERATION_PLUGINS" if "plug-in" in str(exc) else "REEL_MODERATION_CONFIG"
        raise SettingsError(variable=variable, message=f"{exc} (fix or unset it)") from exc


def start_platform(settings: Settings, *, namespace: str | None = None, host: str | None = None,
                   port: int | None = None, moderation: str = "serve", work_cpus: float = 1.0,
                   pipeline_overrides: dict[str, Any] | None = None) -> Platform:
    """Start everything on the connected Ray cluster (``ray.init`` first); returns once it serves.

    ``moderation``: ``serve`` (the ensemble deployment) or ``approve-all`` (tests that do not
    exercise moderation models: every video is approved, scores of 0).
    """
    from actors.shard_core import ShardConfig
    from actors.shards import ShardRouter, start_shards
    from moderation.port import EnsembleModeration, ServeScoring
    from pipeline.actor import start_pipeline
    from pipeline.logwriter import RemoteAppender, start_log_writer
    from pipeline.moderation import ApproveAllModeration
    from pipeline.wiring import blob_spec, coordinator_config
    from serve.api.context import LOG_WRITER, NAMESPACE, SHARD_NAME, resolve_secrets
    from serve.app import MODERATION_APP, deploy

    from .views_actor import ViewsActor

    settings = resolve_secrets(settings)
    mod_config = moderation_config(settings)
    ns = namespace or NAMESPACE
    p = Platform(settings=settings, namespace=ns, host=host or settings.http_host,
                 port=port or settings.http_port, moderation=mod_config)
    root = Path(settings.data_dir).absolute()
    root.mkdir(parents=True, exist_ok=True)
    file_log = settings.log_url.startswith("file://")
    t = time.perf_counter()

    appender: Any = None
    if file_log:
        p.writer = start_log_writer(settings.log_url, name=LOG_WRITER, namespace=ns,
                                    partitions=settings.log_partitions)
        ray.get(p.writer.ready.remote())
        # by name: the pipeline and views actors get it as an argument, and Ray restarts them (see its doc)
        appender = RemoteAppender.by_name(LOG_WRITER, ns, handle=p.writer)
    p.timings["log_writer_s"] = time.perf_counter() - t

    t = time.perf_counter()
    from pipeline.logwriter import LazyLogAppender

    reactor_appender = appender or LazyLogAppender(settings.log_url, partitions=settings.log_partitions)
    p.views = ViewsActor.options(name="reel-views", namespace=ns).remote(  # type: ignore[attr-defined]
        settings.log_url, settings.log_partitions, settings.view_store_url, appender=reactor_appender)
    ray.get(p.views.start.remote())
    p.timings["views_s"] = time.perf_counter() - t

    t = time.perf_counter()
    log_options: dict[str, Any] = {"readonly": True} if file_log else {}
    shard_cfg = ShardConfig(log_url=settings.log_url, partitions=settings.log_partitions,
                            shards=min(settings.shards, settings.log_partitions),
                            checkpoint_url=f"file://{root / 'shards'}", log_options=log_options,
                            poll_timeout_s=0.02, checkpoint_every_s=30.0)
    p.shards = start_shards(shard_cfg, name=SHARD_NAME, namespace=ns)
    ShardRouter(p.shards, settings.log_partitions).wait_ready(timeout_s=300)
    p.timings["shards_s"] = time.perf_counter() - t

    t = time.perf_counter()
    deploy(settings, host=p.host, port=p.port, namespace=ns, moderation=mod_config)
    p.timings["serve_s"] = time.perf_counter() - t

    t = time.perf_counter()
    if moderation == "serve":
        port_: Any = EnsembleModeration(ServeScoring(app_name=MODERATION_APP), blob_spec(settings), mod_config)
    elif moderation == "approve-all":
        port_ = ApproveAllModeration()
    else:
        raise ValueError(f"moderation must be 'serve' or 'approve-all', not {moderation!r}")
    # the coordinator's wait covers keyframe extraction plus the ensemble's own scoring timeout
    overrides = {"backoff_s": 0.5, "moderation_retry_s": 0.5, "poll_s": 0.05,
                 "moderation_timeout_s": max(30.0, mod_config.timeout_s + 10.0), **(pipeline_overrides or {})}
    p.pipeline = start_pipeline(coordinator_config(settings, **overrides), moderation=port_,
                                appender=appender, name="reel-pipeline", namespace=ns, work_cpus=work_cpus)
    p.timings["pipeline_s"] = time.perf_counter() - t

    if settings.trainer_enabled:
        t = time.perf_counter()
        p.trainer = _start_trainer(settings, ns, reactor_appender)
        p.timings["trainer_s"] = time.perf_counter() - t
    return p


def _start_trainer(settings: Settings, namespace: str, appender: Any) -> Any:
    """The online trainer reads the log (a file log read-only, beside the writer) and appends through
    ``appender``; it starts no sooner than everything else (it is not on the serving path)."""
    from actors.trainer import start_online_trainer
    from ml.online import OnlineConfig

    log_options: dict[str, Any] = ({"readonly": True, "partitions": None} if settings.log_url.startswith("file://")
                                   else {"partitions": settings.log_partitions})
    config = OnlineConfig(publish_every_us=int(settings.trainer_publish_every_s * 1_000_000))
    models = Path(settings.data_dir).absolute() / "models"
    return start_online_trainer(settings.log_url, name=TRAINER_NAME, namespace=namespace, config=config,
                                log_options=log_options, appender=appender, models_dir=str(models))
