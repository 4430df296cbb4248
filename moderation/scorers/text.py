"""Hate/abuse in text (caption, hashtags, comments): a bundled model plus word lists as a second opinion.

Model: ``alt-profanity-check`` (a linear SVM over character/word n-grams, calibrated; its
``model.joblib`` and ``vectorizer.joblib`` ship in the wheel). Word lists: ``better-profanity``'s for
English (leetspeak-aware) and the per-language lists in ``moderation/wordlists``.

Combination rule (each text is scored on its own; the video takes its worst text):

- the model's probability ``p`` is the base score;
- with no word-list hit, ``p`` is capped at 0.95: the model alone can hold a video for review but
  not reject it (it over-fires on quoted or reclaimed words);
- one list hit raises the score to at least 0.75 (review); two or more distinct hits to at least 0.9;
  with a hit the model's own ``p`` stands, so model and list agreeing above 0.95 reject.

Empty text scores 0.0 (there is nothing abusive to find; the category is scored, not skipped).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from ..inputs import ModerationInputs

__all__ = ["TextScorer", "WordLists", "combine"]

_WORDLISTS = Path(__file__).resolve().parent.parent / "wordlists"
_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)
MODEL_ONLY_CAP = 0.95


def _fold(text: str) -> str:
    """Lower case without accents, so 'Connàrd' matches 'connard'."""
    norm = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in norm if not unicodedata.combining(c))


class WordLists:
    """Entries per language; matched on whole tokens (phrases on consecutive tokens)."""

    def __init__(self, languages: Iterable[str]) -> None:
        from better_profanity import profanity

        self._english = profanity
        self._english.load_censor_words()
        self.words: set[str] = set()
        self.phrases: set[tuple[str, ...]] = set()
        self.languages = tuple(languages)
        for lang in self.languages:
            path = _WORDLISTS / f"{lang}.txt"
            if lang == "en" or not path.is_file():
                continue
            for line in path.read_text("utf-8").splitlines():
                tokens = tuple(_TOKEN.findall(_fold(line)))
                if len(tokens) == 1:
                    self.words.add(tokens[0])
                elif tokens:
                    self.phrases.add(tokens)

    def hits(self, text: str) -> set[str]:
        tokens = _TOKEN.findall(_fold(text))
        found = {t for t in tokens if t in self.words}
        for phrase in self.phrases:
            n = len(phrase)
            if any(tuple(tokens[i : i + n]) == phrase for i in range(len(tokens) - n + 1)):
                found.add(" ".join(phrase))
        if "en" in self.languages:
            for t in tokens:
                if self._english.contains_profanity(t):
                    found.add(t)
        return found


def combine(p: float, hits: int) -> float:
    """The documented rule above; pure."""
    if hits == 0:
        return min(p, MODEL_ONLY_CAP)
    return max(p, 0.9 if hits >= 2 else 0.75)


@cache
def _model() -> tuple[object, object]:
    import joblib
    import profanity_check

    base = Path(profanity_check.__file__).resolve().parent / "data"
    return joblib.load(base / "vectorizer.joblib"), joblib.load(base / "model.joblib")


class TextScorer:
    name = "text"

    def __init__(self, languages: Sequence[str] = ("en", "es", "fr", "de", "pt", "it")) -> None:
        self.lists = WordLists(languages)
        self._vectorizer, self._model = _model()
        try:
            model_v = version("alt-profanity-check")
        except PackageNotFoundError:
            model_v = "unknown"
        self.version = f"alt-profanity-check@{model_v}+wordlists:{','.join(self.lists.languages)}"

    @staticmethod
    def texts(x: ModerationInputs) -> list[str]:
        tags = " ".join(h.lstrip("#") for h in x.hashtags)
        return [t for t in (x.caption, tags, *x.comments) if t.strip()]

    def probabilities(self, texts: Sequence[str]) -> list[float]:
        if not texts:
            return []
        features = self._vectorizer.transform(list(texts))  # type: ignore[attr-defined]
        return [float(p) for p in self._model.predict_proba(features)[:, 1]]  # type: ignore[attr-defined]

    def score(self, inputs: ModerationInputs) -> float | None:
        return self.assess_batch([inputs])[0][0]

    def score_batch(self, batch: Sequence[ModerationInputs]) -> list[float | None]:
        return [s for s, _ in self.assess_batch(batch)]

    def assess_batch(self, batch: Sequence[ModerationInputs]) -> list[tuple[float | None, str]]:
        per_video = [self.texts(x) for x in batch]
        probs = self.probabilities([t for texts in per_video for t in texts])
        out: list[tuple[float | None, str]] = []
        i = 0
        for texts in per_video:
            best, note = 0.0, ""
            for text in texts:
                p = probs[i]
                i += 1
                hits = self.lists.hits(text)
                s = combine(p, len(hits))
                if s > best:
                    best = s
                    note = f"model {p:.2f}" + (f", word list: {', '.join(sorted(hits)[:3])}" if hits else "")
            out.append((best, note))
        return out
