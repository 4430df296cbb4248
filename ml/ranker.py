"""The multi-task ranker: an MMoE over user, video, cross and context features, with calibrated heads.

Heads: P(complete), P(like), P(share), P(comment), P(follow), P(skip) and expected watch time (log
seconds). Experts are shared; each task mixes them through its own softmax gate (Ma et al., 2018,
"Modeling Task Relationships in Multi-task Learning with Multi-gate Mixture-of-Experts").
Labels may be missing per head (mask), so one model learns from whatever outcomes a row has.

Calibration: one Platt scaling (a, b) per head, fitted on a validation split after training, so
``predict`` returns probabilities; ``ece`` reports the expected calibration error. The final score
is a configurable weighted blend of the calibrated heads (``Blend``). Trains on CUDA when torch sees
a GPU; scoring a page is one batched forward under ``torch.inference_mode``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "HEADS",
    "Blend",
    "MultiTaskRanker",
    "RankerConfig",
    "RankerEnsemble",
    "ece",
    "fit_platt",
    "train_ranker",
    "train_ranker_ensemble",
]

HEADS = ("complete", "like", "share", "comment", "follow", "skip")


def _default_weights() -> dict[str, float]:
    return {
        "like": 1.0,
        "complete": 0.3,
        "share": 0.5,
        "comment": 0.3,
        "follow": 0.5,
        "skip": -0.5,
        "watch": 0.0,
    }


@dataclass(frozen=True, slots=True)
class Blend:
    """Final score = sum of weight x calibrated probability per head (+ weight x expected log watch)."""

    weights: dict[str, float] = field(default_factory=_default_weights)

    def score(self, preds: dict[str, np.ndarray]) -> np.ndarray:
        n = len(next(iter(preds.values())))
        out = np.zeros(n, dtype=np.float64)
        for head, w in self.weights.items():
            if w and head in preds:
                out += w * preds[head]
        return out


@dataclass(frozen=True, slots=True)
class RankerConfig:
    experts: int = 4
    expert_dim: int = 32
    tower_dim: int = 16
    lr: float = 2e-3
    epochs: int = 6
    batch: int = 1024
    weight_decay: float = 1e-5
    dropout: float = 0.1
    neg_keep: float = 0.15  # share of label-free training rows kept (validation rows are all kept)
    seed: int = 0


class MultiTaskRanker(nn.Module):
    mean: torch.Tensor
    std: torch.Tensor
    platt: torch.Tensor

    def __init__(self, n_features: int, cfg: RankerConfig = RankerConfig()) -> None:
        super().__init__()
        self.cfg = cfg
        self.n_features = n_features
        self.register_buffer("mean", torch.zeros(n_features))
        self.register_buffer("std", torch.ones(n_features))
        self.register_buffer("platt", torch.tensor([[1.0, 0.0]] * len(HEADS)))
        e, d, t, h = cfg.experts, cfg.expert_dim, len(HEADS) + 1, cfg.tower_dim
        self.tasks = t
        # experts, gates and task towers are stacked tensors: a page is a handful of batched ops
        self.w1 = nn.Parameter(torch.empty(e, n_features, d))
        self.b1 = nn.Parameter(torch.zeros(e, d))
        self.w2 = nn.Parameter(torch.empty(e, d, d))
        self.b2 = nn.Parameter(torch.zeros(e, d))
        self.gate = nn.Linear(n_features, t * e)
        self.t1 = nn.Parameter(torch.empty(t, d, h))
        self.tb1 = nn.Parameter(torch.zeros(t, h))
        self.t2 = nn.Parameter(torch.empty(t, h))
        self.tb2 = nn.Parameter(torch.zeros(t))
        for w, fan_in in ((self.w1, n_features), (self.w2, d), (self.t1, d), (self.t2, h)):
            nn.init.uniform_(w, -1.0 / fan_in**0.5, 1.0 / fan_in**0.5)
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Raw outputs (B, 7): one logit per head in ``HEADS`` order, then log1p(watch seconds)."""
        x = (x - self.mean) / self.std
        ex = torch.relu(torch.einsum("bf,efd->bed", x, self.w1) + self.b1)
        ex = torch.relu(torch.einsum("bed,edk->bek", self.drop(ex), self.w2) + self.b2)  # (B, E, D)
        g = torch.softmax(self.gate(x).view(len(x), self.tasks, -1), dim=-1)  # (B, T, E)
        mix = torch.bmm(g, ex)  # (B, T, D): each task's own mixture of the experts
        hid = torch.relu(torch.einsum("btd,tdh->bth", mix, self.t1) + self.tb1)
        return (hid * self.t2).sum(-1) + self.tb2

    def predict(self, x: np.ndarray | torch.Tensor) -> dict[str, np.ndarray]:
        """Calibrated probability per head and expected ``watch`` (log1p seconds)."""
        dev = self.mean.device
        with torch.inference_mode():
            t = torch.as_tensor(x, dtype=torch.float32, device=dev)
            raw = self(t)
            logits = raw[:, : len(HEADS)] * self.platt[:, 0] + self.platt[:, 1]
            probs = torch.sigmoid(logits).cpu().numpy()
        out = {h: probs[:, i] for i, h in enumerate(HEADS)}
        out["watch"] = raw[:, -1].cpu().numpy()
        return out


