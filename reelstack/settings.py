"""The one settings object: read from ``REEL_*`` environment variables and validated at start-up.

Nothing else in the project reads ``os.environ``; components take the values they need as arguments.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import msgspec

__all__ = ["Settings", "SettingsError", "load_settings"]

_PREFIX = "REEL_"


class SettingsError(ValueError):
    def __init__(self, *, variable: str, message: str) -> None:
        self.variable = variable
        super().__init__(f"bad setting {variable}: {message}")

    def __reduce__(self) -> tuple[Any, ...]:
        # the fields are keyword-only, so pickling's default (``cls(*args)``) cannot rebuild it: restore
        # the message and fields without __init__ (an error raised in a Ray actor or task reaches the caller)
        return type(self).__new__, (type(self), *self.args), self.__dict__


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """Every knob of a Reelstack process; ``REEL_<FIELD>`` in upper case overrides each."""

    data_dir: str = ".reel"
    log_url: str = ""  # default: file://<data_dir>/log
    log_partitions: int = 8
    log_group_commit_ms: float = 2.0
    log_segment_bytes: int = 64 * 1024 * 1024
    log_retention_bytes: int = -1  # per partition; -1 keeps everything
    view_store_url: str = ""  # default: sqlite://<data_dir>/views.db
    blob_url: str = ""  # default: file://<data_dir>/blobs
    blob_s3_endpoint: str = ""  # s3:// blob stores: endpoint URL (else the URL's ?endpoint= or AWS)
    cdn_base_url: str = "/media"  # where blob keys are served for playback (a CDN, or the ingress)
    upload_secret: str = ""  # HMAC key of upload tokens; default: a random one per process
    upload_max_bytes: int = 500 * 1024 * 1024
    upload_token_ttl_s: int = 3600
    log_level: str = "info"
    moderation_config: str = ""  # a JSON file of moderation.config.ModerationConfig fields (thresholds...)
    moderation_plugins: str = ""  # "category=module:Class,..." scorers added to / replacing the ensemble's
    feed_config: str = ""  # a JSON file of serve.feed.config.FeedConfig fields (stage budgets...)
    # HTTP API (serve/api)
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    auth_secret: str = ""  # HMAC key of bearer tokens; default: one generated into <data_dir>/secrets.json
    auth_token_ttl_s: int = 7 * 24 * 3600
    rate_user_per_s: float = 50.0  # token bucket per user (per ingress replica)
    rate_user_burst: int = 100
    rate_ip_per_s: float = 200.0  # token bucket per client address (per ingress replica); 0: none
    rate_ip_burst: int = 400
    max_body_bytes: int = 256 * 1024  # JSON request bodies (uploads have their own limit)
    idempotency_ttl_s: int = 24 * 3600
    read_your_writes_s: float = 2.0  # how long a write waits for its views/shard to apply it
    shards: int = 2  # user shard actors (at most log_partitions)
    ingress_replicas_max: int = 2
    # how HTTP reaches the ingress replicas (serve.modes): "proxy" (Serve's proxy actor) or "throughput"
    # (Ray's throughput-optimised Serve behind HAProxy; set before Ray starts: `reel up` does it)
    serve_mode: str = "proxy"
    # feed ranking: "deployment" (its own Serve deployment, one hop), "inprocess" (in the ingress, no
    # hop: the fastest on CPU-only machines) or "auto" (a deployment when the cluster has GPUs, else inprocess)
    ranking_mode: str = "auto"
    # online trainer (actors.trainer): learns from interactions as they arrive, publishes snapshots
    trainer_enabled: bool = True  # REEL_TRAINER_ENABLED=false: `reel up` starts no trainer
    trainer_publish_every_s: float = 5.0  # at most one snapshot (artifact + ModelVersionPublished) per this

    def resolved(self) -> Settings:
        """Fill URL defaults that depend on ``data_dir``."""
        root = Path(self.data_dir).absolute()
        return msgspec.structs.replace(
            self,
            log_url=self.log_url or f"file://{root / 'log'}",
            view_store_url=self.view_store_url or f"sqlite://{root / 'views.db'}",
            blob_url=self.blob_url or f"file://{root / 'blobs'}",
            # replicas and actors need not share the CLI's working directory
            feed_config=str(Path(self.feed_config).absolute()) if self.feed_config else "",
        )


def load_settings(env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
    """Settings from ``env`` (default: the process environment) plus explicit overrides."""
    source = os.environ if env is None else env
    raw: dict[str, object] = {}
    for name in Settings.__struct_fields__:
        key = _PREFIX + name.upper()
        if key in source:
            raw[name] = source[key]
    raw.update({k: v for k, v in overrides.items() if v is not None})
    try:
        settings = msgspec.convert(raw, Settings, strict=False)
    except msgspec.ValidationError as exc:
        text = str(exc)
        field = text.rsplit("`$.", 1)[-1].rstrip("`") if "`$." in text else "?"
        raise SettingsError(variable=_PREFIX + field.upper(), message=text) from exc
    if settings.upload_max_bytes < 1:
        raise SettingsError(variable="REEL_UPLOAD_MAX_BYTES", message="must be at least 1")
    if settings.log_partitions < 1:
        raise SettingsError(variable="REEL_LOG_PARTITIONS", message="must be at least 1")
    from serve.modes import SERVE_MODES  # the mode names live with what they switch

    if settings.serve_mode not in SERVE_MODES:
        raise SettingsError(variable="REEL_SERVE_MODE", message=f"must be one of {', '.join(SERVE_MODES)}")
    if settings.rate_ip_per_s < 0:
        raise SettingsError(variable="REEL_RATE_IP_PER_S", message="must be 0 (no per-address limit) or more")
    if settings.serve_mode == "throughput" and settings.rate_ip_per_s > 0:
        raise SettingsError(variable="REEL_RATE_IP_PER_S", message=(
            "in REEL_SERVE_MODE=throughput HAProxy forwards every request, so the replicas see its address, "
            "not the client's: a per-address limit would throttle all clients as one. Set REEL_RATE_IP_PER_S=0 "
            "and limit per address in the load balancer in front, or use REEL_SERVE_MODE=proxy"))
    if settings.trainer_publish_every_s <= 0:
        raise SettingsError(variable="REEL_TRAINER_PUBLISH_EVERY_S", message="must be more than 0 seconds")
    if settings.feed_config:
        _check_feed_config(settings.feed_config)
    return settings.resolved()


def _check_feed_config(path: str) -> None:
    """Read the feed config file now: a wrong path or field must stop ``reel up`` with this message, not
    fail the ingress replicas' start inside Ray."""
    from serve.feed.config import FeedConfig

    example = 'a JSON object of serve.feed.config.FeedConfig fields, e.g. {"state_budget_ms": 250}'
    try:
        msgspec.json.decode(Path(path).read_bytes(), type=FeedConfig)
    except OSError as exc:
        raise SettingsError(variable="REEL_FEED_CONFIG", message=(
            f"cannot read {path!r} ({exc.strerror}): give the path of a file holding {example}")) from exc
    except msgspec.DecodeError as exc:  # ValidationError is a DecodeError
        raise SettingsError(variable="REEL_FEED_CONFIG", message=f"{path}: {exc}; expected {example}") from exc
