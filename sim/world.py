"""The simulated audience (pure): users with latent topic interests that drift, and the watch model.

A user has a weight per topic (a Dirichlet draw concentrated on one or two "home" topics) that
drifts slowly (a small random walk each session) and may *shift* once (the home topics are replaced:
the adaptation test). Creators have a latent quality. ``watch`` turns (how well a video matches the
user, the creator's quality, the position in the session, noise) into what a client would report:
watch time, loops, like, share, follow, skip. Everything is deterministic given the ``random.Random``.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from reelstack.world import TOPICS  # the demo's topic vocabulary: the simulation shares its hashtags

__all__ = [
    "HASHTAG_TOPIC",
    "TOPICS",
    "Outcome",
    "SimUser",
    "WatchModel",
    "creator_quality",
    "new_user",
    "topic_of_card",
]

HASHTAG_TOPIC: dict[str, str] = {tag: topic for topic, tags in TOPICS.items() for tag in tags}


def topic_of_card(card: Mapping[str, object]) -> str | None:
    """A video's topic as a client sees it: its hashtags, else its sound id (``sound-<topic>-n``)."""
    votes: dict[str, int] = {}
    for tag in card.get("hashtags") or ():  # type: ignore[attr-defined]
        t = HASHTAG_TOPIC.get(str(tag).lower().lstrip("#"))
        if t:
            votes[t] = votes.get(t, 0) + 1
    if votes:
        return max(sorted(votes), key=lambda k: votes[k])
    music = card.get("music")
    if isinstance(music, Mapping):
        sid = str(music.get("id") or "")
        for topic in TOPICS:
            if sid.startswith(f"sound-{topic}"):
                return topic
    return None


def creator_quality(creator_id: str, *, mean: float = 0.55, spread: float = 0.2) -> float:
    """A creator's latent quality in [0.05, 0.95], a stable hash of its id (any creator the simulator
    meets gets one; the ones it creates itself are given theirs explicitly)."""
    h = int.from_bytes(hashlib.sha256(creator_id.encode()).digest()[:8], "big") / 2**64
    z = math.sqrt(2) * _erfinv(2 * h - 1)
    return min(0.95, max(0.05, mean + spread * z))


def _erfinv(y: float) -> float:
    a = 0.147
    ln = math.log(max(1e-12, 1 - y * y))
    t = 2 / (math.pi * a) + ln / 2
    return math.copysign(math.sqrt(max(0.0, math.sqrt(t * t - ln / a) - t)), y)


@dataclass(slots=True)
class SimUser:
    """A synthetic viewer: latent interests and the bookkeeping the metrics need."""

    index: int
    interests: dict[str, float]
    home: tuple[str, ...]
    shifted_at: int | None = None  # interaction count at the interest shift
    interactions: int = 0
    followed: set[str] = field(default_factory=set)

    def on_interest(self, topic: str | None) -> bool:
        return topic is not None and topic in self.home

    def match(self, topic: str | None) -> float:
        """How well a topic matches the user, in [0, 1] (1: their favourite topic)."""
        if topic is None:
            return 0.1
        top = max(self.interests.values())
        return self.interests.get(topic, 0.0) / top if top > 0 else 0.0

    def drift(self, rng: random.Random, rate: float = 0.02) -> None:
        """A small multiplicative random walk of the weights (slow drift between sessions)."""
        w = {t: max(1e-4, v * math.exp(rng.gauss(0.0, rate))) for t, v in self.interests.items()}
        s = sum(w.values())
        self.interests = {t: v / s for t, v in w.items()}

    def shift(self, rng: random.Random) -> None:
        """Replace the home topics by others (an interest shift the feed must follow)."""
        others = [t for t in self.interests if t not in self.home]
        new = tuple(rng.sample(others, k=len(self.home)))
        self.interests = _weights(new, list(self.interests))
        self.home = new
        self.shifted_at = self.interactions


def _weights(home: Sequence[str], topics: Sequence[str]) -> dict[str, float]:
    rest = [t for t in topics if t not in home]
    w = {t: 0.25 / len(rest) for t in rest}
    shares = (0.75,) if len(home) == 1 else (0.45, 0.30)
    for t, s in zip(home, shares, strict=False):
        w[t] = s
    return w


def new_user(index: int, rng: random.Random, topics: Sequence[str] = tuple(TOPICS)) -> SimUser:
    home = tuple(rng.sample(list(topics), k=2 if rng.random() < 0.6 else 1))
    return SimUser(index=index, interests=_weights(home, topics), home=home)


@dataclass(frozen=True, slots=True)
class Outcome:
    watch_ms: int
    loops: int
    completed: bool
    skipped: bool
    liked: bool
    shared: bool
    followed: bool
    appeal: float


@dataclass(frozen=True, slots=True)
class WatchModel:
    """Appeal = sigmoid(steepness * (w_match * match + w_quality * quality - centre) + noise - fatigue)."""

    w_match: float = 0.75
    w_quality: float = 0.35
    centre: float = 0.55
    steepness: float = 7.0
    noise: float = 0.6
    fatigue_per_video: float = 0.02
    like_max: float = 0.45
    share_max: float = 0.08
    follow_max: float = 0.06

    def appeal(self, match: float, quality: float, position: int, eps: float) -> float:
        x = self.steepness * (self.w_match * match + self.w_quality * quality - self.centre)
        x += eps - self.fatigue_per_video * position
        return 1.0 / (1.0 + math.exp(-x))

    def watch(
        self, rng: random.Random, *, match: float, quality: float, position: int, duration_ms: int
    ) -> Outcome:
        a = self.appeal(match, quality, position, rng.gauss(0.0, self.noise))
        duration_ms = max(1, duration_ms)
        if rng.random() > a:  # swiped away early
            frac = rng.uniform(0.03, 0.25) if rng.random() < 0.8 else rng.uniform(0.25, 0.6)
            return Outcome(
                watch_ms=int(duration_ms * frac),
                loops=0,
                completed=False,
                skipped=frac < 0.25,
                liked=False,
                shared=False,
                followed=False,
                appeal=a,
            )
        completed = rng.random() < 0.35 + 0.6 * a
        loops = 0
        if completed:
            while loops < 5 and rng.random() < 0.45 * a * a:
                loops += 1
            watch = duration_ms * (1 + loops)
        else:
            watch = int(duration_ms * rng.uniform(0.4, 0.95))
        liked = rng.random() < self.like_max * a * a
        shared = rng.random() < self.share_max * a**3
        followed = rng.random() < self.follow_max * a * a
        return Outcome(
            watch_ms=int(watch),
            loops=loops,
            completed=completed,
            skipped=False,
            liked=liked,
            shared=shared,
            followed=followed,
            appeal=a,
        )
