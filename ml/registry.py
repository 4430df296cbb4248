"""Model versions by event: artifacts on disk (a models dir), ``ModelVersionPublished`` in the log.

``save_artifact`` writes ``<models_dir>/<model>/<version>.pt`` (torch.save of a plain dict) and
``publish`` appends the event whose ``uri`` names it; ``latest`` finds the newest version of a
model by reading the log's events, and ``load_latest`` loads its artifact — what serving calls.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from events import ModelVersionPublished, new_event_id, now_us, open_log

from .errors import ModelNotFoundError

__all__ = ["latest", "load_artifact", "load_latest", "publish", "save_artifact"]


def save_artifact(models_dir: str | Path, model: str, payload: dict[str, Any]) -> tuple[str, str]:
    """Write the artifact atomically; returns (version, uri)."""
    import torch

    version = time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + f"-{now_us() % 1_000_000:06d}"
    folder = Path(models_dir) / model
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{version}.pt"
    tmp = path.with_suffix(".tmp")
    torch.save(payload, tmp)
    tmp.replace(path)
    return version, path.resolve().as_uri()


async def publish(log_url: str, model: str, version: str, uri: str, metrics: dict[str, float]) -> None:
    log = await open_log(log_url)
    try:
        await log.append(
            [
                ModelVersionPublished(
                    event_id=new_event_id(),
                    ts=now_us(),
                    model=model,
                    version=version,
                    uri=uri,
                    metrics=metrics,
                )
            ]
        )
    finally:
        await log.close()


async def latest(log_url: str, model: str) -> ModelVersionPublished:
    """The newest ``ModelVersionPublished`` of ``model`` in the log."""
    log = await open_log(log_url)
    best: ModelVersionPublished | None = None
    try:
        for info in await log.partition_info():
            off = info.start
            while off < info.end:
                recs = await log.read(info.partition, off, 5000)
                if not recs:
                    break
                for r in recs:
                    e = r.event
                    if (
                        isinstance(e, ModelVersionPublished)
                        and e.model == model
                        and (best is None or e.ts >= best.ts)
                    ):
                        best = e
                off = recs[-1].offset + 1
    finally:
        await log.close()
    if best is None:
        raise ModelNotFoundError(model=model, log_url=log_url)
    return best


def load_artifact(uri: str) -> dict[str, Any]:
    from urllib.parse import unquote, urlparse

    import torch

    path = unquote(urlparse(uri).path) if uri.startswith("file://") else uri
    return torch.load(path, map_location="cpu", weights_only=False)  # type: ignore[no-any-return]


async def load_latest(log_url: str, model: str) -> tuple[ModelVersionPublished, dict[str, Any]]:
    event = await latest(log_url, model)
    return event, load_artifact(event.uri)
