"""Build the pipeline's pieces from ``reelstack.settings.Settings`` (for the ingress and ``reel up``)."""

from __future__ import annotations

from typing import Any

from reelstack.settings import Settings

from .coordinator import CoordinatorConfig
from .moderation import ModerationPort
from .uploads import Appender, UploadService
from .worker import BlobSpec

__all__ = ["LOG_WRITER", "PIPELINE", "blob_spec", "coordinator_config", "start_embedded", "upload_service"]

#: Names of the actors ``start_embedded`` creates (one per Ray namespace).
LOG_WRITER = "reel-log-writer"
PIPELINE = "reel-pipeline"


def blob_spec(settings: Settings) -> BlobSpec:
    """The blob store of ``REEL_BLOB_URL`` (with ``REEL_BLOB_S3_ENDPOINT`` for ``s3://``)."""
    options: dict[str, Any] = {}
    if settings.blob_url.startswith("s3://") and settings.blob_s3_endpoint:
        options["endpoint"] = settings.blob_s3_endpoint
    return BlobSpec(url=settings.blob_url, options=options)


def coordinator_config(settings: Settings, **overrides: Any) -> CoordinatorConfig:
    """Coordinator reading ``REEL_LOG_URL`` (a file log read-only: appends go through the ``LogWriter``)
    with its state beside the views (``REEL_VIEW_STORE_URL``, view ``pipeline``)."""
    if settings.log_url.startswith("file://"):
        log_options: dict[str, Any] = {"readonly": True, "partitions": None}
    else:
        log_options = {"partitions": settings.log_partitions}
    return CoordinatorConfig(
        log_url=settings.log_url,
        log_options=log_options,
        state_store_url=settings.view_store_url,
        blobs=blob_spec(settings),
        **overrides,
    )


def upload_service(settings: Settings, appender: Appender) -> UploadService:
    return UploadService.from_settings(appender, blob_spec(settings).open(), settings)


def start_embedded(
    settings: Settings,
    *,
    moderation: ModerationPort | None = None,
    namespace: str | None = None,
    **overrides: Any,
) -> tuple[Appender, Any]:
    """On a running Ray: the log writer (file logs only) and the coordinator as named actors.

    Returns the ``Appender`` this process should append through (the writer's for a file log; for
    Kafka one that appends from this process) and the coordinator's handle. ``moderation``
    defaults to fail-closed: nothing is published until a real moderation port is passed.
    """
    from .actor import start_pipeline
    from .logwriter import LazyLogAppender, RemoteAppender, start_log_writer

    appender: Appender | None = None
    if settings.log_url.startswith("file://"):
        writer = start_log_writer(
            settings.log_url,
            name=LOG_WRITER,
            namespace=namespace,
            partitions=settings.log_partitions,
            group_commit_ms=settings.log_group_commit_ms,
        )
        import ray

        ray.get(writer.ready.remote())
        appender = RemoteAppender.by_name(LOG_WRITER, namespace, handle=writer)  # restartable actors: see its doc
    coordinator = start_pipeline(
        coordinator_config(settings, **overrides),
        moderation=moderation,
        appender=appender,
        name=PIPELINE,
        namespace=namespace,
    )
    if appender is None:
        appender = LazyLogAppender(settings.log_url, partitions=settings.log_partitions)
    return appender, coordinator
