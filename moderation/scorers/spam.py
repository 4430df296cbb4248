"""Spam/scam: metadata heuristics over the caption, the account and previously seen videos.

Signals, each in [0, 1], combined as a noisy-or ``1 - prod(1 - s_i)`` (independent evidence adds up;
no single weak signal routes a video on its own):

- links: 0.35 per URL in caption/hashtags (``http(s)://``, ``www.``, bare ``name.tld/…``), max 0.9;
- handles: @mentions beyond 3 count 0.1 each, max 0.5; with a link and a scam phrase ("dm me",
  "free giveaway", "crypto", "click the link", ...) add 0.4;
- near-duplicate re-upload: the pHash fingerprint within ``near_duplicate`` (0.18) of a video seen
  before (``media.vfingerprint.video_distance``): 0.8 when another creator's, 0.6 when the uploader's own;
  past 5,000 seen videos only those sharing a 16-bit band of a per-second pHash are compared;
- upload burst: more than 5 uploads in the hour up to this one: 0.3 + 0.1 per extra, max 0.7;
- brand-new account (registered less than 24 h before the upload): 0.2.

A clean caption from an established account with an original video scores 0.
"""

from __future__ import annotations

import re

from media.vfingerprint import video_distance

from ..inputs import ModerationInputs
from ..references import References

__all__ = ["SpamScorer", "noisy_or"]

_URL = re.compile(
    r"(?:https?://|www\.)\S+|\b[a-z0-9-]+\.(?:com|net|org|io|ly|gg|xyz|link|top|shop|me)/\S*", re.I
)
_HANDLE = re.compile(r"(?<!\w)@[A-Za-z0-9_.]{2,}")
_SCAM = (
    "dm me",
    "free giveaway",
    "giveaway",
    "crypto",
    "bitcoin",
    "click the link",
    "link in bio",
    "earn $",
    "make money",
    "investment",
    "double your",
    "free followers",
    "promo code",
)


def noisy_or(signals: list[float]) -> float:
    out = 1.0
    for s in signals:
        out *= 1.0 - min(1.0, max(0.0, s))
    return 1.0 - out


class SpamScorer:
    name = "spam"
    version = "heuristics@1"

    def __init__(self, refs: References, near_duplicate: float = 0.18) -> None:
        self.refs = refs
        self.near_duplicate = near_duplicate

    def score(self, inputs: ModerationInputs) -> float | None:
        return self.assess(inputs)[0]

    def signals(self, x: ModerationInputs) -> dict[str, float]:
        text = " ".join((x.caption, *x.hashtags))
        out: dict[str, float] = {}
        links = len(_URL.findall(text))
        if links:
            out["links"] = min(0.9, 0.35 * links)
        handles = len(_HANDLE.findall(text))
        if handles > 3:
            out["handles"] = min(0.5, 0.1 * (handles - 3))
        low = text.lower()
        if links and any(p in low for p in _SCAM):
            out["scam_phrase"] = 0.4
        dup = self._duplicate(x)
        if dup:
            out[dup[0]] = dup[1]
        if x.account.uploads_last_hour > 5:
            out["burst"] = min(0.7, 0.3 + 0.1 * (x.account.uploads_last_hour - 6))
        if x.account.account_age_s is not None and x.account.account_age_s < 86_400:
            out["new_account"] = 0.2
        return out

    def _duplicate(self, x: ModerationInputs) -> tuple[str, float] | None:
        if not x.video_fingerprint:
            return None
        found: tuple[str, float] | None = None
        for seen in self.refs.similar_videos(x.video_fingerprint):
            vid = seen.video_id
            if vid == x.video_id or seen.removed:
                continue
            if video_distance(x.video_fingerprint, seen.fingerprint) <= self.near_duplicate:
                if seen.creator_id != x.creator_id:
                    return f"duplicate_of:{vid}", 0.8
                found = (f"reupload_of:{vid}", 0.6)
        return found

    def assess(self, inputs: ModerationInputs) -> tuple[float | None, str]:
        sig = self.signals(inputs)
        note = ", ".join(f"{k} {v:.2f}" for k, v in sorted(sig.items(), key=lambda kv: -kv[1]))
        return noisy_or(list(sig.values())), note
