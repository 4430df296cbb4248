"""``reel train retrieval|ranker``: train from the log, write a versioned artifact, publish it by event.

``retrieval``: the platform state folded over the whole log (two-tower trained from every positive;
video vectors of every published video) -> the tower's weights, the video ids and their vectors.
``ranker``: the served multi-task ranker, trained on the feed's own rows (``serve.feed.features``'s
``FEATURES``, built point-in-time by ``ml.dataset`` through the ray[data] pipeline): a seed-bagged
ensemble on the first 80 % of the exposures by time, distilled into one network (``ml.distill``),
calibrated on the last 20 %; metrics are the student's per-head ECE and teacher / student AUC there.
The artifact names ``FEATURES``, so the ranking deployment and the in-process feed load it by event.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from events import Event
from events.log import read_in_time_order

from . import device
from .evaluate import EvalConfig
from .ranker import RankerConfig
from .recommend import PlatformState, RecConfig, text_encoder
from .registry import publish, save_artifact

__all__ = ["fit_served_ranker", "read_all", "train_model"]


async def read_all(log_url: str) -> list[Event]:
    """Every event of the log, in time order."""
    return await read_in_time_order(log_url)


def train_model(
    kind: str,
    log_url: str,
    models_dir: str | Path,
    *,
    text: str = "minilm",
    members: int | None = None,
    progress: Callable[[str], None] = lambda s: None,
) -> dict[str, Any]:
    """Train ``retrieval`` or ``ranker`` from the log at ``log_url``; returns the published version.
    ``members``: rankers in the ensemble the served ranker is distilled from (default: as ``reel eval``)."""
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
        from serve.feed.features import FEATURES

        progress(f"ranker: {len(events):,} events -> point-in-time feed rows (ray[data])")
        model, calib = fit_served_ranker(events, cfg.ranker, members=members or cfg.ranker_members, device=cfg.device,
                                         progress=progress)
        payload = {
            "kind": "mmoe_ranker",
            "state_dict": model.state_dict(),
            "features": FEATURES,
            "n_features": model.n_features,
            "config": model.cfg,
            "blend": cfg.rec.blend.weights,
        }
        metrics = {k: float(v) for k, v in calib.items()}
    else:
        raise ValueError(f"unknown model kind {kind!r}: use retrieval or ranker")
    version, uri = save_artifact(models_dir, kind, payload)
    asyncio.run(publish(log_url, kind, version, uri, metrics))
    return {"model": kind, "version": version, "uri": uri, "metrics": metrics}


def fit_served_ranker(
    events: list[Event],
    cfg: RankerConfig | None = None,
    *,
    members: int = 5,
    val_fraction: float = 0.2,
    device: str = "cpu",
    progress: Callable[[str], None] = lambda s: None,
) -> tuple[Any, dict[str, float]]:
    """The distilled ranker over ``serve.feed.features.FEATURES`` rows of ``events`` and its validation
    figures (the last ``val_fraction`` of the exposures by time are held out for calibration)."""
    import numpy as np

    from .dataset import ray_dataset, to_arrays
    from .distill import assess, distill_ranker
    from .ranker import train_ranker_ensemble

    cfg = cfg or RankerConfig()
    a = to_arrays(ray_dataset(events).take_all())
    n = len(a["ts"])
    if n < 50 or a["y"].max(initial=0.0) == 0.0:
        raise ValueError(f"the log has {n} exposures and no engagement to learn from; "
                         "let users watch videos (or `reel import` data) before `reel train ranker`")
    cut = np.quantile(a["ts"], 1.0 - val_fraction)
    is_val = a["ts"] >= cut
    # a young platform has few rows: smaller batches and more epochs so the ranker gets ~300+ steps
    batch = min(cfg.batch, max(128, n // 20))
    cfg = replace(cfg, batch=batch, epochs=max(cfg.epochs, min(40, math.ceil(300 * batch / n))))
    args = (a["x"], a["y"], a["mask"], a["watch"], a["wmask"])
    progress(f"ranker: {n:,} rows ({int(a['y'][:, 1].sum()):,} likes), {members} members")
    ensemble, _ = train_ranker_ensemble(*args, members=members, cfg=cfg, device=device, is_val=is_val)
    progress("ranker: distilling the ensemble into one network")
    model, report = distill_ranker(ensemble, *args, is_val=is_val, cfg=cfg, device=device)
    xv, yv, mv = a["x"][is_val], a["y"][is_val], a["mask"][is_val]
    report.update(assess(ensemble.predict, xv, yv, mv, "teacher_"))
    report.update(assess(model.predict, xv, yv, mv, "student_"))
    report["rows"] = float(n)
    return model, report
