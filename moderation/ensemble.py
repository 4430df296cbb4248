"""The ensemble: every category's scorer over a batch of videos, plug-ins loaded from configuration.

``Ensemble.score_batch`` runs each scorer once per batch (one image-model call for every keyframe of
the batch) and returns a ``ScoreSet`` per video. A scorer that raises leaves its category unscored
(``None``, with the error in the note) rather than failing the batch: the policy then holds the video
for review, so a broken model never approves anything by omission.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import Any

import msgspec
import structlog

from .config import CATEGORIES, ModerationConfig
from .errors import PluginError
from .inputs import AccountContext, ModerationInputs, Scorer, ScoreSet, score_many
from .references import References

__all__ = ["Ensemble", "default_scorers", "load_plugin"]

log = structlog.get_logger("moderation.ensemble")


def load_plugin(category: str, target: str) -> Scorer:
    module_name, _, attr = target.partition(":")
    try:
        cls = getattr(importlib.import_module(module_name), attr)
        scorer = cls()
    except Exception as exc:
        raise PluginError(category=category, target=target, detail=f"{type(exc).__name__}: {exc}") from exc
    if not isinstance(scorer, Scorer):
        raise PluginError(category=category, target=target, detail="it lacks name, version or score()")
    return scorer


def default_scorers(config: ModerationConfig, refs: References) -> dict[str, Scorer]:
    from .scorers.copyright import CopyrightScorer
    from .scorers.nudity import NudityScorer
    from .scorers.spam import SpamScorer
    from .scorers.text import TextScorer
    from .scorers.violence import UnscoredViolence

    built: dict[str, Scorer] = {}
    for category, target in config.plugins.items():
        built[category] = load_plugin(category, target)
    defaults: dict[str, Any] = {
        "nudity": NudityScorer,
        "text": lambda: TextScorer(config.languages),
        "copyright": lambda: CopyrightScorer(refs),
        "spam": lambda: SpamScorer(refs, config.near_duplicate),
        "violence": UnscoredViolence,
    }
    for category in CATEGORIES:
        if category not in built:
            built[category] = defaults[category]()
    return built


class Ensemble:
    def __init__(
        self,
        config: ModerationConfig | None = None,
        refs: References | None = None,
        scorers: dict[str, Scorer] | None = None,
    ) -> None:
        self.config = config or ModerationConfig()
        self.refs = refs if refs is not None else References()
        self.scorers = scorers if scorers is not None else default_scorers(self.config, self.refs)

    @property
    def versions(self) -> dict[str, str]:
        return {c: s.version for c, s in self.scorers.items()}

    def score(self, inputs: ModerationInputs) -> ScoreSet:
        return self.score_batch([inputs])[0]

    def with_context(self, x: ModerationInputs) -> ModerationInputs:
        """The inputs with the uploader's account context from the log (when the caller sent none)."""
        if x.account != AccountContext() or not x.creator_id:
            return x
        at = self.refs.upload_at.get(x.video_id, x.uploaded_at_us)
        return msgspec.structs.replace(x, account=self.refs.account(x.creator_id, at), uploaded_at_us=at)

    def score_batch(self, batch: Sequence[ModerationInputs]) -> list[ScoreSet]:
        batch = [self.with_context(x) for x in batch]
        scores: list[dict[str, float | None]] = [{} for _ in batch]
        notes: list[dict[str, str]] = [{} for _ in batch]
        for category, scorer in self.scorers.items():
            try:
                results = _assess(scorer, batch)
            except Exception as exc:  # a broken model leaves its category unscored (-> review)
                log.error("scorer failed", category=category, error=repr(exc))
                results = [(None, f"scorer error: {type(exc).__name__}: {exc}"[:300])] * len(batch)
            for i, (score, note) in enumerate(results):
                scores[i][category] = None if score is None else float(min(1.0, max(0.0, score)))
                if note:
                    notes[i][category] = note
        versions = self.versions
        return [
            ScoreSet(scores=s, versions=dict(versions), notes=n) for s, n in zip(scores, notes, strict=True)
        ]


def _assess(scorer: Scorer, batch: Sequence[ModerationInputs]) -> list[tuple[float | None, str]]:
    assess_batch = getattr(scorer, "assess_batch", None)
    if assess_batch is not None:
        return list(assess_batch(batch))
    assess = getattr(scorer, "assess", None)
    if assess is not None:
        return [assess(x) for x in batch]
    return [(s, "") for s in score_many(scorer, batch)]
