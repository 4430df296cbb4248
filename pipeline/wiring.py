"""Build the pipeline's pieces from ``reelstack.settings.Settings`` (for the ingress and ``reel up``)."""

from __future__ import annotations

from typing import Any

from reelstack.settings import Settings

from .coordinator import CoordinatorConfig
from .uploads import Appender, UploadService
from .worker import BlobSpec

__all__ = ["blob_spec", "coordinator_config", "upload_service"]


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
