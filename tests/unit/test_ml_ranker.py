"""Multi-task ranker: output shapes, Platt calibration, ECE, blend."""

from __future__ import annotations

import numpy as np

from ml.ranker import HEADS, Blend, MultiTaskRanker, RankerConfig, ece, fit_platt, train_ranker


def test_ece_is_zero_when_calibrated_and_large_when_not() -> None:
    rng = np.random.default_rng(0)
    p = rng.random(20_000)
    y = (rng.random(20_000) < p).astype(float)
    assert ece(p, y) < 0.02
    assert ece(np.clip(p * 0.2, 0, 1), y) > 0.2


def test_platt_scaling_repairs_overconfident_logits() -> None:
    rng = np.random.default_rng(1)
    z = rng.normal(0, 2, 20_000)
    y = (rng.random(20_000) < 1 / (1 + np.exp(-z))).astype(float)
    over = 3.0 * z + 1.0  # over-confident and shifted
    a, b = fit_platt(over, y)
    assert abs(a - 1 / 3) < 0.05 and abs(b + 1 / 3) < 0.1
    before = ece(1 / (1 + np.exp(-over)), y)
    after = ece(1 / (1 + np.exp(-(a * over + b))), y)
    assert after < before / 3


def test_trains_on_a_learnable_task_and_predicts_every_head() -> None:
    rng = np.random.default_rng(2)
    x = rng.standard_normal((4000, 5)).astype(np.float32)
    p_like = 1 / (1 + np.exp(-(2 * x[:, 0] - 1)))
    y = np.zeros((4000, len(HEADS)), np.float32)
    y[:, HEADS.index("like")] = rng.random(4000) < p_like
    y[:, HEADS.index("skip")] = x[:, 1] > 1
    mask = np.ones_like(y)
    model, report = train_ranker(
        x,
        y,
        mask,
        np.abs(x[:, 2]),
        np.ones(4000, np.float32),
        cfg=RankerConfig(epochs=10, batch=128, neg_keep=1.0),
        groups=np.arange(4000) % 50,
    )
    assert isinstance(model, MultiTaskRanker)
    out = model.predict(x[:10])
    assert set(out) == {*HEADS, "watch"} and all(v.shape == (10,) for v in out.values())
    like = model.predict(x)["like"]
    assert np.corrcoef(like, p_like)[0, 1] > 0.8
    assert report["ece_like"] < 0.1 and {f"ece_{h}" for h in HEADS} <= set(report)


def test_blend_is_configuration() -> None:
    preds = {"like": np.array([0.1, 0.9]), "skip": np.array([0.8, 0.1])}
    assert list(Blend({"like": 1.0, "skip": -1.0}).score(preds).round(3)) == [-0.7, 0.8]
    assert list(Blend({"skip": 1.0}).score(preds).round(3)) == [0.8, 0.1]
