"""Two-tower shapes, the logQ-corrected in-batch softmax, and training on a toy task."""

from __future__ import annotations

import math

import numpy as np
import torch

from ml.two_tower import TowerConfig, TowerData, TwoTower, sampled_softmax_loss, train_two_tower


def test_shapes_and_unit_norm() -> None:
    cfg = TowerConfig(dim=8, hidden=16, ctx_dim=4)
    m = TwoTower(n_ids=5, content_dim=6, cfg=cfg)
    ids, content = torch.arange(6), torch.randn(6, 6)
    table = m.video_vectors(ids, content)
    assert table.shape == (6, 8) and torch.allclose(table.norm(dim=-1), torch.ones(6), atol=1e-5)
    hist = torch.tensor([[0, 1, -1], [2, -1, -1]])
    u = m.user_vectors(table, hist, torch.ones(2, 3), hist, torch.ones(2, 3), torch.zeros(2, 4))
    assert u.shape == (2, 8) and torch.allclose(u.norm(dim=-1), torch.ones(2), atol=1e-5)
    # padding (-1) carries no weight: changing what a padded slot points at changes nothing
    u2 = m.user_vectors(
        table,
        torch.tensor([[0, 1, -1], [2, -1, -1]]),
        torch.ones(2, 3),
        hist,
        torch.ones(2, 3),
        torch.zeros(2, 4),
    )
    assert torch.allclose(u, u2)


def test_logq_correction_is_a_per_column_shift() -> None:
    torch.manual_seed(0)
    u = torch.nn.functional.normalize(torch.randn(4, 8), dim=-1)
    v = torch.nn.functional.normalize(torch.randn(4, 8), dim=-1)
    logq = torch.log(torch.tensor([0.5, 0.25, 0.125, 0.125]))
    loss = sampled_softmax_loss(u, v, logq, temperature=0.5)
    logits = u @ v.T / 0.5 - logq.unsqueeze(0)
    expected = -torch.log_softmax(logits, dim=1).diagonal().mean()
    assert math.isclose(float(loss), float(expected), rel_tol=1e-5)
    # with uniform q the correction cancels out (a constant shift of every logit)
    uniform = sampled_softmax_loss(u, v, torch.full((4,), math.log(0.25)), temperature=0.5)
    plain = -torch.log_softmax(u @ v.T / 0.5, dim=1).diagonal().mean()
    assert math.isclose(float(uniform), float(plain), rel_tol=1e-5)
    # popular columns are penalised less as negatives: raising q of column 0 lowers the loss of row 1
    skew = torch.log(torch.tensor([0.97, 0.01, 0.01, 0.01]))
    rows_plain = -torch.log_softmax(u @ v.T / 0.5 - math.log(0.25), dim=1).diagonal()
    rows_skew = -torch.log_softmax(u @ v.T / 0.5 - skew.unsqueeze(0), dim=1).diagonal()
    assert rows_skew[1] < rows_plain[1]


def test_hard_negatives_add_a_column_and_can_be_masked() -> None:
    u = torch.nn.functional.normalize(torch.randn(3, 4), dim=-1)
    v = torch.nn.functional.normalize(torch.randn(3, 4), dim=-1)
    logq = torch.zeros(3)
    base = sampled_softmax_loss(u, v, logq, 1.0)
    masked = sampled_softmax_loss(
        u, v, logq, 1.0, hard_neg=u.clone(), hard_mask=torch.zeros(3, dtype=torch.bool)
    )
    harder = sampled_softmax_loss(
        u, v, logq, 1.0, hard_neg=u.clone(), hard_mask=torch.ones(3, dtype=torch.bool)
    )
    assert math.isclose(float(base), float(masked), rel_tol=1e-6) and float(harder) > float(base)


def test_loss_decreases_on_a_toy_task() -> None:
    # 4 topics x 5 videos; each user engages with one topic: the next positive is from the same topic
    rng = np.random.default_rng(0)
    n_videos, topics = 20, 4
    content = np.zeros((n_videos, topics), dtype=np.float32)
    for v in range(n_videos):
        content[v, v % topics] = 1.0
    pos, hist = [], []
    for _ in range(400):
        t = int(rng.integers(topics))
        members = [v for v in range(n_videos) if v % topics == t]
        h = rng.choice(members, size=3).tolist()
        pos.append(int(rng.choice(members)))
        hist.append(h)
    h = np.array(hist, dtype=np.int64)
    w = np.ones_like(h, dtype=np.float32)
    data = TowerData(
        pos=np.array(pos),
        hist=h,
        hist_w=w,
        long_hist=h,
        long_w=w,
        ctx=np.zeros((len(pos), 4), np.float32),
        hard=np.full(len(pos), -1),
    )
    cfg = TowerConfig(dim=8, hidden=16, ctx_dim=4, epochs=15, batch=64, lr=1e-2, temperature=0.2)
    model = TwoTower(n_videos, topics, cfg)
    losses: list[float] = []
    train_two_tower(model, data, np.arange(1, n_videos + 1), content, np.ones(n_videos), log=losses)
    assert np.mean(losses[-5:]) < 0.8 * np.mean(losses[:5])


def test_platform_state_rebuilds_the_same_tower() -> None:
    """Two builds of the same events give the same video vectors (``reel eval`` runs are repeatable)."""
    from events import UserRegistered, VideoDetailsSubmitted, VideoPublished, ViewEnded
    from ml.recommend import PlatformState, RecConfig, text_encoder

    rng = np.random.default_rng(0)
    ev: list = [UserRegistered(event_id=f"u{u}", ts=1 + u, user_id=f"u{u}") for u in range(12)]
    for v in range(24):
        ev += [VideoDetailsSubmitted(event_id=f"d{v}", ts=100 + v, video_id=f"v{v}", creator_id=f"c{v % 3}",
                                     hashtags=(f"t{v % 3}",)),
               VideoPublished(event_id=f"p{v}", ts=200 + v, video_id=f"v{v}", creator_id=f"c{v % 3}")]
    for i in range(400):
        u, v = int(rng.integers(12)), int(rng.integers(24))
        watch = 10_000 if u % 3 == v % 3 else 800
        ev.append(ViewEnded(event_id=f"w{i}", ts=1_000 + i, user_id=f"u{u}", video_id=f"v{v}", watch_ms=watch,
                            duration_ms=10_000))
    cfg = RecConfig(text="hashing")
    torch.manual_seed(1)
    a = PlatformState.build(ev, 2_000, cfg, text=text_encoder("hashing"))
    torch.manual_seed(2)  # whatever the global RNG holds
    b = PlatformState.build(ev, 2_000, cfg, text=text_encoder("hashing"))
    np.testing.assert_allclose(a.video_vecs, b.video_vecs, atol=1e-5)  # (thread-order float noise only)
