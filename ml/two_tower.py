"""Two-tower retrieval: a user tower and a video tower in one 64-d space, trained with in-batch softmax.

Video tower: the content row (``content.content_matrix``) through an MLP, plus a learned ID
embedding (row 0 = "no id": a new video is its content alone), L2-normalised.
User tower: two engagement-weighted pools of the video tower's outputs — the recent history (last
``recent`` engaged videos) and the long-term one (every engaged video, decayed) — and the user's
context (region / language / age buckets), mixed by a linear layer and normalised.

Loss (``sampled_softmax_loss``): the other positives of the batch are the negatives, plus one hard
negative per row (a video the user skipped or marked not interested). In-batch negatives are drawn
in proportion to popularity, so each logit is corrected by ``-log q(video)`` (Yi et al., 2019,
"Sampling-bias-corrected neural modeling"): without it popular videos are over-penalised.
Training runs on CUDA when torch sees a GPU.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["TowerConfig", "TwoTower", "UserTower", "VideoTower", "sampled_softmax_loss", "train_two_tower"]


@dataclass(frozen=True, slots=True)
class TowerConfig:
    dim: int = 64
    hidden: int = 128
    ctx_dim: int = 24
    temperature: float = 0.05
    lr: float = 3e-3
    epochs: int = 3
    batch: int = 512
    weight_decay: float = 1e-6
    seed: int = 0


class VideoTower(nn.Module):
    def __init__(self, n_ids: int, content_dim: int, cfg: TowerConfig) -> None:
        super().__init__()
        self.id_emb = nn.Embedding(n_ids + 1, cfg.dim, padding_idx=0)
        nn.init.normal_(self.id_emb.weight, std=0.01)
        with torch.no_grad():
            self.id_emb.weight[0].zero_()
        self.content = nn.Sequential(
            nn.Linear(content_dim, cfg.hidden), nn.ReLU(), nn.Linear(cfg.hidden, cfg.dim)
        )

    def forward(self, ids: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.content(content) + self.id_emb(ids), dim=-1)


class UserTower(nn.Module):
    def __init__(self, cfg: TowerConfig) -> None:
        super().__init__()
        self.ctx = nn.Sequential(nn.Linear(cfg.ctx_dim, cfg.dim), nn.ReLU())
        self.mix = nn.Linear(3 * cfg.dim, cfg.dim)

    @staticmethod
    def pool(vecs: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """Weighted mean over the history axis: vecs (B, L, D), weights (B, L) (0 = padding)."""
        w = weights.unsqueeze(-1)
        return (vecs * w).sum(1) / w.sum(1).clamp_min(1e-6)

    def forward(
        self,
        recent: torch.Tensor,
        recent_w: torch.Tensor,
        longterm: torch.Tensor,
        longterm_w: torch.Tensor,
        ctx: torch.Tensor,
    ) -> torch.Tensor:
        x = torch.cat([self.pool(recent, recent_w), self.pool(longterm, longterm_w), self.ctx(ctx)], dim=-1)
        return F.normalize(self.mix(x), dim=-1)


class TwoTower(nn.Module):
    """Both towers; histories are given as video row indices into the same content/id tables."""

    def __init__(self, n_ids: int, content_dim: int, cfg: TowerConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.video = VideoTower(n_ids, content_dim, cfg)
        self.user = UserTower(cfg)

    def video_vectors(self, ids: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.video(ids, content)
        return out

    def user_vectors(
        self,
        table: torch.Tensor,
        hist: torch.Tensor,
        hist_w: torch.Tensor,
        long_hist: torch.Tensor,
        long_w: torch.Tensor,
        ctx: torch.Tensor,
    ) -> torch.Tensor:
        """``table``: every video's vector (V, D); hist / long_hist: (B, L) rows into it, -1 = padding."""
        out: torch.Tensor = self.user(
            table[hist.clamp_min(0)],
            hist_w * (hist >= 0),
            table[long_hist.clamp_min(0)],
            long_w * (long_hist >= 0),
            ctx,
        )
        return out


