"""What a scorer sees about one video (frames, text, fingerprints, account context) and the Scorer protocol.

``ModerationInputs`` is built by the port from a transcoded video (keyframes decoded from its lowest
rendition) and travels to the Serve deployment as is (msgspec structs pickle). ``Scorer.score`` returns
a score in [0, 1] or ``None`` = unscored; ``None`` never means "safe".
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import msgspec
import numpy as np
import numpy.typing as npt

__all__ = [
    "AccountContext",
    "BatchScorer",
    "Frame",
    "ModerationInputs",
    "ScoreSet",
    "Scorer",
    "score_many",
]


class Frame(msgspec.Struct, frozen=True, kw_only=True):
    """One decoded keyframe as packed RGB24 bytes (small: the lowest rendition, at most a few hundred px)."""

    t: float
    width: int
    height: int
    rgb: bytes

    def array(self) -> npt.NDArray[np.uint8]:
        return np.frombuffer(self.rgb, dtype=np.uint8).reshape(self.height, self.width, 3)

    @classmethod
    def from_array(cls, t: float, rgb: npt.NDArray[np.uint8]) -> Frame:
        h, w = rgb.shape[:2]
        return cls(t=t, width=int(w), height=int(h), rgb=np.ascontiguousarray(rgb, dtype=np.uint8).tobytes())


class AccountContext(msgspec.Struct, frozen=True, kw_only=True):
    """What the log says about the uploader at upload time (``None``: not known)."""

    account_age_s: float | None = None
    uploads_last_hour: int = 0
    language: str | None = None


class ModerationInputs(msgspec.Struct, frozen=True, kw_only=True):
    video_id: str
    creator_id: str = ""
    uploaded_at_us: int = 0
    frames: tuple[Frame, ...] = ()
    caption: str = ""
    hashtags: tuple[str, ...] = ()
    comments: tuple[str, ...] = ()
    audio_fingerprint: str | None = None
    has_audio: bool = True
    video_fingerprint: tuple[str, ...] = ()
    account: AccountContext = AccountContext()
    #: Why frames are missing, when they are (shown with an unscored nudity category).
    frames_note: str = ""


class ScoreSet(msgspec.Struct, frozen=True, kw_only=True):
    """Scores per category (``None``: unscored), the model version behind each, and a short note each."""

    scores: dict[str, float | None]
    versions: dict[str, str]
    notes: dict[str, str] = {}


@runtime_checkable
class Scorer(Protocol):
    """One category of the ensemble; ``name`` is the category, ``version`` goes into the events."""

    name: str
    version: str

    def score(self, inputs: ModerationInputs) -> float | None: ...


@runtime_checkable
class BatchScorer(Scorer, Protocol):
    """A scorer that is cheaper per video in batches (one model call for many videos)."""

    def score_batch(self, batch: Sequence[ModerationInputs]) -> list[float | None]: ...


def score_many(scorer: Scorer, batch: Sequence[ModerationInputs]) -> list[float | None]:
    """``scorer`` over a batch: its ``score_batch`` when it has one, else one call per video."""
    if isinstance(scorer, BatchScorer):
        return scorer.score_batch(batch)
    return [scorer.score(x) for x in batch]
