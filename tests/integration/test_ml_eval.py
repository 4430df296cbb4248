"""`reel eval` end to end on a tiny generated interactions CSV: JSON shape and sane values."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
from click.testing import CliRunner

from reelstack.cli import main


def _write_csv(path: Path, seed: int = 0) -> None:
    """30 users in 3 taste groups over 90 videos of 3 topics; the first 60 videos are older."""
    rng = np.random.default_rng(seed)
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(
            [
                "user_id",
                "video_id",
                "timestamp_ms",
                "watch_ms",
                "duration_ms",
                "liked",
                "hated",
                "shared",
                "creator_id",
                "sound_id",
                "hashtags",
                "caption",
            ]
        )
        t = 1_650_000_000_000
        for step in range(1500):
            u = int(rng.integers(30))
            fresh = step > 1000
            v = int(rng.integers(60, 90) if fresh and rng.random() < 0.5 else rng.integers(0, 60))
            topic = v % 3
            likes_it = topic == u % 3
            liked = likes_it and rng.random() < 0.7
            hated = not likes_it and rng.random() < 0.3
            dur = 15_000
            watch = dur if liked else int(rng.integers(500, 5000))
            tags = ["cats", "cooking", "football"][topic]
            w.writerow(
                [
                    f"u{u}",
                    f"v{v}",
                    t + step * 60_000,
                    watch,
                    dur,
                    int(liked),
                    int(hated),
                    0,
                    f"c{v % 9}",
                    f"s{topic}",
                    tags,
                    f"a video about {tags}",
                ]
            )


def test_reel_eval_json_shape(tmp_path: Path) -> None:
    path = tmp_path / "tiny.csv"
    _write_csv(path)
    res = CliRunner().invoke(
        main,
        [
            "eval",
            "--dataset",
            str(path),
            "--format",
            "interactions",
            "--json",
            "--text",
            "hashing",
            "--log-dir",
            str(tmp_path / "log"),
        ],
    )
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout[res.stdout.index("{") :])
    assert set(out) == {"project", "baselines", "split"}
    assert set(out["baselines"]) == {"random", "popular", "itemknn", "als"}
    keys = {"recall@10", "recall@50", "ndcg@10", "coverage", "auc"}
    for res_ in (out["project"], *out["baselines"].values()):
        assert set(res_) == keys
        assert all(0.0 <= res_[k] <= 1.0 for k in ("recall@10", "recall@50", "ndcg@10", "coverage"))
        assert res_["recall@10"] <= res_["recall@50"] + 1e-9
    assert out["split"]["test_users"] > 0 and out["split"]["train_events"] > out["split"]["test_events"]
    for res_ in (out["project"], *out["baselines"].values()):
        assert 0.0 <= res_["auc"] <= 1.0
    assert out["project"]["coverage"] > 0.0 and out["split"]["auc_pairs"] > 0
    assert out["split"]["k"] == 50 and out["split"]["catalogue"] == 90
