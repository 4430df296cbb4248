"""``reel bench feed --ranker``: what ranks the bench's pages where it ranks in-process."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from bench.feed_cli import feed_command
from bench.feed_world import bench_ranker
from serve.feed.features import FEATURES
from serve.feed.scoring import PriorRanker, TorchRanker


def test_prior_and_the_served_network_score_the_feed_s_rows() -> None:
    rows = np.random.default_rng(0).random((40, len(FEATURES)), dtype=np.float32)
    assert isinstance(bench_ranker("prior"), PriorRanker)
    net = bench_ranker("network")
    assert isinstance(net, TorchRanker) and net.model.n_features == len(FEATURES)
    heads = net.predict(rows)
    assert set(heads) == set(PriorRanker().predict(rows)) and all(v.shape == (40,) for v in heads.values())
    assert np.array_equal(heads["like"], bench_ranker("network").predict(rows)["like"])  # seeded: same network


def test_an_artifact_that_is_not_there_is_an_error(tmp_path: object) -> None:
    with pytest.raises(Exception, match="no-such"):
        bench_ranker(f"file://{tmp_path}/no-such.pt")


def test_the_ranking_deployment_takes_no_ranker() -> None:
    res = CliRunner().invoke(feed_command, ["--concurrency", "2", "--ranking", "deployment", "--ranker", "network"])
    assert res.exit_code == 2 and "--ranking inprocess" in res.output
