"""The one place where Reelstack's Serve deployment graph is bound and deployed.

Applications (each with its own name; only the ingress has an HTTP route):

- ``reelstack`` at ``/``: ``Ingress`` (the FastAPI app, feed pipeline in-process), bound with the
  ranking deployment's handle when ``serve.feed`` provides one;
- ``moderation``: the moderation ensemble (``serve.moderation``), reached by the upload pipeline
  through ``moderation.port.ServeScoring``.

Every deployment has an autoscaling config (``target_ongoing_requests``, min/max replicas) and
``max_queued_requests`` so overload sheds with 503 instead of queueing without bound; ranking and
moderation ask for a GPU per replica when the cluster has GPUs.
"""

from __future__ import annotations

from typing import Any

import structlog
from ray import serve
from ray.serve.deployment import Application

from moderation.config import ModerationConfig
from reelstack.settings import Settings

from .api.context import NAMESPACE
from .ingress import REPLICA_ENV, Ingress
from .moderation import APP_NAME as MODERATION_APP
from .moderation import moderation_app

__all__ = ["APP_NAME", "MODERATION_APP", "build_apps", "deploy", "ingress_user_config"]

APP_NAME = "reelstack"
log = structlog.get_logger("serve.app")


def ingress_user_config(settings: Settings) -> dict[str, Any]:
    """The ingress's live-tunable settings (``reconfigure``): change them with a redeploy, no restart."""
    return {
        "rate_user_per_s": settings.rate_user_per_s,
        "rate_user_burst": settings.rate_user_burst,
        "rate_ip_per_s": settings.rate_ip_per_s,
        "rate_ip_burst": settings.rate_ip_burst,
        "read_your_writes_s": settings.read_your_writes_s,
    }


def _ranking(settings: Settings, cluster_gpus: float) -> Application | None:
    try:
        from serve.feed.wiring import ranking_app
    except ImportError:
        return None
    return ranking_app(settings, cluster_gpus=cluster_gpus)


def build_apps(settings: Settings, *, cluster_gpus: float = 0.0, namespace: str = NAMESPACE,
               moderation: ModerationConfig | None = None, ingress_cpus: float = 0.0,
               moderation_cpus: float = 0.0, user_config: dict[str, Any] | None = None,
               ) -> dict[str, Application]:
    """``{app name: bound application}``; ``settings`` must be resolved (secrets filled)."""
    ranking = _ranking(settings, cluster_gpus)
    ingress = Ingress.options(  # type: ignore[attr-defined]
        ray_actor_options={"num_cpus": ingress_cpus, "runtime_env": {"env_vars": dict(REPLICA_ENV)}},
        autoscaling_config={
            "min_replicas": 1,
            "max_replicas": max(1, settings.ingress_replicas_max),
            "target_ongoing_requests": 16,
            "upscale_delay_s": 5.0,
            "downscale_delay_s": 60.0,
        },
        max_ongoing_requests=64,
        max_queued_requests=512,
        user_config=user_config if user_config is not None else ingress_user_config(settings),
    ).bind(settings, ranking, namespace)
    apps: dict[str, Application] = {APP_NAME: ingress}
    log_options = ({"readonly": True, "partitions": None} if settings.log_url.startswith("file://")
                   else {"partitions": settings.log_partitions})
    apps[MODERATION_APP] = moderation_app(moderation, log_url=settings.log_url, log_options=log_options,
                                          cluster_gpus=cluster_gpus, num_cpus=moderation_cpus)
    return apps


def deploy(settings: Settings, *, host: str | None = None, port: int | None = None,
           only: tuple[str, ...] | None = None, **options: Any) -> dict[str, Any]:
    """Start Serve's HTTP proxy on ``host:port`` and run the applications; returns their handles.

    Moderation is deployed first: the pipeline needs it, and the ingress needs nothing from it.
    """
    import ray

    serve.start(http_options={"host": host or settings.http_host, "port": port or settings.http_port})
    gpus = float(ray.cluster_resources().get("GPU", 0.0))  # type: ignore[no-untyped-call]
    apps = build_apps(settings, cluster_gpus=gpus, **options)
    handles: dict[str, Any] = {}
    for name in (MODERATION_APP, APP_NAME):
        if only is not None and name not in only:
            continue
        route = "/" if name == APP_NAME else None
        handles[name] = serve.run(apps[name], name=name, route_prefix=route)
    return handles