def sampled_softmax_loss(
    user: torch.Tensor,
    pos: torch.Tensor,
    log_q: torch.Tensor,
    temperature: float,
    hard_neg: torch.Tensor | None = None,
    hard_mask: torch.Tensor | None = None,
    hard_log_q: torch.Tensor | None = None,
) -> torch.Tensor:
    """In-batch softmax with logQ correction: row i's positive is column i; other columns are negatives.

    ``log_q`` (B,) is the log sampling probability of each in-batch positive; subtracting it from every
    logit of that column makes the loss an unbiased estimate of the full softmax's. Duplicate positives
    in a batch are not treated as negatives of each other.
    """
    logits = user @ pos.T / temperature - log_q.unsqueeze(0)
    same = (pos @ pos.T) > 0.9999  # the same video twice in a batch
    eye = torch.eye(len(user), dtype=torch.bool, device=user.device)
    logits = logits.masked_fill(same & ~eye, float("-inf"))
    if hard_neg is not None:
        hq = hard_log_q if hard_log_q is not None else torch.zeros(len(user), device=user.device)
        hl = (user * hard_neg).sum(-1, keepdim=True) / temperature - hq.unsqueeze(-1)
        if hard_mask is not None:
            hl = hl.masked_fill(~hard_mask.unsqueeze(-1), float("-inf"))
        logits = torch.cat([logits, hl], dim=1)
    target = torch.arange(len(user), device=user.device)
    return F.cross_entropy(logits, target)


@dataclass(frozen=True, slots=True)
class TowerData:
    """Training examples as row indices: one row per positive engagement (history strictly before it)."""

    pos: np.ndarray  # (N,) video rows
    hist: np.ndarray  # (N, L) recent history rows, -1 padding
    hist_w: np.ndarray  # (N, L)
    long_hist: np.ndarray  # (N, LL)
    long_w: np.ndarray
    ctx: np.ndarray  # (N, ctx_dim)
    hard: np.ndarray  # (N,) a skipped / disliked video row of the same user, -1 if none


def train_two_tower(
    model: TwoTower,
    data: TowerData,
    video_ids: np.ndarray,
    content: np.ndarray,
    pos_counts: np.ndarray,
    *,
    device: str = "cpu",
    log: list[float] | None = None,
) -> TwoTower:
    """Train in place; ``video_ids``/``content`` are per video row; ``pos_counts`` feed the logQ term."""
    cfg = model.cfg
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    model.to(device).train()
    t_ids = torch.as_tensor(video_ids, device=device)
    t_content = torch.as_tensor(content, device=device)
    q = (pos_counts + 1.0) / float((pos_counts + 1.0).sum())
    t_logq = torch.as_tensor(np.log(q), dtype=torch.float32, device=device)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    n = len(data.pos)

    def t(a: np.ndarray, idx: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(a[idx], device=device)

    for _ in range(cfg.epochs):
        order = rng.permutation(n)
        for s in range(0, n - 1, cfg.batch):
            idx = order[s : s + cfg.batch]
            if len(idx) < 2:
                continue
            pos, hard = t(data.pos, idx), t(data.hard, idx)
            hist, long_hist = t(data.hist, idx), t(data.long_hist, idx)
            # embed only the videos this batch touches, then index into that small table
            used, inv = torch.unique(
                torch.cat(
                    [pos, hard.clamp_min(0), hist.clamp_min(0).flatten(), long_hist.clamp_min(0).flatten()]
                ),
                return_inverse=True,
            )
            table = model.video_vectors(t_ids[used], t_content[used])
            b, lr, ll = len(idx), hist.shape[1], long_hist.shape[1]
            p_i, h_i = inv[:b], inv[b : 2 * b]
            hist_i = torch.where(hist >= 0, inv[2 * b : 2 * b + b * lr].view(b, lr), -1)
            long_i = torch.where(long_hist >= 0, inv[2 * b + b * lr :].view(b, ll), -1)
            u = model.user_vectors(
                table, hist_i, t(data.hist_w, idx), long_i, t(data.long_w, idx), t(data.ctx, idx)
            )
            v = table[p_i]
            hv = table[h_i]
            loss = sampled_softmax_loss(
                u, v, t_logq[pos], cfg.temperature, hv, hard >= 0, t_logq[hard.clamp_min(0)]
            )
            opt.zero_grad()
            loss.backward()  # type: ignore[no-untyped-call]
            opt.step()
            if log is not None:
                log.append(float(loss.detach()))
    model.eval()
    return model
