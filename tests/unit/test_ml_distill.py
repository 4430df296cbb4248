"""Distillation: one student network keeps the ensemble's ranking quality and calibration."""

from __future__ import annotations

import numpy as np

from ml.distill import assess, distill_ranker, soft_targets
from ml.ranker import HEADS, MultiTaskRanker, RankerConfig, train_ranker_ensemble


def _task(n: int, seed: int) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 6)).astype(np.float32)
    p_like = 1 / (1 + np.exp(-(2 * x[:, 0] - x[:, 1] - 2.5)))
    y = np.zeros((n, len(HEADS)), np.float32)
    y[:, HEADS.index("like")] = rng.random(n) < p_like
    y[:, HEADS.index("skip")] = rng.random(n) < 1 / (1 + np.exp(-(x[:, 2] - 1)))
    return x, y, np.ones_like(y), np.abs(x[:, 3]).astype(np.float32), np.ones(n, np.float32)


def test_soft_targets_mix_labels_and_shift_teacher_odds_to_the_sampled_rows() -> None:
    y = np.zeros((2, len(HEADS)), np.float32)
    y[0, 1] = 1.0

    def teacher(x: np.ndarray) -> dict[str, np.ndarray]:
        return {**{h: np.full(len(x), 0.1) for h in HEADS}, "watch": np.full(len(x), 2.0)}

    t, w = soft_targets(teacher, np.zeros((2, 3), np.float32), y, np.array([4.0, 0.0]), np.array([1.0, 0.0]),
                        alpha=0.5, neg_keep=0.5)
    shifted = 0.1 / (0.1 + 0.9 * 0.5)  # odds doubled: half the negatives were dropped
    assert np.isclose(t[1, 0], 0.5 * shifted) and np.isclose(t[0, 1], 0.5 + 0.5 * shifted)
    assert np.allclose(w, [3.0, 2.0])


def test_student_keeps_the_ensembles_auc_and_calibration() -> None:
    x, y, m, w, wm = _task(6_000, 0)
    is_val = np.random.default_rng(1).random(len(x)) < 0.3
    cfg = RankerConfig(epochs=8, batch=128, neg_keep=0.5)
    teacher, _ = train_ranker_ensemble(x, y, m, w, wm, members=2, cfg=cfg, is_val=is_val)
    student, report = distill_ranker(teacher, x, y, m, w, wm, is_val=is_val, cfg=cfg)
    assert isinstance(student, MultiTaskRanker)
    xt, yt, mt, _, _ = _task(6_000, 2)  # fresh rows
    before = assess(teacher.predict, xt, yt, mt, "")
    after = assess(student.predict, xt, yt, mt, "")
    assert after["auc_like"] > before["auc_like"] - 0.02 and after["auc_like"] > 0.8
    assert after["ece_like"] < 0.06 and report["ece_like"] < 0.06
    assert set(student.predict(xt[:5])) == {*HEADS, "watch"}