def _loss(
    out: torch.Tensor, y: torch.Tensor, mask: torch.Tensor, watch: torch.Tensor, wmask: torch.Tensor
) -> torch.Tensor:
    k = len(HEADS)
    bce = F.binary_cross_entropy_with_logits(out[:, :k], y, reduction="none") * mask
    loss = bce.sum() / mask.sum().clamp_min(1.0)
    if wmask.any():
        loss = loss + ((out[:, k] - watch) ** 2 * wmask).sum() / wmask.sum()
    return loss


def fit_platt(logits: np.ndarray, labels: np.ndarray, iters: int = 200) -> tuple[float, float]:
    """Platt scaling: (a, b) minimising the log loss of sigmoid(a * logit + b) on a validation split."""
    if len(labels) == 0 or labels.min() == labels.max():
        return 1.0, 0.0
    z = torch.as_tensor(logits, dtype=torch.float64)
    y = torch.as_tensor(labels, dtype=torch.float64)
    ab = torch.tensor([1.0, 0.0], dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([ab], lr=0.5, max_iter=iters)

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = F.binary_cross_entropy_with_logits(ab[0] * z + ab[1], y)
        loss.backward()  # type: ignore[no-untyped-call]
        return loss

    opt.step(closure)  # type: ignore[no-untyped-call]
    a, b = (float(v) for v in ab.detach())
    return (a, b) if np.isfinite(a) and np.isfinite(b) else (1.0, 0.0)


def ece(probs: np.ndarray, labels: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error: |mean prediction - positive rate| per equal-width bin, weighted."""
    if len(probs) == 0:
        return 0.0
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(probs, edges[1:-1]), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        sel = which == b
        if sel.any():
            total += sel.mean() * abs(float(probs[sel].mean()) - float(labels[sel].mean()))
    return total


def _train_rows(tr: np.ndarray, mask: np.ndarray, head: int) -> np.ndarray:
    return np.flatnonzero(tr & (mask[:, head] > 0))


def train_ranker(
    x: np.ndarray,
    y: np.ndarray,
    mask: np.ndarray,
    watch: np.ndarray,
    wmask: np.ndarray,
    *,
    cfg: RankerConfig = RankerConfig(),
    val_fraction: float = 0.2,
    device: str = "cpu",
    groups: np.ndarray | None = None,
    is_val: np.ndarray | None = None,
    soft: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[MultiTaskRanker, dict[str, float]]:
    """Train on rows x (N, F) with labels y / mask (N, 6), watch / wmask (N,); calibrate on a held-out
    split (``is_val``, else by ``groups``, e.g. users, when given). Returns the model and per-head
    validation ECE.

    ``soft`` = (targets (N, 6) in [0, 1], watch targets (N,)) replaces the labels in the training loss
    (distillation, ``ml.distill``; every row then has a watch target); negative sampling and
    calibration still use the hard labels ``y``."""
    rng = np.random.default_rng(cfg.seed)
    torch.manual_seed(cfg.seed)
    if is_val is not None:
        pass
    elif groups is not None:
        uniq = np.unique(groups)
        val_groups = set(rng.choice(uniq, size=max(1, int(len(uniq) * val_fraction)), replace=False).tolist())
        is_val = np.array([g in val_groups for g in groups])
    else:
        is_val = rng.random(len(x)) < val_fraction
    model = MultiTaskRanker(x.shape[1], cfg)
    tr = ~is_val
    model.mean.copy_(torch.as_tensor(x[tr].mean(0), dtype=torch.float32))
    std = x[tr].std(0)
    std = np.where(std < 1e-6, 1.0, std + 1e-6)  # a column constant in training stays as it is (scale 1)
    model.std.copy_(torch.as_tensor(std, dtype=torch.float32))
    model.to(device).train()
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    tx = torch.as_tensor(x, dtype=torch.float32, device=device)
    ty = torch.as_tensor(y if soft is None else soft[0], dtype=torch.float32, device=device)
    tm = torch.as_tensor(mask, dtype=torch.float32, device=device)
    tw = torch.as_tensor(watch if soft is None else soft[1], dtype=torch.float32, device=device)
    twm = torch.as_tensor(wmask if soft is None else np.ones(len(x)), dtype=torch.float32, device=device)
    # negative downsampling of the training rows only: calibration below runs on untouched rows
    keep = tr & ((y.max(1) > 0) | (rng.random(len(x)) < cfg.neg_keep))
    idx_tr = np.flatnonzero(keep)
    for _ in range(cfg.epochs):
        order = rng.permutation(idx_tr)
        for s in range(0, len(order), cfg.batch):
            bt = torch.as_tensor(order[s : s + cfg.batch], device=device)
            loss = _loss(model(tx[bt]), ty[bt], tm[bt], tw[bt], twm[bt])
            opt.zero_grad()
            loss.backward()  # type: ignore[no-untyped-call]
            opt.step()
    model.eval()
    report: dict[str, float] = {}
    idx_val = np.flatnonzero(is_val)
    with torch.inference_mode():
        raw = model(tx[idx_val]).cpu().numpy() if len(idx_val) else np.zeros((0, len(HEADS) + 1))
    prior = (1.0, float(np.log(cfg.neg_keep)))  # undoes the negative downsampling's shift of the odds
    # Platt on one half of the validation rows, the reported ECE on the other half
    fit_half = rng.random(len(idx_val)) < 0.5
    for i, h in enumerate(HEADS):
        sel = mask[idx_val, i] > 0
        fit, rep = sel & fit_half, sel & ~fit_half
        yf = y[idx_val][fit, i]
        if y[_train_rows(tr, mask, i), i].sum() == 0:
            a, b = 0.0, -20.0  # never observed: a constant ~0 instead of an untrained guess
        elif yf.sum() >= 10 and (1 - yf).sum() >= 10:
            a, b = fit_platt(raw[fit, i], yf)
            if a <= 0.0:
                a, b = prior
        else:
            a, b = prior
        model.platt[i] = torch.tensor([a, b])
        p = 1.0 / (1.0 + np.exp(-(a * raw[rep, i] + b)))
        report[f"ece_{h}"] = ece(p, y[idx_val][rep, i])
        report[f"positives_{h}"] = float(y[idx_val][rep, i].sum())
    return model.cpu(), report


class RankerEnsemble:
    """Bagging of ``MultiTaskRanker``s trained with different seeds: calibrated heads averaged.

    Each member sees a different initialisation and negative sample, so the average is far less
    dependent on one lucky (or unlucky) training run — with a few thousand positives, single runs
    vary a lot."""

    def __init__(self, members: list[MultiTaskRanker]) -> None:
        import copy

        from torch.func import stack_module_state

        self.members = members
        self.n_features = members[0].n_features
        for m in members:
            m.eval()
        # every member in one vectorised forward (torch.func.vmap over stacked parameters)
        self._params, self._buffers = stack_module_state(members)
        self._base = copy.deepcopy(members[0]).to("meta")

    def predict(self, x: np.ndarray | torch.Tensor) -> dict[str, np.ndarray]:
        from torch.func import functional_call

        def one(p: dict[str, torch.Tensor], b: dict[str, torch.Tensor], t: torch.Tensor) -> torch.Tensor:
            return functional_call(self._base, (p, b), (t,))  # type: ignore[no-any-return]

        with torch.inference_mode():
            t = torch.as_tensor(x, dtype=torch.float32)
            raw = torch.vmap(one, in_dims=(0, 0, None))(self._params, self._buffers, t)  # (M, B, 7)
            platt = self._buffers["platt"]  # (M, 6, 2)
            k = len(HEADS)
            probs = torch.sigmoid(raw[:, :, :k] * platt[:, None, :, 0] + platt[:, None, :, 1]).mean(0).numpy()
            watch = raw[:, :, k].mean(0).numpy()
        out = {h: probs[:, i] for i, h in enumerate(HEADS)}
        out["watch"] = watch
        return out

    def state_dict(self) -> dict[str, object]:
        return {f"member{i}": m.state_dict() for i, m in enumerate(self.members)}


def train_ranker_ensemble(
    x: np.ndarray,
    y: np.ndarray,
    mask: np.ndarray,
    watch: np.ndarray,
    wmask: np.ndarray,
    *,
    members: int = 5,
    cfg: RankerConfig = RankerConfig(),
    device: str = "cpu",
    groups: np.ndarray | None = None,
    is_val: np.ndarray | None = None,
) -> tuple[RankerEnsemble, dict[str, float]]:
    """``members`` rankers with seeds ``cfg.seed + i``; the report averages their validation figures."""
    from dataclasses import replace

    models, reports = [], []
    for i in range(members):
        m, r = train_ranker(x, y, mask, watch, wmask, cfg=replace(cfg, seed=cfg.seed + i), device=device,
                            groups=groups, is_val=is_val)
        models.append(m)
        reports.append(r)
    return RankerEnsemble(models), {k: float(np.mean([r[k] for r in reports])) for k in reports[0]}
