"""`reel import` -> `reel train retrieval|ranker` -> ModelVersionPublished -> serving loads by event;
the ray[data] point-in-time pipeline and the online trainer actor on the same log."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
from click.testing import CliRunner

from ml.registry import latest, load_latest
from ml.train import read_all
from reelstack.cli import main

from .test_ml_eval import _write_csv


def _imported(tmp_path: Path) -> str:
    csv_path = tmp_path / "tiny.csv"
    _write_csv(csv_path)
    url = (tmp_path / "log").resolve().as_uri()
    res = CliRunner().invoke(main, ["import", "--format", "interactions", "--url", url, str(csv_path)])
    assert res.exit_code == 0, res.output
    assert "imported 1,500 rows" in res.output
    return url


def test_import_train_publish_and_load(tmp_path: Path) -> None:
    url = _imported(tmp_path)
    models = tmp_path / "models"
    for kind in ("retrieval", "ranker"):
        res = CliRunner().invoke(main, ["train", kind, "--url", url, "--models-dir", str(models), "--text", "hashing"])
        assert res.exit_code == 0, res.output
        out = json.loads(res.stdout[res.stdout.index("{") :])
        assert out["model"] == kind and Path(out["uri"].removeprefix("file://")).exists()
    event = asyncio.run(latest(url, "retrieval"))
    assert event.model == "retrieval"
    ev, art = asyncio.run(load_latest(url, "ranker"))
    assert art["kind"] == "mmoe_ranker" and ev.version == out["version"] and "ece_like" in ev.metrics
    _, tower = asyncio.run(load_latest(url, "retrieval"))
    vecs = np.asarray(tower["video_vectors"])
    assert vecs.shape == (90, 64) and np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-4)


def test_ray_data_examples_and_trainer_actor(tmp_path: Path, ray_session: Any) -> None:
    from actors.trainer import OnlineTrainerActor
    from ml.dataset import FEATURES, ray_dataset

    url = _imported(tmp_path)
    events = asyncio.run(read_all(url))
    ds = ray_dataset(events, negatives=1)
    rows = ds.take_all()
    assert rows and {"y_like", "y_skip", "y_complete", "x"} <= set(rows[0])
    assert all(len(r["x"]) == len(FEATURES) for r in rows)
    assert any(r["y_like"] == 1.0 for r in rows) and any(r["sampled"] for r in rows)
    from ml.online import OnlineConfig

    actor = OnlineTrainerActor.remote(url, OnlineConfig(publish_every_us=0))
    total = 0
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        out = ray_session.get(actor.step.remote())
        total += out["labelled"]
        if out["records"] == 0 and total:
            break
    assert total > 500 and out["rows"] > 0
    params = ray_session.get(actor.published.remote())
    assert params["version"] >= 1 and params["rows"]
    ray_session.get(actor.close.remote())


def test_learned_embeddings_replace_the_content_encoder(tmp_path: Path) -> None:
    """The shards' VideoEmbeddings port served from the published two-tower (no shard code involved)."""
    from ml.train import train_model

    url = _imported(tmp_path)
    out = train_model("retrieval", url, tmp_path / "models", text="hashing")
    asyncio.run(_check_learned(url, out))


async def _check_learned(url: str, out: dict[str, Any]) -> None:
    from actors.embeddings import VideoEmbeddings
    from actors.user_state import StateParams
    from events import VideoDetailsSubmitted, VideoPublished, open_log
    from ml.shard_embeddings import learned_embeddings

    _, art = await load_latest(url, "retrieval")
    log = await open_log(url)
    try:
        src = learned_embeddings(log, StateParams())
        assert isinstance(src, VideoEmbeddings)
        assert await src.refresh() == 90 and out["model"] == "retrieval"
        known = dict(zip(art["video_ids"], np.asarray(art["video_vectors"]), strict=True))
        info = src.get("v3")
        assert info is not None and np.allclose(info.embedding, known["v3"], atol=1e-5)
        await log.append(
            [
                VideoDetailsSubmitted(
                    event_id="d-new",
                    ts=2,
                    video_id="vnew",
                    creator_id="c1",
                    caption="a video about cats",
                    hashtags=("cats",),
                ),
                VideoPublished(event_id="p-new", ts=3, video_id="vnew", creator_id="c1"),
            ]
        )
        assert src.get("vnew") is None and await src.refresh() == 1
        new = src.get("vnew")
        assert new is not None and abs(float(np.linalg.norm(new.embedding)) - 1.0) < 1e-4
        assert src.get("v3") is info  # an answer never changes once given
    finally:
        await log.close()
