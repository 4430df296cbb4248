"""Model code shared by the trainer, the deployments and the offline evaluation (towers, ranker, tables)."""

from __future__ import annotations

__all__ = ["device"]


def device() -> str:
    """``cuda`` when a GPU is visible to torch, else ``cpu`` (training and batch scoring use it)."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"
