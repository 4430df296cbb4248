"""The HTTP ingress as a Ray Serve deployment: the FastAPI app of ``serve.api`` with its context per replica.

Each replica builds an ``ApiContext`` from the settings: the view store (SQLite shared by the
machine's processes, or Redis), the blob store, the upload service, an appender (the ``file://``
log's ``LogWriter`` actor, or the Kafka log itself), the user shards' router and the feed pipeline
(``serve.feed``, in-process: cheap stages never cost a Serve hop). ``reconfigure`` applies the
``user_config`` (rate limits, read-your-writes bound) without a restart.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
import ray
import structlog
from ray import serve

from pipeline.logwriter import LazyLogAppender, RemoteAppender
from pipeline.wiring import blob_spec, upload_service
from projections.store import open_store
from reelstack.heap import collect_less_often
from reelstack.settings import Settings

from .api import create_api
from .api.context import LOG_WRITER, NAMESPACE, SHARD_NAME, ApiContext
from .api.deps import set_context
from .api.idempotency import IdempotencyStore
from .api.ratelimit import TokenBuckets, address_limits

__all__ = ["DEPLOYMENT", "REPLICA_ENV", "Ingress", "build_context"]

DEPLOYMENT = "ingress"
#: The ingress replica's environment (``ray_actor_options.runtime_env.env_vars``): user code runs on the
#: replica's own event loop. Serve's default runs it on a second thread, and a CPU-busy feed then trades
#: the GIL with the thread that receives and answers requests (a wait of up to the interpreter's 5 ms
#: switch interval per handoff): at 100 feed requests/s on 2 cores that multiplied the feed's latency
#: (``reel bench feed``; see docs/api.md). Async routes must not block (they do not; sync ones run in
#: Serve's thread pool either way).
REPLICA_ENV = {"RAY_SERVE_RUN_USER_CODE_IN_SEPARATE_THREAD": "0"}
log = structlog.get_logger("serve.ingress")


def _shard_router(settings: Settings, namespace: str) -> Any | None:
    from actors.shards import ShardRouter

    handles = []
    for i in range(settings.shards):
        try:
            handles.append(ray.get_actor(f"{SHARD_NAME}-{i}", namespace=namespace))
        except ValueError:
            log.warning("user shards not found: feeds run unpersonalised", missing=f"{SHARD_NAME}-{i}")
            return None
    return ShardRouter(handles, settings.log_partitions, timeout_s=0.5)


def _feed(settings: Settings, ctx: ApiContext, ranking: Any | None) -> Any | None:
    try:
        from serve.feed.wiring import build_feed_service
    except ImportError:
        log.warning("serve.feed is not available: GET /feed answers 503")
        return None
    return build_feed_service(settings, store=ctx.store, router=ctx.router, ranking=ranking,
                              appender=ctx.appender)


def build_context(settings: Settings, *, namespace: str = NAMESPACE, ranking: Any | None = None,
                  with_feed: bool = True) -> ApiContext:
    """The context of one ingress replica (inside a Ray worker of the platform's cluster)."""
    if settings.log_url.startswith("file://"):
        appender: Any = RemoteAppender(ray.get_actor(LOG_WRITER, namespace=namespace))
    else:
        appender = LazyLogAppender(settings.log_url, partitions=settings.log_partitions)
    blobs = blob_spec(settings).open()
    store = open_store(settings.view_store_url)
    idem_path = Path(settings.data_dir).absolute() / "idempotency.db"
    ctx = ApiContext(
        settings=settings, appender=appender, store=store, blobs=blobs,
        uploads=upload_service(settings, appender),
        router=_shard_router(settings, namespace),
        idempotency=IdempotencyStore(idem_path, ttl_s=settings.idempotency_ttl_s),
    )
    ctx.idempotency.purge()  # expired keys of earlier runs
    if with_feed:
        ctx.feed = _feed(settings, ctx, ranking)
    return ctx


@serve.deployment(name=DEPLOYMENT, max_ongoing_requests=64)
@serve.ingress(create_api())
class Ingress:
    def __init__(self, settings: Settings, ranking: Any | None = None, namespace: str = NAMESPACE) -> None:
        collect_less_often()  # a serving process: young collections far less often (reelstack.heap)
        self.ctx = build_context(settings, namespace=namespace, ranking=ranking)
        set_context(self.ctx)

    def reconfigure(self, config: dict[str, Any]) -> None:
        """``user_config``: ``rate_user_per_s``, ``rate_user_burst``, ``rate_ip_per_s``, ``rate_ip_burst``,
        ``read_your_writes_s`` (any subset)."""
        known = {k: v for k, v in config.items() if k in Settings.__struct_fields__}
        s = msgspec.structs.replace(self.ctx.settings, **known)
        self.ctx.settings = s
        self.ctx.user_limits = TokenBuckets(s.rate_user_per_s, s.rate_user_burst)
        self.ctx.ip_limits = address_limits(s.rate_ip_per_s, s.rate_ip_burst)

    def check_health(self) -> None:
        self.ctx.store.checkpoint("catalog")  # the view store answers
