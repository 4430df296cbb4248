"""`reel train ranker` on a generated log -> ModelVersionPublished -> the in-process feed ranker swaps to it."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import numpy as np

from events import ModelVersionPublished, new_event_id, now_us, open_log
from ml.importers import append_events
from ml.registry import load_artifact, save_artifact
from ml.train import train_model
from reelstack.world import WorldConfig, world_events
from serve.feed.features import FEATURES
from serve.feed.scoring import PriorRanker, TorchRanker
from serve.models import RankerWatch, watched_ranker


def test_trained_ranker_is_published_and_picked_up_in_process(tmp_path: Path, ray_session: Any) -> None:
    url = (tmp_path / "log").resolve().as_uri()
    asyncio.run(append_events(url, list(world_events(WorldConfig(viewers=200)))))
    out = train_model("ranker", url, tmp_path / "models", text="hashing", members=2)
    art = load_artifact(out["uri"])
    assert tuple(art["features"]) == FEATURES and art["n_features"] == len(FEATURES)
    m = out["metrics"]
    assert m["rows"] > 1000 and 0.0 <= m["ece_like"] < 0.2
    assert m["student_auc_like"] > 0.6 and m["student_auc_like"] > m["teacher_auc_like"] - 0.05
    asyncio.run(_swaps(url, out["version"], tmp_path))


async def _swaps(url: str, version: str, tmp_path: Path) -> None:
    ranker = watched_ranker(url, {"readonly": True, "partitions": None})
    ranker.watch.interval_s = 0.05
    rows = np.random.default_rng(0).standard_normal((30, len(FEATURES))).astype(np.float32)
    heads = await ranker.score(rows)  # starts the watch; the first page may still be the prior's
    assert set(heads) >= {"like", "skip", "watch"}
    for _ in range(200):
        if isinstance(ranker.ranker, TorchRanker):
            break
        await asyncio.sleep(0.05)
    assert isinstance(ranker.ranker, TorchRanker) and ranker.ranker.version == version
    got = await ranker.score(rows)
    assert got["like"].shape == (30,) and np.all((got["like"] >= 0) & (got["like"] <= 1))
    # a version trained on another feature layout is skipped: the loaded ranker keeps serving
    _, bad_uri = save_artifact(tmp_path / "models", "ranker", {"features": ["a", "b"], "n_features": 2,
                                                               "state_dict": {}})
    log = await open_log(url)
    try:
        await log.append([ModelVersionPublished(event_id=new_event_id(), ts=now_us(), model="ranker",
                                                version="bad", uri=bad_uri, metrics={})])
    finally:
        await log.close()
    for _ in range(200):
        if "bad" in ranker.watch.skipped:
            break
        await asyncio.sleep(0.05)
    assert "bad" in ranker.watch.skipped and ranker.ranker.version == version
    await ranker.watch.close()


async def _never_trained(url: str) -> None:
    watch = RankerWatch(url)
    assert not await watch.scan() and isinstance(watch.ranker, PriorRanker)
    await watch.close()


def test_a_platform_that_never_trained_serves_the_prior(tmp_path: Path) -> None:
    url = (tmp_path / "log").resolve().as_uri()
    asyncio.run(append_events(url, list(world_events(WorldConfig(viewers=5)))))
    asyncio.run(_never_trained(url))


def test_the_ranking_deployment_loads_a_published_version(tmp_path: Path, ray_session: Any) -> None:
    from ray import serve

    from ml.ranker import MultiTaskRanker
    from ml.registry import publish
    from serve.ranking import RankingDeployment, ServeRanker

    url = (tmp_path / "log").resolve().as_uri()
    asyncio.run(append_events(url, list(world_events(WorldConfig(viewers=5)))))
    model = MultiTaskRanker(len(FEATURES))
    version, uri = save_artifact(tmp_path / "models", "ranker", {
        "kind": "mmoe_ranker", "state_dict": model.state_dict(), "features": FEATURES,
        "n_features": len(FEATURES), "config": model.cfg})
    serve.start(http_options={"host": "127.0.0.1", "port": 0})
    app = RankingDeployment.options(num_replicas=1, ray_actor_options={"num_cpus": 0}).bind(
        url, {"readonly": True, "partitions": None}, watch_interval_s=0.1)
    handle = serve.run(app, name="ranking-watch-test", route_prefix=None)
    try:
        rows = np.random.default_rng(1).standard_normal((20, len(FEATURES))).astype(np.float32)
        prior = asyncio.run(ServeRanker(handle).score(rows))
        np.testing.assert_allclose(prior["like"], PriorRanker().predict(rows)["like"], rtol=1e-6)
        asyncio.run(publish(url, "ranker", version, uri, {}))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and handle.info.remote().result()["ranker"] != "mmoe":
            time.sleep(0.2)
        assert handle.info.remote().result()["version"] == version
        got = asyncio.run(ServeRanker(handle).score(rows))
        np.testing.assert_allclose(got["like"], model.eval().predict(rows)["like"], rtol=1e-5)
    finally:
        serve.delete("ranking-watch-test")
