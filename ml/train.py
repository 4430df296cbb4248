"""``reel train retrieval|ranker``: train from the log, write a versioned artifact, publish it by event.

``retrieval``: the platform state folded over the whole log (two-tower trained from every positive;
video vectors of every published video) -> the tower's weights, the video ids and their vectors.
``ranker``: the multi-task ranker trained like the evaluation trains it — state folded up to 80 % of
the log's time, outcomes after it as labels — with per-head calibration error as metrics.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from events import Event, open_log

from . import device
from .evaluate import EvalConfig, fit_ranker
from .recommend import FEATURES, PlatformState, RecConfig, text_encoder
from .registry import publish, save_artifact

__all__ = ["read_all", "train_model"]


async def read_all(log_url: str) -> list[Event]:
    """Every event of the log, in time order."""
    log = await open_log(log_url)
    out: list[Event] = []
    try:
        for info in await log.partition_info():
            off = info.start
            while off < info.end:
                recs = await log.read(info.partition, off, 5000)
                if not recs:
                    break
                out.extend(r.event for r in recs)
                off = recs[-1].offset + 1
    finally:
        await log.close()
    out.sort(key=lambda e: e.ts)
    return out


def train_model(
    kind: str,
    log_url: str,
    models_dir: str | Path,
    *,
    text: str = "minilm",
    progress: Callable[[str], None] = lambda s: None,
) -> dict[str, Any]:
    """Train ``retrieval`` or ``ranker`` from the log at ``log_url``; returns the published version."""
    events = asyncio.run(read_all(log_url))
    if not events:
        raise ValueError(f"the log at {log_url} is empty; import data first (`reel import`)")
    cfg = EvalConfig(rec=RecConfig(text=text), device=device())
    enc = text_encoder(text)
    end = events[-1].ts + 1
    metrics: dict[str, float]
    if kind == "retrieval":
        progress(f"retrieval: folding {len(events):,} events and training the two-tower")
        st = PlatformState.build(events, end, cfg.rec, text=enc, device=cfg.device)
        payload: dict[str, Any] = {
            "kind": "two_tower",
            "state_dict": st.tower.state_dict(),
            "video_ids": st.videos,
            "video_vectors": st.video_vecs,
            "id_rows": st.id_rows,
            "config": repr(cfg.rec.tower),
            "text": text,
        }
        metrics = {"videos": float(len(st.videos)), "users": float(len(st.user_pos))}
    elif kind == "ranker":
        progress(f"ranker: {len(events):,} events")
        model, calib = fit_ranker(events, end, cfg, progress, enc)
        payload = {
            "kind": "mmoe_ranker",
            "state_dict": model.state_dict(),
            "features": FEATURES,
            "n_features": model.n_features,
            "blend": cfg.rec.blend.weights,
        }
        metrics = {k: float(v) for k, v in calib.items()}
    else:
        raise ValueError(f"unknown model kind {kind!r}: use retrieval or ranker")
    version, uri = save_artifact(models_dir, kind, payload)
    asyncio.run(publish(log_url, kind, version, uri, metrics))
    return {"model": kind, "version": version, "uri": uri, "metrics": metrics}
